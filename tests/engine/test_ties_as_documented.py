"""The README's values at ties and kinks, each against the PyTorch op it names (torch 2.13)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _grad(f, values):
    x = cr.tensor(np.array(values), requires_grad=True)
    cr.sum(f(x)).backward()
    return x.grad.numpy()


def _torch_grad(f, values):
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    f(t).sum().backward()
    return t.grad.numpy()


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (cr.max, lambda t: torch.amax(t, 0)),
        (cr.min, lambda t: torch.amin(t, 0)),
        (lambda x: cr.maximum(x, x * 0 + 3.0), lambda t: torch.maximum(t, torch.full_like(t, 3))),
        (lambda x: cr.clip(x, 1.0, 3.0), lambda t: torch.clamp(t, 1.0, 3.0)),
        (cr.relu, torch.relu),
        (cr.abs, torch.abs),
    ],
    ids=["max", "min", "maximum", "clip", "relu", "abs"],
)
def test_a_tie_or_kink_gives_what_the_torch_op_gives(ours, theirs):
    values = [1.0, 3.0, 3.0, 0.0, 1.0]  # ties at the max, the min, the bounds; 0 for the kinks
    np.testing.assert_array_equal(_grad(ours, values), _torch_grad(theirs, values))


def test_maximum_with_a_number_shares_the_tie_unlike_clamp_min():
    ours = _grad(lambda x: cr.maximum(x, 1.0), [1.0, 2.0])
    np.testing.assert_array_equal(ours, [0.5, 1.0])
    assert _torch_grad(lambda t: torch.clamp_min(t, 1.0), [1.0, 2.0])[0] == 1.0


def test_an_empty_axis_tuple_reduces_nothing_as_in_numpy():
    x = np.array([[1.0, 2.0]])
    assert cr.sum(cr.tensor(x), axis=()).shape == np.sum(x, axis=()).shape == (1, 2)
