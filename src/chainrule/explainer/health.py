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

from chainrule.engine import no_grad
from chainrule.files import atomic_write_bytes
from chainrule.nn.activations import activation_of
from chainrule.nn.layers import Linear
from chainrule.nn.module import eval_mode
from chainrule.tensor import Tensor
from chainrule.viz.style import PNG_ONLY, png_bytes, saved_format

SATURATION = 0.01

try:  # subclass the training callback base when the training layer is installed
    from chainrule.train import Callback as _Base
except ImportError:  # pragma: no cover - the explainer works without the training layer
    _Base = object


def saturation(model: Any, x: Any, threshold: float = SATURATION) -> dict[str, float]:
    """Share of logistic units with y (1 - y) < ``threshold``, per logistic layer, on inputs x.

    Keys are the layers' numbers as ``explain`` counts them (``--unit L:i``): 0 the inputs, 1
    the units of the first Linear layer, and so on ("2" for the second hidden layer, which the
    Sequential holds at position 3: reported as "layer 3", it read as the output layer).
    The model runs in eval mode (dropout the identity) and is left in the mode it was in: a
    probe in training mode would measure through random masks and draw them from the dropout
    layers' generators, changing every later mask of the run it watches.
    """
    children = list(model.children()) if hasattr(model, "children") else []
    dtype = model.parameters()[0].dtype if model.parameters() else np.float64
    y = Tensor(np.asarray(x, dtype=dtype))
    shares: dict[str, float] = {}
    layer = 0  # the explainer's numbering: one layer of units per Linear
    with eval_mode(model), no_grad():
        for module in children:
            y = module(y)
            layer += isinstance(module, Linear)
            if activation_of(module) == "logistic":
                values = y.numpy()
                shares[str(layer)] = float(np.mean(values * (1 - values) < threshold))
    return shares


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

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        self._norms = {}

    def on_after_backward(self, trainer: Any) -> None:
        for name, param in trainer.model.named_parameters():
            if param.grad is not None:
                norm = float(np.linalg.norm(np.asarray(param.grad.numpy(), dtype=np.float64)))
                self._norms.setdefault(name, []).append(norm)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        data = getattr(trainer, "train_ds", None)
        shares = {}
        if data is not None and len(data.X):
            shares = saturation(trainer.model, data.X[: self.probe_cases], self.threshold)
        self.history.append(
            {
                "epoch": epoch,
                "grad_norms": {k: float(np.mean(v)) for k, v in self._norms.items()},
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
        chose is left as it was."""
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
