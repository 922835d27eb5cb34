"""A Sequential's layers have one home, its submodules: a layer replaced by ``seq[1] = ...`` or
``setattr(seq, "1", ...)``, or removed by ``del seq[i]``, is what forward runs, ``parameters()``
lists and the state_dict holds (``layers`` kept a list of its own, which forward ran while
``children()`` showed the new layer). And a parameter's place that holds None
(``Linear(bias=False)``'s bias) takes a tensor only, as PyTorch's None parameter does."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError

X = np.array([[0.5, -1.0], [2.0, 0.3], [-0.4, -0.9]])


def net():
    return nn.Sequential(
        nn.Linear(2, 3, dtype="float64", rng=0),
        nn.Sigmoid(),
        nn.Linear(3, 1, dtype="float64", rng=1),
    )


def through(x, *steps):
    """The closed form: each step a Linear's x @ W + b or a function, in NumPy."""
    for step in steps:
        x = x @ step.weight.numpy() + step.bias.numpy() if isinstance(step, nn.Linear) else step(x)
    return x


def relu(z):
    return np.maximum(z, 0.0)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize("replace", ["setitem", "setattr"])
def test_a_replaced_layer_is_the_one_forward_runs(replace):
    seq = net()
    first, last = seq[0], seq[2]
    if replace == "setitem":
        seq[1] = nn.ReLU()
    else:
        setattr(seq, "1", nn.ReLU())  # forward still ran the Sigmoid
    assert isinstance(seq[1], nn.ReLU) and list(seq.layers) == seq.children() == list(seq)
    assert list(seq._modules) == ["0", "1", "2"]  # replaced in its place, not moved to the end
    np.testing.assert_allclose(seq(X).numpy(), through(X, first, relu, last), rtol=1e-12)
    assert [name for name, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                             "2.bias"]  # fmt: skip
    assert "ReLU" in repr(seq).split("\n")[2]


def test_setitem_takes_negative_indices_and_refuses_what_sequential_refuses():
    seq = net()
    seq[-2] = nn.Tanh()
    assert isinstance(seq.layers[1], nn.Tanh)
    with pytest.raises(ConfigError, match=r"Sequential: layer 1 must be a Module, not numpy.ufunc"):
        seq[1] = np.tanh
    with pytest.raises(IndexError, match=r"Sequential: index 3 is out of range for 3 layers"):
        seq[3] = nn.ReLU()
    with pytest.raises(TypeError):  # as PyTorch's: a position, not a name or a slice
        seq["1"] = nn.ReLU()
    with pytest.raises(TypeError, match=r"Sequential\.1 is a submodule: cannot replace it"):
        setattr(seq, "1", np.tanh)  # a TypeError before, kept
    assert isinstance(seq[1], nn.Tanh) and len(seq) == 3


def test_deleting_a_layer_numbers_the_rest_again_as_torch_does(torch):
    seq = net()
    last = seq[2]
    del seq[0]
    assert list(seq._modules) == ["0", "1"] and list(seq.layers) == seq.children()
    hidden = np.array([[0.5, -1.0, 0.1], [2.0, 0.3, -0.6]])  # the Sigmoid comes first now
    np.testing.assert_allclose(seq(hidden).numpy(), through(hidden, sigmoid, last), rtol=1e-12)
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1))
    del theirs[0]
    assert list(seq.state_dict()) == list(theirs.state_dict()) == ["1.weight", "1.bias"]
    del seq[-1]
    assert len(seq) == 1 and seq.parameters() == [] and not hasattr(seq, "1")
    with pytest.raises(IndexError, match="index 1 is out of range for 1 layers"):
        del seq[1]


def test_deleting_a_slice_or_by_delattr_numbers_the_rest_again():
    seq = net()
    del seq[1:]
    assert list(seq._modules) == ["0"] and len(seq.layers) == 1
    seq.append(nn.ReLU()).append(nn.Tanh())
    delattr(seq, "0")  # as del seq[0]: a gap at "0" had no position a saved config rebuilds
    seq.append(nn.Sigmoid())
    assert list(seq._modules) == ["0", "1", "2"]
    assert [type(layer).__name__ for layer in seq] == ["ReLU", "Tanh", "Logistic"]


def test_a_layer_without_a_position_is_refused():
    """``seq.head = ...`` or ``seq.5`` of three had no position: saved, the config renumbered
    the layers while the weights kept the names, and load_model refused the file."""
    seq = net()
    for name in ("head", "5", "0x"):
        with pytest.raises(
            ConfigError, match=rf"named by its position \(3 comes next\), not '{name}'"
        ):
            setattr(seq, name, nn.Linear(1, 1))
    setattr(seq, "3", nn.Sigmoid())  # the next position: an append
    assert len(seq) == 4 and list(seq._modules) == ["0", "1", "2", "3"]
    seq.note = "a plain attribute"  # not a layer: as any module's
    assert len(seq) == 4


def test_the_layers_cannot_be_changed_behind_the_submodules_back():
    seq = net()
    with pytest.raises(AttributeError, match=r"Sequential.layers is read-only"):
        seq.layers = [nn.ReLU()]
    with pytest.raises(AttributeError):
        seq.layers.append(nn.ReLU())  # a tuple: forward ran it, parameters() did not list it
    assert len(seq) == 3


def test_an_edited_sequential_saves_and_loads(tmp_path):
    from chainrule import io

    seq = net()
    seq[1] = nn.Tanh()
    del seq[2]
    seq.append(nn.Linear(3, 2, dtype="float64", rng=5))
    delattr(seq, "0")
    seq.append(nn.Sigmoid())  # Tanh, Linear(3, 2), Sigmoid
    io.save_model(tmp_path / "m", seq)
    loaded, _ = io.load_model(tmp_path / "m")
    hidden = X @ np.ones((2, 3))
    np.testing.assert_array_equal(loaded(hidden).numpy(), seq(hidden).numpy())
    assert list(loaded.state_dict()) == list(seq.state_dict()) == ["1.weight", "1.bias"]


# -- a parameter's place that holds None ------------------------------------------------------


def test_a_bias_free_linear_refuses_an_array_for_its_bias():
    layer = nn.Linear(2, 2, bias=False, dtype="float64", rng=0)
    with pytest.raises(
        TypeError,
        match=r"Linear\.bias is a parameter, None for now: cannot set it to a value of type "
        r"ndarray \(a tensor, nn\.Parameter\(\.\.\.\), or None expected\)",
    ):
        layer.bias = np.ones(2)  # was kept, and forward failed on a memoryview
    assert layer.bias is None and [name for name, _ in layer.named_parameters()] == ["weight"]


def test_a_bias_free_linear_takes_a_parameter_as_its_bias():
    layer = nn.Linear(2, 2, bias=False, dtype="float64", rng=0)
    b = np.array([0.25, -1.5])
    layer.bias = nn.Parameter(b)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    np.testing.assert_allclose(layer(X).numpy(), X @ layer.weight.numpy() + b, rtol=1e-12)
    again = nn.from_config(layer.config())  # saved as a layer with a bias, and loads
    again.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(again(X).numpy(), layer(X).numpy(), rtol=0)
    layer.bias = None  # its place stays: still only a tensor
    with pytest.raises(TypeError, match="Linear.bias is a parameter, None for now"):
        layer.bias = [1.0, 2.0]


def test_a_parameter_set_to_none_keeps_its_place_as_in_torch(torch):
    ours, theirs = nn.Linear(2, 2, rng=0), torch.nn.Linear(2, 2)
    ours.weight, theirs.weight = None, None
    for module in (ours, theirs):
        with pytest.raises(TypeError):
            module.weight = np.eye(2)
    ours.weight = cr.tensor(np.eye(2, dtype=np.float32))  # a frozen tensor fills it too
    assert [name for name, _ in ours.named_parameters()] == ["bias", "weight"]


def test_register_parameter_declares_a_place_or_a_parameter():
    module = nn.Module()
    module.register_parameter("gain", None)
    with pytest.raises(TypeError, match=r"Module\.gain is a parameter, None for now"):
        module.gain = 2.0
    module.register_parameter("shift", cr.tensor([1.0]))  # registered, though frozen
    assert [name for name, _ in module.named_parameters()] == ["shift"]
    with pytest.raises(TypeError, match="must be a tensor or None, not a value of type list"):
        module.register_parameter("other", [1.0])
    with pytest.raises(ConfigError, match=r"register_buffer: Module\.gain is already a parameter"):
        module.register_buffer("gain", np.zeros(1))


def test_a_layer_set_to_none_is_refused_not_left_as_a_gap():
    """``setattr(net, "1", None)`` left names 0 and 2, and the next append took name 2 over
    the last Linear, silently."""
    seq = net()
    with pytest.raises(ConfigError, match=r"cannot set layer 1 to None; remove it with del"):
        setattr(seq, "1", None)
    assert list(seq._modules) == ["0", "1", "2"] and len(seq) == 3
