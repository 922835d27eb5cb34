"""``var`` with ``ddof`` at least the number of values divides by 0, as NumPy and torch do:
inf where the values differ, NaN where they are all alike or there are none, also for
``ddof > n`` (both clamp ``n - ddof`` at 0). It gave NaN for every such case.

Its gradient there is the limit of 2 (x - mean) / (n - ddof): -inf or inf by the sign of
x - mean, NaN where x is the mean, as ``torch.var(x, dim=..., correction=n)`` gives it (it was
NaN for every element). torch disagrees with itself there: its whole-tensor path gives +inf for
every element, and its ``dim=`` path for ``correction > n`` a finite gradient of a value it
gives as inf; these tests take the ``dim=`` path at ``correction == n``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

VARIED = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])  # a row that differs, a row that does not


def quietly(compute):
    """NumPy's and torch's own values, without their warnings of the missing freedom."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return compute()


def chainrule_var(x, axis, ddof):
    with pytest.warns(RuntimeWarning, match=rf"var: ddof={ddof} leaves no degrees of freedom"):
        return cr.var(x, axis=axis, ddof=ddof)


@pytest.mark.parametrize("ddof", [3, 4, 7])
@pytest.mark.parametrize("axis", [1, -1])
def test_the_value_over_an_axis_is_numpys_and_torchs(axis, ddof) -> None:
    got = chainrule_var(cr.tensor(VARIED), axis, ddof).numpy()
    want = quietly(lambda: np.var(VARIED, axis=axis, ddof=ddof))
    torch_var = quietly(lambda: torch.var(torch.tensor(VARIED), dim=axis, correction=ddof))
    np.testing.assert_array_equal(got, [np.inf, np.nan])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, torch_var.numpy())


@pytest.mark.parametrize("ddof", [3, 5])
def test_the_value_of_a_whole_vector_is_numpys_and_torchs(ddof) -> None:
    for values, expected in zip(VARIED, [np.inf, np.nan]):
        got = chainrule_var(cr.tensor(values), None, ddof).item()
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(got, quietly(lambda v=values: np.var(v, ddof=ddof)))
        torch_value = quietly(lambda v=values: torch.var(torch.tensor(v), correction=ddof)).item()
        np.testing.assert_array_equal(got, torch_value)


def test_the_gradient_at_ddof_n_is_torchs() -> None:
    x = cr.tensor(VARIED, requires_grad=True)
    chainrule_var(x, 1, 3).sum().backward()
    t = torch.tensor(VARIED, requires_grad=True)
    quietly(lambda: torch.var(t, dim=1, correction=3).sum().backward())
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), [[-np.inf, -np.inf, np.inf], [np.nan] * 3])


def test_the_gradient_past_n_is_the_gradient_at_n() -> None:
    """ddof > n divides by the same clamped 0, so value and gradient are those at ddof == n
    (sign(x - mean) * inf), and the direction of an upstream gradient is kept."""
    x = cr.tensor(VARIED[0], requires_grad=True)
    (-chainrule_var(x, None, 5)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [np.inf, np.inf, -np.inf])


def test_only_chainrules_warning_says_why_in_the_forward() -> None:
    """0 * inf for the constant row raised NumPy's 'invalid value' warning beside ours."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cr.var(cr.tensor(VARIED), axis=1, ddof=3)
    assert [str(w.message).split(":")[0] for w in caught] == ["var"]
    assert "divides by 0 (inf; NaN where the values are all alike" in str(caught[0].message)


def test_the_backward_adds_no_warning_to_the_forwards() -> None:
    """2 (x - mean) * inf for the constant row is NaN, which the forward's warning explains; the
    backward raised NumPy's 'invalid value in multiply' on top."""
    x = cr.tensor(VARIED, requires_grad=True)
    y = chainrule_var(x, 1, 3).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y.backward()
    assert [str(w.message) for w in caught] == []
    assert np.isnan(x.grad.numpy()[1]).all()
