"""Measure each classic preset's learning rate per optimizer (a script, not a test).

This script produced the table in ``chainrule.train.runs.PRESET_RATES``' comment, and the
rates there (and in docs/training.md), on 2 shared cores in about 25 minutes: for each classic
dataset and each optimizer the registry offers, a few candidate rates, seeds 0-9, the preset's
epochs and everything else the preset's, and how many seeds *learn*: all the problem's cases
right, as ``chainrule train``'s summary judges a classic problem (an accuracy under 1 on its
own cases gets the "has not learned" note). The rate with the most successes is picked, the
smaller one on a tie. The preset's own optimizer keeps its rate; it is measured alongside, at
that rate, for comparison. A pick at the edge of its candidates (symmetry's) may have a better
rate beyond them.

Runs in one process, one run after another (full-batch sweeps of a few cases: no threads)::

    python benchmarks/preset_rates.py                       # every classic preset
    python benchmarks/preset_rates.py --data xor,parity     # some of them
    python benchmarks/preset_rates.py --seeds 5             # seeds 0-4 (a quicker look)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # tiny matrices: threads only cost
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from chainrule.optim.optimizers import names  # noqa: E402
from chainrule.train import Trainer, evaluate, runs  # noqa: E402

#: The candidate rates of the adaptive optimizers (rmsprop, adam, adamw): their steps are
#: about lr per weight, whatever the gradient's size.
ADAPTIVE = (0.003, 0.01, 0.03, 0.1, 0.3)
#: Plain SGD's candidates, as multiples of the preset's momentum rate: momentum 0.9 steps about
#: lr / (1 - 0.9) = 10 lr once its velocity has built up.
SGD_FACTORS = (2, 5, 10, 20, 50)
#: The classic presets: each is judged on its own cases (all of them learned, or not).
DATASETS = ("xor", "parity", "symmetry", "encoder")


def learns(data: str, optimizer: str, lr: float, seed: int) -> bool:
    """Whether ``chainrule train --data DATA --optimizer OPTIMIZER --lr LR --seed SEED``
    learns all the problem's cases (trained as the CLI trains it, without its files)."""
    config = runs.resolve_config({"data": data, "optimizer": optimizer, "lr": lr, "seed": seed})
    prepared = runs.load_data(config)
    model, loss, opt, schedule = runs.build(config, prepared.train)
    trainer = Trainer(model, loss, opt, batch_size=config.batch_size, seed=config.seed,
                      schedule=schedule, progress=False)  # fmt: skip
    trainer.fit(prepared.train, prepared.val, epochs=config.epochs)
    assert prepared.evaluated_on == "train", f"{data} is not judged on its own cases"
    return evaluate(trainer.model, trainer.loss, prepared.test)["accuracy"] == 1


def measure(data: str, seeds: int) -> dict[str, dict[float, int]]:
    """Successes out of ``seeds`` per optimizer and candidate rate (the preset's own optimizer
    at its own rate)."""
    preset = runs.PRESETS[data]
    table: dict[str, dict[float, int]] = {}
    for optimizer in names():
        if optimizer == preset["optimizer"]:
            rates: tuple[float, ...] = (preset["lr"],)
        elif optimizer == "sgd":
            rates = tuple(round(factor * preset["lr"], 6) for factor in SGD_FACTORS)
        else:
            rates = ADAPTIVE
        table[optimizer] = {}
        for lr in rates:
            start = time.perf_counter()
            wins = sum(learns(data, optimizer, lr, seed) for seed in range(seeds))
            table[optimizer][lr] = wins
            took = time.perf_counter() - start
            print(f"  {data} {optimizer} lr {lr:g}: {wins}/{seeds} ({took:.0f} s)",
                  file=sys.stderr, flush=True)  # fmt: skip
    return table


def best(rates: dict[float, int]) -> float:
    """The rate with the most successes; the smaller on a tie."""
    return min(rates, key=lambda lr: (-rates[lr], lr))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=",".join(DATASETS), help="comma-separated presets")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    args = parser.parse_args()
    for data in args.data.split(","):
        table = measure(data, args.seeds)
        print(f"{data} (successes of {args.seeds} seeds, {runs.PRESETS[data]['epochs']} epochs):")
        for optimizer, rates in table.items():
            cells = ", ".join(f"{lr:g}: {wins}" for lr, wins in rates.items())
            print(f"  {optimizer:8} {cells}  -> {best(rates):g}")
        print(flush=True)


if __name__ == "__main__":
    main()
