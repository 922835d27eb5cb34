"""torch.func's ``functional_call(model, params, (x,))`` (its arguments as a tuple) gave an
output of shape (1, 8, 3), NumPy reading the tuple as one more axis, and a loss then blamed
PyTorch's (N, C, d1) layout. A layer refuses a tuple of one array as its input, and a tuple of
arrays of different shapes (NumPy's error blamed the rows' lengths), naming the fix; a list, a
tuple of arrays of one shape (rows, a stack of batches) or of numbers is still a batch as NumPy
reads it, and a module whose forward takes a tuple on purpose still gets it."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

X = np.random.default_rng(0).standard_normal((8, 2))


def _net():
    return nn.mlp([2, 5, 3], activation="tanh", dtype="float64", rng=0)


@pytest.mark.parametrize("wrap", [lambda x: (x,), lambda x: (cr.tensor(x),)])
def test_a_tuple_of_one_batch_is_refused_naming_the_fix(wrap):
    net = _net()
    params = dict(net.named_parameters())
    fix = r"pass the (array|tensor) itself: model\(x\) or functional_call\(model, params, x\)"
    with pytest.raises(TypeError, match=r"of 1 (array|tensor) \(shape \(8, 2\)\).*" + fix):
        nn.functional_call(net, params, wrap(X))
    with pytest.raises(TypeError, match=r"not \(x,\)"):
        net(wrap(X))


def test_a_tuple_of_arrays_of_different_shapes_names_the_arguments_form():
    said = r"tuple of 2 arrays \(shapes \(8, 2\), \(8, 1\), which make no one array\)"
    fix = r"functional_call\(model, params, x, y\), not torch.func's \(x, y\)"
    with pytest.raises(TypeError, match=said + ".*" + fix):
        nn.Linear(2, 3, dtype="float64", rng=0)((X, X[:, :1]))


def test_a_three_axis_input_is_not_called_one_row_per_case():
    with pytest.raises(TypeError, match=r"\(shape \(2, 8, 2\)\), not one array of cases \(cases "
                       r"along its first axis\)"):  # fmt: skip
        nn.Linear(2, 3, dtype="float64", rng=0)((np.stack([X, X]),))


def test_the_plain_form_matches_the_call():
    net = _net()
    out = nn.functional_call(net, dict(net.named_parameters()), X)
    assert out.shape == (8, 3)
    np.testing.assert_array_equal(out.numpy(), net(X).numpy())


@pytest.mark.parametrize(
    "rows",
    [
        X[:2].tolist(),
        tuple(map(tuple, X[:2].tolist())),
        [X[0], X[1]],
        [np.float64(v) for v in X[0]],
        (X[0], X[1]),
        [X, X[::-1]],
        (X, X[::-1]),
        [X],
    ],
)
def test_numbers_rows_and_stacks_of_one_shape_are_still_a_batch(rows):
    layer = nn.Linear(2, 3, dtype="float64", rng=0)
    expected = np.asarray(rows, dtype=np.float64) @ layer.weight.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(layer(rows).numpy(), expected)
    assert layer(rows).shape == np.shape(rows)[:-1] + (3,)  # a list of batches is a stack


def test_the_review_repros_keep_their_numbers():
    """Both worked before the refusal: a list of two batches (2, 4, 2), a tuple of rows (2, 2)."""
    lin = nn.Linear(3, 2, rng=0)
    W, b = lin.weight.numpy(), lin.bias.numpy()
    stack = lin([np.ones((4, 3)), np.ones((4, 3))])
    assert stack.shape == (2, 4, 2)
    np.testing.assert_allclose(
        stack.numpy(), np.broadcast_to(np.ones(3) @ W + b, (2, 4, 2)), rtol=1e-6
    )
    rows = lin((np.ones(3), np.zeros(3)))
    assert rows.shape == (2, 2)
    np.testing.assert_allclose(rows.numpy(), np.stack([np.ones(3) @ W + b, b]), rtol=1e-6)


class Siamese(nn.Module):
    """A forward that takes a pair on purpose: one tower, two inputs."""

    def __init__(self):
        super().__init__()
        self.tower = nn.Linear(2, 3, dtype="float64", rng=0)

    def forward(self, pair):
        a, b = pair
        return ((self.tower(a) - self.tower(b)) ** 2).sum(axis=1)


def test_a_module_whose_forward_takes_a_tuple_still_gets_it():
    model = Siamese()
    W, b = model.tower.weight.numpy(), model.tower.bias.numpy()
    expected = (((X @ W + b) - (X[::-1] @ W + b)) ** 2).sum(axis=1)
    np.testing.assert_allclose(model((X, X[::-1])).numpy(), expected)
    params = dict(model.named_parameters())
    np.testing.assert_allclose(nn.functional_call(model, params, (X, X[::-1])).numpy(), expected)
