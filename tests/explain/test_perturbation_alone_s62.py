"""A path's measured_alone in the perturbation table is the change of E when only its z_j moves,
E recomputed in float64 from the same z that the table's E is of (a float32 model's was shifted
by E(z32) - E(z64), about 1e-8, at every eps: QA s62)."""

import numpy as np

import chainrule as cr
from chainrule import nn


def _squared_error_of_logistic(z: np.ndarray, t: np.ndarray) -> float:
    return 0.5 * float(((t - 1.0 / (1.0 + np.exp(-z))) ** 2).sum())


def test_measured_alone_is_the_float64_change_of_E_with_only_z_j_moved_float32_model():
    x = np.random.default_rng(1).normal(size=(3, 3))
    t = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    model = nn.mlp([3, 3, 2], "logistic", "logistic", dtype="float32", rng=10)
    d = cr.explain(model, x, t, symbolic=False, views=False, paths=False)
    p = d.perturbation
    layer, case = p["layer"], p["case"]
    conn = d.connections[layer]
    # float64 z of the layer above from the engine's y below, as the table's measured uses
    z = d.layers[layer].y @ conn.weight + conn.bias
    base = _squared_error_of_logistic(z, t)
    assert np.isclose(p["E"], base, rtol=1e-12, atol=0.0)
    compared = 0
    for row in p["rows"]:
        for path in row["paths"]:
            moved = z.copy()
            moved[case, path["j"]] += path["dz"]
            expected = _squared_error_of_logistic(moved, t) - base
            # float64 rounding of E (about 1e-16) over changes of 1e-7 and more
            assert abs(path["measured_alone"] - expected) <= 1e-12 + 1e-8 * abs(expected), (
                row["eps"], path["j"], path["measured_alone"], expected)  # fmt: skip
            compared += 1
    assert compared >= 4
