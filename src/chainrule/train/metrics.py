"""What the loss is compared against, and how a case counts as correct.

A dataset's targets reach the loss in the form the loss expects:

- ``CrossEntropy`` (softmax from logits): integer class labels, or a target matrix;
- any other loss (squared error on logistic units, binary cross-entropy): one row per case, one
  column per output unit (one-hot rows for classes; a single 0/1 column for a two-class problem
  with one output unit).

Which class a network's outputs predict is decided in one place, :func:`predicted_classes`
(and :func:`units_on` for each unit), which ``evaluate``'s accuracy and class table, ``chainrule
predict``, the explorer's Train tab and the scikit-learn classifier all call:

- classes with several output units: the most active unit (argmax);
- a single output unit, or multilabel targets: each output is on the right side of the
  threshold. The threshold is 0.5 for probabilities (logistic outputs) and 0 for logits
  (``BinaryCrossEntropy``, which applies the logistic itself).

Where the loss reads logits the decision is read on the logits, never on the probabilities
made from them: logit > 0 exactly when the logistic is above 1/2, and the largest logit is the
largest softmax, but the probabilities round (a float32 logit of 1e-9 has a logistic of exactly
0.5, two logits 1e-9 apart an even softmax) and a decision read on them would differ from one
read on the logits at the boundary.

Accuracy (``None`` for regression) counts a case right when its predicted class is its label;
for multilabel targets only if *all* its units are on or off as they should be. Multilabel
targets that are not all 0 or 1 (an autoencoder's pixel intensities) say of no unit that it
should be on or off: their accuracy is ``None`` too, as a regression's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.backend import to_numpy
from chainrule.data.dataset import one_hot
from chainrule.engine import no_grad
from chainrule.errors import DataError, UserError, counted, type_name
from chainrule.nn.module import eval_mode
from chainrule.tensor import Tensor


def loss_kind(loss: Any) -> str:
    """ "softmax" for cross-entropy from logits, "logit" for binary cross-entropy, else "output"."""
    unit = getattr(loss, "output_activation", None)  # the loss knows which unit it applies
    return {"softmax": "softmax", "logistic": "logit"}.get(unit, "output")


def decision_threshold(loss: Any) -> float:
    """Where an output unit switches from "off" to "on", read on the network's outputs: the
    loss's own ``threshold`` on probabilities (0.5), or its logit (0) where the loss applies the
    logistic itself."""
    p = getattr(loss, "threshold", 0.5)
    return math.log(p / (1 - p)) if loss_kind(loss) == "logit" else p


def units_on(outputs: np.ndarray, loss: Any = None) -> np.ndarray:
    """Which output units of ``outputs`` (one row per case) are "on": above the loss's
    threshold, read on the logits where the loss applies the logistic itself (logit > 0, not a
    logistic that rounds to 0.5). Under softmax a unit's probability depends on its whole row,
    so those are read on the probabilities."""
    outputs = np.asarray(outputs)
    if loss_kind(loss) == "softmax":
        return np.asarray(loss.probabilities(outputs)) > loss.threshold
    return outputs > decision_threshold(loss)


def predicted_classes(outputs: np.ndarray, loss: Any = None) -> np.ndarray:
    """The class each row of ``outputs`` predicts (int64): a single unit's on (1) or off (0) by
    :func:`units_on`, else the most active unit. Taken on the outputs as they are, logits
    included: softmax keeps their order, but its rounded probabilities can tie where the
    logits do not.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> predicted_classes(np.array([[1e-9], [-2.0]], np.float32), nn.BinaryCrossEntropy())
    array([1, 0])
    """
    outputs = np.asarray(outputs)
    if outputs.shape[1] == 1:
        return units_on(outputs, loss)[:, 0].astype(np.int64)
    return outputs.argmax(axis=1)


#: How targets wider than the outputs train, for a loss of one's own that reads the extra
#: columns: multilabel's accuracy would compare unit j with column j, which they are not
_EXTRA_COLUMNS = (
    "; for a loss of your own that reads more target columns than the outputs (a teacher's "
    "probabilities beside the labels), use task='regression', which has no accuracy, and a "
    "callback that writes your own metric into logs (docs/extending.md, 'A loss of your own')"
)


def target_array(ds: Any, loss: Any, n_outputs: int, dtype: Any) -> np.ndarray:
    """The targets of ``ds`` in the form ``loss`` compares a network's ``n_outputs`` against.

    Multilabel targets of another width than ``n_outputs`` are a
    :class:`~chainrule.errors.DataError` naming both: the accuracy compares unit with label
    (it raised NumPy's broadcast words after a fit's first epoch, or broadcast one unit
    against every label silently). Wider ones say, too, how a loss of one's own that reads
    more columns than the outputs (a teacher's probabilities beside the labels) trains."""
    if ds.task != "classification":
        targets = np.asarray(ds.y, dtype=dtype)
        if ds.task == "multilabel" and targets.ndim == 2 and targets.shape[1] != n_outputs:
            labels = targets.shape[1]
            raise DataError(  # fit says which set (train_ds, val_ds)
                f"the multilabel targets have {counted(labels, 'column')} (one per label) but "
                f"the network has "
                f"{counted(n_outputs, 'output unit')}; give it {counted(labels, 'output unit')}, "
                "one per label" + (_EXTRA_COLUMNS if labels > n_outputs else "")
            )
        return targets
    # the loss says whether its forward takes labels (nn.Loss.reads_labels, by default whether
    # it applies softmax itself); a function given as the loss says nothing: rows
    if getattr(loss, "reads_labels", loss_kind(loss) == "softmax"):
        return np.asarray(ds.y, dtype=np.int64)
    top = int(np.max(ds.y)) if len(ds.y) else -1
    if n_outputs == 1:  # one unit, on or off: classes 0 and 1 (a label 2 it never reaches)
        if top > 1:
            raise DataError(
                f"{ds.name}: label {top} but the network has 1 output unit, which tells "
                f"classes 0 and 1 apart; give it {top + 1} output units for {top + 1} classes"
            )
        return np.asarray(ds.y, dtype=dtype)[:, None]
    # one column per output unit of the network, however many classes the data happens to show
    # (a test file whose labels stop short of the model's last class)
    if top >= n_outputs:
        raise DataError(
            f"{ds.name}: label {top} but the network has {n_outputs} output units "
            f"(classes 0..{n_outputs - 1})"
        )
    return one_hot(ds.y, n_outputs, dtype)


def is_dataset(value: Any) -> bool:
    """Whether ``value`` is used as a dataset: it has ``X`` and ``y`` attributes and a length."""
    return all(hasattr(value, a) for a in ("X", "y", "__len__"))


def check_dataset(ds: Any, argument: str, function: str, call: str | None = None) -> None:
    """Refuse, by a ``TypeError`` naming ``function``, its ``argument`` and what was given, a
    ``ds`` that is no dataset (``X`` and ``y`` attributes, a length): ``(X, y)`` or an array
    (wrap them as a Dataset, it says), or another argument in its place (a loss before the
    dataset: it shows ``call``, the function's arguments in order). The one check of a dataset
    argument of ``train``'s helpers (``evaluate``, ``accuracy``)."""
    if is_dataset(ds):
        return
    arrays = isinstance(ds, (list, tuple)) or hasattr(ds, "shape")
    hint = (
        "wrap arrays as Dataset(X=X, y=y, task=...)"
        if arrays or call is None
        else f"the arguments are {call}"
    )
    raise TypeError(
        f"{function}: {argument} must be a chainrule.data.Dataset (with X and y), not "
        f"{type_name(ds)}; {hint}"
    )


def is_model(value: Any) -> bool:
    """Whether ``value`` is used as a network: called, with ``parameters()`` to call."""
    return callable(value) and callable(getattr(value, "parameters", None))


def case_outputs(outputs: Any, ds: Any, function: str, rows_only: bool = False) -> np.ndarray:
    """``outputs`` as a NumPy array of one row per case of ``ds`` (cases by output units), the
    one check of a network's outputs given to ``function`` (``accuracy``, ``class_report``).

    Any other shape is a :class:`~chainrule.errors.DataError` naming ``function``, the shape and
    the number of cases: one case's outputs scored against the whole set broadcast to a
    believable accuracy (0.6 for five cases), and others raised NumPy's or an IndexError's
    words. The network itself in their place is a ``TypeError`` saying to give its outputs.
    ``rows_only`` (a regression set's, scored on no units) checks the first axis alone: one
    row per case, of any shape (a siamese's (n, 2, k) stack)."""
    if is_model(outputs):
        raise TypeError(
            f"{function}: outputs must be a network's outputs (one row per case), not the "
            f"network {type_name(outputs)}; give predict(model, ds.X)"
        )
    outputs = np.asarray(outputs)
    rows = outputs.ndim >= 1 and len(outputs) == len(ds)
    if not rows or (outputs.ndim != 2 and not rows_only):
        must = "have" if rows_only else "be 2-D with"
        raise DataError(
            f"{function}: outputs must {must} one row per case ({len(ds)}), "
            f"got shape {outputs.shape}"
        )
    return outputs


def check_model(model: Any, function: str, call: str) -> None:
    """Refuse, by a ``TypeError`` naming ``function`` and what was given, a ``model`` that is
    no network (it has no ``parameters()`` to call it with): a dataset or an array before the
    model. ``call`` is the function's arguments in order."""
    if is_model(model):
        return
    raise TypeError(
        f"{function}: model must be a chainrule network (an nn.Module such as nn.mlp(...)), "
        f"not {type_name(model)}; the arguments are {call}"
    )


def accuracy(outputs: np.ndarray, ds: Any, loss: Any = None) -> float | None:
    """The fraction of ``ds``'s cases that ``outputs`` (one row per case) gets right.

    A ``ds`` that is no dataset (the loss and the dataset swapped) is a ``TypeError`` naming it
    (:func:`check_dataset`); outputs that are not one row per case of ``ds`` a
    :class:`~chainrule.errors.DataError` naming their shape (:func:`case_outputs`)."""
    check_dataset(ds, "ds", "accuracy", "accuracy(outputs, ds, loss)")
    regression = ds.task == "regression"  # none, whatever the shape of each case's outputs
    outputs = case_outputs(outputs, ds, "accuracy", rows_only=regression)
    if regression or len(outputs) == 0:  # (a siamese's (n, 2, k) stack failed here)
        return None
    if ds.task == "classification":
        return float(np.mean(predicted_classes(outputs, loss) == ds.y))
    targets = np.asarray(ds.y)
    if loss_kind(loss) == "softmax":  # one-hot or probability targets: the most active unit
        return float(np.mean(outputs.argmax(axis=1) == targets.argmax(axis=1)))
    if not zero_one(targets):  # cut at 0.5, pixel intensities scored 0.0 every epoch
        return None
    return float(np.mean(np.all(units_on(outputs, loss) == (targets > 0.5), axis=1)))


def zero_one(targets: np.ndarray) -> bool:
    """Whether every target is 0 or 1: a unit each says should be on or off. Soft targets
    (probabilities, pixel intensities) have no accuracy, as a regression's have none."""
    return bool(np.all((targets == 0) | (targets == 1)))


def class_report(outputs: np.ndarray, ds: Any, loss: Any = None) -> dict[str, Any] | None:
    """Per-class precision, recall, F1 and support, and the confusion matrix, of a classifier's
    ``outputs`` on ``ds``; None where each case has no single class (regression, several
    independent units, multilabel targets not all 0 or 1).

    ``confusion[a][b]`` counts the cases of class ``a`` predicted as ``b``. A one-output model
    has two classes: 0 (the unit off) and 1 (on). A class never predicted has precision 0.
    Outputs with fewer columns than ``ds`` has classes raise :class:`~chainrule.errors.DataError`.
    """
    regression = ds.task == "regression"  # none, whatever the shape of each case's outputs
    outputs = case_outputs(outputs, ds, "class_report", rows_only=regression)
    if regression or len(outputs) == 0:
        return None
    if ds.task == "multilabel" and not zero_one(np.asarray(ds.y)):
        return None  # soft targets: no unit should be on or off (accuracy's None, too)
    if outputs.shape[1] == 1:
        true = (np.asarray(ds.y).reshape(len(outputs), -1)[:, 0] > 0.5).astype(np.int64)
        n = 2
    elif ds.task == "classification":
        true, n = np.asarray(ds.y, dtype=np.int64), outputs.shape[1]
        classes = max(int(ds.n_classes or 0), int(true.max()) + 1 if len(true) else 0)
        if n < classes:
            raise DataError(
                f"class_report: the outputs have {n} columns but "
                f"{getattr(ds, 'name', 'the dataset')} has {classes} classes"
            )
    else:
        return None
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (true, predicted_classes(outputs, loss)), 1)
    hits, support, claimed = np.diag(confusion), confusion.sum(axis=1), confusion.sum(axis=0)
    rows = []
    for k in range(n):
        precision = hits[k] / claimed[k] if claimed[k] else 0.0
        recall = hits[k] / support[k] if support[k] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"precision": float(precision), "recall": float(recall), "f1": float(f1),
                     "support": int(support[k])})  # fmt: skip
    return {"per_class": rows, "confusion": confusion.tolist()}


#: The rows :func:`predict` (and :func:`evaluate`) run the network on at a time.
PREDICT_ROWS = 4096


def predict(model: Any, X: Any, batch_size: int = PREDICT_ROWS) -> np.ndarray:
    """The network's outputs for the rows of ``X`` (eval mode, no graph), as a NumPy array,
    ``batch_size`` rows at a time, except for a model that normalises across its rows
    (``Softmax(axis=0)``), whose outputs depend on all of them: it takes them at once. No rows
    give the model's own (0, n_outputs), its input width checked as for any other.

    ``X`` is the inputs, not a dataset: ``predict(model, ds.X)``. A dataset there, inputs that
    are no array of numbers, or a ``model`` that is no network is a ``TypeError`` naming it;
    a model whose forward returns several outputs, a ``UserError`` (:func:`one_output`)."""
    check_model(model, "predict", "predict(model, X)")
    return _outputs(model, X, batch_size, "predict")


def _outputs(model: Any, X: Any, batch_size: int, function: str) -> np.ndarray:
    """:func:`predict`'s outputs of ``model``, its refusals naming ``function`` (``predict``,
    ``evaluate``)."""
    dtype = param_dtype(model)
    if is_dataset(X):
        raise TypeError(
            f"{function}: X must be an array of inputs (one row per case), not {type_name(X)}; "
            "give a dataset's inputs: predict(model, ds.X)"
        )
    try:
        X = np.asarray(X, dtype=dtype)
    except TypeError:  # "float() argument must be a string or a real number, not 'MSE'"
        raise TypeError(
            f"{function}: X must be an array of inputs (one row per case), not {type_name(X)}"
        ) from None
    if _across_rows(model):
        batch_size = max(len(X), 1)
    param = first_parameter(model)
    # no rows still run once, on the empty X: the model checks its width and gives its own
    # (0, n_outputs), where a (0, 0) stood for any model and any input
    with eval_mode(model), no_grad():
        chunks = [to_numpy(one_output(model(model_input(X[i : i + batch_size], param)),
                                      function).data)
                  for i in range(0, max(len(X), 1), batch_size)]  # fmt: skip
    return np.concatenate(chunks, axis=0)


def _across_rows(model: Any) -> bool:
    """Whether a layer of ``model`` normalises along the rows' axis (a softmax over axis 0 or
    -2 of the (rows, units) array), which couples each row's output to the others'."""
    from chainrule.nn.layers import LogSoftmax, Softmax

    modules = model.modules() if callable(getattr(model, "modules", None)) else [model]
    across = (m for m in modules if isinstance(m, (Softmax, LogSoftmax)))
    return any(m.axis in (0, -2) for m in across)


def evaluate(model: Any, loss: Any, ds: Any) -> dict[str, float | None]:
    """``{"loss": ..., "accuracy": ...}`` of ``model`` on all of ``ds`` (eval mode).

    The loss is the loss function applied to the whole set at once, so a summed loss
    (``SquaredError(reduction="sum")``, the lecture's E) is the sum over every case. The
    network runs on :func:`predict`'s chunks of rows (its hidden activations for all the rows
    at once took gigabytes); only its outputs, one row per case, are held together. An empty
    ``ds`` raises :class:`~chainrule.errors.DataError`; a ``ds`` or ``model`` that is none (the
    arguments swapped, an array for the dataset) a ``TypeError`` naming it (:func:`check_dataset`).
    """
    check_model(model, "evaluate", "evaluate(model, loss, ds)")
    check_dataset(ds, "ds", "evaluate", "evaluate(model, loss, ds)")
    if len(ds) == 0:
        raise DataError(
            f"evaluate: {getattr(ds, 'name', 'the dataset')!s} has no cases (0 rows); "
            "there is nothing to evaluate"
        )
    outputs = _outputs(model, ds.X, PREDICT_ROWS, "evaluate")
    targets = target_array(ds, loss, outputs.shape[1], outputs.dtype)
    with no_grad():
        value = float(loss(Tensor(outputs), Tensor(targets)).item())
    return {"loss": value, "accuracy": accuracy(outputs, ds, loss)}


def one_output(output: Any, function: str) -> Any:
    """A model's ``output`` as ``function`` (``fit``, ``predict``) takes it: one tensor, one row
    per case. Several outputs (a siamese's ``forward`` returning ``(ea, eb)``: a tuple, a list
    or a dict) are a :class:`~chainrule.errors.UserError` saying to put them into one tensor and
    split it in the loss; they raised "'tuple' object has no attribute 'data'"."""
    if not isinstance(output, (tuple, list, dict)):
        return output
    kind = type(output).__name__
    raise UserError(
        f"{function}: the model's forward returned a {kind} of {len(output)} outputs, but "
        f"{function} takes a model with one output tensor (one row per case): put them into "
        "one, cr.concatenate([a, b], axis=1) (or cr.stack([a, b], axis=1)), and split it in "
        "the loss (out[:, :k], out[:, k:])"
    )


def model_input(array: Any, param: Tensor | None) -> Tensor:
    """A host batch as a tensor on ``param``'s array library and device (a model's parameter;
    NumPy, or no parameter, keeps the batch as it is)."""
    if param is None or type(param.data) is np.ndarray:
        return Tensor(array)
    return Tensor(backend.asarray_like(array, param.data))


def first_parameter(model: Any) -> Tensor | None:
    """The model's first parameter (None for a model without any)."""
    params = model.parameters()
    return params[0] if params else None


def param_dtype(model: Any) -> np.dtype:
    """The NumPy dtype of the model's parameters (the host-side dtype of its data, whichever
    array library the parameters live in); float32 for a model without parameters."""
    params = model.parameters()
    return np.dtype(backend.dtype_name(params[0].dtype)) if params else np.float32
