"""gradcheck of an ``f`` that never reads its input: told, as the transforms tell it.

``cr.gradcheck(lambda w: loss(net(x), t), [lin.weight])`` (f closes over the live parameter, as
PyTorch users write) compared zeros with zeros and passed, its note blaming the point ("check
at a point where its derivatives are not 0"). The transforms refuse the same ``f``
(``cr.grad``: it reads the tensor given as the argument, not the copy it receives, and
``nn.functional_call`` is the way); gradcheck now refuses it with their words, and where ``f``
reads other tensors that require a gradient it warns (ZeroDerivativeWarning) as they do and
the note says so. A derivative rightly 0 (the input enters only through ``detach``, masks or
comparisons) is left as the transforms leave it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ZeroDerivativeWarning


def tied_net(seed=0):
    lin = nn.Linear(3, 3, dtype="float64", rng=seed)
    return lin, nn.Sequential(lin, nn.Logistic(), lin, nn.Logistic())


def data(seed=1):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.normal(size=(2, 3))), cr.tensor(rng.uniform(size=(2, 3)))


def test_f_reading_the_live_parameter_given_as_input_is_refused_as_grad_refuses_it():
    lin, net = tied_net()
    x, t = data()
    loss = nn.SquaredError()

    def f(w):
        return loss(net(x), t)  # never reads w

    with pytest.raises(RuntimeError, match="nn.functional_call") as theirs:
        cr.grad(f)(lin.weight)
    with pytest.raises(RuntimeError, match="nn.functional_call") as ours:
        cr.gradcheck(f, [lin.weight])
    message = str(ours.value)
    assert message.startswith("gradcheck: ")
    assert "argument 0" in message and "does not depend on" in message
    assert message.replace("gradcheck", "grad") == str(theirs.value)  # one wording, one home


def test_only_the_unread_inputs_count_not_a_constant_one():
    """An integer input (a label, passed unchanged) is no variable: f reading the live
    parameter given as its floating input is still refused, naming that input."""
    lin, net = tied_net(2)
    x, _ = data(3)
    labels = np.array([0, 2])

    def f(w, y):
        return cr.softmax_cross_entropy(net(x), y)

    with pytest.raises(RuntimeError, match="argument 0"):
        cr.gradcheck(f, [lin.weight, labels])


def test_f_reading_other_parameters_warns_and_its_note_says_why():
    lin, net = tied_net(4)
    x, t = data(5)
    loss = nn.SquaredError()
    W0 = lin.weight.numpy().copy()

    def f(w):
        return loss(net(x), t)  # w is an array here: the parameters read are not it

    with pytest.warns(ZeroDerivativeWarning, match="nn.functional_call"):
        cr.grad(f)(W0)
    with pytest.warns(ZeroDerivativeWarning, match="nn.functional_call") as caught:
        report = cr.gradcheck(f, [W0])
    assert [str(w.message).startswith("gradcheck: ") for w in caught] == [True]
    assert "nn.functional_call" in report.note
    assert "check at a point where" not in report.note  # the point is not what is wrong


def test_functional_call_is_checked_as_before():
    lin, net = tied_net(6)
    x, t = data(7)
    loss = nn.SquaredError()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = cr.gradcheck(
            lambda w: loss(nn.functional_call(net, {"0.weight": w}, x), t), [lin.weight.numpy()]
        )
    assert report.ok is True
    assert any(m.analytic != 0 for m in report.entries)


def test_a_derivative_rightly_zero_is_left_as_the_transforms_leave_it():
    """Through detach alone, with nothing else requiring a gradient: the transforms give zeros
    without a word, and gradcheck fails the check (the differences are not 0) without one."""
    x = np.array([0.3, -1.2, 0.8])

    def f(v):
        return (v.detach() ** 2).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(cr.grad(f)(x).numpy(), np.zeros(3))
        report = cr.gradcheck(f, [x])
    assert report.ok is False
    np.testing.assert_allclose([m.numeric for m in report.entries], 2 * x, rtol=1e-6)


def test_an_input_through_a_mask_beside_a_parameter_warns_as_grad_does():
    """The input enters only through a comparison; a parameter carries the value: the
    transforms warn (the zeros are right there), and so does gradcheck, which passes."""
    w = nn.Parameter(np.array([0.5, -2.0, 1.5]))
    x = np.array([0.3, -1.2, 0.8])

    def f(v):
        return cr.where(v > 0, w, 0 * w).sum()

    with pytest.warns(ZeroDerivativeWarning):
        cr.grad(f)(x)
    with pytest.warns(ZeroDerivativeWarning):
        report = cr.gradcheck(f, [x])
    assert report.ok is True


def test_an_f_that_differentiates_inside_is_not_told():
    """d/dx of grad_y (w . y) is 0 and the inner gradient is w: rightly constant in x, as the
    transforms leave it (an f that runs a gradient pass itself)."""
    w = nn.Parameter(np.array([0.5, -2.0, 1.5]))
    x = np.array([0.3, -1.2, 0.8])

    def f(v):
        return cr.grad(lambda y: (y * w).sum())(v)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.jacobian(f)(x)
        report = cr.gradcheck(f, [x])
    assert report.ok is True
