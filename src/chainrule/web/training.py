"""A training run for the explorer: a small network learning a small dataset, step by step.

The page plays, pauses and steps it. The network is an ``nn.Sequential`` (the state's
:meth:`~chainrule.web.network.NetworkState.model`) and each step is the library's one training
step, :meth:`chainrule.train.Trainer.step`, with an optimizer from ``optim.from_name``. The run
records the loss of every step (its batch's, before the step's update) and the norm of each
weight layer's gradient, so the page can draw them live; beside the accuracy it reports the loss
over all the dataset's cases, which its status line shows (the last batch's loss beside an
accuracy over every case said two things of two sets).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field

import numpy as np

from chainrule import data, optim
from chainrule.engine import no_grad
from chainrule.errors import UserError
from chainrule.nn.layers import Linear, Sequential
from chainrule.nn.losses import Loss
from chainrule.tensor import Tensor
from chainrule.train import runs
from chainrule.train.metrics import predicted_classes, units_on
from chainrule.train.trainer import Trainer
from chainrule.web.network import MAX_MAGNITUDE, NetworkState, random_state


@dataclass(frozen=True)
class DatasetChoice:
    """A dataset the page offers: how its list names it, what the Train tab fills in when it
    is chosen (hidden layer sizes, learning rate), and the range U(-r, r) a run's weights and
    biases are drawn from where its start names none (:func:`start_run`)."""

    label: str
    hidden: tuple[int, ...]
    lr: float
    init_range: float = 1.0


def preset_range(name: str) -> float:
    """The range the command line's preset for dataset ``name`` draws its weights and biases
    from (``train.runs.PRESETS``: its "uniform" init's ``init_range``), read from that table
    rather than written out again; a preset that draws otherwise (or none) fails here, at
    import."""
    preset = runs.PRESETS[name]
    if preset.get("init") != "uniform" or "init_range" not in preset:
        raise ValueError(f"training: the {name!r} preset names no uniform init_range")
    return float(preset["init_range"])


#: The datasets the page offers, in its list's order; "circle" is the 2-D toy set (inside or
#: outside a circle). The Train tab's hidden sizes and learning rates are the page's own
#: choice, not the command line's (``train.runs.PRESETS``: other losses, batches and epochs):
#: learning rates for :func:`start_run`'s losses over a whole batch (for 0/1 targets the summed
#: squared error: circle has 200 cases) with the page's momentum 0.9; lr 1 saturated circle and
#: symmetry at once (tests/web/test_web_training_defaults.py). The initial range is the
#: preset's where the command line has one drawing uniformly (xor's 1.0, symmetry's 0.3: drawn
#: by ``nn.mlp`` with biases, symmetry at 1.0 learned in 4 of seeds 0-7, at 0.3 in 8 of 8);
#: circle (no preset) and digits (the preset's init is glorot) keep 1.0, which learns.
DATASETS: dict[str, DatasetChoice] = {
    "xor": DatasetChoice("xor", hidden=(4,), lr=1.0, init_range=preset_range("xor")),
    "symmetry": DatasetChoice(
        "symmetry", hidden=(2,), lr=0.03, init_range=preset_range("symmetry")
    ),
    "circle": DatasetChoice("circle (2-D)", hidden=(8,), lr=0.01, init_range=1.0),
    "digits": DatasetChoice("digits", hidden=(16,), lr=0.3, init_range=1.0),
}
MAX_HISTORY = 5000


@dataclass(frozen=True)
class OptimizerChoice:
    """An optimizer the Train tab offers: the library's optimizer (its ``optim.from_name`` name)
    and the settings it is made with besides the learning rate, which the page asks for."""

    optimizer: str
    settings: dict[str, float] = field(default_factory=dict)


def _library_choice(name: str) -> OptimizerChoice:
    """The page's entry for a name ``optim.from_name`` takes: the library's optimizer it stands
    for and the settings the name gives it (an alias's: "momentum" is SGD with momentum 0.9),
    read from the library's tables (``optim.optimizers.lookup``), not written out again; a
    name the library does not know fails here, at import."""
    kind, settings = optim.optimizers.lookup(name)
    return OptimizerChoice(kind.name, settings)


#: The optimizers the Train tab offers, in its list's order, by the name the page and
#: ``POST /api/train/start`` use (the library's names: ``optim.optimizers.names()``); the first
#: is the default. A deliberate few of the library's, for a classroom: plain descent, RHW 1986's
#: momentum (SGD with momentum 0.9, the momentum :data:`DATASETS`' learning rates were chosen
#: with) and Adam; the command line offers every one (tests/train/test_run_names_s62.py checks
#: each name here is the library's and means what the library makes of it).
OPTIMIZERS: dict[str, OptimizerChoice] = {
    name: _library_choice(name) for name in ("momentum", "sgd", "adam")
}
DEFAULT_OPTIMIZER = next(iter(OPTIMIZERS))


def page_datasets() -> list[dict]:
    """The datasets the page offers, in :data:`DATASETS`' order, each with its ``name``,
    ``label`` and the Train tab's defaults (``hidden``, ``lr``). The page fills its list from
    this and sets its fields from it (``GET /api/datasets``), so it keeps no copy of them."""
    return [
        {"name": name, "label": d.label, "hidden": list(d.hidden), "lr": d.lr}
        for name, d in DATASETS.items()
    ]


def page_optimizers() -> list[dict]:
    """The optimizers the page offers, in :data:`OPTIMIZERS`' order, each with its ``name``, the
    library ``optimizer`` it means and that one's ``settings``. The page fills its list from this
    (``GET /api/optimizers``), so it keeps no copy of them."""
    return [
        {"name": name, "optimizer": c.optimizer, "settings": dict(c.settings)}
        for name, c in OPTIMIZERS.items()
    ]


def make_optimizer(name: str, params: list[Tensor], lr: float) -> optim.Optimizer:
    """The library optimizer :data:`OPTIMIZERS` calls ``name``, with its settings and ``lr``;
    a name not in the table is refused naming those that are (read now, not at import: the
    request's schema took its names from the table as it was then)."""
    choice = OPTIMIZERS.get(name)
    if choice is None:
        raise UserError(f"optimizer: unknown {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return optim.from_name(choice.optimizer, params, lr=lr, **choice.settings)


def circle(n: int = 200, radius: float = 0.6, seed: int = 0) -> data.Dataset:
    """A 2-D toy set: points uniform in the square [-1, 1]^2, target 1 inside the circle."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, (n, 2))
    inside = (np.hypot(X[:, 0], X[:, 1]) < radius).astype(np.float64)
    return data.Dataset(X=X, y=inside[:, None], task="multilabel", name="circle", n_classes=1)


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray, data.Dataset]:
    """Inputs (n, d) and target rows (n, k) in float64, and the dataset itself."""
    if name not in DATASETS:
        raise UserError(f"dataset: unknown {name!r}; choose one of {', '.join(DATASETS)}")
    ds = circle() if name == "circle" else data.load(name)
    X = np.asarray(ds.X, dtype=np.float64)
    if ds.task == "classification":
        T = data.one_hot(ds.y, ds.n_classes, dtype=np.float64)
    else:
        T = np.asarray(ds.y, dtype=np.float64).reshape(len(X), -1)
    return X, T, ds


@dataclass(frozen=True)
class SharedData:
    """A dataset's inputs (n, d) and target rows (n, k) in float64, read-only, and its task:
    one copy per process, which every run on it shares (the digits' 0.9 MB were a third of
    each browser session's memory). Nothing may write into them: a run that needs other
    numbers makes its own copy (``X[rows]`` does)."""

    X: np.ndarray
    T: np.ndarray
    task: str


_shared_lock = threading.Lock()


def shared_dataset(name: str) -> SharedData:
    """The one read-only copy of dataset ``name`` (:func:`load_dataset`'s arrays, loaded on first
    use; under a lock, so two sessions starting at once do not each load one)."""
    with _shared_lock:
        return _shared(name)


@functools.lru_cache(maxsize=len(DATASETS))
def _shared(name: str) -> SharedData:
    X, T, ds = load_dataset(name)
    X, T = np.array(X), np.array(T)  # its own copies: X may be the dataset's own array
    for array in (X, T):
        array.flags.writeable = False
    return SharedData(X, T, ds.task)


def _input_and_output_sizes(name: str) -> tuple[int, int]:
    shared = shared_dataset(name)
    return shared.X.shape[1], shared.T.shape[1]


def layer_sizes(dataset: str, hidden: list[int]) -> list[int]:
    """A run's layer sizes: the dataset's inputs, the ``hidden`` sizes, the dataset's outputs."""
    inputs, outputs = _input_and_output_sizes(dataset)
    return [inputs, *hidden, outputs]


@dataclass
class TrainingRun:
    """One browser session's run: the model, the library's trainer and the run's history."""

    dataset: str
    #: the dataset's inputs and target rows: :func:`shared_dataset`'s read-only arrays, shared
    #: with every other run on that dataset (never written: a batch is a copy, ``X[rows]``)
    X: np.ndarray
    T: np.ndarray
    task: str
    state: NetworkState
    model: Sequential
    loss: Loss
    trainer: Trainer
    batch_size: int | None
    rng: np.random.Generator
    #: the loss of each of the last MAX_HISTORY steps: its batch's, before its update (a summed
    #: loss adds that batch's cases up: a smaller last batch of an epoch gives a smaller one)
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    #: every step taken (the losses kept stop at MAX_HISTORY: counted by them, the page's
    #: step stood at 5000 for ever after)
    step_count: int = 0
    _order: np.ndarray | None = None
    _cursor: int = 0

    @property
    def linears(self) -> list[Linear]:
        return [m for m in self.model if isinstance(m, Linear)]

    def _batch(self) -> np.ndarray:
        """The next rows: all of them, or the next slice of a shuffled order (new each epoch)."""
        n = len(self.X)
        if self.batch_size is None or self.batch_size >= n:
            return np.arange(n)
        if self._order is None or self._cursor >= n:
            self._order, self._cursor = self.rng.permutation(n), 0
        rows = self._order[self._cursor : self._cursor + self.batch_size]
        self._cursor += self.batch_size
        return rows

    def step(self) -> float:
        """One update by ``Trainer.step``; refuses if the loss, the weights or the gradients'
        norms stop being finite, and then puts back the weights and the optimizer's state
        (velocity, Adam's moments, step counts) from the step before, so a too-large learning
        rate is reported instead of poisoning the run (a NaN velocity kept would refuse every
        later step). The batch is put back too: the next step trains on the rows this one
        could not (a refused step skipped them, and a smaller learning rate never saw them)."""
        position = self._order, self._cursor, self.rng.bit_generator.state
        rows = self._batch()
        params = self.model.parameters()
        optimizer = self.trainer.optimizer
        before = [p.data.copy() for p in params]
        # its buffers and step counts (not state_dict: that carries the hyperparameters too, and
        # putting back an lr the user set to inf would be refused by load_state_dict's checks)
        steps_before = list(optimizer.steps)
        buffers_before = [{k: v.copy() for k, v in b.items()} for b in optimizer.state]
        loss = self.trainer.step(self.X[rows], self.T[rows])
        norms = [_grad_norm(layer) for layer in self.linears]
        finite = (
            np.isfinite(loss)
            and all(np.all(np.isfinite(p.data)) for p in params)
            and np.all(np.isfinite(norms))
        )
        # every number finite but a weight past what the page's requests take: the network
        # returned would be refused by every other request (it "blamed the user's input")
        bounded = all(np.all(np.abs(p.data) <= MAX_MAGNITUDE) for p in params)
        if not (finite and bounded):
            for p, old in zip(params, before):
                p.data[...] = old
            optimizer.steps, optimizer.state = steps_before, buffers_before
            self._order, self._cursor, self.rng.bit_generator.state = position
            what = f"grew past {MAX_MAGNITUDE:g} (a weight)" if finite else "stopped being finite"
            raise UserError(
                f"training diverged at step {self.step_count + 1}: the numbers {what}; the "
                f"weights were kept from the step before. Lower the learning rate."
            )
        self.step_count += 1
        self.losses.append(loss)
        del self.losses[:-MAX_HISTORY]
        self.grad_norms = norms
        return loss

    def _outputs(self) -> Tensor:
        """The network's outputs for every case of the dataset, with the weights now."""
        with no_grad():
            return self.model(Tensor(self.X))

    def accuracy(self, outputs: Tensor | None = None) -> float | None:
        """Share of cases right: the class ``chainrule evaluate`` would predict from the
        network's outputs (:func:`~chainrule.train.metrics.predicted_classes`) for classes,
        every unit on or off as its 0/1 target says (``units_on``); None for other targets.
        ``outputs``: the network's for every case, where the caller has them already."""
        out = (self._outputs() if outputs is None else outputs).numpy()
        if self.task == "classification":
            return float(np.mean(predicted_classes(out, self.loss) == self.T.argmax(axis=1)))
        if np.all((self.T == 0) | (self.T == 1)):
            decided = units_on(out, self.loss)
            return float(np.mean(np.all(decided == (self.T > 0.5), axis=1)))
        return None

    def dataset_loss(self, outputs: Tensor | None = None) -> float | None:
        """The run's loss over every case of the dataset with the weights now, as the loss
        combines them (its ``reduction``: the sum over the cases, the lecture's E, or their
        mean), as a fit's epoch loss is; None where it is not finite (the API answers finite
        numbers only). ``outputs``: the network's for every case, where the caller has them."""
        with no_grad():
            out = self._outputs() if outputs is None else outputs
            value = float(self.loss(out, Tensor(self.T)).item())
        return value if np.isfinite(value) else None

    def network(self, case: int = 0) -> NetworkState:
        """The current network with one case of the dataset as its input and target."""
        return NetworkState.from_model(self.model, self.X[case], self.T[case], self.loss)

    def to_json(self) -> dict:
        """What the page draws: the loss of each step's batch, gradient norms, the accuracy and
        the loss over all the ``cases`` (one forward pass for both) and the network."""
        state = self.network().to_json()
        state["activation"] = self.state.activation
        state["output"] = self.state.output
        outputs = self._outputs()
        return {
            "dataset": self.dataset,
            "step": self.step_count,
            "loss": list(self.losses),
            "accuracy": self.accuracy(outputs),
            "dataset_loss": self.dataset_loss(outputs),
            "cases": len(self.X),
            "reduction": self.loss.reduction,
            "grad_norms": list(self.grad_norms),
            "network": state,
        }


def _grad_norm(layer: Linear) -> float:
    """sqrt(|dE/dW|^2 + |dE/db|^2) of one weight layer's last gradient: the norm over its weight
    and bias (:func:`chainrule.optim.grad_norm`, finite for finite gradients of 1e200)."""
    return optim.grad_norm([p for p in (layer.weight, layer.bias) if p is not None])


def start_run(
    dataset: str,
    hidden: list[int],
    activation: str = "logistic",
    optimizer: str = DEFAULT_OPTIMIZER,
    lr: float = 0.5,
    batch_size: int | None = None,
    seed: int = 0,
    init_range: float | None = None,
) -> TrainingRun:
    """A fresh run on ``dataset``: sizes [inputs, *hidden, outputs], weights and biases drawn
    by :func:`~chainrule.web.network.random_state` (``nn.mlp``'s, as ``chainrule train``'s with
    that seed and range) from U(-init_range, init_range); None: the dataset's
    (:data:`DATASETS`).

    Classes get softmax units and cross-entropy; 0/1 targets get logistic units and the lecture's
    squared error."""
    shared = shared_dataset(dataset)  # every run on it reads the same read-only arrays
    if init_range is None:
        init_range = DATASETS[dataset].init_range
    classes = shared.task == "classification"
    state = random_state(
        layer_sizes(dataset, hidden),
        activation=activation,
        output="softmax" if classes else "logistic",
        loss="cross-entropy" if classes else "squared-error",
        seed=seed,
        init_range=init_range,
    )
    model, loss = state.model(), state.loss_object()
    opt = make_optimizer(optimizer, model.parameters(), lr)
    return TrainingRun(
        dataset=dataset,
        X=shared.X,
        T=shared.T,
        task=shared.task,
        state=state,
        model=model,
        loss=loss,
        trainer=Trainer(model, loss, opt, progress=False),
        batch_size=batch_size,
        rng=np.random.default_rng(seed),
    )
