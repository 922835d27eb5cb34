"""Losses: ``loss(output, target) -> scalar Tensor``, each composed from the engine's ops.

- :class:`SquaredError`: the lecture's E = 1/2 sum_cases sum_j (t_j - y_j)^2 ("sum"), or its mean
  over cases ("mean"). dE/dy_j = -(t_j - y_j).
- :class:`MSE`: the mean of (t - y)^2 over every element (PyTorch's ``MSELoss``).
- :class:`CrossEntropy`: softmax and negative log-likelihood from the logits z, via the stable
  ``log_softmax``; mean over cases. Targets are integer class labels (n,) or rows of
  probabilities (n, k). dE/dz = ((sum_k t_k) softmax(z) - t) / n: (softmax(z) - t) / n for
  labels and rows summing to 1.
- :class:`MarginSquaredError`: RHW 1986's squared error with margins: no error for an output
  above 0.8 that should be on, or below 0.2 that should be off (family trees).
- :class:`BinaryCrossEntropy`: logistic units and cross-entropy from the logits, mean over every
  element (or, ``per_unit=False``, summed over the units and averaged over the cases, as
  scikit-learn's MLP trains); softplus(z) - z t, computed as |z| (1 - t) or |z| t (by the sign of
  z) plus log(1 + e^-|z|): it never overflows and nothing cancels.

Each checks the shapes (and label range) and names itself, both shapes and what it expected.
Targets are cast to the output's dtype, so a float32 network stays float32; an integer or boolean
output's targets become the library's float (float64 in NumPy), as the ops compute in.

A loss also answers what every tool needs to know about it, so that no caller recognises a loss
by its class name: its ``reduction`` and what a mean is over (:meth:`Loss.divisor`), the unit it
applies to the outputs itself (``output_activation``: softmax or logistic for the losses that read
logits), how outputs become probabilities (:meth:`Loss.probabilities`), how targets become the
rows it compares against (:meth:`Loss.target_rows`), whether it takes one class label per case
(``reads_labels``, and :meth:`Loss.target_labels`, the labels it reads a target as), how many
output units it cannot train (:meth:`Loss.output_units_problem`: one, under softmax), and where a
probability counts as "on" (``threshold``).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import reprlib
from typing import Any

import numpy as np

from chainrule import backend, ops
from chainrule.backend import to_numpy
from chainrule.checks import computes_as, defined_alike, is_chainrules, owner_of
from chainrule.engine import apply
from chainrule.errors import UserError, type_name
from chainrule.nn.activations import ACTIVATIONS
from chainrule.nn.module import ON_THE_COMMAND_LINE, ConfigError
from chainrule.ops.nn import (
    check_class_rows,
    check_probabilities,
    listed_labels,
    named_logistic_cross_entropy,
    target_array,
    targets_are_labels,
)
from chainrule.ops.registry import REGISTRY, ShapeError
from chainrule.tensor import Tensor

_SOFTMAX_CROSS_ENTROPY = REGISTRY["softmax_cross_entropy"]


class Loss:
    """A loss function object: call it as ``loss(output, target)``; ``config()`` describes it.

    A loss of one's own subclasses it and defines :meth:`forward`; the class attributes below
    say what the tools need to know of it. ``reads_labels`` says that its forward takes one
    integer class label per case, shape (n,), as :class:`CrossEntropy` does: set
    ``reads_labels = True`` on a loss that computes from labels (a label-smoothing
    cross-entropy, a multiclass hinge), and its :meth:`target_rows` then read a person's labels
    as one-hot rows and :meth:`target_labels` gives them, so the explainer hands its forward the
    labels, as ``loss(model(x), labels)`` does, and training on class labels hands it labels
    (:func:`chainrule.train.metrics.target_array`). Its default is whether the loss applies
    softmax itself (``output_activation == "softmax"``); a loss that reads rows alone sets it
    False.
    """

    #: The name :func:`loss_from_name` knows it by.
    name: str = ""
    #: "sum" or "mean" (see :meth:`divisor` for what a mean is over).
    reduction: str = "mean"
    #: A mean over the cases only (False) or over every output of every case (True).
    per_unit: bool = False
    #: The unit the loss applies itself to logits ("softmax", "logistic"), or None when it
    #: compares the network's outputs as they are.
    output_activation: str | None = None
    #: Where a probability counts as "on" (one output unit, or multilabel outputs).
    threshold: float = 0.5
    #: How many target columns a loss of one's own reads per case where that is not one per
    #: output unit (a distillation loss reading a teacher's k probabilities beside the k
    #: one-hot labels: 2k); None: one per output, as chainrule's losses read them.
    target_columns: int | None = None

    @property
    def reads_labels(self) -> bool:
        """Whether the loss takes one integer class label per case (n,) as its target (it may
        take rows too): a class sets ``reads_labels = True`` (or False) to say so; by default,
        whether it applies softmax itself. The one answer :meth:`target_labels` (and through it
        :meth:`target_rows`), the explainer and training go by."""
        return self.output_activation == "softmax"

    def divisor(self, n_cases: int, n_units: int) -> int:
        """What the loss divides its sum over cases and units by: 1, n_cases or all outputs."""
        if self.reduction == "sum":
            return 1
        return n_cases * n_units if self.per_unit else n_cases

    def describe_reduction(self) -> str:
        """``"sum over cases"``, ``"mean over cases"`` or ``"mean over cases and units"``."""
        over = "cases and units" if self.per_unit else "cases"
        return f"{self.reduction} over {over}"

    def probabilities(self, outputs: Any) -> np.ndarray:
        """The network's outputs as probabilities: the loss's own unit applied to logits."""
        array = np.asarray(to_numpy(target_array(outputs, f"{type(self).__name__}: the outputs")))
        if self.output_activation is None:
            return array
        return to_numpy(ACTIVATIONS[self.output_activation].op(Tensor(array)).data)

    def output_units_problem(self, n_outputs: int) -> str | None:
        """Why this loss cannot train a network of ``n_outputs`` output units, or None. A loss
        that applies softmax itself (cross-entropy) needs two or more: softmax over one unit is
        always 1, so the loss and every gradient are 0 for any weights. The one wording of that
        refusal, for the loss itself, :func:`chainrule.io.save_model` and ``to_onnx``."""
        if self.output_activation == "softmax" and n_outputs == 1:
            return (
                "one output unit: softmax over one unit is always 1, so the loss is 0 and "
                "nothing trains; give the model two or more output units, or use "
                "BinaryCrossEntropy for one logistic unit"
            )
        return None

    def target_labels(
        self, target: Any, n_outputs: int, n_cases: int | None = None
    ) -> np.ndarray | None:
        """The class labels (int64, one per case) this loss reads ``target`` as, from targets a
        person gave (a list, a file's column, the explainer's ``--target``), or None where it
        reads them as rows: a loss that reads labels (``reads_labels``) of two or more outputs
        reads integer labels (n,), a column of whole numbers (n, 1), a flat list of ``n_cases``
        whole numbers (integers, as :meth:`forward` takes them, or whole-number floats, as text
        gives them), or one whole number for one case. Any other flat float list is one case's
        row. Labels that are not whole numbers, or out of 0..n_outputs-1, raise ``ValueError``
        (``TypeError`` for another dtype), naming the loss."""
        if not (self.reads_labels and n_outputs > 1):
            return None
        array = np.asarray(to_numpy(target_array(target, f"{type(self).__name__}: the target")))
        column = array.ndim == 2 and array.shape[1] == 1
        per_case = array.ndim == 1 and (array.dtype.kind in "iub" or array.shape[0] == n_cases)
        one_label = array.ndim == 0 and n_cases in (None, 1)
        if not (per_case or column or one_label):
            return None
        name = type(self).__name__
        labels = _labels(array.reshape(-1), name)
        if labels.size and (labels.min() < 0 or labels.max() >= n_outputs):
            raise ValueError(
                f"{name}: class labels {labels.tolist()} must lie in 0..{n_outputs - 1}"
            )
        return labels

    def target_rows(self, target: Any, n_outputs: int, n_cases: int | None = None) -> np.ndarray:
        """Targets as float64 rows (cases, n_outputs), as this loss compares them to outputs.

        A single column (or flat list) fits one output unit. A loss that reads class labels
        (``reads_labels``: cross-entropy) gives the one-hot rows of :meth:`target_labels`
        (``n_cases``, the number of cases the targets are for, tells one label per case from
        one case's row), else reads rows of probabilities.

        Rows of another width than ``n_outputs`` are refused, for chainrule's losses compare
        target column j with output j, unless a loss whose forward is one's own
        (:func:`forward_is_chainrules` False) says it reads that many: ``target_columns`` (a
        teacher's probabilities beside the one-hot labels: 2k columns for k outputs). Its
        rows are then given as they are, its forward says what the columns mean; one case's
        flat row of that many values is that case's row. A width no loss declared is refused,
        not broadcast against the outputs.
        """
        labels = self.target_labels(target, n_outputs, n_cases)
        if labels is not None:
            return np.eye(n_outputs)[labels]
        what = f"{type(self).__name__}: the target"
        if not forward_is_chainrules(self):
            rows = np.asarray(to_numpy(target_array(target, what)), dtype=np.float64)
            declared = self.target_columns
            if declared is not None and declared != n_outputs:
                return as_rows(rows, declared, what, f"{type(self).__name__}.target_columns says")
            if rows.ndim == 2 and rows.shape[1] > n_outputs:  # a slip, or undeclared columns
                raise ShapeError(
                    f"{what} has shape {rows.shape} but the output layer has {n_outputs} "
                    f"unit{'s' * (n_outputs != 1)}; a loss of your own that reads more target "
                    f"columns than outputs says how many: target_columns = {rows.shape[1]} on "
                    f"{type(self).__name__}"
                )
        if self.reads_labels and n_outputs > 1:
            expected = f"the output layer expects a class label (0..{n_outputs - 1}) per case or"
            rows = np.asarray(to_numpy(target_array(target, what)))
            return as_rows(rows, n_outputs, what, expected)
        array = np.asarray(to_numpy(target_array(target, what)), dtype=np.float64)
        if array.ndim <= 1 and n_outputs == 1:
            array = array.reshape(-1, 1)
        return as_rows(array, n_outputs, what, "the output layer expects")

    def __call__(self, output: Tensor, target: Any) -> Tensor:
        return self.forward(self._checked_output(output), target)

    def per_case(self, output: Tensor, target: Any) -> Tensor:
        """One loss per case, a 1-D tensor of shape (n_cases,) (the first axis of ``output``;
        (1,) for one unbatched case), whose sum (``reduction`` "sum") or mean ("mean") is the
        loss's E, and which is differentiable: PyTorch's ``reduction="none"`` summed or
        averaged over each case's units as E is, for per-example gradients (DP-SGD), weighting
        or finding the worst cases.

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> nn.MSE().per_case(cr.tensor([[1.0, 2.0], [0.0, 0.0]]), [[0.0, 0.0], [0.0, 3.0]])
        tensor([2.5, 4.5])

        chainrule's losses compute it in one pass, as their forward does. A loss of one's own
        (or a subclass computing its own forward) gets it by calling its forward on each case
        alone (``output[i:i+1]``, ``target[i:i+1]``; a target that is no array of one row per
        case, None or a tuple ``(y, weights)``, given whole to each): right for any loss that
        adds (or averages) independent per-case terms, as ``reduction`` and :meth:`divisor`
        say it does; the values are then checked against E over the whole batch, and a loss
        whose cases interact (a batch's statistics, pairs of cases) is refused, saying to
        override ``per_case``. One forward per case: override it for speed.
        """
        output = self._checked_output(output)
        in_one_pass = _own_per_case(self)
        if in_one_pass is not None:
            return in_one_pass(self, output, target)
        return self._per_case_by_slices(output, target)

    def _per_case_by_slices(self, output: Tensor, target: Any) -> Tensor:
        """:meth:`per_case` from the forward of each case alone (a target without the cases'
        axis given whole to each), checked against E over the whole batch."""
        if output.ndim == 0:
            return self.forward(output, target).reshape(1)
        n_cases = output.shape[0]
        if not n_cases:
            return _case_sums(output)
        rows = _case_rows(target, n_cases)
        each = ops.stack(
            [
                self.forward(output[i : i + 1], target if rows is None else rows[i : i + 1])
                for i in range(n_cases)
            ]
        )
        self._check_per_case(each, self.forward(output, target), given_whole=rows is None)
        return each

    def _check_per_case(self, each: Tensor, whole: Tensor, given_whole: bool = False) -> None:
        """Refuse per-case losses whose sum (or mean) is not E: the loss's cases interact, or
        (``given_whole``) each case's forward read a target that is not one row per case."""
        values = np.asarray(to_numpy(each.data), dtype=np.float64)
        reduced = values.sum() if self.reduction == "sum" else values.mean()
        expected = float(to_numpy(whole.data))
        rtol = np.sqrt(np.finfo(np.asarray(to_numpy(each.data)).dtype).eps)
        scale = max(abs(expected), np.abs(values).sum() / max(values.size, 1))
        if abs(reduced - expected) <= rtol * scale or (np.isnan(reduced) and np.isnan(expected)):
            return
        name = type(self).__name__
        target = (
            " or its target, not an array of one row per case, was given whole to each case's "
            "forward,"
            if given_whole
            else ""
        )
        raise UserError(
            f"{name}.per_case: the {self.reduction} of the losses of each case alone is "
            f"{reduced:.10g}, but {name} of the whole batch is {expected:.10g}: its cases "
            f"interact (its forward is not a {self.reduction} of independent per-case terms),"
            f"{target} so {name} must define per_case(output, target) itself"
        )

    def _checked_output(self, output: Any) -> Tensor:
        """``output`` as a tensor, refused where the loss's own unit made it."""
        output = output if isinstance(output, Tensor) else Tensor(output)
        if self.output_activation is not None and output._primitive is not None:
            self._refuse_activated(output._primitive.name)
        return output

    def _refuse_activated(self, op: str) -> None:
        """Refuse outputs that the loss's own unit made: ``loss(sigmoid(z), t)`` applies the
        logistic twice (PyTorch's ``BCEWithLogitsLoss`` after a ``Sigmoid`` is the classic slip)
        and trains a network whose outputs mean nothing the loss says, without a word. The
        graph says it where the model cannot (``Trainer`` also refuses a model ending in that
        layer, before the first step)."""
        own = ACTIVATIONS[self.output_activation]
        if op == own.primitive:
            name = type(self).__name__
            raise UserError(
                f"{name}: its input is the output of '{op}', and {name} applies "
                f"{own.name} to its input itself, so the {own.name} would be applied twice; "
                f"give it the logits (the input of that {own.name}), or use a loss that "
                "compares the outputs as they are (nn.MSE(), nn.SquaredError())"
            )

    def forward(self, output: Tensor, target: Any) -> Tensor:
        """The loss of ``output`` against ``target`` as a scalar tensor."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """A JSON-able description; :func:`loss_from_config` rebuilds the loss.

        chainrule's losses' configs (and this one, which a loss of one's own without a
        ``config`` of its own inherits) also record a ``threshold`` set on the loss other than
        its class's (``bce.threshold = 0.1``: :func:`with_threshold`), which
        :func:`loss_from_config` sets again: a model file keeps where its classifier cuts. A
        ``config()`` of one's own is one's own: to keep a threshold, it records it (or calls
        ``with_threshold(self, {...})``)."""
        return with_threshold(self, {"type": self.config_type()})

    def config_type(self) -> str:
        """The name a saved config gives: the name the loss is known by (the library's, or one
        registered with :func:`register_loss`), or the class's own where a subclass computes
        its own forward (half the squared error on ``SquaredError``), so a model file never
        rebuilds it as its parent (loading names the unknown type), and where a class of one's
        own has no ``name`` (an empty type was written, which no model file may hold)."""
        known_class = LOSSES.get(self.name)
        if known_class is None:
            return self.name or type(self).__name__
        return self.name if computes_as(self, known_class) else type(self).__name__

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"

    def _compared(self, output: Tensor, target: Any) -> tuple[Tensor, Tensor]:
        """The output and the target it is compared with, both in one float dtype: an integer
        or boolean output is taken to the library's float first, as the ops compute it (the
        array API standard does not mix integers and floats in one operation)."""
        t = self._same_shape_target(output, target)
        if not backend.is_floating(output.dtype, output.xp):
            output = output.astype(t.dtype)
        return output, t

    def _same_shape_target(self, output: Tensor, target: Any) -> Tensor:
        """The target as a tensor of the output's shape ((n,) fits an (n, 1) output) and dtype
        (the library's float for integer outputs: see :func:`_target_dtype`). A tensor that
        needs a gradient (a teacher network's outputs) is reshaped and cast by recorded ops, so
        the loss sends it its gradient as PyTorch's losses do; any other target is data."""
        array = target_array(target, f"{type(self).__name__}: the target")
        if array.shape != output.shape:
            if output.ndim == 2 and output.shape[1] == 1 and array.shape == output.shape[:1]:
                array = backend.reshape(array, output.shape)
            else:
                raise ShapeError(
                    f"{type(self).__name__}: output has shape {tuple(output.shape)} but target "
                    f"has shape {tuple(array.shape)}; they must match"
                )
        xp = backend.array_module(array)
        # backend's tests, not xp.isdtype: NumPy's refuses ml_dtypes' bfloat16 (a TypeError)
        boolean = backend.dtype_name(array.dtype) == "bool"
        if not (
            boolean
            or backend.is_integer(array.dtype, xp)
            or backend.is_real_floating(array.dtype, xp)
        ):
            raise TypeError(f"{type(self).__name__}: target must be numeric, not {array.dtype}")
        dtype = _target_dtype(output)
        if isinstance(target, Tensor) and target.requires_grad:
            shaped = target if target.shape == output.shape else target.reshape(output.shape)
            return shaped if shaped.dtype == dtype else shaped.astype(dtype)
        return Tensor(backend.asarray_like(array, output.data, dtype, type(self).__name__))


def with_threshold(loss: Loss, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (``loss``'s own) with ``threshold`` where ``loss`` cuts elsewhere than its
    class does (``bce.threshold = 0.1``: the cut ``evaluate`` and ``predict`` read), unless it
    names one itself: the default writes nothing, so such files read as older ones. Only a
    finite number is recorded (a per-unit array, None or a property of the class's own is left
    out, as every threshold was before). The one home of the threshold in a loss's config;
    :func:`loss_from_config` reads it back."""
    threshold = getattr(loss, "threshold", None)
    default = getattr(type(loss), "threshold", None)
    if not isinstance(config, dict) or "threshold" in config or isinstance(default, property):
        return config
    real = isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
    if not real or not math.isfinite(threshold) or threshold == default:
        return config
    return {**config, "threshold": float(threshold)}


def _refuse_reduction_none(who: str, options: dict[str, Any]) -> None:
    """Refuse PyTorch's ``reduction="none"`` among a loss's ``options``, naming
    :meth:`Loss.per_case`: a loss is one number, E, whose ``reduction`` the trainer, the
    explainer and the web explorer read, and a third reduction would be none of theirs."""
    reduction = options.get("reduction")
    if isinstance(reduction, str) and reduction.strip().lower() == "none":
        raise ConfigError(
            f"{who}: reduction={reduction!r} is not a reduction of chainrule's losses (a loss "
            "gives one number, E); for one loss per case, as PyTorch's reduction='none' gives "
            "them, call loss.per_case(output, target): a tensor of shape (n_cases,) whose sum "
            "or mean (the loss's reduction) is E"
        )


def _refusing_reduction_none(init: Any) -> Any:
    """One of chainrule's loss constructors (``BinaryCrossEntropy``'s, ``MarginSquaredError``'s)
    that first refuses ``reduction="none"`` (a keyword it does not take) naming
    :meth:`Loss.per_case`, where Python would say "unexpected keyword"; any other keyword it
    does not take is Python's refusal. Its signature is the constructor's own (``inspect``
    follows ``__wrapped__``). Never put on a user's constructor: what it takes is the user's."""

    @functools.wraps(init)
    def checked(self: Loss, *args: Any, **options: Any) -> None:
        _refuse_reduction_none(type(self).__name__, options)
        init(self, *args, **options)

    return checked


def _no_options_init(self: Loss, *args: Any, **options: Any) -> None:
    """The constructor of chainrule's losses of no options (``MSE()``, ``CrossEntropy()``):
    PyTorch's ``reduction="none"`` is a ConfigError naming :meth:`Loss.per_case`, any other
    argument Python's "MSE() takes no arguments". A class of one's own deriving from one of them
    with a constructor after it (``class A(nn.MSE, Mixin)``, ``class B(nn.MSE, nn.Module)``) has
    its arguments handed to that one, as where these classes had no constructor."""
    _refuse_reduction_none(type(self).__name__, options)
    following = _init_after_no_options(type(self))
    if following is not object:  # the next constructor in the method resolution order
        following.__init__(self, *args, **options)
    elif args or options:
        raise TypeError(f"{type(self).__name__}() takes no arguments")


# the signature help() and inspect show for MSE() and CrossEntropy(): no options
_no_options_init.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
)


def _init_after_no_options(cls: type) -> type:
    """The class whose ``__init__`` follows :func:`_no_options_init` in the method resolution
    order of ``cls`` (a class that has it): ``object`` where no other constructor follows it."""
    mro = cls.__mro__
    start = next(
        i for i, kind in enumerate(mro) if kind.__dict__.get("__init__") is _no_options_init
    )
    return next(
        kind
        for kind in mro[start + 1 :]
        if "__init__" in kind.__dict__ and kind.__dict__["__init__"] is not _no_options_init
    )


def _case_rows(target: Any, n_cases: int) -> Any:
    """The target of a loss of one's own as rows to give case i its row i (``per_case``): an
    array or tensor (or a list of numbers) whose first axis is the ``n_cases`` cases; None for
    any other target, given whole to each case: None (an autoencoder's forward that reads no
    target), a tuple ``(y, weights)``, a dict, one row shared by every case."""
    if isinstance(target, Tensor):
        rows = target
    elif isinstance(target, (np.ndarray, list)) or backend.array_module(target) is not np:
        try:
            rows = target_array(target, "target")
        except (TypeError, ValueError):  # a list that is no array of numbers: given whole
            return None
    else:
        return None
    return rows if getattr(rows, "ndim", 0) > 0 and rows.shape[0] == n_cases else None


def _own_per_case(loss: Loss) -> Any:
    """The one-pass per-case losses (``_case_losses``) of the class of ``loss`` that defines
    them, where ``loss`` computes what that class computes (:func:`computes_as`: a subclass
    with a forward of its own is computed case by case instead), else None."""
    for cls in type(loss).__mro__:
        method = cls.__dict__.get("_case_losses")
        if method is not None:
            return method if computes_as(loss, cls) else None
    return None


def forward_is_chainrules(loss: Loss) -> bool:
    """Whether ``loss`` computes one of chainrule's own forwards: the class it takes
    ``forward`` from is chainrule's, and it computes as that class (:func:`computes_as`: no
    ``forward`` or ``__call__`` of its own). False for a loss of one's own, whose targets
    mean what its forward reads them as."""
    for cls in type(loss).__mro__:
        if "forward" in cls.__dict__:
            return is_chainrules(cls) and computes_as(loss, cls)
    return False


def _case_sums(terms: Tensor) -> Tensor:
    """A loss's terms summed over every axis but the first (the cases'): shape (n_cases,);
    a 1-D tensor is one term per case, a 0-d one is one case."""
    if terms.ndim == 0:
        return terms.reshape(1)
    return terms if terms.ndim == 1 else terms.sum(axis=tuple(range(1, terms.ndim)))


def _case_means(terms: Tensor) -> Tensor:
    """A loss's terms averaged over every axis but the first (each case's units)."""
    units = int(np.prod(terms.shape[1:], dtype=np.int64)) if terms.ndim > 1 else 1
    sums = _case_sums(terms)
    return sums if units == 1 else sums / units


def _target_dtype(output: Tensor) -> Any:
    """The dtype a loss reads its targets in: the output's when it is a float (a float32 network
    stays float32), else the library's float, which the ops compute integer and boolean
    outputs in: targets of 0.5 must not be truncated to 0 by an integer output's dtype."""
    if backend.is_floating(output.dtype, output.xp):
        return output.dtype
    return backend.default_float(output.xp, output.data)


def as_rows(
    values: Any, width: int, what: str, expected: str = "the network expects"
) -> np.ndarray:
    """``values`` as a (cases, width) float64 array; one case may be a flat list. A wrong shape
    raises ShapeError naming ``what``, its shape and the ``width`` expected."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != width:
        raise ShapeError(
            f"{what} has shape {np.shape(values)} but {expected} {width} "
            f"value{'s' * (width != 1)} per case (shape (cases, {width}))"
        )
    return array


def _n_cases(output: Tensor) -> int:
    return output.shape[0] if output.ndim > 0 else 1


class SquaredError(Loss):
    """The lecture's E = 1/2 sum (t - y)^2, summed over cases ("sum") or averaged ("mean").

    With "mean" the sum over output units is kept and divided by the number of cases (the first
    axis), so E is the average per-case error. dE/dy = -(t - y) (divided by n for "mean").
    """

    name = "squared-error"
    reduction = "sum"

    def __init__(self, reduction: str = "sum") -> None:
        _refuse_reduction_none("SquaredError", {"reduction": reduction})
        if reduction not in ("sum", "mean"):
            raise ConfigError(f"SquaredError: reduction must be 'sum' or 'mean', not {reduction!r}")
        self.reduction = reduction

    def forward(self, output: Tensor, target: Any) -> Tensor:
        output, t = self._compared(output, target)
        error = t - output
        total = 0.5 * (error * error).sum()
        return total if self.reduction == "sum" else total / _n_cases(output)

    def _case_losses(self, output: Tensor, target: Any) -> Tensor:
        output, t = self._compared(output, target)
        error = t - output
        return 0.5 * _case_sums(error * error)

    def config(self) -> dict[str, Any]:
        return with_threshold(self, {"type": self.config_type(), "reduction": self.reduction})


class MSE(Loss):
    """The mean squared error over every element, mean((t - y)^2) (no 1/2; PyTorch's MSELoss)."""

    name = "mse"
    per_unit = True

    __init__ = _no_options_init

    def forward(self, output: Tensor, target: Any) -> Tensor:
        output, t = self._compared(output, target)
        error = t - output
        return (error * error).mean()

    def _case_losses(self, output: Tensor, target: Any) -> Tensor:
        output, t = self._compared(output, target)
        error = t - output
        return _case_means(error * error)


class CrossEntropy(Loss):
    """Softmax cross-entropy from logits z of shape (n, k), averaged over the n cases.

    E = -1/n sum_cases sum_k t_k log softmax(z)_k, with ``log_softmax`` stable for any logits
    (even +-1e4). ``target`` is integer labels of shape (n,) in [0, k), or rows of
    probabilities (one-hot or soft, each in [0, 1]: others are refused naming the first row
    holding one) as floats of shape (n, k), read as PyTorch's
    ``cross_entropy`` and ``cr.softmax_cross_entropy`` read them (integer one-hot rows, float
    labels and booleans are refused, saying what to cast them to). dE/dz = ((sum_k t_k)
    softmax(z) - t) / n, each case's row summed: (softmax(z) - t) / n for labels and rows that
    sum to 1, but a multi-hot or unnormalised row (taken as weights) scales softmax(z) by its sum.
    It reads class labels (``reads_labels``): :meth:`~Loss.target_rows` makes one-hot rows of
    a person's labels. Logits (n, d1, ..., k), the classes last (a sequence's per-step logits
    (n, T, k)), take labels (n, d1, ...) or probabilities of their shape, as
    ``cr.softmax_cross_entropy`` takes them: E is the mean over every position, PyTorch's
    ``cross_entropy`` of the pair reshaped to (-1, k), and :meth:`~Loss.per_case` each case's
    mean over its positions. PyTorch's (N, C, d1, ...) layout is refused where the targets
    tell it: labels (N, d1, ...) that are not the logits' shape without its last axis, and
    probabilities whose rows sum to 1 along axis 1, not along the last (beside logits of more
    than two axes, probability rows must sum to 1 along the classes, or 0 to drop a position).
    Where they cannot tell it, labels (N, C) beside logits (N, C, C), the classes are read last.
    """

    name = "cross-entropy"
    output_activation = "softmax"
    reads_labels = True

    __init__ = _no_options_init

    def forward(self, output: Tensor, target: Any) -> Tensor:
        return self._cross_entropy(output, target, "mean")

    def _case_losses(self, output: Tensor, target: Any) -> Tensor:
        # logits (n, d1, ..., k): each case's mean over its positions, so their mean is E
        return _case_means(self._cross_entropy(output, target, "none"))

    def _cross_entropy(self, output: Tensor, target: Any, reduction: str) -> Tensor:
        """The loss reduced by ``reduction`` ("mean" for E, "none" per case, or per position
        of logits (n, d1, ..., k))."""
        if output.ndim > 2:
            _refuse_classes_on_axis_1(output, target)
        elif output.ndim != 2:
            output, target = _one_case(output, target)
        shape = output.data.shape
        if shape[-1] == 1:  # the loss and its gradient would be 0 for any weights (the words:
            # output_units_problem's, asked only then: this runs every training step)
            problem = self.output_units_problem(1)
            raise ShapeError(f"CrossEntropy: logits have shape {tuple(shape)}, {problem}")
        targets = self._targets(output, target)
        if isinstance(targets, Tensor):  # probabilities that need a gradient: an input too
            return ops.softmax_cross_entropy(output, targets, reduction=reduction)
        # the engine's fused primitive (shapes checked above, class labels by the primitive):
        # one node, stable, and backward sends ((sum_k t_k) softmax(z) - t) / n
        options = {"targets": targets, "reduction": reduction}
        return apply(_SOFTMAX_CROSS_ENTROPY, (output,), options)

    def _targets(self, output: Tensor, target: Any) -> Any:
        """Integer labels (n,), or probabilities (n, k), read as ``cr.softmax_cross_entropy``
        reads them (:func:`~chainrule.ops.nn.targets_are_labels`: anything else is refused in
        its words); the op checks the labels' range. Probabilities that need a gradient stay a
        tensor. An empty list is labels (:func:`~chainrule.ops.nn.listed_labels`)."""
        array = target_array(listed_labels(target), "CrossEntropy: the target")
        if not targets_are_labels(array, output.data.shape, "CrossEntropy"):
            rows = self._same_shape_target(output, target)
            check_probabilities(rows.data, "CrossEntropy")  # labels: no pass over them
            check_class_rows(rows.data, tuple(output.data.shape), "CrossEntropy")
            return rows if rows.requires_grad else rows.data
        if type(array) is np.ndarray and type(output.data) is np.ndarray:  # the fast path
            return array  # labels already: the op checks their range
        labels = backend.asarray_like(array, output.data, op="CrossEntropy")
        return backend.signed_positions(labels)


def _one_case(logits: Tensor, target: Any) -> tuple[Tensor, Any]:
    """One unbatched case, logits (n_classes,) and one integer class label, as the batch of
    one case it is (``torch.nn.functional.cross_entropy`` takes it so): (1, n_classes) by a
    recorded reshape, whose backward gives the gradient the logits' own shape, and labels (1,),
    so its loss and gradient are those of the batch ``logits[None]``, ``[label]``. The label is
    an integer, as a batch's labels are (:func:`~chainrule.ops.nn.targets_are_labels`): a float
    (1.0) or a boolean is refused, as in a batch (and by PyTorch). Other shapes are refused:
    an (n,) row of probabilities beside (n,) logits is as often one logit per case, squeezed,
    as one case's classes, so it is given as (1, n_classes)."""
    shape = tuple(logits.shape)
    if logits.ndim != 1:
        raise ShapeError(f"CrossEntropy: logits must have shape (n_cases, n_classes), not {shape}")
    array = target_array(listed_labels(target), "CrossEntropy: the target")
    if array.ndim == 0:  # one label: an integer, as a batch's labels are
        xp = backend.array_module(array)
        if backend.is_integer(array.dtype, xp):
            return logits.reshape(1, shape[0]), backend.reshape(array, (1,))
        refusal = ShapeError if backend.is_real_floating(array.dtype, xp) else TypeError
        raise refusal(  # the batch's refusal of float labels (targets_are_labels), for one case
            f"CrossEntropy: one case's class label, beside logits of shape {shape}, must be an "
            f"integer, not {backend.dtype_name(array.dtype)}; class labels are integers, as in "
            "a batch, probabilities floats: give the label as an integer"
        )
    raise ShapeError(
        f"CrossEntropy: logits must have shape (n_cases, n_classes), or (n_classes,) for one "
        f"case with one integer class label, not {shape} and a target of shape "
        f"{tuple(array.shape)}; give one case as a batch of one, X[:1] and y[:1]"
    )


def _refuse_classes_on_axis_1(logits: Tensor, target: Any) -> None:
    """Refuse labels in PyTorch's (N, C, d1, ...) layout, the classes on axis 1: labels of
    shape (N, d1, ...) that are not the logits' shape without its last axis. Logits
    (n, d1, ..., k) with the classes last are taken as ``cr.softmax_cross_entropy`` takes
    them (labels (n, d1, ...) or probabilities of the logits' shape: per-step logits of a
    sequence); other targets are refused by its reading
    (:func:`~chainrule.ops.nn.targets_are_labels`)."""
    shape = tuple(logits.shape)
    array = target_array(listed_labels(target), "CrossEntropy: the target")
    torch_labels = (shape[0], *shape[2:])
    if tuple(array.shape) == torch_labels and torch_labels != shape[:-1]:
        raise ShapeError(
            f"CrossEntropy: logits must have shape (n_cases, n_classes), not {shape} beside "
            f"labels of shape {torch_labels}, or (n_cases, ..., n_classes) with the classes "
            "last: PyTorch's (N, C, d1, ...) layout, the classes on axis 1, is not taken: move "
            "the classes to the last axis (for (N, C, T) logits, logits.swapaxes(1, 2)), or "
            "reshape the logits to (n_cases, n_classes), the targets alike"
        )


def _labels(array: Any, loss: str) -> np.ndarray:
    """Integer class labels; whole-number floats are converted (the op checks their range)."""
    labels = to_numpy(array)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError(f"{loss}: labels must be whole numbers, got {labels.dtype} values")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iub":
        raise TypeError(f"{loss}: labels must be integers, not {labels.dtype}")
    return labels.astype(np.int64, copy=False)


class BinaryCrossEntropy(Loss):
    """Logistic-unit cross-entropy from logits z against targets t in [0, 1], mean over elements.

    E = mean(softplus(z) - z t) = mean(|z| (1 - t) + log(1 + e^-|z|)) where z >= 0 and
    mean(|z| t + log(1 + e^-|z|)) where not, computed in that form by the engine's fused
    :func:`chainrule.ops.logistic_cross_entropy`: terms that are never negative, so nothing
    cancels (softplus(30) - 30 keeps only one digit of log(1 + e^-30), softplus(40) - 40 none of
    it, and max(z, 0) - z t one digit at z = 20, t = 0.999999 in float32) and no exp of a large
    number is taken, so it is finite at
    z = +-1e4; dE/dz = (sigmoid(z) - t) / N everywhere, z = 0 included.

    ``per_unit=False`` sums each case's terms over the output units and averages over the cases
    only (the first axis), so E = 1/n sum_cases sum_j (softplus(z_j) - z_j t_j), as
    scikit-learn's MLP trains two classes and multilabel targets (and
    :attr:`chainrule.sklearn.MLPClassifier.loss_function_` gives it); dE/dz = (sigmoid(z) - t) / n.
    For one output unit the two are the same loss.
    """

    name = "binary-cross-entropy"
    per_unit = True
    output_activation = "logistic"

    @_refusing_reduction_none
    def __init__(self, per_unit: bool = True) -> None:
        if not isinstance(per_unit, (bool, np.bool_)):
            raise ConfigError(
                f"BinaryCrossEntropy: per_unit must be True (mean over cases and units) or False "
                f"(sum over units, mean over cases), not {per_unit!r}"
            )
        self.per_unit = bool(per_unit)

    def forward(self, output: Tensor, target: Any) -> Tensor:
        output, t = self._compared(output, target)
        # the op checks the targets lie in [0, 1] (check_probabilities), in this loss's name
        name = "BinaryCrossEntropy"
        if self.per_unit:  # t's gradient, if it needs one, too
            return named_logistic_cross_entropy(output, t, "mean", name)
        return named_logistic_cross_entropy(output, t, "sum", name) / _n_cases(output)

    def _case_losses(self, output: Tensor, target: Any) -> Tensor:
        output, t = self._compared(output, target)
        terms = named_logistic_cross_entropy(output, t, "none", "BinaryCrossEntropy")
        return _case_means(terms) if self.per_unit else _case_sums(terms)

    def config(self) -> dict[str, Any]:
        # the default writes no option, so its model files read as those of older versions
        options = {} if self.per_unit else {"per_unit": False}
        return with_threshold(self, {"type": self.config_type(), **options})


class MarginSquaredError(Loss):
    """Squared error that stops counting once an output is far enough over: RHW 1986's margin.

    An output that should be on (target above 0.5) has no error once it is above ``on`` (0.8),
    one that should be off none once it is below ``off`` (0.2). ``measured_from`` says how a
    unit short of its margin is scored:

    - ``"edge"`` (the default): d = min(y - on, 0) for on-units, max(y - off, 0) for off-units,
      E = 1/2 sum d^2. E and dE/dy = d are continuous, and zero at the edge itself.
    - ``"target"``: d = y - t on the units short of their margin, else 0 (the plain reading of
      the paper; E jumps by 1/2 (0.2)^2 as a unit crosses its edge).

    Summed over cases and units, like :class:`SquaredError` "sum".

    >>> import chainrule as cr
    >>> y = cr.tensor([[0.7, 0.3, 0.1]], requires_grad=True)
    >>> E = MarginSquaredError()(y, [[1.0, 0.0, 0.0]])   # d = (-0.1, 0.1, 0)
    >>> round(E.item(), 12)
    0.01
    """

    name = "margin-squared-error"
    reduction = "sum"

    @_refusing_reduction_none
    def __init__(self, on: float = 0.8, off: float = 0.2, measured_from: str = "edge") -> None:
        if measured_from not in ("edge", "target"):
            raise ConfigError(
                f"MarginSquaredError: measured_from must be 'edge' or 'target', "
                f"not {measured_from!r}"
            )
        on, off = float(on), float(off)
        if not 0 <= off < on <= 1:
            raise ConfigError(
                f"MarginSquaredError: need 0 <= off < on <= 1, got off={off:g}, on={on:g}"
            )
        self.on, self.off, self.measured_from = on, off, measured_from

    def forward(self, output: Tensor, target: Any) -> Tensor:
        d = self._short_of_margin(output, target)
        return 0.5 * (d * d).sum()

    def _case_losses(self, output: Tensor, target: Any) -> Tensor:
        d = self._short_of_margin(output, target)
        return 0.5 * _case_sums(d * d)

    def _short_of_margin(self, output: Tensor, target: Any) -> Tensor:
        """d per unit: how far each output is short of its margin (0 beyond it)."""
        output, t = self._compared(output, target)
        should_be_on = t.data > 0.5
        if self.measured_from == "edge":
            d = ops.where(
                should_be_on,
                ops.minimum(output - self.on, 0.0),
                ops.maximum(output - self.off, 0.0),
            )
        else:  # the mask is a constant: a unit inside its margin sends nothing back
            short = output.xp.where(should_be_on, output.data < self.on, output.data > self.off)
            d = ops.where(short, output - t, 0.0)
        return d

    def config(self) -> dict[str, Any]:
        return with_threshold(
            self,
            {
                "type": self.config_type(),
                "on": self.on,
                "off": self.off,
                "measured_from": self.measured_from,
            },
        )


LOSSES: dict[str, type[Loss]] = {
    "squared-error": SquaredError,
    "mse": MSE,
    "cross-entropy": CrossEntropy,
    "binary-cross-entropy": BinaryCrossEntropy,
    "margin-squared-error": MarginSquaredError,
}


def check_loss_argument(loss: Any, function: str) -> None:
    """Refuse, before anything is written, a ``loss`` that is neither a name nor a chainrule
    loss object: its class's name was stored ("MSELoss" for PyTorch's, "int" for 42), which
    every reader of the loss (predict, export) then refused, where a good model had been."""
    if loss is None or isinstance(loss, (str, Loss)):
        return  # an unknown name is a ConfigError from the lookup (_loss_config)
    if isinstance(loss, type) and issubclass(loss, Loss):
        raise ConfigError(
            f"{function}: loss is the class {loss.__name__}, not a loss object; pass an "
            f"instance, loss={loss.__name__}()"
        )
    given = type_name(loss)
    instances = ", ".join(f"nn.{cls.__name__}()" for cls in LOSSES.values() if is_chainrules(cls))
    raise ConfigError(
        f"{function}: loss must be a loss name ({', '.join(map(repr, LOSSES))}) or a chainrule "
        f"loss object ({instances}, or a subclass of chainrule.nn.Loss), not an object of type "
        f"{given} ({reprlib.repr(loss)}); nothing was written"
    )


def check_loss_fits(loss: Any, n_outputs: int | None, function: str) -> None:
    """Refuse, before anything is written, a model of ``n_outputs`` output units under a
    ``loss`` (an object or its name) that cannot train it: a file of a one-unit cross-entropy
    model predicts probability 1 for every case. The words are the loss's own
    (:meth:`Loss.output_units_problem`). Nothing to check for None (no loss, or widths the
    caller cannot tell) or a loss that is no chainrule loss (a Trainer's plain function)."""
    if isinstance(loss, str):
        loss = loss_from_name(loss)
    if n_outputs is None or not isinstance(loss, Loss):
        return
    problem = loss.output_units_problem(n_outputs)
    if problem:
        raise ConfigError(
            f"{function}: loss {type(loss).__name__} over a model with {problem}; "
            "nothing was written"
        )


def _key(name: str) -> str:
    """The form :data:`LOSSES` keeps a name in: lower case, hyphens for underscores."""
    return str(name).strip().lower().replace("_", "-")


def loss_from_name(name: str, **kwargs: Any) -> Loss:
    """A loss by name: "squared-error", "mse", "cross-entropy", "binary-cross-entropy",
    "margin-squared-error", or the name of a class registered with :func:`register_loss`.

    Underscores work as hyphens, and any case; ``kwargs`` go to the constructor
    (``reduction="mean"``). An unknown name is a :class:`ConfigError` offering the names, an
    option the class does not take one naming the options it does.
    """
    cls = LOSSES.get(_key(name))
    if cls is None:
        raise ConfigError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    if is_chainrules(cls):  # a loss of one's own may take a reduction "none" of its own
        _refuse_reduction_none(f"loss {name!r}", kwargs)
    unknown = _unknown_option(cls, kwargs)
    if unknown is not None:
        raise ConfigError(f"loss {name!r} {unknown}")
    try:
        return cls(**kwargs)
    except UserError:
        raise  # the loss's own words (chainrule's losses raise ConfigError)
    except (TypeError, ValueError) as error:  # a value it refuses
        raise ConfigError(f"loss {name!r}: {error}") from None


def _unknown_option(cls: type[Loss], options: dict[str, Any]) -> str | None:
    """Why ``options`` are not all options of the loss class ``cls`` (its constructor's
    parameters): "takes no option 'x' (its options: ...)", naming the first it lacks; None
    where each is one, or where the class takes any keyword (it says itself which when built)."""
    parameters = _constructor_parameters(cls)
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return None
    unknown = next((key for key in options if key not in parameters), None)
    if unknown is None:
        return None
    takes = (
        f"its options: {', '.join(parameters)}"
        if parameters
        else f"{cls.__name__}() takes no arguments"
    )
    if unknown == "threshold":  # an attribute every loss has, set after it is built
        takes += "; a threshold is set on the loss built: loss.threshold = 0.2"
    return f"takes no option {unknown!r} ({takes})"


def _constructor_parameters(cls: type[Loss]) -> dict[str, inspect.Parameter]:
    """The parameters of the constructor that takes the options of ``cls``: its own, or past
    :func:`_no_options_init` (MSE's, CrossEntropy's) the one that follows it (a mixin's), none
    where that is object's."""
    first = next(kind for kind in cls.__mro__ if "__init__" in kind.__dict__)
    if first.__dict__["__init__"] is not _no_options_init:
        return dict(inspect.signature(cls).parameters)  # its own constructor's, as Python calls it
    following = _init_after_no_options(cls)
    if following is object:
        return {}
    return dict(list(inspect.signature(following.__init__).parameters.items())[1:])


def register_loss(cls: type[Loss]) -> type[Loss]:
    """Register a :class:`Loss` subclass under its ``name`` (lower case, hyphens), so that
    :func:`loss_from_config` rebuilds it from its ``config()``, and with it a model file that
    stores it (:func:`chainrule.io.load_model`'s loss, ``chainrule explain``, ``evaluate`` and
    ``predict`` of the model, a resume); :func:`loss_from_name` builds it by name, and it joins
    :data:`LOSSES`. Use it as a decorator; it returns the class.

    A class is registered explicitly, as :func:`chainrule.nn.register_module` registers a
    module and :func:`chainrule.optim.register_optimizer` an optimizer: one that merely exists
    changes nothing, and its model files name it (its class's name where it has no ``name``)
    but cannot rebuild it. A name that is taken (chainrule's own "squared-error" ..., another
    class's) raises :class:`ConfigError`; registering a class again (a re-run notebook cell:
    the same module and name) is harmless. The command line runs in a process of its own,
    where only chainrule's losses are known.

    >>> import chainrule as cr
    >>> @cr.nn.register_loss
    ... class ScaledSquaredError(cr.nn.Loss):
    ...     name = "scaled-squared-error"
    ...     def __init__(self, scale=1.0):
    ...         self.scale = scale
    ...     def forward(self, output, target):
    ...         error = output - target
    ...         return self.scale * (error * error).sum()
    ...     def config(self):
    ...         return {"type": self.config_type(), "scale": self.scale}
    >>> ScaledSquaredError(2.0).config()
    {'type': 'scaled-squared-error', 'scale': 2.0}
    >>> cr.nn.loss_from_config({"type": "scaled-squared-error", "scale": 2.0})
    ScaledSquaredError(scale=2.0)
    """
    if not (isinstance(cls, type) and issubclass(cls, Loss)):
        raise ConfigError(f"register_loss: {cls!r} is not a subclass of chainrule.nn.Loss")
    name = cls.name
    if not (isinstance(name, str) and name.strip() and name == _key(name)):
        meant = _key(name) if isinstance(name, str) and name.strip() else _key(cls.__name__)
        raise ConfigError(
            f"register_loss: {cls.__qualname__}'s name is {name!r}; set the class attribute "
            "name to the name its config() writes, in lower case with hyphens, e.g. "
            f'name = "{meant}"'
        )
    known = LOSSES.get(name)
    if known is not None and not defined_alike(known, cls):
        raise ConfigError(
            f"register_loss: the name {name!r} is taken by {owner_of(known)}; give "
            f'{cls.__qualname__} a name of its own (name = "{_key(cls.__name__)}")'
        )
    LOSSES[name] = cls
    return cls


def unregistered_loss(loss: Any) -> str | None:
    """The type a model file would give ``loss`` where no program could rebuild the loss from
    it (a class of one's own that is not registered with :func:`register_loss`), else None:
    for a loss whose ``config()`` names a loss :func:`loss_from_name` knows, a name, or no
    chainrule loss."""
    if not isinstance(loss, Loss):
        return None
    kind = loss.config().get("type")
    return kind if isinstance(kind, str) and _key(kind) not in LOSSES else None


def fits_a_regression(loss: Any) -> bool:
    """Whether ``loss`` (a loss object) is a squared error averaged over the cases, the loss a
    regression is fitted on: ``mse`` (``nn.MSE``, ``chainrule train --task regression``'s) or
    ``squared-error`` with reduction ``mean`` (``nn.SquaredError("mean")``, scikit-learn
    ``MLPRegressor``'s ``loss_function_``). The lecture's summed squared error (the default)
    trains the classic classifiers (xor, parity) on 0/1 targets, so it says neither. The one
    rule by which a model saved without a task is read as a regression (``chainrule predict``,
    ``evaluate``, ``export``)."""
    name = getattr(loss, "name", None)
    return name == "mse" or (name == "squared-error" and getattr(loss, "reduction", None) == "mean")


def loss_from_config(config: dict[str, Any] | str) -> Loss:
    """Rebuild a loss from its ``config()``, or from its name (model files of older versions
    stored a loss given by name as the name). A ``type`` no loss is known by (a model file's
    loss of a class of one's own, not registered in this program) is a :class:`ConfigError`
    offering the names and naming :func:`register_loss`."""
    if isinstance(config, str):
        return loss_from_name(config)
    if not isinstance(config, dict) or "type" not in config:
        raise ConfigError(f"loss_from_config: expected a dict with a 'type' key, got {config!r}")
    name = config["type"]
    if _key(name) not in LOSSES:
        raise ConfigError(
            f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}, or, where {name!r} is "
            "a loss class of your own, register the class with @chainrule.nn.register_loss "
            f'(its name = "{_key(name)}") in the program that reads it; {ON_THE_COMMAND_LINE}'
        )
    kwargs = {key: value for key, value in config.items() if key != "type"}
    # the threshold with_threshold recorded is set on the loss built (as bce.threshold = 0.1
    # sets it); a constructor that names a threshold of its own is given it, as any option
    takes_it = "threshold" in _constructor_parameters(LOSSES[_key(name)])
    recorded = not takes_it and "threshold" in kwargs
    threshold = kwargs.pop("threshold") if recorded else None
    loss = loss_from_name(name, **kwargs)
    if recorded:
        loss.threshold = _checked_threshold(threshold, loss, name)
    return loss


def _checked_threshold(threshold: Any, loss: Loss, name: str) -> float:
    """A config's ``threshold`` as a float: a finite number, and a probability strictly between
    0 and 1 where ``loss`` reads its outputs as probabilities (its own logistic or softmax);
    else a :class:`ConfigError` naming the loss."""
    real = isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
    if not (real and math.isfinite(threshold)):
        raise ConfigError(f"loss {name!r}: threshold must be a number, not {threshold!r}")
    if loss.output_activation is not None and not 0 < threshold < 1:
        raise ConfigError(
            f"loss {name!r}: threshold must lie strictly between 0 and 1 (a probability, where "
            f"a unit counts as on), not {threshold!r}"
        )
    return float(threshold)
