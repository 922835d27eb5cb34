"""Findings of the calculus QA (s56): what gradcheck and the engine say when they refuse.

- gradcheck of an ``f`` that rounds through float32 on the way to a float64 output
  (``x.astype('float32') * x``) fails, rightly (its finite differences carry float32 rounding),
  and the failure now names the float32 step and the fix; a right float64 ``f`` and a wrong
  rule in float64 get no such note.
- A graph freed by one call and met by another is refused in the name of the call that met it
  (``gradient: ...``), naming the call that freed it (the one that needed retain_graph=True).
  The semantics stay: a freed graph is refused, as documented (torch keeps ops that save nothing),
  where it may lead to what is differentiated.
- ``backward`` of a tensor that does not require a gradient says why in ``cr.gradient``'s words.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import REGISTRY, primitive

X = np.array([0.3, -1.2, 2.5])

# d(x^2)/dx written as x instead of 2x: a wrong rule, in float64 throughout
_BAD = "test_calculus_qa_s56_bad_square"
bad_square = (
    REGISTRY[_BAD]
    if _BAD in REGISTRY
    else primitive(_BAD, lambda x: x * x, lambda g, out, x: g * x)
)


def _round_trip(x):
    return x.astype("float32").astype("float64") ** 2


def _float32_factor(x):
    return x.astype("float32") * x  # a float64 output: the output's dtype shows nothing


def _checked(f, **options):
    """gradcheck's report and the messages of the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = cr.gradcheck(f, [X], **options)
    return report, [str(w.message) for w in caught]


@pytest.mark.parametrize("f", [_round_trip, _float32_factor], ids=["round trip", "factor"])
@pytest.mark.parametrize("mode", ["full", "random"])
def test_a_failure_names_the_float32_step_and_the_fix(f, mode):
    report, warned = _checked(f, mode=mode)
    assert not report.ok
    # the analytic side is right (the derivative of the float64 function, 2x, as float32 saw
    # it): the numeric side is what float32 rounding spoils
    if mode == "full":
        diagonal = [m.analytic for m in report.entries[:: len(X) + 1]]
        np.testing.assert_allclose(diagonal, 2 * X, rtol=1e-6)
    shown = str(report)
    assert "f computes 'astype' in float32" in report.note, report.note
    assert "keep f in float64 for the check" in report.note, report.note
    assert report.note in shown
    assert any("f computes 'astype' in float32" in w for w in warned), warned
    with (
        pytest.raises(cr.GradcheckError, match=r"'astype' in float32.*keep f in float64"),
        pytest.warns(UserWarning, match="f computes 'astype' in float32"),
    ):
        cr.gradcheck(f, [X], mode=mode, raise_on_failure=True)


def test_the_note_is_for_a_coarse_step_only():
    """A right float64 f passes with no note; a wrong float64 rule fails without one (its
    failure is the rule's); the float32 round trip's failure carries it."""
    right, warned_right = _checked(lambda x: x * x * cr.sigmoid(x))
    assert right.ok and right.note == "" and not warned_right
    wrong, warned_wrong = _checked(lambda x: bad_square(x))
    assert not wrong.ok and wrong.where == "d out[2] / d input 0[2]"
    assert wrong.note == "" and not any("computes" in w for w in warned_wrong), warned_wrong
    coarse, _ = _checked(_round_trip)
    assert "float32" in coarse.note


def test_the_note_counts_the_coarse_ops_after_the_first():
    report, _ = _checked(lambda x: (cr.tanh(x.astype("float32")) * 3).astype("float64") * x)
    assert not report.ok
    assert "f computes 'astype' in float32 (and 2 later ops)" in report.note, report.note


# ---------------------------------------------------------------------------------------------
# A freed graph, met by another call than backward
# ---------------------------------------------------------------------------------------------


def _feature():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    return x, x + 1  # 'add' saves nothing, and is freed all the same (documented)


def test_gradient_meeting_a_graph_backward_freed_names_both_calls():
    x, h = _feature()
    h.sum().backward()
    with pytest.raises(cr.GraphFreedError) as refusal:
        cr.gradient((h * h).sum(), [x])
    message = str(refusal.value)
    assert message.startswith("gradient: the graph through 'add' was freed"), message
    assert "by an earlier backward(); pass retain_graph=True to that backward()" in message


def test_backward_meeting_a_graph_gradient_freed_names_gradient():
    x, h = _feature()
    cr.gradient(h.sum(), [x])  # releases, as torch.autograd.grad does
    with pytest.raises(cr.GraphFreedError) as refusal:
        (h * h).sum().backward()
    message = str(refusal.value)
    assert message.startswith("backward: the graph through 'add' was freed"), message
    assert "earlier cr.gradient(); pass retain_graph=True to that cr.gradient()" in message


@pytest.mark.parametrize(
    "transform, op",
    [
        (lambda f, y: cr.grad(lambda v: f(v).sum())(y), "grad"),
        (lambda f, y: cr.jacobian(f)(y), "jacobian"),
        (lambda f, y: cr.jacobian(f, mode="forward")(y), "jacobian"),
        (lambda f, y: cr.jvp(f, (y,), (cr.ones_like(y),)), "jvp"),
    ],
    ids=["grad", "jacobian", "jacobian forward", "jvp"],
)
def test_a_transform_meeting_a_freed_graph_is_named(transform, op):
    def f(v):
        h = v + 1  # made from the transform's variable, then freed: it leads to the variable
        h.sum().backward()
        return h * v

    # (a graph freed before the variable was made cannot lead to it: a constant, accepted as
    # torch.func accepts it; tests/engine/test_stale_closure_s56.py)
    with pytest.raises(cr.GraphFreedError, match=rf"^{op}: the graph through 'add' .*backward\(\)"):
        transform(f, cr.tensor([1.0, 1.0]))


def test_a_graph_freed_by_a_transform_names_the_transform():
    kept = []

    def f(y):
        kept.append(cr.exp(y) * 2)  # an intermediate kept past the call
        return kept[-1].sum()

    cr.grad(f)(cr.tensor([1.0, 1.0]))
    with pytest.raises(cr.GraphFreedError, match=r"^backward: .*'mul'.*earlier grad call"):
        (kept[0] * 3).sum().backward()


def test_the_freed_graph_is_still_refused_and_retain_graph_still_matches_torch(torch):
    _, h = _feature()
    h.sum().backward()
    with pytest.raises(cr.GraphFreedError, match=r"^backward: .*earlier backward\(\)"):
        (h * h).sum().backward()
    x, h = _feature()
    h.sum().backward(retain_graph=True)
    (h * h).sum().backward()
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    th = tx + 1
    th.sum().backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())  # 1 + 2 (x + 1): [5, 7]


# ---------------------------------------------------------------------------------------------
# backward of a tensor that does not require a gradient: cr.gradient's words
# ---------------------------------------------------------------------------------------------


def _why(message: str) -> str:
    """A refusal's reasons, past the part that names the call and the tensor."""
    return message.split("does not require a gradient", 1)[1].split(" from it to ", 1)[0]


def test_backward_of_a_constant_says_why_as_gradient_does():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        loss = (x * x).sum()
    with pytest.raises(RuntimeError) as by_backward:
        loss.backward()
    with pytest.raises(RuntimeError) as by_gradient:
        cr.gradient(loss, [x])
    told = str(by_backward.value)
    assert told.startswith("backward: this tensor (shape ()) does not require a gradient"), told
    assert "computed under no_grad" in told and "requires_grad=True" in told, told
    assert _why(told) == _why(str(by_gradient.value))
    with cr.no_grad(), pytest.raises(RuntimeError, match="recording is off where backward is"):
        loss.backward()


def test_backward_of_an_integer_tensor_says_it_has_no_gradient():
    counts = cr.tensor([1, 2]).sum()
    with pytest.raises(RuntimeError, match=r"^backward: this tensor .*int64, which has no grad"):
        counts.backward()
