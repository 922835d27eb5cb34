"""chainrule.sklearn's estimators and a DataFrame's column names, as scikit-learn's own MLPs treat
them (``feature_names_in_`` set at fit, other names or order refused at predict and score, an
array without names warned about), and the column names carried into the saved model as the
docs say; and the early-stopping split, stratified for several classes where scikit-learn's is
not, as the docstring says. Oracles: scikit-learn's MLPs on the same data and their messages,
the saved model's refusal of another column order, and the split each library asks for."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

import chainrule.sklearn.base as base
from chainrule import io, nn
from chainrule.sklearn import MLPClassifier, MLPRegressor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error, run  # noqa: E402

NAMES = ["age", "height", "weight"]
SMALL = dict(hidden_layer_sizes=(3,), max_iter=3, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(n=60):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int), X @ [1.0, -1.0, 0.5]


@pytest.mark.parametrize(
    ("ours", "theirs", "target"),
    [(MLPClassifier, SkMLPClassifier, 1), (MLPRegressor, SkMLPRegressor, 2)],
    ids=["classifier", "regressor"],
)
def test_a_frames_names_are_checked_as_scikit_learn_checks_them(ours, theirs, target):
    pd = pytest.importorskip("pandas")
    X, *ys = _data()
    frame, y = pd.DataFrame(X, columns=NAMES), ys[target - 1]
    model, oracle = ours(**SMALL).fit(frame, y), theirs(**SMALL).fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, oracle.feature_names_in_)
    assert list(model.feature_names_in_) == NAMES
    reordered = frame[["height", "age", "weight"]]
    for method in ("predict", "score"):
        args = (reordered,) if method == "predict" else (reordered, y)
        with pytest.raises(ValueError) as ours_error:
            getattr(model, method)(*args)
        with pytest.raises(ValueError) as their_error:
            getattr(oracle, method)(*args)
        assert "feature names should match" in str(ours_error.value)
        assert str(ours_error.value) == str(their_error.value)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict(X)
    assert not hasattr(ours(**SMALL).fit(frame, y).fit(X, y), "feature_names_in_")  # forgotten


def _named_fit(tmp_path):
    """A classifier fitted with column names (by pandas where it is installed; else named as
    such a fit names it, feature_names_in_ set by hand), saved as the module docstring says."""
    X, y, _ = _data()
    try:
        import pandas as pd
    except ImportError:
        clf = MLPClassifier(**SMALL).fit(X, y)
        clf.feature_names_in_ = np.array(NAMES, dtype=object)
    else:
        clf = MLPClassifier(**SMALL).fit(pd.DataFrame(X, columns=NAMES), y)
    path = io.save_model(tmp_path / "model", clf.network_, loss=nn.BinaryCrossEntropy(),
                         class_names=[str(c) for c in clf.classes_],
                         meta={"feature_names": list(clf.feature_names_in_)})  # fmt: skip
    return clf, path, X


def test_the_saved_model_keeps_the_names_and_predict_checks_them(tmp_path, capsys):
    clf, model, X = _named_fit(tmp_path)
    assert io.load_model(model)[1]["meta"]["feature_names"] == NAMES
    rows = np.round(X[:3], 4)
    same = tmp_path / "same.csv"
    same.write_text(",".join(NAMES) + "\n" + "\n".join(",".join(map(str, r)) for r in rows))
    code, out, err = run(capsys, "predict", "--model", model, "--input", same)
    assert code == 0, err
    # the command line decides as the estimator does
    predicted = [int(line.split(",")[1]) for line in out.strip().splitlines()[1:]]
    with warnings.catch_warnings():  # rows without names, as the file's are
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        assert predicted == clf.predict(rows).tolist()
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("height,age,weight\n" + "\n".join(f"{b},{a},{c}" for a, b, c in rows))
    refused = "column 1 is named 'height', but the model's input 1 is 'age'"
    assert_user_error(capsys, "predict", "--model", model, "--input", swapped, match=refused)


@pytest.fixture
def split_asked(monkeypatch):
    """The ``stratify`` each early-stopping fit passes to train_test_split, ours and
    scikit-learn's, as (library, stratify) pairs."""
    import sklearn.neural_network._multilayer_perceptron as theirs

    asked = []

    def spy(library, split):
        def wrapped(*arrays, stratify=None, **options):
            asked.append((library, None if stratify is None else np.asarray(stratify)))
            return split(*arrays, stratify=stratify, **options)

        return wrapped

    monkeypatch.setattr(base, "train_test_split", spy("chainrule", base.train_test_split))
    monkeypatch.setattr(theirs, "train_test_split", spy("sklearn", theirs.train_test_split))
    return asked


def _early(cls, X, y):
    return cls(hidden_layer_sizes=(3,), max_iter=2, early_stopping=True, random_state=0).fit(X, y)


def test_several_classes_are_split_stratified_where_scikit_learn_splits_at_random(split_asked):
    X, _, _ = _data(90)
    y = np.arange(90) % 3
    _early(MLPClassifier, X, y)
    _early(SkMLPClassifier, X, y)
    (ours, stratify), (theirs, their_stratify) = split_asked
    assert (ours, theirs) == ("chainrule", "sklearn")
    np.testing.assert_array_equal(stratify, y)  # each case's class
    assert their_stratify is None  # scikit-learn 1.9: not for several classes (n_outputs_ > 1)
    doc = " ".join(MLPClassifier.__doc__.split())
    assert "stratified split" in doc and "for several classes as well as for two" in doc


def test_two_classes_are_split_stratified_by_both(split_asked):
    X, y, _ = _data()
    _early(MLPClassifier, X, y)
    _early(SkMLPClassifier, X, y)
    (_, stratify), (_, their_stratify) = split_asked
    np.testing.assert_array_equal(stratify, y)
    np.testing.assert_array_equal(np.ravel(their_stratify), y)


@pytest.mark.parametrize("case", ["a class of one case", "multilabel"])
def test_a_split_that_cannot_be_stratified_is_a_random_one(split_asked, case):
    X, _, _ = _data(60)
    y = np.arange(60) % 3
    if case == "multilabel":
        y = np.eye(3, dtype=int)[y]
    else:
        y[y == 2], y[0] = 1, 2  # class 2 has one case: scikit-learn's stratified split raises
    model = _early(MLPClassifier, X, y)
    assert split_asked == [("chainrule", None)] and model.n_iter_ == 2
