"""Forward-over-reverse second derivatives of a ** b at a negative base: jvp and jacfwd of grad.

Forward mode works by transposition (it differentiates the reverse pass u -> J^T u in the dummy
u). At a < 0, where a**b has no derivative in b, the exponent rule selects in a NaN of g and a;
the selections in front of it (the stand-in for out * log a) send 0 back to out, so the
cotangent g that d2/db2 brings to the rule was 0 whatever u was, the NaN a constant in u, and
its derivative along a tangent 0: ``jvp(grad(f))`` and ``jacobian(grad(f), mode="forward")``
gave 0 where ``hessian``, ``hvp`` and torch.func give NaN. The NaN is now a value of out too,
and its derivative in out carries the tangent on.

The oracles are torch.func (jvp of grad, jacfwd of grad, hessian) and torch's hvp, and this
library's reverse-over-reverse ``hessian`` and ``hvp``. f is a sum of elementwise terms, so its
Hessian blocks are diagonal; off the diagonal torch's one-hot tangents meet its NaN as 0 * NaN
(torch.func.jacfwd's NaN fill the rows of a negative base, jacrev's the columns), where this
library's forward mode sends a zero tangent on as 0: there its NaN are a subset of torch's and
its numbers torch's numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

#: bases negative, zero and positive, each with exponents integer, non-integer and 0
A0 = np.array([-2.0, -2.0, -0.5, -2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 0.5, 3.0])
B0 = np.array([2.0, 0.5, -1.0, 0.0, 2.0, 0.5, 0.0, -1.0, 0.0, 1.5, -2.0, 2.0])
#: both differentiated: not a = 0 with b < 1, where d/da = b a**(b-1) is infinite and each
#: mode meets inf * 0 in its own place; nor b = 0, where torch's base rule selects its
#: gradient away, so its d/db of d/da is 0 and its d/da of d/db 1/a (its asymmetry; see
#: test_power_double_where_s54), both checked here against this library's reverse mode instead
BOTH = ~(((A0 == 0) & (B0 < 1)) | (B0 == 0))
TANGENT = np.linspace(0.5, 1.5, A0.size)  # no zero component: no 0 * NaN to disagree on

WHICH = {"a": (0,), "b": (1,), "both": (0, 1)}

#: NumPy warns of the NaN and infinities these points make on purpose (torch makes them silently)
pytestmark = pytest.mark.filterwarnings("ignore:(invalid value|divide by zero):RuntimeWarning")


def _problem(which: str, lib, a0: np.ndarray, b0: np.ndarray):
    """(f, primals, argnums) of sum(a ** b) on ``lib`` (chainrule or torch), the argument not
    differentiated closed over as a tensor."""
    a, b = (lib.tensor(v) for v in (a0, b0))
    argnums = WHICH[which]
    if which == "a":
        return (lambda x: (x**b).sum()), (a,), (0,)
    if which == "b":
        return (lambda y: (a**y).sum()), (b,), (0,)
    return (lambda x, y: (x**y).sum()), (a, b), argnums


def _numpy(values) -> np.ndarray:
    """A tensor, or a tuple of them, as one concatenated float64 array."""
    parts = values if isinstance(values, (tuple, list)) else (values,)
    return np.concatenate([np.asarray(p.detach() if hasattr(p, "detach") else p) for p in parts])


def _blocks(rows) -> np.ndarray:
    """A Jacobian of a tuple of gradients in a tuple of inputs (blocks [i][j]), this library's
    or torch.func's, as one matrix."""
    return np.block([[np.asarray(block.detach()) for block in row] for row in rows])


def _grid(which: str) -> tuple[np.ndarray, np.ndarray]:
    """The grid of ``which`` (all of it, or BOTH's part) as arrays a0, b0."""
    keep = BOTH if which == "both" else np.ones(A0.size, bool)
    return A0[keep], B0[keep]


def _assert_same(found: np.ndarray, expected: np.ndarray, what: str) -> None:
    """The same NaN, and the same numbers (infinities included) elsewhere."""
    np.testing.assert_array_equal(np.isnan(found), np.isnan(expected), err_msg=what)
    np.testing.assert_allclose(found, expected, rtol=1e-12, atol=1e-14, err_msg=what)


def test_the_reported_case_gives_nan_as_reverse_mode_and_torch(torch) -> None:
    """QA's report: a number base -2, the exponent differentiated; jvp and jacfwd of grad gave
    0 where hessian, hvp, grad of grad and torch.func give NaN."""
    from torch.func import grad as tgrad
    from torch.func import jacfwd, jvp

    def f(b):
        return ((-2.0) ** b).sum()

    x, v = cr.tensor([1.0, 2.0, 0.5, 0.0, -1.0]), cr.tensor([1.0, 1.0, 1.0, 1.0, 1.0])
    tx, tv = torch.tensor(x.numpy()), torch.tensor(v.numpy())
    found = cr.jvp(cr.grad(f), (x,), (v,))[1].numpy()
    expected = jvp(tgrad(f), (tx,), (tv,))[1].numpy()
    assert np.isnan(expected).all()
    _assert_same(found, expected, "jvp of grad")
    _assert_same(found, cr.hvp(f, (x,), (v,)).numpy(), "hvp")
    _assert_same(found, cr.grad(lambda z: (cr.grad(f)(z) * v).sum())(x).numpy(), "grad of grad")
    forward = cr.jacobian(cr.grad(f), mode="forward")(x).numpy()
    assert np.isnan(np.diag(forward)).all(), forward
    assert np.isnan(np.diag(cr.hessian(f)(x).numpy())).all()
    assert np.isnan(np.diag(jacfwd(tgrad(f))(tx).numpy())).all()


def test_jvp_of_grad_matches_torch_func_and_hvp(torch) -> None:
    """jvp of grad along a tangent with no zero, each argument alone and both: torch.func's
    jvp of grad, NaN for NaN and number for number, and this library's and torch's hvp."""
    from torch.func import grad as tgrad
    from torch.func import jvp

    for which in WHICH:
        a0, b0 = _grid(which)
        f, primals, argnums = _problem(which, cr, a0, b0)
        tf, tprimals, _ = _problem(which, torch, a0, b0)
        tangents = tuple(cr.tensor(TANGENT[: a0.size]) for _ in primals)
        ttangents = tuple(torch.tensor(TANGENT[: a0.size]) for _ in primals)
        found = _numpy(cr.jvp(cr.grad(f, argnums), primals, tangents)[1])
        expected = _numpy(jvp(tgrad(tf, argnums), tprimals, ttangents)[1])
        _assert_same(found, expected, f"{which}: jvp of grad, against torch.func")
        _assert_same(found, _numpy(cr.hvp(f, primals, tangents)), f"{which}: against hvp")
        torch_hvp = torch.autograd.functional.hvp(tf, tprimals, ttangents)[1]
        _assert_same(found, _numpy(torch_hvp), f"{which}: against torch's hvp")
        negative = np.concatenate([a0 < 0] * len(primals))
        if which != "a":  # a**b has no derivative in b there: nor have the parts that use it
            assert np.isnan(found[negative]).all(), (which, found)


def test_forward_jacobian_of_grad_matches_hessian_and_torch_func(torch) -> None:
    """jacobian(grad(f), mode="forward") against this library's hessian and torch.func's
    jacfwd of grad and hessian: on the diagonal of each block (a sum of elementwise terms has
    no other second derivatives) the same NaN and numbers, but where torch's products meet its
    NaN with the 0 that a selection sends back (d2/da2 at a < 0 with b differentiated too:
    test_power_double_where_s54), which here is b (b-1) a**(b-2); off the diagonal NaN only
    where torch's are, and torch's numbers."""
    from torch.func import grad as tgrad
    from torch.func import hessian, jacfwd

    for which in WHICH:
        a0, b0 = _grid(which)
        f, primals, argnums = _problem(which, cr, a0, b0)
        tf, tprimals, _ = _problem(which, torch, a0, b0)
        forward = _blocks(cr.jacobian(cr.grad(f, argnums), argnums, mode="forward")(*primals))
        reverse = _blocks(cr.hessian(f, argnums)(*primals))
        n = a0.size
        eye = np.eye(forward.shape[0], dtype=bool)
        on_diagonal = np.tile(np.eye(n, dtype=bool), (len(primals), len(primals)))
        _assert_same(forward[on_diagonal], reverse[on_diagonal], f"{which}: against hessian")
        if which != "a":  # d2/db2 and both cross terms have no value at a < 0
            undefined = np.concatenate([a0 < 0] * len(primals))
            if which == "both":  # d2/da2 has one: the closed form
                second = np.diag(forward)[:n]
                closed = b0 * (b0 - 1) * a0 ** (b0 - 2)
                np.testing.assert_allclose(second[a0 < 0], closed[a0 < 0], rtol=1e-12)
                undefined[:n] = False
                block = forward[:n, n:]
                assert (
                    np.isnan(np.diag(block)[a0 < 0]).all()
                    and np.isnan(np.diag(block.T)[a0 < 0]).all()
                )
            assert np.isnan(np.diag(forward)[undefined]).all(), (which, np.diag(forward))
        excused = np.zeros(forward.shape[0], dtype=bool)  # torch's 0 * NaN: the closed form
        if which == "both":
            excused[:n] = a0 < 0
        for name, matrix in [
            ("jacfwd of grad", _blocks(jacfwd(tgrad(tf, argnums), argnums)(*tprimals))),
            ("hessian", _blocks(hessian(tf, argnums)(*tprimals))),
        ]:
            what = f"{which}: against torch.func's {name}"
            diagonal, expected = np.diag(forward), np.diag(matrix)
            np.testing.assert_array_equal(np.isnan(diagonal) | excused, np.isnan(expected), what)
            finite = ~np.isnan(expected)
            np.testing.assert_allclose(diagonal[finite], expected[finite], 1e-12, err_msg=what)
            assert not (np.isnan(forward) & ~np.isnan(matrix) & ~eye).any(), what
            finite = ~np.isnan(matrix) & ~np.isnan(forward)
            np.testing.assert_allclose(forward[finite], matrix[finite], rtol=1e-12, err_msg=what)


def test_exponent_zero_with_both_differentiated_matches_reverse_mode() -> None:
    """b = 0, left out of the torch comparisons above: forward over reverse gives what reverse
    over reverse gives on every block's diagonal, NaN at a < 0 in d2/db2 and both cross terms
    (a**b has no derivative in b there) and numbers elsewhere."""
    a0, b0 = A0[B0 == 0], B0[B0 == 0]
    f, primals, argnums = _problem("both", cr, a0, b0)
    forward = _blocks(cr.jacobian(cr.grad(f, argnums), argnums, mode="forward")(*primals))
    reverse = _blocks(cr.hessian(f, argnums)(*primals))
    n = a0.size
    on_diagonal = np.tile(np.eye(n, dtype=bool), (2, 2))
    _assert_same(forward[on_diagonal], reverse[on_diagonal], "b = 0")
    negative = a0 < 0
    assert np.isnan(np.diag(forward[n:, n:])[negative]).all()
    assert np.isnan(np.diag(forward[:n, n:])[negative]).all()
