"""``chainrule train --hidden none``: a network with no hidden layer, the inputs feeding the output
units (logistic, softmax or linear regression, as ``nn.mlp([p, k])`` and
``MLPClassifier(hidden_layer_sizes=())`` build it), which the command line could not fit (s68):
``--hidden ""``, ``0``, ``none`` and ``()`` were each refused as no layer sizes. Each command
that reads a run is taken through one: train, run.json, resume, predict, evaluate, explain
--model, export to ONNX and the explorer of ``serve --model``; the oracle for the numbers is the
closed form of a single layer, b + x w, from the saved weights and the run's standardizer."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule import io
from chainrule.cli import main


def write_table(path, X, labels):
    lines = ["a,b,c,y"] + [
        ",".join(f"{v:.6f}" for v in row) + f",{label}" for row, label in zip(X, labels)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def features(n=60, seed=0):
    """Three features far from standardized, so the run's standardizer has work."""
    return np.random.default_rng(seed).normal(size=(n, 3)) * [2.0, 0.5, 3.0] + [4.0, -1.0, 2.0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A linear regression and a logistic regression trained with --hidden none."""
    root = tmp_path_factory.mktemp("hidden-none")
    X = features()
    y = X @ [1.0, -2.0, 0.5] + 0.3
    reg = write_table(root / "reg.csv", X, [f"{v:.6f}" for v in y])
    labels = np.where(X[:, 0] - 4.0 + 2.0 * (X[:, 1] + 1.0) > 0, "yes", "no")
    binary = write_table(root / "bin.csv", X, labels)
    for name, data, options in [
        ("reg", reg, ["--task", "regression"]),
        ("bin", binary, ["--loss", "binary-cross-entropy"]),
    ]:
        args = ["train", "--data", data, "--hidden", "none", "--epochs", "3", *options,
                "--out", root / name, "-q"]  # fmt: skip
        assert main([str(a) for a in args]) == 0
    return {"root": root, "reg": root / "reg", "bin": root / "bin", "X": X,
            "reg.csv": reg, "bin.csv": binary}  # fmt: skip


def one_layer(run_dir, X):
    """The closed form of a network with no hidden layer: b + standardized(x) w, from the
    saved weights and the run's standardizer."""
    model, info = io.load_model(run_dir)
    params = {name: p.numpy().astype(np.float64) for name, p in model.named_parameters()}
    assert sorted(params) == ["0.bias", "0.weight"]  # one Linear: no hidden layer
    scaler = info["standardizer"]
    Xs = (X - np.array(scaler["mean"])) / np.array(scaler["std"])
    return Xs @ params["0.weight"] + params["0.bias"]


def test_the_run_records_no_hidden_layer_and_saves_one_layer(runs):
    for name in ("reg", "bin"):
        recorded = json.loads((runs[name] / "run.json").read_text())["config"]
        assert recorded["hidden"] == []
        info = json.loads((runs[name] / "model" / "model.json").read_text())
        assert [layer["type"] for layer in info["architecture"]["layers"]] == ["Linear"]
        assert info["parameters"] == {"0.weight": [3, 1], "0.bias": [1]}


def test_predict_is_linear_and_logistic_regression(runs, capsys):
    X = runs["X"]
    code, out, err = run(capsys, "predict", runs["reg"], "-i", runs["reg.csv"], "--json")
    assert code == 0, err
    predicted = [case["prediction"] for case in json.loads(out)["predictions"]]
    np.testing.assert_allclose(predicted, one_layer(runs["reg"], X)[:, 0], rtol=1e-5, atol=1e-5)

    code, out, err = run(capsys, "predict", runs["bin"], "-i", runs["bin.csv"], "--json")
    assert code == 0, err
    cases = json.loads(out)["predictions"]
    z = one_layer(runs["bin"], X)[:, 0]
    np.testing.assert_allclose([c["outputs"][0] for c in cases], 1 / (1 + np.exp(-z)), atol=1e-5)
    assert [c["prediction"] for c in cases] == ["yes" if v > 0 else "no" for v in z]


def test_resume_goes_on_and_keeps_no_hidden_layer(runs, tmp_path, capsys):
    import shutil

    copy = shutil.copytree(runs["reg"], tmp_path / "reg")
    code, _, err = run(capsys, "train", "--resume", copy, "--epochs", "4", "-q")
    assert code == 0, err
    assert json.loads((copy / "run.json").read_text())["epochs"] == 4
    code, _, err = run(capsys, "train", "--resume", copy, "--hidden", "none", "--epochs", "5", "-q")
    assert code == 0, err
    # another network is refused, naming the run's as it is typed
    assert_user_error(capsys, "train", "--resume", copy, "--hidden", "4", "--epochs", "6",
                      match="the run has --hidden none;")  # fmt: skip


def test_evaluate_reports_the_runs_test_loss(runs, capsys):
    code, out, err = run(capsys, "evaluate", runs["reg"], "--json")
    assert code == 0, err
    recorded = json.loads((runs["reg"] / "run.json").read_text())
    assert json.loads(out)["loss"] == pytest.approx(recorded["test_loss"], rel=1e-6)


def test_explain_derives_the_single_layer(runs, capsys):
    code, out, err = run(capsys, "explain", "--model", runs["bin"], "--format", "json",
                         "--no-symbolic")  # fmt: skip
    assert code == 0, err  # 0: every derivative agreed with its finite difference
    derivation = json.loads(out)
    assert derivation["network"]["sizes"] == [3, 1]


def test_export_onnx_computes_what_predict_does(runs, tmp_path, capsys):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "reg.onnx"
    code, _, err = run(capsys, "export", runs["reg"], "--format", "onnx", "--out", out)
    assert code == 0, err
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    # raw rows, as predict reads them: the file standardizes them itself
    got = session.run(None, {session.get_inputs()[0].name: runs["X"]})[0]
    np.testing.assert_allclose(got[:, 0], one_layer(runs["reg"], runs["X"])[:, 0], atol=1e-4)


def test_the_explorer_serves_the_single_layer(runs, served, capsys):
    code, _, err = run(capsys, "serve", "--model", runs["bin"], "--port", "8765")
    assert code == 0, err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
        from starlette.testclient import TestClient
    client = TestClient(served[0], base_url="http://127.0.0.1")
    network = client.get("/api/seed").json()
    assert network["sizes"] == [3, 1]
    passed = client.post("/api/backward", json={"network": network})
    assert passed.status_code == 200, passed.text
    checked = client.post("/api/gradcheck", json={"network": network})
    assert checked.status_code == 200 and checked.json()["ok"], checked.text
    paths = client.post("/api/paths", json={"network": network, "layer": 0, "unit": 0})
    assert paths.status_code == 200 and len(paths.json()["terms"]) == 1, paths.text


def test_softmax_regression_on_three_classes(tmp_path, capsys):
    X = features(seed=1)
    labels = [f"k{k}" for k in np.argmax(X - X.mean(axis=0), axis=1)]
    data = write_table(tmp_path / "three.csv", X, labels)
    code, _, err = run(capsys, "train", "--data", data, "--hidden", "NONE", "--epochs", "2",
                       "--out", tmp_path / "run", "-q")  # fmt: skip
    assert code == 0, err
    info = json.loads((tmp_path / "run" / "model" / "model.json").read_text())
    assert info["parameters"] == {"0.weight": [3, 3], "0.bias": [3]}


# -- the refusals -----------------------------------------------------------------------------


def test_zero_says_how_no_hidden_layer_is_written(capsys):
    assert_user_error(capsys, "train", "--hidden", "0", "--data", "xor",
                      match="--hidden 0: 0 is not a layer size; for no hidden layer write "
                      "--hidden none")  # fmt: skip


@pytest.mark.parametrize("given", ["-3", "4,0", "", "()", "2000000", "64 32"])
def test_every_other_bad_size_is_refused_in_one_wording(capsys, given):
    """``-3`` said "layer sizes" and ``0`` "positive sizes"; 2000000 was refused in a third
    wording, after parsing."""
    line = assert_user_error(capsys, "train", "--hidden", given, "--data", "xor",
                             match="--hidden must be comma-separated layer sizes from 1 to "
                             "1,000,000 like 64,32, or none for no hidden layer; got")  # fmt: skip
    assert line.endswith(f"got {given!r}")


@pytest.mark.parametrize("data", ["encoder", "encoder-4-2-4"])
def test_the_encoder_needs_its_hidden_layer(capsys, data):
    assert_user_error(capsys, "train", "--hidden", "none", "--data", data,
                      match=f"--hidden none: --data {data} is learned through a hidden layer "
                      "(its code); leave out --hidden")  # fmt: skip


def test_the_help_says_how_no_hidden_layer_is_written(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    assert "none for no" in " ".join(out.split())
