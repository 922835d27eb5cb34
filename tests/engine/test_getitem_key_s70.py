"""getitem's index: a float index array is refused naming its shape and dtype (and the cast a
model that indexes with its input needs), and an index array changed after the forward does not
move the gradient to rows the forward never read.

getitem kept a reference to an array key, so ``idx[:] = ...`` between forward and backward sent
the gradient to the new rows (PyTorch refuses a tensor key changed so). A float index raised
NumPy's words after a repr of the whole array over many lines, about a tensor the user never
made: chainrule.train's fit and predict cast a dataset's inputs to the model's float dtype.
Oracles: the closed form of an index's gradient (``np.add.at`` of ones at the positions read),
and the model called directly on integer indices.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def ones_at(shape, index) -> np.ndarray:
    """d(sum of W[index])/dW: one for each time the forward read an element."""
    expected = np.zeros(shape)
    np.add.at(expected, index, 1.0)
    return expected


@pytest.mark.parametrize(
    "make_key, overwrite",
    [
        (lambda: np.array([0, 1, 1]), lambda key: key.__setitem__(slice(None), [2, 3, 4])),
        (
            lambda: np.array([True, False, True, False, False]),
            lambda key: key.__setitem__(slice(None), [False, True, False, True, True]),
        ),
        (
            lambda: (np.array([0, 4]), slice(None)),
            lambda key: key[0].__setitem__(slice(None), [1, 2]),
        ),
    ],
    ids=["positions", "mask", "positions-in-a-tuple"],
)
def test_writing_the_index_after_the_forward_leaves_the_gradient_where_it_read(make_key, overwrite):
    W = nn.Parameter(np.zeros((5, 2)))
    key = make_key()
    expected = ones_at((5, 2), key if not isinstance(key, tuple) else key[0])
    y = W[key]
    overwrite(key)
    y.sum().backward()
    np.testing.assert_array_equal(W.grad.numpy(), expected)


def test_a_tensor_keys_data_written_after_the_forward_leaves_the_gradient_where_it_read():
    W = nn.Parameter(np.zeros((5, 2)))
    key = cr.tensor(np.array([3, 0]))
    y = W[key]
    key.data[:] = [1, 1]
    (y * y + y).sum().backward()  # 2 * 0 + 1 at each row read
    np.testing.assert_array_equal(W.grad.numpy(), ones_at((5, 2), np.array([3, 0])))


def test_a_torch_tensors_index_written_after_the_forward_leaves_the_gradient_where_it_read():
    torch = pytest.importorskip("torch")
    W = cr.tensor(torch.zeros(5, 2, dtype=torch.float64), requires_grad=True)
    key = torch.tensor([0, 1])
    y = W[key]
    key[:] = torch.tensor([2, 3])
    y.sum().backward()
    np.testing.assert_array_equal(W.grad.numpy(), ones_at((5, 2), np.array([0, 1])))


def test_a_float_index_names_its_shape_and_dtype_on_one_line_and_the_cast():
    W = cr.tensor(np.zeros((250, 50), np.float32), requires_grad=True)
    rows = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    for key in (rows, cr.tensor(rows)):
        with pytest.raises(IndexError) as caught:
            W[key]
        message = str(caught.value)
        assert "\n" not in message, message
        assert message.startswith("getitem: ") and "float32 array of shape (2, 3)" in message
        assert "astype('int64')" in message and "2**24" in message
        assert "fit or predict" in message
    with pytest.raises(IndexError, match=r"float64 array of shape \(1,\)") as caught:
        W[np.array([0.5])]
    assert "astype" not in str(caught.value)  # 0.5 is no position cast to a float


class Lookup(nn.Module):
    """An embedding lookup over 3 words, then a Linear: the model of Hinton's assignment 2."""

    def __init__(self, cast: bool) -> None:
        super().__init__()
        self.cast = cast
        self.table = nn.Parameter(np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32))
        self.out = nn.Linear(6, 7, rng=1)

    def forward(self, idx):
        if self.cast:
            idx = idx.astype("int64")
        return self.out(self.table[idx].reshape(idx.shape[0], 6))


def test_fit_and_predict_cast_the_inputs_and_the_message_says_how_to_cast_back():
    X, y = np.array([[1, 2, 3], [6, 0, 5], [4, 4, 4]]), np.array([4, 1, 4])
    with pytest.raises(IndexError, match=r"getitem: .*float32 array of shape \(3, 3\).*astype"):
        cr.train.predict(Lookup(cast=False), X)
    model = Lookup(cast=True)  # what the message says to write
    np.testing.assert_allclose(cr.train.predict(model, X), model(X).numpy(), rtol=1e-6)
    data = cr.data.Dataset(X=X, y=y, task="classification")
    history = cr.train.fit(model, nn.CrossEntropy(), optim.SGD(model.parameters(), lr=0.5),
                           data, epochs=3, progress=False)  # fmt: skip
    assert len(history.to_list()) == 3 and np.isfinite(history.last["loss"])
