"""chainrule.sklearn's estimators refitted and reconfigured after a fit: a refused fit leaves the
model as it was, predict reads the parameters scikit-learn's predict reads, errors name the
user's class, and dtype takes NumPy's types. Oracles: the model's own state and answers
before the refused fit, scikit-learn's MLPs with the same weights, and its messages."""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

from chainrule.sklearn import MLPClassifier, MLPRegressor

FIRST_FIT = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # predict on plain arrays after the stand-in DataFrame fit below warns so
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        yield


def _iris():
    return load_iris(return_X_y=True)


def _regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    return X, X @ [1.0, -2.0, 0.5, 0.0]


def _with_nan(y):
    y = y.astype(float)
    y[3] = np.nan
    return y


# (estimator, parameters set before the refit, the refit's X and y from the first fit's);
# the refit's X has 2 features, not 4, so that an n_features_in_ set too early shows
REFUSED_REFITS = {
    "random_state not a seed": (MLPClassifier, dict(random_state="not a seed"),
                                lambda X, y: (X[:, :2], y % 2), "not a seed"),
    "random_state negative": (MLPRegressor, dict(random_state=-1),
                              lambda X, y: (X[:, :2], y), re.escape("2**32 - 1")),
    "one class": (MLPClassifier, {}, lambda X, y: (X[:, :2], np.full(len(y), 7)),
                  "only one class"),
    "y of another length": (MLPClassifier, {}, lambda X, y: (X[:, :2], y[:10]),
                            "inconsistent numbers of samples"),
    "NaN in y": (MLPRegressor, {}, lambda X, y: (X[:, :2], _with_nan(y)), "NaN"),
    "validation set of one case": (MLPClassifier,
                                   dict(early_stopping=True, validation_fraction=0.01),
                                   lambda X, y: (X[::3, :2], y[::3]),
                                   "validation set is too small"),
    "validation set of one case, warm": (MLPRegressor, dict(early_stopping=True, warm_start=True,
                                                            validation_fraction=0.01),
                                         lambda X, y: (X, y), "validation set is too small"),
    "no samples left to train on": (MLPClassifier,
                                    dict(early_stopping=True, validation_fraction=0.9),
                                    lambda X, y: (X[[0, 1, 50, 51, 100, 101], :2],
                                                  y[[0, 1, 50, 51, 100, 101]]),
                                    "n_samples=6"),
}  # fmt: skip


def _state(model):
    """What a refused fit must not change: every fitted attribute's value (copied), which
    objects the private ones are (the network, its optimizer, the label binarizer, the
    generator), and the generator's state."""
    params = model.get_params(deep=False)
    fitted = {key: copy.deepcopy(value) for key, value in vars(model).items()
              if key not in params and not key.startswith("_")}  # fmt: skip
    private = {key: value for key, value in vars(model).items() if key.startswith("_")}
    return fitted, private, copy.deepcopy(model._random.bit_generator.state)


@pytest.mark.parametrize("case", list(REFUSED_REFITS))
def test_a_refused_refit_leaves_the_model_as_it_was(case):
    """A refit refused for its random_state, its y or a validation split too small changed
    n_features_in_, classes_, feature_names_in_ or the weights before refusing. Oracle: the
    model's attributes and answers before the refit."""
    make, params, refit_data, message = REFUSED_REFITS[case]
    X, y = _iris() if make is MLPClassifier else _regression()
    model = make(**FIRST_FIT).fit(X, y)
    # as a fit on a DataFrame sets it (no DataFrame library is installed here)
    model.feature_names_in_ = np.array(["a", "b", "c", "d"], dtype=object)
    answers = model.predict(X)
    fitted, private, generator = _state(model)
    model.set_params(**params)
    with pytest.raises(ValueError, match=message):
        model.fit(*refit_data(X, y))
    after_fitted, after_private, after_generator = _state(model)
    assert sorted(after_fitted) == sorted(fitted)
    np.testing.assert_equal(after_fitted, fitted)
    assert after_private.keys() == private.keys()
    replaced = [key for key in private if after_private[key] is not private[key]]
    assert replaced == []
    assert after_generator == generator
    np.testing.assert_array_equal(model.predict(X), answers)


@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("activation", ["relu", "tanh", "identity"])
def test_predict_takes_the_activation_set_after_fit_as_sklearns(make, activation):
    """scikit-learn's predict reads activation as it is now, so set_params(activation=...)
    after fit changes its answers; ours kept the fitted units. Oracle: scikit-learn's MLP
    with our weights."""
    X, y = _iris() if make is MLPClassifier else _regression()
    theirs_make = SklearnMLPClassifier if make is MLPClassifier else SklearnMLPRegressor
    ours = make(activation="logistic", **FIRST_FIT).fit(X, y)
    theirs = theirs_make(activation="logistic", **FIRST_FIT).fit(X, y)
    theirs.coefs_ = [w.copy() for w in ours.coefs_]
    theirs.intercepts_ = [b.copy() for b in ours.intercepts_]
    answer = "predict_proba" if make is MLPClassifier else "predict"
    fitted_units = getattr(ours, answer)(X)
    np.testing.assert_allclose(fitted_units, getattr(theirs, answer)(X), rtol=1e-12)
    ours.set_params(activation=activation)
    theirs.set_params(activation=activation)
    assert not np.allclose(getattr(theirs, answer)(X), fitted_units)  # the check can fail
    np.testing.assert_allclose(getattr(ours, answer)(X), getattr(theirs, answer)(X), rtol=1e-12)
    ours.set_params(activation="softplus")  # scikit-learn's predict: a bare KeyError
    with pytest.raises(ValueError, match=f"{make.__name__}: activation='softplus' is not one"):
        ours.predict(X)


@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_type_errors_name_the_estimators_class(make):
    """An unknown keyword or a missing y named BaseMLP, a class the user never wrote.
    Oracle: scikit-learn's own words for its estimator of the same name."""
    theirs = SklearnMLPClassifier if make is MLPClassifier else SklearnMLPRegressor
    with pytest.raises(TypeError) as expected:
        theirs(hiden_layer_sizes=(3,))
    with pytest.raises(TypeError, match=re.escape(str(expected.value))):
        make(hiden_layer_sizes=(3,))
    X, _ = _iris()
    missing = f"{make.__name__}.fit() missing 1 required positional argument: 'y'"
    with pytest.raises(TypeError, match=re.escape(missing)):
        make().fit(X)

    class Custom(make):
        """A user's subclass: errors name it in turn."""

    with pytest.raises(TypeError, match=re.escape("Custom.__init__() got an unexpected")):
        Custom(hiden_layer_sizes=(3,))
    assert Custom(alpha=0.5).get_params()["alpha"] == 0.5  # scikit-learn still reads __init__


@pytest.mark.parametrize(
    "dtype", [np.float32, np.float64, np.dtype("float32"), np.dtype("float64")], ids=repr
)
def test_dtype_takes_numpys_types_as_their_names(dtype):
    """dtype=np.float32 was refused; only the string 'float32' was taken. Oracle: the fit
    with the name, which was accepted before."""
    X, y = _iris()
    name = np.dtype(dtype).name
    by_type = MLPClassifier(dtype=dtype, **FIRST_FIT).fit(X, y)
    by_name = MLPClassifier(dtype=name, **FIRST_FIT).fit(X, y)
    assert by_type.get_params()["dtype"] is dtype  # parameters stay as given (scikit-learn's rule)
    for mine, named in zip(by_type.coefs_ + by_type.intercepts_,
                           by_name.coefs_ + by_name.intercepts_):  # fmt: skip
        assert mine.dtype == np.dtype(name)
        np.testing.assert_array_equal(mine, named)
    np.testing.assert_array_equal(by_type.predict_proba(X), by_name.predict_proba(X))


@pytest.mark.parametrize(
    "dtype", [np.float16, np.int32, np.dtype("int64"), "float", float, [np.float32]], ids=repr
)
def test_other_dtypes_are_still_refused_by_name(dtype):
    X, y = _iris()
    refusal = "MLPClassifier: dtype must be None, 'float32' or 'float64'"
    with pytest.raises(ValueError, match=re.escape(refusal)):
        MLPClassifier(dtype=dtype, **FIRST_FIT).fit(X, y)
