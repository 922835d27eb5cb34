"""A transform's variable kept after its transform returned takes ``+=`` as the argument it was
made from (which required no gradient) does: the name is rebound to a new tensor. It got the
running transform's refusal ("write x = x + ..., which the derivative follows"), though nothing
differentiated it any more, and under ``no_grad`` the update was written into its array (then
shared with the user's argument; a transform's variable now owns a copy).

While the transform runs, the refusal stands: tests/engine/test_transform_in_place.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def keeping(kept):
    """A function whose variable outlives the transform: it keeps a reference to it."""

    def f(x):
        kept.append(x)
        return (x * x).sum()

    return f


@pytest.mark.parametrize("recording", [True, False], ids=["recording", "no_grad"])
def test_a_kept_variable_is_rebound_and_the_argument_is_unchanged(recording) -> None:
    kept = []
    x = cr.tensor([1.0, 2.0])
    np.testing.assert_allclose(cr.grad(keeping(kept))(x).numpy(), [2.0, 4.0])
    variable = kept[0]
    with cr.enable_grad() if recording else cr.no_grad():
        kept[0] += 1.0
    np.testing.assert_allclose(kept[0].numpy(), [2.0, 3.0])
    assert kept[0] is not variable  # rebound, as a tensor that requires no gradient is
    np.testing.assert_allclose(variable.numpy(), [1.0, 2.0])
    np.testing.assert_allclose(x.numpy(), [1.0, 2.0])  # the user's argument, unchanged


def test_a_vjp_fn_still_differentiates_at_the_kept_variables_values() -> None:
    """vjp's variables outlive the call: an update of one kept from f must not change them."""
    kept = []
    _, vjp_fn = cr.vjp(keeping(kept), cr.tensor([1.0, 2.0]))
    with cr.no_grad():
        kept[0] *= 10.0
    np.testing.assert_allclose(vjp_fn(cr.tensor(1.0))[0].numpy(), [2.0, 4.0])  # 2 x, x unchanged


def test_an_inner_transforms_kept_variable_updated_inside_an_outer_one() -> None:
    """Inside an outer transform the inner one has ended: y += x records, and the outer
    derivative flows through it. d/dx sum((c + x)^2) = 2 (c + x)."""
    c = np.array([0.5, -1.0])

    def outer(x):
        kept = []
        cr.grad(keeping(kept))(cr.tensor(c))
        shifted = kept[0]
        shifted += x
        return (shifted * shifted).sum()

    x = np.array([2.0, 3.0])
    np.testing.assert_allclose(cr.grad(outer)(cr.tensor(x)).numpy(), 2 * (c + x), rtol=1e-12)
