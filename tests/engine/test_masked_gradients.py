"""clip, maximum, minimum and relu pass the upstream gradient through a 0/1 mask (1/2 at a tie).

The mask is applied by selecting, not multiplying: an infinite gradient upstream (the derivative
of sqrt or log at 0) must give 0 where the mask is 0, as PyTorch gives it, not inf * 0 = NaN.
Checked against PyTorch, against central differences away from the kinks (first and second
order), with ``create_graph`` (the rules then run on tensors) and on array-api-strict. At a NaN
operand the mask is PyTorch's too: maximum, minimum and relu send the gradient through there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

INF = float("inf")
#: below, at and between the bounds -1 and 1, and at 0, where maximum(x, 0) and minimum tie
X = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
#: upstream gradients: infinite of both signs, at kept and at masked elements alike
SEEDS = {
    "inf": np.full(X.shape, INF),
    "-inf": np.full(X.shape, -INF),
    "mixed": np.array([INF, -INF, INF, -INF, INF, -INF, 3.0]),
}


def _zero(lib) -> object:
    return 0.0 if lib is cr else torch.tensor(0.0, dtype=torch.float64)


#: each op of x, spelled in chainrule and in torch
UNARY: dict[str, Callable] = {
    "clip": lambda lib, x: lib.clip(x, -1.0, 1.0) if lib is cr else torch.clamp(x, -1.0, 1.0),
    "clip-low": lambda lib, x: lib.clip(x, 0.0, None) if lib is cr else torch.clamp(x, min=0.0),
    "clip-high": lambda lib, x: lib.clip(x, None, 0.0) if lib is cr else torch.clamp(x, max=0.0),
    "maximum": lambda lib, x: lib.maximum(x, _zero(lib)),
    "minimum": lambda lib, x: lib.minimum(x, _zero(lib)),
    "relu": lambda lib, x: lib.relu(x),
}


def _torch_grad(op: str, x: np.ndarray, seed: np.ndarray) -> np.ndarray:
    t = torch.tensor(x, requires_grad=True)
    UNARY[op](torch, t).backward(torch.tensor(seed))
    return t.grad.numpy()


@pytest.mark.parametrize("seed", SEEDS, ids=str)
@pytest.mark.parametrize("op", UNARY, ids=str)
def test_an_infinite_upstream_gradient_is_masked_to_zero_as_in_torch(op: str, seed: str) -> None:
    x = cr.tensor(X, requires_grad=True)
    UNARY[op](cr, x).backward(SEEDS[seed])
    np.testing.assert_array_equal(x.grad.numpy(), _torch_grad(op, X, SEEDS[seed]))


@pytest.mark.parametrize("seed", SEEDS, ids=str)
@pytest.mark.parametrize("op", UNARY, ids=str)
def test_the_recorded_rules_mask_an_infinite_gradient_too(op: str, seed: str) -> None:
    """With create_graph the rules run on tensors: they must select there as well."""
    x = cr.tensor(X, requires_grad=True)
    (dx,) = cr.gradient(UNARY[op](cr, x), [x], [cr.tensor(SEEDS[seed])], create_graph=True)
    np.testing.assert_array_equal(dx.numpy(), _torch_grad(op, X, SEEDS[seed]))


@pytest.mark.parametrize("op", UNARY, ids=str)
def test_a_float32_infinite_gradient_stays_float32(op: str) -> None:
    x = cr.tensor(X.astype(np.float32), requires_grad=True)
    UNARY[op](cr, x).backward(SEEDS["mixed"].astype(np.float32))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), _torch_grad(op, X, SEEDS["mixed"]))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("op", UNARY, ids=str)
def test_the_selection_gives_the_bits_torch_gives(op: str, dtype: str) -> None:
    """+0.0 where masked, even for a NaN or -0.0 upstream; the upstream's own bits where kept."""
    seeds = np.array([np.nan, -0.0, -INF, np.nan, -0.0, INF, -3.0], dtype=dtype)
    xs = np.array([-2.0, -1.5, -3.0, 0.5, -0.5, 0.25, -0.75], dtype=dtype)
    for x0, seed in [(xs, seeds), (xs[::-1], seeds[::-1])]:  # and strided views
        x = cr.tensor(x0, requires_grad=True)
        UNARY[op](cr, x).backward(seed)
        t = torch.tensor(x0.copy(), requires_grad=True)  # torch takes no negative strides
        UNARY[op](torch, t).backward(torch.tensor(seed.copy()))
        assert x.grad.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
        np.testing.assert_array_equal(np.signbit(x.grad.numpy()), np.signbit(t.grad.numpy()))


def test_a_mask_broadcast_against_the_gradient_selects_too() -> None:
    """A bound shaped unlike x makes the mask broadcast against g: the general selection."""
    x = cr.tensor([[-1.0], [2.0]], requires_grad=True)
    out = cr.clip(x, np.array([0.0, -5.0]), None)
    assert out.shape == (2, 2)
    (dx,) = cr.gradient(out, [x], [cr.tensor(np.full((2, 2), INF))])
    # x's row 0 is clipped by the bound 0 and passes the bound -5: 0 + inf; row 1 passes both.
    # Summed over the broadcast axis to x's own shape, as torch.clamp's gradient is.
    np.testing.assert_array_equal(dx.numpy(), [[INF], [INF]])
    out = cr.clip(x, np.array([0.0, -5.0]), None)  # torch.clamp's gradient: [[2], [7]]
    (dx,) = cr.gradient(out, [x], [cr.tensor([[1.0, 2.0], [3.0, 4.0]])])
    np.testing.assert_array_equal(dx.numpy(), [[2.0], [7.0]])


def _assert_matches_torch(ours: np.ndarray, theirs: np.ndarray) -> None:
    """The same zeros (masked: exactly 0, never NaN) and elsewhere the same value within a few
    units in the last place: sqrt's derivative is g / (2 sqrt(x)) in both, but torch's
    vectorised kernel rounds it differently on some CPUs (AVX-512) than on others."""
    np.testing.assert_array_equal(ours == 0, theirs == 0)
    np.testing.assert_array_max_ulp(ours, theirs, maxulp=2)


@pytest.mark.parametrize(
    "case",
    [
        ("clip", lambda x: cr.clip(x, 0.0, None), lambda x: torch.clamp(x, min=0.0)),
        ("maximum", lambda x: cr.maximum(x, 0.0), lambda x: torch.clamp(x, min=0.0)),
        ("minimum", lambda x: -cr.minimum(-x, 0.0), lambda x: -torch.clamp(-x, max=0.0)),
    ],
    ids=lambda c: c[0],
)
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # sqrt's derivative at 0
def test_sqrt_of_a_clipped_input_has_no_nan_gradient(case) -> None:
    """The defect as found: sqrt's derivative at 0 is infinite where the input was clipped."""
    _, f, torch_f = case
    x = cr.tensor([-1.0, 2.0], requires_grad=True)
    cr.sqrt(f(x)).sum().backward()
    t = torch.tensor([-1.0, 2.0], dtype=torch.float64, requires_grad=True)
    torch.sqrt(torch_f(t)).sum().backward()
    _assert_matches_torch(x.grad.numpy(), t.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5 / np.sqrt(2.0)])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_two_tensors_share_ties_and_mask_an_infinite_gradient_as_in_torch(name: str) -> None:
    a0, b0 = np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), np.array([0.0, -1.0, 1.0, 0.0, 2.0])
    seed = np.array([INF, -INF, INF, -INF, 3.0])  # ties at 1 and 4: half of -inf, half of 3
    a, b = cr.tensor(a0, requires_grad=True), cr.tensor(b0, requires_grad=True)
    getattr(cr, name)(a, b).backward(seed)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a0, b0))
    getattr(torch, name)(ta, tb).backward(torch.tensor(seed))
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())
    assert b.grad.numpy()[4] == 1.5  # a tie still splits the gradient evenly


def test_a_broadcast_bound_that_never_wins_gets_zero_not_nan() -> None:
    """The losing input's contributions are summed back to its shape: one NaN would spoil it."""
    x = cr.tensor(X, requires_grad=True)
    floor = cr.tensor(-10.0, requires_grad=True)
    cr.maximum(x, floor).backward(SEEDS["mixed"])
    assert floor.grad.item() == 0.0
    np.testing.assert_array_equal(x.grad.numpy(), SEEDS["mixed"])


# Away from the kinks (no element at a bound or a tie) the masks are exact: central differences
# agree to first and second order, so the selecting rules are also right where g is finite.
AWAY = np.array([-1.7, -0.6, 0.3, 0.8, 1.4])
SMOOTH: dict[str, Callable] = {
    "clip": lambda x: cr.clip(x, -1.0, 1.0) ** 3,
    "clip-low": lambda x: cr.exp(cr.clip(x, 0.0, None)) * x,
    "maximum": lambda x: cr.maximum(x * x, 0.5) * x,
    "minimum": lambda x: cr.minimum(x, 0.5 - x) ** 3,
    "maximum-two-tensors": lambda x: cr.maximum(x**3, cr.tanh(x)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", SMOOTH, ids=str)
def test_masked_ops_match_central_differences_away_from_the_kinks(name: str, order: int) -> None:
    cr.gradcheck(SMOOTH[name], [AWAY], order=order, raise_on_failure=True)


def test_second_derivatives_through_the_masks_match_torch() -> None:
    x = cr.tensor(X, requires_grad=True)
    y = (cr.clip(x, -1.0, 1.0) ** 3 + cr.maximum(x, 0.0) ** 3 + cr.minimum(x, 0.0) ** 3).sum()
    (dx,) = cr.gradient(y, [x], create_graph=True)
    (d2x,) = cr.gradient(dx.sum(), [x])
    t = torch.tensor(X, requires_grad=True)
    zero = torch.tensor(0.0, dtype=torch.float64)
    ty = (
        torch.clamp(t, -1.0, 1.0) ** 3 + torch.maximum(t, zero) ** 3 + torch.minimum(t, zero) ** 3
    ).sum()
    (tdx,) = torch.autograd.grad(ty, t, create_graph=True)
    (td2x,) = torch.autograd.grad(tdx.sum(), t)
    np.testing.assert_allclose(dx.numpy(), tdx.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(d2x.numpy(), td2x.numpy(), rtol=1e-12)


@pytest.mark.parametrize("op", UNARY, ids=str)
def test_array_api_strict_masks_an_infinite_gradient_too(op: str) -> None:
    xs = pytest.importorskip("array_api_strict")
    x = cr.tensor(xs.asarray(X), requires_grad=True)
    out = UNARY[op](cr, x)
    (dx,) = cr.gradient(out, [x], [cr.tensor(xs.asarray(SEEDS["mixed"]))])
    assert isinstance(dx.data, type(xs.asarray(0.0)))
    np.testing.assert_array_equal(dx.numpy(), _torch_grad(op, X, SEEDS["mixed"]))


# ---------------------------------------------------------------------------------------------
# A NaN operand: every comparison with it is false, so a mask built from "x wins" (x > 0,
# a > b) dropped the gradient there. PyTorch masks by "x loses" instead: relu and maximum and
# minimum send it through a NaN, to both operands of the binary ops (clamp does not, in torch
# as here).
# ---------------------------------------------------------------------------------------------

NAN = float("nan")
#: NaN beside a loss, a win and a tie at 0 (maximum(x, 0), minimum(x, 0) and relu)
X_NAN = np.array([NAN, -1.0, 0.0, 0.5, NAN, 2.0])
#: NaN in a, in b and in both, beside a tie and a win each way
A_NAN = np.array([NAN, 1.0, NAN, 1.0, 2.0, -3.0])
B_NAN = np.array([1.0, NAN, NAN, 1.0, -1.0, 0.5])
#: distinct upstream values, infinite at one NaN, so that every element tells where it went
SEED_NAN = np.array([2.0, -3.0, INF, 7.0, 11.0, 13.0])


def _on(library: str, array: np.ndarray, requires_grad: bool = False) -> cr.Tensor:
    """``array`` as a tensor of NumPy, array-api-strict or PyTorch (through array-api-compat)."""
    if library == "numpy":
        return cr.tensor(array, requires_grad=requires_grad)
    pytest.importorskip("array_api_compat")
    xp = torch if library == "torch" else pytest.importorskip("array_api_strict")
    return cr.tensor(array, xp=xp, requires_grad=requires_grad)


@pytest.mark.parametrize("create_graph", [False, True], ids=["arrays", "tensors"])
@pytest.mark.parametrize("library", ["numpy", "strict", "torch"])
@pytest.mark.parametrize("op", UNARY, ids=str)
def test_a_nan_input_gets_the_gradient_torch_gives_it(op, library, create_graph) -> None:
    x = _on(library, X_NAN, requires_grad=True)
    seed = _on(library, SEED_NAN)
    (dx,) = cr.gradient(UNARY[op](cr, x), [x], [seed], create_graph=create_graph)
    np.testing.assert_array_equal(dx.numpy(), _torch_grad(op, X_NAN, SEED_NAN))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("create_graph", [False, True], ids=["arrays", "tensors"])
@pytest.mark.parametrize("library", ["numpy", "strict", "torch"])
@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_a_nan_operand_sends_the_gradient_to_both_as_in_torch(name, library, create_graph, dtype):
    """Where either is NaN, so is the value, and torch gives each operand all of g; the tie
    (index 3) still splits it, a win and a loss (index 4, 5) still select."""
    a, b = (_on(library, v.astype(dtype), requires_grad=True) for v in (A_NAN, B_NAN))
    seed = _on(library, SEED_NAN.astype(dtype))
    grads = cr.gradient(getattr(cr, name)(a, b), [a, b], [seed], create_graph=create_graph)
    ta, tb = (torch.tensor(v.astype(dtype), requires_grad=True) for v in (A_NAN, B_NAN))
    getattr(torch, name)(ta, tb).backward(torch.tensor(SEED_NAN.astype(dtype)))
    for got, expected in zip(grads, (ta.grad, tb.grad), strict=True):
        assert got.numpy().dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    np.testing.assert_array_equal(grads[0].numpy()[:3], SEED_NAN[:3])  # g, not 0, at each NaN


def test_relu_of_nan_passes_the_gradient_and_elsewhere_matches_central_differences() -> None:
    """Away from NaN (and the kink at 0) relu's mask is its derivative: central differences
    agree; at NaN the gradient is g, torch's choice, though no difference is defined there."""
    cr.gradcheck(lambda x: cr.relu(x) ** 2, [np.array([-1.5, -0.2, 0.3, 2.0])], order=2,
                 raise_on_failure=True)  # fmt: skip
    x = cr.tensor(np.array([NAN, -1.0, 1.0]), requires_grad=True)
    cr.relu(x).backward(np.array([4.0, 5.0, 6.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 0.0, 6.0])


@pytest.mark.parametrize("create_graph", [False, True], ids=["arrays", "tensors"])
@pytest.mark.parametrize("library", ["numpy", "strict", "torch"])
def test_abs_of_nan_sends_zero_as_torch_does(library, create_graph) -> None:
    """abs's derivative is the sign of x, which torch takes as 0 at NaN (NumPy's sign is NaN,
    which spread NaN to every gradient below); elsewhere -1, 0 or 1 times g."""
    x_values = np.array([NAN, -1.0, 0.0, 0.5, NAN, 0.0])
    seed_values = np.array([2.0, -3.0, 5.0, 7.0, 11.0, 13.0])
    x = _on(library, x_values, requires_grad=True)
    (dx,) = cr.gradient(cr.abs(x), [x], [_on(library, seed_values)], create_graph=create_graph)
    t = torch.tensor(x_values, requires_grad=True)
    t.abs().backward(torch.tensor(seed_values))
    np.testing.assert_array_equal(dx.numpy(), t.grad.numpy())
    assert dx.numpy()[0] == 0.0 and dx.numpy()[4] == 0.0
