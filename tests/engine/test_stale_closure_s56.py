"""A graph freed before what is differentiated was made is a constant, not a refusal (QA, s56).

``h = 3 tanh(w)`` computed once and freed by ``h.sum().backward()``, then closed over:
``cr.grad(lambda y: (h * y).sum())(y0)`` was refused (GraphFreedError), though ``h`` cannot
depend on ``y``: the transform's variable was made after ``h`` was, and an op's inputs are all
made before it. torch.func.grad accepts it. A released node is passed by only where every
target was made after it; where one may lie below it (``w``, a leaf the user made) it is still
refused, and so is ``backward()`` through it: no path is dropped silently. (Since s58 a tensor
is numbered as it is made, so a leaf the user makes after the free is passed by too.)
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

W = np.array([1.0, 2.0])
Y0 = np.array([0.5, -1.5])
V = np.array([0.25, 2.0])


def _freed_feature():
    """``w`` and ``h = 3 tanh(w)``, its graph freed by a backward (no retain_graph)."""
    w = cr.tensor(W, requires_grad=True)
    h = cr.tanh(w) * 3
    h.sum().backward()
    assert h.node.released
    return w, h


H = 3 * np.tanh(W)  # h's values: the closed forms below read them


def _torch_freed_feature(torch):
    tw = torch.tensor(W, requires_grad=True)
    th = torch.tanh(tw) * 3
    th.sum().backward()
    return th


def _t(torch, array):
    return torch.tensor(array)


def test_the_qa_case_matches_torch_func_grad(torch):
    _, h = _freed_feature()
    g = cr.grad(lambda y: (h * y).sum())(cr.tensor(Y0))
    th = _torch_freed_feature(torch)
    expected = torch.func.grad(lambda y: (th * y).sum())(_t(torch, Y0))
    np.testing.assert_allclose(g.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), H, rtol=1e-12)


def test_value_and_grad():
    _, h = _freed_feature()
    value, g = cr.value_and_grad(lambda y: (h * y * y).sum())(cr.tensor(Y0))
    np.testing.assert_allclose(value.numpy(), (H * Y0 * Y0).sum(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), 2 * H * Y0, rtol=1e-12)


def test_vjp_matches_torch(torch):
    _, h = _freed_feature()
    out, vjp_fn = cr.vjp(lambda y: h * y**2, cr.tensor(Y0))
    (g,) = vjp_fn(cr.tensor(V))
    th = _torch_freed_feature(torch)
    t_out, t_vjp_fn = torch.func.vjp(lambda y: th * y**2, _t(torch, Y0))
    (expected,) = t_vjp_fn(_t(torch, V))
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), 2 * H * Y0 * V, rtol=1e-12)


def test_jvp_matches_torch(torch):
    _, h = _freed_feature()
    out, tangent_out = cr.jvp(lambda y: h * y**2, (cr.tensor(Y0),), (cr.tensor(V),))
    th = _torch_freed_feature(torch)
    _, expected = torch.func.jvp(lambda y: th * y**2, (_t(torch, Y0),), (_t(torch, V),))
    np.testing.assert_allclose(tangent_out.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(tangent_out.numpy(), 2 * H * Y0 * V, rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), H * Y0**2, rtol=1e-12)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_matches_torch(torch, mode):
    _, h = _freed_feature()
    jac = cr.jacobian(lambda y: h * y**2, mode=mode)(cr.tensor(Y0))
    th = _torch_freed_feature(torch)
    torch_jacobian = torch.func.jacrev if mode == "reverse" else torch.func.jacfwd
    expected = torch_jacobian(lambda y: th * y**2)(_t(torch, Y0))
    np.testing.assert_allclose(jac.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(jac.numpy(), np.diag(2 * H * Y0), rtol=1e-12)


def test_hessian_and_hvp_match_torch(torch):
    _, h = _freed_feature()

    def f(y):
        return (h * y**3).sum()

    hess = cr.hessian(f)(cr.tensor(Y0))
    product = cr.hvp(f, (cr.tensor(Y0),), (cr.tensor(V),))
    th = _torch_freed_feature(torch)
    expected = torch.func.hessian(lambda y: (th * y**3).sum())(_t(torch, Y0))
    np.testing.assert_allclose(hess.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(hess.numpy(), np.diag(6 * H * Y0), rtol=1e-12)
    np.testing.assert_allclose(product.numpy(), 6 * H * Y0 * V, rtol=1e-12)


def test_the_result_stays_tied_to_w_and_a_derivative_through_it_is_refused():
    """As torch.func's result keeps a grad_fn: the gradient is h, which depends on w; going
    back to w through it needs h's freed graph, so it is refused, not silently 0."""
    w, h = _freed_feature()
    g = cr.grad(lambda y: (h * y).sum())(cr.tensor(Y0))
    assert g.requires_grad
    with pytest.raises(cr.GraphFreedError, match=r"^gradient: the graph through 'mul'"):
        cr.gradient(g.sum(), [w])


def _energy(h_values, z):
    return float((h_values * z**2).sum())


def test_gradient_with_respect_to_a_tensor_made_after_the_free_matches_finite_differences():
    _, h = _freed_feature()
    v = cr.tensor(Y0, requires_grad=True)
    z = v * 1.0  # made after h was: h's freed graph cannot lead to it
    (g,) = cr.gradient((h * z**2).sum(), [z])
    step = 1e-6
    numeric = np.array(
        [
            (_energy(H, Y0 + step * e) - _energy(H, Y0 - step * e)) / (2 * step)
            for e in np.eye(len(Y0))
        ]
    )
    np.testing.assert_allclose(g.numpy(), numeric, rtol=1e-7)
    np.testing.assert_allclose(g.numpy(), 2 * H * Y0, rtol=1e-12)


def test_second_order_through_create_graph_with_respect_to_a_fresh_tensor():
    _, h = _freed_feature()
    z = cr.tensor(Y0, requires_grad=True) * 1.0
    (g,) = cr.gradient((h * z**3).sum(), [z], create_graph=True)  # 3 h z^2
    (second,) = cr.gradient(g.sum(), [z])  # 6 h z
    np.testing.assert_allclose(second.numpy(), 6 * H * Y0, rtol=1e-12)


def test_gradient_with_respect_to_w_below_the_freed_graph_is_refused():
    w, h = _freed_feature()
    energy = (h * h).sum()
    with pytest.raises(cr.GraphFreedError, match=r"^gradient: .*'mul'.*earlier backward\(\)"):
        cr.gradient(energy, [w])
    z = cr.tensor(Y0, requires_grad=True) * 1.0
    with pytest.raises(cr.GraphFreedError):  # one target that may lie below is enough
        cr.gradient((h * z).sum(), [z, w])


def test_a_leaf_the_user_made_after_the_free_is_answered():
    """A tensor is numbered as it is made (s58): one made after the freed node cannot be among
    its inputs, however far down, so the freed ``h`` is a constant to it."""
    _, h = _freed_feature()
    leaf = cr.tensor(Y0, requires_grad=True)
    (grad,) = cr.gradient((h * leaf).sum(), [leaf])
    np.testing.assert_allclose(grad.data, 3 * np.tanh(W))


def test_a_tensor_made_before_the_free_and_given_requires_grad_later_is_refused():
    """A tensor made before the freed node may be among its inputs (an op reads it before
    ``requires_grad_()`` is called on it): refused, not dropped."""
    leaf = cr.tensor(Y0)
    _, h = _freed_feature()
    leaf.requires_grad_()
    with pytest.raises(cr.GraphFreedError):
        cr.gradient((h * leaf).sum(), [leaf])


def test_backward_through_the_freed_graph_is_still_refused():
    _, h = _freed_feature()
    z = cr.tensor(Y0, requires_grad=True) * 1.0
    with pytest.raises(cr.GraphFreedError, match=r"^backward: .*'mul'.*earlier backward\(\)"):
        (h * z).sum().backward()


def test_nested_transforms_over_a_graph_freed_before_both(torch):
    """d/dx sum(grad_y sum(h y x)) = d/dx sum(h x) = h: h is a constant to both transforms."""
    _, h = _freed_feature()

    def outer(x):
        return cr.grad(lambda y: (h * y * x).sum())(cr.tensor(Y0)).sum()

    g = cr.grad(outer)(cr.tensor(V))
    th = _torch_freed_feature(torch)

    def torch_outer(x):
        return torch.func.grad(lambda y: (th * y * x).sum())(_t(torch, Y0)).sum()

    expected = torch.func.grad(torch_outer)(_t(torch, V))
    np.testing.assert_allclose(g.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), H, rtol=1e-12)


def test_an_outer_transform_whose_variable_lies_below_the_freed_graph_refuses():
    """h made from the outer variable and freed inside the outer function: the inner transform
    (made after h) passes by it, but the outer one needs d h / d x: refused, not 0."""
    inner_values = []

    def outer(x):
        h = cr.tanh(x) * 3
        h.sum().backward()
        inner = cr.grad(lambda y: (h * y).sum())(cr.tensor(Y0))  # = h
        inner_values.append(inner.numpy().copy())
        return inner.sum()

    with pytest.raises(cr.GraphFreedError, match=r"^grad: the graph through 'mul'"):
        cr.grad(outer)(cr.tensor(W))
    np.testing.assert_allclose(inner_values[0], H, rtol=1e-12)


def test_gradient_inside_a_transform_keeps_the_outer_path_through_the_freed_graph():
    """cr.gradient inside a transform records its result where it may depend on a running
    variable: a freed node's inputs are unknown, so it may; the outer pass then refuses."""
    inner_values = []

    def outer(x):
        h = cr.tanh(x) * 3
        h.sum().backward()
        z = cr.tensor(Y0, requires_grad=True) * 1.0  # made after h: accepted below
        (inner,) = cr.gradient((h * z).sum(), [z])  # = h
        inner_values.append(inner.numpy().copy())
        return inner.sum()

    with pytest.raises(cr.GraphFreedError, match=r"^grad: the graph through 'mul'"):
        cr.grad(outer)(cr.tensor(W))
    np.testing.assert_allclose(inner_values[0], H, rtol=1e-12)


def test_gradient_inside_a_transform_of_a_leaf_the_user_made_there():
    """The walk that decides whether cr.gradient's results are recorded stops at a leaf that
    is no running variable (it read the leaf's inputs, which a leaf has none of:
    AttributeError). d/dx sum(x * d/dv sum(2 v)) = 2."""

    def f(x):
        v = cr.tensor(W, requires_grad=True)
        (g,) = cr.gradient((v * 2).sum(), [v])
        return (x * g).sum()

    np.testing.assert_allclose(cr.grad(f)(cr.tensor(V)).numpy(), [2.0, 2.0], rtol=1e-12)


def test_a_freed_tensor_passed_as_the_argument(torch):
    """The transform differentiates with respect to its own alias of h, made after h: h's
    freed graph below it is not needed."""
    _, h = _freed_feature()
    g = cr.grad(lambda y: (y * y).sum())(h)
    th = _torch_freed_feature(torch)
    expected = torch.func.grad(lambda y: (y * y).sum())(th)
    np.testing.assert_allclose(g.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), 2 * H, rtol=1e-12)


def test_a_graph_freed_after_the_variable_was_made_is_refused_by_vjp_fn():
    """retain_graph: vjp keeps f's graph for vjp_fn, and a backward the user runs through its
    output frees it; those nodes were made after the variable and lead to it: refused."""
    w = cr.tensor(W, requires_grad=True)
    out, vjp_fn = cr.vjp(lambda y: y * w, cr.tensor(Y0))
    out.sum().backward()
    with pytest.raises(cr.GraphFreedError, match=r"^vjp: the graph through 'mul'"):
        vjp_fn(cr.tensor(V))


@pytest.mark.parametrize("options", [{}, {"order": 2}, {"mode": "random"}], ids=str)
def test_gradcheck_takes_a_closed_over_freed_graph_as_cr_grad_does(options):
    # its own fresh variables were not numbered: the check refused what cr.grad accepts
    x = cr.tensor([0.3, -0.7, 1.1], requires_grad=True)
    h = cr.exp(x)
    h.sum().backward()
    report = cr.gradcheck(lambda y: (h * y * y).sum(), [np.array([1.0, 2.0, 3.0])], **options)
    assert report.ok, report
