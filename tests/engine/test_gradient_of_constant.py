"""``cr.gradient`` refuses an output that does not require a gradient.

Such an output (a loss computed under ``no_grad``, ``x.detach() * 2``) has no recorded path to
the inputs, so the engine cannot tell how it depends on them: the old answer, zeros, was a
silent wrong number where it does (d/dx sum x^2 = 2x). ``torch.autograd.grad`` refuses it
("element 0 of tensors does not require grad"). The transforms keep their zeros for a function
that is constant in its arguments (``jacobian(lambda x: c)`` is zeros, as torch.func gives):
there the transform made the variables itself, so a constant output is the answer, not a slip.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

CONSTANT = r"does not require a gradient"


def _x():
    return cr.tensor([1.0, 2.0], requires_grad=True)


def _loss_under_no_grad(x):
    with cr.no_grad():
        return (x * x).sum()


def test_refused_where_torch_refuses(torch):
    """The reference: a loss computed under no_grad, or from a detached tensor."""
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.no_grad():
        tE = (tx * tx).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad(tE, tx)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad((tx.detach() * 2).sum(), tx)
    x = _x()
    with pytest.raises(RuntimeError, match=CONSTANT):
        cr.gradient(_loss_under_no_grad(x), x)
    with pytest.raises(RuntimeError, match=CONSTANT):
        cr.gradient((x.detach() * 2).sum(), x)


def test_the_refusal_names_the_output_says_why_and_the_fix():
    x = _x()
    E = _loss_under_no_grad(x)
    E.name = "E"
    with pytest.raises(RuntimeError, match=CONSTANT) as refusal:
        cr.gradient(E, x)
    message = str(refusal.value)
    assert message.startswith("gradient: output 0 (shape (), named 'E')"), message
    for cause in ("under no_grad", "detached", "no tensor that requires"):
        assert cause in message, message
    assert "zeros would be a silent wrong answer" in message, message
    assert "outside no_grad" in message and "requires_grad=True" in message, message
    assert "recording is off" not in message, message  # the call itself is outside no_grad


def test_a_call_inside_no_grad_is_told_that_recording_is_off_there():
    """The common slip: the whole evaluation, loss and gradient, inside one no_grad block."""
    x = _x()
    with cr.no_grad():
        E = (x * x).sum()
        with pytest.raises(RuntimeError, match=r"recording is off where gradient is called"):
            cr.gradient(E, x)


def test_the_constant_one_of_several_outputs_is_named_by_its_index(torch):
    """torch: "element 1 of tensors does not require grad"; a tracked output beside it does not
    make the constant one's zeros right."""
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.no_grad():
        t_const = (tx * tx).sum()
    with pytest.raises(RuntimeError, match="element 1 of tensors does not require grad"):
        torch.autograd.grad([(tx * tx).sum(), t_const], tx)
    x = _x()
    with pytest.raises(RuntimeError, match=r"^gradient: output 1 \(shape \(\)\)"):
        cr.gradient([(x * x).sum(), _loss_under_no_grad(x)], x)


def test_following_the_advice_gives_the_closed_form():
    """Refused as the user first wrote it; computed outside no_grad, d/dx sum x^2 = 2x (the
    number the zeros stood in for)."""
    x = _x()
    with pytest.raises(RuntimeError, match=CONSTANT):
        cr.gradient(_loss_under_no_grad(x), x)
    (dE_dx,) = cr.gradient((x * x).sum(), x)
    np.testing.assert_allclose(dE_dx.numpy(), [2.0, 4.0])


def test_the_refusal_loses_nothing_the_graph_is_still_there():
    """Refused before the backward pass: the tracked output's graph is not freed, so the
    corrected call runs on it (without retain_graph)."""
    x = _x()
    E = (x**3).sum()
    with pytest.raises(RuntimeError, match=r"output 1"):
        cr.gradient([E, (x.detach() * 2).sum()], x)
    (dE_dx,) = cr.gradient(E, x)  # 3 x^2
    np.testing.assert_allclose(dE_dx.numpy(), [3.0, 12.0])


def test_an_integer_output_is_told_it_has_no_gradient():
    x = _x()
    counts = cr.tensor([1, 2])  # an integer tensor: a count, a label
    with pytest.raises(RuntimeError, match=r"output 0 \(shape \(2,\)\).*int64, which has no"):
        cr.gradient(counts, x, cr.tensor([1.0, 1.0]))


def test_an_output_that_is_not_a_tensor_is_named():
    """A number taken out of the graph (``.item()``) is no output to differentiate."""
    x = _x()
    with pytest.raises(TypeError, match=r"^gradient: output 0 is not a Tensor but float"):
        cr.gradient((x * x).sum().item(), x)
    with pytest.raises(TypeError, match=r"^gradient: output 1 is not a Tensor but float"):
        cr.gradient([(x * x).sum(), 3.0], x)
    with pytest.raises(TypeError, match=r"^gradient: output 0 is not a Tensor but numpy.ndarray"):
        cr.gradient((x * x).numpy(), x)  # one array, not two outputs


def test_a_constant_derivative_is_named_as_a_cause_beside_its_zeros():
    x = _x()
    (slope,) = cr.gradient((2 * x).sum(), [x], create_graph=True)  # 2: constant
    with pytest.raises(RuntimeError, match=r"a derivative that came out constant"):
        cr.gradient(slope.sum(), [x])


def test_an_untracked_input_is_named_before_the_output():
    """Both the input and the output untracked: the input's refusal, the root of it, comes
    first (as tests/engine/test_gradient_untracked_s55.py pins); a tracked input beside a
    constant output: the output's."""
    z = cr.tensor([1.0, 2.0]) * 3
    with pytest.raises(RuntimeError, match=r"^gradient: input 0"):
        cr.gradient((z**2).sum(), z)
    x = _x()
    with pytest.raises(RuntimeError, match=r"^gradient: output 0"):
        cr.gradient((x.detach() ** 2).sum(), x)


def test_the_op_a_caller_names_is_in_the_refusal():
    x = _x()
    with pytest.raises(RuntimeError, match=r"^vjp: output 0 \(shape \(\)\)"):
        cr.gradient(_loss_under_no_grad(x), x, op="vjp")


def test_a_second_derivative_of_a_linear_function_is_refused_as_torch_but_hessian_is_zeros(torch):
    """The gradient of sum 2x is the constant 2, recorded from nothing: differentiating it again
    by hand is refused (torch refuses it too), while ``hessian`` asks for the zeros it is."""
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad((2 * tx).sum(), tx, create_graph=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad(tg.sum(), tx)
    x = _x()
    (g,) = cr.gradient((2 * x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match=r"^gradient: output 0 \(shape \(\)\)"):
        cr.gradient(g.sum(), x)
    expected = torch.func.hessian(lambda t: (2 * t).sum())(tx.detach()).numpy()
    np.testing.assert_array_equal(cr.hessian(lambda t: (2 * t).sum())(x.detach()), expected)
    assert not expected.any()


# ---------------------------------------------------------------------------------------------
# The transforms keep their zeros: each compared with torch.func on the same constant function,
# beside cr.gradient's refusal of that function's output
# ---------------------------------------------------------------------------------------------


def _constant_functions(lib):
    """f(x) constant in x, each way a user writes one: a new tensor, computed under no_grad,
    computed from a detached x. The same three for chainrule (``lib`` = cr) and torch."""
    if lib is cr:
        grad_off, detach = cr.no_grad, lambda t: t.detach()
        new = lambda v: cr.tensor(v)  # noqa: E731
    else:
        grad_off, detach = lib.no_grad, lambda t: t.detach()
        new = lambda v: lib.tensor(v, dtype=lib.float64)  # noqa: E731

    def under_no_grad(x):
        with grad_off():
            return x * x

    return {
        "new": lambda x: new([1.0, 2.0]) * 3,
        "no_grad": under_no_grad,
        "detached": lambda x: detach(x) * 2,
    }


CASES = ["new", "no_grad", "detached"]
X = [1.0, -2.0]


def _refused_by_gradient(f):
    """The user-facing call on f's output refuses: the transforms' zeros are theirs alone."""
    x = cr.tensor(X, requires_grad=True)
    out = f(x)
    with pytest.raises(RuntimeError, match=CONSTANT):
        cr.gradient(out, x, cr.tensor(np.ones(out.shape)))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_of_a_constant_is_zeros_as_torch_func(torch, case, mode):
    """torch.func.jacrev is the reference for both modes: torch's forward mode ignores no_grad
    (jacfwd of the no_grad case is 2x; its forward AD is not recorded by autograd), whereas
    chainrule's forward mode is its reverse pass transposed, so no_grad holds there too."""
    f = _constant_functions(cr)[case]
    tf = _constant_functions(torch)[case]
    tx = torch.tensor(X, dtype=torch.float64)
    expected = torch.func.jacrev(tf)(tx).numpy()
    if case != "no_grad":
        np.testing.assert_array_equal(torch.func.jacfwd(tf)(tx).numpy(), expected)
    got = cr.jacobian(f, mode=mode)(cr.tensor(X))
    assert got.shape == expected.shape == (2, 2)
    np.testing.assert_array_equal(got.numpy(), expected)
    _refused_by_gradient(f)


@pytest.mark.parametrize("case", CASES)
def test_grad_hessian_vjp_jvp_hvp_of_a_constant_are_zeros_as_torch_func(torch, case):
    f, tf = _constant_functions(cr)[case], _constant_functions(torch)[case]
    s, ts = (lambda x: f(x).sum()), (lambda x: tf(x).sum())
    tx = torch.tensor(X, dtype=torch.float64)
    x, v = cr.tensor(X), cr.tensor([0.5, 3.0])
    tv = torch.tensor([0.5, 3.0], dtype=torch.float64)
    np.testing.assert_array_equal(cr.grad(s)(x).numpy(), torch.func.grad(ts)(tx).numpy())
    np.testing.assert_array_equal(cr.hessian(s)(x).numpy(), torch.func.hessian(ts)(tx).numpy())
    (got,) = cr.vjp(f, x)[1](v)
    np.testing.assert_array_equal(got.numpy(), torch.func.vjp(tf, tx)[1](tv)[0].numpy())
    got = cr.jvp(f, (x,), (v,))[1]  # J v from jacrev: torch's jvp ignores no_grad (see above)
    np.testing.assert_array_equal(got.numpy(), (torch.func.jacrev(tf)(tx) @ tv).numpy())
    expected = torch.func.hessian(ts)(tx) @ tv
    np.testing.assert_array_equal(cr.hvp(s, (x,), (v,)).numpy(), expected.numpy())
    assert not expected.any()
    _refused_by_gradient(s)


def test_transforms_of_a_constant_under_no_grad_and_nested_stay_zeros(torch):
    """Called inside no_grad, and nested (a Jacobian of a gradient, a grad of a jvp), the
    constant still gives zeros of the right shape, as torch.func does."""
    f, tf = _constant_functions(cr)["no_grad"], _constant_functions(torch)["no_grad"]
    s, ts = (lambda x: f(x).sum()), (lambda x: tf(x).sum())
    x, tx = cr.tensor(X), torch.tensor(X, dtype=torch.float64)
    with cr.no_grad():
        np.testing.assert_array_equal(cr.jacobian(f)(x).numpy(), np.zeros((2, 2)))
        np.testing.assert_array_equal(cr.hessian(s)(x).numpy(), np.zeros((2, 2)))
    expected = torch.func.jacrev(torch.func.grad(ts))(tx).numpy()
    np.testing.assert_array_equal(cr.jacobian(cr.grad(s), mode="forward")(x).numpy(), expected)
    v = cr.tensor([1.0, 1.0])
    got = cr.grad(lambda y: cr.jvp(f, (y,), (v,))[1].sum())(x)
    np.testing.assert_array_equal(got.numpy(), np.zeros(2))
    _refused_by_gradient(s)


def test_gradcheck_of_a_constant_and_of_a_linear_function_still_passes():
    """gradcheck differentiates f, and at order 2 its constant J^T u (a linear f): zeros are
    the analytic answer there, and the finite differences agree."""
    for f in (lambda x: cr.tensor([1.0, 2.0]) * 3, lambda x: 2 * x + 1):
        for order in (1, 2):
            assert cr.gradcheck(f, [np.array(X)], order=order, raise_on_failure=True).ok
    _refused_by_gradient(lambda x: 2 * x.detach())
