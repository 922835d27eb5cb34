"""predict takes 4096 rows at a time, which changes nothing for a model whose rows are
independent; a softmax over the rows' axis (Softmax(axis=0)) makes each output depend on every
row, so such a model takes them at once. The oracle: the model's own forward on all rows."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train.metrics import predict


@pytest.mark.parametrize("axis", [0, -2])
def test_a_softmax_over_the_rows_sees_every_row(axis):
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Softmax(axis=axis))
    X = np.random.default_rng(0).random((5000, 3)).astype(np.float32)
    np.testing.assert_allclose(predict(model, X), model(cr.tensor(X)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(predict(model, X).sum(axis=0), [1.0, 1.0], rtol=1e-5)


def test_rows_that_are_independent_give_the_same_in_chunks():
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Softmax())
    X = np.random.default_rng(1).random((5000, 3)).astype(np.float32)
    np.testing.assert_allclose(predict(model, X, batch_size=7), model(cr.tensor(X)).numpy())


def test_another_modules_axis_attribute_is_not_read_as_a_softmax():
    """Only chainrule's Softmax and LogSoftmax normalise across rows; a user's module with an
    `axis` of its own (an array here) made predict fail on `in`."""

    class Pick(nn.Module):
        def __init__(self):
            super().__init__()
            self.axis = np.array([0, 2])

        def forward(self, x):
            return x[:, :2]

    model = nn.Sequential(nn.Linear(3, 4, rng=0), Pick())
    X = np.ones((5, 3), dtype=np.float32)
    np.testing.assert_array_equal(predict(model, X), model(cr.tensor(X)).numpy())
