"""solver='sgd', learning_rate='adaptive': a learning rate cut on the last epoch still ends an
unconverged run, which warns as scikit-learn's MLPClassifier does."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLP  # noqa: E402

from chainrule.sklearn import MLPClassifier  # noqa: E402


def _fit(cls, max_iter: int):
    """QA's setup: weights set by hand, then ``max_iter`` epochs of adaptive sgd (the rate is
    cut in epoch 9); the warnings of that fit, its epochs, its rate and its weights."""
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    model = cls(hidden_layer_sizes=(5,), activation="logistic", solver="sgd",
                learning_rate="adaptive", learning_rate_init=0.05, batch_size=16, shuffle=False,
                max_iter=1, random_state=0, warm_start=True, tol=0.05, n_iter_no_change=2,
                alpha=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    rng = np.random.default_rng(0)
    model.coefs_ = [rng.normal(size=a.shape) * 0.5 for a in model.coefs_]
    model.intercepts_ = [rng.normal(size=a.shape) * 0.5 for a in model.intercepts_]
    model.best_loss_ = np.inf
    model._no_improvement_count = 0
    model.set_params(max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    optimizer = model._optimizer
    lr = optimizer.learning_rate if cls is SkMLP else optimizer.lr
    warned = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    return model.n_iter_, lr, bool(warned), model.coefs_[0]


@pytest.mark.parametrize("max_iter", [6, 9, 40])
def test_adaptive_sgd_warns_as_scikit_learn_when_the_rate_is_cut_last(max_iter):
    ours = _fit(MLPClassifier, max_iter)
    theirs = _fit(SkMLP, max_iter)
    assert ours[0] == theirs[0]
    assert ours[1] == pytest.approx(theirs[1])
    assert ours[2] == theirs[2]
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-6, atol=1e-8)
    if max_iter == 9:  # the case that was wrong: cut in the last epoch, then no warning
        assert ours[2]
