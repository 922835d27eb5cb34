"""chainrule.sklearn: scikit-learn's own estimator checks, and behaviour against scikit-learn's MLP.

The estimator checks run on small networks with few iterations (the checks test the API, not
the learning); the accuracy tests compare with ``sklearn.neural_network`` on the same data.
"""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule.engine import no_grad
from chainrule.sklearn import MLPClassifier, MLPRegressor
from chainrule.tensor import Tensor

SMALL = dict(hidden_layer_sizes=(8,), max_iter=30, learning_rate_init=0.01, random_state=0)
# check_regressors_train asks for R^2 > 0.5 on its data: 60 epochs get there
SMALL_REGRESSOR = {**SMALL, "max_iter": 60}

CHECKED = [
    MLPClassifier(**SMALL),
    MLPRegressor(**SMALL_REGRESSOR),
    MLPClassifier(**{**SMALL, "solver": "sgd", "learning_rate_init": 0.1}),
    MLPRegressor(**{**SMALL_REGRESSOR, "solver": "sgd", "learning_rate_init": 0.05}),
    MLPClassifier(**{**SMALL, "solver": "rmsprop", "dtype": "float32"}),
    MLPRegressor(**{**SMALL_REGRESSOR, "solver": "rmsprop", "dtype": "float32"}),
    # the checks fit on as few as 10 cases: a fifth of them keeps two validation cases (one is
    # refused, as scikit-learn's own MLP refuses it)
    MLPClassifier(
        **{**SMALL, "early_stopping": True, "validation_fraction": 0.2, "activation": "tanh"}
    ),
    MLPRegressor(
        **{
            **SMALL_REGRESSOR,
            "early_stopping": True,
            "validation_fraction": 0.2,
            "activation": "relu",
        }  # fmt: skip
    ),
]

# Not strict: whether these two checks pass depends on the weights a fit happens to reach and
# on the BLAS kernel, not on anything chainrule does. They have passed (xpassed) with the
# suite's two float32 configurations since the mark was made (commit 0a43941, the first
# estimators, OpenBLAS 0.3.31 on x86 under every OPENBLAS_CORETYPE from Prescott to SkylakeX),
# but MLPRegressor(hidden_layer_sizes=(8,), solver="rmsprop", dtype="float32", max_iter=30)
# fails check_methods_subset_invariance there, and on 300 rows one row at a time differs from
# the batch by up to 4.8e-7 (Haswell kernels; reordered rows by up to 2.4e-7, 0 with
# SkylakeX's): a float32 network's last bits, no error of its own.
FLOAT32_REASON = (
    "dtype='float32' computes in float32 whatever the input: BLAS sums a row's products in an "
    "order that depends on the batch (and on the CPU's kernel), so predicting on a subset or in "
    "another order may differ in the last bit (~1e-7 relative), which is the checks' tolerance"
)


EARLY_STOPPING_REASON = (
    "partial_fit with early_stopping=True raises ValueError, in scikit-learn's words, as "
    "scikit-learn's own MLP does; these checks call partial_fit"
)


#: Why a weighted fit cannot equal one on rows repeated by their weights (a check scikit-learn
#: runs on an estimator whose fit takes sample_weight), where it holds in float64 without a split
WEIGHTED_FLOAT32_REASON = (
    "the weighted and the repeated-rows fits add the gradient's terms in other orders: float32's "
    "last bits, grown over 30-60 RMSprop epochs (5e-5 relative), past the check's 1e-7"
)
WEIGHTED_SPLIT_REASON = (
    "repeating rows changes which cases early stopping's validation split holds out, so the "
    "weighted fit validates on others; scikit-learn's own MLP fails this check alike"
)


def expected_failures(estimator) -> dict[str, str]:
    """Checks that cannot hold for this configuration, each with the reason."""
    weighted = "check_sample_weight_equivalence_on_dense_data"
    if estimator.dtype == "float32":
        return {
            "check_methods_subset_invariance": FLOAT32_REASON,
            "check_methods_sample_order_invariance": FLOAT32_REASON,
            weighted: WEIGHTED_FLOAT32_REASON,
        }
    if estimator.early_stopping:
        return {
            **{
                check: EARLY_STOPPING_REASON
                for check in (
                    "check_fit_score_takes_y",
                    "check_n_features_in_after_fitting",
                    "check_estimators_partial_fit_n_features",
                )
            },
            weighted: WEIGHTED_SPLIT_REASON,
        }
    return {}


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failures, xfail_strict=False)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- learning, against scikit-learn's own MLP -------------------------------------------------
@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def test_digits_accuracy_in_sklearns_ballpark(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    params = dict(hidden_layer_sizes=(64,), activation="logistic", max_iter=100, random_state=0)
    ours = MLPClassifier(**params).fit(X_train, y_train).score(X_test, y_test)
    theirs = SklearnMLPClassifier(**params).fit(X_train, y_train).score(X_test, y_test)
    assert ours > 0.92
    assert abs(ours - theirs) < 0.03, (ours, theirs)


def test_iris_pipeline_accuracy_in_sklearns_ballpark():
    X, y = load_iris(return_X_y=True)
    params = dict(hidden_layer_sizes=(10,), max_iter=300, learning_rate_init=0.01, random_state=0)
    ours = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(**params)), X, y, cv=3)
    theirs = cross_val_score(
        make_pipeline(StandardScaler(), SklearnMLPClassifier(activation="logistic", **params)),
        X,
        y,
        cv=3,
    )
    assert ours.mean() > 0.9
    assert abs(ours.mean() - theirs.mean()) < 0.05, (ours, theirs)


def test_regressor_r2():
    X, y = make_regression(n_samples=300, n_features=5, noise=5.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y / y.std(), random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(20,), learning_rate_init=0.01, max_iter=300,
                       random_state=0).fit(X_train, y_train)  # fmt: skip
    assert reg.score(X_test, y_test) > 0.95
    assert reg.predict(X_test).shape == (len(X_test),)


@pytest.mark.parametrize("case", ["binary", "multiclass", "multilabel", "regression"])
def test_one_sgd_step_matches_sklearn(case):
    """Same weights, one full-batch plain gradient step: the same loss and the same new weights
    as scikit-learn's MLP, so our loss (data term and alpha penalty) and gradient are theirs."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = {
        "binary": rng.integers(0, 2, 30),
        "multiclass": rng.integers(0, 3, 30),
        "multilabel": rng.integers(0, 2, (30, 3)),
        "regression": rng.normal(size=(30, 2)),
    }[case]
    common = dict(hidden_layer_sizes=(5,), activation="logistic", solver="sgd", momentum=0.0,
                  batch_size=30, shuffle=False, alpha=0.01, learning_rate_init=0.5, max_iter=1,
                  random_state=0, warm_start=True)  # fmt: skip
    Sk = SklearnMLPRegressor if case == "regression" else SklearnMLPClassifier
    Ours = MLPRegressor if case == "regression" else MLPClassifier
    theirs, ours = Sk(**common).fit(X, y), Ours(**common).fit(X, y)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        mine[...] = their  # coefs_ are the network's own arrays: this sets its weights
    theirs.fit(X, y)
    ours.fit(X, y)
    # the reported loss is theirs too (for regression the data term over the outputs), so that
    # tol stops where theirs does
    np.testing.assert_allclose(ours.loss_curve_[-1], theirs.loss_curve_[-1], rtol=1e-10)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-10)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X))


# -- the API's promises --------------------------------------------------------------------------
def test_same_random_state_same_network_different_state_different_network():
    X, y = load_iris(return_X_y=True)
    a = MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=3).fit(X, y)
    b = MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=3).fit(X, y)
    c = MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=4).fit(X, y)
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_partial_fit_equals_fit_epoch_by_epoch():
    X, y = load_iris(return_X_y=True)
    params = dict(hidden_layer_sizes=(6,), batch_size=32, random_state=0, n_iter_no_change=100)
    fitted = MLPClassifier(max_iter=5, **params).fit(X, y)
    stepped = MLPClassifier(**params)
    for _ in range(5):
        stepped.partial_fit(X, y, classes=np.unique(y))
    assert stepped.n_iter_ == 1 and stepped.t_ == 5 * len(X)  # n_iter_: this call's epochs
    np.testing.assert_allclose(stepped.loss_curve_, fitted.loss_curve_, rtol=1e-12)
    for a, b in zip(stepped.coefs_, fitted.coefs_):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_needs_classes_first_and_rejects_new_labels():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    with pytest.raises(ValueError, match="classes="):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])  # a batch need not hold every class
    assert list(clf.classes_) == [0, 1, 2] and clf.predict_proba(X).shape == (150, 3)
    with pytest.raises(ValueError, match=r"labels \[3\] not seen .*classes_ is \[0, 1, 2\]$"):
        clf.partial_fit(X, y + 1)  # plain numbers: NumPy 2 showed [np.int64(3)]


def test_partial_fit_regressor_lowers_the_loss():
    X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(10,), learning_rate_init=0.01, random_state=0)
    for _ in range(30):
        reg.partial_fit(X, y / y.std())
    assert len(reg.loss_curve_) == 30 and reg.loss_curve_[-1] < 0.5 * reg.loss_curve_[0]


def test_warm_start_continues_and_cold_start_restarts():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0, n_iter_no_change=50)
    clf.fit(X, y)
    first = [w.copy() for w in clf.coefs_]
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 10  # this fit's epochs; the whole curve
    assert clf.loss_curve_[5] < clf.loss_curve_[0]  # continued from the trained weights
    clf.set_params(warm_start=False).fit(X, y)
    assert clf.n_iter_ == 5
    for a, b in zip(clf.coefs_, first):
        np.testing.assert_array_equal(a, b)


def test_warm_start_with_another_architecture_is_an_error():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=2, random_state=0, warm_start=True)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="layer sizes"):
        clf.set_params(hidden_layer_sizes=(7,)).fit(X, y)


def test_early_stopping_keeps_the_best_validation_weights(digits_split):
    X_train, _, y_train, _ = digits_split
    clf = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, n_iter_no_change=3,
                        learning_rate_init=0.05, max_iter=200, random_state=0)  # fmt: skip
    clf.fit(X_train, y_train)
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # the weights kept are the best epoch's, not the last one's: refit up to that epoch
    best_epoch = int(np.argmax(clf.validation_scores_)) + 1
    again = clf.__class__(**{**clf.get_params(), "early_stopping": True, "max_iter": best_epoch})
    again.fit(X_train, y_train)
    for a, b in zip(again.coefs_, clf.coefs_):
        np.testing.assert_array_equal(a, b)


def test_dtypes_follow_the_input_or_the_dtype_parameter():
    X, y = load_iris(return_X_y=True)
    args = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    assert MLPClassifier(**args).fit(X, y).coefs_[0].dtype == np.float64
    assert MLPClassifier(**args).fit(X.astype(np.float32), y).coefs_[0].dtype == np.float32
    clf = MLPClassifier(dtype="float32", **args).fit(X, y)
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float64  # outputs follow the input's dtype
    reg = MLPRegressor(dtype="float64", **args).fit(X.astype(np.float32), y.astype(np.float32))
    assert reg.coefs_[0].dtype == np.float64


def test_probabilities_and_labels():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=200,
                        random_state=0).fit(X, names)  # fmt: skip
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert clf.score(X, names) > 0.9
    binary = MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, random_state=0)
    binary.fit(X, y == 0)
    assert binary.predict_proba(X).shape == (150, 2) and binary.out_activation_ == "logistic"


def test_multilabel_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.05, max_iter=200,
                        random_state=0).fit(X, Y)  # fmt: skip
    assert clf.predict(X).shape == (200, 2) and clf.predict_proba(X).shape == (200, 2)
    assert (clf.predict(X) == Y).mean() > 0.95


def test_pickle_round_trip_keeps_coefs_tied_to_the_network():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    before = copy.coefs_[0].copy()
    copy.partial_fit(X, y)
    assert not np.array_equal(copy.coefs_[0], before)  # training still moves coefs_
    copy.coefs_[0][...] = 0.0
    copy.coefs_[1][...] = 0.0
    copy.intercepts_[1][...] = 0.0
    np.testing.assert_allclose(copy.predict_proba(X), 1.0 / 3.0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(activation="softplus"), "activation='softplus'"),
        (dict(solver="lbfgs"), "solver='lbfgs'"),
        (dict(hidden_layer_sizes=(3, 0)), "hidden_layer_sizes"),
        (dict(batch_size=0), "batch_size"),
        (dict(learning_rate_init=0.0), "learning_rate_init"),
        (dict(momentum=1.5), "momentum"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(max_iter=0), "max_iter"),
        (dict(dtype="float16"), "dtype"),
        # a string is not a bool: "False" would have turned early stopping on
        (dict(early_stopping="False"), "early_stopping must be a bool"),
        (dict(shuffle="no"), "shuffle must be a bool"),
        (dict(warm_start="no"), "warm_start must be a bool"),
        (dict(nesterovs_momentum="no"), "nesterovs_momentum must be a bool"),
        (dict(verbose="yes"), "verbose must be a bool"),
        (dict(hidden_layer_sizes=True), "hidden_layer_sizes"),  # not one hidden unit
        (dict(hidden_layer_sizes=(3, True)), "hidden_layer_sizes"),
    ],
)
def test_bad_parameters_are_named_at_fit(params, message):
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(**params)  # nothing is checked in __init__, as scikit-learn asks
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        clf.fit(X, y)


def test_verbose_prints_the_loss(capsys):
    X, y = load_iris(return_X_y=True)
    MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    assert "Iteration 2, loss = " in capsys.readouterr().out


@pytest.mark.parametrize("ours", [True, False], ids=["chainrule", "scikit-learn"])
def test_n_iter_counts_each_call_and_a_warm_refit_warns_at_max_iter(ours):
    """The same behaviour from both: n_iter_ is the epochs of the last call (a warm refit's
    too, so its max_iter warning fires), and a partial_fit is one epoch."""
    X, y = load_iris(return_X_y=True)
    make = MLPClassifier if ours else SklearnMLPClassifier
    clf = make(hidden_layer_sizes=(4,), max_iter=3, warm_start=True, random_state=0, tol=0)
    for _ in range(2):
        with pytest.warns(ConvergenceWarning):
            clf.fit(X, y)
        assert clf.n_iter_ == 3
    online = make(hidden_layer_sizes=(4,), random_state=0)
    for _ in range(3):
        online.partial_fit(X, y, classes=[0, 1, 2])
    assert online.n_iter_ == 1


@pytest.mark.parametrize("ours", [True, False], ids=["chainrule", "scikit-learn"])
def test_partial_fit_refuses_other_classes_than_the_first_calls(ours):
    X, y = load_iris(return_X_y=True)
    make = MLPClassifier if ours else SklearnMLPClassifier
    clf = make(hidden_layer_sizes=(4,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="classes=.*not the same"):
        clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same classes in another order are fine


@pytest.mark.parametrize("ours", [True, False], ids=["chainrule", "scikit-learn"])
@pytest.mark.parametrize("refit", ["fit", "partial_fit"])
@pytest.mark.parametrize("keep", [[0, 1], [0, 1, 2, 3]], ids=["fewer", "more"])
def test_a_warm_refit_refuses_other_classes_than_the_first_fits(ours, refit, keep):
    """warm_start=True: y must hold exactly the first fit's classes (the output units are
    theirs), in scikit-learn's words; without warm_start a partial_fit takes fewer."""
    X, y = load_iris(return_X_y=True)
    y = np.where(np.arange(150) % 10 == 0, 3, y)  # four classes, 0..3
    make = MLPClassifier if ours else SklearnMLPClassifier
    params = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    clf = make(warm_start=True, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[y < 3], y[y < 3])  # classes 0, 1, 2
        rows = np.isin(y, keep)
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
            getattr(clf, refit)(X[rows], y[rows])
        assert list(clf.classes_) == [0, 1, 2] and clf.coefs_[-1].shape == (4, 3)
        cold = make(**params).fit(X[y < 3], y[y < 3])
        cold.partial_fit(X[y < 2], y[y < 2])  # a batch without class 2
        assert list(cold.classes_) == [0, 1, 2]


def test_the_regressors_out_activation_is_set_by_fit_as_in_sklearn():
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    assert not hasattr(MLPRegressor(), "out_activation_")
    assert not hasattr(SklearnMLPRegressor(), "out_activation_")
    fitted = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert fitted.fit(X, y).out_activation_ == "identity"


@pytest.mark.parametrize("estimator", ["regressor", "classifier"])
def test_early_stopping_refuses_a_validation_set_of_one_case(estimator):
    """As scikit-learn's own MLP does: with one validation case (R^2 is NaN) no epoch looked
    better than the start, and fit silently returned the initial weights."""
    from chainrule.sklearn import MLPClassifier, MLPRegressor

    X = np.random.default_rng(0).normal(size=(10, 3))
    y = X @ [1.0, -2.0, 0.5] if estimator == "regressor" else np.arange(10) % 2
    cls = MLPRegressor if estimator == "regressor" else MLPClassifier
    model = cls(hidden_layer_sizes=(4,), max_iter=20, random_state=0, early_stopping=True)
    with pytest.raises(ValueError, match="The validation set is too small"):
        model.fit(X, y)
    if estimator == "regressor":  # the same message as scikit-learn's own
        theirs = SklearnMLPRegressor(hidden_layer_sizes=(4,), max_iter=20, early_stopping=True)
        with pytest.raises(ValueError, match="The validation set is too small"):
            theirs.fit(X, y)


def test_numpy_bools_and_verbose_levels_are_accepted_as_in_sklearn():
    X, y = load_iris(return_X_y=True)
    MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0, early_stopping=np.True_,
                  shuffle=np.False_, verbose=0).fit(X, y)  # fmt: skip


# the diverging products overflow on the way, as in scikit-learn: NumPy says so, then the fit
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("ours", [True, False], ids=["chainrule", "scikit-learn"])
def test_a_fit_that_diverges_raises_as_sklearns(ours):
    """Non-finite weights are an error, not a model that predicts NaN (scikit-learn's words)."""
    X = np.random.RandomState(0).randn(60, 4)
    y = X[:, 0] * 100
    make = MLPRegressor if ours else SklearnMLPRegressor
    params = dict(hidden_layer_sizes=(5,), activation="relu", solver="sgd",
                  learning_rate_init=1.0, max_iter=50, random_state=0)  # fmt: skip
    reg = make(**params)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        reg.fit(X * 100, y)
    if ours:
        assert reg.n_iter_ < 50  # stopped at the epoch the weights went, not after max_iter
    online = make(**params)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        for _ in range(50):
            online.partial_fit(X * 100, y)


def _relu_network(X, coefs, intercepts):
    """scikit-learn's forward pass of a one-hidden-layer relu regressor (identity output)."""
    return (np.maximum(X @ coefs[0] + intercepts[0], 0.0) @ coefs[1] + intercepts[1]).ravel()


@pytest.mark.parametrize("ours", [True, False], ids=["chainrule", "scikit-learn"])
def test_assigned_coefs_and_intercepts_are_the_model(ours):
    """Assigning coefs_ / intercepts_ (or one of their arrays) sets the weights, as in
    scikit-learn, where they are the model."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), rng.normal(size=40)
    make = MLPRegressor if ours else SklearnMLPRegressor
    reg = make(hidden_layer_sizes=(5,), activation="relu", max_iter=5, random_state=0).fit(X, y)
    reg.coefs_ = [np.zeros_like(w) for w in reg.coefs_]
    reg.intercepts_ = [np.full_like(b, 3.0) for b in reg.intercepts_]
    np.testing.assert_allclose(reg.predict(X), 3.0)
    coefs = [rng.normal(size=(4, 5)), rng.normal(size=(5, 1))]
    intercepts = [rng.normal(size=5), rng.normal(size=1)]
    reg.coefs_ = [w.copy() for w in coefs]
    reg.intercepts_[0] = intercepts[0].copy()  # one item of the list
    reg.intercepts_[1] = intercepts[1].copy()
    np.testing.assert_allclose(reg.predict(X), _relu_network(X, coefs, intercepts))


def test_a_warm_fit_continues_from_assigned_weights_as_sklearns():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    common = dict(hidden_layer_sizes=(5,), activation="relu", solver="sgd", momentum=0.0,
                  batch_size=30, shuffle=False, learning_rate_init=0.1, max_iter=1,
                  random_state=0, warm_start=True)  # fmt: skip
    theirs = SklearnMLPRegressor(**common).fit(X, y)
    ours = MLPRegressor(**{**common, "random_state": 1}).fit(X, y)  # other weights
    ours.coefs_ = [w.copy() for w in theirs.coefs_]
    ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
    theirs.fit(X, y)
    ours.fit(X, y)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=1e-9, atol=1e-12)


def test_assigning_weights_of_another_shape_or_count_is_an_error():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    clf.coefs_ = [np.zeros((4, 4)), np.zeros((4, 2))]
    with pytest.raises(ValueError, match=r"coefs_\[1\] has shape \(4, 2\).*\(4, 3\)"):
        clf.predict(X)
    clf.coefs_ = [np.zeros((4, 4))]
    with pytest.raises(ValueError, match="coefs_ holds 1 arrays .* 2 layers"):
        clf.predict(X)
    clf.coefs_ = [np.zeros((4, 4)), np.zeros((4, 3))]
    clf.intercepts_ = clf.intercepts_[:1]
    with pytest.raises(ValueError, match="intercepts_ holds 1 arrays"):
        clf.set_params(warm_start=True).fit(X, y)
    # nothing was written: the network still gives the fitted model's probabilities
    with no_grad():
        logits = clf._network(Tensor(X)).data
    np.testing.assert_allclose(softmax(logits, axis=1), before)


@pytest.mark.parametrize("ours", [True, False], ids=["chainrule", "scikit-learn"])
@pytest.mark.parametrize("refit", ["fit", "partial_fit"])
def test_a_warm_fit_takes_the_activation_set_since(ours, refit):
    """set_params(activation=...) then a warm fit: the same weights under the new units, as
    scikit-learn reads activation at every pass."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), rng.normal(size=40)
    make = MLPRegressor if ours else SklearnMLPRegressor
    reg = make(hidden_layer_sizes=(5,), activation="logistic", max_iter=20, random_state=0,
               warm_start=True).fit(X, y)  # fmt: skip
    getattr(reg.set_params(activation="relu"), refit)(X, y)
    np.testing.assert_allclose(reg.predict(X), _relu_network(X, reg.coefs_, reg.intercepts_))


@pytest.mark.parametrize("refit", ["fit", "partial_fit"])
def test_a_warm_fit_takes_the_dtype_set_since(refit):
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0, warm_start=True,
                        learning_rate_init=1e-12)  # fmt: skip
    clf.fit(X, y)
    weights = [a.astype(np.float32) for a in clf.coefs_ + clf.intercepts_]
    getattr(clf.set_params(dtype="float32"), refit)(X, y)
    assert all(a.dtype == np.float32 for a in clf.coefs_ + clf.intercepts_)
    for a, b in zip(clf.coefs_ + clf.intercepts_, weights):  # the same weights, converted
        np.testing.assert_allclose(a, b, rtol=1e-6)
    before = clf.coefs_[0].copy()
    clf.set_params(learning_rate_init=0.01).fit(X, y)  # a new optimizer, the same arrays
    assert not np.array_equal(clf.coefs_[0], before)  # coefs_ still the network's own arrays
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X.astype(np.float32)))


@pytest.mark.parametrize("ours", [True, False], ids=["chainrule", "scikit-learn"])
def test_multiclass_multioutput_targets_are_refused_with_sklearns_words(ours):
    rng = np.random.RandomState(0)
    X, y = rng.randn(1000, 3), rng.randint(0, 3, (1000, 2))
    make = MLPClassifier if ours else SklearnMLPClassifier
    with pytest.raises(ValueError, match="(?i)multioutput target data is not supported"):
        make(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)


def test_warm_fits_keep_the_epochs_without_improvement_as_sklearn_does():
    """The oracle: scikit-learn's MLP from the same weights, fit warm three times. It counts
    epochs without improvement across warm fits and so stops inside the third; chainrule reset
    the count every fit and never stopped."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, 40)
    common = dict(hidden_layer_sizes=(7,), activation="tanh", solver="sgd", momentum=0.0,
                  batch_size=10, shuffle=False, max_iter=1, learning_rate_init=0.05,
                  random_state=0, tol=10.0, n_iter_no_change=3)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs, ours = SklearnMLPClassifier(**common).fit(X, y), MLPClassifier(**common).fit(X, y)
        for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
            mine[...] = their
        for model in (theirs, ours):
            model.set_params(warm_start=True, max_iter=2)
        for _ in range(3):
            theirs.fit(X, y)
            ours.fit(X, y)
            assert (ours.n_iter_, ours._no_improvement_count) == (
                theirs.n_iter_, theirs._no_improvement_count
            )  # fmt: skip
    assert ours.n_iter_ == 1  # it stopped inside the third fit
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=1e-9, atol=1e-12)


def test_a_warm_fit_with_early_stopping_must_beat_the_earlier_best():
    """As scikit-learn keeps best_validation_score_ and its weights across warm fits: a warm fit
    whose epochs are all worse (a learning rate that wrecks the network) ends on the earlier
    best weights, not on its own best (the best score was reset to -inf every fit)."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = MLPClassifier(hidden_layer_sizes=(6,), solver="sgd", learning_rate_init=0.1,
                          max_iter=40, early_stopping=True, validation_fraction=0.2,
                          n_iter_no_change=40, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        best, weights = model.best_validation_score_, [a.copy() for a in model.coefs_]
        # 500, not 50: at 50 the first wrecked epoch scored 0.97 on the held-out cases
        model.set_params(warm_start=True, learning_rate_init=500.0, max_iter=3)
        model.fit(X, y)
    assert max(model.validation_scores_[-3:]) < best  # the wrecked epochs were all worse
    assert model.best_validation_score_ == best
    for now, then in zip(model.coefs_, weights):
        np.testing.assert_array_equal(now, then)


def test_partial_fit_with_early_stopping_is_refused_as_sklearn_refuses_it():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        SklearnMLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    for model, args in [(MLPClassifier(early_stopping=True), (X, y, None, [0, 1, 2])),
                        (MLPRegressor(early_stopping=True), (X, X[:, 0]))]:  # fmt: skip
        with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
            model.partial_fit(*args)
        assert not hasattr(model, "coefs_")  # refused before anything was made


def test_one_class_is_refused_naming_the_label_as_written():
    """The message showed NumPy 2's repr of the label (np.int64(0)), unlike the others."""
    X = np.zeros((4, 2))
    for y, shown in [(np.zeros(4, dtype=np.int64), "(0)"), (np.array(["cat"] * 4), "('cat')")]:
        with pytest.raises(ValueError, match=re.escape(f"y has only one class {shown}; a class")):
            MLPClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(X, y)


def test_labels_outside_classes_are_named_as_plain_values():
    X = np.zeros((3, 2))  # the message read [np.str_('emu')] ... classes=[np.str_('cat'), ...]
    with pytest.raises(
        ValueError, match=r"y holds labels \['emu'\] that are not in classes=\['cat', 'dog'\]"
    ):
        MLPClassifier().partial_fit(X, np.array(["cat", "dog", "emu"]), classes=["cat", "dog"])


def test_a_refused_fit_leaves_a_fitted_classifier_as_it_was():
    """A refit on one class set classes_ to it before refusing, beside the old 3-class network:
    predict failed, predict_proba gave three columns for one class, and a later partial_fit
    named a "first call" that never trained. Oracle: the model's answers before the refit."""
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
        before = model.predict_proba(X)
        with pytest.raises(ValueError, match="y has only one class"):
            model.fit(X, np.full(150, 5))
        assert list(model.classes_) == [0, 1, 2]
        np.testing.assert_array_equal(model.predict_proba(X), before)
        fresh = MLPClassifier(max_iter=5, random_state=0)
        with pytest.raises(ValueError, match="y has only one class"):
            fresh.fit(X, np.full(150, 5))
        fresh.partial_fit(X, y, classes=[2, 0, 1])  # its first call: any classes
        assert list(fresh.classes_) == [0, 1, 2]
        with pytest.raises(ValueError, match=re.escape("classes=[0, 1] is not the same as on "
                                                       "the first call ([0, 1, 2])")):  # fmt: skip
            fresh.partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize("values", [["1", "2"], ["a", "b"]])
def test_a_regressor_refuses_a_target_of_strings_naming_y(values):
    """A <U1 target trained silently (numeric-looking strings cast to floats) or raised NumPy's
    "could not convert string to float" (QA, s58); scikit-learn's own regressor refuses it
    too. The refusal names y and leaves an earlier fit untouched."""
    X = np.random.default_rng(0).random((20, 3))
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, X[:, 0])
    before = model.predict(X)
    y = np.array(values)[np.arange(20) % 2]
    with pytest.raises(ValueError, match=r"^MLPRegressor: y holds values of dtype <U1"):
        model.fit(X, y)
    np.testing.assert_array_equal(model.predict(X), before)
