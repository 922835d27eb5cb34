"""A derivative rule that writes into a read-only array it was given is told so, by op.

The engine may hand a rule a shared, read-only cotangent: the seed of a one-element output, or
the broadcast view that ``sum``'s rule sends back. A custom rule written ``g *= 2`` then failed
with NumPy's bare "output array is read-only", naming no op and no input. The oracle for the
rule written correctly is the closed form d sum(2 x) / dx = 2.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import primitive

_fresh = itertools.count()


def _doubling(rule):
    """A fresh primitive 2 x with ``rule`` (the registry is global and refuses a second name)."""
    name = f"test_in_place_double_{next(_fresh)}"
    return name, primitive(name, lambda x: 2.0 * x, rule)


def _in_place(g, out, x):
    g *= 2.0
    return g


def _new_array(g, out, x):
    return g * 2.0


@pytest.mark.parametrize("anomaly", [False, True], ids=["fast pass", "anomaly pass"])
def test_a_rule_writing_into_sums_broadcast_view_is_named(anomaly) -> None:
    name, double = _doubling(_in_place)
    x = cr.tensor(np.ones(3), requires_grad=True)
    out = double(x).sum()
    with pytest.raises(ValueError, match=rf"rule of '{name}'.* for input 0 wrote into an array "
                       r"it was given \(.*read-only\).*return a new array"):  # fmt: skip
        if anomaly:
            with cr.detect_anomaly():
                out.backward()
        else:
            out.backward()
    assert x.grad is None  # nothing accumulated


@pytest.mark.parametrize("anomaly", [False, True], ids=["fast pass", "anomaly pass"])
def test_a_scalar_seed_written_in_place_is_named(anomaly) -> None:
    name, double = _doubling(_in_place)
    x = cr.tensor(3.0, requires_grad=True)
    out = double(x)
    with pytest.raises(ValueError, match=rf"rule of '{name}'.* wrote into an array"):
        if anomaly:
            with cr.detect_anomaly():
                out.backward()
        else:
            out.backward()


def test_a_rule_returning_a_new_array_gives_the_closed_form() -> None:
    _, double = _doubling(_new_array)
    x = cr.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    double(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_another_value_error_of_a_rule_is_its_own() -> None:
    def refusing(g, out, x):
        raise ValueError("the rule's own complaint")

    _, op = _doubling(refusing)
    x = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"^the rule's own complaint$"):
        op(x).sum().backward()


def test_under_detect_anomaly_a_write_into_a_writable_shared_cotangent_is_named() -> None:
    """add's rule sends one array to both inputs, writable: ``g *= 2`` in the next rule changed
    the other input's gradient unseen (x.grad = 4 w^2 for the closed form 3 w^2). The fast pass
    cannot afford to protect it; under detect_anomaly every array a rule gets is read-only."""
    name, double = _doubling(_in_place)
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = cr.tensor([1.0, 10.0, 100.0])
    y = x * w
    out = ((double(y) + y) * w).sum()
    refusal = rf"rule of '{name}'.* wrote into an array"
    with pytest.raises(ValueError, match=refusal), cr.detect_anomaly():
        out.backward()


def test_under_detect_anomaly_the_rules_written_right_give_the_closed_form() -> None:
    """d/dx sum((2 x w + x w) w) = 3 w^2, through add's shared cotangent."""
    _, double = _doubling(_new_array)
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = cr.tensor([1.0, 10.0, 100.0])
    y = x * w
    with cr.detect_anomaly():
        ((double(y) + y) * w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * w.numpy() ** 2, rtol=1e-15)


def test_under_detect_anomaly_a_write_into_a_saved_array_is_named() -> None:
    """A rule's ``saved=`` array was left writable: ``saved *= g`` changed what a second
    backward (retain_graph) read, unseen (18, 36, 54 for 6 x)."""
    name = f"test_in_place_saved_{next(_fresh)}"

    def forward(x):
        return x * x, 2.0 * x

    def rule(g, out, x, saved):
        saved *= g
        return saved

    square = primitive(name, forward, rule, saves=True)
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = square(x).sum()
    refusal = rf"rule of '{name}'.* wrote into an array"
    with pytest.raises(ValueError, match=refusal), cr.detect_anomaly():
        out.backward(retain_graph=True)
