"""chainrule.sklearn's estimators take ``sample_weight`` in ``fit`` and ``partial_fit``, with
scikit-learn's semantics (its MLPs take it since 1.7): each case's output delta times its
weight, the data loss and the ``alpha`` penalty over the batch's sum of weights, the reported
loss a weighted average, early stopping's validation score weighted.

fit(X, y, sample_weight=w) was Python's bare TypeError ("unexpected keyword argument"), and
cross_val_score(..., params={"sample_weight": w}) "All the 3 fits failed". Oracles:
scikit-learn's MLP from the same weights with the same sample_weight; integer weights against
repeated rows and zero weights against dropped rows (full-batch descent); scikit-learn's
metrics with sample_weight on the held-out cases.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

from chainrule.sklearn import MLPClassifier, MLPRegressor

CASES = ("binary", "multiclass", "multilabel", "regression")


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(case: str, n: int = 31, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = {
        "binary": rng.integers(0, 2, n),
        "multiclass": rng.integers(0, 3, n),
        "multilabel": rng.integers(0, 2, (n, 3)),
        "regression": rng.normal(size=(n, 2)),
    }[case]
    weights = rng.uniform(0.0, 3.0, n)
    weights[[2, 11]] = 0.0  # zero weights inside a batch
    return X, y, weights


def _makers(case: str):
    if case == "regression":
        return MLPRegressor, SklearnMLPRegressor
    return MLPClassifier, SklearnMLPClassifier


def _same_start(case, X, y, **params):
    """Ours and scikit-learn's, fitted once unweighted, ours given scikit-learn's weights."""
    ours_make, theirs_make = _makers(case)
    # activation named: the defaults differ (chainrule's "logistic", scikit-learn's "relu")
    common = dict(shuffle=False, random_state=0, warm_start=True, max_iter=1, **params)
    common.setdefault("activation", "tanh")
    theirs, ours = theirs_make(**common).fit(X, y), ours_make(**common).fit(X, y)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        mine[...] = their  # coefs_ are the network's own arrays: this sets its weights
    for model in (ours, theirs):  # partial_fit then starts a fresh optimizer, as fit does
        del model._optimizer
    return ours, theirs


def _assert_same_weights(ours, theirs, rtol=1e-12, atol=1e-13):
    assert len(ours.coefs_) == len(theirs.coefs_)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=rtol, atol=atol)


SOLVERS = {
    "sgd": dict(solver="sgd", momentum=0.0, learning_rate_init=0.1),
    "sgd-nesterov": dict(solver="sgd", momentum=0.9, learning_rate_init=0.05),
    # a tiny epsilon: scikit-learn's Adam adds it to sqrt(v), chainrule's to sqrt(v_hat)
    "adam": dict(solver="adam", learning_rate_init=0.01, epsilon=1e-30),
}


@pytest.mark.parametrize("hidden", [(5,), ()], ids=["hidden", "no-hidden"])
@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("case", CASES)
def test_weighted_fit_matches_sklearns_mlp(case, solver, hidden):
    """Mini-batches of 7 of 31 cases (the last batch of 3), alpha, 6 epochs: the same weights,
    loss curve and predictions as scikit-learn's MLP with the same sample_weight."""
    X, y, w = _data(case)
    params = dict(hidden_layer_sizes=hidden, activation="tanh", batch_size=7, alpha=0.05,
                  **SOLVERS[solver])  # fmt: skip
    ours, theirs = _same_start(case, X, y, **params)
    for model in (ours, theirs):
        model.set_params(max_iter=6).fit(X, y, sample_weight=w)
    _assert_same_weights(ours, theirs)
    np.testing.assert_allclose(ours.loss_curve_[-6:], theirs.loss_curve_[-6:], rtol=1e-12)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("case", ["multiclass", "regression"])
def test_weighted_partial_fit_matches_sklearns_mlp(case):
    X, y, w = _data(case)
    ours, theirs = _same_start(case, X, y, hidden_layer_sizes=(4,), solver="sgd",
                               learning_rate_init=0.1, batch_size=10, alpha=0.01)  # fmt: skip
    for _ in range(3):
        for model in (ours, theirs):
            model.partial_fit(X, y, sample_weight=w)
    _assert_same_weights(ours, theirs)
    np.testing.assert_allclose(ours.loss_curve_[-3:], theirs.loss_curve_[-3:], rtol=1e-12)


def test_the_classifiers_partial_fit_takes_sample_weight_third_as_sklearns():
    X, y, w = _data("multiclass")
    ours, theirs = _same_start("multiclass", X, y, hidden_layer_sizes=(4,), solver="sgd")
    ours.partial_fit(X, y, w, [0, 1, 2])  # scikit-learn's order: sample_weight, then classes
    theirs.partial_fit(X, y, w, [0, 1, 2])
    _assert_same_weights(ours, theirs)
    # a first call with sample_weight but no classes says what is missing
    with pytest.raises(ValueError, match=r"pass classes=.*sample_weight"):
        MLPClassifier(hidden_layer_sizes=(3,)).partial_fit(X, y, np.unique(y))


FULL_BATCH = {
    "sgd": dict(solver="sgd", momentum=0.9, learning_rate_init=0.05),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}


@pytest.mark.parametrize("solver", list(FULL_BATCH))
@pytest.mark.parametrize("case", CASES)
def test_integer_weights_are_repeated_rows_in_full_batch_descent(case, solver):
    X, y, _ = _data(case, n=20)
    counts = np.random.default_rng(1).integers(1, 4, len(X))
    make = _makers(case)[0]
    common = dict(hidden_layer_sizes=(5,), shuffle=False, max_iter=8, alpha=0.02,
                  random_state=0, **FULL_BATCH[solver])  # fmt: skip
    weighted = make(batch_size=len(X), **common).fit(X, y, sample_weight=counts)
    repeated = make(batch_size=int(counts.sum()), **common)
    repeated.fit(np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0))
    _assert_same_weights(weighted, repeated, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-11)


@pytest.mark.parametrize("case", CASES)
def test_a_zero_weight_drops_its_row_in_full_batch_descent(case):
    X, y, w = _data(case, n=20)
    make = _makers(case)[0]
    common = dict(hidden_layer_sizes=(5,), shuffle=False, max_iter=8, alpha=0.02,
                  solver="sgd", learning_rate_init=0.1, random_state=0)  # fmt: skip
    kept = w > 0
    assert not kept.all()
    weighted = make(batch_size=len(X), **common).fit(X, y, sample_weight=w)
    dropped = make(batch_size=int(kept.sum()), **common)
    dropped.fit(X[kept], y[kept], sample_weight=w[kept])
    _assert_same_weights(weighted, dropped, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, dropped.loss_curve_, rtol=1e-11)
    # a constant weight c cancels in the data loss's weighted mean, but the penalty is over the
    # sum of the weights, c n, as c copies of each row would have it: alpha / c unweighted
    constant = make(batch_size=len(X), **common).fit(X, y, sample_weight=2.5)
    plain = make(batch_size=len(X), **{**common, "alpha": 0.02 / 2.5}).fit(X, y)
    _assert_same_weights(constant, plain, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ["multiclass", "regression"])
def test_a_mini_batch_of_zero_weights_is_skipped(case):
    """scikit-learn's MLP divides by the batch's sum of weights, 0, and raises
    ZeroDivisionError ("Weights sum to zero"); here the batch, with nothing to learn from, takes
    no step and counts in no epoch's loss: the fit is the one without those rows."""
    X, y, w = _data(case, n=25)
    w[:5] = 0.0  # the first batch of 5
    make = _makers(case)[0]
    common = dict(hidden_layer_sizes=(4,), shuffle=False, max_iter=4, batch_size=5,
                  random_state=0, learning_rate_init=0.05)  # fmt: skip
    skipping = make(**common).fit(X, y, sample_weight=w)
    without = make(**common).fit(X[5:], y[5:], sample_weight=w[5:])
    _assert_same_weights(skipping, without, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(skipping.loss_curve_, without.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_early_stopping_scores_the_held_out_cases_with_their_weights(make):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 2, 60) if make is MLPClassifier else rng.normal(size=60)
    w = rng.uniform(0.0, 5.0, 60)
    model = make(hidden_layer_sizes=(4,), max_iter=1, early_stopping=True,
                 validation_fraction=0.3, random_state=0)  # fmt: skip
    model.fit(X, y, sample_weight=w)
    held = model._held_out["validation"]  # the cases the one epoch was scored on
    metric = accuracy_score if make is MLPClassifier else r2_score
    weighted = metric(y[held], model.predict(X[held]), sample_weight=w[held])
    assert weighted != metric(y[held], model.predict(X[held]))  # the weights matter here
    assert model.validation_scores_ == [pytest.approx(weighted, rel=1e-12)]


def test_a_warm_fit_with_other_weights_forgets_the_best_validation_score():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, 60)
    w = rng.uniform(0.5, 2.0, 60)
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, early_stopping=True,
                          random_state=0, warm_start=True)  # fmt: skip
    model.fit(X, y, sample_weight=w)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*forgotten")
        model.fit(X, y, sample_weight=w)  # the same weights: the best score carries over
    with pytest.warns(UserWarning, match="sample_weight is not the one it was fitted with"):
        model.fit(X, y, sample_weight=w[::-1].copy())


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-1.0, r"sample_weight holds negative weights \(-1\.0 at row 3\)"),
        (np.nan, "sample_weight.*NaN"),
        (np.inf, "sample_weight.*infinity"),
        ("short", r"sample_weight has 9 weights, but X has 10 rows"),
        ("2-D", r"sample_weight must be 1-D .* shape \(10, 1\)"),
        ("zeros", "sample_weight.*at least one non-zero"),
        ("words", "sample_weight"),
    ],
)
@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_bad_sample_weights_are_refused_naming_the_problem(make, weights, message):
    """Refused before the fit changes anything: a fitted model stays as it was."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 2))
    y = np.arange(10) % 2 if make is MLPClassifier else rng.normal(size=10)
    model = make(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    before = [a.copy() for a in model.coefs_ + model.intercepts_]
    curve = list(model.loss_curve_)
    w = np.ones(10)
    if isinstance(weights, float):
        w[3] = weights
    else:
        w = {"short": np.ones(9), "2-D": np.ones((10, 1)), "zeros": np.zeros(10),
             "words": np.array(["a"] * 10)}[weights]  # fmt: skip
    for fit in (model.fit, model.partial_fit):
        with pytest.raises(ValueError, match=f"{make.__name__}: .*{message}"):
            fit(X, y, sample_weight=w)
    for now, then in zip(model.coefs_ + model.intercepts_, before):
        np.testing.assert_array_equal(now, then)
    assert model.loss_curve_ == curve


def test_cross_val_score_passes_sample_weight_to_fit():
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(60, 3)), np.arange(60) % 2, rng.uniform(0.5, 2.0, 60)
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    scores = cross_val_score(model, X, y, cv=KFold(3), params={"sample_weight": w})
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_the_classes_given_third_on_a_later_call_warn_that_they_are_weights():
    """Review 2: partial_fit(X, y, classes) as written before scikit-learn 1.7's order was,
    on a later call, refused without a word of classes or, where the batch had as many rows
    as classes, taken silently as weights (the first row weighing 0)."""
    X = np.random.default_rng(0).normal(size=(2, 3))
    y = np.array([0, 1])
    model = MLPClassifier(hidden_layer_sizes=(3,), random_state=0)
    model.partial_fit(X, y, classes=[0, 1])
    with pytest.warns(UserWarning, match=r"sample_weight=\[0, 1\] is the classes.*by name"):
        model.partial_fit(X, y, np.array([0, 1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.partial_fit(X, y, classes=[0, 1])
        model.partial_fit(X, y, np.array([1.0, 2.0]))
