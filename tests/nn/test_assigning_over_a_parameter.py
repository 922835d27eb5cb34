"""A parameter or submodule replaced by another kind of value is refused, as in PyTorch; the
model is left as it was (``lin.weight = np.eye(2)`` dropped the weight from parameters())."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_an_array_over_a_weight_is_refused_and_the_weight_kept():
    lin = nn.Linear(2, 2, rng=0)
    before = lin.weight.numpy().copy()
    refusal = r"Linear\.weight is a parameter: cannot replace it by a value of type ndarray .*"
    with pytest.raises(TypeError, match=refusal + r"module\.weight\.data\[\.\.\.\] = values"):
        lin.weight = np.eye(2, dtype=np.float32)
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    assert list(lin.state_dict()) == ["weight", "bias"]
    x = np.ones((1, 2), dtype=np.float32)
    np.testing.assert_allclose(lin(x).numpy(), x @ before + lin.bias.numpy(), rtol=1e-6)


def test_the_advised_in_place_write_sets_the_weight():
    lin = nn.Linear(2, 2, rng=0)
    lin.weight.data[...] = np.eye(2)
    x = np.array([[3.0, -1.0]], dtype=np.float32)
    np.testing.assert_allclose(lin(x).numpy(), x + lin.bias.numpy(), rtol=1e-6)


def test_a_tensor_or_none_still_replaces_a_parameter():
    torch = pytest.importorskip("torch")  # the reference: torch takes a Parameter and None
    ref = torch.nn.Linear(2, 2)
    ref.bias = None
    lin = nn.Linear(2, 2, rng=0)
    lin.weight = nn.Parameter(np.eye(2, dtype=np.float32))
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == [n for n, _ in ref.named_parameters()]
    np.testing.assert_array_equal(lin(cr.tensor(np.eye(2, dtype=np.float32))).numpy(), np.eye(2))


def test_a_non_module_over_a_submodule_is_refused():
    model = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Tanh())
    with pytest.raises(TypeError, match=r"Sequential\.1 is a submodule: cannot replace it"):
        setattr(model, "1", np.tanh)
    assert len(model.parameters()) == 2 and isinstance(model[1], nn.Tanh)
