"""Physics-informed habits: a function that differentiates its own input, checked and combined.

* ``cr.gradcheck(f, [X])`` of a residual that takes ``cr.gradient(net(x).sum(), [x])`` of its
  own input was refused ("input 0 ... does not require a gradient"): gradcheck called ``f`` with
  tensors that did not require one (its first calls and the differences), also where the input
  given was ``cr.tensor(X, requires_grad=True)``. ``torch.autograd.gradcheck`` passes the same
  function; gradcheck now calls ``f`` as torch does, at order 1 and 2.
* ``cr.gradient(u.sum(), [x])`` with ``x = X[:, 0:1]`` sliced after ``u = net(X)`` gives the
  documented zeros, as torch's ``materialize_grads=True`` (its default refuses the input). A
  warning that said "cannot depend on it" was wrong where the output depends on the input's
  values through ``detach`` or a comparison, and cost a walk of the graph per input; s71 warns
  again (tests/engine/test_gradient_unreached_s71.py), saying there that the zeros are right.
* Differentiating a derivative taken without ``create_graph=True`` was refused with causes that
  left that one out; the refusal now names it and the fix.
* Under ``cr.detect_anomaly()`` a backward rule dividing by zero printed NumPy's RuntimeWarning
  before the AnomalyError that reports it; the AnomalyError alone reports it now.

The oracles are central differences written here and PyTorch (the ``torch`` fixture).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ZeroDerivativeWarning

RNG = np.random.default_rng(7)
W1, B1 = RNG.uniform(-1, 1, size=(2, 4)), RNG.uniform(-1, 1, size=(4,))
W2, B2 = RNG.uniform(-1, 1, size=(4, 1)), RNG.uniform(-1, 1, size=(1,))
XN = np.random.default_rng(1).uniform(-1, 1, size=(3, 2))


def net(x):
    """A 2-4-1 tanh network with fixed weights (constants: only x is differentiated)."""
    return cr.tanh(x @ cr.tensor(W1) + cr.tensor(B1)) @ cr.tensor(W2) + cr.tensor(B2)


def residual(x, create_graph=True):
    """A PINN-style loss: the squared input gradient of u plus u itself."""
    u = net(x)
    options = {} if create_graph is None else {"create_graph": create_graph}
    (ux,) = cr.gradient(u.sum(), [x], **options)
    return (ux**2).sum() + u.sum()


def residual_numpy(x):
    """The same residual in closed form on NumPy: du/dx = ((1 - h^2) * W2^T) W1^T."""
    h = np.tanh(x @ W1 + B1)
    u = h @ W2 + B2
    ux = ((1 - h**2) * W2.T) @ W1.T
    return float((ux**2).sum() + u.sum())


def central_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def torch_residual(torch, create_graph=True):
    w1, b1, w2, b2 = (torch.tensor(a) for a in (W1, B1, W2, B2))

    def f(x):
        u = torch.tanh(x @ w1 + b1) @ w2 + b2
        (ux,) = torch.autograd.grad(u.sum(), [x], create_graph=create_graph)
        return (ux**2).sum() + u.sum()

    return f


# ------------------------------------------------------------------------------------------
# 1. gradcheck of a function that differentiates its own input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("mode", ["full", "random"])
@pytest.mark.parametrize("given", ["array", "tensor requiring a gradient"])
def test_gradcheck_passes_a_residual_that_differentiates_its_input(order, mode, given):
    x = XN if given == "array" else cr.tensor(XN, requires_grad=True)
    report = cr.gradcheck(residual, [x], order=order, mode=mode)
    assert report.ok is True, str(report)


def test_the_residual_gradcheck_passes_is_the_closed_form_one():
    """What gradcheck passed is the right derivative: cr.grad against central differences of
    the closed-form residual (NumPy, no chainrule)."""
    expected = central_gradient(residual_numpy, XN)
    assert np.allclose(cr.grad(residual)(XN).numpy(), expected, atol=1e-7)
    # and the residual gradcheck evaluates is the closed form's
    assert np.isclose(residual(cr.tensor(XN, requires_grad=True)).item(), residual_numpy(XN))


def test_torch_passes_the_same_residual_at_both_orders(torch):
    """The oracle for the verdicts above: torch.autograd.gradcheck and gradgradcheck pass the
    same function, and its gradient is chainrule's."""
    f = torch_residual(torch)
    xt = torch.tensor(XN, requires_grad=True)
    assert torch.autograd.gradcheck(f, (xt,))
    assert torch.autograd.gradgradcheck(f, (xt,))
    (expected,) = torch.autograd.grad(f(xt), [xt])
    assert np.allclose(cr.grad(residual)(XN).numpy(), expected.numpy(), atol=1e-12)


def test_gradcheck_inside_no_grad_still_checks_the_residual():
    with cr.no_grad():
        assert cr.gradcheck(residual, [XN], order=2).ok is True


def test_inner_gradient_left_default_is_recorded_as_inside_cr_grad():
    """create_graph left None: cr.grad records the inner gradient (a transform runs), and so
    does gradcheck now (it raised a GraphFreedError, the inner pass having freed u's graph)."""
    report = cr.gradcheck(lambda x: residual(x, create_graph=None), [XN])
    assert report.ok is True, str(report)
    assert np.allclose(
        cr.grad(lambda x: residual(x, create_graph=None))(XN).numpy(),
        central_gradient(residual_numpy, XN),
        atol=1e-7,
    )


def _constant_inner(x):
    """The inner derivative taken as a constant (create_graph=False): f's derivative then
    misses the (ux ** 2) term, which the differences see."""
    u = net(x)
    (ux,) = cr.gradient(u.sum(), [x], create_graph=False, retain_graph=True)
    return (ux**2).sum() + u.sum()


def test_a_residual_whose_inner_derivative_is_cut_fails_the_check_as_torch_fails_it(torch):
    """The failing check's other calls of f (its repeats, its diagnoses) take f as its first
    calls do: a report that fails, not an exception."""
    report = cr.gradcheck(_constant_inner, [XN])
    assert report.ok is False
    w1, b1, w2, b2 = (torch.tensor(a) for a in (W1, B1, W2, B2))

    def f(x):
        u = torch.tanh(x @ w1 + b1) @ w2 + b2
        (ux,) = torch.autograd.grad(u.sum(), [x], retain_graph=True)
        return (ux**2).sum() + u.sum()

    assert not torch.autograd.gradcheck(f, (torch.tensor(XN, requires_grad=True),),
                                        raise_exception=False)  # fmt: skip


def _new_variable(x):
    """An f that makes its own variable of its input: cr.tensor warns where the input needs a
    gradient, which gradcheck's inputs now do."""
    y = cr.tensor(x, requires_grad=True)
    return (y**2).sum()


def _own_warning(x):
    warnings.warn("f's own note", UserWarning, stacklevel=1)  # f's own line
    return (x**3).sum()


@pytest.mark.parametrize("f", [_new_variable, _own_warning])
def test_the_warnings_f_gives_show_from_its_first_calls_not_from_every_difference(f):
    """``cr.tensor(x, requires_grad=True)`` in f warned at every evaluation (about 40 times,
    one a difference); f's warnings show from its calls at the point, the differences' repeats
    are silenced."""
    x = XN.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cr.gradcheck(f, [x])
    own = [w for w in caught if "cr.tensor of a tensor" in str(w.message)
           or "f's own note" in str(w.message)]  # fmt: skip
    differences = 2 * x.size  # two evaluations a difference, one difference an entry (full)
    assert 1 <= len(own) < differences // 2, [str(w.message)[:60] for w in caught]
    assert own[0].filename == __file__  # from f's own line


# ------------------------------------------------------------------------------------------
# 2. an input the outputs were not computed from: zeros (with s71's warning)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_slice_taken_after_the_forward_gets_zeros_as_torchs_materialize_grads(
    create_graph, torch
):
    X = cr.tensor(XN, requires_grad=True)
    u = net(X)
    x = X[:, 0:1]  # taken after u: a new tensor, not on its path
    with pytest.warns(ZeroDerivativeWarning, match=r"input 0 \(shape \(3, 1\)\) is a slice"):
        (ux,) = cr.gradient(u.sum(), [x], create_graph=create_graph)
    tX = torch.tensor(XN, requires_grad=True)
    tu = (torch.tanh(tX @ torch.tensor(W1) + torch.tensor(B1)) @ torch.tensor(W2)).sum()
    (tux,) = torch.autograd.grad(tu, [tX[:, 0:1]], materialize_grads=True)
    np.testing.assert_array_equal(ux.numpy(), tux.numpy())
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        torch.autograd.grad(tu, [tX[:, 0:1]])  # torch's default refuses it


@pytest.mark.parametrize("how", ["detach", "comparison"])
def test_an_input_read_through_detach_or_a_comparison_gets_zeros_told_they_are_right(how):
    """A sample weight made after the forward and used as ``w.detach()``, or a target mask
    from a comparison: the output depends on its values, and its gradient is zeros by design
    (a constant; a step's slope); the warning removed said "cannot depend on it" here. s71's
    (every input unreached, as cr.grad warns) says the zeros are right there."""
    X = cr.tensor(XN, requires_grad=True)
    u = net(X)
    w = cr.tensor(np.random.default_rng(1).normal(size=(3, 1)), requires_grad=True)
    outputs = np.tanh(XN @ W1 + B1) @ W2 + B2

    def value(wn):  # the loss, from the arrays alone
        if how == "detach":
            return float(np.sum(outputs * wn))
        return float(np.sum((outputs - (wn > 0)) ** 2))

    if how == "detach":
        loss = (u * w.detach()).sum()
    else:
        loss = ((u - cr.where(w > 0, 1.0, 0.0)) ** 2).sum()
    np.testing.assert_allclose(loss.item(), value(w.numpy()), rtol=1e-12)
    with pytest.warns(ZeroDerivativeWarning) as caught:
        (gw,) = cr.gradient(loss, [w])
    (message,) = [str(w.message) for w in caught]
    assert "do not depend differentiably on input 0 (shape (3, 1))" in message
    assert "comparisons, masks or detach, the zeros are right" in message
    assert "cannot depend" not in message
    assert np.array_equal(gw.numpy(), np.zeros((3, 1)))
    assert value(w.numpy()) != value(-w.numpy())  # it depends on w's values


def _no_zero_derivative_warning(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    told = [str(w.message) for w in caught if issubclass(w.category, ZeroDerivativeWarning)]
    assert not told, told
    return result


def test_a_slice_taken_before_the_forward_and_used_gets_its_gradient_silently():
    X = cr.tensor(XN, requires_grad=True)
    x, t = X[:, 0:1], X[:, 1:2]
    u = net(cr.concatenate([x, t], axis=1))
    (ux,) = _no_zero_derivative_warning(lambda: cr.gradient(u.sum(), [x]))
    expected = central_gradient(lambda a: float(np.sum(np.tanh(a @ W1 + B1) @ W2 + B2)), XN)
    assert np.allclose(ux.numpy(), expected[:, 0:1], atol=1e-7)


@pytest.mark.parametrize("create_graph", [False, True])
def test_unused_inputs_made_before_the_forward_keep_their_silent_zeros(create_graph):
    """The documented zeros: an input made before the forward that it did not read (a leaf, a
    slice taken first and left unused) cannot be told from one it rightly does not need."""
    X = cr.tensor(XN, requires_grad=True)
    unused_leaf = cr.tensor(np.ones(3), requires_grad=True)
    unused_slice = X[:, 0:1]
    u = net(X)
    grads = _no_zero_derivative_warning(
        lambda: cr.gradient(u.sum(), [X, unused_leaf, unused_slice], create_graph=create_graph)
    )
    assert np.array_equal(grads[1].numpy(), np.zeros(3))
    assert np.array_equal(grads[2].numpy(), np.zeros((3, 1)))


def test_a_transform_with_an_unused_argument_does_not_warn_so():
    grads = _no_zero_derivative_warning(
        lambda: cr.grad(lambda a, b: (a**2).sum(), argnums=(0, 1))(XN, XN)
    )
    assert np.allclose(grads[0].numpy(), 2 * XN)


# ------------------------------------------------------------------------------------------
# 3. a derivative taken without create_graph, differentiated again
# ------------------------------------------------------------------------------------------


def test_differentiating_a_constant_derivative_names_create_graph():
    X = cr.tensor(XN, requires_grad=True)
    u = net(X)
    (g,) = cr.gradient(u.sum(), [X])  # create_graph left off: g is a constant
    cause = r"output 0 .*derivative taken without create_graph=True"
    fix = r"pass create_graph=True to the first derivative"
    with pytest.raises(RuntimeError, match=f"{cause}.*{fix}"):
        cr.gradient(g[:, 0].sum(), [X], create_graph=True)


def test_backward_of_a_constant_derivative_names_create_graph_too():
    X = cr.tensor(XN, requires_grad=True)
    (g,) = cr.gradient(net(X).sum(), [X])
    with pytest.raises(RuntimeError, match=r"this tensor .*create_graph=True"):
        (g**2).sum().backward()


# ------------------------------------------------------------------------------------------
# 4. detect_anomaly: the AnomalyError is the report
# ------------------------------------------------------------------------------------------


def test_anomaly_in_a_backward_rule_reports_without_numpy_warnings():
    X = cr.tensor(XN, requires_grad=True)
    before = np.geterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with cr.detect_anomaly():
            (g,) = cr.gradient(net(X).sum(), [X], create_graph=True)
            loss = cr.sqrt(g[:, 0] * 0.0).sum()  # sqrt's rule divides by 2 * sqrt(0)
            with pytest.raises(cr.AnomalyError, match=r"sqrt: backward produced Inf"):
                loss.backward()
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [
        str(w.message) for w in caught
    ]
    assert np.geterr() == before  # the silencing is the rule's alone


def test_outside_anomaly_mode_numpy_still_warns():
    """Only anomaly mode silences NumPy: without it nothing else reports the division."""
    X = cr.tensor(XN, requires_grad=True)
    (g,) = cr.gradient(net(X).sum(), [X], create_graph=True)
    loss = cr.sqrt(g[:, 0] * 0.0).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss.backward()
    assert any("divide by zero" in str(w.message) for w in caught if w.category is RuntimeWarning)
