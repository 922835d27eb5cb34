"""Module methods refuse arguments of the wrong kind naming what they take: load_state_dict a
non-mapping ("argument of type 'NoneType' is not iterable"), train a mode that is not a bool
(stored as ``training = 'no'``, which dropout read as True)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


@pytest.mark.parametrize("state", [None, [("0.weight", np.zeros((2, 2)))], 3])
def test_load_state_dict_refuses_what_is_not_a_mapping(torch, state):
    """Oracle: PyTorch's load_state_dict refuses the same with a TypeError."""
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).load_state_dict(state)
    net = nn.mlp([2, 2], rng=0)
    before = {k: v.copy() for k, v in net.state_dict().items()}
    kind = type(state).__name__
    with pytest.raises(
        TypeError, match=rf"^load_state_dict expects a dict of name -> array.*not {kind}$"
    ):  # noqa: E501
        net.load_state_dict(state)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("mode", ["no", 1, None, 0.0])
def test_train_refuses_a_mode_that_is_not_a_bool(torch, mode):
    """Oracle: PyTorch's Module.train raises ValueError for a non-bool mode."""
    with pytest.raises(ValueError):
        torch.nn.Linear(2, 2).train(mode)
    net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Dropout(0.5), nn.Linear(3, 2, rng=1))
    with pytest.raises(ValueError, match=r"^train: mode must be True or False"):
        net.train(mode)
    assert all(m.training is True for m in net.modules())


@pytest.mark.parametrize("mode", [True, False, np.bool_(False)])
def test_train_takes_a_bool(mode):
    net = nn.mlp([2, 3, 2], rng=0)
    assert net.train(mode) is net
    assert all(m.training is bool(mode) for m in net.modules())


@pytest.mark.parametrize(
    "model",
    [
        lambda: nn.Linear(3, 2),
        lambda: nn.mlp([3, 4, 2], rng=0),
        lambda: nn.Sequential(nn.Logistic(), nn.Linear(3, 2)),
    ],
)
def test_a_layer_refuses_none_as_its_input(model) -> None:
    """None became a NaN scalar: "Linear(3, 2): input has shape ()" or a NaN output."""
    with pytest.raises(TypeError, match="input is None"):
        model()(None)


@pytest.mark.parametrize(
    "make",
    [
        lambda: cr.Tensor([1.0, None], dtype="float32"),
        lambda: nn.Parameter([1.0, None], dtype="float32"),
        lambda: nn.mlp([2, 1], rng=0)([[1.0, None]]),  # a batch with a missing value
    ],
)
def test_none_inside_a_list_is_refused_not_nan(make) -> None:
    """A float dtype made None NaN: a missing value in a batch gave a NaN output silently."""
    with pytest.raises(TypeError, match=r"not values of dtype object such as \[+1.0, None\]"):
        make()


def test_lists_of_numbers_still_take_the_dtype_asked() -> None:
    np.testing.assert_array_equal(cr.Tensor([1, 2.5], dtype="float32").numpy(), [1.0, 2.5])
    assert cr.Tensor([1, 2.5], dtype="float32").dtype == np.float32
    assert cr.Tensor((3, 4), dtype="int64").numpy().tolist() == [3, 4]
    out = nn.Linear(2, 1)([[1, 2]])  # integers in a list: the weights' float
    assert out.dtype == np.float32


def test_lists_numpy_reads_only_with_the_dtype_still_convert() -> None:
    """424755c read a list without its dtype first to find None in it, which refused a list
    NumPy converts only with the dtype: an integer past int64, numbers written as text. None is
    now looked for only where the conversion made a NaN."""
    np.testing.assert_array_equal(cr.Tensor([2**70], dtype="float64").numpy(), [2.0**70])
    np.testing.assert_array_equal(cr.Tensor(["1.5"], dtype="float32").numpy(), [1.5])
    np.testing.assert_array_equal(cr.tensor([2**70], dtype="float64").numpy(), [2.0**70])
    assert np.isnan(cr.Tensor([1.0, float("nan")], dtype="float32").numpy()[1])  # a NaN given
