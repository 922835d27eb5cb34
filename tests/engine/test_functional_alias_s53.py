"""A transform's variable owns its array: the caller's argument is never written through it.

The transforms wrapped a NumPy argument (or a tensor's array) as their variable without a copy, so
``f`` writing ``x.data[...] = v`` (what a tensor's refusal of ``x[i] = v`` advises), an in-place
update under ``no_grad``, or a write into a variable ``f`` kept (or an output or aux that is the
variable) changed the caller's own array. ``cr.tensor(a)`` copies; JAX never changes its
arguments. Each case below is checked against closed forms at the values ``f`` saw.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional
from chainrule.functional import tree_flatten

A = np.array([0.5, -1.5, 2.0])
B = np.array([1.25, 0.75, -0.5])
U = np.array([1.0, -2.0, 0.5])  # a cotangent or tangent


def cube(x):
    return (x**3).sum()


def cube_times(x, y):
    return (x**3 * y).sum()


# Each case: (call, expected). ``call(f_of, x, y)`` runs one entry point on arguments x and y,
# with ``f_of(f)`` the function as the test touches it; ``expected(a, b)`` gives its result in
# closed form at the values ``f`` computed with.
CASES = {
    "grad": (
        lambda f_of, x, y: cr.grad(f_of(cube))(x),
        lambda a, b: 3 * a**2,
    ),
    "grad has_aux": (
        lambda f_of, x, y: cr.grad(f_of(lambda x: (cube(x), x.sum())), has_aux=True)(x),
        lambda a, b: (3 * a**2, a.sum()),
    ),
    "value_and_grad": (
        lambda f_of, x, y: cr.value_and_grad(f_of(cube))(x),
        lambda a, b: ((a**3).sum(), 3 * a**2),
    ),
    "value_and_grad argnums": (
        lambda f_of, x, y: cr.value_and_grad(f_of(cube_times), argnums=(0, 1))(x, y),
        lambda a, b: ((a**3 * b).sum(), (3 * a**2 * b, a**3)),
    ),
    "grad of a pytree": (
        lambda f_of, x, y: cr.grad(f_of(lambda p: cube_times(p[0], p[1]["w"])))((x, {"w": y})),
        lambda a, b: (3 * a**2 * b, {"w": a**3}),
    ),
    "vjp": (
        lambda f_of, x, y: (lambda out, fn: (out, fn(U)))(*cr.vjp(f_of(lambda x: x**3), x)),
        lambda a, b: (a**3, (3 * a**2 * U,)),
    ),
    "jvp": (
        lambda f_of, x, y: cr.jvp(f_of(lambda x: x**3), (x,), (U,)),
        lambda a, b: (a**3, 3 * a**2 * U),
    ),
    "jacobian reverse": (
        lambda f_of, x, y: cr.jacobian(f_of(lambda x: x**3))(x),
        lambda a, b: np.diag(3 * a**2),
    ),
    "jacobian forward": (
        lambda f_of, x, y: cr.jacobian(f_of(lambda x: x**3), mode="forward")(x),
        lambda a, b: np.diag(3 * a**2),
    ),
    "jacobian argnums has_aux": (
        lambda f_of, x, y: cr.jacobian(
            f_of(lambda x, y: (x**2 * y, x.sum())), argnums=(0, 1), has_aux=True
        )(x, y),
        lambda a, b: ((np.diag(2 * a * b), np.diag(a**2)), a.sum()),
    ),
    "hessian": (
        lambda f_of, x, y: cr.hessian(f_of(cube))(x),
        lambda a, b: np.diag(6 * a),
    ),
    "hessian argnums": (
        lambda f_of, x, y: cr.hessian(f_of(cube_times), argnums=(0, 1))(x, y),
        lambda a, b: (
            (np.diag(6 * a * b), np.diag(3 * a**2)),
            (np.diag(3 * a**2), np.zeros((3, 3))),
        ),
    ),
    "hvp": (
        lambda f_of, x, y: cr.hvp(f_of(cube), (x,), (U,)),
        lambda a, b: 6 * a * U,
    ),
}

#: The caller's argument: a NumPy array, a tensor, a tensor that requires a gradient.
KINDS = {
    "array": lambda a: a.copy(),
    "tensor": lambda a: cr.tensor(a),
    "tensor requiring grad": lambda a: cr.tensor(a, requires_grad=True),
}


def values(tree):
    """The leaves of a result as NumPy copies, in order."""
    return [np.array(leaf.data if isinstance(leaf, cr.Tensor) else leaf) for leaf in
            tree_flatten(tree)[0]]  # fmt: skip


def held(argument):
    """The array the caller holds."""
    return argument.data if isinstance(argument, cr.Tensor) else argument


def touching(touch):
    """``f_of`` for CASES: ``f`` with ``touch`` applied to each tensor it is given."""

    def f_of(f):
        def touched(*args):
            for leaf in tree_flatten(args)[0]:
                touch(leaf)
            return f(*args)

        return touched

    return f_of


def check(case, kind, touch, scale):
    call, expected = CASES[case]
    x, y = KINDS[kind](A), KINDS[kind](B)
    got = values(call(touching(touch), x, y))
    for g, want in zip(got, values(expected(scale * A, scale * B)), strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12)
    return x, y


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES)
def test_writing_into_x_data_inside_f_leaves_the_callers_array(case, kind) -> None:
    def doubled(x):
        x.data[...] = 2 * x.data

    x, y = check(case, kind, doubled, 2.0)  # f computed at 2a: its own copy
    np.testing.assert_array_equal(held(x), A)
    np.testing.assert_array_equal(held(y), B)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES)
def test_a_variable_kept_and_written_later_leaves_the_callers_array(case, kind) -> None:
    kept = []
    x, y = check(case, kind, kept.append, 1.0)
    assert kept
    for variable in kept:
        variable.data[...] = 99.0
    np.testing.assert_array_equal(held(x), A)
    np.testing.assert_array_equal(held(y), B)


@pytest.mark.parametrize("case", ["grad", "jacobian reverse", "jacobian forward", "hvp"])
def test_an_update_in_place_under_no_grad_inside_f_leaves_the_callers_array(case) -> None:
    def doubled(x):
        with cr.no_grad():
            x *= 2.0  # a transform's variable: updated in place, as a parameter is

    x, _ = check(case, "array", doubled, 2.0)
    np.testing.assert_array_equal(x, A)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "returned",
    [
        lambda x: cr.vjp(lambda x: x, x)[0],
        lambda x: cr.jvp(lambda x: x, (x,), (U,))[0],
        lambda x: cr.value_and_grad(lambda x: x)(x[:1])[0],  # one element: a scalar
        lambda x: cr.grad(lambda x: (cube(x), x), has_aux=True)(x)[1],
        lambda x: cr.jacobian(lambda x: (x * 2, x), has_aux=True)(x)[1],
    ],
    ids=["vjp output", "jvp output", "value_and_grad value", "grad aux", "jacobian aux"],
)
def test_an_output_that_is_the_variable_does_not_share_the_callers_array(returned, kind) -> None:
    x = KINDS[kind](A)
    out = returned(x)
    out.data[...] = 99.0
    np.testing.assert_array_equal(held(x), A)


def test_a_torch_argument_is_not_written_through(torch) -> None:
    t = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64)

    def f(x):
        x.data[...] = 2 * x.data
        return cube(x)

    g = cr.grad(f)(t)
    np.testing.assert_allclose(g.data.numpy(), 3 * (2 * A) ** 2, rtol=1e-12)
    np.testing.assert_array_equal(t.numpy(), A)


def spy_on_copies(monkeypatch):
    """The arrays the transforms copy, as they copy them (on code without the copy: none)."""
    copied = []
    real = getattr(functional, "own_copy", None)

    def spy(data):
        copied.append(data)
        return real(data)

    monkeypatch.setattr(functional, "own_copy", spy, raising=False)
    return copied


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_jacobian_copies_each_argument_once_not_per_row_or_column(monkeypatch, mode) -> None:
    """A Jacobian of 5 inputs and 3 outputs takes 3 vjps or 5 jvps, all from one variable."""
    a, b = np.arange(1.0, 6.0), np.array([2.0])
    copied = spy_on_copies(monkeypatch)
    jac = cr.jacobian(lambda x, w: x[:3] * w * x.sum(), mode=mode)(a, b)
    assert len(copied) == 1 and np.shares_memory(np.asarray(copied[0]), a)
    s = a.sum()
    want = np.eye(3, 5) * b * s + (a[:3] * b)[:, None]  # d(x_i w s)/dx_j = w (delta_ij s + x_i)
    np.testing.assert_allclose(jac.data, want, rtol=1e-12)

    copied.clear()
    jacs = cr.jacobian(lambda x, w: x[:3] * w * x.sum(), argnums=(0, 1), mode=mode)(a, b)
    assert len(copied) == 2  # one per argument
    np.testing.assert_allclose(jacs[1].data, (a[:3] * s)[:, None], rtol=1e-12)


def test_a_vjp_fn_called_often_copies_nothing_more(monkeypatch) -> None:
    copied = spy_on_copies(monkeypatch)
    _, vjp_fn = cr.vjp(lambda x: x**3, A)
    for row in np.eye(3):
        np.testing.assert_allclose(vjp_fn(row)[0].data, 3 * A**2 * row, rtol=1e-12)
    assert len(copied) == 1


def test_a_hessian_copies_the_callers_array_once(monkeypatch) -> None:
    """hessian is jacobian(grad): the outer copies the caller's array, the inner grad its own
    alias of the outer variable (every transform's variable owns its array), once each."""
    copied = spy_on_copies(monkeypatch)
    h = cr.hessian(cube)(A)
    np.testing.assert_allclose(h.data, np.diag(6 * A), rtol=1e-12)
    assert len(copied) == 2
    assert [np.shares_memory(np.asarray(c), A) for c in copied] == [True, False]
