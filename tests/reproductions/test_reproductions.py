"""The classic results of backpropagation, reproduced with chainrule (examples/ hold the scripts).

Quick versions run by default; the full runs (20 symmetry seeds, family trees over splits) are
marked slow. Their observed output is in docs/reproductions.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


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


@pytest.mark.slow
def test_symmetry_twenty_seeds(symmetry):
    runs = symmetry.main(seeds=20, max_sweeps=20_000)
    solved = [run for run in runs if run.solved]
    assert len(solved) >= 15
    units = [p for run in solved for p in symmetry.weight_pattern(run.net)]
    assert all(p.antisymmetry < 0.05 for p in units)
    assert sum(p.follows_paper() for p in units) >= len(units) // 2


# -- family trees ---------------------------------------------------------------------------------
def test_family_tree_net_keeps_person_and_relation_encoders_apart(family_trees):
    net = family_trees.FamilyTreeNet(rng=0)
    shapes = {name: tuple(p.shape) for name, p in net.named_parameters()}
    assert shapes["person.weight"] == (24, 6) and shapes["relation.weight"] == (12, 6)
    assert shapes["central.weight"] == (12, 12) and shapes["output.weight"] == (6, 24)
    ds = cr.data.family_trees(dtype=np.float64)
    x = ds.X[:1]
    out = net(x)
    out.sum().backward()
    # a case touches only its own person's and relation's input weights
    person, relation = np.flatnonzero(x[0, :24]), np.flatnonzero(x[0, 24:])
    person_rows = np.flatnonzero(np.abs(net.person.weight.grad.data).sum(axis=1))
    relation_rows = np.flatnonzero(np.abs(net.relation.weight.grad.data).sum(axis=1))
    np.testing.assert_array_equal(person_rows, person)
    np.testing.assert_array_equal(relation_rows, relation)


def test_margin_error_is_zero_inside_the_margins(family_trees):
    T = np.array([[1.0, 0.0, 0.0]])
    inside = cr.Tensor(np.array([[0.85, 0.1, 0.19]]))
    assert family_trees.margin_squared_error(inside, T).item() == 0.0
    outside = cr.Tensor(np.array([[0.7, 0.3, 0.1]]), requires_grad=True)
    E = family_trees.margin_squared_error(outside, T)
    np.testing.assert_allclose(E.item(), 0.5 * (0.3**2 + 0.3**2))
    E.backward()
    np.testing.assert_allclose(outside.grad.data, [[-0.3, 0.3, 0.0]])


def test_family_trees_scores_count_cases(family_trees):
    T = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[0.9, 0.1], [0.6, 0.5]])
    np.testing.assert_array_equal(family_trees.correct_strict(y, T), [True, False])
    np.testing.assert_array_equal(family_trees.correct_top(y, T), [True, False])


@pytest.mark.slow
def test_family_trees_variant_generalises(family_trees):
    results = [family_trees.train(split, 0, **family_trees.CONFIGS["variant"]) for split in (0, 1)]
    assert all(r.train_top >= 95 for r in results), results
    assert np.mean([r.test_top for r in results]) >= 3.0, results


# -- digits ---------------------------------------------------------------------------------------
def test_digits_reach_97_percent_on_held_out_images():
    digits = load_example("digits")
    scores = digits.run(seed=0, verbose=False)
    assert scores["test"] >= 0.97, scores
