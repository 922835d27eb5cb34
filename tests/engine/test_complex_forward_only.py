"""Complex numbers pass through a forward pass (a complex step) but carry no gradient: the rules
are real ones (``mul`` sends ``g * b``, ``abs`` ``g * z / |z|``), and a gradient through complex
values mixed the two conventions into numbers that were neither torch's nor its conjugate."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_a_complex_tensor_cannot_require_a_gradient():
    with pytest.raises(TypeError, match="not complex128; complex numbers are forward-only"):
        cr.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    with pytest.raises(TypeError, match="not int64; convert with .astype"):
        cr.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize(
    "through_complex",
    [lambda x: x * (2 + 1j), lambda x: x.astype("complex128") * (2 + 1j),
     lambda x: x.astype("complex64"), lambda x: cr.exp(x * 1j)],
    ids=["times a complex", "cast, then times a complex", "cast", "exp of an imaginary"],
)  # fmt: skip
@pytest.mark.parametrize("create_graph", [False, True])
def test_a_gradient_through_complex_values_is_refused_not_wrong(through_complex, create_graph):
    """|x (2 + i)| = sqrt(5)|x| has the gradient sqrt(5) sign(x); backward gave 3/sqrt(5)."""
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    loss = cr.abs(through_complex(x)).sum()
    with pytest.raises(TypeError, match="complex.* gradient reached a float.* tensor: complex "
                       "numbers are forward-only"):  # fmt: skip
        loss.backward(create_graph=create_graph)
    assert x.grad is None


def test_a_complex_step_still_gives_a_derivative():
    """The forward-only use: Im f(x + ih) / h is f'(x), with no gradient taken."""
    x, h = 0.3, 1e-20
    value = cr.sigmoid(cr.tensor(np.array([x + 1j * h]))).data
    s = 1 / (1 + np.exp(-x))
    assert value.imag[0] / h == pytest.approx(s * (1 - s), rel=1e-12)


def test_a_parameter_whose_data_was_set_to_integers_is_refused_by_backward_not_half_stepped():
    """w.data = np.array([[1, -1], ...]) (integer literals): backward cast the float gradient
    to int64 (0.3 -> 0, silently), and the optimizer's step failed on that layer with NumPy's
    casting error after it had moved the layers before it."""
    from chainrule import nn, optim

    net = nn.mlp([3, 4, 2], output="logistic", dtype="float64", rng=0)
    net[2].weight.data = np.array([[1, -1], [0, 2], [1, 1], [0, 0]])
    before = [p.numpy().copy() for p in net.parameters()]
    loss = nn.SquaredError()(net(np.array([[0.2, -0.7, 1.1]])), np.array([[1.0, 0.0]]))
    with pytest.raises(TypeError, match="reached a tensor of int64 that requires a gradient"):
        loss.backward()
    optim.SGD(net.parameters(), lr=0.5).step()  # no gradient was set: nothing moves
    for old, p in zip(before, net.parameters()):
        np.testing.assert_array_equal(old, p.numpy())


def _complex_seeds():
    x = np.array([1.0, 2.0])
    leaf = cr.tensor(x, requires_grad=True)
    return {
        "jvp: tangent 0": lambda c: cr.jvp(lambda v: v * 2, (x,), (c,)),
        "vjp: cotangent 0": lambda c: cr.vjp(lambda v: v * 2, x)[1](c),
        "hvp: tangent 0": lambda c: cr.hvp(lambda v: (v * v).sum(), (x,), (c,)),
        "gradient: cotangent 0": lambda c: cr.gradient([leaf * 2], [leaf], [c]),
        "backward: gradient": lambda c: (leaf * 2).backward(gradient=c),
    }


@pytest.mark.parametrize("seed", ["jvp: tangent 0", "vjp: cotangent 0", "hvp: tangent 0",
                                  "gradient: cotangent 0", "backward: gradient"])  # fmt: skip
@pytest.mark.parametrize("kind", ["array", "tensor", "number"])
def test_a_complex_tangent_cotangent_or_seed_is_refused_not_made_real(seed, kind):
    """A tangent of 1j was cast to the real output's dtype: its imaginary part dropped, every
    transform returned zeros with NumPy's ComplexWarning at most."""
    value = {"array": np.array([1j, 1j]), "tensor": cr.tensor([1j, 1j]), "number": 1j}[kind]
    if kind == "number" and seed != "backward: gradient":
        value = np.full(2, value)  # the transforms take one cotangent per output, shaped like it
    with pytest.raises(TypeError, match=rf"^{seed} is complex128 but .* is float64: complex "
                       "numbers are forward-only"):  # fmt: skip
        _complex_seeds()[seed](value)
