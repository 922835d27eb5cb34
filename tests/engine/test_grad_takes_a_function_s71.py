"""torch habits with ``cr.grad``: ``cr.grad(L, [w])`` returned a function that failed later
("argnums must be an integer"), ``cr.grad(L)(w)`` said "'Tensor' object is not callable", and
``create_graph=True`` got Python's unexpected keyword. Each is refused at ``cr.grad``'s call,
pointing to ``cr.gradient`` (torch.autograd.grad's form)."""

import numpy as np
import pytest

import chainrule as cr

HINT = r"cr\.gradient\(outputs, inputs, create_graph=\.\.\.\)"


def _loss():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    return (w**3).sum(), w


@pytest.mark.parametrize("call", ["grad(L, [w])", "grad(L, w)", "grad(L)"])
def test_a_tensor_for_f_is_refused_at_the_call(call):
    L, w = _loss()
    with pytest.raises(
        TypeError, match=rf"grad: takes a function .*not chainrule.Tensor; .*{HINT}"
    ):
        eval(call, {"grad": cr.grad, "L": L, "w": w})


def test_torch_keywords_are_refused_with_the_hint():
    L, w = _loss()
    with pytest.raises(
        TypeError, match=rf"unexpected keyword argument\(s\) 'create_graph'.*{HINT}"
    ):
        cr.grad(L, [w], create_graph=True)
    with pytest.raises(TypeError, match=r"'retain_graph', 'allow_unused'"):
        cr.grad(lambda x: x.sum(), retain_graph=True, allow_unused=True)


def test_a_number_for_f_is_refused_without_the_tensor_hint():
    with pytest.raises(TypeError, match=r"grad: takes a function .*not float$"):
        cr.grad(3.0)
    with pytest.raises(TypeError, match=r"hessian: takes a function .*cr\.hessian\(f\)\(x\)"):
        cr.hessian(np.ones(2))


def test_the_suggested_gradient_gives_the_closed_form():
    L, w = _loss()
    (g,) = cr.gradient(L, [w], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.0, 2.0]) ** 2)
    np.testing.assert_allclose(cr.grad(lambda x: (x**3).sum())(w).numpy(), g.numpy())
