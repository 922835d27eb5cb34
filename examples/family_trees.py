"""Family trees, Rumelhart, Hinton & Williams (1986), Figs. 2-4.

Two isomorphic families of 12 people and 12 relations give 104 (person, relation) cases. The
network (``chainrule.train.family_trees.family_tree_net``): one-hot person (24) -> 6 logistic
units and one-hot relation (12) -> 6 logistic units side by side, then 12, 6 and 24 logistic
units. Each run holds 4 cases out and trains on the other 100 with full-batch sweeps; the 26
splits of the 104 cases hold every case out once.

Recipes (``chainrule.train.family_trees.RECIPES``):
- default: every weight and bias U(-2, 2); eps 0.005, alpha 0.5 for 20 sweeps, then eps 0.07,
  alpha 0.9; every weight shrunk by 0.2% after each change; 3000 sweeps; the margin error
  measured from the 0.8 / 0.2 edge.
- published: the paper as written: U(-0.3, 0.3), eps 0.01 after the same warm-up, 1500 sweeps,
  the error measured from the target (zero beyond 0.8 / 0.2). It stalls.

A held-out case is right by the top unit (the most active output is a right answer), by the
0.5 rule (every right answer above 0.5, every other output below) or strictly (above 0.8 /
below 0.2).

    python examples/family_trees.py [--recipe default|published|both] [--seeds 1] [--splits 26]
                                    [--figure fig4.png] [--json results.json]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from chainrule import data
from chainrule.files import atomic_write_json, file_path_problem
from chainrule.train import family_trees as ft
from chainrule.viz.weights import plot_person_units

SPLITS = 26  # the 104 cases in splits of 4: each held out once


def run_all(recipe: str, splits: int, seeds: int, verbose: bool = True) -> list[ft.Run]:
    """Train ``seeds`` networks on each of the first ``splits`` of the 26 splits of 4."""
    if not 1 <= splits <= SPLITS or seeds < 1:
        raise ValueError(f"need 1 <= splits <= {SPLITS} and seeds >= 1, not {splits} and {seeds}")
    folds = data.holdout_folds(data.family_trees(), k=4, seed=0)[:splits]
    runs = []
    start = time.perf_counter()
    for index, (_, test) in enumerate(folds):
        for seed in range(seeds):
            runs.append(ft.train_run(recipe, test=test.meta["indices"], seed=seed))
        if verbose:
            done = runs[-seeds:]
            print(f"  split {index:>2}: learned {sum(r.learned for r in done)}/{seeds}, held-out "
                  f"top {np.mean([r.test_correct('top').sum() for r in done]):.1f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    return runs


def summary(runs: list[ft.Run]) -> dict:
    """The headline numbers of a set of runs."""
    learned_at = [r.learned_at for r in runs if r.learned_at is not None]
    roles = [ft.unit_roles(ft.person_weights(r.net)) for r in runs]
    return {
        "runs": len(runs),
        "learned": sum(r.learned for r in runs),
        "median_sweeps_to_learn": float(np.median(learned_at)) if learned_at else None,
        "stalled": sum(r.stalled for r in runs),
        "max_train_output": float(max(r.train_outputs.max() for r in runs)),
        "train_strict": float(np.mean([r.train_correct("strict").sum() for r in runs])),
        "train_outputs_strict": float(np.mean([_strict_units(r) for r in runs])),
        **{f"test_{rule}": _mean_correct(runs, rule) for rule in ft.SCORES},
        "test_top_4_of_4": sum(int(r.test_correct("top").all()) for r in runs),
        **{f"units_{role}": sum(bool(x[role]) for x in roles) for role in roles[0]},
    }


def _mean_correct(runs: list[ft.Run], rule: str) -> float:
    return float(np.mean([r.test_correct(rule).sum() for r in runs]))


def _strict_units(r: ft.Run) -> float:
    """The share of training output units (24 per case) strictly beyond their 0.8 / 0.2 edge."""
    y, T = r.train_outputs, r.train_targets
    return float(np.mean(np.where(T > 0.5, y > 0.8, y < 0.2)))


def by_relation(runs: list[ft.Run]) -> dict[str, dict[str, float]]:
    """Each relation's held-out cases: how many, and the share right by top unit / 0.5 rule."""
    ds = data.family_trees()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in runs:
        top, half = r.test_correct("top"), r.test_correct("half")
        for k, i in enumerate(r.test_indices):
            tally = counts[ds.meta["cases"][i][1]]
            tally[0] += 1
            tally[1] += int(top[k])
            tally[2] += int(half[k])
    return {rel: {"held_out": n, "top": t / n, "half": h / n}
            for rel, (n, t, h) in sorted(counts.items(), key=lambda kv: data.RELATIONS.index(kv[0]))}  # fmt: skip  # noqa: E501


def wrong_answers(runs: list[ft.Run], relations=("husband", "wife")) -> Counter:
    """The top-unit answers to held-out cases of ``relations`` that were wrong."""
    ds = data.family_trees()
    wrong: Counter = Counter()
    for r in runs:
        top = r.test_correct("top")
        for k, i in enumerate(r.test_indices):
            person, relation = ds.meta["cases"][i]
            if relation in relations and not top[k]:
                said = data.PEOPLE[int(r.test_outputs[k].argmax())]
                wrong[f"{person}'s {relation} -> {said}"] += 1
    return wrong


def main(recipes=("default",), splits=26, seeds=1, figure=None, json_path=None) -> dict:
    """Train, print the tables, optionally write every number as JSON and then draw Fig. 4 (of
    the first recipe's first network that learned)."""
    results = {}
    for name in recipes:
        print(f"== {name}: {ft.RECIPES[name]}")
        runs = run_all(name, splits, seeds)
        s = summary(runs)
        print(f"{s['runs']} runs: {s['learned']} learn every training case by the 0.5 rule "
              f"(median {s['median_sweeps_to_learn']} sweeps); {s['stalled']} stall")  # fmt: skip
        print(f"held-out right of 4: top unit {s['test_top']:.2f}, 0.5 rule {s['test_half']:.2f}, "
              f"strict {s['test_strict']:.2f}; 4 of 4 by top unit in {s['test_top_4_of_4']} runs")  # fmt: skip  # noqa: E501
        print(f"training cases strictly right (of 100): {s['train_strict']:.1f}; output units "
              f"strictly beyond their edge: {s['train_outputs_strict']:.1%}")  # fmt: skip
        print(f"runs with a unit separating nationalities {s['units_nationality']}, "
              f"generations in order {s['units_generation']}, "
              f"oldest from youngest {s['units_oldest-youngest']}")  # fmt: skip
        relations = by_relation(runs)
        print("relation   held out  top unit  0.5 rule")
        for rel, row in relations.items():
            print(f"{rel:<10} {row['held_out']:>8}  {row['top']:>8.0%}  {row['half']:>8.0%}")
        wrong = wrong_answers(runs)
        common = "; ".join(f"{k} ({n})" for k, n in wrong.most_common(8))
        print("wrong husband/wife answers:", common)
        results[name] = {"summary": s, "by_relation": relations, "wrong_spouses": dict(wrong),
                         "runs": [{"test": r.test_indices, "seed": r.seed,
                                   "learned_at": r.learned_at, "loss": r.loss,
                                   "top": r.test_correct("top").tolist(),
                                   "half": r.test_correct("half").tolist(),
                                   "strict": r.test_correct("strict").tolist(),
                                   "roles": ft.unit_roles(ft.person_weights(r.net))}
                                  for r in runs]}  # fmt: skip
        if name == recipes[0]:
            best = next((r for r in runs if r.learned), runs[0])
            drawn = ft.person_weights(best.net), f"({name} recipe, seed {best.seed})"
    if json_path:  # first: a figure that fails to draw loses no numbers
        atomic_write_json(json_path, results)
    if figure:
        weights, which = drawn
        path = plot_person_units(weights, figure, title=f"person-encoding units {which}")
        print(f"Figure 4: {path}")
    return results


def file_to_write(suffix: str | None = None):
    """An argparse type: a file that can be written, checked before the minutes of training (a
    directory, a missing folder or, with ``suffix``, another suffix failed only at the end)."""

    def parse(text: str) -> str:
        problem = file_path_problem(text)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        folder = Path(text).parent
        if not folder.is_dir():
            raise argparse.ArgumentTypeError(f"no directory {str(folder)!r} to write it in")
        if suffix and Path(text).suffix.lower() != suffix:
            raise argparse.ArgumentTypeError(f"{text!r}: give a {suffix} file name")
        return text

    parse.__name__ = "file_to_write"
    return parse


def whole_number(minimum: int, maximum: int | None = None):
    """An argparse type: a whole number in [minimum, maximum], or argparse's one-line error."""

    def parse(text: str) -> int:
        value = int(text)  # not a whole number: argparse says "invalid whole_number value"
        if value < minimum or (maximum is not None and value > maximum):
            limits = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"must be a whole number {limits}, not {value}")
        return value

    parse.__name__ = "whole_number"
    return parse


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=[*ft.RECIPES, "both"], default="default")
    parser.add_argument(
        "--splits",
        type=whole_number(1, SPLITS),
        default=SPLITS,
        help=f"how many of the {SPLITS} splits of 4",
    )
    parser.add_argument("--seeds", type=whole_number(1), default=1, help="weight seeds per split")
    parser.add_argument(
        "--figure",
        type=file_to_write(".png"),
        help="write Fig. 4 (the person-encoding units) to this PNG",
    )
    parser.add_argument("--json", type=file_to_write(), help="write every number to this JSON file")
    args = parser.parse_args()
    chosen = tuple(ft.RECIPES) if args.recipe == "both" else (args.recipe,)
    main(chosen, args.splits, args.seeds, args.figure, args.json)
