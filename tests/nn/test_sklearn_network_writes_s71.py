"""Weights written through an estimator's ``network_`` and through ``coefs_`` / ``intercepts_``.

``network_`` holds the very parameters ``predict`` runs: a write through it (``p.data = ...``
included, which gives the parameter another array) is the model from then on, and ``coefs_``
follows it; an assignment to ``coefs_`` (scikit-learn's way to set weights) is the model too.
Where both sides were replaced since they were last in step, the estimator refuses rather than
pick one. Oracles: the network's own outputs (``predict_proba`` is their softmax), scikit-learn's
MLPClassifier given the same weights, and scikit-learn's warm fit from the same weights.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.datasets import load_iris
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

from chainrule import nn
from chainrule.engine import no_grad
from chainrule.sklearn import MLPClassifier, MLPRegressor
from chainrule.tensor import Tensor


@pytest.fixture
def fitted():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged: beside the point
        clf = MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", max_iter=50,
                            random_state=0).fit(X, y)  # fmt: skip
    return clf, X, y


def _probabilities(network, X):
    with no_grad():
        return softmax(np.asarray(network(Tensor(X)).data), axis=1)


def _shifted(network, shift):
    return {name: value + shift for name, value in network.state_dict().items()}


def _replace_data(net, shift):
    for p in net.parameters():
        p.data = p.data + shift


def _write_into_data(net, shift):
    for p in net.parameters():
        p.data[...] = p.data + shift


def _load_state_dict(net, shift):
    net.load_state_dict(_shifted(net, shift))


def _vector_to_parameters(net, shift):
    nn.vector_to_parameters(nn.parameters_to_vector(net) + shift, net)


def _new_parameter(net, shift):
    layer = net[0]
    layer.weight = nn.Parameter(layer.weight.data + shift)


WRITES = [_replace_data, _write_into_data, _load_state_dict, _vector_to_parameters, _new_parameter]


@pytest.mark.parametrize("write", WRITES, ids=lambda f: f.__name__.strip("_"))
def test_a_write_through_network_is_the_model_and_stays(fitted, write):
    clf, X, _ = fitted
    net = clf.network_
    before = clf.predict_proba(X)
    write(net, 0.3)
    written = nn.parameters_to_vector(net)
    np.testing.assert_allclose(clf.predict_proba(X), _probabilities(net, X), rtol=1e-12)
    assert np.abs(clf.predict_proba(X) - before).max() > 1e-3  # the write changed the model
    np.testing.assert_array_equal(nn.parameters_to_vector(net), written)  # and was not undone
    np.testing.assert_array_equal(nn.parameters_to_vector(clf.network_), written)
    layers = [layer for layer in net if isinstance(layer, nn.Linear)]
    assert all(c is layer.weight.data for c, layer in zip(clf.coefs_, layers, strict=True))
    assert all(b is layer.bias.data for b, layer in zip(clf.intercepts_, layers, strict=True))


def _assign_list(clf, coefs, intercepts):
    clf.coefs_ = [w.copy() for w in coefs]
    clf.intercepts_ = [b.copy() for b in intercepts]


def _assign_items(clf, coefs, intercepts):
    for index, (w, b) in enumerate(zip(coefs, intercepts)):
        clf.coefs_[index] = w.copy()
        clf.intercepts_[index] = b.copy()


def _write_into_items(clf, coefs, intercepts):
    for index, (w, b) in enumerate(zip(coefs, intercepts)):
        clf.coefs_[index][...] = w
        clf.intercepts_[index][...] = b


@pytest.mark.parametrize("assign", [_assign_list, _assign_items, _write_into_items],
                         ids=lambda f: f.__name__.strip("_"))  # fmt: skip
def test_assigned_coefs_are_the_model_as_in_sklearn(fitted, assign):
    clf, X, y = fitted
    net = clf.network_  # held before the assignment: it must follow too
    rng = np.random.default_rng(1)
    coefs = [rng.normal(size=w.shape) for w in clf.coefs_]
    intercepts = [rng.normal(size=b.shape) for b in clf.intercepts_]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SklearnMLPClassifier(hidden_layer_sizes=(8,), activation="tanh",
                                      max_iter=1).fit(X, y)  # fmt: skip
    assign(theirs, coefs, intercepts)
    assign(clf, coefs, intercepts)
    np.testing.assert_allclose(clf.predict_proba(X), theirs.predict_proba(X), rtol=1e-10)
    np.testing.assert_allclose(_probabilities(net, X), theirs.predict_proba(X), rtol=1e-10)


def test_the_later_write_wins_where_the_estimator_ran_between(fitted):
    clf, X, _ = fitted
    net = clf.network_
    _replace_data(net, 0.3)
    clf.predict_proba(X)  # in step again: coefs_ holds the network's new arrays
    np.testing.assert_array_equal(clf.coefs_[0], net[0].weight.data)
    clf.coefs_[0] = np.zeros_like(clf.coefs_[0])
    np.testing.assert_allclose(clf.predict_proba(X), _probabilities(net, X), rtol=1e-12)
    np.testing.assert_array_equal(net[0].weight.data, 0.0)
    net[0].weight.data = np.ones_like(net[0].weight.data)
    np.testing.assert_allclose(clf.predict_proba(X), _probabilities(net, X), rtol=1e-12)
    np.testing.assert_array_equal(clf.coefs_[0], 1.0)


def test_both_sides_replaced_is_refused_and_changes_nothing(fitted):
    clf, X, _ = fitted
    net = clf.network_
    clf.coefs_[0] = np.zeros_like(clf.coefs_[0])
    net[0].weight.data = np.ones_like(net[0].weight.data)
    with pytest.raises(ValueError, match=r"coefs_\[0\] was assigned and .* network_\[0\]\.weight"):
        clf.predict_proba(X)
    np.testing.assert_array_equal(net[0].weight.data, 1.0)
    np.testing.assert_array_equal(clf.coefs_[0], 0.0)
    clf.coefs_[0] = net[0].weight.data  # say which: the network's array
    np.testing.assert_allclose(clf.predict_proba(X), _probabilities(net, X), rtol=1e-12)


def test_a_write_through_the_network_of_an_unpickled_estimator(fitted):
    clf, X, _ = fitted
    clf = pickle.loads(pickle.dumps(clf))
    net = clf.network_
    _replace_data(net, 0.3)
    expected = _probabilities(net, X)  # the written weights' probabilities
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)


def test_a_warm_fit_continues_from_weights_written_through_the_network_as_sklearns():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    common = dict(hidden_layer_sizes=(5,), activation="relu", solver="sgd", momentum=0.0,
                  batch_size=30, shuffle=False, learning_rate_init=0.1, max_iter=1,
                  random_state=0, warm_start=True)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SklearnMLPRegressor(**common).fit(X, y)
        ours = MLPRegressor(**{**common, "random_state": 1}).fit(X, y)  # other weights
        layers = [layer for layer in ours.network_ if isinstance(layer, nn.Linear)]
        for layer, w, b in zip(layers, theirs.coefs_, theirs.intercepts_, strict=True):
            layer.weight.data = w.copy()
            layer.bias.data = b.copy()
        theirs.fit(X, y)
        ours.fit(X, y)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=1e-9, atol=1e-12)
