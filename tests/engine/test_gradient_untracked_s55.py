"""``cr.gradient`` refuses an input that does not require a gradient.

The engine records nothing through such a tensor (``z = a * 3`` of an untracked ``a`` is a
constant to it), so it cannot tell how the outputs depend on it: the old answer, zeros, was a
silent wrong number where they do (dE/dz = 2z for E = sum z^2). ``torch.autograd.grad`` refuses
it too. An input that requires a gradient but that the outputs do not reach still gets zeros.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

UNTRACKED = r"does not require a gradient"


def _energy_of_untracked():
    """E = sum z^2 with z = 3a, a made without requires_grad: dE/dz = 2z = [6, 12]."""
    a = cr.tensor([1.0, 2.0])
    z = a * 3
    return a, z, (z**2).sum()


def test_refused_where_torch_refuses(torch):
    """The reference: an untracked input alone, or beside one that requires grad."""
    tz = torch.tensor([1.0, 2.0]) * 3
    tw = torch.tensor([1.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad((tz**2).sum(), tz)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad((tz * tw).sum(), [tw, tz])
    _, z, E = _energy_of_untracked()
    w = cr.tensor([1.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=UNTRACKED):
        cr.gradient(E, z)
    with pytest.raises(RuntimeError, match=UNTRACKED):
        cr.gradient((z * w).sum(), [w, z])


def test_an_untracked_input_is_refused_naming_it_and_the_fix():
    _, z, E = _energy_of_untracked()
    with pytest.raises(RuntimeError, match=UNTRACKED) as refusal:
        cr.gradient(E, z)
    message = str(refusal.value)
    assert message.startswith("gradient: input 0 (shape (2,))"), message
    assert "recorded nothing through it" in message, message
    assert "requires_grad=True" in message and "before computing the outputs" in message


def test_the_refused_input_is_named_by_its_index_and_name_beside_a_tracked_one():
    _, z, _ = _energy_of_untracked()
    z.name = "z"
    w = cr.tensor([1.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient: input 1 \(shape \(2,\), named 'z'\)"):
        cr.gradient((z * w).sum(), [w, z])


def test_following_the_advice_gives_the_closed_form():
    """Refused as the user first wrote it; with the leaf made to require grad, dE/dz = 2z and
    dE2/dz = w (the numbers the zeros stood in for)."""
    _, z, E = _energy_of_untracked()
    with pytest.raises(RuntimeError, match=UNTRACKED):
        cr.gradient(E, z)
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    z = a * 3
    (dE_dz,) = cr.gradient((z**2).sum(), z, retain_graph=True)  # z's node again below
    np.testing.assert_allclose(dE_dz.numpy(), [6.0, 12.0])
    w = cr.tensor([0.5, -2.0], requires_grad=True)
    dE2_dw, dE2_dz = cr.gradient((z * w).sum(), [w, z])
    np.testing.assert_allclose(dE2_dz.numpy(), [0.5, -2.0])
    np.testing.assert_allclose(dE2_dw.numpy(), [3.0, 6.0])


def test_an_input_computed_under_no_grad_is_refused(torch):
    """Its leaf requires grad, but no_grad recorded nothing: the same refusal, as torch's."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
    with pytest.raises(RuntimeError, match=r"gradient: input 0 .*outside no_grad"):
        cr.gradient((y * x).sum(), y)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.no_grad():
        ty = tx * 2
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad((ty * tx).sum(), ty)


def test_an_unreached_input_that_requires_grad_still_gets_zeros_but_an_untracked_one_not():
    """The documented zeros stay for a tracked input the outputs do not depend on."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    unused = cr.tensor([5.0, 6.0, 7.0], requires_grad=True)
    dx, du = cr.gradient((x * x).sum(), [x, unused])
    np.testing.assert_allclose(dx.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(du.numpy(), np.zeros(3))
    with pytest.raises(RuntimeError, match=r"gradient: input 1 \(shape \(3,\)\)"):
        cr.gradient((x * x).sum(), [x, cr.tensor([5.0, 6.0, 7.0])])


def test_the_refusal_loses_nothing_the_graph_is_still_there():
    """Refused before the backward pass: the graph is not freed, so the corrected call runs
    on it (without retain_graph)."""
    a = cr.tensor([1.0, 2.0])
    w = cr.tensor([2.0, -1.0], requires_grad=True)
    E = ((a * w) ** 2).sum()
    with pytest.raises(RuntimeError, match=UNTRACKED):
        cr.gradient(E, [w, a])
    (dw,) = cr.gradient(E, [w])  # 2 a^2 w
    np.testing.assert_allclose(dw.numpy(), [4.0, -8.0])


@pytest.mark.parametrize("op", ["vjp", "hvp"])
def test_the_op_a_caller_names_is_in_the_refusal(op):
    """``op`` names the transform in gradient's errors: the refusal says which one."""
    _, z, E = _energy_of_untracked()
    with pytest.raises(RuntimeError, match=rf"^{op}: input 0 \(shape \(2,\)\)"):
        cr.gradient(E, z, op=op)


def test_an_integer_input_is_told_it_has_no_gradient_not_to_require_one():
    """requires_grad=True, the advice for an untracked float, is refused for integers: the
    refusal says why instead (review 1)."""
    n = cr.tensor([1, 2])
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"it is int64, which has no gradient") as refused:
        cr.gradient((x * n).sum(), [n])
    assert "requires_grad=True" not in str(refused.value)
