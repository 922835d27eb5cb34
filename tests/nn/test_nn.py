"""chainrule.nn: layers, the w_ij layout, initialisers, gradients, saving and rebuilding."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional_call

# ---------------------------------------------------------------------------------------------
# Linear: shapes, layout, dtypes
# ---------------------------------------------------------------------------------------------


def test_linear_weight_is_laid_out_as_w_ij_row_below_column_above():
    layer = nn.Linear(2, 3, dtype="float64", rng=0)
    y = np.array([[0.2, 0.7]])
    z = layer(y).numpy()
    W, b = layer.weight.numpy(), layer.bias.numpy()
    assert W.shape == (2, 3) and b.shape == (3,)
    for j in range(3):  # z_j = b_j + sum_i y_i w_ij, written out
        assert z[0, j] == pytest.approx(b[j] + sum(y[0, i] * W[i, j] for i in range(2)), abs=1e-15)


def test_linear_backward_gives_dE_dy_as_the_sum_over_units_above():
    layer = nn.Linear(2, 3, dtype="float64", rng=1)
    y = cr.tensor([[0.2, 0.7]], requires_grad=True)
    dE_dz = np.array([[0.3, -0.1, 0.5]])
    layer(y).backward(dE_dz)
    W = layer.weight.numpy()
    expected = [sum(W[i, j] * dE_dz[0, j] for j in range(3)) for i in range(2)]
    np.testing.assert_allclose(y.grad.numpy()[0], expected, rtol=1e-13)
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.outer([0.2, 0.7], dE_dz[0]))
    np.testing.assert_allclose(layer.bias.grad.numpy(), dE_dz[0])


@pytest.mark.parametrize("batch", [1, 5])
def test_linear_shapes_and_float32_by_default(batch):
    layer = nn.Linear(4, 3, rng=0)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    out = layer(np.ones((batch, 4)))  # float64 data takes the parameters' dtype
    assert out.shape == (batch, 3) and out.dtype == np.float32
    assert nn.Linear(4, 3, bias=False, rng=0).bias is None


def test_an_integer_tensor_batch_takes_the_weights_dtype_and_a_float64_one_is_kept():
    layer = nn.Linear(3, 2, rng=0)
    out = layer(cr.tensor(np.arange(6).reshape(2, 3)))  # integers are no dtype choice
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), layer(np.arange(6.0).reshape(2, 3)).numpy())
    assert layer(cr.tensor(np.ones((2, 3)))).dtype == np.float64  # the caller's explicit choice


@pytest.mark.parametrize(
    "first",
    [
        lambda: nn.Dropout(0.2, rng=0),
        nn.Logistic,
        nn.Tanh,
        nn.ReLU,
        nn.Softmax,
        nn.LogSoftmax,
    ],
    ids=["Dropout", "Logistic", "Tanh", "ReLU", "Softmax", "LogSoftmax"],
)
def test_a_plain_float64_batch_takes_the_networks_dtype_whatever_the_first_layer(first):
    X = np.random.default_rng(0).standard_normal((4, 3))
    net = nn.Sequential(first(), nn.Linear(3, 2, rng=0))
    for batch in (X, X.tolist()):
        out = net(batch)
        E = nn.CrossEntropy()(out, np.array([0, 1, 0, 1]))
        E.backward()
        assert out.dtype == E.dtype == net[1].weight.grad.dtype == np.float32
    net.eval()
    assert net(X).dtype == np.float32
    assert nn.Sequential(first())(X).dtype == np.float64  # no parameters: NumPy's rules


def test_linear_rejects_an_input_of_the_wrong_width():
    with pytest.raises(cr.ShapeError, match=r"Linear\(4, 3\): input has shape \(2, 5\)"):
        nn.Linear(4, 3, rng=0)(np.ones((2, 5)))


def test_to_converts_parameters_in_place_keeping_the_tensors():
    net = nn.mlp([3, 4, 2], rng=0)
    before = net.parameters()
    net.to("float64")
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert all(a is b for a, b in zip(before, net.parameters()))
    assert net(np.ones((1, 3))).dtype == np.float64
    with pytest.raises(nn.ConfigError, match="floating point"):
        net.to("int32")


# ---------------------------------------------------------------------------------------------
# Initialisers
# ---------------------------------------------------------------------------------------------


def test_uniform_init_is_seeded_and_within_range():
    a = nn.Linear(50, 40, rng=3, init_range=0.3)
    b = nn.Linear(50, 40, rng=np.random.default_rng(3), init_range=0.3)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())
    w = a.weight.numpy()
    assert np.abs(w).max() <= 0.3 and np.abs(w).max() > 0.29  # fills the range
    assert np.abs(a.bias.numpy()).max() <= 0.3 and np.any(a.bias.numpy() != 0)
    assert not np.array_equal(w, nn.Linear(50, 40, rng=4).weight.numpy())


def test_glorot_and_he_scales():
    glorot = nn.Linear(300, 200, init="glorot", rng=0)
    limit = np.sqrt(6 / 500)
    assert np.abs(glorot.weight.numpy()).max() <= limit
    assert glorot.weight.numpy().std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    assert np.all(glorot.bias.numpy() == 0)
    he = nn.Linear(400, 300, init="he", rng=0)
    assert he.weight.numpy().std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)


def test_cosine_init_is_column_major_as_matlab_reshape():
    layer = nn.Linear(3, 2, init="cosine", dtype="float64")
    W = layer.weight.numpy()
    for i in range(3):
        for j in range(2):
            assert W[i, j] == pytest.approx(0.1 * np.cos(i + 3 * j), abs=1e-15)
    assert np.all(layer.bias.numpy() == 0)
    theta = nn.init.cosine((2, 2), np.float64, start=6)  # the flat theta continues across layers
    np.testing.assert_allclose(theta.ravel(order="F"), 0.1 * np.cos(np.arange(6, 10)))


def test_callable_and_unknown_initialisers():
    layer = nn.Linear(2, 2, init=lambda shape, dtype, rng: np.full(shape, 0.5, dtype))
    assert np.all(layer.weight.numpy() == 0.5)
    with pytest.raises(nn.ConfigError, match="unknown initialiser 'nope'"):
        nn.Linear(2, 2, init="nope")


# ---------------------------------------------------------------------------------------------
# Parameter gradients against finite differences
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu"])
@pytest.mark.parametrize("output", [None, "logistic", "softmax"])
def test_parameter_gradients_match_finite_differences(activation, output):
    net = nn.mlp([3, 4, 2], activation=activation, output=output, dtype="float64", rng=7)
    x = np.random.default_rng(0).standard_normal((5, 3))
    names = [name for name, _ in net.named_parameters()]

    def loss_of_weights(*weights):
        out = functional_call(net, dict(zip(names, weights)), x)
        return (out * out).sum() + out.sum()

    report = cr.gradcheck(loss_of_weights, [p.data for p in net.parameters()], atol=1e-6)
    assert report.ok, str(report)


def test_backward_through_a_network_fills_every_parameter_grad_like_gradcheck():
    net = nn.mlp([2, 3, 1], output="logistic", dtype="float64", rng=0)
    x, t = np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[1.0], [0.0]])
    loss = nn.SquaredError()
    loss(net(x), t).backward()
    names = [name for name, _ in net.named_parameters()]
    weights = [p.data.copy() for p in net.parameters()]

    def loss_of_weights(*w):
        return loss(functional_call(net, dict(zip(names, w)), x), t)

    argnums = tuple(range(len(weights)))
    grads = cr.grad(loss_of_weights, argnums=argnums)(*[cr.tensor(w) for w in weights])
    for param, expected in zip(net.parameters(), grads):
        np.testing.assert_allclose(param.grad.numpy(), expected.numpy(), rtol=1e-12)


def test_functional_call_restores_the_module_and_rejects_unknown_names():
    net = nn.Linear(2, 1, dtype="float64", rng=0)
    original = net.weight
    zero = cr.zeros(2, 1)
    out = functional_call(net, {"weight": zero}, np.ones((1, 2)))
    np.testing.assert_allclose(out.numpy(), net.bias.numpy()[None])
    assert net.weight is original
    with pytest.raises(KeyError, match="no parameter 'wieght'"):
        functional_call(net, {"wieght": zero}, np.ones((1, 2)))
    assert net.weight is original
    # a plain array stands in as a constant tensor (it failed inside Linear.forward)
    weights = np.array([[2.0], [-1.0]])
    by_array = functional_call(net, {"weight": weights}, cr.tensor([[1.0, 3.0]]))
    np.testing.assert_allclose(by_array.numpy(), [[2.0 - 3.0 + net.bias.numpy()[0]]])
    assert net.weight is original


# ---------------------------------------------------------------------------------------------
# Units, Dropout, Sequential, mlp
# ---------------------------------------------------------------------------------------------


def test_units_compute_their_functions():
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(nn.Logistic()(z).numpy(), 1 / (1 + np.exp(-z)))
    assert nn.Sigmoid is nn.Logistic
    np.testing.assert_allclose(nn.Tanh()(z).numpy(), np.tanh(z))
    np.testing.assert_allclose(nn.ReLU()(z).numpy(), np.maximum(z, 0))
    soft = nn.Softmax()(z).numpy()
    np.testing.assert_allclose(soft, np.exp(z) / np.exp(z).sum(), rtol=1e-12)
    np.testing.assert_allclose(nn.Softmax(axis=0)(z).numpy(), np.ones_like(z))


def test_dropout_is_inverted_in_training_and_the_identity_in_eval():
    x = np.ones((200, 50))
    drop = nn.Dropout(0.25, rng=0)
    out = drop(x).numpy()
    assert set(np.unique(out)) == {0.0, 1 / 0.75}
    assert (out == 0).mean() == pytest.approx(0.25, abs=0.02)
    assert out.mean() == pytest.approx(1.0, abs=0.03)  # expected activation unchanged
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), x)
    again = nn.Dropout(0.25, rng=0)(x).numpy()
    np.testing.assert_array_equal(again, out)  # seeded masks repeat


def test_dropout_gradient_is_the_mask_and_bad_p_is_rejected():
    x = cr.tensor(np.ones((4, 6)), requires_grad=True)
    out = nn.Dropout(0.5, rng=1)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())
    with pytest.raises(nn.ConfigError, match=r"p must be in \[0, 1\)"):
        nn.Dropout(1.0)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_dropout_of_integers_and_booleans_scales_the_kept_values(dtype):
    """The mask took the input's dtype: int(1 / 0.5) is 0 (inf and NaN out), bool(1 / 0.7) is
    True (nothing scaled). Oracle: the same draw on the float64 values; a float64 result, as
    a unit layer computes integers."""
    values = np.arange(1, 41).reshape(4, 10) % 2 if dtype is np.bool_ else np.arange(40) - 20
    x = np.asarray(values, dtype=dtype).reshape(4, 10)
    for p in (0.5, 0.3):
        out = nn.Dropout(p, rng=0)(cr.tensor(x))
        expected = nn.Dropout(p, rng=0)(cr.tensor(x.astype(np.float64))).numpy()
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out.numpy(), expected)
        kept = expected != 0
        np.testing.assert_allclose(expected[kept], x.astype(np.float64)[kept] / (1 - p))


@pytest.mark.parametrize(
    "first", [nn.Tanh, nn.Logistic, nn.Softmax, lambda: nn.Dropout(0.5, rng=0)]
)
def test_an_integer_tensor_takes_the_networks_dtype_whatever_its_first_layer(first):
    """As a plain array does, and as Linear takes one: a float32 network fed an integer or
    boolean tensor computed in float64 when a unit layer or Dropout came first. Oracle: the
    same values as a float32 tensor."""
    for values in (np.arange(6).reshape(2, 3) - 2, np.eye(2, 3, dtype=bool)):
        net = nn.Sequential(first(), nn.Linear(3, 2, rng=0))
        got = net(cr.tensor(values))
        net = nn.Sequential(first(), nn.Linear(3, 2, rng=0))  # a Dropout's draw again
        want = net(cr.tensor(values.astype(np.float32)))
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_uniform_init_refuses_a_range_that_is_not_a_finite_number():
    """NaN and inf reached NumPy's "high - low range exceeds valid bounds"; 1e39 gave a float32
    layer infinite weights."""
    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(nn.ConfigError, match="the range r must be a finite number >= 0"):
            nn.Linear(3, 2, init_range=bad)
    with pytest.raises(nn.ConfigError, match="at most 3.4e[+]38 for float32"):
        nn.Linear(3, 2, init_range=1e39)
    assert np.isfinite(nn.Linear(3, 2, init_range=1e39, dtype="float64").weight.numpy()).all()
    with pytest.raises(nn.ConfigError, match="at most 8.99e[+]307 for float64"):
        nn.Linear(3, 2, init_range=1e308, dtype="float64")  # 2r is past float64
    # integers were zeros (a weight that could never learn): refused, as cr.randn refuses them
    with pytest.raises(TypeError, match="^uniform init: dtype int64 is not a real floating"):
        nn.init.uniform((4,), dtype=np.int64, r=0.3)


def test_dropout_of_another_librarys_integers_takes_its_default_float():
    """As the unit layers compute a torch integer tensor: in torch's float32, not float64."""
    torch = pytest.importorskip("torch")
    out = nn.Dropout(0.5, rng=0)(cr.tensor(torch.tensor([[1, 2, 3, 4]])))
    expected = nn.Dropout(0.5, rng=0)(cr.tensor(np.array([[1.0, 2, 3, 4]]))).numpy()
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.data.numpy(), expected.astype(np.float32))


def test_train_and_eval_reach_every_submodule():
    net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Dropout(0.5), nn.Sequential(nn.Logistic()))
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_sequential_is_indexable_and_names_parameters_by_position():
    net = nn.mlp([2, 3, 1], output="logistic", rng=0)
    assert len(net) == 4 and isinstance(net[1], nn.Logistic) and isinstance(net[-1], nn.Logistic)
    assert [type(layer).__name__ for layer in net] == ["Linear", "Logistic", "Linear", "Logistic"]
    assert [name for name, _ in net.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"
    ]  # fmt: skip
    head = net[:2]
    assert isinstance(head, nn.Sequential) and head(np.ones((1, 2))).shape == (1, 3)
    assert net.num_parameters() == 2 * 3 + 3 + 3 * 1 + 1


def test_mlp_builds_hidden_and_output_units_and_rejects_unknown_names():
    net = nn.mlp([4, 5, 6, 3], activation="tanh", output="softmax", rng=0)
    assert [type(layer).__name__ for layer in net] == [
        "Linear", "Tanh", "Linear", "Tanh", "Linear", "Softmax"
    ]  # fmt: skip
    np.testing.assert_allclose(net(np.ones((2, 4))).numpy().sum(axis=1), 1, rtol=1e-6)
    assert isinstance(nn.mlp([2, 1])[-1], nn.Linear)  # no output unit: logits
    with pytest.raises(nn.ConfigError, match="unknown activation 'swish'"):
        nn.mlp([2, 2, 1], activation="swish")
    with pytest.raises(nn.ConfigError, match="at least an input and an output"):
        nn.mlp([3])


def test_mlp_is_deterministic_given_a_seed():
    a, b = nn.mlp([3, 4, 2], rng=5), nn.mlp([3, 4, 2], rng=5)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_zero_grad_clears_every_parameter():
    net = nn.mlp([2, 2, 1], rng=0)
    net(np.ones((1, 2))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# ---------------------------------------------------------------------------------------------
# state_dict, load_state_dict, config
# ---------------------------------------------------------------------------------------------


def test_state_dict_round_trip_copies_values_in_place():
    net = nn.mlp([2, 3, 1], output="logistic", rng=0)
    other = nn.mlp([2, 3, 1], output="logistic", rng=1)
    kept = other.parameters()
    state = net.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    state["0.bias"][:] = 9.0  # a copy: the model is untouched
    assert not np.any(net[0].bias.numpy() == 9.0)
    state = net.state_dict()
    other.load_state_dict(state)
    assert all(a is b for a, b in zip(kept, other.parameters()))  # same tensors, new values
    x = np.random.default_rng(0).random((4, 2))
    np.testing.assert_array_equal(other(x).numpy(), net(x).numpy())


def test_load_state_dict_errors_name_the_key_and_change_nothing():
    net = nn.mlp([2, 3, 1], rng=0)
    before = net.state_dict()
    bad = dict(before)
    bad["2.weight"] = np.zeros((1, 3), np.float32)
    bad["0.bias"] = np.zeros(3, np.float32)  # would be written first if we wrote as we checked
    with pytest.raises(nn.StateDictError, match=r"'2.weight' has shape \(3, 1\).*\(1, 3\)"):
        net.load_state_dict(bad)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    missing = {k: v for k, v in before.items() if k != "2.bias"}
    with pytest.raises(nn.StateDictError, match=r"missing keys \['2.bias'\]"):
        net.load_state_dict(missing)
    with pytest.raises(nn.StateDictError, match=r"unexpected keys \['extra'\]"):
        net.load_state_dict({**before, "extra": np.zeros(1)})
    as64 = {k: v.astype(np.float64) for k, v in before.items()}
    with pytest.raises(nn.StateDictError, match=r"float32 in the model but float64.*to\("):
        net.load_state_dict(as64)


def test_config_round_trip_through_json_rebuilds_the_architecture():
    net = nn.Sequential(
        nn.Linear(4, 5, init="glorot", dtype="float64", rng=0),
        nn.Tanh(),
        nn.Dropout(0.2, rng=3),
        nn.Linear(5, 3, bias=False, init_range=0.5, rng=0),
        nn.Softmax(axis=-1),
    )
    config = json.loads(json.dumps(net.config()))
    rebuilt = nn.from_config(config)
    assert rebuilt.config() == net.config()
    assert [name for name, _ in rebuilt.named_parameters()] == ["0.weight", "0.bias", "3.weight"]
    assert rebuilt[0].weight.dtype == np.float64 and rebuilt[3].weight.dtype == np.float32
    net.to("float64")
    rebuilt.to("float64")
    rebuilt.load_state_dict(net.state_dict())
    x = np.random.default_rng(0).random((2, 4))
    net.eval(), rebuilt.eval()
    np.testing.assert_array_equal(rebuilt(x).numpy(), net(x).numpy())


def test_from_config_errors():
    with pytest.raises(nn.ConfigError, match="unknown module type 'Conv2d'"):
        nn.from_config({"type": "Conv2d"})
    with pytest.raises(nn.ConfigError, match="'type' key"):
        nn.from_config({"n_in": 2})
    with pytest.raises(nn.ConfigError, match="cannot build Linear"):
        nn.from_config({"type": "Linear", "n_in": 2, "n_out": 1, "colour": "red"})


def test_a_custom_module_registers_its_parameters_and_submodules():
    class Affine(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = cr.tensor([2.0], requires_grad=True)
            self.inner = nn.Linear(1, 1, dtype="float64", rng=0)
            self.note = "not a parameter"

        def forward(self, x):
            return self.inner(x) * self.scale

    module = Affine()
    assert [name for name, _ in module.named_parameters()] == [
        "scale", "inner.weight", "inner.bias"
    ]  # fmt: skip
    with pytest.raises(NotImplementedError, match="Affine does not define config"):
        module.config()

    class Forgetful(nn.Module):
        def __init__(self):
            self.w = cr.tensor([1.0], requires_grad=True)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


# ---------------------------------------------------------------------------------------------
# A network that learns
# ---------------------------------------------------------------------------------------------


def test_a_2_3_1_logistic_net_learns_xor_with_sgd_and_momentum():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    T = np.array([[0], [1], [1], [0]], dtype=np.float64)
    net = nn.mlp([2, 3, 1], output="logistic", rng=0, init_range=1.0)
    opt = cr.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    loss = nn.SquaredError()
    first = None
    for _ in range(1000):  # full-batch sweeps
        opt.zero_grad()
        E = loss(net(X), T)
        E.backward()
        opt.step()
        first = E.item() if first is None else first
    assert first > 0.4 and E.item() < 0.01
    out = net(X).numpy()
    assert np.all((out > 0.5) == (T > 0.5))
    assert out.dtype == np.float32


def test_calling_a_module_runs_the_most_derived_forward_unless_call_is_custom():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

        def config(self):
            return {"type": "Double"}

    class Triple(Double):  # overrides forward: its own forward runs
        def forward(self, x):
            return x * 3

    class Same(Triple):  # inherits Triple's forward
        pass

    class Logged(nn.Module):  # a custom __call__ is kept, for it and for its subclasses
        def __call__(self, x):
            self.calls = getattr(self, "calls", 0) + 1
            return self.forward(x)

        def forward(self, x):
            return x + 1

        def config(self):
            return {"type": "Logged"}

    class LoggedTwice(Logged):
        def forward(self, x):
            return x + 2

    x = cr.tensor([1.0, 2.0])
    assert Double()(x).tolist() == [2.0, 4.0]
    assert Triple()(x).tolist() == [3.0, 6.0]
    assert Same()(x).tolist() == [3.0, 6.0]
    logged = LoggedTwice()
    assert logged(x).tolist() == [3.0, 4.0] and logged.calls == 1
    with pytest.raises(NotImplementedError, match="does not define forward"):
        nn.Module()(x)


@pytest.mark.parametrize("sizes", [(3, 2.5), (3, 2.0), (True, 2), (3, "4"), (0, 2)])
def test_linear_sizes_must_be_whole_numbers(sizes):
    """int() took Linear(3, 2.5) as Linear(3, 2) and True as 1 without a word, and "x" gave
    int()'s own message; a saved config with "4" for a size loaded as 4."""
    with pytest.raises(nn.ConfigError, match="n_in and n_out must be whole numbers >= 1"):
        nn.Linear(*sizes)
    config = nn.Sequential(nn.Linear(3, 2)).config()
    config["layers"][0]["n_in"], config["layers"][0]["n_out"] = sizes
    with pytest.raises(nn.ConfigError, match="whole numbers"):
        nn.from_config(config)


def test_mlp_parallel_and_softmax_sizes_must_be_whole_numbers():
    with pytest.raises(
        nn.ConfigError, match=r"mlp: sizes must be whole numbers >= 1, got \[3, 4.5, 2\]"
    ):
        nn.mlp([3, 4.5, 2])
    with pytest.raises(nn.ConfigError, match="Parallel: branch 0 must be"):
        nn.Parallel((2.5, nn.Linear(2, 1)))
    with pytest.raises(nn.ConfigError, match="Softmax: axis must be a whole number"):
        nn.Softmax(axis=1.5)
    assert nn.Linear(np.int64(3), np.int32(2)).weight.shape == (3, 2)  # NumPy integers are fine
