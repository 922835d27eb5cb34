"""Gradient health during training: per-layer gradient norms and saturated logistic units.

A logistic unit with y (1 - y) < 0.01 (y below about 0.01 or above 0.99) passes back less than a
hundredth of dE/dy: it has stopped learning. :class:`GradientHealth` is a training callback that
records, per epoch, the mean gradient norm of each parameter (after each backward pass) and the
share of saturated units in each logistic layer (on up to ``probe_cases`` training cases), and
plots both. Its ``state()`` / ``load_state()`` carry the history in checkpoints, so a resumed
run's history covers every epoch. ``gradient_health(model, x)`` measures the saturation once.

>>> from chainrule import train                                     # doctest: +SKIP
>>> health = GradientHealth()                                       # doctest: +SKIP
>>> train.fit(model, loss, opt, data, callbacks=[health])           # doctest: +SKIP
>>> health.plot("health.png")                                       # doctest: +SKIP
"""

from __future__ import annotations

import os
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
from chainrule.nn.activations import activation_of
from chainrule.nn.module import Module, eval_mode, outputs_of
from chainrule.optim.clip import grad_norm
from chainrule.viz.style import PNG_ONLY, png_bytes, saved_format

SATURATION = 0.01

try:  # subclass the training callback base when the training layer is installed
    from chainrule.train import Callback as _Base
except ImportError:  # pragma: no cover - the explainer works without the training layer
    _Base = object


def saturation(model: Any, x: Any, threshold: float = SATURATION) -> dict[str, float]:
    """Share of logistic units with y (1 - y) < ``threshold``, per logistic layer, on inputs x.

    The units' y are those the model itself computes in ``model(x)``, read off its unit modules
    as they run (:func:`~chainrule.nn.module.outputs_of`); the layers are numbered as ``explain``
    reads the model (:func:`~chainrule.explainer.network.as_network`), so the keys are its layer
    numbers (``--unit L:i``): 0 the inputs, 1 the units of the first Linear layer, or of an
    ``nn.Parallel`` of Linears (the family-trees encoders, whose units were skipped and every
    layer above numbered one too low), and so on. The model runs in evaluation mode, left after
    in the mode it was in (a probe in training mode would draw masks from the dropout layers'
    generators, changing every later mask of the run it watches). A model ``explain`` cannot
    read is refused (:class:`~chainrule.explainer.network.ExplainError`, saying why) unless it
    has no logistic unit (then there is no share to measure: ``{}``).
    """
    network = _network_of(model)
    if network is None:  # no logistic unit: nothing to measure, nothing to number
        return {}
    own = _own_model(model, network)
    numbered = _logistic_unit_modules(own, network)
    inputs = np.asarray(host_values(x), dtype=network.dtype)
    with no_grad(), eval_mode(own), outputs_of([module for _, module in numbered]) as calls:
        own(inputs)
    shares = {}
    for (number, _), (_, y) in zip(numbered, calls):  # a Sequential calls them in its order
        values = backend.to_numpy(y.data)
        shares[number] = float(np.mean(values * (1 - values) < threshold))
    return shares


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


def _logistic_unit_modules(own: Any, network: Network) -> list[tuple[str, Any]]:
    """Each logistic layer's number as ``explain`` counts them, and the module of ``own`` whose
    output is that layer's y: its unit module, or the Parallel whose branches end in units."""
    modules = dict(layers_of(own))  # by the names explain gave the layers' units
    return [
        (str(number), modules[layer.unit_position])
        for number, layer in enumerate(network.layers, start=1)
        if layer.activation == "logistic"
    ]


def _network_of(model: Any) -> Network | None:
    """``model``'s layers as ``explain`` numbers them; None for a model it cannot read that
    has no logistic unit (a LogSoftmax classifier), else why its layers cannot be numbered."""
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
    """Callback: gradient norms per parameter and saturated-unit shares per logistic layer.

    ``history`` is a list of per-epoch dicts: ``{"epoch", "grad_norms": {name: mean norm},
    "saturation": {layer: share}}``. Checkpoints carry it (:meth:`state`), so a resumed run's
    history covers every epoch since the first; resumed from a checkpoint that does not carry
    it (the run was not watched until then), it starts at the resumed epoch.
    """

    def __init__(self, probe_cases: int = 256, threshold: float = SATURATION) -> None:
        self.probe_cases = probe_cases
        self.threshold = threshold
        self.history: list[dict[str, Any]] = []
        self._norms: dict[str, list[float]] = {}

    def on_fit_start(self, trainer: Any) -> None:
        _network_of(trainer.model)  # a model whose layers cannot be numbered: before epoch 1

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        self._norms = {}

    def on_after_backward(self, trainer: Any) -> None:
        for name, param in trainer.model.named_parameters():
            if param.grad is not None:  # scaled: a finite gradient of 1e160 has a finite norm
                self._norms.setdefault(name, []).append(grad_norm([param]))

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        data = getattr(trainer, "train_ds", None)
        shares = {}
        if data is not None and len(data.X):
            shares = saturation(trainer.model, data.X[: self.probe_cases], self.threshold)
        self.history.append(
            {
                "epoch": epoch,
                # each norm over the count first: the mean of norms near the largest float is finite
                "grad_norms": {
                    k: float(np.sum(np.divide(v, len(v)))) for k, v in self._norms.items()
                },
                "saturation": shares,
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
        chose is left as it was. Without matplotlib (the [app] extra), a MissingExtraError says
        so."""
        with extras_needed_by("GradientHealth.plot"):  # matplotlib: the [app] extra
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

        saved_format("GradientHealth.plot", os.fspath(path), PNG_ONLY)
        epochs = [h["epoch"] for h in self.history]
        fig = Figure(figsize=(7, 6), dpi=100)
        FigureCanvasAgg(fig)
        top, bottom = fig.subplots(2, 1, sharex=True)
        for name in sorted({k for h in self.history for k in h["grad_norms"]}):
            top.plot(epochs, [h["grad_norms"].get(name, np.nan) for h in self.history], label=name)
        top.set_yscale("log")
        top.set_ylabel("mean gradient norm")
        top.legend(fontsize=7)
        for layer in sorted({k for h in self.history for k in h["saturation"]}):
            bottom.plot(
                epochs,
                [h["saturation"].get(layer, np.nan) for h in self.history],
                label=f"logistic layer {layer}",
            )
        bottom.set_ylabel(f"share with y(1-y) < {self.threshold:g}")
        bottom.set_xlabel("epoch")
        bottom.set_ylim(0, 1)
        if bottom.lines:
            bottom.legend(fontsize=7)
        else:  # no logistic layer (tanh or relu units): no share to draw, and matplotlib warns
            bottom.text(0.5, 0.5, "no logistic layer", ha="center", va="center",
                        transform=bottom.transAxes)  # fmt: skip
        return os.fspath(atomic_write_bytes(path, png_bytes(fig, dpi=100)))
