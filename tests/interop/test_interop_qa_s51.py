"""QA findings (s51) on the converters' arguments: class names as an array, the input dtype,
one error class for every refusal of to_onnx, and PyTorch state dicts met where a chainrule
one was meant (a parameter that requires grad, bfloat16, PyTorch's transposed layout)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from onnx_run import needs_onnx, run_proto

from chainrule import io, nn
from chainrule.errors import ConfigError, ConversionError, DataError, StateDictError
from chainrule.interop import state_dict_from_torch, to_onnx
from chainrule.train.metrics import predict


def test_class_names_as_an_array_are_exported_as_save_model_stores_them(tmp_path):
    """LabelEncoder.classes_ is a NumPy array: to_onnx raised NumPy's "truth value of an array
    ... is ambiguous" where save_model took it. Both now store the same list."""
    ort = needs_onnx()
    names = np.array(["setosa", "versicolor", "virginica"])  # LabelEncoder().fit(y).classes_
    model = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Softmax())
    path = tmp_path / "m.onnx"
    to_onnx(model, path, class_names=names)
    io.save_model(tmp_path / "saved", model, class_names=names)
    stored = json.loads((tmp_path / "saved" / "model.json").read_text())["class_names"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported = json.loads(session.get_modelmeta().custom_metadata_map["class_names"])
    assert exported == stored == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "U3", "object", "datetime64[s]"])
def test_an_input_dtype_that_is_no_real_number_is_refused_before_writing(dtype, tmp_path):
    """complex64 wrote a graph that onnx.checker passed and onnxruntime refused to load
    (INVALID_GRAPH, a Cast from complex64); text and dates failed with raw errors."""
    needs_onnx()
    path = tmp_path / "m.onnx"
    path.write_bytes(b"before")
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Softmax())
    with pytest.raises(ConversionError, match=rf"input_dtype {re.escape(repr(dtype))} is not"):
        to_onnx(model, path, input_dtype=dtype)
    assert path.read_bytes() == b"before"
    with pytest.raises(ConversionError, match=r"input_dtype complex64 is not a real number"):
        to_onnx(model, input_dtype=np.complex64)  # a type, named by NumPy's name for it


def test_only_the_input_dtypes_predict_reads_as_numbers_export():
    """A name NumPy does not know was its raw TypeError; bool (0 and 1), integers and floats,
    rows predict reads, still export, and onnxruntime answers as predict does."""
    ort = needs_onnx()
    model = nn.Sequential(nn.Linear(3, 2, dtype="float64", rng=0), nn.Softmax())
    with pytest.raises(ConversionError, match=r"input_dtype 'banana' is not a real number type"):
        to_onnx(model, input_dtype="banana")
    for dtype in ["bool", "uint8", "int32", "float16"]:
        X = np.array([[1, 0, 1], [0, 1, 1]], dtype=dtype)
        got = run_proto(ort, to_onnx(model, input_dtype=dtype), X)
        np.testing.assert_allclose(got, predict(model, X.astype(np.float64)), rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "state, cause, words",
    [
        ({"mean": [0, 0], "std": [0, 1]}, DataError, "std finite and > 0"),
        ({"mean": [0, 0]}, DataError, r"malformed state \('std'\)"),
    ],
)
def test_a_standardizer_state_the_standardizer_refuses_is_a_conversion_error(state, cause, words):
    """The docstring says every refusal is a ConversionError; these were DataErrors."""
    needs_onnx()
    with pytest.raises(ConversionError, match=rf"^to_onnx: standardizer: .*{words}") as caught:
        to_onnx(nn.Sequential(nn.Linear(2, 2, rng=0)), standardizer=state)
    assert isinstance(caught.value.__cause__, cause)
    assert "\n" not in str(caught.value)  # one line, as the commands print it


@pytest.mark.parametrize(
    "loss, words",
    [
        (42, r"loss must be a loss name .* not an object of type int \(42\)"),
        ("banana", r"unknown loss 'banana'"),
    ],
)
def test_a_loss_that_is_no_loss_is_a_conversion_error_naming_what_was_given(loss, words):
    """loss=42 was a ConfigError "unknown loss '42'"; save_model names the type given."""
    needs_onnx()
    with pytest.raises(ConversionError, match=rf"^to_onnx: {words}") as caught:
        to_onnx(nn.Sequential(nn.Linear(2, 2, rng=0)), loss=loss)
    assert isinstance(caught.value.__cause__, ConfigError)
    assert "\n" not in str(caught.value)


# -- PyTorch state dicts --------------------------------------------------------------------------


def square_and_wide(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))


def chainrule_twin():
    return nn.Sequential(nn.Linear(3, 3, rng=1), nn.Tanh(), nn.Linear(3, 2, rng=2))


def test_a_torch_modules_named_parameters_are_refused_naming_the_conversion(torch):
    """dict(net.named_parameters()) raised torch's "Can't call numpy() on Tensor that requires
    grad"; detached, its square layer would load transposed. Refused naming the key and
    state_dict_from_torch, the model as it was; converted, it computes PyTorch's numbers."""
    net, model = square_and_wide(torch), chainrule_twin()
    before = [p.numpy().copy() for p in model.parameters()]
    with pytest.raises(StateDictError, match=r"'0.weight' is a PyTorch parameter.*"
                       r"state_dict_from_torch"):  # fmt: skip
        model.load_state_dict(dict(net.named_parameters()))
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), old)
    model.load_state_dict(state_dict_from_torch(dict(net.named_parameters())))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    expected = net(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_a_bfloat16_state_dict_is_refused_as_from_torch_refuses_it(torch):
    """state_dict_from_torch raised torch's bare "Got unsupported ScalarType BFloat16"."""
    state = square_and_wide(torch).bfloat16().state_dict()
    with pytest.raises(ConversionError, match=r"'0.weight' is bfloat16; .*net\.float\(\)"):
        state_dict_from_torch(state)


def test_a_shape_that_is_the_models_transposed_is_named_as_pytorchs_layout():
    """'2.weight' (3, 2) in the model, (2, 3) in the state dict: PyTorch's (n_out, n_in)."""
    model = chainrule_twin()
    state = {name: p.numpy() for name, p in model.named_parameters()}
    state["2.weight"] = state["2.weight"].T.copy()
    with pytest.raises(StateDictError, match=r"\(3, 2\) in the model but \(2, 3\) in the state "
                       r"dict; .*PyTorch's \(n_out, n_in\).*state_dict_from_torch"):  # fmt: skip
        model.load_state_dict(state)
    state["2.weight"] = np.zeros((4, 3), np.float32)  # not a transpose: no such hint
    with pytest.raises(StateDictError) as caught:
        model.load_state_dict(state)
    assert str(caught.value).endswith("(4, 3) in the state dict")
