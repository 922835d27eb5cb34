"""Networks, tensors and scikit-learn estimators pickled by an older chainrule read and predict as
they did (the compatibility audit, s66): their pickles lack the fields added since, and
``predict`` failed (``'Linear' object has no attribute '_shaped'``) or ``pickle.load`` did
(``'Tensor' object has no attribute '_node'``). An estimator's pickle records the chainrule
version that wrote it, and another version reading it warns naming both, as scikit-learn warns
of its own versions.

The older pickles are written here by hand: today's objects pickled with the fields that each
older version lacked left out (:class:`OldPickler`, by the commits the audit read:
28e71c0, 47c4f08, c817057), and two real ones of c817057 and 47c4f08 kept in
``old_pickles/``, made by ``old_pickles/make.py`` run by those versions (its docstring says
how). Every prediction must equal the original's exactly.
"""

from __future__ import annotations

import copyreg
import io
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import Parameter
from chainrule.sklearn import InconsistentVersionWarning, MLPClassifier, MLPRegressor
from chainrule.sklearn.base import BaseMLP
from chainrule.tensor import Tensor

OLD_PICKLES = Path(__file__).parent / "old_pickles"

#: What each older version's pickle lacks, by the commit the audit pickled with: the fields
#: added since (a module's, a Linear's, an estimator's), and the c817057 layout of a tensor
#: (its op in ``_node``; a parameter a plain Tensor, no nn.Parameter yet) and of a Parallel
#: (a list of its branches beside its submodules, from 47c4f08 to 28e71c0's parent)
ERAS = {
    "28e71c0": {"Linear": ["_shaped"]},
    "47c4f08": {
        "Linear": ["_shaped"],
        "Module": ["_empty_parameters"],
        "estimator": ["_best_parameters"],
        "parallel_branches": True,
    },
    "c817057": {
        "Linear": ["_shaped"],
        "Module": ["_empty_parameters", "_buffers", "_persistent"],
        "estimator": ["_best_parameters"],
        "MLPRegressor": ["loss", "out_activation_"],
        "tensor_node": True,
    },
}


class OldPickler(pickle.Pickler):
    """A pickler writing today's objects as the version ``era`` of :data:`ERAS` wrote them."""

    def __init__(self, file, era: str) -> None:
        super().__init__(file, protocol=4)
        self.era = ERAS[era]

    def reducer_override(self, obj):
        era = self.era
        if isinstance(obj, Tensor) and era.get("tensor_node"):
            _, fields = obj.__getstate__()
            fields = dict(fields)
            fields["_node"] = fields.pop("_primitive")
            return copyreg._reconstructor, (Tensor, object, None), (None, fields)
        if isinstance(obj, (nn.Module, BaseMLP)):
            func, args, state, *rest = obj.__reduce_ex__(4)
            state = dict(state)
            state.pop("_chainrule_version", None)  # recorded since this change
            left_out = list(era.get(type(obj).__name__, []))
            if isinstance(obj, nn.Module):
                left_out += era.get("Module", [])
            else:
                left_out += era.get("estimator", [])
            for name in left_out:
                state.pop(name, None)
            if isinstance(obj, nn.Parallel) and era.get("parallel_branches"):
                state["branches"] = list(obj.branches)
            return (func, args, state, *rest)
        return NotImplemented


def old_pickle(obj, era: str) -> bytes:
    buffer = io.BytesIO()
    OldPickler(buffer, era).dump(obj)
    return buffer.getvalue()


def network(era: str) -> nn.Sequential:
    """A Linear without bias (a Parallel after c817057, which had none), tanh units, dropout
    drawing from a generator of its own, and a Linear."""
    first = nn.Linear(4, 3, bias=False, rng=0)
    if era != "c817057":
        first = nn.Parallel((2, nn.Linear(2, 2, rng=0)), (2, nn.Linear(2, 1, bias=False, rng=2)))
    return nn.Sequential(first, nn.Tanh(), nn.Dropout(0.5, rng=3), nn.Linear(3, 2, rng=1))


X = np.random.default_rng(0).normal(size=(24, 4)).astype(np.float32)
LABELS = np.array(["lo", "mid", "hi"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]


def outputs(net: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    """The outputs in eval mode, then in training mode (the dropout generator's next masks)."""
    net.eval()
    evaluated = net(cr.tensor(X)).numpy().copy()
    net.train()
    return evaluated, net(cr.tensor(X)).numpy().copy()


@pytest.mark.parametrize("era", list(ERAS))
def test_a_network_pickled_by_an_older_version_computes_as_before(era):
    net = network(era)
    data = old_pickle(net, era)
    old = pickle.loads(data)  # read before the original draws its masks
    expected = outputs(net)
    for got, want in zip(outputs(old), expected):
        np.testing.assert_array_equal(got, want)
    # its fields are today's: the generator a buffer (a checkpoint keeps its state), the
    # parameters nn.Parameter, the bias-less layer's bias a declared place
    assert [name for name, _ in old.named_buffers()] == ["2.rng"]
    assert all(type(p) is Parameter for p in old.parameters())
    assert [n for n, _ in old.named_parameters()] == [n for n, _ in net.named_parameters()]
    no_bias = old[0] if era == "c817057" else old[0][1]
    assert no_bias.bias is None and "bias" in no_bias._empty_parameters
    no_bias.bias = Parameter(np.zeros(no_bias.n_out, np.float32))  # a place a tensor fills
    assert "bias" in dict(no_bias.named_parameters())
    if era != "c817057":
        assert "branches" not in vars(old[0]) and old[0].branches == [old[0][0], old[0][1]]
    # and it trains: every parameter gets its gradient and the step moves it
    old.eval()
    step = cr.optim.SGD(old.parameters(), lr=0.1)
    before = [p.numpy().copy() for p in old.parameters()]
    old(cr.tensor(X)).sum().backward()
    step.step()
    assert all(not np.array_equal(p.numpy(), b) for p, b in zip(old.parameters(), before))


def test_a_tensor_pickled_with_its_op_in_node_reads_as_a_leaf():
    """c817057's tensor kept its op in ``_node`` (None for a leaf): pickle.load failed on it."""
    leaf = cr.tensor([1.0, -2.0], requires_grad=True)
    leaf.name = "w"
    old = pickle.loads(old_pickle(leaf, "c817057"))
    assert type(old) is Tensor and old.is_leaf and old.requires_grad and old.name == "w"
    assert old.node is None and old.grad is None
    (old * old).sum().backward()
    np.testing.assert_array_equal(old.grad.numpy(), [2.0, -4.0])


def fitted(kind: type[BaseMLP]) -> BaseMLP:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the short fit's ConvergenceWarning
        if kind is MLPClassifier:
            return MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, LABELS)
        return MLPRegressor(hidden_layer_sizes=(2,), max_iter=5, random_state=0).fit(X, X[:, 0])


def predictions(estimator: BaseMLP) -> list[np.ndarray]:
    if isinstance(estimator, MLPClassifier):
        return [estimator.predict_proba(X), estimator.predict(X)]
    return [estimator.predict(X)]


@pytest.mark.parametrize("kind", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("era", list(ERAS))
def test_an_estimator_pickled_by_an_older_version_predicts_as_before(era, kind):
    estimator = fitted(kind)
    with pytest.warns(InconsistentVersionWarning) as caught:
        old = pickle.loads(old_pickle(estimator, era))
    message = str(caught[0].message)
    assert f"{kind.__name__} was pickled by a chainrule older than its pickles' version" in message
    assert f"read by chainrule {cr.__version__}" in message
    for got, want in zip(predictions(old), predictions(estimator)):
        np.testing.assert_array_equal(got, want)
    if kind is MLPRegressor:
        assert old.get_params()["loss"] == "squared_error" and old.out_activation_ == "identity"
    # a warm fit goes on as today's own pickle of it does
    today = pickle.loads(pickle.dumps(estimator))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in (old, today):
            model.set_params(warm_start=True, max_iter=3)
            model.fit(X, LABELS if kind is MLPClassifier else X[:, 0])
    for got, want in zip(predictions(old), predictions(today)):
        np.testing.assert_array_equal(got, want)


def test_an_estimator_pickle_records_its_version_and_another_version_warns(monkeypatch):
    estimator = fitted(MLPClassifier)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same version: no warning
        same = pickle.loads(pickle.dumps(estimator))
    assert "_chainrule_version" not in vars(same)  # read, not kept as an attribute
    monkeypatch.setattr(cr, "__version__", "0.0.9")
    data = pickle.dumps(estimator)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning) as caught:
        read = pickle.loads(data)
    warning = caught[0].message
    assert (
        "MLPClassifier was pickled by chainrule 0.0.9 and is read by chainrule " in str(warning)
        and str(warning).count(cr.__version__) == 1
    )
    assert warning.original_chainrule_version == "0.0.9"
    assert warning.current_chainrule_version == cr.__version__
    from sklearn.exceptions import InconsistentVersionWarning as SklearnWarning

    assert isinstance(warning, SklearnWarning)  # scikit-learn's filter takes it too
    np.testing.assert_array_equal(read.predict_proba(X), estimator.predict_proba(X))


@pytest.mark.parametrize("commit", ["c817057", "47c4f08"])
def test_real_pickles_of_older_versions_predict_as_they_did(commit):
    """Pickles written by those commits themselves (old_pickles/make.py): what they predicted
    then, exactly."""
    with open(OLD_PICKLES / f"{commit}.pkl", "rb") as f:
        kept = pickle.load(f)
    expected = kept["expected"]
    with pytest.warns(InconsistentVersionWarning, match="older than its pickles' version"):
        record = pickle.loads(kept["pickled"])
    assert record["made_by"] == commit
    clf, reg, net = record["classifier"], record["regressor"], record["network"]
    np.testing.assert_array_equal(clf.predict_proba(record["X"]), expected["classifier_proba"])
    np.testing.assert_array_equal(clf.predict(record["X"]), expected["classifier_labels"])
    np.testing.assert_array_equal(reg.predict(record["X"]), expected["regressor"])
    net.eval()
    np.testing.assert_array_equal(net(cr.tensor(record["X"])).numpy(), expected["network_eval"])
    net.train()
    np.testing.assert_array_equal(net(cr.tensor(record["X"])).numpy(), expected["network_train"])
