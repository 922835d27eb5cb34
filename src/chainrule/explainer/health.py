"""Gradient health during training: per-layer gradient norms, saturated and dead units.

A unit whose slope f'(z) is below 0.01 passes back less than a hundredth of dE/dy: on that case
it has stopped learning. A logistic unit's slope is y (1 - y) (below 0.01 where y is below about
0.01 or above 0.99), a tanh unit's 1 - y^2 (where |y| > 0.995), a relu unit's 0 where it is off;
a relu unit is meant to be off on many cases, and is dead when it is off on every one.
:class:`GradientHealth` is a training callback that records, per epoch, the mean gradient norm
of each parameter (after each backward pass), the share of saturated units in each logistic,
tanh and relu layer, and the units stuck on every case (on up to ``probe_cases`` training
cases), and plots the norms and the shares: against the epoch for a shallow net, against the
layer (a line per epoch) for a deep one, where a vanishing gradient shows as a slope.
``falloff()`` says how far the weights' gradient norms fall from the top layer to the bottom.
Its ``state()`` / ``load_state()`` carry the history in checkpoints, so a resumed run's history
covers every epoch. ``gradient_health(model, x)`` measures the saturation once.

>>> from chainrule import train                                     # doctest: +SKIP
>>> health = GradientHealth()                                       # doctest: +SKIP
>>> train.fit(model, loss, opt, data, callbacks=[health])           # doctest: +SKIP
>>> health.plot("health.png")                                       # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.engine import no_grad
from chainrule.errors import extras_needed_by
from chainrule.explainer.network import (
    ExplainError,
    Network,
    as_network,
    host_values,
    layers_of,
)
from chainrule.files import atomic_write_bytes
from chainrule.nn.activations import ACTIVATIONS, activation_of
from chainrule.nn.module import Module, eval_mode, outputs_of
from chainrule.ops.registry import REGISTRY
from chainrule.optim.clip import grad_norm
from chainrule.viz.style import PNG_ONLY, png_bytes, saved_format

SATURATION = 0.01
#: The units whose saturation is measured: their slope f'(z) is one number per unit and case,
#: read from y alone by the unit's own derivative rule (softmax's is a Jacobian; identity's is 1)
MEASURED = ("logistic", "tanh", "relu")
#: The units that are off on many cases by design: their share counts the units off on every
#: case (dead), not the (case, unit) pairs, about half of which are off in a healthy layer
SWITCHING = ("relu",)
#: The units that saturate: their slope falls towards 0 as |z| grows (a large --lr drives them
#: there); their share counts the saturated (case, unit) pairs. A dead relu unit is another
#: thing (off on every case, its slope 0 whatever the size of z), measured beside them
SATURATING = tuple(unit for unit in MEASURED if unit not in SWITCHING)
#: The saturation panel's label, for a threshold; and its words where no layer is measured
_SHARE_LABEL = "share saturated, f'(z) < {:g}\n(relu: units off on every case)"
NO_MEASURED_LAYER = "no logistic, tanh or relu layer"
#: How many training cases the saturation is measured on, by default
PROBE_CASES = 256
#: Past this many layers (or with one epoch recorded), the plot draws the norms and shares
#: against the layer, a line per epoch coloured by a colour bar: a legend entry per parameter
#: outgrew the figure (200 layers: 400 entries, a 1024x6166 image) and its colours repeated.
LEGEND_LAYERS = 10
#: The most epochs the per-layer plot draws a line for: evenly spread, the first and last kept.
LAYER_PLOT_EPOCHS = 50
#: A fall of the weights' gradient norms from the top layer to the bottom by this factor or
#: more is a vanishing gradient (:meth:`GradientHealth.falloff`): the lower layers hardly move.
VANISHING = 1e4

try:  # subclass the training callback base when the training layer is installed
    from chainrule.train import Callback as _Base
except ImportError:  # pragma: no cover - the explainer works without the training layer
    _Base = object


def saturation(model: Any, x: Any, threshold: float = SATURATION) -> dict[str, float]:
    """Share of saturated units per logistic, tanh and relu layer, on inputs x.

    A unit is saturated on a case where its slope f'(z), which scales every gradient it passes
    down, is below ``threshold``: the slope is what the unit's own derivative rule sends back
    for dE/dy = 1, read from its output y (logistic: y (1 - y); tanh: 1 - y^2; relu: 0 where
    y = 0, else 1). A logistic or tanh layer's share is over its (case, unit) pairs; a relu
    layer's is over its units, counting those off on every case (dead: no case moves their
    weights), since a relu unit off on some cases is how it computes: a dead unit, not a
    saturated one (:func:`measured_layers` gives each layer's unit with its share).
    :func:`dead_units` names the units stuck on every case.

    The units' y are those the model itself computes in ``model(x)``, read off its unit modules
    as they run (:func:`~chainrule.nn.module.outputs_of`); the layers are numbered as ``explain``
    reads the model (:func:`~chainrule.explainer.network.as_network`), so the keys are its layer
    numbers (``--unit L:i``): 0 the inputs, 1 the units of the first Linear layer, or of an
    ``nn.Parallel`` of Linears (the family-trees encoders, whose units were skipped and every
    layer above numbered one too low), and so on. The model runs in evaluation mode, left after
    in the mode it was in (a probe in training mode would draw masks from the dropout layers'
    generators, changing every later mask of the run it watches). A model ``explain`` cannot
    read is refused (:class:`~chainrule.explainer.network.ExplainError`, saying why) unless it
    has no logistic unit: then ``{}`` (its tanh and relu layers, which it cannot number, are
    not measured, as before they were measured at all: a run watched by the callback goes on).
    """
    return {number: share for number, _, share, _ in _probe(model, x, threshold)}


def measured_layers(
    model: Any, x: Any, threshold: float = SATURATION
) -> list[tuple[str, str, float]]:
    """Each measured layer's number, unit and share, as :func:`saturation` gives the shares:
    ``[("1", "relu", 0.67), ("2", "logistic", 1.0)]``. The unit says what its share counts:
    the saturated (case, unit) pairs of a unit in :data:`SATURATING` (logistic, tanh), the dead
    units of one in :data:`SWITCHING` (relu), which a smaller learning rate need not revive."""
    return [(number, unit, share) for number, unit, share, _ in _probe(model, x, threshold)]


def dead_units(model: Any, x: Any, threshold: float = SATURATION) -> dict[str, list[int]]:
    """The units of each logistic, tanh and relu layer saturated on every case of inputs x
    (as :func:`saturation` judges a case), numbered from 1 as ``explain``'s ``--unit L:i``
    counts them, keyed by layer number as there; ``[]`` for a layer with none. A relu unit
    listed is off on every case (dead): its weights get no gradient from any of them."""
    return {number: units for number, _, _, units in _probe(model, x, threshold)}


def _probe(model: Any, x: Any, threshold: float) -> list[tuple[str, str, float, list[int]]]:
    """For each measured layer: its number, its unit, its share of saturated units and the
    units saturated on every case (see :func:`saturation`), from one run of the model."""
    network = _network_of(model)
    if network is None:  # unreadable, and no logistic unit: nothing numbered to measure
        return []
    own = _own_model(model, network)
    numbered = _unit_modules(own, network)
    inputs = np.asarray(host_values(x), dtype=network.dtype)
    with no_grad(), eval_mode(own), outputs_of([module for _, _, module in numbered]) as calls:
        own(inputs)
    measured = []
    for (number, unit, _), (_, y) in zip(numbered, calls):  # a Sequential calls them in order
        saturated = _slopes(unit, backend.to_numpy(y.data)) < threshold
        stuck = saturated.reshape(-1, saturated.shape[-1] if saturated.ndim else 1).all(axis=0)
        share = np.mean(stuck if unit in SWITCHING else saturated)
        stuck_units = [int(i) + 1 for i in np.flatnonzero(stuck)]
        measured.append((number, unit, float(share), stuck_units))
    return measured


def _slopes(unit: str, y: np.ndarray) -> np.ndarray:
    """f'(z) of each of ``y``'s units from their outputs alone: the unit's registered rule, as
    backward runs it, sending back dE/dy = 1 (each of these rules reads only its output)."""
    rule = REGISTRY[ACTIVATIONS[unit].primitive].vjp[0]
    return np.asarray(rule(np.ones_like(y), y, y))


def _own_model(model: Any, network: Network) -> Any:
    """The model to run: the user's own module (not the host copy ``explain`` reads a model on
    another library through), or for (W, b, act) triples the Sequential made of them."""
    own = model if isinstance(model, Module) else network.model
    if own is None:
        raise ExplainError(
            "saturation: the Network has no model (Network.model is None) to compute its units; "
            "give the nn.Sequential itself"
        )
    return own


def _unit_modules(own: Any, network: Network) -> list[tuple[str, str, Any]]:
    """Each measured layer's number as ``explain`` counts them, its unit's name, and the module
    of ``own`` whose output is that layer's y: its unit module, or the Parallel whose branches
    end in units."""
    modules = dict(layers_of(own))  # by the names explain gave the layers' units
    return [
        (str(number), layer.activation, modules[layer.unit_position])
        for number, layer in enumerate(network.layers, start=1)
        if layer.activation in MEASURED
    ]


def _network_of(model: Any) -> Network | None:
    """``model``'s layers as ``explain`` numbers them; None for a model it cannot read that
    has no logistic unit (a LogSoftmax classifier, an autoencoder of tanh units): its tanh
    and relu layers go unmeasured, as they went before they were measured at all, rather than
    the callback refusing a run it watched; else why its layers cannot be numbered."""
    try:
        return as_network(model)
    except ExplainError as error:
        modules = model.modules() if hasattr(model, "modules") else [model]
        if not any(activation_of(module) == "logistic" for module in modules):
            return None
        reason = str(error).removeprefix("explain: ")
        raise ExplainError(
            f"saturation: the model's logistic layers are numbered as explain reads them, and "
            f"{reason}"
        ) from None


gradient_health = saturation


class GradientHealth(_Base):
    """Callback: gradient norms per parameter, saturated-unit shares and stuck units per
    logistic, tanh and relu layer (:func:`saturation`, :func:`dead_units`).

    ``history`` is a list of per-epoch dicts: ``{"epoch", "grad_norms": {name: mean norm},
    "saturation": {layer: share}, "dead_units": {layer: [unit, ...]}}`` (a history saved
    before dead units were recorded has no ``"dead_units"``). Checkpoints carry it
    (:meth:`state`), so a resumed run's history covers every epoch since the first; resumed from
    a checkpoint that does not carry it (the run was not watched until then), it starts at the
    resumed epoch.
    """

    def __init__(self, probe_cases: int = PROBE_CASES, threshold: float = SATURATION) -> None:
        self.probe_cases = probe_cases
        self.threshold = threshold
        self.history: list[dict[str, Any]] = []
        self._norms: dict[str, list[float]] = {}
        #: the plot's name for each parameter ("0.weight": "layer 1 weight"), from the model
        self._labels: dict[str, str] = {}
        #: the model's parameters in its own order (named_parameters'), bottom layer first
        self._order: list[str] = []
        #: each layer's unit by its number ("1": "logistic"), for the saturation legend
        self._units: dict[str, str] = {}

    def on_fit_start(self, trainer: Any) -> None:
        # a model whose layers cannot be numbered is refused here: before epoch 1
        network = _network_of(trainer.model)
        self._labels = _parameter_labels(trainer.model, network)
        self._order = [name for name, _ in trainer.model.named_parameters()]
        layers = enumerate(network.layers, start=1) if network is not None else ()
        self._units = {str(n): layer.activation for n, layer in layers}

    def _recorded(self) -> list[str]:
        """The parameters the history holds norms of, in the model's order (a layer frozen in
        the first epochs, whose norms start later, keeps its place); a history loaded without
        its model: in the order they first appear."""
        seen = list(dict.fromkeys(k for h in self.history for k in h["grad_norms"]))
        place = {name: k for k, name in enumerate(self._order)}
        return sorted(seen, key=lambda name: place.get(name, len(place)))

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        self._norms = {}

    def on_after_backward(self, trainer: Any) -> None:
        for name, param in trainer.model.named_parameters():
            if param.grad is not None:  # scaled: a finite gradient of 1e160 has a finite norm
                self._norms.setdefault(name, []).append(grad_norm([param]))

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        data = getattr(trainer, "train_ds", None)
        measured = []
        if data is not None and len(data.X):
            measured = _probe(trainer.model, data.X[: self.probe_cases], self.threshold)
        self.history.append(
            {
                "epoch": epoch,
                # each norm over the count first: the mean of norms near the largest float is finite
                "grad_norms": {
                    k: float(np.sum(np.divide(v, len(v)))) for k, v in self._norms.items()
                },
                "saturation": {number: share for number, _, share, _ in measured},
                "dead_units": {number: units for number, _, _, units in measured},
            }
        )

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON scalars (the history) and no arrays, for a checkpoint."""
        return {"history": [dict(record) for record in self.history]}, {}

    def load_state(self, scalars: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state` saved."""
        self.history = [dict(record) for record in scalars.get("history", [])]

    def plot(self, path: str | os.PathLike) -> str:
        """Two panels (gradient norms, log scale; saturated share) written to a PNG; a name
        with another suffix than .png is refused (ValueError) before anything is drawn. Drawn on
        matplotlib's Agg canvas, chosen for this figure alone: the backend a notebook or a GUI
        chose is left as it was; saved at ``rcParams["savefig.dpi"]``, as ``plot_history``. Without
        matplotlib (the [app] extra), a MissingExtraError says so.

        The curves are drawn as ``plot_history`` draws its own (:mod:`chainrule.viz.curves`): a
        value with no neighbour gets a marker, NaN or inf norms are gaps whose epochs are shaded
        and named in the legend, epochs are whole numbers, and shares of 0 and 1 lie inside the
        panel. A norm of 0 (a dead layer, which a log axis cannot show) is a triangle on a dotted
        line at the foot of the panel, marked "norm 0", and its legend entry says from which
        epoch. Parameters are named by the layer ``explain`` numbers them in (as the saturation
        panel's layers are), one colour per layer, the weight solid and the bias dashed; a
        model ``explain`` cannot read keeps the parameters' own names (module index.name).

        Past :data:`LEGEND_LAYERS` layers, or with one epoch recorded and several layers, both
        panels are drawn against the layer instead (x: the layer number, as above), so that a
        gradient vanishing on its way down is a slope: each epoch's weights' norms
        (:meth:`layer_norms`) a line on the log axis and its saturated shares a line below,
        coloured by the epoch on a colour bar (up to :data:`LAYER_PLOT_EPOCHS` epochs, evenly
        spread), the last epoch's biases dashed; a legend of the last epoch's lines alone, and
        the figure the same size whatever the depth."""
        with extras_needed_by("GradientHealth.plot"):  # matplotlib: the [app] extra
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

        saved_format("GradientHealth.plot", os.fspath(path), PNG_ONLY)
        fig = Figure(figsize=(9, 6.5), dpi=100)
        FigureCanvasAgg(fig)
        layers = self._layer_numbers()
        count = len(set(layers.values()))
        if count > LEGEND_LAYERS or (len(self.history) == 1 and count > 1):
            self._draw_by_layer(fig, layers)
        else:
            top, bottom = fig.subplots(2, 1, sharex=True)
            self._draw_norms(top)
            self._draw_saturation(bottom)
            fig.suptitle("Gradient health per epoch")
        return os.fspath(atomic_write_bytes(path, png_bytes(fig)))

    def layer_norms(
        self, record: dict[str, Any] | None = None, bias: bool = False
    ) -> dict[int, float]:
        """Each layer's weights' (``bias``: biases') mean gradient norm in one epoch's record
        of :attr:`history` (the last by default), by layer number as the plot and the
        saturation panel number them: the callback's own norm for a layer of one weight, those
        of a layer's several (an ``nn.Parallel``'s branches) taken together as the square
        root of the sum of their squares. A model ``explain`` cannot read (or a history
        loaded by hand) numbers its modules in order from 1. {} for no record."""
        if record is None:
            if not self.history:
                return {}
            record = self.history[-1]
        parts: dict[int, list[float]] = {}
        for name, number in self._layer_numbers().items():
            value = record["grad_norms"].get(name)
            if value is not None and _is_bias(self._labels.get(name, name)) == bias:
                parts.setdefault(number, []).append(value)
        # hypot: a layer's finite norms of 1e200 together are finite, as grad_norm's are
        return {number: float(np.hypot.reduce(vs)) for number, vs in sorted(parts.items())}

    def falloff(self, record: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """How far the weights' gradient norms (:meth:`layer_norms`) fall from the top layer to
        the bottom in one epoch's record (the last by default): ``{"epoch", "top", "top_norm",
        "bottom", "bottom_norm", "ratio"}``, the top and the bottom being the highest and the
        lowest layers whose norm is finite and above 0 (an output layer at its optimum has a
        norm of 0), ``ratio`` the top's norm over the bottom's (inf past the largest float).
        None where fewer than two layers have such a norm. A ratio of :data:`VANISHING` or
        more is a vanishing gradient: the lower layers hardly move."""
        if record is None:
            if not self.history:
                return None
            record = self.history[-1]
        usable = [(n, v) for n, v in self.layer_norms(record).items() if 0 < v < np.inf]
        if len(usable) < 2:
            return None
        (bottom, low), (top, high) = usable[0], usable[-1]
        with np.errstate(over="ignore"):
            ratio = float(np.float64(high) / np.float64(low))
        return {"epoch": record.get("epoch"), "top": top, "top_norm": high, "bottom": bottom,
                "bottom_norm": low, "ratio": ratio}  # fmt: skip

    def _layer_numbers(self) -> dict[str, int]:
        """Each recorded parameter's layer: the number in its label ("layer 3 weight", as
        ``explain`` numbers the layers) where every parameter has one, else its module's place
        in the model's order from 1 ("0.weight" and "0.bias" 1, "2.weight" 2; an autoencoder's
        "encoder.*" before its "decoder.*", as named_parameters lists them, not alphabetically,
        which put the decoder at the bottom and turned a vanishing gradient's fall around)."""
        names = self._recorded()
        found = {name: re.match(r"layer (\d+)\b", self._labels.get(name, "")) for name in names}
        if all(found.values()):
            return {name: int(match.group(1)) for name, match in found.items()}
        modules: dict[str, int] = {}
        for name in names:
            modules.setdefault(name.rsplit(".", 1)[0], len(modules) + 1)
        return {name: modules[name.rsplit(".", 1)[0]] for name in names}

    def _shown(self) -> list[int]:
        """The positions in :attr:`history` of the epochs the per-layer plot draws: all, or
        :data:`LAYER_PLOT_EPOCHS` of them evenly spread, the first and the last kept."""
        n = len(self.history)
        if n <= LAYER_PLOT_EPOCHS:
            return list(range(n))
        return sorted({int(k) for k in np.linspace(0, n - 1, LAYER_PLOT_EPOCHS).round()})

    def _draw_by_layer(self, fig: Any, layers: dict[str, int]) -> None:
        """Both panels against the layer: a line per epoch drawn (:meth:`_shown`), coloured by
        its epoch on a colour bar shared by the panels (one colour and no bar for one epoch);
        the last epoch's biases dashed. The figure keeps its size whatever the depth."""
        from matplotlib import colormaps
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.ticker import MaxNLocator

        shown = self._shown()
        epochs = [self.history[k]["epoch"] for k in shown]
        if len(shown) > 1:
            grid = fig.add_gridspec(2, 2, width_ratios=(40, 1))
            top = fig.add_subplot(grid[0, 0])
            bottom = fig.add_subplot(grid[1, 0], sharex=top)
            scale = Normalize(min(epochs), max(epochs))  # the last epoch darkest: read first
            bar = fig.colorbar(ScalarMappable(scale, colormaps["viridis_r"]),
                               cax=fig.add_subplot(grid[:, 1]), label="epoch")  # fmt: skip
            bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))

            def colour(epoch: int) -> Any:
                return colormaps["viridis_r"](scale(epoch))
        else:
            top, bottom = fig.subplots(2, 1, sharex=True)

            def colour(epoch: int) -> Any:
                return "C0"

        self._draw_norms_by_layer(top, shown, colour)
        self._draw_saturation_by_layer(bottom, shown, colour)
        top.tick_params(labelbottom=False)  # the layers are numbered under the lower panel
        bottom.set_xlabel("layer" if self._labels else "module, in order")
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        drawn = "" if len(shown) == len(self.history) else f", {len(shown)} drawn"
        which = (f"epoch {epochs[0]}" if len(shown) == 1
                 else f"a line per epoch ({len(self.history)} epochs{drawn})")  # fmt: skip
        fig.suptitle(f"Gradient health per layer, {which}")

    def _draw_norms_by_layer(self, ax: Any, shown: list[int], colour: Any) -> None:
        """Each drawn epoch's weights' gradient norm per layer (:meth:`layer_norms`) on a log
        axis, the last epoch's biases dashed; norms of 0 at the foot of the panel."""
        last = self.history[shown[-1]]
        lines = [(self.history[k], self.layer_norms(self.history[k]), "weights", "-")
                 for k in shown]  # fmt: skip
        biases = self.layer_norms(last, bias=True)
        if biases:
            lines.append((last, biases, "biases", "--"))  # grey: told from the weights
        values = [v for _, norms, _, _ in lines for v in norms.values()]
        positive = [v for v in values if 0 < v < np.inf]
        floor = min(positive) / 10 if positive else 1.0
        handles = []
        for record, norms, what, linestyle in lines:
            epoch = record["epoch"]
            line = _layer_line(ax, norms, [0 < v < np.inf for v in norms.values()],
                               f"{what}, epoch {epoch}", linestyle=linestyle,
                               color="0.45" if what == "biases" else colour(epoch))  # fmt: skip
            zeros = [n for n, v in norms.items() if v == 0]
            if zeros:
                ax.plot(zeros, [floor] * len(zeros), linestyle="none", marker="v",
                        color=line.get_color())  # fmt: skip
            if record is last:
                handles.append(line)
        bad = [n for n, v in self.layer_norms(last).items() if not np.isfinite(v)]
        if bad:
            shown_bad = ", ".join(map(str, bad[:6])) + (", ..." if len(bad) > 6 else "")
            ax.text(0.005, 0.98, f" norm not finite at layer{'s' * (len(bad) > 1)} {shown_bad} "
                    f"(epoch {last['epoch']})", transform=ax.transAxes, va="top", fontsize=7,
                    color="#b00020")  # fmt: skip
        _norm_axis(ax, floor, any(v == 0 for v in values), positive, bool(values))
        ax.set_ylabel("mean gradient norm")
        ax.grid(True, alpha=0.3)
        if handles:
            ax.legend(handles=handles, fontsize=7, loc="best")

    def _draw_saturation_by_layer(self, ax: Any, shown: list[int], colour: Any) -> None:
        """Each drawn epoch's share of saturated units per measured layer, on [0, 1] padded."""
        for k in shown:
            record = self.history[k]
            keys = list(record["saturation"])  # the model's order, as recorded
            shares = {int(key) if key.isdigit() else j + 1: record["saturation"][key]
                      for j, key in enumerate(keys)}  # fmt: skip
            if shares:
                _layer_line(ax, shares, [np.isfinite(v) for v in shares.values()],
                            f"epoch {record['epoch']}", color=colour(record["epoch"]))  # fmt: skip
        ax.set_ylabel(_SHARE_LABEL.format(self.threshold))
        ax.set_ylim(-0.02, 1.02)
        ax.grid(True, alpha=0.3)
        if not ax.lines:
            ax.text(0.5, 0.5, NO_MEASURED_LAYER, ha="center", va="center",
                    transform=ax.transAxes)  # fmt: skip

    def _saturation_label(self, layer: str) -> str:
        """A layer's line in the saturation panel: its unit and number ("logistic layer 1",
        "relu layer 2 (dead units)"); a history loaded without its model: "layer 1"."""
        unit = self._units.get(layer)
        if unit is None:
            return f"layer {layer}"
        return f"{unit} layer {layer}" + (" (dead units)" if unit in SWITCHING else "")

    def _draw_norms(self, ax: Any) -> None:
        """Each parameter's mean gradient norm per epoch, on a log axis; norms of 0 at its foot."""
        from chainrule.viz.curves import curve, epoch_ticks, epochs_text

        epochs = [h["epoch"] for h in self.history]
        names = self._recorded()
        series = {name: [h["grad_norms"].get(name) for h in self.history] for name in names}
        positive = [v for vs in series.values() for v in vs if v is not None and 0 < v < np.inf]
        floor = min(positive) / 10 if positive else 1.0  # where a norm of 0 is drawn
        own = self._labels  # empty for a history loaded by hand: the names as they are
        labels = {name: own.get(name, name) for name in names}
        for name, (colour, linestyle) in _styles(names, labels).items():
            values = series[name]
            zeros = [k for k, v in enumerate(values) if v == 0]
            line = curve(ax, epochs, [None if v == 0 else v for v in values], labels[name],
                         color=colour, linestyle=linestyle)  # fmt: skip
            if zeros:
                line.set_label(f"{labels[name]} (norm 0 {epochs_text(epochs, zeros)})")
                ax.plot([epochs[k] for k in zeros], [floor] * len(zeros), linestyle="none",
                        marker="v", color=line.get_color())  # fmt: skip
        zero = any(v == 0 for vs in series.values() for v in vs)
        _norm_axis(ax, floor, zero, positive, bool(series))
        epoch_ticks(ax, epochs)
        ax.set_ylabel("mean gradient norm")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            title = None if own else "module index.parameter"
            ax.legend(fontsize=7, title=title, title_fontsize=7, loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # fmt: skip

    def _draw_saturation(self, ax: Any) -> None:
        """Each measured layer's share of saturated units per epoch, on [0, 1] padded."""
        from chainrule.viz.curves import curve, epoch_ticks

        epochs = [h["epoch"] for h in self.history]
        for layer in dict.fromkeys(k for h in self.history for k in h["saturation"]):
            curve(ax, epochs, [h["saturation"].get(layer) for h in self.history],
                  self._saturation_label(layer))  # fmt: skip
        ax.set_ylabel(_SHARE_LABEL.format(self.threshold))
        ax.set_xlabel("epoch")
        ax.set_ylim(-0.02, 1.02)  # a share of 0 or 1 is a line inside the panel, not a spine
        epoch_ticks(ax, epochs)
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        else:  # no measured layer (softmax or identity units): no share to draw, and a legend
            # of nothing makes matplotlib warn
            ax.text(0.5, 0.5, NO_MEASURED_LAYER, ha="center", va="center",
                    transform=ax.transAxes)  # fmt: skip


def _norm_axis(ax: Any, floor: float, zero: bool, positive: list, recorded: bool) -> None:
    """The norms' log axis: where a norm is 0, a dotted line at ``floor`` marked "norm 0"; with
    no positive finite norm, no made-up ticks and a line saying why."""
    ax.set_yscale("log")
    if zero:
        ax.axhline(floor, color="0.5", linestyle=":", linewidth=1)
        ax.text(0.005, floor, " norm 0", transform=ax.get_yaxis_transform(), va="bottom",
                fontsize=7, color="0.3")  # fmt: skip
        ax.set_ylim(bottom=floor / 2)
    if not positive:  # no norm to put on the scale: no made-up ticks
        ax.set_yticks([])
        ax.set_yticks([], minor=True)
        why = (
            "every gradient norm is 0"
            if recorded and zero
            else "no finite gradient norm was recorded"
        )
        ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center",
                color="#b00020")  # fmt: skip


def _layer_line(ax: Any, values: dict[int, float], drawn: list[bool], label: str,
                **style: Any) -> Any:  # fmt: skip
    """A line through ``values`` by layer, a gap where ``drawn`` is False (a norm of 0, NaN or
    inf), a marker on each drawn value with no drawn neighbour; returns the line."""
    xs = list(values)
    ys = [v if ok else float("nan") for v, ok in zip(values.values(), drawn)]
    alone = [
        i
        for i, ok in enumerate(drawn)
        if ok and not (i > 0 and drawn[i - 1]) and not (i + 1 < len(ys) and drawn[i + 1])
    ]
    (line,) = ax.plot(xs, ys, label=label, marker="o" if alone else "", markersize=4,
                      markevery=alone or None, **style)  # fmt: skip
    return line


def falloff_words(falloff: dict[str, Any]) -> str:
    """:meth:`GradientHealth.falloff` in words: "the weights' mean gradient norm falls from
    1.7e-09 at layer 20 to 2.8e-16 at layer 1 (6.1e+06 times smaller) in epoch 500"."""
    ratio = falloff["ratio"]
    moves, by = ("falls", f"{ratio:.2g} times smaller") if ratio >= 1 else (
        "rises", f"{1 / ratio:.2g} times larger")  # fmt: skip
    return (
        f"the weights' mean gradient norm {moves} from {falloff['top_norm']:.2g} at layer "
        f"{falloff['top']} to {falloff['bottom_norm']:.2g} at layer {falloff['bottom']} "
        f"({by}) in epoch {falloff['epoch']}"
    )


def _is_bias(label: str) -> bool:
    """Whether a parameter named (or labelled) ``label`` is a bias."""
    return label.endswith("bias")


#: Line styles of a layer's parameters (weight, bias, a Parallel layer's branches ...).
_LINESTYLES = ("-", "--", ":", "-.")


def _styles(names: list[str], labels: dict[str, str]) -> dict[str, tuple[str, str]]:
    """A colour and a linestyle for each parameter: one colour per layer (its label's words but
    the last; a module's index where ``explain`` could not number them), its parameters told
    apart by linestyle; past ten layers, the colours come round with the styles shifted."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(labels[name].rsplit(" ", 1)[0].rsplit(".", 1)[0], []).append(name)
    styles = {}
    for g, members in enumerate(groups.values()):
        members.sort(key=lambda name: not name.endswith("weight"))  # the weight solid (stable)
        for j, name in enumerate(members):
            shift = (g // 10) * 2
            styles[name] = (f"C{g % 10}", _LINESTYLES[(j + shift) % len(_LINESTYLES)])
    return styles


def _parameter_labels(model: Any, network: Network | None) -> dict[str, str]:
    """Each of ``model``'s parameters named by the layer ``explain`` numbers it in ("0.weight":
    "layer 1 weight"), as the saturation panel numbers its layers; {} where it cannot tell."""
    if network is None or not hasattr(model, "named_parameters"):
        return {}
    owner = {}
    for number, layer in enumerate(network.layers, start=1):
        for part in layer.parts:
            branch = f"branch {part.key.rstrip('.')} " if part.key else ""
            owner[id(part.weight)] = f"layer {number} {branch}weight"
            if part.bias is not None:
                owner[id(part.bias)] = f"layer {number} {branch}bias"
    return {name: owner[id(p)] for name, p in model.named_parameters() if id(p) in owner}
