"""scikit-learn compatibility polish of ``chainrule.sklearn`` (session 70).

- Its warnings begin with scikit-learn's own words, so the message filters written for
  scikit-learn's MLP (which match from the start) take them; the oracle is scikit-learn's
  ``MLPClassifier`` itself, warning under the same parameters.
- A refused parameter is a TypeError as well as a ValueError, as scikit-learn's
  ``InvalidParameterError`` is; the oracle is scikit-learn's estimator refusing the same value.
- A fitted ``StandardScaler`` (a pipeline's first step) is taken as a model file's and
  ``to_onnx``'s standardizer; the oracle is the pipeline's ``predict_proba``.
- The module docstring says how to number class labels for ``cr.explain``; the oracle for the
  numbering is the estimator's own label binarizer (what the fit trained on).
"""

from __future__ import annotations

import csv
import io as text_io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.sklearn as crsk  # noqa: E402
from chainrule import io  # noqa: E402
from chainrule.errors import ConfigError, ConversionError  # noqa: E402
from chainrule.sklearn import InvalidParameterError, MLPClassifier, MLPRegressor  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402


def _data(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [3.0, 0.5, 2.0] + [10.0, -1.0, 4.0]
    return X, rng.integers(0, 3, n)


def _warnings_of(estimator, X, y) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    return caught


def _only(caught, category) -> warnings.WarningMessage:
    found = [w for w in caught if w.category is category]  # ConvergenceWarning is a UserWarning
    assert len(found) == 1, [str(w.message) for w in caught]
    return found[0]


# -- 1. the warnings begin with scikit-learn's words ---------------------------------------------
@pytest.mark.parametrize(
    "params, category",
    [
        ({"max_iter": 2}, "ConvergenceWarning"),
        ({"max_iter": 3, "batch_size": 500}, "UserWarning"),
    ],
)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_warning_begins_with_scikit_learns_message(params, category, kind):
    from sklearn import exceptions

    category = getattr(exceptions, category, UserWarning)
    X, y = _data()
    theirs_cls = {
        "classifier": neural_network.MLPClassifier,
        "regressor": neural_network.MLPRegressor,
    }
    ours_cls = {"classifier": MLPClassifier, "regressor": MLPRegressor}
    target = y if kind == "classifier" else y.astype(float)
    common = dict(hidden_layer_sizes=(4,), random_state=0, **params)
    expected = _only(_warnings_of(theirs_cls[kind](**common), X, target), category)
    got = _only(_warnings_of(ours_cls[kind](**common), X, target), category)
    assert got.category is expected.category
    message = str(got.message)
    assert message.startswith(str(expected.message)), (message, str(expected.message))
    assert ours_cls[kind].__name__ in message  # and then chainrule's own facts
    assert "\n" not in message


def test_scikit_learns_message_filters_take_the_warnings():
    X, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", message="Stochastic Optimizer")
        warnings.filterwarnings("ignore", message="Got `batch_size`")
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, batch_size=500, random_state=0).fit(X, y)
    assert not caught, [str(w.message) for w in caught]


# -- 2. refused parameters are TypeErrors too, as scikit-learn's are ----------------------------
BAD = [
    ("alpha", -1.0, "alpha must be a number"),
    ("solver", "lbfgsx", "solver='lbfgsx' is not one of"),
    ("activation", "softplus", "activation='softplus' is not one of"),
    ("batch_size", 0, "batch_size must be 'auto' or an integer >= 1"),
    ("max_iter", 0, "max_iter must be an integer >= 1"),
    ("shuffle", "yes", "shuffle must be a bool"),
    ("random_state", "seed", "random_state must be None"),
    ("hidden_layer_sizes", "relu", "hidden_layer_sizes must be an int or a sequence"),
    ("learning_rate_init", 0.0, "learning_rate_init must be a number"),
]


@pytest.mark.parametrize("param, value, words", BAD)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_refused_parameter_is_a_type_error_as_in_scikit_learn(param, value, words, method):
    X, y = _data()
    with pytest.raises(TypeError) as theirs:  # the oracle: scikit-learn's fit refuses it so
        neural_network.MLPClassifier(**{param: value}).fit(X, y)
    assert isinstance(theirs.value, ValueError)
    ours = MLPClassifier(**{param: value})
    with pytest.raises(TypeError, match=words) as caught:  # its own words kept
        getattr(ours, method)(X, y, **({"classes": [0, 1, 2]} if method == "partial_fit" else {}))
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, InvalidParameterError)
    assert not hasattr(ours, "coefs_")


def test_a_regressors_refused_loss_is_a_type_error_as_in_scikit_learn():
    X, y = _data()
    with pytest.raises(TypeError):
        neural_network.MLPRegressor(loss="absolute_error").fit(X, y.astype(float))
    with pytest.raises(TypeError, match="loss='absolute_error' is not one of") as caught:
        MLPRegressor(loss="absolute_error").fit(X, y.astype(float))
    assert isinstance(caught.value, ValueError)
    with pytest.raises(TypeError, match="'poisson'"):  # scikit-learn's, which chainrule lacks
        MLPRegressor(loss="poisson").fit(X, y.astype(float))


def test_invalid_parameter_error_is_exported():
    assert "InvalidParameterError" in crsk.__all__
    assert issubclass(crsk.InvalidParameterError, ValueError)
    assert issubclass(crsk.InvalidParameterError, TypeError)


# -- 3. a fitted StandardScaler is a standardizer ------------------------------------------------
@pytest.fixture
def pipeline():
    X, y = _data(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged: beside the point
        pipe = make_pipeline(
            StandardScaler(), MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0)
        ).fit(X, y)
    return pipe, X


def test_a_model_saved_with_a_pipelines_scaler_predicts_as_the_pipeline(pipeline, tmp_path, capsys):
    pipe, X = pipeline
    clf = pipe[-1]
    path = io.save_model(
        tmp_path / "m", clf.network_, loss=clf.loss_function_,
        class_names=[str(c) for c in clf.classes_], standardizer=pipe[0],
    )  # fmt: skip
    _, info = io.load_model(path)
    np.testing.assert_array_equal(info["standardizer"]["mean"], pipe[0].mean_)
    np.testing.assert_array_equal(info["standardizer"]["std"], pipe[0].scale_)
    inputs = tmp_path / "x.csv"
    np.savetxt(inputs, X, delimiter=",", fmt="%.17g")  # raw rows, as the pipeline takes them
    code, out, err = run(capsys, "predict", path, "-i", inputs, "--json")
    assert code == 0, err
    outputs = np.array([p["outputs"] for p in json.loads(out)["predictions"]])
    np.testing.assert_allclose(outputs, pipe.predict_proba(X), rtol=1e-9, atol=1e-12)
    code, out, err = run(capsys, "predict", path, "-i", inputs)
    assert code == 0, err
    labels = [row[1] for row in list(csv.reader(text_io.StringIO(out)))[1:]]
    assert labels == [str(c) for c in pipe.predict(X)]


def test_to_onnx_takes_a_pipelines_scaler_as_the_state_it_amounts_to(pipeline):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    pipe, X = pipeline
    clf = pipe[-1]
    state = {"mean": pipe[0].mean_.tolist(), "std": pipe[0].scale_.tolist()}
    proto = cr.interop.to_onnx(clf.network_, loss=clf.loss_function_, standardizer=pipe[0])
    same = cr.interop.to_onnx(clf.network_, loss=clf.loss_function_, standardizer=state)
    assert proto.SerializeToString() == same.SerializeToString()
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": X})[0]
    np.testing.assert_allclose(got, pipe.predict_proba(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "scaler, words",
    [
        (StandardScaler(with_mean=False), "with_mean=False"),
        (StandardScaler(with_std=False), "with_std=False"),
        (StandardScaler(with_mean=False, with_std=False), "with_mean=False and with_std=False"),
    ],
)
def test_a_scaler_that_does_not_centre_and_scale_is_refused(scaler, words, tmp_path):
    X, _ = _data()
    scaler.fit(X)
    model = cr.nn.Sequential(cr.nn.Linear(3, 2, rng=0))
    with pytest.raises(ConfigError, match=f"StandardScaler with {words} ") as caught:
        io.save_model(tmp_path / "m", model, standardizer=scaler)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "m").exists()
    pytest.importorskip("onnx")
    with pytest.raises(ConversionError, match=f"^to_onnx: standardizer: .*{words} "):
        cr.interop.to_onnx(model, standardizer=scaler)


def test_an_unfitted_scaler_is_refused_naming_it(tmp_path):
    model = cr.nn.Sequential(cr.nn.Linear(3, 2, rng=0))
    with pytest.raises(ConfigError, match="the StandardScaler is not fitted"):
        io.save_model(tmp_path / "m", model, standardizer=StandardScaler())
    pytest.importorskip("onnx")
    with pytest.raises(ConversionError, match="^to_onnx: standardizer: the StandardScaler is not"):
        cr.interop.to_onnx(model, standardizer=StandardScaler())


def test_other_standardizers_are_refused_naming_the_scaler_too(tmp_path):
    model = cr.nn.Sequential(cr.nn.Linear(3, 2, rng=0))
    with pytest.raises(ConfigError, match="Standardizer or scikit-learn StandardScaler.*ndarray"):
        io.save_model(tmp_path / "m", model, standardizer=np.zeros(3))


# -- 4. numbering class labels for cr.explain ----------------------------------------------------
@pytest.mark.parametrize("names", [["virginica", "setosa", "versicolor"], ["yes", "no"]])
def test_the_docstrings_numbering_of_labels_is_the_fits(names):
    X, y = _data(60)
    labels = np.array(names, dtype=object)[y % len(names)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, labels)
    assert "np.searchsorted(clf.classes_, y)" in crsk.__doc__
    t = np.searchsorted(clf.classes_, labels)
    trained = clf._label_binarizer.transform(labels)  # the targets the fit descended to
    expected = trained.argmax(axis=1) if trained.shape[1] > 1 else trained[:, 0]
    np.testing.assert_array_equal(t, expected)
    derivation = cr.explain(clf.network_, X[:2], t[:2], clf.loss_function_)
    assert derivation is not None
