"""The classic results of backpropagation, reproduced with chainrule (examples/ hold the scripts).

Quick versions run by default; the full runs (20 symmetry seeds, family trees over splits) are
marked slow. Their observed output is in docs/reproductions.md.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.family_trees import ENGLISH
from chainrule.errors import UserError
from chainrule.train import family_trees as ft

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str) -> subprocess.CompletedProcess:
    """Run examples/<name>.py as a script with this checkout's chainrule."""
    src = str(Path(cr.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}  # fmt: skip  # noqa: E501
    return subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def assert_refused(done: subprocess.CompletedProcess, message: str) -> None:
    """argparse's refusal: exit status 2, usage and one error line, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stdout == ""
    error = done.stderr.strip().splitlines()[-1]
    assert error.endswith(message), done.stderr


def load_example(name: str):
    """Import examples/<name>.py as a module (examples/ is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def classics():
    return load_example("classics")


@pytest.fixture(scope="module")
def symmetry():
    return load_example("symmetry")


@pytest.fixture(scope="module")
def family_trees():
    return load_example("family_trees")


# -- XOR, parity, the encoder --------------------------------------------------------------------
def test_xor_is_learnt_from_every_seed(classics):
    outcomes = [classics.learn("xor", seed) for seed in range(5)]
    assert all(o.learnt for o in outcomes), [o.sweeps for o in outcomes]
    assert np.all((outcomes[0].outputs > 0.5).ravel() == [False, True, True, False])


def test_parity_4_is_learnt_from_most_seeds(classics):
    outcomes = [classics.learn("parity-4", seed) for seed in range(5)]
    assert sum(o.learnt for o in outcomes) >= 3, [o.sweeps for o in outcomes]


def test_encoder_8_3_8_is_learnt_from_every_seed(classics):
    outcomes = [classics.learn("encoder-8-3-8", seed) for seed in range(5)]
    assert all(o.learnt for o in outcomes), [o.sweeps for o in outcomes]
    learnt = outcomes[0].outputs
    np.testing.assert_array_equal(learnt.argmax(axis=1), np.arange(8))  # through 3 units


# -- symmetry -------------------------------------------------------------------------------------
def test_weight_pattern_measures_the_papers_solution(symmetry):
    """A hand-made net with RHW's weights scores perfectly; a perturbed one does not."""
    net = cr.nn.mlp([6, 2, 1], output="logistic", dtype="float64", rng=0)
    w = np.array([-3.6, 7.2, -14.4, 14.4, -7.2, 3.6])
    net[0].weight.data[...] = np.column_stack([w, -w])
    (p, q) = symmetry.weight_pattern(net)
    assert p.antisymmetry == 0.0 and q.antisymmetry == 0.0
    np.testing.assert_allclose(p.ratios, [1.0, 2.0, 4.0])
    assert p.follows_paper() and p.octaves_from_1_2_4 < 1e-12
    net[0].weight.data[0, 0] = 1.0  # the first mirror pair no longer cancels
    net[0].weight.data[2, 0] = -7.2  # and two pairs now have equal weights
    p = symmetry.weight_pattern(net)[0]
    assert p.antisymmetry > 0.1 and not p.follows_paper()


def test_symmetry_one_seed_solves_with_the_papers_pattern(symmetry):
    run = symmetry.train(seed=6, max_sweeps=3000)
    assert run.solved and run.sweeps < 3000
    for pattern in symmetry.weight_pattern(run.net):
        assert pattern.follows_paper(), (pattern.weights, pattern.ratios)


def test_symmetry_with_no_sweeps_reports_the_starting_error(symmetry):
    """--max-sweeps 0 checks the starting weights and reports their E, without a weight change."""
    run = symmetry.train(seed=3, max_sweeps=0)
    assert not run.solved and run.sweeps == 0
    ds = cr.data.symmetry(6, dtype="float64")
    start = cr.nn.mlp([6, 2, 1], output="logistic", dtype="float64", rng=3)
    E = cr.nn.SquaredError()(start(cr.Tensor(ds.X)), cr.Tensor(ds.y)).item()
    assert run.error == pytest.approx(E, rel=1e-12)


def test_symmetry_unsolved_run_reports_the_error_of_its_final_weights(symmetry):
    run = symmetry.train(seed=3, max_sweeps=5)
    ds = cr.data.symmetry(6, dtype="float64")
    E = cr.nn.SquaredError()(run.net(cr.Tensor(ds.X)), cr.Tensor(ds.y)).item()
    assert not run.solved and run.error == pytest.approx(E, rel=1e-12)


def test_symmetry_script_runs_with_no_sweeps():
    done = run_example("symmetry", "--seeds", "1", "--max-sweeps", "0")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "solved: 0 of 1 seeds" in done.stdout and "us per sweep" not in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "0"], "argument --seeds: must be a whole number >= 1, not 0"),
        (["--max-sweeps", "-1"], "argument --max-sweeps: must be a whole number >= 0, not -1"),
        (["--seeds", "two"], "argument --seeds: invalid whole_number value: 'two'"),
    ],
)
def test_symmetry_script_refuses_counts_below_the_minimum(args, message):
    assert_refused(run_example("symmetry", *args), message)


@pytest.mark.slow
def test_symmetry_twenty_seeds(symmetry):
    runs = symmetry.main(seeds=20, max_sweeps=20_000)
    solved = [run for run in runs if run.solved]
    assert len(solved) >= 15
    units = [p for run in solved for p in symmetry.weight_pattern(run.net)]
    assert all(p.antisymmetry < 0.05 for p in units)
    assert sum(p.follows_paper() for p in units) >= len(units) // 2


# -- family trees ---------------------------------------------------------------------------------
def test_family_tree_net_keeps_person_and_relation_encoders_apart():
    net = ft.family_tree_net(rng=0)
    assert [tuple(p.shape) for p in net.parameters()][::2] == [
        (24, 6), (12, 6), (12, 12), (12, 6), (6, 24)
    ]  # fmt: skip
    # every weight and bias is drawn from U(-2, 2)
    values = np.concatenate([p.numpy().ravel() for p in net.parameters()])
    assert values.min() >= -2 and values.max() <= 2 and values.max() - values.min() > 3.5
    ds = cr.data.family_trees(dtype=np.float64)
    x = ds.X[:1]
    net(x).sum().backward()
    # a case touches only its own person's and relation's input weights
    person, relation = np.flatnonzero(x[0, :24]), np.flatnonzero(x[0, 24:])
    person_rows = np.flatnonzero(np.abs(ft.person_weights(net)).sum(axis=1))
    assert len(person_rows) == 24
    grad_person = np.flatnonzero(np.abs(net[0][0][0].weight.grad.numpy()).sum(axis=1))
    grad_relation = np.flatnonzero(np.abs(net[0][1][0].weight.grad.numpy()).sum(axis=1))
    np.testing.assert_array_equal(grad_person, person)
    np.testing.assert_array_equal(grad_relation, relation)


def test_family_trees_scores_count_cases():
    T = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    y = np.array([[0.9, 0.1, 0.1], [0.6, 0.55, 0.7], [0.7, 0.3, 0.1]])
    np.testing.assert_array_equal(ft.correct_strict(y, T), [True, False, False])
    np.testing.assert_array_equal(ft.correct_half(y, T), [True, False, True])
    np.testing.assert_array_equal(ft.correct_top(y, T), [True, True, True])


def test_unit_roles_find_nationality_and_generation_units():
    english = np.array([p in ENGLISH for p in cr.data.PEOPLE])
    tree = cr.data.FamilyTree()
    generation = np.array([tree.generation(p) for p in cr.data.PEOPLE], dtype=float)
    rng = np.random.default_rng(0)
    weights = np.stack(
        [
            np.where(english, 1.0, -1.0) + 0.1 * rng.random(24),  # nationality
            -generation + 0.1 * rng.random(24),  # generation, decreasing
            np.where(generation == 2, 5.0, generation),  # 1 and 3 apart, 2 not in order
            np.arange(24.0) % 2,  # neither
        ],
        axis=1,
    )
    roles = ft.unit_roles(weights)
    assert roles == {"nationality": [0], "generation": [1], "oldest-youngest": [1, 2]}
    with pytest.raises(UserError, match="shape"):
        ft.unit_roles(weights[:12])


def test_published_recipe_stalls_with_every_output_below_one_half():
    short = ft.RECIPES["published"].replace(sweeps=300)
    for split in range(3):
        run = ft.train_run(short, test=split, seed=split)
        assert run.stalled, run.train_outputs.max()
        assert run.train_correct("half").sum() == 0  # each case's right answer is missed
        # every output has settled near 0.2, whatever the case
        assert np.all(np.abs(run.train_outputs - 0.2) < 0.05), run.train_outputs.max()


def test_unknown_recipe_and_held_out_cases_are_named():
    with pytest.raises(UserError, match="unknown recipe 'paper'"):
        ft.train_run("paper")
    with pytest.raises(UserError, match="held-out cases must be in 0..103"):
        ft.train_run(ft.RECIPES["published"].replace(sweeps=1), test=[5, 104])


def test_family_trees_example_prints_tables_and_draws_figure_4(family_trees, tmp_path, capsys):
    results = family_trees.main(
        ("published",), splits=1, seeds=1, figure=tmp_path / "fig4.png",
        json_path=tmp_path / "results.json",
    )  # fmt: skip
    summary = results["published"]["summary"]
    assert summary["runs"] == 1 and summary["stalled"] == 1 and summary["learned"] == 0
    assert (tmp_path / "fig4.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "results.json").read_text())["published"]["summary"] == summary
    assert "held-out right of 4" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--splits", "0"], "argument --splits: must be a whole number from 1 to 26, not 0"),
        (["--splits", "27"], "argument --splits: must be a whole number from 1 to 26, not 27"),
        (["--seeds", "0"], "argument --seeds: must be a whole number >= 1, not 0"),
        (["--splits", "27", "--seeds", "0"], "must be a whole number from 1 to 26, not 27"),
    ],
)
def test_family_trees_script_refuses_splits_and_seeds_out_of_range(args, message):
    assert_refused(run_example("family_trees", *args), message)


def test_family_trees_run_all_refuses_splits_and_seeds_out_of_range(family_trees):
    for splits, seeds in [(0, 1), (27, 1), (1, 0)]:
        with pytest.raises(ValueError, match="need 1 <= splits <= 26 and seeds >= 1"):
            family_trees.run_all("published", splits, seeds)


@pytest.mark.slow
def test_family_trees_default_recipe_learns_and_generalises():
    """5 splits (the paper's 4 random cases held out, ``data.holdout_cases`` seeds 0-4) x 2
    seeds: at least 8 of 10 runs learn every training case (0.5 rule); held out, at least 2.5
    of 4 right on average by the top unit and 2.0 by the 0.5 rule."""
    runs = [ft.train_run("default", test=split, seed=seed) for split in range(5) for seed in (0, 1)]
    summary = [(r.learned_at, r.test_correct("top").sum(), r.test_correct("half").sum())
               for r in runs]  # fmt: skip
    assert sum(r.learned for r in runs) >= 8, summary
    assert np.mean([r.test_correct("top").sum() for r in runs]) >= 2.5, summary
    assert np.mean([r.test_correct("half").sum() for r in runs]) >= 2.0, summary


@pytest.mark.slow
def test_family_trees_published_recipe_stalls_for_all_its_sweeps():
    runs = [ft.train_run("published", test=split, seed=0) for split in range(3)]
    assert all(r.stalled for r in runs), [r.train_outputs.max() for r in runs]


# -- digits ---------------------------------------------------------------------------------------
def test_digits_reach_97_percent_on_held_out_images():
    digits = load_example("digits")
    scores = digits.run(seed=0, verbose=False)
    assert scores["test"] >= 0.97, scores
