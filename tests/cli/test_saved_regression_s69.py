"""A regression saved from Python under a mean squared error, with no task recorded, is read
back as a regression (session 69): scikit-learn ``MLPRegressor``'s ``loss_function_`` is
``nn.SquaredError("mean")``, which ``cli.train.saved_task`` did not know (only ``mse``), so
``chainrule predict`` printed class 0 with the value in a column "1" and ``evaluate`` refused
the float targets. Oracles: the estimator's own ``predict``, and the loss computed here in NumPy
(half the squared error, summed over the outputs and averaged over the cases)."""

from __future__ import annotations

import csv
import io as text_io
import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_run import run  # noqa: E402

from chainrule import io, nn  # noqa: E402
from chainrule.cli.train import saved_task  # noqa: E402


def _data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, 3.0 * X[:, 0] - 2.0 * X[:, 1] + 5.0 + 0.1 * rng.normal(size=n)


@pytest.fixture
def sk_regression(tmp_path):
    """An MLPRegressor's network saved as README.md documents, its inputs as a CSV file, and a
    labelled CSV file (inputs, then the target)."""
    pytest.importorskip("sklearn")
    from chainrule.sklearn import MLPRegressor

    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a convergence warning is no concern here
        r = MLPRegressor(hidden_layer_sizes=(8,), max_iter=200, random_state=0).fit(X, y)
    path = io.save_model(tmp_path / "skreg", r.network_, loss=r.loss_function_)
    inputs = tmp_path / "x.csv"
    np.savetxt(inputs, X, delimiter=",", fmt="%.17g")
    labelled = tmp_path / "xy.csv"
    np.savetxt(labelled, np.c_[X, y], delimiter=",", fmt="%.17g")
    return path, inputs, labelled, r, X, y


def test_the_premise_mlp_regressor_saves_squared_error_mean(sk_regression):
    path = sk_regression[0]
    _, info = io.load_model(path)
    assert info["loss"] == {"type": "squared-error", "reduction": "mean"}
    assert not info["meta"].get("task") and not info.get("class_names")


def test_predict_prints_an_mlp_regressors_values(sk_regression, capsys):
    path, inputs, _, r, X, _ = sk_regression
    code, out, err = run(capsys, "predict", path, "-i", inputs)
    assert code == 0, err
    rows = list(csv.reader(text_io.StringIO(out)))
    assert rows[0] == ["line", "prediction"]  # one column of values, no class column
    values = np.array([float(row[1]) for row in rows[1:]])
    np.testing.assert_allclose(values, r.predict(X), rtol=1e-9, atol=1e-12)

    code, out, err = run(capsys, "predict", path, "-i", inputs, "--json")
    assert code == 0, err
    predictions = json.loads(out)["predictions"]
    assert all(isinstance(p["prediction"], float) for p in predictions)
    np.testing.assert_allclose([p["prediction"] for p in predictions], r.predict(X), rtol=1e-9)


def test_evaluate_scores_an_mlp_regressor_on_its_targets(sk_regression, capsys):
    path, _, labelled, r, X, y = sk_regression
    code, out, err = run(capsys, "evaluate", path, "--data", labelled, "--json")
    assert code == 0, err
    result = json.loads(out)
    expected = 0.5 * np.mean((y - r.predict(X)) ** 2)  # SquaredError("mean"), in NumPy
    assert result["loss"] == pytest.approx(expected, rel=1e-6)
    code, out, err = run(capsys, "evaluate", path, "--data", labelled)
    assert code == 0, err
    assert re.search(r"loss [0-9.e+-]+ \(squared-error of the targets\)", out), out


@pytest.mark.parametrize(
    ("loss", "task"),
    [
        (nn.SquaredError("mean"), "regression"),
        (nn.MSE(), "regression"),
        ("mse", "regression"),
        ("MSE", "regression"),
        (nn.SquaredError(), None),  # the lecture's summed E: xor's and parity's classifiers
        ("squared-error", None),
        (nn.CrossEntropy(), None),
        (None, None),
    ],
    ids=[
        "squared-error-mean",
        "MSE",
        "mse",
        "MSE-name",
        "squared-error-sum",
        "sum-name",
        "cross-entropy",
        "none",
    ],  # fmt: skip
)
def test_each_spelling_save_model_writes(tmp_path, loss, task):
    """What save_model records for each loss, read back: a squared error averaged over the
    cases is a regression; the summed one, a classifier's loss as often, says nothing."""
    n_out = 2 if isinstance(loss, nn.CrossEntropy) else 1
    path = io.save_model(tmp_path / "m", nn.mlp([2, 3, n_out], output=None, rng=0), loss=loss)
    _, info = io.load_model(path)
    assert saved_task(info) == task


def test_spellings_of_older_files_and_class_names():
    """A loss stored as a name (older files), in another case or with underscores, reads as
    the registry reads it; class names say a classifier; a recorded task wins."""
    assert saved_task({"loss": {"type": "Squared_Error", "reduction": "mean"}}) == "regression"
    assert saved_task({"loss": "mse"}) == "regression"
    assert saved_task({"loss": {"type": "mse"}, "class_names": ["a", "b"]}) is None
    assert saved_task({"loss": {"type": "squared-error", "reduction": "mean"},
                       "meta": {"task": "multilabel"}}) == "multilabel"  # fmt: skip
    assert saved_task({"loss": {"type": "NotRegisteredHere"}}) is None


def test_export_describes_an_mlp_regressors_outputs_as_values(sk_regression, tmp_path, capsys):
    """``chainrule export`` reads the task by predict's rule (``nn.losses.fits_a_regression``):
    its metadata said ``above_threshold`` with a threshold of 0.5 for this model."""
    onnx = pytest.importorskip("onnx")
    path, *_ = sk_regression
    out = tmp_path / "skreg.onnx"
    code, _, err = run(capsys, "export", path, "--format", "onnx", "--out", out)
    assert code == 0, err
    props = {p.key: json.loads(p.value) for p in onnx.load(str(out)).metadata_props}
    assert props["prediction"] == "values"
    assert "threshold" not in props
