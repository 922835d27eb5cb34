"""Family trees (Rumelhart, Hinton & Williams 1986, Figs. 2-4): the network and its recipes.

The network: one-hot person (24) -> 6 logistic units and one-hot relation (12) -> 6 logistic
units, two encoders side by side (:class:`chainrule.nn.Parallel`), then 12 central units, 6
units and 24 output units, all logistic. It is trained on 100 of the 104 cases with full-batch
sweeps and asked about the 4 it never saw.

Two recipes (:data:`RECIPES`) share the paper's schedule shape: eps 0.005 and alpha 0.5 for
20 sweeps, then alpha 0.9; every weight (and bias) shrunk by 0.2% after each weight change;
an output's error is zero beyond 0.8 / 0.2.

- ``"default"``, the recipe that trains: every weight and bias from U(-2, 2), eps 0.07 after
  the warm-up, 3000 sweeps, and the margin error measured from the edge
  (:class:`chainrule.nn.MarginSquaredError`).
- ``"published"``: the recipe as the paper gives it: U(-0.3, 0.3) (the range of the paper's
  symmetry experiment; none is given for this network), eps 0.01, 1500 sweeps, the error
  measured from the target. Every output settles near 0.2 for every case within about 100
  sweeps and stays there (docs/reproductions.md has the numbers).

>>> from chainrule.train import family_trees as ft                  # doctest: +SKIP
>>> run = ft.train_run("default", test=[3, 40, 77, 90], seed=0)     # doctest: +SKIP
>>> run.learned_at, run.test_correct("top")                         # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.checks import is_integer
from chainrule.data.family_trees import ENGLISH, PEOPLE, FamilyTree, family_trees
from chainrule.engine import no_grad
from chainrule.errors import UserError
from chainrule.nn import Linear, Logistic, MarginSquaredError, Parallel, Sequential
from chainrule.nn.init import as_generator
from chainrule.optim import SGD, PiecewiseSchedule
from chainrule.tensor import Tensor
from chainrule.train.trainer import Trainer


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a family-trees training run except the split and the seed."""

    name: str
    init_range: float  # every weight and bias from U(-init_range, init_range)
    lr: float  # eps after the warm-up
    sweeps: int
    margin: str  # MarginSquaredError(measured_from=margin): "edge" or "target"
    momentum: float = 0.9  # alpha after the warm-up
    warmup_sweeps: int = 20
    warmup_lr: float = 0.005
    warmup_momentum: float = 0.5
    shrink: float = 0.002  # w *= 1 - shrink after each weight change

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some settings changed (``RECIPES["default"].replace(sweeps=300)``)."""
        return dataclasses.replace(self, **changes)


#: The recipe that trains, and the paper's recipe as written (see the module docstring).
RECIPES: dict[str, Recipe] = {
    "default": Recipe("default", init_range=2.0, lr=0.07, sweeps=3000, margin="edge"),
    "published": Recipe("published", init_range=0.3, lr=0.01, sweeps=1500, margin="target"),
}


def recipe(name_or_recipe: str | Recipe) -> Recipe:
    """A recipe by name ("default", "published"), or the recipe itself."""
    if isinstance(name_or_recipe, Recipe):
        return name_or_recipe
    try:
        return RECIPES[name_or_recipe]
    except (KeyError, TypeError):
        raise UserError(
            f"family trees: unknown recipe {name_or_recipe!r}; choose one of {', '.join(RECIPES)}"
        ) from None


def family_tree_net(rng: Any = None, dtype: Any = "float64", init_range: float = 2.0) -> Sequential:
    """(24 + 12) -> (6 + 6) -> 12 -> 6 -> 24 logistic units; every weight and bias U(-r, r).

    ``net[0]`` is the :class:`~chainrule.nn.Parallel` pair of encoders: ``net[0][0][0]`` the
    person encoder's Linear(24, 6), ``net[0][1][0]`` the relation encoder's Linear(12, 6).
    """
    g = as_generator(rng)

    def linear(n_in: int, n_out: int) -> Linear:
        return Linear(n_in, n_out, dtype=dtype, rng=g, init="uniform", init_range=init_range)

    encoders = Parallel(
        (len(PEOPLE), Sequential(linear(24, 6), Logistic())),
        (12, Sequential(linear(12, 6), Logistic())),
    )
    return Sequential(
        encoders, linear(12, 12), Logistic(), linear(12, 6), Logistic(), linear(6, 24), Logistic()
    )


def person_weights(net: Sequential) -> np.ndarray:
    """The weights from the 24 person units to the 6 person-encoding units, shape (24, 6)."""
    return np.asarray(net[0][0][0].weight.data)


def warmup_schedule(optimizer: SGD, r: Recipe) -> PiecewiseSchedule:
    """eps ``warmup_lr``, alpha ``warmup_momentum`` for ``warmup_sweeps`` sweeps, then the
    recipe's eps and alpha (the schedule is stepped once per sweep)."""
    return PiecewiseSchedule(
        optimizer,
        {
            0: {"lr": r.warmup_lr, "momentum": r.warmup_momentum},
            r.warmup_sweeps: {"lr": r.lr, "momentum": r.momentum},
        },
    )


# -- scoring ---------------------------------------------------------------------------------


def correct_top(y: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per case: the most active output unit is a right answer."""
    return T[np.arange(len(T)), y.argmax(axis=1)] > 0.5


def correct_half(y: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per case, the 0.5 rule: every right answer above 0.5 and every other output below."""
    return np.all((y > 0.5) == (T > 0.5), axis=1)


def correct_strict(y: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per case, the paper's margins: every right answer above 0.8, every other below 0.2.

    With the margin error and the decay, an output settles on its edge (the error stops pulling
    there and the decay pulls it back), so this is close to a coin flip for each output unit.
    """
    return np.all(np.where(T > 0.5, y > 0.8, y < 0.2), axis=1)


SCORES = {"top": correct_top, "half": correct_half, "strict": correct_strict}


@dataclass
class Run:
    """One trained network and how it does on its training and held-out cases."""

    recipe: Recipe
    seed: int
    train_indices: list[int]
    test_indices: list[int]
    net: Sequential
    train_outputs: np.ndarray
    test_outputs: np.ndarray
    train_targets: np.ndarray
    test_targets: np.ndarray
    learned_at: int | None  # the first checked sweep at which every training case passes 0.5
    loss: float
    losses: list[float] = field(default_factory=list, repr=False)

    def train_correct(self, rule: str = "half") -> np.ndarray:
        """Per training case, correct by ``rule``: "top", "half" (0.5) or "strict" (0.8/0.2)."""
        return SCORES[rule](self.train_outputs, self.train_targets)

    def test_correct(self, rule: str = "top") -> np.ndarray:
        """Per held-out case, correct by ``rule``."""
        return SCORES[rule](self.test_outputs, self.test_targets)

    @property
    def learned(self) -> bool:
        """Every training case right by the 0.5 rule at the end of training."""
        return bool(self.train_correct("half").all())

    @property
    def stalled(self) -> bool:
        """Every output of every training case below 0.5: the state the published recipe
        falls into (each case's right answer missed, every other output right)."""
        return bool(np.all(self.train_outputs < 0.5))


def train_run(
    recipe_or_name: str | Recipe = "default",
    test: Any = 0,
    seed: int = 0,
    *,
    dtype: Any = "float64",
    check_every: int = 10,
) -> Run:
    """Train one network with a recipe and score it.

    ``test`` is the held-out cases: a list of case indices (0-103), or an int seeding
    :func:`chainrule.data.holdout_cases`' choice of 4. ``seed`` seeds the weights. Every
    ``check_every`` sweeps the training outputs are checked by the 0.5 rule for ``learned_at``.
    """
    from chainrule import data

    r = recipe(recipe_or_name)
    ds = family_trees(dtype=np.dtype(dtype))
    if is_integer(test):
        test_indices = data.holdout_cases(ds, k=4, seed=int(test))[1].meta["indices"]
    else:
        test_indices = sorted(int(i) for i in test)
        if not test_indices or test_indices[0] < 0 or test_indices[-1] >= len(ds):
            raise UserError(f"family trees: held-out cases must be in 0..{len(ds) - 1}")
    train_indices = [i for i in range(len(ds)) if i not in set(test_indices)]
    X, T = ds.X[train_indices], ds.y[train_indices]
    net = family_tree_net(seed, dtype=dtype, init_range=r.init_range)
    optimizer = SGD(net.parameters(), lr=r.warmup_lr, momentum=r.warmup_momentum, shrink=r.shrink)
    schedule = warmup_schedule(optimizer, r)
    trainer = Trainer(net, MarginSquaredError(measured_from=r.margin), optimizer, progress=False)
    learned_at, losses = None, []
    for sweep in range(1, r.sweeps + 1):
        losses.append(trainer.step(X, T))
        schedule.step()
        if learned_at is None and sweep % check_every == 0:
            with no_grad():
                if correct_half(net(Tensor(X)).data, T).all():
                    learned_at = sweep
    with no_grad():
        y_train, y_test = net(Tensor(X)).data, net(Tensor(ds.X[test_indices])).data
    return Run(r, seed, train_indices, test_indices, net, y_train, y_test, T,
               ds.y[test_indices], learned_at, losses[-1], losses)  # fmt: skip


# -- what the person-encoding units learn (Fig. 4) ------------------------------------------


def _separates(values: np.ndarray, groups: list[np.ndarray]) -> bool:
    """The groups' ranges of ``values`` are disjoint and in order (increasing or decreasing)."""
    spans = [(values[g].min(), values[g].max()) for g in groups]
    up = all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    down = all(a[0] > b[1] for a, b in zip(spans, spans[1:]))
    return up or down


def unit_roles(weights: np.ndarray) -> dict[str, list[int]]:
    """Which person-encoding units separate the nationalities, the generations, the oldest
    generation from the youngest.

    ``weights`` is (24, n_units) as from :func:`person_weights`. A unit separates the
    nationalities when every English person's weight lies on one side of every Italian's; it
    separates the generations when the three generations' weights fall in three disjoint
    ranges in order (1 < 2 < 3, or the reverse), in both families at once; "oldest-youngest"
    asks only that generations 1 and 3 do not overlap.
    """
    weights = np.asarray(weights)
    if weights.shape[0] != len(PEOPLE):
        raise UserError(f"unit_roles: expected weights of shape (24, units), got {weights.shape}")
    english = np.array([p in ENGLISH for p in PEOPLE])
    tree = FamilyTree()
    generation = np.array([tree.generation(p) for p in PEOPLE])
    nations = [np.flatnonzero(english), np.flatnonzero(~english)]
    generations = [np.flatnonzero(generation == g) for g in (1, 2, 3)]
    columns = range(weights.shape[1])
    return {
        "nationality": [u for u in columns if _separates(weights[:, u], nations)],
        "generation": [u for u in columns if _separates(weights[:, u], generations)],
        "oldest-youngest": [
            u for u in columns if _separates(weights[:, u], [generations[0], generations[2]])
        ],
    }
