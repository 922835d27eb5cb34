"""zero_grad(set_to_none=False) after a .grad set by hand to a number (micrograd's
``p.grad = 0.0``) gave zeros of nothing: an AttributeError ('float' object has no attribute
'data') in forget_grad. It gives zeros of the tensor's own shape and dtype, as torch's
zero_grad(set_to_none=False) leaves a gradient of the parameter's shape."""

import numpy as np
import pytest

from chainrule import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("hand_set", [0.0, 3, np.float64(2.0)], ids=["float", "int", "np"])
def test_zero_grad_keeping_zeros_after_a_number_set_by_hand(hand_set):
    p = nn.Parameter(np.ones((2, 3), np.float32))
    p.grad = hand_set
    p.zero_grad(set_to_none=False)
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32
    assert not p.grad.numpy().any()
    (p * 2).sum().backward()  # accumulates into the zeros, as torch's
    t = torch.ones((2, 3), requires_grad=True)
    t.grad = torch.zeros((2, 3))
    (t * 2).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())
