"""A custom primitive's rules are counted against its inputs before backward needs them.

``primitive("half", lambda a, b: a * b, rule_for_a)`` used to register, run forward, and fail in
backward with a bare ``IndexError: tuple index out of range`` from the engine. Now a count that
the forward's positional parameters cannot take is refused at registration, and where the
signature cannot tell (a parameter after the inputs, ``*args``), backward refuses an input that
needs a gradient and has no rule, naming the op and the input. The oracles for what still works
are closed forms (d sum(k x) / dx = k) and finite differences.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import REGISTRY, primitive

_fresh = itertools.count()


def _name(stem: str) -> str:
    """A name not yet registered (the registry is global and refuses a second registration)."""
    return f"test_rule_counts_{stem}_{next(_fresh)}"


def _product_rule(g, out, a, b):
    return g * b


@pytest.mark.parametrize("create_graph", [False, True])
def test_an_input_without_a_rule_that_needs_a_gradient_is_refused_in_backward(
    create_graph,
) -> None:
    name = _name("half")
    half = primitive(name, lambda a, b: a * b, _product_rule)  # b may be a keyword parameter
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    out = half(a, b).sum()
    with pytest.raises(TypeError, match=rf"'{name}'.* has 1 derivative rule but input 1 needs a "
                       "gradient: give the primitive one rule per input"):  # fmt: skip
        out.backward(create_graph=create_graph)
    assert a.grad is None and b.grad is None  # nothing accumulated


def test_an_input_without_a_rule_that_needs_no_gradient_still_works() -> None:
    """Only an input that needs a gradient asks for its rule: d sum(a * b) / da = b."""
    half = primitive(_name("constant"), lambda a, b: a * b, _product_rule)
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    half(a, cr.tensor([3.0, 4.0])).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])


def test_an_index_error_inside_a_rule_is_the_rules_own() -> None:
    def broken(g, out, x):
        return [g][1]  # the rule's own slip

    op = primitive(_name("broken"), lambda x: 2 * x, broken)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(IndexError, match="list index out of range"):
        op(x).sum().backward()


def test_a_variadic_forward_with_a_rule_tuple_is_refused_where_a_rule_is_missing() -> None:
    name = _name("variadic")
    total = primitive(name, lambda *xs: sum(xs), lambda g, out, *xs: g)
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=rf"'{name}'.* has 1 derivative rule but input 1"):
        total(a, a, a).sum().backward()
    total(a).sum().backward()  # one input, one rule: works, d sum(a) / da = 1
    np.testing.assert_allclose(a.grad.numpy(), np.ones(2))


def test_more_rules_than_the_forward_takes_are_refused_at_registration() -> None:
    name = _name("three")
    rule = _product_rule
    with pytest.raises(TypeError, match=rf"primitive '{name}': 3 derivative rules, but its "
                       "forward takes at most 2 inputs"):  # fmt: skip
        primitive(name, lambda a, b: a * b, rule, rule, rule)
    assert name not in REGISTRY  # nothing registered


def test_positional_only_inputs_without_rules_are_refused_at_registration() -> None:
    name = _name("positional_only")

    def forward(a, b, /):
        return a * b

    with pytest.raises(TypeError, match="takes 2 positional-only inputs"):
        primitive(name, forward, _product_rule)
    assert name not in REGISTRY


def test_a_parameter_after_the_inputs_still_works_as_a_keyword() -> None:
    scale = primitive(_name("scale"), lambda x, k: x * k, lambda g, out, x, k: g * k)
    x = cr.tensor([1.0, -2.0, 0.5], requires_grad=True)
    scale(x, k=3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 3.0))  # d sum(3 x) / dx = 3


def test_a_primitive_with_a_rule_per_input_differentiates_as_finite_differences() -> None:
    times = primitive(_name("times"), lambda a, b: a * b, _product_rule,
                      lambda g, out, a, b: g * a)  # fmt: skip
    a0, b0 = np.array([0.3, -1.2]), np.array([2.0, 0.7])
    grads = cr.grad(lambda a, b: cr.sum(times(a, b) * times(a, b)), argnums=(0, 1))(a0, b0)

    def f(a, b):
        return np.sum((a * b) ** 2)

    eps = 1e-6
    steps = np.eye(2) * eps
    numeric_a = [(f(a0 + s, b0) - f(a0 - s, b0)) / (2 * eps) for s in steps]
    numeric_b = [(f(a0, b0 + s) - f(a0, b0 - s)) / (2 * eps) for s in steps]
    np.testing.assert_allclose(grads[0].numpy(), numeric_a, rtol=1e-6)
    np.testing.assert_allclose(grads[1].numpy(), numeric_b, rtol=1e-6)


@pytest.mark.parametrize("anomaly", [False, True])
@pytest.mark.parametrize("create_graph", [False, True])
def test_a_rule_returning_none_is_refused_naming_the_op_and_input(anomaly, create_graph) -> None:
    name = _name("none")
    doubled = primitive(name, lambda x: 2 * x, lambda g, out, x: None)  # the return forgotten
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.detect_anomaly() if anomaly else contextlib.nullcontext():
        out = doubled(x).sum()
        with pytest.raises(TypeError, match=rf"the rule of '{name}'.* for input 0 returned None, "
                           r"not a gradient: .* shaped like the input \(2,\)"):  # fmt: skip
            out.backward(create_graph=create_graph)
    assert x.grad is None  # nothing accumulated
