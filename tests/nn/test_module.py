"""Module's contract: a plain ``__call__``, explicit registration, parameters and buffers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

# ---------------------------------------------------------------------------------------------
# Calling a module
# ---------------------------------------------------------------------------------------------


class Logged:
    """A mixin that counts calls, as a user's logging or hook mixin would."""

    def __call__(self, *args, **kwargs):
        self.calls = getattr(self, "calls", 0) + 1
        return super().__call__(*args, **kwargs)


def test_a_mixins_call_runs_before_the_modules():
    class Net(Logged, nn.Module):
        def forward(self, x):
            return x * 2

    net = Net()
    assert net(cr.tensor([1.0])).tolist() == [2.0]
    assert net.calls == 1


def test_a_mixin_layer_inside_a_sequential_is_called_through_its_call():
    class LoggedLinear(Logged, nn.Linear):
        pass

    layer = LoggedLinear(2, 1, dtype="float64", rng=0)
    net = nn.Sequential(layer, nn.Logistic())
    x = np.array([[1.0, 2.0]])
    want = 1 / (1 + np.exp(-(x @ layer.weight.numpy() + layer.bias.numpy())))
    np.testing.assert_allclose(net(x).numpy(), want)
    assert layer.calls == 1


@pytest.mark.parametrize("inside_sequential", [False, True])
def test_a_forward_assigned_to_an_instance_is_what_a_call_runs(inside_sequential):
    unit = nn.Logistic()
    unit.forward = lambda z: z * 10
    module = nn.Sequential(unit) if inside_sequential else unit
    assert module(cr.tensor([1.0])).tolist() == [10.0]


def test_sequential_gives_the_same_result_as_calling_each_layer():
    net = nn.mlp([3, 4, 2], activation="tanh", output="logistic", rng=1)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    h = cr.tensor(x)
    for layer in net:
        h = nn.Module.__call__(layer, h)
    np.testing.assert_array_equal(net(x).numpy(), h.numpy())


# ---------------------------------------------------------------------------------------------
# Registration of loadable classes
# ---------------------------------------------------------------------------------------------


def test_a_class_that_merely_exists_changes_nothing_that_loads():
    class Linear(nn.Module):  # a user's class that happens to share chainrule's name
        def forward(self, x):
            return x

    net = nn.mlp([2, 3, 1], rng=0)
    rebuilt = nn.from_config(net.config())
    assert type(rebuilt[0]) is nn.Linear
    assert nn.registered_modules()["Linear"] is nn.Linear
    assert Linear is not nn.Linear


def test_an_unregistered_class_is_not_loadable_and_the_error_says_how():
    class Scale2(nn.Module):
        def forward(self, x):
            return x * 2

        def config(self):
            return {"type": "Scale2"}

    with pytest.raises(nn.ConfigError, match="unknown module type 'Scale2'.*register_module"):
        nn.from_config(Scale2().config())


def test_register_module_makes_a_user_class_loadable():
    @nn.register_module
    class Doubler(nn.Module):
        def __init__(self, factor=2.0):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

        def config(self):
            return {"type": "Doubler", "factor": self.factor}

    net = nn.Sequential(nn.Linear(2, 2, rng=0), Doubler(3.0))
    rebuilt = nn.from_config(net.config())
    assert type(rebuilt[1]) is Doubler and rebuilt[1].factor == 3.0
    assert nn.register_module(Doubler) is Doubler  # again under its own name: harmless


@pytest.mark.parametrize("name", ["Linear", "Sequential", "Sigmoid", "Dropout"])
def test_registering_over_chainrules_own_name_is_a_clear_error(name):
    class Mine(nn.Module):
        pass

    with pytest.raises(nn.ConfigError, match=f"'{name}' is taken by chainrule's own"):
        nn.register_module(Mine, name=name)
    assert nn.registered_modules()[name].__module__ == "chainrule.nn.layers"


def test_register_module_rejects_what_is_not_a_module_and_name_clashes():
    with pytest.raises(nn.ConfigError, match="not a Module subclass"):
        nn.register_module(int)

    def make(tag):
        class Clash(nn.Module):
            pass

        Clash.__qualname__ = f"Clash{tag}"
        return Clash

    nn.register_module(make("A"), name="ClashingName")
    with pytest.raises(nn.ConfigError, match="'ClashingName' is taken"):
        nn.register_module(make("B"), name="ClashingName")


# ---------------------------------------------------------------------------------------------
# Parameters and buffers
# ---------------------------------------------------------------------------------------------


def test_linear_holds_parameters():
    layer = nn.Linear(2, 3, rng=0)
    assert isinstance(layer.weight, nn.Parameter) and isinstance(layer.weight, cr.Tensor)
    assert layer.weight.requires_grad


def test_a_frozen_parameter_stays_in_the_state_dict_and_is_not_updated():
    net = nn.mlp([2, 3, 1], output="logistic", rng=0, dtype="float64")
    frozen = nn.Parameter(net[0].weight.data.copy(), requires_grad=False)
    net[0].weight = frozen
    assert [name for name, _ in net.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"
    ]  # fmt: skip
    assert "0.weight" in net.state_dict()
    before = frozen.numpy().copy()
    opt = cr.optim.SGD(net, lr=0.5)  # a module's frozen parameters are accepted, then skipped
    x = np.array([[0.5, -1.0]])
    nn.SquaredError()(net(x), np.array([[1.0]])).backward()
    opt.step()
    assert frozen.grad is None
    np.testing.assert_array_equal(frozen.numpy(), before)
    assert net[0].bias.grad is not None


def test_a_parameter_replaced_by_a_plain_tensor_stays_a_parameter():
    layer = nn.Linear(2, 1, rng=0)
    layer.weight = cr.tensor(layer.weight.numpy())  # e.g. a frozen copy
    assert "weight" in layer.state_dict()


def test_plain_tensors_that_require_no_gradient_are_not_parameters():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.constant = cr.tensor([1.0, 2.0])

    assert Holder().named_parameters() == [] and Holder().state_dict() == {}


class RunningMean(nn.Module):
    """A module with an array buffer (persistent) and a scratch buffer (not)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", np.zeros(2))
        self.register_buffer("count", np.zeros((), dtype=np.int64))
        self.register_buffer("scratch", np.zeros(2), persistent=False)

    def forward(self, x):
        self.mean[...] = (self.mean * self.count + x.numpy().mean(axis=0)) / (self.count + 1)
        self.count += 1
        return x


def test_buffers_are_named_and_persistent_ones_are_in_the_state_dict():
    net = nn.Sequential(RunningMean(), nn.Linear(2, 2, rng=0, dtype="float64"), nn.Dropout(0.2))
    names = [name for name, _ in net.named_buffers()]
    assert names == ["0.mean", "0.count", "0.scratch", "2.rng"]
    net(cr.tensor([[1.0, 3.0]]))
    state = net.state_dict()
    assert sorted(state) == ["0.count", "0.mean", "1.bias", "1.weight"]
    np.testing.assert_array_equal(state["0.mean"], [1.0, 3.0])
    other = nn.Sequential(RunningMean(), nn.Linear(2, 2, rng=1, dtype="float64"), nn.Dropout(0.2))
    other.load_state_dict(state)
    np.testing.assert_array_equal(other[0].mean, [1.0, 3.0])
    assert int(other[0].count) == 1
    with pytest.raises(nn.StateDictError, match="missing keys.*0.mean"):
        other.load_state_dict({k: v for k, v in state.items() if k != "0.mean"})


def test_dropouts_generator_is_a_buffer_and_reseeding_replaces_it():
    layer = nn.Dropout(0.5, rng=0)
    assert dict(layer.named_buffers())["rng"] is layer.rng
    layer.rng = np.random.default_rng(7)
    assert dict(layer.named_buffers())["rng"] is layer.rng
    assert layer.state_dict() == {}


def test_register_buffer_errors():
    layer = nn.Linear(2, 1, rng=0)
    with pytest.raises(nn.ConfigError, match="already a parameter"):
        layer.register_buffer("weight", np.zeros(2))
    with pytest.raises(nn.ConfigError, match="not a valid attribute name"):
        layer.register_buffer("running mean", np.zeros(2))


def test_a_module_with_children_shows_its_own_arguments_too():
    branches = nn.Parallel((2, nn.Linear(2, 1, rng=0)), (1, nn.Linear(1, 1, rng=1)))
    assert repr(branches).splitlines()[:3] == [
        "Parallel(",
        "  widths=[2, 1]",
        "  (0): Linear(2, 1, bias=True, dtype=float32)",
    ]
    assert "widths" not in repr(nn.Sequential(nn.Linear(2, 1, rng=0)))


def test_modules_lists_a_shared_module_once():
    shared = nn.Linear(2, 2, rng=0)
    net = nn.Sequential(shared, nn.Logistic(), shared)
    modules = net.modules()
    assert len(modules) == 3 and modules[1] is shared and modules[2] is net[1]


def test_named_modules_lists_a_shared_module_once_where_first_met():
    shared = nn.Linear(2, 2, rng=0)
    net = nn.Sequential(shared, nn.Logistic(), shared)
    assert [name for name, _ in net.named_modules()] == ["", "0", "1"]
    every_path = [name for name, _ in net.named_modules(remove_duplicate=False)]
    assert every_path == ["", "0", "1", "2"]
    # its buffers once, but the state (a model file's names) under every path, as PyTorch's
    # state_dict and every file written before; a parameter still answers to the second path
    counter = RunningMean()
    doubled = nn.Sequential(counter, nn.Logistic(), counter)
    assert [name for name, _ in doubled.named_buffers()] == ["0.mean", "0.count", "0.scratch"]
    assert list(doubled.state_dict()) == ["0.mean", "0.count", "2.mean", "2.count"]
    # (one value under both names: two different ones are refused, tests/nn/*_s60)
    doubled.load_state_dict(
        {k: v for k, v in doubled.state_dict().items() if k != "0.mean"} | {"2.mean": np.ones(2)}
    )
    np.testing.assert_array_equal(counter.mean, np.ones(2))  # one buffer, by either name
    x = cr.tensor([[1.0, 2.0]], dtype="float32")
    by_second = nn.functional_call(net, {"2.weight": shared.weight * 0}, x)
    by_first = nn.functional_call(net, {"0.weight": shared.weight * 0}, x)
    np.testing.assert_array_equal(by_second.numpy(), by_first.numpy())


def test_named_modules_of_a_shared_module_match_torch():
    torch = pytest.importorskip("torch")
    shared = nn.Linear(2, 2, rng=0)
    net = nn.Sequential(shared, nn.Logistic(), shared)
    twin = torch.nn.Linear(2, 2)
    reference = torch.nn.Sequential(twin, torch.nn.Sigmoid(), twin)
    assert [name for name, _ in net.named_modules()] == [n for n, _ in reference.named_modules()]


def test_to_converts_floating_buffers_and_keeps_integer_ones():
    net = nn.Sequential(RunningMean(), nn.Linear(2, 2, rng=0))
    net[0].mean = np.zeros(2, dtype=np.float32)
    net.to("float64")
    assert net[0].mean.dtype == np.float64 and net[0].count.dtype == np.int64
    assert {name: value.dtype for name, value in net.state_dict().items()} == {
        "0.mean": np.float64, "0.count": np.int64, "1.weight": np.float64, "1.bias": np.float64,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("dtype", "advice"),
    [
        (np.int64, r"convert the array first \(\.astype\(np\.float32\)\)"),
        (np.float64, r"convert the model first with model\.to\('float64'\)"),
    ],
)
def test_a_state_dict_of_another_dtype_names_a_fix_that_works(dtype, advice):
    """An integer array was met with "model.to('int64')", which .to refuses."""
    net = nn.mlp([3, 4, 2], rng=0)
    state = net.state_dict()
    state["0.bias"] = np.zeros(4, dtype=dtype)
    with pytest.raises(cr.errors.StateDictError, match=advice):
        net.load_state_dict(state)
    if dtype == np.int64:
        state["0.bias"] = state["0.bias"].astype(np.float32)
    else:
        net.to("float64")
        state = {k: v.astype(np.float64) for k, v in state.items()}
    net.load_state_dict(state)  # the advice followed, it loads


def test_a_graph_recorded_before_load_state_dict_is_refused_by_backward():
    """load_state_dict writes the weights in place, as an optimizer's step: backward through a
    graph recorded before it would mix the old weights with the new."""
    from chainrule.tensor import Tensor

    layer = cr.nn.Linear(2, 1, rng=0, dtype=np.float64)
    other = cr.nn.Linear(2, 1, rng=5, dtype=np.float64)
    out = (layer(Tensor(np.ones((1, 2)))) ** 2).sum()
    layer.load_state_dict(other.state_dict())
    with pytest.raises(RuntimeError, match="changed in place"):
        out.backward()
    again = (layer(Tensor(np.ones((1, 2)))) ** 2).sum()  # recorded after the load: fine
    again.backward()
    assert layer.weight.grad is not None
