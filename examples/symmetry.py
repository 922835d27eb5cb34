"""Mirror symmetry, Rumelhart, Hinton & Williams (1986), Fig. 1.

A 6-2-1 network of logistic units learns whether a binary vector of length 6 reads the same
reversed. Full batch over all 64 vectors, squared error E = 1/2 sum (t - y)^2, eps = 0.1,
alpha = 0.9 (momentum as RHW's eq. 9), weights and biases from U(-0.3, 0.3). The paper needed
1,425 sweeps. A run counts as solved when every one of the 64 outputs is on the right side of
0.5.

The paper's solution: each hidden unit sees mirror-image inputs through weights that are equal
and opposite (so a symmetric vector gives both hidden units a net input of just their bias),
and the weights on one side of the middle are in the ratio about 1:2:4 (so no two asymmetric
vectors cancel). :func:`weight_pattern` measures both.

    python examples/symmetry.py [--seeds 20] [--max-sweeps 20000]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim


@dataclass
class Run:
    """One seed's training: whether and when it solved the problem, and the net it ended with."""

    seed: int
    solved: bool
    sweeps: int  # weight changes made before every output was on the right side of 0.5
    error: float  # E of the weights it ended with
    net: nn.Sequential


def train(seed: int, max_sweeps: int = 20_000, dtype: str = "float64") -> Run:
    """Train RHW's 6-2-1 net from ``seed`` until all 64 cases are right or ``max_sweeps``."""
    if max_sweeps < 0:
        raise ValueError(f"max_sweeps must be >= 0, not {max_sweeps}")
    ds = data.symmetry(6, dtype=dtype)
    X, T = cr.Tensor(ds.X), cr.Tensor(ds.y)
    symmetric = ds.y > 0.5
    net = nn.mlp([6, 2, 1], activation="logistic", output="logistic", dtype=dtype, rng=seed)
    loss = nn.SquaredError()  # summed over the 64 cases, as in the paper
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for sweep in range(max_sweeps + 1):
        opt.zero_grad()
        y = net(X)
        # the forward pass of this sweep shows the weights after `sweep` changes
        if np.all((y.data > 0.5) == symmetric):
            return Run(seed, True, sweep, float(loss(y, T).item()), net)
        if sweep == max_sweeps:
            break
        E = loss(y, T)
        E.backward()
        opt.step()
    # E of the weights it ended with (after max_sweeps changes; none when max_sweeps is 0)
    return Run(seed, False, max_sweeps, float(loss(net(X), T).item()), net)


@dataclass
class Pattern:
    """How closely one hidden unit's six input weights follow the paper's solution."""

    weights: np.ndarray  # w_1 .. w_6 into this hidden unit
    antisymmetry: float  # max_i |w_i + w_(7-i)| / max_i |w_i|: 0 when mirror weights cancel
    ratios: np.ndarray  # the three mirror pairs' magnitudes, sorted, over the smallest

    @property
    def octaves_from_1_2_4(self) -> float:
        """The largest distance, in powers of 2, of the ratios from 1:2:4 (0 = exactly)."""
        return float(np.max(np.abs(np.log2(self.ratios) - [0.0, 1.0, 2.0])))

    def follows_paper(self, antisymmetry: float = 0.05, octaves: float = 0.5) -> bool:
        """Mirror weights cancel to 5% and the ratios are within half an octave of 1:2:4."""
        return self.antisymmetry < antisymmetry and self.octaves_from_1_2_4 < octaves


def weight_pattern(net: nn.Sequential) -> list[Pattern]:
    """The paper's pattern measured on each hidden unit of a trained 6-2-1 net."""
    patterns = []
    W = np.asarray(net[0].weight.data, dtype=np.float64)  # (6 inputs, 2 hidden): w_ij
    for w in W.T:
        mirror_sums = w + w[::-1]
        antisymmetry = float(np.max(np.abs(mirror_sums)) / np.max(np.abs(w)))
        pairs = np.sort((np.abs(w[:3]) + np.abs(w[3:][::-1])) / 2.0)
        patterns.append(Pattern(w, antisymmetry, pairs / pairs[0]))
    return patterns


def main(seeds: int = 20, max_sweeps: int = 20_000) -> list[Run]:
    """Train every seed, print a table and the summary the paper invites."""
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, not {seeds}")
    print(f"symmetry 6-2-1, eps 0.1, alpha 0.9, U(-0.3, 0.3), cap {max_sweeps} sweeps")
    print(f"{'seed':>4} {'solved':>6} {'sweeps':>7} {'E':>8}   antisym   ratios (1:2:4?)")
    runs = []
    start = time.perf_counter()
    total_sweeps = 0
    for seed in range(seeds):
        run = train(seed, max_sweeps)
        runs.append(run)
        total_sweeps += run.sweeps
        text = f"{seed:>4} {'yes' if run.solved else 'no':>6} {run.sweeps:>7} {run.error:>8.4f}"
        if run.solved:
            for k, p in enumerate(weight_pattern(run.net)):
                ratios = ":".join(f"{r:.2f}" for r in p.ratios)
                lead = text if k == 0 else " " * len(text)
                mark = "paper" if p.follows_paper() else ""
                print(f"{lead}   {p.antisymmetry:7.3f}   {ratios:<16} {mark}")
        else:
            print(text)
    elapsed = time.perf_counter() - start
    solved = [run for run in runs if run.solved]
    print(f"\nsolved: {len(solved)} of {seeds} seeds")
    if solved:
        sweeps = [run.sweeps for run in solved]
        print(f"median sweeps of the solved runs: {np.median(sweeps):.0f} "
              f"(min {min(sweeps)}, max {max(sweeps)}); the paper: 1,425")  # fmt: skip
        units = [p for run in solved for p in weight_pattern(run.net)]
        follow = sum(p.follows_paper() for p in units)
        print(f"hidden units with mirror weights equal and opposite (to 5%) and ratios within "
              f"half an octave of 1:2:4: {follow} of {len(units)}")  # fmt: skip
        median_ratio = np.median([p.ratios for p in units], axis=0)
        print(f"median ratios: 1 : {median_ratio[1]:.2f} : {median_ratio[2]:.2f}")
    all_sweeps = [run.sweeps if run.solved else np.inf for run in runs]
    print(f"median sweeps over all {seeds} seeds (unsolved = never): {np.median(all_sweeps):.0f}")
    per_sweep = f", {1e6 * elapsed / total_sweeps:.0f} us per sweep" if total_sweeps else ""
    print(f"time: {elapsed:.1f} s{per_sweep}")
    return runs


def at_least(minimum: int):
    """An argparse type: a whole number >= ``minimum``, or argparse's one-line error."""

    def whole_number(text: str) -> int:
        value = int(text)  # not a whole number: argparse says "invalid whole_number value"
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, not {value}")
        return value

    return whole_number


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=at_least(1), default=20, help="seeds 0 .. SEEDS-1")
    parser.add_argument("--max-sweeps", type=at_least(0), default=20_000)
    args = parser.parse_args()
    main(args.seeds, args.max_sweeps)
