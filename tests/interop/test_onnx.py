"""ONNX export: onnxruntime answers what ``chainrule predict`` answers, on the raw rows.

onnx and onnxruntime are the ``[onnx]`` extra; each test that needs them skips itself without.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx_run import needs_onnx

from chainrule import data, nn
from chainrule.cli import main
from chainrule.errors import ConversionError, ModelFileError
from chainrule.interop import saved_to_onnx, to_onnx
from chainrule.interop.onnx import BATCH_DIM, OPSET


def run_onnx(ort, path_or_proto, X):
    model = path_or_proto if isinstance(path_or_proto, (str, bytes)) else str(path_or_proto)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    dtype = np.float64 if session.get_inputs()[0].type == "tensor(double)" else np.float32
    return session.run(None, {"input": np.asarray(X, dtype=dtype)})[0]


def write_rows(path, X):
    # repr keeps every float64 digit, so predict and onnxruntime see the very same numbers
    path.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in X) + "\n")
    return path


def predict_outputs(capsys, run, rows_csv):
    capsys.readouterr()
    assert main(["predict", str(run), "--input", str(rows_csv), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["predictions"]
    return np.array([row["outputs"] for row in rows])


def unscaled_csv(path, n=60, seed=0, task="classes"):
    """Columns in very different units (thousands, thousandths, an offset of 10^4), as a CSV."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3 if task == "classes" else np.arange(n) % 2
    X = rng.normal(size=(n, 4)) + 2 * np.eye(4)[y]
    X = X * np.array([1000.0, 0.001, 5.0, 1.0]) + np.array([0.0, 0.0, 1e4, -3.0])
    target = [str(int(t)) for t in y]
    lines = ["a,b,c,d,label"] + [
        ",".join([*map(repr, map(float, x)), t]) for x, t in zip(X, target)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path, X


RUNS = {
    # name: (train options, rows to predict)
    "digits": (["--data", "digits", "--hidden", "8", "--epochs", "1"], "digits"),
    "csv": (["--hidden", "5", "--epochs", "3"], "classes"),
    "csv-bce": (["--hidden", "5", "--epochs", "3", "--loss", "binary-cross-entropy"], "binary"),
    "csv-float64-squared": (
        ["--hidden", "5", "--epochs", "3", "--loss", "squared-error", "--dtype", "float64"],
        "classes",
    ),  # fmt: skip
    "xor": (["--data", "xor", "--epochs", "5"], "xor"),
    "family-trees": (["--data", "family-trees", "--epochs", "2"], "family-trees"),  # Parallel
}


@pytest.fixture(scope="module", params=list(RUNS))
def trained(request, tmp_path_factory):
    """A tiny ``chainrule train`` run, and 37 raw rows it was trained on."""
    options, rows = RUNS[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    if rows in ("digits", "family-trees"):
        X = data.load(rows).X[:37].astype(np.float64)
    elif rows == "xor":
        X = np.tile(np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), (10, 1))[:37]
    else:
        csv, X = unscaled_csv(tmp / "train.csv", task=rows)
        options = ["--data", str(csv), *options]
        X = X[:37]
    run = tmp / "run"
    assert main(["train", *options, "--out", str(run), "--quiet", "--seed", "1"]) == 0
    return request.param, run, X


@pytest.mark.parametrize("batch", [1, 37])
def test_onnxruntime_equals_chainrule_predict(trained, batch, tmp_path, capsys):
    ort = needs_onnx()
    name, run, X = trained
    rows = X[:batch]
    expected = predict_outputs(capsys, run, write_rows(tmp_path / "rows.csv", rows))
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    got = run_onnx(ort, tmp_path / "m.onnx", rows)
    assert got.shape == expected.shape == (batch, expected.shape[1])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=name)
    if name in ("digits", "csv"):  # cross-entropy: predict's probabilities, so softmax is inside
        np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)


def test_the_graph_passes_the_checker_with_a_named_dynamic_batch(trained, tmp_path):
    needs_onnx()
    import onnx

    _, run, _ = trained
    proto = saved_to_onnx(run / "model", tmp_path / "m.onnx")
    onnx.checker.check_model(onnx.load(tmp_path / "m.onnx"), full_check=True)
    assert [(op.domain, op.version) for op in proto.opset_import] == [("", OPSET)]
    for value in (proto.graph.input[0], proto.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == BATCH_DIM and dims[1].dim_value > 0


def test_the_export_without_its_standardizer_answers_otherwise(tmp_path, capsys):
    """The standardizer is part of the exported model: leaving it out changes the answers."""
    ort = needs_onnx()
    from chainrule import io

    csv, X = unscaled_csv(tmp_path / "train.csv")
    run = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--hidden", "5", "--epochs", "3", "--out",
                 str(run), "--quiet"]) == 0  # fmt: skip
    model, info = io.load_model(run / "model")
    raw = to_onnx(model, loss=info["loss"]).SerializeToString()
    scaled = to_onnx(model, loss=info["loss"], standardizer=info["standardizer"])
    expected = predict_outputs(capsys, run, write_rows(tmp_path / "rows.csv", X[:5]))
    np.testing.assert_allclose(run_onnx(ort, scaled.SerializeToString(), X[:5]), expected,
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    assert np.abs(run_onnx(ort, raw, X[:5]) - expected).max() > 1e-3


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_unit_layer_matches_the_model(dtype):
    ort = needs_onnx()
    import onnx

    model = nn.Sequential(
        nn.Linear(4, 5, dtype=dtype, rng=0), nn.Tanh(), nn.Dropout(0.5),
        nn.Linear(5, 5, bias=False, dtype=dtype, rng=1), nn.ReLU(), nn.Identity(),
        nn.Linear(5, 3, dtype=dtype, rng=2), nn.Logistic(), nn.Linear(3, 3, dtype=dtype, rng=3),
        nn.LogSoftmax(),
    ).eval()  # fmt: skip
    X = np.random.default_rng(0).normal(size=(6, 4)).astype(dtype)
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    got = run_onnx(ort, proto.SerializeToString(), X)
    assert got.dtype == np.dtype(dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, model(X).numpy(), rtol=tol, atol=tol)


def test_a_layer_without_an_onnx_export_is_named():
    needs_onnx()

    class Scale(nn.Module):
        def forward(self, x):
            return x * 2.0

    with pytest.raises(ConversionError, match="layer 1 is Scale"):
        to_onnx(nn.Sequential(nn.Linear(2, 2), Scale()))


class Swish(nn.Logistic):
    """z * sigmoid(z): a subclass of a unit layer that computes something else."""

    def forward(self, z):
        return z * super().forward(z)


class Net(nn.Sequential):
    pass


class MyLinear(nn.Linear):
    pass


class Block(nn.Module):
    """A custom module holding a Linear."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2, rng=0)

    def forward(self, x):
        return self.fc(x)


def test_a_subclass_of_a_unit_layer_is_refused_not_exported_as_its_parent():
    """Swish(Logistic) was exported as Sigmoid: onnxruntime answered the logistic's numbers."""
    needs_onnx()
    with pytest.raises(ConversionError, match="layer 1 is Swish, which has no ONNX export"):
        to_onnx(nn.Sequential(nn.Linear(2, 2, rng=0), Swish()))


@pytest.mark.parametrize(
    "model, name",
    [
        (lambda: Net(nn.Linear(2, 2, rng=0)), "layer 0 is Net"),
        (lambda: nn.Sequential(MyLinear(2, 2, rng=0), nn.Tanh()), "layer 0 is MyLinear"),
        (lambda: nn.Sequential(nn.Tanh(), nn.Sequential(Block())), "layer 1.0 is Block"),
        (lambda: Block(), "layer 0 is Block"),
    ],
)
def test_a_layer_without_an_export_before_any_linear_is_named(model, name):
    """Not "the model has no Linear layer": the layer that has no export is why."""
    needs_onnx()
    with pytest.raises(ConversionError, match=f"{name}, which has no ONNX export"):
        to_onnx(model())


@pytest.mark.parametrize(
    "state, match",
    [
        ({"mean": [5.0], "std": [2.0]}, "width is 1 but the model's input width is 4"),
        ({"mean": [0, 0, 0], "std": [1, 1, 1]}, "width is 3 but the model's input width is 4"),
        ({"mean": [0, 0, 0, 0], "std": [1, 1, 1]}, r"mean \(4,\) and std \(3,\)"),
    ],
)
def test_a_standardizer_of_another_width_is_refused(state, match):
    """A 1-wide one was broadcast over the 4 inputs; a 3-wide one made a graph no runtime loads."""
    needs_onnx()
    from chainrule.errors import UserError

    with pytest.raises(UserError, match=match):
        to_onnx(nn.Sequential(nn.Linear(4, 2, rng=0)), standardizer=state)


def test_a_model_mixing_dtypes_is_refused_naming_them():
    """Gemm bound to float and double: a graph onnx.checker (full_check) and onnxruntime refuse."""
    needs_onnx()
    model = nn.Sequential(nn.Linear(2, 3, dtype=np.float32, rng=0), nn.Tanh(),
                          nn.Linear(3, 1, dtype=np.float64, rng=1))  # fmt: skip
    with pytest.raises(ConversionError, match="'0.weight' is float32, '2.weight' is float64"):
        to_onnx(model)


def test_without_onnx_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the [onnx] extra were not installed
    with pytest.raises(ConversionError, match=r"pip install 'chainrule\[onnx\]'"):
        to_onnx(nn.mlp([2, 1], rng=0))


@pytest.mark.parametrize(
    "n_out, names, ok",
    [
        (3, ["a", "b", "c"], True),
        (3, ["a", "b"], False),
        (3, ["a", "b", "c", "d"], False),
        (1, ["odd"], True),  # one logistic unit: its yes class (parity's "odd") ...
        (1, ["no", "yes"], True),  # ... or its two classes, as a saved model's names
        (1, ["a", "b", "c"], False),
        (3, "abc", False),  # a string is not three names
    ],
)
def test_class_names_must_name_the_outputs(n_out, names, ok, tmp_path):
    """Names of another length than the outputs are refused, naming both lengths, and nothing
    is written; names that fit travel as the model property onnxruntime reads."""
    ort = needs_onnx()
    model = nn.Sequential(nn.Linear(4, n_out, rng=0))
    path = tmp_path / "m.onnx"
    if ok:
        to_onnx(model, path, class_names=names)
        meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
        assert json.loads(meta.custom_metadata_map["class_names"]) == names
        return
    path.write_bytes(b"before")
    match = "string" if isinstance(names, str) else f"has {len(names)} names .* {n_out} output"
    with pytest.raises(ConversionError, match=match):
        to_onnx(model, path, class_names=names)
    assert path.read_bytes() == b"before" and sorted(tmp_path.iterdir()) == [path]


def test_saved_to_onnx_refuses_class_names_of_another_length(tmp_path, capsys):
    """A Parallel at the end outputs all its branches (4 here), though its last parameter is
    2 wide: two class names are refused by the model file's own check (which counts the
    outputs as the model computes them) and by to_onnx; nothing is written."""
    needs_onnx()
    from chainrule import io

    branches = (1, nn.Linear(1, 2, rng=1)), (2, nn.Linear(2, 2, rng=2))
    model = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Parallel(*branches))
    with pytest.raises(ModelFileError, match="'class_names' has 2 names for 4 output units"):
        io.save_model(tmp_path / "model", model, class_names=["a", "b"])
    io.save_model(tmp_path / "model", model)  # then the names written in by hand
    description = json.loads((tmp_path / "model" / "model.json").read_text())
    description["class_names"] = ["a", "b"]
    (tmp_path / "model" / "model.json").write_text(json.dumps(description))
    out = tmp_path / "m.onnx"
    with pytest.raises(ConversionError, match="class_names has 2 names but the model has 4"):
        to_onnx(model, out, class_names=["a", "b"])
    with pytest.raises(ModelFileError, match="'class_names' has 2 names for 4 output units"):
        saved_to_onnx(tmp_path / "model", out)
    assert not out.exists()
    code = main(["export", str(tmp_path / "model"), "--format", "onnx", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "has 2 names for 4 output units" in err[0]
    assert not out.exists()
