"""The explorer's network: JSON to and from an ``nn.Sequential``; every number from the explainer.

The page edits a small network given by its numbers (a :class:`NetworkState`). The state is only
a serialisation: :meth:`NetworkState.model` turns it into the ``nn.Sequential`` the library runs
(in the state's dtype: a model's own, float64 for a network the page makes),
:meth:`NetworkState.loss_object` into the ``nn`` loss of that name, and
:func:`NetworkState.from_model` turns a model back into a state. Every number the page shows is
read from the explainer's :class:`~chainrule.explainer.Derivation` of that model: the forward and
backward pass, the split of dE/dy_i into its paths (``Derivation.terms``), the nudge experiment
(the perturbation view), the finite differences and the gradient check. This module does no
arithmetic of its own.

Notation follows the lecture: for a connection from unit i (layer below) to unit j (layer above),
``z_j = b_j + sum_i y_i w_ij``, ``y_j = f(z_j)`` and ``dE/dy_i = sum_j w_ij dE/dz_j``.
Layer 0 holds the input units (their y is the input; they have no z).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.explainer import (
    Derivation,
    ExplainError,
    as_loss,
    explain,
    seed_network,
    sequential,
)
from chainrule.explainer.bugs import BUGS
from chainrule.explainer.build import (
    dE_dy_difference,
    dE_dy_straddles_kink,
    difference_steps,
    problem_of,
)
from chainrule.explainer.derivation import verdict
from chainrule.explainer.network import (
    LOSSES as EXPLAINED_LOSSES,
)
from chainrule.explainer.network import (
    Network,
    as_network,
    diagonal_blocks,
    dropout_note,
    host_values,
    output_activation,
)
from chainrule.explainer.perturbation import central_dE_dy, perturbation_view
from chainrule.nn.activations import ACTIVATIONS, HIDDEN, mlp
from chainrule.nn.layers import Linear, Parallel, Sequential
from chainrule.nn.losses import Loss

FD_EPS = 1e-6
#: How a refusal of :meth:`NetworkState.from_model` names the way to write a model out: the
#: Python function (and the command); ``chainrule serve --model`` names its own command line.
EXPLAIN_WITH = "chainrule.explainer.explain (chainrule explain)"
#: The largest |number| a network sent to or from the page holds (weights, inputs, targets):
#: the requests' bound, and where a training step stops (a larger weight is refused as
#: divergence, so no network the page returns is one it would refuse).
MAX_MAGNITUDE = 1e6
#: Finite-difference checks per derivation the page draws; past this the explainer checks a
#: fixed sample (and notes it).
MAX_CHECKS = 3000
#: The gradient check and the bug view compare every derivative: their requests are bounded by
#: ``schemas.MAX_GRADCHECK`` (inputs, weights and biases). The explainer's sample limit also
#: counts the hidden y's and z's: at 3000, a 64-53-10 network (4 049 derivatives, within the
#: bound) was checked on a 73% sample and still reported "ok", its unchecked rows "not caught".
EVERY_CHECK = sys.maxsize


@dataclass
class NetworkState:
    """A network's numbers: layer sizes, weights w_ij (rows i below, columns j above), biases
    (None for a layer without one), activations, loss (its name, its reduction where it is not
    the loss's default, and its other ``config()`` options where they are not the loss's
    defaults: ``loss_options``, e.g. ``{"per_unit": False}`` for a multilabel scikit-learn
    classifier's ``BinaryCrossEntropy(per_unit=False)``) and one training case (input and
    target), and the dtype the model runs in. The numbers are kept in float64, which holds a
    float32 model's exactly.

    A state read from a model (:meth:`from_model`) also keeps what the numbers do not say:
    ``names``, each weight layer's parameter names in the model (``"0.0.weight"`` in a
    Sequential inside it), and ``frozen``, the names of those whose ``requires_grad`` is False.
    :meth:`network` gives the rebuilt model those names and flags, so every view explains the
    model as ``explain`` does (its names, its note on frozen weights, a step that leaves them)."""

    sizes: list[int]
    weights: list[np.ndarray]
    biases: list[np.ndarray | None]
    activation: str = "logistic"
    output: str = "logistic"
    loss: str = "squared-error"
    input: np.ndarray = field(default_factory=lambda: np.zeros(0))
    target: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dtype: str = "float64"
    reduction: str | None = None
    #: per weight layer, where a weight exists (n_in, n_out), or None: everywhere. A layer that
    #: joins its units in blocks (an ``nn.Parallel``) holds 0 in ``weights`` between its blocks;
    #: its JSON writes ``null`` there. Empty: every layer full.
    connected: list[np.ndarray | None] = field(default_factory=list)
    #: per weight layer, its parameters' names in the model the state came from, in the order
    #: of ``explainer.network.Layer.parameters`` (each block's weight, then its bias); None: the
    #: names of the model :meth:`model` builds (a network the page made, or a model that names
    #: its parameters so, a flat Sequential with none frozen)
    names: list[list[str]] | None = None
    #: the names (of ``names``, which a state with frozen parameters gives) of the parameters
    #: that do not need a gradient
    frozen: list[str] = field(default_factory=list)
    #: the explainer's notes on the model the state was read from that the rebuilt model cannot
    #: say again (its dropout in training mode: :func:`~chainrule.explainer.network.dropout_note`,
    #: the model rebuilt from the numbers has no dropout); every derivation of the state carries
    #: them first, where ``explain`` of that model has them
    notes: list[str] = field(default_factory=list)
    #: the loss's options other than its name and ``reduction``: its ``config()`` less ``type``
    #: and ``reduction``, less the options at their defaults (:func:`_carried_options`), each
    #: passed to the loss's class by name. Empty: the loss's defaults (as a state of an older
    #: version, which kept the reduction only, reads)
    loss_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check_frozen()
        if self.loss_options:  # an option the loss lacks, named now rather than at every view
            self.loss_object()

    def _check_frozen(self) -> None:
        """Refuse ``frozen`` names that :meth:`network` could not honour (:func:`frozen_refusal`):
        without ``names`` they name nothing, and were ignored."""
        problem = frozen_refusal(self.names, self.frozen)
        if problem is not None:
            raise ExplainError(f"NetworkState: {problem}")

    def mask(self, l: int) -> np.ndarray | None:
        """Where weight layer ``l`` has a weight (None: everywhere)."""
        return self.connected[l] if l < len(self.connected) else None

    def to_json(self) -> dict:
        """The JSON form the API and the page's save/load use: a weight that does not exist (a
        layer joined in blocks) is ``null``."""
        return {
            "sizes": list(self.sizes),
            "weights": [_with_nulls(w, self.mask(l)) for l, w in enumerate(self.weights)],
            "biases": [None if b is None else b.tolist() for b in self.biases],
            "activation": self.activation,
            "output": self.output,
            "loss": self.loss,
            "input": self.input.tolist(),
            "target": self.target.tolist(),
            "dtype": self.dtype,
            **({} if self.reduction is None else {"reduction": self.reduction}),
            **({} if self.names is None else {"names": [list(n) for n in self.names]}),
            **({"frozen": list(self.frozen)} if self.frozen else {}),
            **({"notes": list(self.notes)} if self.notes else {}),
            **({"loss_options": dict(self.loss_options)} if self.loss_options else {}),
        }

    @classmethod
    def from_json(cls, spec: dict) -> NetworkState:
        """Build from the JSON form (already validated by the API's schema, which refuses a
        ``null`` weight that does not leave the layer's weights in blocks)."""
        weights, connected = [], []
        for l, w in enumerate(spec["weights"]):
            # null (None) reads as NaN: the absent weights
            array = np.array([[np.nan if v is None else v for v in row] for row in w], np.float64)
            array = array.reshape(len(w), -1)
            absent = np.isnan(array)
            if absent.any():
                blocks_of(~absent, f"weights[{l}]")  # refuses a pattern that is not blocks
                array[absent] = 0.0
            weights.append(array)
            connected.append(~absent if absent.any() else None)
        return cls(
            sizes=[int(n) for n in spec["sizes"]],
            weights=weights,
            connected=connected,
            biases=[None if b is None else np.asarray(b, np.float64) for b in spec["biases"]],
            activation=spec.get("activation", "logistic"),
            output=spec.get("output", "logistic"),
            loss=spec.get("loss", "squared-error"),
            input=np.asarray(spec["input"], dtype=np.float64),
            target=np.asarray(spec["target"], dtype=np.float64),
            dtype=spec.get("dtype", "float64"),
            reduction=spec.get("reduction"),
            names=spec.get("names"),
            frozen=list(spec.get("frozen") or []),
            notes=list(spec.get("notes") or []),
            # absent in an older state's JSON: the loss's defaults, as that state computed
            loss_options=dict(spec.get("loss_options") or {}),
        )

    def loss_object(self) -> Loss:
        """The ``nn`` loss of this name, reduction and options (the library's own definition).
        A loss's own reduction (mse's mean) is its default, whether or not its class takes one.
        An option the loss does not have is refused naming it (:class:`ExplainError`)."""
        return named_loss(self.loss, self.reduction, self.loss_options)

    def model(self) -> Sequential:
        """The ``nn.Sequential`` these numbers describe, in the state's dtype. A loss that applies
        its own unit to the logits (cross-entropy, binary cross-entropy) gets the logits: the top
        Linear layer is the model's last layer, as ``chainrule train`` builds it.
        A layer joined in blocks becomes an ``nn.Parallel`` of one bare ``Linear`` per block (its
        rows and columns of the weights, its biases) followed by the layer's unit: the explainer
        reads that as one layer joined in blocks, as it reads the model the state came from."""
        top = len(self.sizes) - 1
        own = self.loss_object().output_activation
        modules = []
        for l in range(top):
            unit = self.output if l + 1 == top else self.activation
            if l + 1 == top and own is not None:
                unit = "identity"
            weight, bias, mask = self.weights[l], self.biases[l], self.mask(l)
            if mask is None:
                modules += list(sequential([(weight, bias, unit)], dtype=self.dtype))
                continue
            branches = []
            for rows, cols in blocks_of(mask, f"weights[{l}]"):
                b = None if bias is None else bias[cols]
                (linear,) = sequential([(weight[rows, cols], b, "identity")], dtype=self.dtype)
                branches.append((rows.stop - rows.start, linear))
            modules.append(Parallel(*branches))
            if ACTIVATIONS[unit].module is not None:
                modules.append(ACTIVATIONS[unit].module())
        return Sequential(*modules)

    @classmethod
    def from_model(
        cls, model: Any, x: Any, t: Any, loss: Any, *, explain_with: str = EXPLAIN_WITH
    ) -> NetworkState:
        """The state of an ``nn.Sequential`` with one case: ``x`` one row (or a flat list) and
        ``t`` its target, read as the explainer reads them (a class label for cross-entropy),
        and its layers too (a Sequential inside it is its layers in order,
        :func:`~chainrule.explainer.network.layers_of`).
        The state keeps the model's dtype, so the page computes what the model computes. A batch
        of several cases is refused: the explorer shows one case. A model the page cannot show
        but the explainer can write out is refused naming ``explain_with``, the way to it the
        caller has (the Python function; ``chainrule serve --model`` names the command)."""
        loss = page_loss(loss)
        try:
            rows = np.shape(host_values(x))
        except ValueError:  # ragged rows: the explainer says what is wrong with them
            rows = ()
        if len(rows) == 2 and rows[0] > 1:  # before t is matched to x's rows ("give one per
            raise _not_one_case(rows)  # case" asked for a batch)
        with _named_as_the_explorers():
            problem = problem_of(model, x, np.atleast_1d(host_values(t)), loss)
            output_activation(problem.network, problem.loss)  # a unit applied twice: refused
        network, loss_object = problem.network, problem.loss
        if loss_object.name not in PAGE_LOSSES:  # the page would compute another loss
            raise ExplainError(
                f"explorer: the page computes {', '.join(PAGE_LOSSES)}, not "
                f"{loss_object.name}; {explain_with} writes this model's derivation out (text, "
                "Markdown, LaTeX, HTML, JSON)"
            )
        options = _carried_options(loss_object)
        shown = named_loss(loss_object.name, _reduction(loss_object), options)
        if shown.config() != loss_object.config():  # a config its options do not rebuild
            raise ExplainError(
                f"explorer: the page would compute {shown.config()}, not this model's loss, "
                f"{loss_object.config()}; {explain_with} writes this model's derivation out "
                "(text, Markdown, LaTeX, HTML, JSON)"
            )
        if problem.x.shape[0] != 1:
            raise _not_one_case(problem.x.shape)
        note = dropout_note(network)
        if note is not None:  # the page shows the network's numbers in evaluation, as explain does
            warnings.warn(f"explorer: {note}", UserWarning, stacklevel=2)
        layers = network.layers
        kinds = {layer.activation for layer in layers[:-1]}
        if len(kinds) > 1:
            raise ExplainError(
                f"explorer: the page shows one kind of hidden unit, but this network has "
                f"{network.describe()}; {explain_with} writes it out"
            )
        hidden = kinds.pop() if kinds else "logistic"
        if hidden not in PAGE_HIDDEN:  # the schema's refusal named a field, not a way
            raise ExplainError(
                f"explorer: the page's hidden units are {', '.join(PAGE_HIDDEN)}, but "
                f"this network has {network.describe()}; {explain_with} writes it out"
            )
        top = output_activation(network, loss_object)
        state = cls(
            sizes=network.sizes,
            # a layer joined in blocks (an nn.Parallel): 0 between its blocks, and its mask
            weights=[layer.weight_array() for layer in layers],
            biases=[layer.bias_array() for layer in layers],
            connected=[layer.connected for layer in layers],
            activation=hidden,
            output="linear" if top == "identity" else top,
            loss=loss_object.name,
            reduction=_reduction(loss_object),
            loss_options=options,
            input=problem.x[0],
            target=problem.t[0],
            dtype=str(network.dtype),
            notes=[] if note is None else [note],
        )
        names = [_names_in_model(layer) for layer in layers]
        frozen = [
            layer.model_names()[key]
            for layer in layers
            for key, parameter in layer.parameters()
            if not parameter.requires_grad
        ]
        # the names the rebuilt model gives its parameters go without saying (a flat model's);
        # frozen parameters are named by them, so then they are given
        if frozen or names != [_names_in_model(layer) for layer in state.network().layers]:
            state.names = names
        state.frozen = frozen
        return state

    def network(self) -> Network:
        """The explainer's view of :meth:`model`, its parameters named as the model the state
        came from names them (``names``) and frozen where that model froze them (``frozen``):
        the explainer then says what ``explain`` says of that model (its names, its note on
        frozen parameters), and the no-zero-grad bug's step leaves those parameters as the
        model's optimizer would."""
        self._check_frozen()  # frozen set since the state was made
        view = as_network(self.model())
        if self.names is None:
            return view
        frozen = set(self.frozen)
        for layer, names in zip(view.layers, self.names):
            named = dict(zip((key for key, _ in layer.parameters()), names))
            for key, parameter in layer.parameters():
                if named[key] in frozen:
                    parameter.requires_grad = False
            layer.parts = [
                dataclasses.replace(
                    part,
                    weight_name=named[f"{part.key}weight"],
                    bias_name=None if part.bias is None else named[f"{part.key}bias"],
                )
                for part in layer.parts
            ]
        return view

    def derivation(self, focus: tuple[int, int] | None = None, **options: Any) -> Derivation:
        """The explainer's derivation of this network's one case; ``focus`` is (layer, 0-based
        unit); ``options`` go to :func:`~chainrule.explainer.explain` (default: no checks)."""
        unit = None if focus is None else (focus[0], focus[1] + 1)  # the explainer counts from 1
        options = {"check": False, "perturbation": False, "views": False, "paths": False, **options}
        d = explain(
            self.network(),
            self.input[None, :],
            self.target[None, :],
            self.loss_object(),
            unit=unit,
            **options,
        )
        d.notes[:0] = self.notes  # the model's notes come first in explain's too
        return d


def frozen_refusal(names: list[list[str]] | None, frozen: list[str]) -> str | None:
    """Why a network's ``frozen`` parameter names cannot be honoured with its ``names`` (each
    weight layer's parameter names), starting with the field ("frozen: ..."), or None where
    they can: a frozen name must be one of ``names``, so a network that gives no names (its
    model's names go without saying) can freeze nothing. The request schema and
    :class:`NetworkState` both refuse so."""
    if not frozen:
        return None
    if names is None:
        return (
            "frozen: names parameters of `names`, which this network does not give; give names too"
        )
    known = {name for layer in names for name in layer}
    unknown = next((name for name in frozen if name not in known), None)
    if unknown is not None:
        return f"frozen: {unknown!r} is not one of the parameters' names (names)"
    return None


def _names_in_model(layer: Any) -> list[str]:
    """A layer's parameter names in its model, in the order of its ``parameters()``."""
    names = layer.model_names()
    return [names[key] for key, _ in layer.parameters()]


def page_loss(loss: Any) -> Loss:
    """``loss`` (an ``nn`` loss or its name) as the explainer reads it. A loss it does not know
    is refused naming the losses the page computes: the explainer's own list offers
    margin-squared-error too, which :meth:`NetworkState.from_model` would then refuse."""
    try:
        with _named_as_the_explorers():
            return as_loss(loss)
    except ExplainError:
        known = isinstance(loss, Loss) and loss.name in EXPLAINED_LOSSES
        if known or isinstance(loss, dict):  # a loss refused for a reason of its own
            raise
        shown = type(loss).__name__ if isinstance(loss, Loss) else repr(loss)
        raise ExplainError(
            f"explorer: unknown loss {shown}; the explorer computes {', '.join(PAGE_LOSSES)}"
        ) from None


def _not_one_case(shape: tuple[int, ...]) -> ExplainError:
    """The refusal of inputs of another number of rows than one (``shape``): the explorer
    shows one case."""
    return ExplainError(
        f"explorer: the explorer shows one case, but x has {shape[0]} rows (shape "
        f"{tuple(shape)}); pass one case, e.g. (X[0], T[0])"
    )


@contextlib.contextmanager
def _named_as_the_explorers():
    """The explainer's refusals of a model, said as the explorer's ("explorer: ...")."""
    try:
        yield
    except ExplainError as error:
        raise ExplainError(f"explorer: {str(error).removeprefix('explain: ')}") from None


def blocks_of(mask: np.ndarray, where: str = "weights") -> list[tuple[slice, slice]]:
    """The blocks (rows, columns) of a layer whose weights exist where ``mask`` is True
    (:func:`~chainrule.explainer.network.diagonal_blocks`). Refuses (ValueError, naming
    ``where``) any other pattern: the page reads a missing weight only as a Parallel's."""
    try:
        return diagonal_blocks(mask)
    except ValueError as error:
        raise ValueError(
            f"{where}: null marks a weight that does not exist, and a layer's weights must then "
            "be joined in blocks along the diagonal, as an nn.Parallel joins them (each unit "
            f"below to every unit of its own block above, the blocks in order, none empty); "
            f"{error}"
        ) from None


def _with_nulls(weight: np.ndarray, mask: np.ndarray | None) -> list:
    """A weight matrix as JSON lists, with None (null) where ``mask`` says no weight exists."""
    rows = weight.tolist()
    if mask is None:
        return rows
    return [[v if m else None for v, m in zip(row, ms)] for row, ms in zip(rows, mask.tolist())]


#: The losses the page offers and computes by name: a deliberate subset of the library's
#: (``nn.losses.LOSSES``, the one home of the names; tests/train/test_run_names_s62.py checks
#: each is there and the explainer writes it out). A loss with parameters of its own, as
#: margin-squared-error's margins, would lose them in a page's state, so it is left out.
PAGE_LOSSES = ("squared-error", "mse", "cross-entropy", "binary-cross-entropy")
#: The hidden units the page computes (its request schema's ``Activation``): the library's
#: own list of hidden units (``nn.activations.HIDDEN``), not a copy of it.
PAGE_HIDDEN = HIDDEN
#: The top units the page computes (its request schema's ``OutputUnit``): "linear" is the
#: identity (the logits), softmax and logistic are also the units the cross-entropies apply.
PAGE_TOP_UNITS = ("logistic", "linear", "softmax")


def page_units() -> dict:
    """The units the page's Edit form offers, in order: ``hidden`` (:data:`PAGE_HIDDEN`) and
    ``top`` (:data:`PAGE_TOP_UNITS`). The page fills its lists from this (``GET /api/units``),
    so it keeps no copy of them."""
    return {"hidden": list(PAGE_HIDDEN), "top": list(PAGE_TOP_UNITS)}


def page_bugs() -> list[dict]:
    """The teaching bugs the page offers, in the explainer's order (``explainer.bugs.BUGS``),
    each with its ``name`` and ``title``, what the page's list says of it. The page fills its
    list from this (``GET /api/bugs``), so it keeps no copy of them."""
    return [{"name": bug.name, "title": bug.title} for bug in BUGS.values()]


def targets_in_unit_interval(loss: Loss) -> bool:
    """Whether ``loss``'s targets must lie in [0, 1]: a loss that applies its own unit to the
    logits (``output_activation``: softmax, logistic) compares that unit's probabilities
    (:meth:`~chainrule.nn.Loss.probabilities`) with its targets, which are probabilities too
    (``BinaryCrossEntropy`` refuses any other)."""
    return loss.output_activation is not None


def page_losses() -> list[dict]:
    """The losses the page offers, in :data:`PAGE_LOSSES`' order, each as its loss object says
    it: ``name``; ``top_units``, the unit the loss applies itself to the top layer's logits
    (``output_activation``), which the page's top units must then be, or None where any top
    units do; ``targets_in_unit_interval`` (:func:`targets_in_unit_interval`). The page fills
    its loss list from this and follows it when a loss or the top units change, so it keeps no
    copy of what a loss needs (``GET /api/losses``)."""
    losses = []
    for name in PAGE_LOSSES:
        loss = as_loss(name)
        losses.append(
            {
                "name": loss.name,
                "top_units": loss.output_activation,
                "targets_in_unit_interval": targets_in_unit_interval(loss),
            }
        )
    return losses


def _carried_options(loss: Loss) -> dict[str, Any]:
    """What a state keeps of ``loss`` beside its name and reduction: its ``config()`` less
    ``type``, ``reduction`` and each option that its name's default loss has alike
    (``{"per_unit": False}`` for ``BinaryCrossEntropy(per_unit=False)``, ``{}`` for the
    default ``BinaryCrossEntropy()``), so a state of a loss at its defaults names none."""
    default = as_loss(loss.name).config()
    return {
        key: value
        for key, value in loss.config().items()
        if key not in ("type", "reduction") and (key not in default or default[key] != value)
    }


def _field_in_options(options: dict[str, Any]) -> str | None:
    """Why ``options`` hold one of the network's own fields (``type``: its ``loss``;
    ``reduction``), one line starting "loss_options: ...", or None."""
    for key, field_name in (("type", "loss"), ("reduction", "reduction")):
        if key in options:
            return f"loss_options: {key!r} is the network's own field {field_name!r}; give it there"
    return None


def named_loss(name: str, reduction: str | None, options: dict[str, Any] | None = None) -> Loss:
    """The ``nn`` loss a state naming ``name``, ``reduction`` (None: the name's default) and
    ``options`` (:attr:`NetworkState.loss_options`) computes: all a state keeps of a loss. An
    option the loss does not have, or a value it refuses (in the loss's own words), is an
    :class:`ExplainError` naming it ("loss_options: ..."); the request schema refuses so too."""
    loss = as_loss(name)
    config = {"type": loss.name}
    if reduction not in (None, loss.reduction):
        config["reduction"] = reduction
        loss = as_loss(config)  # a reduction the loss lacks: refused in its own words
    if not options:
        return loss
    problem = _field_in_options(options)
    if problem is not None:
        raise ExplainError(problem)
    try:
        return as_loss({**config, **options})
    except ExplainError as error:  # an option the loss lacks, a value it refuses: its words
        raise ExplainError(f"loss_options: {str(error).removeprefix('explain: ')}") from None


def _reduction(loss: Loss) -> str | None:
    """``loss``'s reduction where it differs from its name's default (a state that names only
    the loss would describe ``SquaredError("mean")`` as a sum), else None."""
    reduction = getattr(loss, "reduction", None)
    return None if reduction == as_loss(loss.name).reduction else reduction


def seed_state() -> NetworkState:
    """The lecture's picture, the explainer's seed network: 2 inputs, a hidden layer i of 2
    logistic units, a top layer j of 3 logistic units, squared error against one target."""
    problem = seed_network()
    return NetworkState.from_model(problem.network.model, problem.x, problem.t, problem.loss)


def random_state(
    sizes: list[int],
    activation: str = "logistic",
    output: str = "logistic",
    loss: str = "squared-error",
    seed: int = 0,
    init_range: float = 0.5,
    reduction: str | None = None,
    loss_options: dict[str, Any] | None = None,
) -> NetworkState:
    """A network of the given sizes drawn by the library's initialiser: ``nn.mlp``'s "uniform"
    (RHW 1986's), every weight and bias from U(-init_range, init_range), by a generator seeded
    with ``seed``; so ``chainrule train`` with that seed and range (``train.runs.build``) starts
    from the same numbers. Its input is drawn next, from U(0, 1) by the same generator.
    ``reduction`` and ``loss_options`` are the loss's (None: its defaults). Its target is
    (1, 0, ..., 0) whatever the loss: class 0 for a loss that reads classes, probabilities in
    [0, 1] for one that applies its own unit, and numbers any other loss compares; so no loss
    is asked for (or recognised by) its kind of target here."""
    rng = np.random.default_rng(seed)
    drawn = mlp(
        sizes, activation, output, np.float64, init="uniform", rng=rng, init_range=init_range
    )
    linears = [layer for layer in drawn if isinstance(layer, Linear)]
    weights = [np.array(layer.weight.numpy()) for layer in linears]
    biases = [np.array(layer.bias.numpy()) for layer in linears]
    n_out = sizes[-1]
    target = np.zeros(n_out)
    target[0] = 1.0
    # the default stays unnamed, as in a state read from a model; a loss's own reduction (mse's
    # mean) is its default, as loss_object takes it: a class that takes none (MSE) refused it
    built = named_loss(loss, reduction, loss_options)
    named_reduction = _reduction(built)
    return NetworkState(
        sizes=list(sizes),
        weights=weights,
        biases=biases,
        activation=activation,
        output=output,
        loss=loss,
        input=rng.uniform(0.0, 1.0, sizes[0]),
        target=target,
        reduction=named_reduction,
        loss_options=_carried_options(built),
    )


def loss_json(d: Derivation) -> dict:
    """What E reads, as the page says it: the loss's ``name``; ``reads``, "z" where the loss
    applies its own unit to the top layer's logits (the explainer's record then has no dE/dy
    there), else "y"; ``applies``, that unit (None where E reads y). The page takes these words
    from here rather than from the loss's name, so a loss it does not know is described as the
    library computes it."""
    reads_z = d.layers[-1].dE_dy is None  # the record's own word: build.py leaves it None
    return {
        "name": d.loss.name,
        "reads": "z" if reads_z else "y",
        "applies": d.loss.output_activation if reads_z else None,
    }


def pass_json(d: Derivation) -> dict:
    """One forward and backward pass as the page draws it: per layer the units' z, y, dE/dz and
    dE/dy (case 0), dE/dw and dE/db per weight layer, E, and what E reads (:func:`loss_json`).
    An output layer whose loss reads the logits z (cross-entropy, binary cross-entropy) has no
    dE/dy: null, as in the explainer's record (a 0 there read as "E does not change with y"
    beside a dE/dz that is not 0)."""
    layers = []
    for record in d.layers:
        layers.append(
            {
                "z": None if record.z is None else record.z[0].tolist(),
                "y": record.y[0].tolist(),
                "dE_dz": None if record.dE_dz is None else record.dE_dz[0].tolist(),
                "dE_dy": None if record.dE_dy is None else record.dE_dy[0].tolist(),
            }
        )
    return {
        "E": d.error,
        "loss": loss_json(d),
        "layers": layers,
        # null where no weight exists (a layer joined in blocks), as in the network's weights
        "dE_dw": [_with_nulls(c.dE_dw, c.connected) for c in d.connections],
        "dE_db": [None if c.dE_db is None else c.dE_db.tolist() for c in d.connections],
    }


def run(state: NetworkState) -> dict:
    """Forward and backward pass (the explainer's derivation, unchecked), as the page's JSON."""
    return pass_json(state.derivation())


def paths(state: NetworkState, layer: int, unit: int) -> dict:
    """dE/dy_i split into one term per path i -> j (the derivation's terms w_ij dE/dz_j), with
    their sum, the engine's dE/dy_i and a central difference. ``layer`` needs a layer above.

    The difference is the explainer's check of that dE/dy_i (:func:`dE_dy_check`): its step,
    its tolerance and its verdict, ``fd_ok``. ``fd_note`` says how far a disagreement (False)
    is, and where the difference is no check (None) why: a relu unit above at its kink, a
    difference that overflowed, or one that cannot resolve dE/dy_i at this size (it agrees
    only within the tolerance of 0, the rounding of a large E: an engine value of 0 would
    pass too)."""
    d = state.derivation()
    terms = d.terms(layer, unit)
    check, step, note = dE_dy_check(d, layer, unit)
    return {
        "layer": layer,
        "unit": unit,
        "y": float(d.layers[layer].y[0, unit]),
        "terms": [{"j": t.j, "w_ij": t.w, "dE_dz_j": t.dE_dz, "term": t.product} for t in terms],
        "sum_of_terms": d.sum_over_j(layer, unit),
        "dE_dy": d.dE_dy(layer, unit).value,
        "finite_difference": None if check is None else check.numeric,
        "fd_eps": step,
        "fd_ok": None if check is None else verdict([check]),
        "fd_note": note,
        "kink": note == KINK_NOTE,
        "E": d.error,
    }


#: Why a dE/dy_i's finite difference is no check: a relu unit above at its kink (the
#: explainer's checks leave such differences out).
KINK_NOTE = "not checked: a relu unit above is at its kink (z = 0)"
#: ... a difference that overflowed (E is not finite at y_i +- the step).
OVERFLOW_NOTE = (
    "not checked: the finite difference overflowed (E at y_i \u00b1 the step is not finite)"
)
#: ... one within the check's tolerance of 0 (:attr:`Checked.near_zero`): at this size E's rounding
#: swamps the step's change, so the difference says only that dE/dy_i is small against it; and
#: why its tolerance is that wide, in the explainer's words
#: (:attr:`~chainrule.explainer.derivation.Checked.no_verdict_reason`, every format's "why").
UNRESOLVED_NOTE = (
    "not resolvable at this size: the finite difference agrees only within the check's "
    "tolerance of 0 ({atol:.3g}), so an engine value of 0 would pass too; it says only that "
    "dE/dy_i is small against that tolerance; why: {why}"
)

#: A difference that disagrees with the engine's dE/dy_i beyond the check's tolerance.
DISAGREE_NOTE = (
    "disagrees: the finite difference is {difference:.3g} from the backward pass's value, "
    "beyond the check's tolerance of {tolerance:.3g}"
)


def dE_dy_check(d: Derivation, layer: int, unit: int) -> tuple[Any, float, str | None]:
    """The explainer's finite-difference check of dE/dy_i (unit ``unit`` of ``layer``, case 0)
    alone: the step its checks take for that layer's y's (:func:`difference_steps`: eps over
    the largest |w| above), the difference rerun by its float64 forward pass, and its
    :class:`~chainrule.explainer.derivation.Checked` with the derivation's own tolerance for
    that quantity. Returns (the check, or None where there is none; the step; what it says
    beside the verdict: why it is no check, or how far it disagrees; None where it agrees)."""
    step = difference_steps(d.layers, d.connections, FD_EPS)["dE_dy", layer]
    # a relu unit above at its kink: the difference reads half its slope, no check (left out,
    # as the explainer's checks leave it out)
    if dE_dy_straddles_kink(d, layer, 0, FD_EPS):
        return None, step, KINK_NOTE
    numeric = central_dE_dy(d, layer, unit, eps=step)
    if not np.isfinite(numeric):
        return None, step, OVERFLOW_NOTE
    # what the difference can resolve, measured as the explainer's checks measure theirs
    # (dE_dy_difference: Richardson, the rounding of the E's and of the step itself); a flat
    # 1e-7 was its floor, then Richardson alone (fd 0 at both steps: an estimate of 0)
    _, error = dE_dy_difference(d, layer, unit, step)
    record = d.layers[layer]
    numerics = np.full(record.y.shape, np.nan)
    numerics[0, unit] = numeric
    errors = np.full(record.y.shape, np.nan)
    errors[0, unit] = error
    d.measured_difference_errors({("dE_dy", layer): errors})
    check = d.checked_entry(("dE_dy", layer), record.dE_dy, numerics, (0, unit))
    said = verdict([check])
    if said is None:  # no verdict: the explainer's reason for it, as its write-ups give it
        return check, step, UNRESOLVED_NOTE.format(atol=check.atol, why=check.no_verdict_reason)
    if said is False:
        tolerance = check.atol + check.rtol * abs(check.numeric)
        return check, step, DISAGREE_NOTE.format(difference=check.difference, tolerance=tolerance)
    return check, step, None


def views(state: NetworkState, layer: int, unit: int) -> dict:
    """dE/dy_i in three views (the explainer's): Hinton's sum, a row of the matrix form and the
    fan-out node of the unit-by-unit graph (``graph`` is None when that graph would be large)."""
    d = state.derivation((layer, unit), views=True)
    return d.views


def bug(state: NetworkState, name: str) -> dict:
    """A teaching bug's wrong gradients beside the right ones and their finite differences."""
    d = state.derivation(check=True, max_checks=EVERY_CHECK, bug=name)
    return d.bug.to_dict()


def nudge(state: NetworkState, layer: int, unit: int, eps: float) -> dict:
    """Move y_i by ``eps``: the explainer's perturbation view at that one eps (each path's
    predicted change w_ij dE/dz_j eps, their sum, and the change in E measured by running the
    layers above again)."""
    d = state.derivation()
    view = perturbation_view(d, layer, unit, eps_values=(eps,))
    row = view["rows"][0]
    return {
        "layer": layer,
        "unit": unit,
        "eps": eps,
        "predicted_per_path": [p["predicted"] for p in row["paths"]],
        # each path's unit j above (every j, or those of the unit's block in a Parallel layer)
        "path_j": [p["j"] for p in row["paths"]],
        "predicted": row["sum_predicted"],
        "measured": row["measured"],
        # E as the model computes it, in its dtype, as every other view shows it; the change is
        # the perturbation view's, measured by its float64 forward pass (a float32 difference
        # at a small eps would be rounding)
        "E_before": d.error,
        "E_after": d.error + row["measured"],
    }


def gradient_check(state: NetworkState) -> dict:
    """The explainer's finite-difference checks of dE/dx, dE/dw and dE/db, summarised: whether
    every checked derivative agrees, how many do not, the largest difference and relative
    difference, and ``where`` the entry furthest outside its tolerance is (None when all agree).
    ``checked`` counts the inputs and parameters checked, as a gradient check of E(x, W, b)
    would; ``near_zero`` how many of them agree only by being within the tolerance of 0.
    ``eps`` is the base step; ``notes`` (:func:`step_notes`) says where a smaller one was taken.

    ``ok`` is True when every checked derivative agrees, False when any disagrees, and None
    (no verdict) when none disagrees but every one agrees only within the tolerance of 0: an
    engine value of 0 would pass there too, so the check proves nothing (a network whose E is
    about 1e37, its tolerance the rounding of so large an E, or every unit saturated).

    A relative difference is taken against |numeric|, but never against less than the check's
    own tolerance: a derivative whose true value is below the difference's rounding noise has
    no meaningful relative error (its numeric value may be 0)."""
    d = state.derivation(check=True, max_checks=EVERY_CHECK, eps=FD_EPS)
    checks = [
        (f"{name}{list(index)}", check)
        for name, entries in _named_checks(d)
        for index, check in entries
        if check.numeric is not None
    ]
    failed = [(name, check) for name, check in checks if not check.ok]
    differences = np.array([check.difference for _, check in checks])
    # (a derivative of 0 beside a tolerance of 0, zero top weights: 0/0 read as an overflow)
    scales = np.array([max(abs(check.numeric), check.atol) for _, check in checks])
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(differences == 0, 0.0, differences / np.where(scales > 0, scales, 1))
    near_zero = sum(check.ok and check.near_zero for _, check in checks)
    return {
        "ok": verdict([check for _, check in checks]),  # None where every one is near 0
        "failed": len(failed),
        "max_abs_error": float(np.max(differences)),  # np.max keeps a NaN, as it should
        "max_rel_error": float(np.max(relative)),
        "where": max(failed, key=_times_tolerance)[0] if failed else None,
        "eps": FD_EPS,
        "checked": len(checks),
        "near_zero": near_zero,
        "notes": step_notes(d),
    }


def step_notes(d: Derivation) -> list[str]:
    """The derivation's notes about its finite-difference check: ``eps`` is only the base step
    (the explainer shrinks it for large weights and y's, so that no step moves a z by more than
    eps, and says so in a note), and differences a step would carry across a kink are left out."""
    return list(d.check_notes)


def _times_tolerance(named_check: tuple[str, Any]) -> float:
    """How many times its tolerance a check's difference is (infinite for a NaN)."""
    check = named_check[1]
    difference = check.difference
    if np.isnan(difference):
        return np.inf
    return difference / (check.atol + check.rtol * abs(check.numeric))


def _named_checks(d: Derivation):
    """(name, [(index, Checked)]) for the input and every weight layer's weights and biases."""
    yield "input", [((u,), d.dE_dy(0, u)) for u in range(d.layers[0].size)]
    for c in d.connections:
        rows, cols = c.weight.shape
        yield (
            f"weights[{c.below}]",
            [
                ((i, j), d.dE_dw(c.below, i, j))
                for i in range(rows)
                for j in range(cols)
                if c.joins(i, j)  # a layer joined in blocks has no weight between them
            ],
        )
        if c.dE_db is not None:
            yield f"biases[{c.below}]", [((j,), d.dE_db(c.below, j)) for j in range(cols)]
