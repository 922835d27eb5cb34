"""PyTorch <-> chainrule: the same function and the same gradients, and files that never load wrong.

PyTorch is the reference here, so every test that needs it skips itself where it is missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.errors import ConversionError, ModelFileError, StateDictError, UserError
from chainrule.interop import (
    build_arch,
    from_torch,
    load_torch,
    save_torch,
    state_dict_from_torch,
    state_dict_to_torch,
    to_torch,
)

TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


def needs_torch():
    return pytest.importorskip("torch")


def torch_nets(torch):
    """Every supported layer, square layers included (the case a silent copy gets wrong)."""
    tnn = torch.nn
    return {
        "lecture": tnn.Sequential(tnn.Linear(4, 3), tnn.Sigmoid(), tnn.Linear(3, 2)),
        "square": tnn.Sequential(tnn.Linear(3, 3), tnn.Tanh(), tnn.Linear(3, 3), tnn.Sigmoid()),
        "every-layer": tnn.Sequential(
            tnn.Linear(5, 5),
            tnn.ReLU(),
            tnn.Dropout(0.3),
            tnn.Linear(5, 4, bias=False),
            tnn.Identity(),
            tnn.Tanh(),
            tnn.Linear(4, 4),
            tnn.Softmax(dim=1),
        ),  # fmt: skip
        "log-softmax": tnn.Sequential(
            tnn.Linear(4, 6), tnn.Sigmoid(), tnn.Linear(6, 3), tnn.LogSoftmax(dim=-1)
        ),  # fmt: skip
    }


def torch_forward_backward(torch, net, x, cotangent):
    """Outputs, input gradient and every parameter's gradient by PyTorch's own backward."""
    xt = torch.tensor(x, requires_grad=True)
    out = net(xt)
    (out * torch.tensor(cotangent)).sum().backward()
    grads = {name: p.grad.numpy() for name, p in net.named_parameters()}
    return out.detach().numpy(), xt.grad.numpy(), grads


def chainrule_forward_backward(model, x, cotangent):
    xc = cr.tensor(x, requires_grad=True)
    out = model(xc)
    (out * cr.tensor(cotangent)).sum().backward()
    grads = {name: p.grad.numpy() for name, p in model.named_parameters()}
    return out.numpy(), xc.grad.numpy(), grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["lecture", "square", "every-layer", "log-softmax"])
def test_round_trip_same_outputs_and_every_gradient(kind, dtype):
    torch = needs_torch()
    torch.manual_seed(0)
    net = torch_nets(torch)[kind].to(getattr(torch, dtype)).eval()
    rng = np.random.default_rng(1)
    n_in = net[0].in_features
    x = rng.normal(size=(7, n_in)).astype(dtype)
    model = from_torch(net)
    assert model.dtype == np.dtype(dtype)
    n_out = model(x).shape[1]
    cotangent = rng.normal(size=(7, n_out)).astype(dtype)

    out_t, dx_t, grads_t = torch_forward_backward(torch, net, x, cotangent)
    out_c, dx_c, grads_c = chainrule_forward_backward(model, x, cotangent)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out_c, out_t, rtol=tol, atol=tol)
    np.testing.assert_allclose(dx_c, dx_t, rtol=tol, atol=tol)
    assert set(grads_c) == set(grads_t)
    for name, grad in grads_t.items():
        expected = grad.T if name.endswith("weight") else grad  # (out, in) -> w_ij (in, out)
        np.testing.assert_allclose(grads_c[name], expected, rtol=tol, atol=tol, err_msg=name)

    back = to_torch(model)
    assert [type(m) for m in back] == [type(m) for m in net]
    assert not back.training
    for (name, a), (name_b, b) in zip(net.state_dict().items(), back.state_dict().items()):
        assert name == name_b and a.dtype == b.dtype and torch.equal(a, b), name  # bit for bit
    out_b, dx_b, grads_b = torch_forward_backward(torch, back, x, cotangent)
    np.testing.assert_array_equal(out_b, out_t)
    for name, grad in grads_t.items():
        np.testing.assert_array_equal(grads_b[name], grad)


def test_square_layer_copied_without_the_transpose_computes_other_numbers():
    """The trap the converters exist for: names and shapes fit, the numbers do not."""
    torch = needs_torch()
    torch.manual_seed(0)
    net = torch_nets(torch)["square"].double()
    x = np.random.default_rng(0).normal(size=(4, 3))
    wrong = build_arch("3,3,tanh,3,logistic", "float64")
    wrong.load_state_dict({k: v.numpy() for k, v in net.state_dict().items()})  # no transpose
    expected = net(torch.tensor(x)).detach().numpy()
    assert np.abs(wrong(x).numpy() - expected).max() > 1e-3
    np.testing.assert_allclose(from_torch(net)(x).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_a_torch_modules_own_state_dict_is_refused_by_load_state_dict():
    """net.state_dict() straight into a chainrule model: the square layers' shapes fit, so only
    the dict itself can tell. It is refused, naming the fix, and the model is left as it was;
    converted first, it loads and computes PyTorch's numbers."""
    torch = needs_torch()
    torch.manual_seed(0)
    net = torch_nets(torch)["square"].double()
    model = build_arch("3,3,tanh,3,logistic", "float64")
    before = [p.numpy().copy() for p in model.parameters()]
    with pytest.raises(StateDictError, match=r"PyTorch module's state_dict.*state_dict_from_torch"):
        model.load_state_dict(net.state_dict())
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), old)
    model.load_state_dict(state_dict_from_torch(net.state_dict()))
    x = np.random.default_rng(1).normal(size=(4, 3))
    expected = net(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_chainrule_to_torch_to_chainrule_keeps_every_bit():
    needs_torch()
    model = nn.mlp([4, 4, 3], activation="tanh", output="softmax", dtype="float64", rng=3)
    again = from_torch(to_torch(model))
    for (name, a), (name_b, b) in zip(model.named_parameters(), again.named_parameters()):
        assert name == name_b
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert [type(m) for m in again] == [type(m) for m in model]


def test_training_mode_carries_over():
    torch = needs_torch()
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    assert from_torch(net.train()).training and not from_torch(net.eval()).training
    model = from_torch(net)
    assert to_torch(model.train()).training and not to_torch(model.eval()).training


def test_a_converted_dropout_first_network_keeps_float32_on_float64_data():
    torch = needs_torch()
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(3, 2), torch.nn.Tanh())
    model = from_torch(net)
    x = np.random.default_rng(0).normal(size=(4, 3))  # float64, as loaded
    assert model(x).dtype == np.float32
    model.eval()
    expected = net.eval()(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=0, atol=TOLERANCE["float32"])


def test_state_dict_converts_with_an_architecture():
    torch = needs_torch()
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    model = from_torch(net.state_dict(), arch="4,4,tanh,2")
    np.testing.assert_array_equal(model(x).numpy(), from_torch(net)(x).numpy())
    chainrule_state = state_dict_from_torch(net.state_dict())
    assert chainrule_state["0.weight"].shape == (4, 4)
    np.testing.assert_array_equal(chainrule_state["2.weight"], net[2].weight.detach().numpy().T)
    back = state_dict_to_torch(chainrule_state)
    for name, value in net.state_dict().items():
        assert torch.equal(back[name], value), name
    with pytest.raises(ConversionError, match="arch="):
        from_torch(net.state_dict())
    with pytest.raises(ModelFileError, match=r"Linear\(4, 2\).*Linear\(4, 3\)"):
        from_torch(net.state_dict(), arch="4,4,3")


@pytest.mark.parametrize("given", ["module", "config"])
@pytest.mark.parametrize("container", ["Sequential", "Parallel"])
def test_an_architecture_with_a_linear_inside_another_layer_is_refused(given, container):
    """A state dict fills a Sequential's own Linear layers: one inside a nested Sequential or a
    Parallel kept its initial weights, silently, while the top-level one took the dict's."""
    torch = needs_torch()
    net = torch.nn.Sequential(torch.nn.Linear(3, 3))
    inner = nn.Linear(3, 3, rng=5)
    wrapped = nn.Sequential(inner) if container == "Sequential" else nn.Parallel((3, inner))
    arch = nn.Sequential(wrapped, nn.Tanh(), nn.Linear(3, 3, rng=6))
    with pytest.raises(ModelFileError, match="a Linear inside layer '0'.*one flat Sequential"):
        from_torch(net.state_dict(), arch=arch if given == "module" else arch.config())
    flat = from_torch(net.state_dict(), arch=nn.Sequential(nn.Linear(3, 3), nn.Tanh()))
    np.testing.assert_array_equal(flat[0].weight.numpy(), net[0].weight.detach().numpy().T)


@pytest.mark.parametrize(
    "layer, name",
    [("GELU", "GELU"), ("Conv1d", "Conv1d"), ("nested", "Sequential"), ("LeakyReLU", "LeakyReLU")],
)
def test_a_layer_without_a_counterpart_is_named(layer, name):
    torch = needs_torch()
    tnn = torch.nn
    other = {"GELU": tnn.GELU(), "Conv1d": tnn.Conv1d(1, 1, 1), "LeakyReLU": tnn.LeakyReLU(),
             "nested": tnn.Sequential(tnn.Linear(2, 2))}[layer]  # fmt: skip
    with pytest.raises(ConversionError, match=f"layer 1 is {name}"):
        from_torch(tnn.Sequential(tnn.Linear(2, 2), other))


def test_to_torch_names_a_layer_it_cannot_convert():
    needs_torch()

    class Scale(nn.Module):
        def forward(self, x):
            return x * 2.0

    with pytest.raises(ConversionError, match="layer 1 is Scale"):
        to_torch(nn.Sequential(nn.Linear(2, 2), Scale()))


def test_half_precision_is_refused_with_the_fix():
    torch = needs_torch()
    net = torch.nn.Sequential(torch.nn.Linear(2, 2)).half()
    with pytest.raises(ConversionError, match=r"float16.*net.float\(\)"):
        from_torch(net)


def test_explain_a_torch_network():
    """The lecture's derivation of a PyTorch network: E and every dE/dw are PyTorch's."""
    torch = needs_torch()
    torch.manual_seed(0)
    net = torch_nets(torch)["lecture"].double()
    x = np.array([[0.5, -1.0, 0.25, 2.0], [1.0, 0.0, -0.5, 0.3]])
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    derivation = cr.explain(from_torch(net), x, t)
    assert derivation.all_ok
    y = net(torch.tensor(x))
    E = 0.5 * ((torch.tensor(t) - y) ** 2).sum()
    E.backward()
    assert derivation.error == pytest.approx(E.item(), rel=1e-12)
    for connection in derivation.connections:
        expected = dict(net.named_parameters())[connection.weight_name].grad.numpy().T
        np.testing.assert_allclose(connection.dE_dw, expected, rtol=1e-10, atol=1e-12)


# -- files ----------------------------------------------------------------------------------------


def test_save_torch_writes_what_pytorch_loads(tmp_path):
    torch = needs_torch()
    from safetensors.torch import load_file

    model = nn.mlp([3, 3, 2], output="logistic", rng=5)
    path = save_torch(model, tmp_path / "net.safetensors")
    net = to_torch(model)
    for layer in net:
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.zeros_(layer.weight)
    net.load_state_dict(load_file(path))  # PyTorch's own loader, PyTorch's names and layout
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(net(torch.tensor(x)).detach().numpy(), model(x).numpy(),
                               rtol=1e-6, atol=1e-6)  # fmt: skip
    again = load_torch(path)  # the architecture travels in the metadata
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())
    assert io.read_metadata(path)["weight_layout"] == "torch"


def test_save_torch_of_a_single_layer_writes_what_the_to_torch_network_loads(tmp_path):
    """A bare Linear was written as weight/bias, which the Sequential to_torch builds of it
    (0.weight, 0.bias) refused; the documented recipe now works for it too."""
    torch = needs_torch()
    from safetensors.torch import load_file

    layer = nn.Linear(3, 2, rng=0)
    path = save_torch(layer, tmp_path / "one.safetensors")
    net = to_torch(layer)
    net.load_state_dict(load_file(path))
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(net(torch.tensor(x)).detach().numpy(), layer(x).numpy(),
                               rtol=1e-6, atol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(load_torch(path)(x).numpy(), layer(x).numpy())


def test_load_torch_needs_an_architecture_for_a_plain_state_dict(tmp_path):
    torch = needs_torch()
    from safetensors.torch import save_file

    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    save_file(net.state_dict(), tmp_path / "plain.safetensors")  # no metadata: PyTorch's layout
    with pytest.raises(ModelFileError, match="--arch"):
        load_torch(tmp_path / "plain.safetensors")
    model = load_torch(tmp_path / "plain.safetensors", arch="2,3,relu,1")
    x = np.ones((1, 2), dtype=np.float32)
    np.testing.assert_allclose(model(x).numpy(), net(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6)  # fmt: skip


def test_a_chainrule_model_file_is_refused_by_the_torch_loader(tmp_path):
    model = nn.mlp([3, 3, 3], rng=0)  # square: the shapes alone would not notice
    io.save_model(tmp_path / "model", model)
    weights = tmp_path / "model" / io.WEIGHTS_FILE
    assert io.read_metadata(weights)["weight_layout"] == "chainrule"
    with pytest.raises(ModelFileError, match=r"chainrule's \(n_in, n_out\) layout.*load_model"):
        load_torch(weights, arch="3,3,3")


def test_a_torch_layout_file_is_refused_by_load_model(tmp_path):
    model = nn.mlp([3, 3, 3], rng=0)
    io.save_model(tmp_path / "model", model)
    weights = tmp_path / "model" / io.WEIGHTS_FILE
    io.write_arrays(weights, state_dict_to_torch(model.state_dict(), tensors=False),
                    metadata={"format": "pt", "weight_layout": "torch"})  # fmt: skip
    with pytest.raises(ModelFileError, match=r"PyTorch's \(n_out, n_in\) layout.*load_torch"):
        io.load_model(tmp_path / "model")


def test_unknown_layout_is_refused_and_old_files_still_load(tmp_path):
    model = nn.mlp([2, 2, 1], rng=0)
    io.save_model(tmp_path / "model", model)
    weights = tmp_path / "model" / io.WEIGHTS_FILE
    io.write_arrays(weights, model.state_dict(), metadata={"format": "chainrule-model"})
    loaded, _ = io.load_model(tmp_path / "model")  # written before the layout key existed
    np.testing.assert_array_equal(loaded.state_dict()["0.weight"], model.state_dict()["0.weight"])
    io.write_arrays(weights, model.state_dict(), metadata={"weight_layout": "keras"})
    with pytest.raises(ModelFileError, match="unknown weight layout 'keras'"):
        io.load_model(tmp_path / "model")


def test_build_arch_specs():
    layers = [type(m).__name__ for m in build_arch("4,8,relu,2,softmax")]
    assert layers == ["Linear", "ReLU", "Linear", "Softmax"]
    assert [type(m).__name__ for m in build_arch("4,3,2")] == ["Linear", "Logistic", "Linear"]
    for bad, match in [
        ("4", "two positive"),
        ("tanh,4,2", "must follow"),
        ("4,3,swish,2", "unknown activation"),
        ("4,3,tanh,relu,2", "must follow"),
    ]:
        with pytest.raises(UserError, match=match):  # fmt: skip
            build_arch(bad)


def test_without_torch_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(ConversionError, match="PyTorch is not installed"):
        to_torch(nn.mlp([2, 1], rng=0))


def test_importing_chainrule_interop_imports_neither_torch_nor_onnx():
    code = (
        "import sys, chainrule, chainrule.interop; "
        "print(json.dumps([m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules]))"
    )
    result = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert json.loads(result.stdout) == []


def test_save_torch_needs_no_torch_and_refuses_what_has_no_counterpart(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    model = nn.mlp([2, 2, 1], output="logistic", rng=0)
    path = save_torch(model, tmp_path / "net.safetensors")
    np.testing.assert_array_equal(
        io.read_arrays(path, layout="torch")["2.weight"], model[2].weight.numpy().T
    )

    class Scale(nn.Module):
        def forward(self, x):
            return x * 2.0

        def config(self):
            return {"type": "Scale"}

    with pytest.raises(ConversionError, match="layer 1 is Scale"):
        save_torch(nn.Sequential(nn.Linear(2, 2), Scale()), tmp_path / "other.safetensors")
    assert not (tmp_path / "other.safetensors").exists()


def test_explain_reads_identity_and_names_log_softmax():
    torch = needs_torch()
    tnn = torch.nn
    net = tnn.Sequential(tnn.Linear(2, 2), tnn.Identity(), tnn.Sigmoid(), tnn.Linear(2, 1)).double()
    x, t = np.array([[0.5, -1.0]]), np.array([[1.0]])
    derivation = cr.explain(from_torch(net), x, t)
    assert derivation.all_ok
    assert derivation.layers[1].activation == "logistic"  # Identity changes nothing
    assert nn.activation_of(nn.LogSoftmax()) is None  # not taken for a softmax unit
    with pytest.raises(UserError, match="LogSoftmax"):
        cr.explain(from_torch(tnn.Sequential(tnn.Linear(2, 2), tnn.LogSoftmax(dim=1))), x,
                   np.array([[1.0, 0.0]]))  # fmt: skip


# -- which layer is which: the network's order, never the names' alphabetical one -----------------


def named_nets(torch):
    """Square layers (where a wrong match loads silently) under names whose alphabetical order is
    not the network's: named layers, fc1 ... fc10 and a Sequential's 0 ... 10 (10 after 9)."""
    from collections import OrderedDict

    tnn = torch.nn
    torch.manual_seed(3)
    named = OrderedDict(input=tnn.Linear(4, 4), a=tnn.Sigmoid(), hidden=tnn.Linear(4, 4),
                        b=tnn.Sigmoid(), output=tnn.Linear(4, 2))  # fmt: skip
    fc = OrderedDict()
    for k in range(1, 11):
        fc[f"fc{k}"], fc[f"act{k}"] = tnn.Linear(4, 4), tnn.Tanh()
    square = {"type": "Linear", "n_in": 4, "n_out": 4}
    return {
        "named": (tnn.Sequential(named).double(), "4,4,4,2"),
        "fc1-fc10": (tnn.Sequential(fc).double(), ",".join(["4"] + ["4,tanh"] * 10)),
        "0-10": (tnn.Sequential(*[tnn.Linear(4, 4) for _ in range(11)]).double(),
                 {"type": "Sequential", "layers": [square] * 11}),  # a config as the arch
    }  # fmt: skip


@pytest.mark.parametrize("kind", ["named", "fc1-fc10", "0-10"])
def test_a_state_dict_loads_in_the_network_order(kind):
    """The state dict's own order (PyTorch's registration order), or the numbers in the names:
    never the names sorted as text, which put 'hidden' before 'input' and fc10 before fc2."""
    torch = needs_torch()
    net, arch = named_nets(torch)[kind]
    x = np.random.default_rng(0).normal(size=(3, 4))
    expected = net(torch.tensor(x)).detach().numpy()
    model = from_torch(net.state_dict(), arch=arch)
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["fc1-fc10", "0-10"])
def test_a_file_of_numbered_layers_loads_in_their_numbers_order(kind, tmp_path):
    """A safetensors file keeps no order (PyTorch's load_file gives the names sorted as text,
    "10.weight" before "2.weight"); numbered names say it."""
    torch = needs_torch()
    from safetensors.torch import load_file, save_file

    net, arch = named_nets(torch)[kind]
    x = np.random.default_rng(1).normal(size=(3, 4))
    expected = net(torch.tensor(x)).detach().numpy()
    save_file(net.state_dict(), tmp_path / "net.safetensors")
    model = load_torch(tmp_path / "net.safetensors", arch=arch)
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=0, atol=1e-12)
    # the dict PyTorch's own loader reads from the file is in the file's order, not the network's
    read = load_file(tmp_path / "net.safetensors")
    assert list(read) != list(net.state_dict())
    np.testing.assert_allclose(from_torch(read, arch=arch)(x).numpy(), expected, atol=1e-12)


def test_a_file_of_named_layers_is_refused_not_guessed(tmp_path):
    torch = needs_torch()
    from safetensors.torch import save_file

    net, arch = named_nets(torch)["named"]
    save_file(net.state_dict(), tmp_path / "named.safetensors")
    with pytest.raises(ModelFileError, match=r"\(hidden, input, output\) do not say their order"):
        load_torch(tmp_path / "named.safetensors", arch=arch)
    # one Linear layer has no order to lose
    save_file({"out.weight": torch.ones(2, 4), "out.bias": torch.zeros(2)},
              tmp_path / "one.safetensors")  # fmt: skip
    assert load_torch(tmp_path / "one.safetensors", arch="4,2")(np.ones((1, 4))).shape == (1, 2)


# -- dtypes: refused at the door, weight and bias alike -------------------------------------------


@pytest.mark.parametrize("dtype", ["bfloat16", "float8_e4m3fn", "float16"])
def test_a_dtype_chainrule_cannot_compute_in_is_refused_with_the_fix(dtype):
    """bfloat16 and the float8s have no NumPy name; np.dtype(None) is float64, so a check by
    membership let them through to a raw TypeError."""
    torch = needs_torch()
    net = torch.nn.Sequential(torch.nn.Linear(4, 3)).to(getattr(torch, dtype))
    with pytest.raises(ConversionError, match=rf"{dtype}.*net.float\(\)"):
        from_torch(net)
    with pytest.raises(ConversionError, match=rf"'0.weight' is {dtype}.*net.float\(\)"):
        from_torch(net.state_dict(), arch="4,3")


@pytest.mark.parametrize("dtype", ["float16", "int64", "float64"])
def test_a_bias_of_another_dtype_is_refused(dtype, tmp_path):
    torch = needs_torch()
    from safetensors.torch import save_file

    layer = torch.nn.Linear(4, 3)
    layer.bias = torch.nn.Parameter(torch.ones(3, dtype=getattr(torch, dtype)), requires_grad=False)
    with pytest.raises(ConversionError, match=f"layer 0 \\(Linear\\)'s bias is {dtype}"):
        from_torch(torch.nn.Sequential(layer))
    state = torch.nn.Sequential(layer).state_dict()
    with pytest.raises(ConversionError, match=f"'0.bias' is {dtype}"):
        from_torch(state, arch="4,3")
    save_file(state, tmp_path / "mixed.safetensors")
    with pytest.raises(ModelFileError, match=f"'0.bias' is {dtype}"):
        load_torch(tmp_path / "mixed.safetensors", arch="4,3")


# -- a file's recorded architecture: checked against its weights before anything is built ---------


def torch_file(path, architecture):
    from safetensors.numpy import save_file

    weights = {"0.weight": np.ones((3, 4), np.float32), "0.bias": np.ones(3, np.float32)}
    save_file(weights, path, metadata={"format": "pt", "weight_layout": "torch",
                                       "chainrule_architecture": architecture})  # fmt: skip
    return path


def test_a_deeply_nested_recorded_architecture_is_one_error(tmp_path):
    nested = {"type": "Linear", "n_in": 4, "n_out": 3}
    for _ in range(400):
        nested = {"type": "Sequential", "layers": [nested]}
    for name, text in [("deep", "[" * 100_000 + "]" * 100_000),
                       ("nested", json.dumps(nested))]:  # fmt: skip
        with pytest.raises(ModelFileError, match="architecture"):
            load_torch(torch_file(tmp_path / f"{name}.safetensors", text))


def test_declared_shapes_are_checked_before_anything_is_built(tmp_path, monkeypatch):
    """A 100-byte file declaring Linear(30000, 30000) took minutes and gigabytes before the shape
    error; so would an --arch typed with a slip. Nothing is built until the shapes agree."""
    needs_torch()

    def no_building(self, *args, **kwargs):
        raise AssertionError("a Linear was built before the shapes were checked")

    big = {"type": "Sequential", "layers": [{"type": "Linear", "n_in": 30000, "n_out": 30000,
                                             "bias": True, "dtype": "float64"}]}  # fmt: skip
    path = torch_file(tmp_path / "big.safetensors", json.dumps(big))
    monkeypatch.setattr(nn.Linear, "__init__", no_building)
    with pytest.raises(ModelFileError, match=r"Linear\(4, 3\).*Linear\(30000, 30000\)"):
        load_torch(path)
    with pytest.raises(ModelFileError, match=r"Linear\(4, 3\).*Linear\(30000, 3\)"):
        load_torch(path, arch="30000,3")
    with pytest.raises(ModelFileError, match=r"Linear\(4, 3\).*Linear\(4, 30000\)"):
        from_torch(io.read_arrays(path, layout="torch"), arch="4,30000")
    with pytest.raises(ModelFileError, match=r"'0.bias' has shape \(5,\)"):
        from_torch({"0.weight": np.ones((3, 4), np.float32), "0.bias": np.ones(5, np.float32)},
                   arch="4,3")  # fmt: skip


@pytest.mark.parametrize(
    "spec, token", [("-4,4,2", "-4"), ("4.0,4,2", "4.0"), ("4,0,2", "0"), ("4,1e3,2", "1e3")]
)
def test_build_arch_names_a_size_that_is_not_a_positive_whole_number(spec, token):
    with pytest.raises(UserError, match=f"'{token}' is not a layer size; a size is a positive"):
        build_arch(spec)


def test_a_model_given_as_arch_is_copied_not_filled():
    """from_torch(state_dict, arch=model) loaded the weights into the user's model and returned
    it, its float32 turned float64; the docs promise copies."""
    torch = needs_torch()
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    net = net.double()
    template = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1))
    before = [p.numpy().copy() for p in template.parameters()]
    model = from_torch(net.state_dict(), arch=template)
    assert model is not template
    for p, kept in zip(template.parameters(), before):
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p.numpy(), kept)
    x = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(model(cr.tensor(x.numpy())).numpy(), net(x).detach().numpy(),
                               rtol=1e-12, atol=1e-15)  # fmt: skip


def test_a_softmax_with_an_implicit_dim_converts_as_for_rows_and_says_so():
    """PyTorch picks Softmax(dim=None)'s axis from the input's rank (0 for 3-D input): the
    conversion's axis=-1 is PyTorch's choice for 1-D and 2-D inputs only."""
    torch = needs_torch()
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Softmax()).eval()
    with pytest.warns(UserWarning, match=r"Softmax\(dim=None\) is converted with axis=-1"):
        model = from_torch(net)
    rows = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own note about the implicit dim
        expected = net(rows).detach().numpy()
    np.testing.assert_allclose(model(cr.tensor(rows.numpy())).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("mix", ["bias", "layers"])
def test_to_torch_refuses_a_model_of_two_dtypes(mix):
    """A float64 bias on a float32 weight was cast silently (another output dtype); a float64
    layer after a float32 one converted, and the torch net failed at its first forward."""
    needs_torch()
    if mix == "bias":
        model = nn.Linear(3, 2, rng=0)
        model.bias.data = model.bias.data.astype(np.float64)
        match = r"layer 0 \(Linear\)'s bias is float64 but its weight is float32"
    else:
        model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Linear(2, 2, dtype="float64", rng=1))
        match = r"layer 1 \(Linear\)'s weight is float64 but layer 0's weight is float32"
    with pytest.raises(ConversionError, match=match + r".*model\.to\('float32'\)"):
        to_torch(model)


def test_a_bias_free_layer_in_a_state_dict_names_the_arch_that_loads_it():
    """A spec such as '4,3,2' gives every Linear a bias; the message said only that the
    architecture "does not agree". It now says so and names the arch that loads it."""
    state = {"0.weight": np.ones((3, 4), np.float32), "2.weight": np.ones((2, 3), np.float32),
             "2.bias": np.zeros(2, np.float32)}  # fmt: skip
    with pytest.raises(ModelFileError, match=r"layer '0': .* has no bias .*'4,3,nobias,2'"):
        from_torch(state, arch="4,3,2")
    model = nn.Sequential(nn.Linear(4, 3, bias=False), nn.Logistic(), nn.Linear(3, 2))
    loaded = from_torch(state, arch=model)
    np.testing.assert_array_equal(loaded[0].weight.numpy(), np.ones((4, 3)))
    with pytest.raises(
        ModelFileError, match=r"has a bias but .*Linear\(4, 3, bias=False\) has none"
    ):
        from_torch({**state, "0.bias": np.zeros(3, np.float32)}, arch=model)


def test_a_spec_marks_a_bias_free_layer_with_nobias():
    """A PyTorch state dict with Linear(4, 3, bias=False) had no spec that loads it; nobias
    after a size is that layer. The oracle: PyTorch's own forward on the same weights."""
    torch = needs_torch()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False), torch.nn.Tanh(),
                              torch.nn.Linear(3, 2)).double()  # fmt: skip
    model = from_torch(net.state_dict(), arch="4,3,tanh,nobias,2")
    assert model[0].bias is None and model[2].bias is not None
    x = np.random.default_rng(0).normal(size=(5, 4))
    expected = net(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(model.to("float64")(cr.tensor(x)).numpy(), expected, rtol=1e-12)
    assert [m.bias is None for m in build_arch("4,3,nobias,tanh,2,nobias")[::2]] == [True, True]
    for spec in ("4,nobias,3,2", "4,3,nobias,nobias,2"):
        with pytest.raises(UserError, match="'nobias' must follow a layer size above the inputs"):
            build_arch(spec)
