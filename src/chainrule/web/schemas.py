"""The JSON API's request and response bodies, validated with pydantic.

Every request model forbids unknown fields, accepts finite numbers only and bounds every size:
at most :data:`MAX_LAYERS` layers of units (the input layer included), :data:`MAX_UNITS` units in a
layer, :data:`MAX_WEIGHTS` connections in all (8 layers of 64 units, or the digits model
64-128-10), numbers of
magnitude at most :data:`MAX_MAGNITUDE`. The response models document what the
page receives; the API tests check real responses against them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from chainrule.errors import ConfigError, UserError
from chainrule.explainer.bugs import BUGS
from chainrule.explainer.network import ExplainError
from chainrule.nn.losses import loss_from_name
from chainrule.web.network import (
    MAX_MAGNITUDE,
    PAGE_HIDDEN,
    PAGE_LOSSES,
    PAGE_TOP_UNITS,
    blocks_of,
    frozen_refusal,
    named_loss,
    targets_in_unit_interval,
)
from chainrule.web.training import DATASETS, DEFAULT_OPTIMIZER, OPTIMIZERS, layer_sizes

MAX_LAYERS = 8
MAX_UNITS = 128
MAX_WEIGHTS = 28_672  # 8 layers of 64 units (7 x 64 x 64); the digits model has 9 472
MAX_BODY_BYTES = 1_048_576
MAX_TRAIN_STEPS = 500
#: Derivatives one gradient check may compare (each costs two forward passes).
MAX_GRADCHECK = 4096
#: What one /api/train/step request may compute: steps x cases per step x weights.
MAX_STEP_WORK = 200_000_000
#: A network's notes on its model (``Network.notes``): how many, and how long each.
MAX_NOTES = 8
MAX_NOTE = 2000


def _integral_float(value: object) -> object:
    """JSON Schema counts 325.0 as an integer; so do we (325.5 stays an error)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer as JSON Schema means it: 3 or 3.0, never "3", true or 3.5.
Integer = Annotated[int, BeforeValidator(_integral_float)]


def bounded(**bounds: int) -> Any:
    """An :data:`Integer` within ``bounds`` (ge, le), the bounds kept in the JSON Schema even
    inside a list or an Optional."""
    return Annotated[int, Field(**bounds), BeforeValidator(_integral_float)]


Number = Annotated[float, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
Activation = Literal[PAGE_HIDDEN]
OutputUnit = Literal[PAGE_TOP_UNITS]
LossName = Literal[PAGE_LOSSES]
DatasetName = Literal[tuple(DATASETS)]
#: The Train tab's optimizers by name, from the training module's one table of them.
OptimizerName = Literal[tuple(OPTIMIZERS)]
#: A parameter's name in a model ("0.weight", "0.0.bias").
ParameterName = Annotated[str, Field(min_length=1, max_length=200)]
#: How many options a loss's config may give beside its name and reduction, and how long each
#: option's name and text may be (the library's losses have at most three).
MAX_LOSS_OPTIONS = 16
MAX_OPTION_TEXT = 200


def _option_value(value: Any) -> Any:
    """A loss option's value as a config holds it: true/false, a finite number within
    :data:`MAX_MAGNITUDE`, text of at most :data:`MAX_OPTION_TEXT` characters, or null."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and not (math.isfinite(value) and abs(value) <= MAX_MAGNITUDE):
        raise ValueError(
            f"a loss option's number must be finite, at most {MAX_MAGNITUDE:g} in size"
        )
    if isinstance(value, str) and len(value) > MAX_OPTION_TEXT:
        raise ValueError(f"a loss option's text has at most {MAX_OPTION_TEXT} characters")
    if not (value is None or number or isinstance(value, (bool, str))):
        raise ValueError(
            "a loss option's value is true or false, a number, text or null, as a loss's "
            f"config() holds it, not {type(value).__name__}"
        )
    return value


#: A loss's options beside its name and reduction: its ``config()`` less ``type`` and
#: ``reduction`` (``{"per_unit": false}``), each a JSON scalar, as a config holds them.
LossOptions = Annotated[
    dict[
        Annotated[str, Field(min_length=1, max_length=MAX_OPTION_TEXT)],
        Annotated[Any, AfterValidator(_option_value)],
    ],
    Field(
        max_length=MAX_LOSS_OPTIONS,
        description="The loss's options beside its name and reduction: its config() less "
        '`type` and `reduction` (`{"per_unit": false}` for a multilabel scikit-learn '
        "classifier's BinaryCrossEntropy(per_unit=False), summed over the units), each passed "
        "to the loss by name. Omitted: the loss's defaults. An option the loss does not have "
        "is refused naming it.",
    ),
]


def check_connections(sizes: list[int], field: str = "sizes") -> None:
    """Refuse more than :data:`MAX_WEIGHTS` connections, saying how many there are; the message
    names ``field``, the request field that set the sizes."""
    n = sum(a * b for a, b in zip(sizes, sizes[1:]))
    if n > MAX_WEIGHTS:
        raise ValueError(
            f"{field}: layers {'-'.join(map(str, sizes))} have {n} connections; the explorer "
            f"shows at most {MAX_WEIGHTS}"
        )


def check_reduction(loss: str, reduction: str | None) -> None:
    """Refuse a reduction the loss does not have, as the library's loss says it: its own
    reduction always, another only where ``loss_from_name(loss, reduction=...)`` builds one
    (squared-error takes a sum or a mean; the others have one of their own)."""
    fixed = loss_from_name(loss).reduction
    if reduction in (None, fixed):
        return
    try:
        loss_from_name(loss, reduction=reduction)
    except ConfigError:  # the loss takes no reduction, or not this one
        raise ValueError(f"reduction: loss {loss!r} is a {fixed}, not a {reduction}") from None


def check_loss_options(loss: str, reduction: str | None, options: dict[str, Any]) -> None:
    """Refuse an option the loss does not have, or a value it refuses, in one line naming it
    ("loss_options: loss 'mse' takes no option 'per_unit' ..."): the state's own check
    (:func:`~chainrule.web.network.named_loss`), so the request and the state refuse alike."""
    try:
        named_loss(loss, reduction, options)
    except ExplainError as error:
        raise ValueError(str(error)) from None


def check_top_units(sizes: list[int], output: str, loss: str) -> None:
    """Refuse top units that ``loss`` cannot read or that ``sizes`` cannot hold."""
    wanted = loss_from_name(loss).output_activation  # the unit the loss applies itself
    if wanted is not None and output != wanted:
        raise ValueError(f"output: loss {loss!r} needs output units {wanted!r}, not {output!r}")
    if output == "softmax" and sizes[-1] < 2:
        raise ValueError(f"output: 'softmax' needs at least 2 top units, not {sizes[-1]}")


#: A check of a whole object names the field it is about first: "target: ...", "weights[0]: ...".
_NAMED_FIELD = re.compile(r"([A-Za-z_]\w*)((?:\[\d+\])*): ")


def where(loc: tuple) -> str:
    """A pydantic location as the user wrote it: network.weights[0][1] ("" for the body)."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def located(error: dict) -> tuple[tuple, str]:
    """A pydantic error's location and message. A check of a whole nested object (the request's
    network) has that object's location and a message that names the field first ("network",
    "target: loss ..."): the field joins the location (network.target), so every message names
    its place one way and the page finds the field it edited. A check of the whole request or
    model keeps its message (its location is the body: "unit: layer 0 has ...")."""
    message = error["msg"].removeprefix("Value error, ")
    loc = tuple(error["loc"])
    named = _NAMED_FIELD.match(message)
    if loc and error["type"] == "value_error" and named:
        indices = tuple(int(i) for i in re.findall(r"\d+", named.group(2)))
        return (*loc, named.group(1), *indices), message[named.end() :]
    return loc, message


class Strict(BaseModel):
    """Base for request bodies: unknown fields, NaN, Infinity and type coercions are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class Network(Strict):
    """A network's numbers. ``weights[l][i][j]`` is w_ij from unit i of layer l to unit j of layer
    l + 1 (null: no such weight, in a layer joined in blocks as an ``nn.Parallel`` joins them);
    ``biases[l][j]`` is b_j of layer l + 1 (``biases[l]`` null: a layer without biases);
    ``input`` sets layer 0's y, ``target`` the wanted outputs of the top layer."""

    sizes: list[bounded(ge=1, le=MAX_UNITS)] = Field(
        min_length=2,
        max_length=MAX_LAYERS,
        description=f"Units per layer, input layer first (2 to {MAX_LAYERS} layers, "
        f"1 to {MAX_UNITS} units each).",
    )
    weights: list[list[list[Number | None]]] = Field(
        max_length=MAX_LAYERS - 1,
        description="weights[l][i][j]: w_ij from unit i of layer l to unit j of layer l + 1; "
        "null where no weight joins them (a layer joined in blocks, as an nn.Parallel joins "
        "them: the non-null weights must form blocks along the diagonal).",
    )
    biases: list[list[Number] | None] = Field(max_length=MAX_LAYERS - 1)
    activation: Activation = Field("logistic", description="Hidden units' nonlinearity.")
    output: OutputUnit = Field("logistic", description="Top units' nonlinearity.")
    loss: LossName = "squared-error"
    reduction: Literal["sum", "mean"] | None = Field(
        None,
        description="The loss's reduction over cases; omitted: the loss's own default (a sum for "
        "squared-error, a mean for the others, which have no other).",
    )
    loss_options: LossOptions = Field(default_factory=dict)
    input: list[Number] = Field(max_length=MAX_UNITS)
    target: list[Number] = Field(max_length=MAX_UNITS)
    dtype: Literal["float32", "float64"] = Field(
        "float64",
        description="What the model computes in: a trained model's own dtype (the page shows its "
        "own numbers), float64 for a network the page makes.",
    )
    names: list[Annotated[list[ParameterName], Field(max_length=2 * MAX_UNITS)]] | None = Field(
        None,
        max_length=MAX_LAYERS - 1,
        description="names[l]: the parameters of weight layer l as the model the network was "
        "read from names them, each block's weight then its bias (a Linear in a Sequential "
        "inside the model: ['0.0.weight', '0.0.bias']); the derivation and its export use them, "
        "as `chainrule explain` does. Omitted: the names of the nn.Sequential the server builds "
        "from the numbers (a network the page makes).",
    )
    frozen: list[ParameterName] = Field(
        default_factory=list,
        max_length=2 * MAX_UNITS * (MAX_LAYERS - 1),
        description="The names (of `names`) of the model's parameters that need no gradient "
        "(requires_grad False): the derivation notes them and the no-zero-grad bug's step "
        "leaves them as they are, as `chainrule.explain` does for that model.",
    )
    notes: list[Annotated[str, Field(max_length=MAX_NOTE)]] = Field(
        default_factory=list,
        max_length=MAX_NOTES,
        description="The explainer's notes on the model the network was read from that its "
        "numbers do not say (its dropout in training mode: the numbers are the network's in "
        "evaluation): the derivation and its export carry them, as `chainrule explain` of that "
        "model does. Omitted: none (a network the page makes).",
    )

    @model_validator(mode="after")
    def _shapes_agree(self) -> Network:
        sizes = self.sizes
        check_connections(sizes)
        n_links = len(sizes) - 1
        if len(self.weights) != n_links:
            raise ValueError(
                f"weights: {len(sizes)} layers need {n_links} weight matrices, "
                f"got {len(self.weights)}"
            )
        if len(self.biases) != n_links:
            raise ValueError(
                f"biases: {len(sizes)} layers need {n_links} bias vectors, got {len(self.biases)}"
            )
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            rows, cols = sizes[l], sizes[l + 1]
            bad_row = next((len(r) for r in w if len(r) != cols), None)
            if len(w) != rows or bad_row is not None:
                got = f"{len(w)} rows" if len(w) != rows else f"a row of length {bad_row}"
                raise ValueError(
                    f"weights[{l}]: layers of {rows} -> {cols} units need shape ({rows}, {cols}), "
                    f"got {got}"
                )
            if b is not None and len(b) != cols:
                raise ValueError(f"biases[{l}]: layer {l + 1} has {cols} units, got {len(b)}")
            if any(v is None for row in w for v in row):  # a layer joined in blocks
                blocks_of([[v is not None for v in row] for row in w], f"weights[{l}]")
        if len(self.input) != sizes[0]:
            raise ValueError(f"input: layer 0 has {sizes[0]} units, got {len(self.input)} values")
        if len(self.target) != sizes[-1]:
            raise ValueError(
                f"target: the top layer has {sizes[-1]} units, got {len(self.target)} values"
            )
        check_top_units(sizes, self.output, self.loss)
        check_reduction(self.loss, self.reduction)
        check_loss_options(self.loss, self.reduction, self.loss_options)
        unit_targets = targets_in_unit_interval(loss_from_name(self.loss))
        if unit_targets and any(not 0.0 <= t <= 1.0 for t in self.target):
            raise ValueError(f"target: loss {self.loss!r} needs targets in [0, 1]")
        self._names_agree()
        return self

    def _names_agree(self) -> None:
        """Refuse ``names`` that do not give each parameter of each weight layer one name of its
        own (a layer in blocks has a weight and a bias per block), and ``frozen`` names that are
        not among them."""
        if self.names is None:
            problem = frozen_refusal(None, self.frozen)
            if problem is not None:
                raise ValueError(problem)
            return
        n_links = len(self.sizes) - 1
        if len(self.names) != n_links:
            raise ValueError(
                f"names: {len(self.sizes)} layers need {n_links} lists of parameter names, got "
                f"{len(self.names)}"
            )
        for l, (w, b, names) in enumerate(zip(self.weights, self.biases, self.names)):
            in_blocks = any(v is None for row in w for v in row)
            blocks = len(blocks_of([[v is not None for v in row] for row in w])) if in_blocks else 1
            wanted = blocks * (1 if b is None else 2)
            if len(names) != wanted:
                has = "a weight" if b is None else "a weight and a bias"
                each = f" for each of its {blocks} blocks" if blocks > 1 else ""
                raise ValueError(
                    f"names[{l}]: weight layer {l} has {has}{each} ({wanted} names, each "
                    f"block's weight then its bias), got {len(names)}"
                )
        counts = Counter(name for names in self.names for name in names)
        twice = next((name for name, count in counts.items() if count > 1), None)
        if twice is not None:
            raise ValueError(f"names: {twice!r} names two parameters; each has a name of its own")
        problem = frozen_refusal(self.names, self.frozen)
        if problem is not None:
            raise ValueError(problem)


def refuse_too_big(sizes: list[int], what: str) -> None:
    """Refuse, in one line starting with ``what``, a network larger than the page shows, saying
    what fits (the request schema's own refusal named a field: "sizes.0: ... <= 128")."""
    connections = sum(a * b for a, b in zip(sizes, sizes[1:]))
    if len(sizes) > MAX_LAYERS or max(sizes) > MAX_UNITS or connections > MAX_WEIGHTS:
        raise UserError(
            f"{what}: a {'-'.join(map(str, sizes))} network is too big for the explorer, "
            f"which shows at most {MAX_LAYERS} layers, {MAX_UNITS} units in a layer and "
            f"{MAX_WEIGHTS} connections (a 64-128-10 digits model fits)"
        )


def check_shown(network: dict, what: str) -> None:
    """Refuse, in one line starting with ``what``, a network's JSON that :class:`Network` refuses:
    the page would get that refusal for every request it makes about this network."""
    try:
        Network.model_validate(network)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        loc, message = located(first)
        place = where(loc)  # input[0], as the API's messages write it
        given = first.get("input")
        # a unit's name or a size says what the model has; a whole network would be a page long
        has = f" (this model has {given!r})" if isinstance(given, (str, int, float)) else ""
        raise UserError(
            f"{what}: the explorer cannot show this model: {place}{': ' if place else ''}"
            f"{message}{has}"
        ) from None


class WithNetwork(Strict):
    """A request body with a ``network``. A body that is a network itself (posted without
    ``{"network": ...}`` around it) is refused in one line saying to wrap it: each of its
    fields was "Extra inputs are not permitted", five listed and "and 5 more", and "network:
    Field required" among those the message left out."""

    network: Network

    @model_validator(mode="before")
    @classmethod
    def _a_network_unwrapped(cls, data: Any) -> Any:
        if isinstance(data, dict) and "network" not in data:
            own = set(cls.model_fields)
            if any(key in _NETWORK_KEYS and key not in own for key in data):
                others = "".join(
                    f', "{name}": ...' for name in cls.model_fields if name != "network"
                )
                raise ValueError(
                    "network: missing; the body is a network itself (sizes, weights, ...): send "
                    f'it wrapped, as {{"network": <your network>{others}}}'
                )
        return data


#: The fields a network's JSON must have: a body with one of them and no ``network`` is one
#: posted unwrapped (:class:`WithNetwork`).
_NETWORK_KEYS = frozenset(name for name, f in Network.model_fields.items() if f.is_required())


class NetworkRequest(WithNetwork):
    """A body holding just a network."""


class GradcheckRequest(NetworkRequest):
    """A network whose every derivative to check: at most :data:`MAX_GRADCHECK` of them."""

    @model_validator(mode="after")
    def _small_enough(self) -> GradcheckRequest:
        sizes, biases, weights = self.network.sizes, self.network.biases, self.network.weights
        # the weights that exist (none between the blocks of a layer joined in blocks)
        count = sizes[0] + sum(
            sum(v is not None for row in w for v in row) + (0 if bias is None else b)
            for w, b, bias in zip(weights, sizes[1:], biases)
        )
        if count > MAX_GRADCHECK:
            raise ValueError(
                f"network: a gradient check compares at most {MAX_GRADCHECK} derivatives; this "
                f"network has {count} (inputs, weights and biases); use fewer units"
            )
        return self


#: The teaching bugs by name, from the explainer's one table of them.
BugName = Literal[tuple(BUGS)]


class BugRequest(GradcheckRequest):
    """A network (as small as a gradient check's) and the teaching bug to run it through
    (``chainrule explain --bug``)."""

    bug: BugName


class UnitRequest(WithNetwork):
    """A network and one unit i of a layer that has a layer above it."""

    layer: Integer = Field(ge=0, le=MAX_LAYERS - 2, description="Layer of unit i (not the top).")
    unit: Integer = Field(ge=0, le=MAX_UNITS - 1)

    @model_validator(mode="after")
    def _unit_exists(self) -> UnitRequest:
        sizes = self.network.sizes
        if self.layer >= len(sizes) - 1:
            raise ValueError(
                f"layer: {self.layer} is the top layer or above (the network has layers "
                f"0..{len(sizes) - 1}); paths i -> j start below the top"
            )
        if self.unit >= sizes[self.layer]:
            raise ValueError(f"unit: layer {self.layer} has units 0..{sizes[self.layer] - 1}")
        return self


class NudgeRequest(UnitRequest):
    """A unit i and how far to move its output y_i."""

    eps: float = Field(ge=-1.0, le=1.0, description="The change of y_i, in [-1, 1].")


class NewNetworkRequest(Strict):
    """Fresh random weights for the given sizes (used when the page changes a layer size)."""

    sizes: list[bounded(ge=1, le=MAX_UNITS)] = Field(min_length=2, max_length=MAX_LAYERS)
    activation: Activation = "logistic"
    output: OutputUnit = "logistic"
    loss: LossName = "squared-error"
    reduction: Literal["sum", "mean"] | None = Field(
        None,
        description="The loss's reduction over cases; omitted: the loss's own default (a sum for "
        "squared-error, a mean for the others, which have no other).",
    )
    loss_options: LossOptions = Field(default_factory=dict)
    seed: Integer = Field(0, ge=0, le=2**31 - 1)
    init_range: float = Field(0.5, gt=0, le=10)

    @model_validator(mode="after")
    def _a_network_the_explorer_shows(self) -> NewNetworkRequest:
        check_connections(self.sizes)
        check_top_units(self.sizes, self.output, self.loss)
        check_reduction(self.loss, self.reduction)  # as every request with a network checks it
        check_loss_options(self.loss, self.reduction, self.loss_options)
        return self


class DerivationRequest(WithNetwork):
    """A network to derive, optionally focused on one unit (the perturbation view follows it)."""

    # the bounds sit inside the Optional, so that the JSON Schema carries them (minimum/maximum)
    layer: bounded(ge=0, le=MAX_LAYERS - 1) | None = Field(None, description="Focus: the layer.")
    unit: bounded(ge=0, le=MAX_UNITS - 1) | None = Field(None, description="Focus: unit (from 0).")

    @model_validator(mode="after")
    def _focus_exists(self) -> DerivationRequest:
        if (self.layer is None) != (self.unit is None):
            raise ValueError("layer and unit: give both (a unit to focus on) or neither")
        sizes = self.network.sizes
        if self.layer is not None and self.layer >= len(sizes):
            raise ValueError(f"layer: the network has layers 0..{len(sizes) - 1}")
        if self.layer is not None and self.unit >= sizes[self.layer]:
            raise ValueError(f"unit: layer {self.layer} has units 0..{sizes[self.layer] - 1}")
        return self

    @property
    def focus(self) -> tuple[int, int] | None:
        return None if self.layer is None else (self.layer, self.unit)


class ExportRequest(DerivationRequest):
    """A network to derive, and the format to render the derivation in."""

    format: Literal["markdown", "latex"] = "markdown"


class TrainStartRequest(Strict):
    """Start (or restart) this browser session's training run."""

    dataset: DatasetName
    hidden: list[bounded(ge=1, le=MAX_UNITS)] = Field(
        default_factory=lambda: [4],
        max_length=MAX_LAYERS - 2,
        description="Hidden layer sizes; the input and top sizes come from the dataset.",
    )
    activation: Activation = "logistic"
    optimizer: OptimizerName = Field(
        DEFAULT_OPTIMIZER,
        description="The library optimizer and settings GET /api/optimizers says.",
    )
    lr: float = Field(0.5, gt=0, le=100)
    batch_size: bounded(ge=1, le=4096) | None = Field(None, description="null: the full batch.")
    seed: Integer = Field(0, ge=0, le=2**31 - 1)
    init_range: float | None = Field(
        None,
        gt=0,
        le=10,
        description="Weights and biases are drawn from U(-init_range, init_range); omitted: the "
        "dataset's range (the command line's preset's where it has one).",
    )

    @model_validator(mode="after")
    def _not_too_many_connections(self) -> TrainStartRequest:
        check_connections(layer_sizes(self.dataset, self.hidden), field="hidden")
        return self


class TrainStepRequest(Strict):
    """How many optimizer steps to take."""

    steps: Integer = Field(1, ge=1, le=MAX_TRAIN_STEPS)
    run: str | None = Field(
        None,
        max_length=64,
        description="The run to step, as /api/train/start answered its `run`: where the session "
        "has another run since (a second tab of the browser started one), the step is refused "
        "(409, `training run replaced: ...`). Omitted: the session's run, whichever it is.",
    )


# -- responses (documentation, and checked by the tests) -------------------------------------------


class LayerNumbers(BaseModel):
    """One layer's units: z and dE/dz are null for the input layer, dE/dy for an output layer
    whose loss reads its z (cross-entropy, binary cross-entropy: E is not computed from y)."""

    z: list[float] | None
    y: list[float]
    dE_dz: list[float] | None
    dE_dy: list[float] | None


class LossReads(BaseModel):
    """What E reads: ``reads`` "z" where the loss applies its own unit (``applies``: softmax,
    logistic) to the top layer's logits, so that layer has no dE/dy; "y" where E compares the
    top units' outputs with the targets (``applies`` null)."""

    name: str
    reads: Literal["y", "z"]
    applies: str | None


class PassResponse(BaseModel):
    """A forward and backward pass: E, what E reads (``loss``), per-layer unit numbers, dE/dw
    (null where no weight exists, as in the network's weights) and dE/db (null for a layer
    without biases)."""

    E: float
    loss: LossReads
    layers: list[LayerNumbers]
    dE_dw: list[list[list[float | None]]]
    dE_db: list[list[float] | None]


class PathTerm(BaseModel):
    """One path i -> j of dE/dy_i = sum_j w_ij dE/dz_j."""

    j: int
    w_ij: float
    dE_dz_j: float
    term: float


class PathsResponse(BaseModel):
    """dE/dy_i split into its paths, with the engine's value and a central difference."""

    layer: int
    unit: int
    y: float
    terms: list[PathTerm]
    sum_of_terms: float
    dE_dy: float
    finite_difference: float | None = Field(
        description="The central difference of E in y_i, as the explainer's check of this "
        "dE/dy_i takes it; null where a relu unit above is at its kink (`kink`: the "
        "difference is no check there) or where it overflowed (`fd_note` says which)."
    )
    fd_eps: float = Field(
        description="The difference's step: the explainer's for this layer's y's, eps = 1e-6 "
        "over the largest |w| above (at least 1), so that no step moves a z by more than eps."
    )
    fd_ok: bool | None = Field(
        description="The explainer's verdict on this dE/dy_i's check (`verdict`, its own "
        "tolerance): true, they agree; false, they disagree; null, no verdict: no difference "
        "(`finite_difference` null), or one that agrees only within the tolerance of 0, so "
        "it cannot resolve the value at this size (E's rounding over the step swamps the "
        "step's change: an engine value of 0 would pass too). `fd_note` says why."
    )
    fd_note: str | None = Field(
        description="What the check says beside `fd_ok`: why the difference is no check of "
        "dE/dy_i (null), or how far it disagrees (false); null where they agree."
    )
    kink: bool
    E: float


class NudgeResponse(BaseModel):
    """Predicted change of E per path against the change measured by running forward again."""

    layer: int
    unit: int
    eps: float
    predicted_per_path: list[float]
    path_j: list[int] = Field(
        description="Each path's unit j above (all of them, or in a layer joined in blocks "
        "those of the unit's block)."
    )
    predicted: float
    measured: float
    E_before: float
    E_after: float


class GradcheckResponse(BaseModel):
    """Every dE/dw, dE/db, dE/dx against central differences (float64)."""

    ok: bool | None = Field(
        description="true: every checked derivative agrees; false: `failed` of them disagree; "
        "null, no verdict: none disagrees, but every one agrees only within the tolerance of 0 "
        "(`near_zero` equals `checked`), so the check says only that the derivatives are small "
        "against its tolerance, not that their rules are right (an engine value of 0 would "
        "pass too)."
    )
    failed: int
    max_abs_error: float
    max_rel_error: float
    where: str | None
    eps: float = Field(description="The base step; a note in `notes` names any smaller one.")
    checked: int
    near_zero: int = Field(
        description="Of the checked, how many agree only within the tolerance of 0: for those "
        "the check says only that the derivative is small, not that its rule is right."
    )
    notes: list[str] = Field(
        description="The explainer's notes on the check's steps: where it took a step below "
        "eps (a weight's step is eps over the largest |y| it multiplies, a y's eps over the "
        "largest |w|), and differences it left out because a step would cross a kink."
    )


class ExportResponse(BaseModel):
    """The derivation rendered as Markdown or LaTeX."""

    format: str
    text: str


class TrainState(BaseModel):
    """A training run: its network (with the dataset's first case as input), the loss per step,
    the per-layer gradient norms of the last step, and accuracy where the task has classes."""

    dataset: str
    step: int
    loss: list[float] = Field(
        description="The loss of each step's batch (a summed loss is a sum over that batch's "
        "cases, so a short last batch dips)."
    )
    accuracy: float | None
    dataset_loss: float | None = Field(
        description="The loss over all the dataset's cases at the current weights, combined as "
        "the loss combines them (reduction); null where it is not finite."
    )
    cases: int = Field(description="The dataset's cases, which accuracy and dataset_loss cover.")
    reduction: str = Field(description="How the loss combines its cases: 'sum' or 'mean'.")
    grad_norms: list[float]
    network: dict
    run: str = Field(
        description="The run's id, new at each start: a step names it (TrainStepRequest.run), "
        "so a tab whose run another tab of the browser replaced is told so, not given that run."
    )


class PageLoss(BaseModel):
    """A loss the page offers, as its loss object says it (``network.page_losses``)."""

    name: str
    top_units: str | None = Field(
        description="The unit the loss applies itself to the top layer's logits (its "
        "output_activation: softmax, logistic), which the network's top units must then be; "
        "null: any top units."
    )
    targets_in_unit_interval: bool = Field(
        description="Whether the loss's targets must lie in [0, 1] (probabilities, for a loss "
        "that applies its own unit)."
    )


class LossesResponse(BaseModel):
    """The losses the page offers, in the order its loss list shows them."""

    losses: list[PageLoss]


class UnitsResponse(BaseModel):
    """The units the page's Edit form offers, in the order its lists show them
    (``network.page_units``)."""

    hidden: list[Activation] = Field(description="The hidden units (a network's `activation`).")
    top: list[OutputUnit] = Field(
        description="The top units (a network's `output`; linear: the logits as they are)."
    )


class PageDataset(BaseModel):
    """A dataset the page offers, and the Train tab's defaults for it
    (``training.page_datasets``)."""

    name: DatasetName
    label: str = Field(description="How the page's list names it.")
    hidden: list[int] = Field(description="The hidden sizes the Train tab fills in.")
    lr: float = Field(description="The learning rate the Train tab fills in.")


class DatasetsResponse(BaseModel):
    """The datasets a training run can use, in the order the page's list shows them."""

    datasets: list[PageDataset]


class PageOptimizer(BaseModel):
    """An optimizer the Train tab offers, and what it means (``training.page_optimizers``)."""

    name: OptimizerName = Field(description="How the page's list and a run's request name it.")
    optimizer: str = Field(description="The library's optimizer (`optim.from_name`).")
    settings: dict[str, float] = Field(
        description="What that optimizer is made with besides the learning rate."
    )


class OptimizersResponse(BaseModel):
    """The optimizers a training run can use, in the order the page's list shows them."""

    optimizers: list[PageOptimizer]


class PageBug(BaseModel):
    """A teaching bug the page offers (``network.page_bugs``, from the explainer's table)."""

    name: BugName
    title: str = Field(description="What the bug does wrong, as the page's list says it.")


class BugsResponse(BaseModel):
    """The teaching bugs, in the order the page's list shows them."""

    bugs: list[PageBug]


class ErrorResponse(BaseModel):
    """What a refused request gets back: a bad request (4xx), a full server (503) or a
    failure no check foresaw (500)."""

    error: str
    details: list[dict] | None = None
