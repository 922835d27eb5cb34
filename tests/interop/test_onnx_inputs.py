"""to_onnx's inputs: the input dtype under a standardizer, the path, the model's size, and the
arguments of the wrong kind; each checked against onnxruntime or as a refusal that writes
nothing."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_run import needs_onnx, run_proto

from chainrule import data, nn
from chainrule.errors import ConversionError
from chainrule.interop import to_onnx


@pytest.mark.parametrize("model_dtype", ["float32", "float64"])
@pytest.mark.parametrize("input_dtype", ["int64", "int32", "float16", "float32"])
def test_a_standardized_input_of_any_dtype_is_scaled_as_predict_scales_it(input_dtype, model_dtype):
    """The mean and std were cast to the input's dtype: to an integer one truncated (a std
    below 1 became 0, a model onnxruntime refused: "Integer division by zero"), to float16
    rounded. The graph now scales in float64, as Standardizer.transform does for predict."""
    ort = needs_onnx()
    rng = np.random.default_rng(0)
    train = rng.normal(loc=[3.7, -2.2, 40.0], scale=[0.3, 0.6, 9.0], size=(50, 3))
    scaler = data.Standardizer().fit(train)
    assert (scaler.std < 1).any() and (scaler.mean % 1 != 0).all()
    model = nn.Sequential(nn.Linear(3, 4, rng=1, dtype=model_dtype), nn.Tanh(),
                          nn.Linear(4, 2, rng=2, dtype=model_dtype))  # fmt: skip
    X = np.array([[4, -2, 37], [3, -3, 52], [5, -1, 28]], dtype=input_dtype)
    proto = to_onnx(model, standardizer=scaler, input_dtype=input_dtype)
    expected = model(scaler.transform(X, model_dtype)).numpy()  # chainrule's own predict path
    got = run_proto(ort, proto, X)
    assert got.dtype == np.dtype(model_dtype)
    tol = 1e-6 if model_dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["exports/", "exports", ".", "exports/.."])
def test_a_path_naming_a_directory_is_refused_naming_it(name, tmp_path, monkeypatch):
    """ "exports/" was written as a file named exports; an existing directory was an
    IsADirectoryError. Refused as a ConversionError naming the path, with a file name to give,
    and nothing written."""
    needs_onnx()
    monkeypatch.chdir(tmp_path)
    if name != "exports/":
        (tmp_path / "exports").mkdir()
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ConversionError, match=rf"'{name}' (names|is) a directory.*model\.onnx'"):
        to_onnx(nn.Sequential(nn.Linear(2, 1, rng=0)), name)
    assert sorted(tmp_path.rglob("*")) == before


def test_a_model_over_protobufs_limit_is_refused_naming_its_size(tmp_path, monkeypatch):
    """Over 2 GB, protobuf's bare EncodeError ("Failed to serialize proto") named neither the
    limit nor the size. The limit is lowered here to just below this model's weights (counted
    from its parameters), so the check is tested without allocating 2 GB."""
    needs_onnx()
    from chainrule.interop import onnx as onnx_export

    model = nn.Sequential(nn.Linear(5, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1))
    nbytes = sum(p.numpy().nbytes for p in model.parameters())
    limit = onnx_export._GRAPH_HEADROOM + nbytes  # weights of exactly this size still fit
    path = tmp_path / "m.onnx"
    monkeypatch.setattr(onnx_export, "PROTOBUF_LIMIT", limit - 1)
    with pytest.raises(ConversionError, match=rf"weights are {nbytes} bytes.*2 GB limit"):
        to_onnx(model, path)
    assert not path.exists()
    monkeypatch.setattr(onnx_export, "PROTOBUF_LIMIT", limit)
    to_onnx(model, path)
    assert path.exists()


def test_class_names_that_are_not_strings_are_refused(tmp_path):
    """[0, 1] was written as JSON numbers where every reader expects names."""
    needs_onnx()
    path = tmp_path / "m.onnx"
    with pytest.raises(ConversionError, match=r"class_names must be strings.*name 0 is the int"):
        to_onnx(nn.Sequential(nn.Linear(4, 2, rng=0)), path, class_names=[0, 1])
    assert not path.exists()


@pytest.mark.parametrize("array", [np.zeros(4), np.stack([np.zeros(4), np.ones(4)])])
def test_a_standardizer_given_as_an_array_is_refused_naming_what_it_takes(array, tmp_path):
    """A bare array was an AttributeError ("'numpy.ndarray' object has no attribute 'state'")."""
    needs_onnx()
    path = tmp_path / "m.onnx"
    with pytest.raises(ConversionError, match=r"standardizer must be .*Standardizer.*ndarray"):
        to_onnx(nn.Sequential(nn.Linear(4, 2, rng=0)), path, standardizer=array)
    assert not path.exists()
