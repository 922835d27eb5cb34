"""The small problems backpropagation was first shown on: XOR, parity(4), the 8-3-8 encoder.

Each is learnt by a network of logistic units with full-batch sweeps, squared error
E = 1/2 sum (t - y)^2 and momentum as in Rumelhart, Hinton & Williams (1986), eq. 9. A problem
counts as learnt when every output of every case is on the right side of 0.5.

    python examples/classics.py [--seeds 5]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim

#: problem -> (dataset, hidden units, lr, momentum, init range, sweep cap)
PROBLEMS = {
    "xor": (lambda: data.xor(dtype=np.float64), 2, 0.25, 0.9, 0.5, 5_000),
    "parity-4": (lambda: data.parity(4, dtype=np.float64), 4, 0.5, 0.9, 1.0, 5_000),
    "encoder-8-3-8": (lambda: data.encoder(8, dtype=np.float64), 3, 0.1, 0.9, 0.5, 5_000),
}


@dataclass
class Outcome:
    """Whether a problem was learnt, after how many sweeps, and the final outputs."""

    problem: str
    seed: int
    learnt: bool
    sweeps: int
    outputs: np.ndarray


def learn(problem: str, seed: int = 0) -> Outcome:
    """Train the problem's network from ``seed`` until every output is right or the cap."""
    make, hidden, lr, momentum, init_range, cap = PROBLEMS[problem]
    ds = make()
    sizes = [ds.n_features, hidden, ds.n_outputs]
    net = nn.mlp(sizes, output="logistic", dtype="float64", rng=seed, init_range=init_range)
    opt = optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    loss = nn.SquaredError()
    X, T, on = cr.Tensor(ds.X), cr.Tensor(ds.y), ds.y > 0.5
    for sweep in range(cap + 1):
        opt.zero_grad()
        y = net(X)
        if np.all((y.data > 0.5) == on):
            return Outcome(problem, seed, True, sweep, y.data.copy())
        loss(y, T).backward()
        opt.step()
    return Outcome(problem, seed, False, cap, y.data.copy())


def main(seeds: int = 5) -> dict[str, list[Outcome]]:
    """Learn each problem from several seeds and print how many learnt it and how fast."""
    results = {}
    for problem in PROBLEMS:
        outcomes = [learn(problem, seed) for seed in range(seeds)]
        results[problem] = outcomes
        learnt = [o.sweeps for o in outcomes if o.learnt]
        median = f"{np.median(learnt):.0f}" if learnt else "-"
        print(f"{problem:<14} learnt {len(learnt)} of {seeds} seeds; median sweeps {median}; "
              f"sweeps per seed {[o.sweeps if o.learnt else None for o in outcomes]}")  # fmt: skip
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    main(parser.parse_args().seeds)
