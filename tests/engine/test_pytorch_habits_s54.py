"""PyTorch habits that read as NumPy's other meaning gave silent wrong numbers (PyTorch-user QA,
stop 54): ``W.transpose(0, 1)`` of a matrix left it as it is (NumPy's identity permutation, where
PyTorch swaps), and ``x.var(0, True)`` kept the dimension and divided by n (PyTorch: unbiased)."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("axes", [(0, 1), (-2, -1), (0, -1), (-2, 1)])
def test_transposing_a_matrix_by_two_axes_that_move_nothing_is_refused(axes, torch):
    W = cr.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    # oracle: what the ported line meant, torch's swap
    assert torch.tensor(W.numpy()).transpose(*axes).tolist() == [[1.0, 3.0], [2.0, 4.0]]
    with pytest.raises(
        cr.ShapeError, match=rf"transpose\({axes[0]}, {axes[1]}\) of a 2-d tensor.*swapaxes"
    ):
        W.transpose(*axes)


def test_the_transposes_numpy_and_pytorch_agree_on_still_work():
    """Guards (pass before and after): a swap both read alike, the identity as one tuple."""
    W0 = np.array([[1.0, 2.0], [3.0, 4.0]])
    W = cr.tensor(W0, requires_grad=True)
    np.testing.assert_array_equal(W.transpose(1, 0).numpy(), W0.T)
    np.testing.assert_array_equal(W.transpose((0, 1)).numpy(), W0)
    np.testing.assert_array_equal(W.swapaxes(0, 1).numpy(), W0.T)
    X = cr.tensor(np.zeros((2, 3, 4)))
    assert X.transpose(2, 0, 1).shape == (4, 2, 3)
    # the axes as one NumPy array, as ndarray.transpose takes them (review 2: `axes == ()`
    # compared the array elementwise)
    np.testing.assert_array_equal(W.transpose(np.array([1, 0])).numpy(), W0.T)
    assert X.transpose(np.array([2, 0, 1])).shape == (4, 2, 3)


def test_two_axes_for_a_3d_tensor_name_swapaxes():
    with pytest.raises(cr.ShapeError, match=r"to swap two axes use swapaxes\(1, 2\)"):
        cr.tensor(np.zeros((2, 3, 4))).transpose(1, 2)


def test_var_takes_its_options_by_keyword_only(torch):
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    # named, with PyTorch's meaning translated (QA, s58: Python's "takes from 1 to 2
    # positional arguments but 3 were given" said neither)
    with pytest.raises(TypeError, match=r"^var: only the axis is positional.*0, True.*ddof=1"):
        x.var(0, True)
    with pytest.raises(TypeError, match=r"^var: only the axis is positional.*0, True.*ddof=1"):
        cr.var(x, 0, True)
    # the keyword forms, against NumPy and torch's correction
    np.testing.assert_allclose(x.var(0, keepdims=True).numpy(), np.var(x.numpy(), 0, keepdims=True))
    np.testing.assert_allclose(
        x.var(1, ddof=1).numpy(), torch.tensor(x.numpy()).var(dim=1, correction=1).numpy()
    )
