"""loss_ and loss_curve_ are scikit-learn's numbers, computed as it computes them: its log loss
clips the probabilities to [eps, 1 - eps] (eps of the dtype), so a confidently wrong case counts
-log(eps), not its exact cross-entropy; ``tol`` compares these numbers. The oracle is the
installed scikit-learn MLP started from the same weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.preprocessing import StandardScaler

from chainrule.sklearn import MLPClassifier


def _same_start(common, X, y, scale=1.0):
    """scikit-learn's MLP and ours after one warm epoch each, ours then given scikit-learn's
    weights (the output layer's times ``scale``, to make confident answers), both warm."""
    theirs = SklearnMLPClassifier(**common).fit(X, y)
    ours = MLPClassifier(**common).fit(X, y)
    theirs.coefs_[-1] *= scale
    theirs.intercepts_[-1] *= scale
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        mine[...] = their  # coefs_ are the network's own arrays: this sets its weights
    ours.best_loss_, ours._no_improvement_count = theirs.best_loss_, theirs._no_improvement_count
    return theirs, ours


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", ["binary", "multiclass", "multilabel"])
def test_a_saturated_step_reports_sklearns_clipped_log_loss(case, dtype):
    """Logits of +-hundreds: many probabilities below eps. The reported loss is scikit-learn's
    clipped one (the exact cross-entropy, reported before, is far larger), and the step taken is
    still the exact gradient's, as scikit-learn's is."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype(dtype)
    y = {
        "binary": rng.integers(0, 2, 40),
        "multiclass": rng.integers(0, 3, 40),
        "multilabel": rng.integers(0, 2, (40, 3)),
    }[case]
    common = dict(hidden_layer_sizes=(5,), activation="tanh", solver="sgd", momentum=0.0,
                  batch_size=40, shuffle=False, alpha=0.01, learning_rate_init=1e-3, max_iter=1,
                  random_state=0, warm_start=True)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs, ours = _same_start(common, X, y, scale=300.0)
        theirs.fit(X, y)
        ours.fit(X, y)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=rtol)
    np.testing.assert_allclose(ours.loss_curve_[-1], theirs.loss_curve_[-1], rtol=rtol)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=100 * rtol, atol=100 * rtol)


def test_the_loss_curve_and_stopping_epoch_are_sklearns_with_relu_units():
    """The QA report's case: relu units, sgd at a learning rate of 0.5 drive some probabilities
    below eps in the fourth epoch (scikit-learn 3.928, chainrule reported 6.473)."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    common = dict(hidden_layer_sizes=(6, 4), random_state=0, shuffle=False, max_iter=1,
                  activation="relu", solver="sgd", learning_rate_init=0.5, batch_size=20,
                  tol=0.1, n_iter_no_change=2, warm_start=True)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs, ours = _same_start(common, X, y)
        theirs.set_params(max_iter=30)
        ours.set_params(max_iter=30)
        theirs.fit(X, y)
        ours.fit(X, y)
    assert max(theirs.loss_curve_) > 3.0  # the saturated epoch is in the curve
    # the first epoch (before the same weights were set) differs: the warm fit's epochs follow
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-9)
    assert ours.n_iter_ == theirs.n_iter_
