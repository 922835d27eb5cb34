"""The fitted network behind an estimator, ``network_``, and a partial_fit y of the wrong kind.

The oracle for ``network_`` is the estimator's own ``predict_proba``/``predict``: the network
must be the model they run (the same parameters as ``coefs_``), and a model saved from it must
predict the same numbers after ``io.load_model``.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import NotFittedError

from chainrule import io, nn
from chainrule.engine import no_grad
from chainrule.sklearn import MLPClassifier, MLPRegressor
from chainrule.tensor import Tensor


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _outputs(network, X):
    with no_grad():
        return np.asarray(network(Tensor(X)).data)


@pytest.fixture
def three_classes():
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0)
    with pytest.warns(Warning):  # not converged in 30 epochs: beside the point here
        clf.fit(X, y)
    return clf, X


def test_network_is_the_model_predict_proba_runs(three_classes):
    clf, X = three_classes
    np.testing.assert_allclose(_softmax(_outputs(clf.network_, X)), clf.predict_proba(X), 1e-12)
    weights = [layer.weight.data for layer in clf.network_ if isinstance(layer, nn.Linear)]
    assert all(w is c for w, c in zip(weights, clf.coefs_, strict=True))


def test_network_follows_assigned_coefficients(three_classes):
    clf, X = three_classes
    clf.coefs_[0] = np.zeros_like(clf.coefs_[0])  # scikit-learn users restore weights so
    hidden = _outputs(clf.network_[:2], X)
    np.testing.assert_allclose(
        hidden, np.broadcast_to(1 / (1 + np.exp(-clf.intercepts_[0])), hidden.shape)
    )


def test_a_saved_network_predicts_as_the_estimator(three_classes, tmp_path):
    clf, X = three_classes
    names = [str(c) for c in clf.classes_]
    io.save_model(tmp_path / "m", clf.network_, loss=nn.CrossEntropy(), class_names=names)
    model, _ = io.load_model(tmp_path / "m")
    np.testing.assert_allclose(_softmax(_outputs(model, X)), clf.predict_proba(X), 1e-12)


def test_a_regressors_network_gives_its_predictions():
    X, _ = make_classification(40, 3, n_informative=3, n_redundant=0, random_state=1)
    y = X @ np.array([1.0, -2.0, 0.5])
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        reg.fit(X, y)
    np.testing.assert_allclose(_outputs(reg.network_, X)[:, 0], reg.predict(X), 1e-12)


def test_no_network_before_fit():
    assert not hasattr(MLPClassifier(), "network_")
    with pytest.raises(NotFittedError):
        MLPRegressor().network_  # noqa: B018


def test_partial_fit_refuses_labels_after_a_multilabel_first_fit():
    X, Y = make_multilabel_classification(40, 5, n_classes=3, random_state=0)
    clf = MLPClassifier(random_state=0).partial_fit(X, Y, classes=[0, 1, 2])
    before = [c.copy() for c in clf.coefs_]
    with pytest.raises(ValueError, match=r"multilabel indicator matrix of 3 columns"):
        clf.partial_fit(X, Y[:, 0])  # LabelBinarizer would one-hot it into the label columns
    for b, c in zip(before, clf.coefs_, strict=True):
        np.testing.assert_array_equal(b, c)
    clf.partial_fit(X, Y)  # the right kind still trains
