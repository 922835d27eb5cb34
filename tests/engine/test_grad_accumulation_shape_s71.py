"""backward adds into a ``.grad`` set by hand only where it has the leaf's shape.

``p.grad = cr.tensor(np.zeros((3, 1)))`` on a (3,) parameter, then a backward, made ``.grad``
(3, 3): ``grad + total`` broadcast silently. PyTorch refuses such a ``.grad`` where it is
assigned; chainrule's setter takes it (an optimizer's step names it), so backward's sum
refuses it, with no ``.grad`` changed (the offending leaf's, and every other leaf's).
"""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError

torch = pytest.importorskip("torch")


def _torch_refuses_assigning(grad_shape, leaf_shape=(3,)):
    t = torch.ones(leaf_shape, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="same size"):
        t.grad = torch.zeros(grad_shape, dtype=torch.float64)


@pytest.mark.parametrize(
    "make",
    [
        lambda: cr.tensor(np.zeros((3, 1))),
        lambda: np.zeros((3, 1)),
        lambda: np.full((), 0.5),
        lambda: cr.tensor(0.5),
        lambda: np.zeros(4),
    ],
    ids=["tensor (3,1)", "array (3,1)", "array ()", "tensor ()", "array (4,)"],
)
def test_a_grad_of_another_shape_is_refused_and_left_as_it_was(make):
    grad = make()
    _torch_refuses_assigning(np.shape(grad.numpy() if isinstance(grad, cr.Tensor) else grad))
    p = cr.tensor(np.ones(3), requires_grad=True)
    p.grad = grad
    shown = tuple(np.shape(grad.numpy() if isinstance(grad, cr.Tensor) else grad))
    with pytest.raises(
        ShapeError,
        match=re.escape(
            f"has a .grad of shape {shown}, set by hand or left from before its .data changed "
            "shape, that is not of the leaf's shape (3,)"
        )
        + r".*zero_grad\(\).*gradient of shape \(3,\)",
    ):
        (p * p).sum().backward()
    assert p.grad is grad  # left as it was, not (3, 3)


@pytest.mark.parametrize("number", [0.5, 2, [0.0, 0.0, 0.0]], ids=["float", "int", "list"])
def test_a_number_or_list_set_as_grad_is_refused_not_broadcast(number):
    # PyTorch refuses a .grad that is no tensor at all
    t = torch.ones(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(TypeError):
        t.grad = number
    p = nn.Parameter(np.ones(3))
    p.grad = number
    kind = type(number).__name__
    with pytest.raises(TypeError, match=rf"is a {kind}, not an array.*zero_grad\(\)"):
        (p * p).sum().backward()
    assert p.grad is number


@pytest.mark.parametrize(
    "zero",
    [0.0, 0, np.float64(0.0), np.array(0.0), cr.tensor(0.0), cr.tensor(np.float32(-0.0))],
    ids=["float", "int", "np.float64", "array ()", "tensor ()", "tensor -0"],
)
def test_micrograds_zero_grad_is_read_as_no_gradient_yet(zero):
    """micrograd zeroes a gradient with ``p.grad = 0.0`` before backward: that number (and any
    zero number or 0-d zero) is taken as no gradient yet, and backward's sum is the gradient,
    as torch's after zero_grad()."""
    values = np.array([1.0, -2.0, 3.0])
    p = nn.Parameter(values.copy())
    p.grad = zero
    (p * p).sum().backward()
    t = torch.tensor(values, requires_grad=True)
    (t * t).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_no_other_leaf_changes_when_one_is_refused():
    """Whichever order the leaves are summed in, a refused pass undoes the sums it made: a user
    who fixes the one .grad and runs backward again gets every other gradient once."""
    rng = np.random.default_rng(0)
    values = [rng.normal(size=3) for _ in range(4)]
    for bad in range(4):
        leaves = [cr.tensor(v, requires_grad=True) for v in values]
        before = np.full(3, 0.5)
        leaves[(bad + 1) % 4].grad = cr.tensor(before.copy())  # a gradient accumulated earlier
        misshapen = np.zeros((3, 1))
        leaves[bad].grad = misshapen
        out = (leaves[0] * leaves[1] * leaves[2] * leaves[3]).sum()
        with pytest.raises(ShapeError):
            out.backward(retain_graph=True)
        assert leaves[bad].grad is misshapen
        np.testing.assert_array_equal(leaves[(bad + 1) % 4].grad.numpy(), before)
        for i in range(4):
            if i not in (bad, (bad + 1) % 4):
                assert leaves[i].grad is None
        # fixed, the same backward gives torch's numbers
        leaves[bad].grad = None
        out.backward()
        tl = [torch.tensor(v, requires_grad=True) for v in values]
        (tl[0] * tl[1] * tl[2] * tl[3]).sum().backward()
        for i in range(4):
            expected = tl[i].grad.numpy() + (before if i == (bad + 1) % 4 else 0.0)
            np.testing.assert_allclose(leaves[i].grad.numpy(), expected, rtol=1e-12)


def test_a_grad_of_the_leafs_shape_still_accumulates():
    """Arrays and tensors of the leaf's shape set by hand are summed into, as before (0-d too)."""
    p = cr.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    p.grad = np.array([10.0, 20.0, 30.0])
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [12.0, 24.0, 36.0])
    s = cr.tensor(3.0, requires_grad=True)
    s.grad = np.float64(1.0)
    (s * s).backward()
    assert s.grad.shape == () and float(s.grad.numpy()) == 7.0


def test_create_graph_backward_refuses_too():
    p = cr.tensor(np.ones(3), requires_grad=True)
    grad = np.zeros((1, 3))
    p.grad = grad
    with pytest.raises(ShapeError, match=r"\.grad of shape \(1, 3\)"):
        (p * p).sum().backward(create_graph=True)
    assert p.grad is grad


@pytest.mark.parametrize(
    "one",
    [1.0, 1, np.float64(1.0), np.array(1.0), cr.tensor(1.0)],
    ids=["float", "int", "np.float64", "array ()", "tensor ()"],
)
def test_a_number_or_0d_grad_on_a_0d_leaf_is_added_into(one):
    """A 0-d leaf's .grad set to a number has the leaf's shape (): backward adds into it, as
    torch adds into a 0-d .grad of 1."""
    s = cr.tensor(3.0, requires_grad=True)
    s.grad = one
    (s * s).backward()
    t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(1.0, dtype=torch.float64)
    (t * t).backward()
    assert s.grad.shape == () and float(s.grad.numpy()) == t.grad.item() == 7.0


def test_a_grad_left_from_before_data_changed_shape_is_named_as_such():
    w = cr.tensor(np.ones(3), requires_grad=True)
    (w * w).sum().backward()
    w.data = np.ones(4)
    kept = w.grad
    with pytest.raises(ShapeError) as caught:
        (w * w).sum().backward()
    assert "a .grad of shape (3,), set by hand or left from before its .data changed shape" in str(
        caught.value
    )
    assert "not of the leaf's shape (4,)" in str(caught.value)
    assert w.grad is kept
