"""Changing a parameter in place: an optimizer's step, or ``w -= lr * w.grad`` under no_grad.

A recorded op's rules read its inputs' arrays when backward runs; changed in place in between,
they would mix old and new values into a silently wrong gradient. PyTorch refuses that with its
version counters, and so does chainrule (``engine.written_at``). Oracles: torch 2.13 and the
closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_a_graph_recorded_before_an_optimizer_step_is_refused(optimizer) -> None:
    """Two losses share w; the first's backward and a step, then the second's backward: its
    rules would read the stepped w beside the saved w * w ([1.98, 5.28] for the true [3, 12])."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = {"sgd": lambda: cr.optim.SGD([w], lr=0.1),
           "momentum": lambda: cr.optim.SGD([w], lr=0.1, momentum=0.9),
           "adam": lambda: cr.optim.Adam([w], lr=0.1)}[optimizer]()  # fmt: skip
    first, second = (w * w).sum(), (w * w * w).sum()
    first.backward()
    opt.step()
    with pytest.raises(RuntimeError, match="changed in place .* after the op was recorded"):
        second.backward()
    wt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    opt_t = torch.optim.SGD([wt], lr=0.1)
    first_t, second_t = (wt * wt).sum(), (wt * wt * wt).sum()
    first_t.backward()
    opt_t.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        second_t.backward()


def test_the_usual_loop_and_a_step_after_every_backward_are_untouched() -> None:
    """Forward, backward, step, again: each graph is recorded after the last step. The weights
    follow the closed form w <- w - lr 2w."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.numpy(), np.array([1.0, 2.0]) * 0.8**3)
    # gradient accumulation over two graphs before one step
    opt.zero_grad()
    (w * w).sum().backward()
    (w * 3.0).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.numpy(), np.array([1.0, 2.0]) * 0.8**3 * 0.8 - 0.3)


def test_minus_equals_under_no_grad_updates_the_parameter_in_place_as_torch() -> None:
    w = cr.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    wt = torch.tensor([1.0, 2.0], requires_grad=True)
    array = w.data
    for _ in range(2):
        w.grad = wt.grad = None
        (w * w * w).sum().backward()
        (wt * wt * wt).sum().backward()
        with cr.no_grad():
            w -= 0.1 * w.grad
        with torch.no_grad():
            wt -= 0.1 * wt.grad
    assert w.is_leaf and w.requires_grad and w.dtype == np.float32
    assert w.data is array  # the same array, as the model and the optimizer hold it
    np.testing.assert_allclose(w.numpy(), wt.detach().numpy(), rtol=1e-6)


def test_a_graph_that_read_a_parameter_before_minus_equals_is_refused() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w * w).sum()
    with cr.no_grad():
        w -= 0.5
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
    again = (w * w * w).sum()
    with cr.no_grad():
        w -= 0.5
    with pytest.raises(RuntimeError, match="changed in place"):  # the general walk too
        cr.gradient(again, [w])


@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/=", "**="])
def test_an_in_place_update_of_a_parameter_while_recording_is_refused(symbol) -> None:
    """It rebound the name to an op's output: w.grad stayed None after backward, and a module's
    weight failed at its second step with a misleading 'graph freed' error. PyTorch refuses it."""
    lin = cr.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="leaf that requires a gradient.*no_grad"):
        exec(f"lin.weight {symbol} 0.5", {"lin": lin})
    assert lin.weight.is_leaf
    wt = torch.nn.Linear(2, 2).weight
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        exec(f"wt {symbol} 0.5", {"wt": wt})


def test_other_tensors_are_rebound_as_before() -> None:
    """a += b on a recorded output or a tensor without gradient is a = a + b: what another name
    holds does not change, so no recorded op's input changes under it."""
    x = cr.tensor([1.0, 2.0])
    alias = x
    x += 1.0
    np.testing.assert_array_equal(alias.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(x.numpy(), [2.0, 3.0])
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    h = w * 2.0
    h += w  # recorded: h = 2w + w
    h.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_an_in_place_update_that_would_broadcast_the_parameter_is_refused() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad(), pytest.raises(ShapeError, match="-=: the result has shape \\(3, 2\\)"):
        w -= np.ones((3, 2))
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])  # unchanged


def _torch_refuses(build) -> None:
    """The oracle: torch's version counter refuses the same sequence."""
    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    z = build(w, x)
    with torch.no_grad():
        w -= 10
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch.autograd.grad(z, x)


def test_a_gradient_of_some_inputs_is_refused_when_another_was_changed_in_place() -> None:
    """cr.gradient(z, x) skipped the check for w, off the path to x, whose new values the rule
    for x reads: [-9, -8, -7] for the true [1, 2, 3]."""
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = cr.tensor([1.0, 1.0, 1.0], requires_grad=True)
    z = (w * x).sum()
    _, pullback = cr.vjp(lambda a: (w * a).sum(), x)
    with cr.no_grad():
        w -= 10
    with pytest.raises(RuntimeError, match=r"input 0 of 'mul' was changed in place"):
        cr.gradient(z, x)
    with pytest.raises(RuntimeError, match="changed in place"):
        pullback(cr.tensor(1.0))
    _torch_refuses(lambda w, x: (w * x).sum())


@pytest.mark.parametrize("alias", ["detach", "detached view"])
def test_a_detached_alias_of_a_parameter_stepped_in_place_is_refused(alias) -> None:
    """w.detach() shares w's array: a graph that read it saw the values of before the step, and
    backward mixed them with the stepped ones ([-9, -8, -7] for x's true [1, 2, 3])."""
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x = cr.tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)
    shared = w.detach() if alias == "detach" else w.detach().T
    z = (shared * x).sum()
    w.grad = np.ones((2, 2))
    cr.optim.SGD([w], lr=1.0).step()
    with pytest.raises(RuntimeError, match=r"input 0 of 'mul' was changed in place"):
        z.backward()
    assert x.grad is None
    _torch_refuses(lambda w, x: (w.detach() * x).sum())


def test_a_graph_recorded_after_the_step_through_a_detached_alias_is_fine() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        w -= 1.0
    x = cr.tensor([1.0, 1.0], requires_grad=True)
    (w.detach() * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])


def _write_through(view: cr.Tensor, how: str) -> None:
    """Change ``view``'s values in place the way ``how`` names."""
    if how == "-=":
        with cr.no_grad():
            view -= 10.0
        return
    view.grad = view.xp.ones_like(view.data)
    optimizer = cr.optim.SGD if how == "SGD" else cr.optim.Adam
    optimizer([view], lr=10.0).step()


@pytest.mark.parametrize("how", ["-=", "SGD", "Adam"])
def test_a_write_through_a_view_of_a_parameter_is_refused(how) -> None:
    """A parameter's view shares its memory: backward through an op that read the parameter
    mixed the old values with the written ones ([-18, -16, 6] for the true [2, 4, 6])."""
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (w * w).sum()
    view = w.detach()[:2].requires_grad_()
    _write_through(view, how)
    with pytest.raises(RuntimeError, match=r"input 0 of 'mul' was changed in place"):
        y.backward()


@pytest.mark.parametrize("how", ["-=", "SGD"])
def test_a_write_to_a_torch_parameter_is_seen_through_its_views(how) -> None:
    """PyTorch's views have no ``base`` but a ``_base``: a write to the parameter went unseen by
    an op that read a view of it ([-18, -16] for the true [2, 4])."""
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True, xp=torch)
    view = w.detach()[:2].requires_grad_()
    y = (view * view).sum()
    _write_through(w, how)
    with pytest.raises(RuntimeError, match=r"input 0 of 'mul' was changed in place"):
        y.backward()


def test_a_write_through_a_view_of_an_array_api_strict_parameter_is_refused() -> None:
    """array-api-strict's arrays have no base: their views were unseen ([-18, -16, 6])."""
    xp = pytest.importorskip("array_api_strict")
    w = cr.tensor(xp.asarray([1.0, 2.0, 3.0], dtype=xp.float64), requires_grad=True)
    y = (w * w).sum()
    view = w.detach()[:2].requires_grad_()
    _write_through(view, "SGD")
    with pytest.raises(RuntimeError, match=r"input 0 of 'mul' was changed in place"):
        y.backward()
