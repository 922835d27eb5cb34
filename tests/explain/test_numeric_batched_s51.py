"""The finite-difference check's moves run as batches (numeric.Forward.with_units, with_rows):
every number must be the one the check computed one move at a time.

The oracle is the one-move-per-call check written out here as it was before batching: for each
entry, E with the entry moved by +step and by -step, each its own forward pass from the moved
layer up (by the float64 helpers numeric.error, error_from_z and layers_from, which call the
library's units and loss once each), then (E+ - E-) / (2 step). The batched check must give the
same numbers to within a few ulps (in practice to the bit: each move's arithmetic is the same),
leave the same entries unchecked (relu kinks, a Parallel layer's missing weights, a sample) and
take the same steps. Behaviour is unchanged, so these tests pass before the batching too: they
pin that it changed nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
from explain_cases import parallel_case

from chainrule import nn
from chainrule.explainer import build, explain, numeric


def _one_unit(forward, layer, j, z_j):
    """E with unit j of ``layer`` at total inputs z_j: one forward pass (the old with_unit)."""
    z, act = forward.zs[layer], forward.arrays[layer - 1][2]
    args = (forward.arrays, forward.t, forward.loss)
    if layer == len(forward.arrays) or act == "softmax":
        changed = z.copy()
        changed[:, j] = z_j
        return numeric.error_from_z(*args, layer, changed)
    moved = numeric.activate(act, z_j) - forward.ys[layer][:, j]
    z_above = forward.zs[layer + 1] + moved[:, None] * forward.arrays[layer][0][j]
    return numeric.error_from_z(*args, layer + 1, z_above)


def _one_row(forward, layer, case, row, is_z):
    """E with case ``case`` of ``layer`` at y (or z) ``row``: one pass (the old with_row)."""
    y = row[None]
    reads_z = layer == len(forward.arrays) and forward.loss.output_activation is not None
    if is_z and not reads_z:
        y = numeric.activate(forward.arrays[layer - 1][2], y)
    zs, ys = numeric.layers_from(forward.arrays, forward.loss, layer, y)
    z, y = (zs[-1], ys[-1]) if zs else (y, y)
    z_out, y_out = forward.zs[-1].copy(), forward.ys[-1].copy()
    z_out[case], y_out[case] = z[0], y[0]
    return numeric.error(z_out, y_out, forward.t, forward.loss)


def _difference(e, step):
    return (e(step) - e(-step)) / (2 * step)


def _one_at_a_time(d, eps=1e-6):
    """Every entry's central difference, one move per forward pass: {(kind, k): array}."""
    steps = build.difference_steps(d.layers, d.connections, eps)
    forward = numeric.Forward(numeric.arrays_of(d), d.x, d.t, d.loss)
    out = {}
    for record in d.layers:
        k = record.index
        for values, is_z, kind in ((record.y, False, "dE_dy"), (record.z, True, "dE_dz")):
            if getattr(record, kind) is None:
                continue
            numbers = np.full(values.shape, np.nan)
            for case, unit in np.ndindex(values.shape):

                def e(step, k=k, case=case, unit=unit, values=values, is_z=is_z):
                    row = np.array(values[case], dtype=np.float64)
                    row[unit] += step
                    return _one_row(forward, k, case, row, is_z)

                numbers[case, unit] = _difference(e, steps[kind, k])
            out[kind, k] = numbers
    for k, conn in enumerate(d.connections):
        z_above, y_below = forward.zs[k + 1], forward.ys[k]
        w = np.full(conn.weight.shape, np.nan)
        for i, j in np.ndindex(w.shape):
            step = steps["dE_dw", k][i, 0]  # each weight row i takes its own step
            if conn.connected is None or conn.connected[i, j]:  # w_ij moves z_j by s y_i
                plus = _one_unit(forward, k + 1, j, z_above[:, j] + step * y_below[:, i])
                minus = _one_unit(forward, k + 1, j, z_above[:, j] + -step * y_below[:, i])
                w[i, j] = (plus - minus) / (2 * step)
        out["dE_dw", k] = w
        if conn.bias is not None:
            step = steps["dE_db", k]
            out["dE_db", k] = np.array([
                (_one_unit(forward, k + 1, j, z_above[:, j] + step)
                 - _one_unit(forward, k + 1, j, z_above[:, j] + -step)) / (2 * step)
                for j in range(conn.bias.size)
            ])  # fmt: skip
    return out


def _batched(d):
    """The explainer's own numbers and its kink masks: {(kind, k): (numeric, kink)}."""
    out = {}
    for record in d.layers:
        for kind in ("dE_dy", "dE_dz"):
            if getattr(record, kind) is not None:
                out[kind, record.index] = (
                    getattr(record, f"{kind}_numeric"),
                    getattr(record, f"{kind}_kink"),
                )
    for k, conn in enumerate(d.connections):
        out["dE_dw", k] = (conn.dE_dw_numeric, conn.dE_dw_kink)
        if conn.bias is not None:
            out["dE_db", k] = (conn.dE_db_numeric, conn.dE_db_kink)
    return out


def _drawn(d, limit):
    """The entries a sample of about ``limit`` checks, drawn as the explainer draws them: one
    generator (seed 0), one draw per entry, quantity by quantity in the check's order."""
    kinds = [
        (r, kind) for r in d.layers for kind in ("dE_dy", "dE_dz") if getattr(r, kind) is not None
    ]
    sizes = [(r.y if kind == "dE_dy" else r.z).size for r, kind in kinds]
    sizes += [c.n_weights + (0 if c.bias is None else c.bias.size) for c in d.connections]
    share = min(1.0, limit / sum(sizes))
    rng, taken = np.random.default_rng(0), {}
    for record, kind in kinds:
        shape = (record.y if kind == "dE_dy" else record.z).shape
        taken[kind, record.index] = rng.random(shape) <= share
    for k, conn in enumerate(d.connections):
        where = np.ones(conn.weight.shape, bool) if conn.connected is None else conn.connected
        taken["dE_dw", k] = where & (rng.random(conn.weight.shape) <= share)
        if conn.bias is not None:
            taken["dE_db", k] = rng.random(conn.bias.shape) <= share
    return taken


def _assert_same(d, limit=None):
    expected, checked = _one_at_a_time(d), _batched(d)
    drawn = _drawn(d, limit) if limit is not None else {}
    assert set(checked) == set(expected)
    for key, (numbers, kink) in checked.items():
        want = expected[key].copy()
        if key in drawn:
            want[~drawn[key]] = np.nan
        if kink is not None:
            want[kink] = np.nan
        assert np.array_equal(np.isnan(numbers), np.isnan(want)), key
        seen = ~np.isnan(want)
        np.testing.assert_array_max_ulp(numbers[seen], want[seen], maxulp=4)
    return checked


def _case(activation, loss, n_out, dtype="float64", cases=3, seed=1, bias=True, output=None):
    model = nn.mlp([4, 5, 3, n_out], activation=activation, output=output, dtype=dtype,
                   rng=seed, bias=bias)  # fmt: skip
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cases, 4))
    if loss == "cross-entropy":
        t = rng.integers(0, n_out, cases)
    else:
        t = (rng.random((cases, n_out)) > 0.5).astype(float)
    return explain(model, x, t, loss, perturbation=False, views=False, paths=False)


LOSSES = [
    ("squared-error", 2, "logistic"),
    ("mse", 2, None),
    ("cross-entropy", 3, None),
    ("binary-cross-entropy", 2, None),
    ("margin-squared-error", 2, "logistic"),
]


@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu"])
@pytest.mark.parametrize(("loss", "n_out", "output"), LOSSES)
def test_every_loss_and_unit_gives_the_one_move_at_a_time_numbers(activation, loss, n_out, output):
    _assert_same(_case(activation, loss, n_out, output=output))


def test_a_float32_model_one_case_and_no_biases():
    _assert_same(_case("tanh", "cross-entropy", 3, dtype="float32", cases=1))
    _assert_same(_case("logistic", "squared-error", 2, bias=False, output="logistic"))


def test_the_seed_network():
    _assert_same(explain())


def test_softmax_units_below_the_top_and_on_top():
    """Softmax units share their z: moving one moves every y of its layer (the other branch)."""
    model = nn.Sequential(
        nn.Linear(4, 5, rng=1, dtype="float64"), nn.Softmax(),
        nn.Linear(5, 3, rng=2, dtype="float64"), nn.Softmax(),
    )  # fmt: skip
    x = np.random.default_rng(2).standard_normal((2, 4))
    _assert_same(explain(model, x, np.eye(3)[[0, 2]], "squared-error", perturbation=False))


def test_a_parallel_layer_checks_no_missing_weight():
    d = explain(*parallel_case(), perturbation=False)
    checked = _assert_same(d)
    missing = ~d.connections[1].connected  # the weights between the blocks
    assert missing.any() and np.isnan(checked["dE_dw", 1][0][missing]).all()


def test_relu_units_at_their_kink_stay_unchecked():
    """A case of zero inputs and no biases puts every first-layer relu unit at z = 0."""
    model = nn.mlp([3, 4, 2], activation="relu", rng=0, dtype="float64", bias=False)
    x = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]])
    d = explain(model, x, [0, 1], "cross-entropy", perturbation=False)
    checked = _assert_same(d)
    numbers, kink = checked["dE_dz", 1]
    assert kink is not None and kink[0].all() and np.isnan(numbers[0]).all()
    assert any("kink" in note for note in d.check_notes)


def test_a_sample_checks_the_same_entries():
    model = nn.mlp([30, 20, 10, 5], activation="relu", rng=4, dtype="float64")
    x = np.random.default_rng(5).standard_normal((4, 30))
    d = explain(model, x, [0, 1, 2, 3], "cross-entropy", max_checks=300, perturbation=False)
    checked = _assert_same(d, limit=300)
    n_checked = sum(int((~np.isnan(numbers)).sum()) for numbers, _ in checked.values())
    assert 200 < n_checked < 400  # a sample, not every one of the 1,000 or so


def test_batches_split_into_parts_give_the_same_numbers(monkeypatch):
    """A batch bounded to a few numbers (many parts, one move each at the least) changes none."""
    monkeypatch.setattr(numeric, "BATCH_NUMBERS", 7)
    _assert_same(_case("tanh", "cross-entropy", 3, cases=2))
    _assert_same(_case("logistic", "squared-error", 2, output="logistic"))
