"""``chainrule.sklearn`` refuses a sparse X in scikit-learn's words, "Use '.toarray()'", which
cannot be done inside ``make_pipeline(TfidfVectorizer(), MLPClassifier())``: the refusal also
names the pipeline step that makes X dense, and that step, taken from the message as written,
fits, predicts, pickles and runs in a grid search of two processes."""

from __future__ import annotations

import operator
import pickle
import re

import numpy as np
import pytest

pytest.importorskip("sklearn")
sparse = pytest.importorskip("scipy.sparse")

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402

from chainrule.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

DOCS = ["good movie", "bad movie", "great film", "awful film", "fine show", "poor show"] * 4
LABELS = [1, 0, 1, 0, 1, 0] * 4


def _small(estimator):
    return estimator(hidden_layer_sizes=(3,), max_iter=5, random_state=0)


def _refusal(call) -> str:
    with pytest.raises(TypeError) as error:
        call()
    return str(error.value)


def _step_named_in(message: str) -> FunctionTransformer:
    """The FunctionTransformer the message names, built from its own text."""
    found = re.search(r"FunctionTransformer\(.*?accept_sparse=True\)", message)
    assert found is not None, message
    return eval(found.group(0), {"operator": operator, "FunctionTransformer": FunctionTransformer})


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("call", ["fit", "partial_fit", "predict"])
def test_the_refusal_names_the_pipeline_step(estimator, call):
    rng = np.random.default_rng(0)
    X, y = rng.random((12, 3)), np.array([0, 1] * 6)
    model = _small(estimator)
    S = sparse.csr_matrix(X)
    if call == "fit":
        message = _refusal(lambda: model.fit(S, y))
    elif call == "partial_fit":
        extra = {"classes": [0, 1]} if estimator is MLPClassifier else {}
        message = _refusal(lambda: model.partial_fit(S, y, **extra))
    else:
        with pytest.warns(Warning):  # not converged in 5 iterations
            model.fit(X, y)
        message = _refusal(lambda: model.predict(S))
    assert "Use '.toarray()'" in message  # scikit-learn's own words first
    assert "accept_sparse=True" in message and f"before {estimator.__name__}" in message
    _step_named_in(message)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_named_step_runs_in_a_pipeline_pickles_and_grid_searches():
    bare = make_pipeline(TfidfVectorizer(), _small(MLPClassifier))
    step = _step_named_in(_refusal(lambda: bare.fit(DOCS, LABELS)))
    pipe = make_pipeline(TfidfVectorizer(), step, _small(MLPClassifier))
    pipe.fit(DOCS, LABELS)
    predicted = pipe.predict(DOCS)
    again = pickle.loads(pickle.dumps(pipe))
    assert np.array_equal(again.predict(DOCS), predicted)
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-3]}, cv=2, n_jobs=2)
    grid.fit(DOCS, LABELS)
    assert grid.best_estimator_.predict(DOCS[:2]).shape == (2,)


def test_dense_x_is_taken_as_before():
    rng = np.random.default_rng(1)
    X, y = rng.random((12, 3)), np.array([0, 1] * 6)
    with pytest.warns(Warning):
        model = _small(MLPClassifier).fit(X, y)
    assert model.predict(X).shape == (12,)
