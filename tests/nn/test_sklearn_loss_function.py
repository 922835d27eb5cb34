"""The loss a scikit-learn wrapper trains on, as a chainrule loss: ``loss_function_``.

The docstrings told users to explain and save ``clf.network_`` with ``nn.MSE()`` (regressor) or
``nn.BinaryCrossEntropy()`` (two classes, multilabel), while training descended
``MSE * 0.5 * n_outputs`` and ``BCE * n_outputs``: explain's gradients were 2x (one output) or
1/3 (three labels) of the ones training follows. Oracle: one plain SGD step (no momentum, no
penalty) moves each weight by -lr times the training's gradient, so (before - after) / lr must be
the dE/dw that ``cr.explain`` (and ``loss.backward``) computes with ``loss_function_``.
Also: ``BinaryCrossEntropy(per_unit=False)`` against PyTorch's summed BCEWithLogitsLoss over n;
the refusals of a string ``hidden_layer_sizes`` and of a ``loss`` that belongs elsewhere; and
``MLPRegressor``'s ``loss``, placed as scikit-learn's is.
"""

import inspect
import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

import chainrule as cr
from chainrule import io, nn
from chainrule.engine import no_grad
from chainrule.explainer.render_text import render_text
from chainrule.file_schemas import check_loss_config
from chainrule.nn.module import ConfigError
from chainrule.sklearn import MLPClassifier, MLPRegressor
from chainrule.tensor import Tensor

LR = 0.1
PLAIN_SGD = dict(solver="sgd", momentum=0.0, alpha=0.0, learning_rate_init=LR, batch_size=4,
                 shuffle=False, max_iter=1, random_state=0)  # fmt: skip


def _case(kind):
    """(estimator, X, y, target rows for the network's outputs) of each kind of target."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 3))
    if kind == "regressor, 1 output":
        y = 2.0 * X[:, 0] - X[:, 1]
        return MLPRegressor(hidden_layer_sizes=(4,), **PLAIN_SGD), X, y, y[:, None]
    if kind == "regressor, 2 outputs":
        y = np.column_stack([X[:, 0] * 2.0, X[:, 1] - X[:, 2]])
        return MLPRegressor(hidden_layer_sizes=(4,), **PLAIN_SGD), X, y, y
    clf = MLPClassifier(hidden_layer_sizes=(4,), **PLAIN_SGD)
    if kind == "binary":
        y = np.array(["no", "yes"])[(X[:, 0] > 0).astype(int)]
        y[:2] = ["no", "yes"]  # both classes in every batch
        return clf, X, y, (y == "yes").astype(float)[:, None]
    if kind == "multiclass":
        labels = np.arange(12) % 3
        return clf, X, labels, np.eye(3)[labels]
    Y = (X + rng.normal(size=X.shape) > 0).astype(int)  # multilabel, 3 labels
    return clf, X, Y, Y.astype(float)


KINDS = ["regressor, 1 output", "regressor, 2 outputs", "binary", "multiclass", "multilabel 3"]


def _fitted(kind):
    est, X, y, T = _case(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch has not converged: beside the point
        est.fit(X[:8], y[:8])
    return est, X[8:], y[8:], T[8:]


@pytest.mark.parametrize("kind", KINDS)
def test_one_sgd_step_follows_the_gradient_explain_gives_with_loss_function(kind):
    est, x, y, t = _fitted(kind)
    network, loss = est.network_, est.loss_function_
    d = cr.explain(network, x, t, loss)
    explained = [c.dE_dw for c in d.connections]
    assert [g.shape for g in explained] == [c.shape for c in est.coefs_]
    # the same gradient by the engine's backward pass through the network
    network.zero_grad()
    loss(network(Tensor(x)), t).backward()
    layers = [layer for layer in network if isinstance(layer, nn.Linear)]
    for layer, g in zip(layers, explained, strict=True):
        np.testing.assert_allclose(layer.weight.grad, g, rtol=0, atol=1e-12)
    before = [c.copy() for c in est.coefs_]
    est.partial_fit(x, y)  # one step: the batch is the 4 cases
    for b, a, g in zip(before, est.coefs_, explained, strict=True):
        np.testing.assert_allclose((b - a) / LR, g, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_loss_function_is_the_training_loss_and_a_saved_model_keeps_it(kind, tmp_path):
    est, x, _, t = _fitted(kind)
    loss = est.loss_function_
    with no_grad():
        outputs = est.network_(Tensor(x))
    value = float(loss(outputs, t).item())
    # the training's data loss, written out: scikit-learn's sums over the units
    z = np.asarray(outputs.data)
    if isinstance(est, MLPRegressor):
        expected = 0.5 * ((t - z) ** 2).sum() / len(t)
    elif kind == "multiclass":
        expected = -(t * (z - np.log(np.exp(z).sum(axis=1, keepdims=True)))).sum() / len(t)
    else:
        expected = (np.logaddexp(0, z) - z * t).sum() / len(t)
    assert value == pytest.approx(expected, rel=1e-12)
    io.save_model(tmp_path / "m", est.network_, loss=loss)
    model, info = io.load_model(tmp_path / "m")
    again = nn.loss_from_config(info["loss"])
    assert type(again) is type(loss) and again.config() == loss.config()
    with no_grad():
        assert float(again(model(Tensor(x)), t).item()) == pytest.approx(value, rel=1e-12)


def test_loss_function_needs_a_fit():
    for est in (MLPClassifier(), MLPRegressor()):
        with pytest.raises(NotFittedError):
            est.loss_function_  # noqa: B018


def test_binary_cross_entropy_summed_over_units_is_torchs_sum_over_cases(torch):
    rng = np.random.default_rng(0)
    z, t = rng.normal(size=(5, 3)) * 3, rng.uniform(size=(5, 3))
    loss = nn.BinaryCrossEntropy(per_unit=False)
    logits = cr.tensor(z, requires_grad=True)
    E = loss(logits, t)
    E.backward()
    theirs_z = torch.tensor(z, requires_grad=True)
    theirs = torch.nn.BCEWithLogitsLoss(reduction="sum")(theirs_z, torch.tensor(t)) / 5
    theirs.backward()
    assert E.item() == pytest.approx(theirs.item(), rel=1e-13)
    np.testing.assert_allclose(logits.grad, theirs_z.grad.numpy(), rtol=1e-12, atol=1e-15)
    # 3 units: the default mean over units and cases is a third of it
    assert nn.BinaryCrossEntropy()(cr.tensor(z), t).item() == pytest.approx(E.item() / 3)
    assert loss.divisor(5, 3) == 5 and loss.describe_reduction() == "mean over cases"


def test_binary_cross_entropy_per_unit_config_round_trips_and_is_checked():
    loss = nn.BinaryCrossEntropy(per_unit=False)
    assert loss.config() == {"type": "binary-cross-entropy", "per_unit": False}
    assert repr(loss) == "BinaryCrossEntropy(per_unit=False)"
    assert nn.loss_from_config(loss.config()).per_unit is False
    assert nn.BinaryCrossEntropy().config() == {"type": "binary-cross-entropy"}  # as before
    check_loss_config(loss.config())
    with pytest.raises(ConfigError, match=r"per_unit must be True .* or False .*, not 'no'"):
        nn.loss_from_config({"type": "binary-cross-entropy", "per_unit": "no"})


def test_explain_words_the_summed_binary_cross_entropy():
    est, x, _, t = _fitted("multilabel 3")
    text = render_text(cr.explain(est.network_, x, t, est.loss_function_))
    assert "binary-cross-entropy (mean over cases)" in text
    assert "(1/4) Σ_c Σ_j" in text and "(1/12)" not in text


@pytest.mark.parametrize(
    ("make", "sizes", "words"),
    [
        (MLPClassifier, "relu", "got the string 'relu'; 'relu' is an activation, and "
         "hidden_layer_sizes is MLPClassifier's first positional parameter (as in scikit-learn): "
         "pass activation='relu' by name"),
        (MLPClassifier, "10", "got the string '10'; give the sizes as ints, "
         "hidden_layer_sizes=(10,)"),
        (MLPClassifier, "log_loss", "'log_loss' is a loss, and hidden_layer_sizes is "
         "MLPClassifier's first positional parameter (as in scikit-learn); MLPClassifier takes "
         "no loss"),
        (MLPRegressor, "tanh", "got the string 'tanh'; 'tanh' is an activation, and "
         "hidden_layer_sizes is MLPRegressor's second positional parameter"),
    ],
)  # fmt: skip
def test_a_string_for_hidden_layer_sizes_is_quoted_as_given(make, sizes, words):
    X = np.random.default_rng(0).normal(size=(10, 2))
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match=re.escape(words)) as refused:
        make(hidden_layer_sizes=sizes).fit(X, y)
    assert "['" not in str(refused.value)  # not letter by letter


def test_a_positional_string_for_the_classifier_names_what_it_is():
    X, y = np.random.default_rng(0).normal(size=(10, 2)), np.arange(10) % 2
    with pytest.raises(ValueError, match=r"pass activation='relu' by name"):
        MLPClassifier("relu").fit(X, y)


def test_regressor_takes_loss_first_as_scikit_learn_does():
    ours = inspect.signature(MLPRegressor).parameters
    theirs = inspect.signature(SklearnMLPRegressor).parameters
    positional = [n for n, p in ours.items() if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert positional == [n for n, p in theirs.items() if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert positional == ["loss", "hidden_layer_sizes", "activation"]
    assert ours["loss"].default == theirs["loss"].default == "squared_error"
    # every scikit-learn parameter but lbfgs's max_fun, plus RMSprop's rho and dtype
    assert set(theirs) - set(ours) == {"max_fun"} and set(ours) - set(theirs) == {"rho", "dtype"}
    assert MLPRegressor().get_params()["loss"] == "squared_error"
    # the regressor's own signature repeats the shared parameters: the same defaults
    shared = inspect.signature(MLPClassifier).parameters
    assert {n: p.default for n, p in ours.items() if n != "loss"} == {
        n: p.default for n, p in shared.items()
    }


def test_a_grid_over_loss_fits():
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = X[:, 0] - X[:, 1]
    grid = GridSearchCV(
        MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0),
        {"loss": ["squared_error"]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(X, y)
    assert grid.best_params_ == {"loss": "squared_error"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (((10,),), "MLPRegressor: loss=(10,) is not one of 'squared_error'; loss is "
         "MLPRegressor's first positional parameter (as in scikit-learn): pass "
         "hidden_layer_sizes=(10,) by name"),
        (("relu",), "MLPRegressor: loss='relu' is not one of 'squared_error'; 'relu' is an "
         "activation, and loss is MLPRegressor's first positional parameter"),
        (("poisson",), "MLPRegressor: loss='poisson' is not one of 'squared_error': "
         "scikit-learn's 'poisson'"),
        (("hinge",), "MLPRegressor: loss='hinge' is not one of 'squared_error'"),
    ],
)  # fmt: skip
def test_a_loss_the_regressor_cannot_train_is_refused_at_fit(args, words):
    X = np.random.default_rng(0).normal(size=(10, 2))
    reg = MLPRegressor(*args)  # scikit-learn's rule: nothing is checked in __init__
    ends = "$" if "hinge" in words else ""  # no hint: it looks like nothing else
    with pytest.raises(ValueError, match=re.escape(words) + ends):
        reg.fit(X, X[:, 0])
    assert not hasattr(reg, "coefs_")


def test_a_regressor_pickled_before_loss_was_a_parameter_still_reads():
    """Review: an MLPRegressor pickled by the version before ``loss`` has no such attribute, and
    repr, get_params and clone raised AttributeError (a notebook displaying it, too)."""
    import pickle

    from sklearn.base import clone

    rng = np.random.default_rng(0)
    X, y = rng.random((20, 2)), rng.random(20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)
    old = pickle.dumps(fitted)
    state = fitted.__getstate__()
    del state["loss"]  # as the older version pickled it
    restored = MLPRegressor.__new__(MLPRegressor)
    restored.__setstate__(state)
    assert restored.get_params()["loss"] == "squared_error"
    assert "MLPRegressor(" in repr(restored) and clone(restored).loss == "squared_error"
    np.testing.assert_array_equal(restored.predict(X), pickle.loads(old).predict(X))


@pytest.mark.parametrize("spelt", ["squared-error", "mse"])
def test_a_loss_spelt_otherwise_is_told_scikit_learns_spelling(spelt):
    """Review: the hint said "pass loss='squared-error' by name", which is refused as well."""
    with pytest.raises(ValueError, match=r"spelt as scikit-learn's \(loss='squared_error'\)"):
        MLPRegressor(spelt).fit(np.zeros((4, 2)), np.zeros(4))
