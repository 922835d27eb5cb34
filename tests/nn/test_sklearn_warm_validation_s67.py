"""A warm fit with early stopping keeps the earlier fit's held-out cases held out.

Each fit drew early stopping's validation split afresh (an int random_state too: the first fit
drew the weights from the generator before the split, a warm fit did not), while
best_validation_score_ and its weights carried over: the warm fit scored the network on cases
it had been trained on, against a best measured on other cases. The oracle is instrumentation,
as the QA tester's: which rows each epoch's validation score reads and which rows the steps
train on, the rows of X told apart by their values.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score

from chainrule.sklearn import MLPClassifier, MLPRegressor


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _noise(make, n=200, seed=0):
    """Rows of distinct values, and targets of pure noise: honest validation accuracy ~0.5
    (R^2 <= ~0), and a network that learns its training cases by heart scores high on them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10))
    y = rng.integers(0, 2, n) if make is MLPClassifier else rng.normal(size=n)
    return X, y


class _Watch:
    """The rows (indices into X) that each validation score reads, and that the steps train on."""

    def __init__(self, monkeypatch, make, X):
        self.index = {row.tobytes(): k for k, row in enumerate(X)}
        self.scored: list[frozenset[int]] = []
        self.trained: set[int] = set()
        score, step = make._validation_score, make._step

        def watched_score(model, X_val, Y_val):
            self.scored.append(self.rows(X_val))
            return score(model, X_val, Y_val)

        def watched_step(model, X_batch, Y_batch, cases=None):
            self.trained |= self.rows(X_batch)
            return step(model, X_batch, Y_batch, cases)

        monkeypatch.setattr(make, "_validation_score", watched_score)
        monkeypatch.setattr(make, "_step", watched_step)

    def rows(self, X_part) -> frozenset[int]:
        return frozenset(self.index[row.astype(np.float64).tobytes()] for row in X_part)

    def take(self) -> tuple[frozenset[int], set[int]]:
        """The one set of rows scored since the last take (all epochs the same), and the rows
        trained on."""
        scored, trained = set(self.scored), self.trained
        assert len(scored) == 1, "one fit scored several sets of rows"
        self.scored, self.trained = [], set()
        return scored.pop(), trained


def _score(model, X, y, rows):
    rows = sorted(rows)
    if isinstance(model, MLPClassifier):
        return accuracy_score(y[rows], model.predict(X[rows]))
    return r2_score(y[rows], model.predict(X[rows]))


@pytest.mark.parametrize("random_state", [0, None, "RandomState"])
@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_a_warm_fit_scores_the_rows_the_first_fit_held_out(monkeypatch, make, random_state):
    X, y = _noise(make)
    if random_state == "RandomState":
        random_state = np.random.RandomState(3)
    model = make(hidden_layer_sizes=(64,), activation="relu", learning_rate_init=0.01,
                 max_iter=60, n_iter_no_change=60, early_stopping=True,
                 validation_fraction=0.3, warm_start=True, random_state=random_state)  # fmt: skip
    watch = _Watch(monkeypatch, make, X)
    model.fit(X, y)
    held_out, trained = watch.take()
    assert len(held_out) == 60 and not held_out & trained and len(trained) == 140
    model.set_params(max_iter=3).fit(X, y)
    scored_again, trained_again = watch.take()
    assert not scored_again & trained  # none of fit 1's training cases is scored
    assert scored_again == held_out and trained_again == trained
    # honest: the best score is the kept network's score on the rows held out from both fits
    assert model.best_validation_score_ == pytest.approx(_score(model, X, y, held_out))
    assert model.best_validation_score_ == max(model.validation_scores_)


@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_the_held_out_rows_do_not_depend_on_the_network_s_size(monkeypatch, make):
    """The split has a generator of its own: with one random_state, networks of other sizes
    (other numbers of initial weights drawn before it) are early-stopped on the same cases."""
    X, y = _noise(make)
    watch = _Watch(monkeypatch, make, X)
    held = []
    for sizes in [(3,), (40,), (8, 8)]:
        make(hidden_layer_sizes=sizes, max_iter=2, early_stopping=True, random_state=0).fit(X, y)
        held.append(watch.take()[0])
    assert held[0] == held[1] == held[2]


@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_a_warm_fit_on_other_data_forgets_the_earlier_best_and_says_so(monkeypatch, make):
    X, y = _noise(make)
    model = make(hidden_layer_sizes=(32,), max_iter=20, learning_rate_init=0.01,
                 early_stopping=True, warm_start=True, random_state=0)  # fmt: skip
    model.fit(X[:150], y[:150])
    weights = [a.copy() for a in model.coefs_]
    watch = _Watch(monkeypatch, make, X)
    with pytest.warns(UserWarning, match="X or y is not the data it was fitted on") as said:
        model.set_params(max_iter=2).fit(X[50:], y[50:])
    assert "best_validation_score_" in str(said[0].message)
    scored, _ = watch.take()
    # the best is this fit's own, on the rows it held out; the weights are one of its epochs'
    assert model.best_validation_score_ == max(model.validation_scores_[-2:])
    assert model.best_validation_score_ == pytest.approx(_score(model, X, y, scored))
    assert not all(np.array_equal(a, b) for a, b in zip(model.coefs_, weights))
    # another validation_fraction holds out other rows too
    with pytest.warns(UserWarning, match="validation_fraction is 0.2, not 0.1"):
        model.set_params(validation_fraction=0.2).fit(X[50:], y[50:])
    # the same data again: the same rows, nothing to say; a cold fit starts afresh, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # a UserWarning too
        model.fit(X[50:], y[50:])
        model.set_params(warm_start=False).fit(X, y)
