"""Why dE/dy_i is a sum, shown with numbers: nudge y_i and watch every path.

Nudge y_i by eps. Each unit j above moves by dz_j = w_ij eps, and through it E moves by about
dE/dz_j w_ij eps: one prediction per path. The paths' predictions add up to the measured change in
E up to O(eps^2) (the error shrinks a hundredfold when eps shrinks tenfold); leave any one path out
and the total misses by O(eps), the size of that path's own share. Not across a kink: a relu unit
above that the nudge carries across z = 0 changes its slope, and the error is then O(eps) too. The
measurements here come from the independent float64 forward pass
(:mod:`chainrule.explainer.numeric`), the predictions from the engine's dE/dz_j.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.explainer import numeric

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Derivation

DEFAULT_EPS = (1e-1, 1e-2, 1e-3, 1e-4)
#: An error no larger than this is float64 rounding: it shows no law of how it shrinks.
ROUNDING_LEVEL = 1e-13


def perturbation_view(
    derivation: Derivation,
    layer: int,
    unit: int,
    case: int = 0,
    eps_values: Sequence[float] = DEFAULT_EPS,
) -> dict[str, Any]:
    """The perturbation table for unit ``unit`` (0-based) of layer ``layer`` (below the top).

    Returns JSON-able data: for each eps the measured change of E, each path's prediction
    w_ij eps dE/dz_j (and the change when only that z_j is moved), their sum, its error and
    error / eps^2 (None where that is undefined: see :func:`error_over_eps2`), and the error
    when each one term is dropped. ``kinks_crossed``: the relu units above that a nudge carries
    across their kink, z = 0 (each with its layer, 0-based unit, z before the nudge and the
    eps that carried it across), the engine's z against the float64 forward pass's with the
    nudge: there relu's slope jumps, the paths' predictions use the engine's slope, and the
    error of those rows is of order eps, not eps^2. ``shrinks_quadratically`` judges the rows
    that cross no kink (False where fewer than two do).
    """
    derivation._unit_record("perturbation_view", layer, unit, case, below_top=True)
    rerun = rerun_size(derivation, layer)
    arrays = numeric.arrays_of(derivation)
    t, loss = derivation.loss_targets, derivation.loss
    y = derivation.layers[layer].y
    # the float64 z above that ``base`` is E of: a path's move starts from it, not from the
    # engine's z (a float32 model's z differs from it by its rounding, and measured_alone
    # picked up E(z32) - E(z64), about 1e-8, at every eps)
    z_above = numeric.layers_from(arrays, loss, layer, y)[0][0]
    terms = derivation.terms(layer, unit, case)  # the paths' shares w_ij dE/dz_j

    def e_z(values: np.ndarray) -> float:
        return numeric.error_from_z(arrays, t, loss, layer + 1, values)

    base = numeric.error_from(arrays, t, loss, layer, y)
    # which side of a kink each unit is on for the engine, whose slopes the predictions use
    base_zs = [record.z[case] for record in derivation.layers[layer + 1 :]]
    crossed: dict[tuple[int, int], dict[str, Any]] = {}
    rows = []
    for eps in eps_values:
        nudged = y.copy()
        nudged[case, unit] += eps
        # the layers above rerun once: for E, and for the relu units the nudge carried across
        zs, ys = numeric.layers_from(arrays, loss, layer, nudged)
        for k, (before, after) in enumerate(zip(base_zs, zs)):
            above_k = layer + 1 + k
            if arrays[above_k - 1][2] != "relu":
                continue
            for u in np.nonzero((before > 0) != (after[case] > 0))[0]:
                entry = crossed.setdefault(
                    (above_k, int(u)),
                    {"layer": above_k, "unit": int(u), "z": float(before[u]), "eps": []},
                )
                entry["eps"].append(float(eps))
        measured = numeric.error(zs[-1], ys[-1], t, loss) - base
        paths = []
        for term in terms:
            moved = z_above.copy()
            moved[case, term.j] += term.w * eps
            paths.append(
                {
                    "j": term.j,
                    "w": term.w,
                    "dz": float(term.w * eps),
                    "dE_dz": term.dE_dz,
                    "predicted": float(term.product * eps),
                    "measured_alone": float(e_z(moved) - base),
                }
            )
        predicted = float(sum(p["predicted"] for p in paths))
        error = measured - predicted
        rows.append(
            {
                "eps": float(eps),
                "measured": float(measured),
                "paths": paths,
                "sum_predicted": predicted,
                "error": float(error),
                "error_over_eps2": error_over_eps2(error, eps),
                "drop_one": [
                    {
                        "j": p["j"],
                        "sum_without": predicted - p["predicted"],
                        "error": float(measured - (predicted - p["predicted"])),
                    }
                    for p in paths
                ],
            }
        )
    levels = roundings(float(base), rows, float(y[case, unit]), rerun)
    return {
        "layer": layer,
        "unit": unit,
        "case": case,
        "E": float(base),
        "rows": rows,
        "shrinks_quadratically": _shrinks_quadratically(rows, crossed.values(), levels),
        "kinks_crossed": [crossed[key] for key in sorted(crossed)],
    }


def rerun_size(derivation: Derivation, layer: int) -> float:
    """What E's rounding is relative to in the layers a nudge of a y of ``layer`` reruns: the
    size of E and of the sums above it (the derivation's ``rounded_size`` of that layer's
    dE/dy, the one its finite differences are checked with); 0 where it has none."""
    return float(derivation.rounded_size.get(("dE_dy", layer), 0.0))


def measured_rounding(
    base: float, measured: float, nudged: float, predicted: float, eps: float, rerun: float = 0.0
) -> float:
    """How much rounding alone can leave in a measured change of E, to first order
    (:func:`chainrule.gradcheck.difference_rounding`, gradcheck's rule, over a step of 1: the
    change itself, not a slope): each E subtracted is rounded relative to its size, or to that
    of the sums the nudge reruns where they are larger (``rerun``: :func:`rerun_size`, the
    size the finite-difference checks use: a z of terms of 1e16 that cancel rounds by far more
    than E's own last digit, and an E of 5.5e31 measured changes of 5 of its ulps), and
    y_i + eps to its own, which moves E by the slope (predicted / eps) times that. An E of 5e17
    leaves about 220 in every change: a nudge's change of 0.1 measured as 0 there is no
    evidence that the engine's gradient is wrong (it was called wrong)."""
    from chainrule.gradcheck import difference_rounding  # (the engine's module; on use)

    slope = abs(predicted / eps) if eps else 0.0
    size = max(abs(base), abs(base + measured), rerun) + abs(nudged) * slope
    return float(difference_rounding(size, 1.0))


def roundings(E: float, rows: list[dict[str, Any]], y: float, rerun: float = 0.0) -> list[float]:
    """:func:`measured_rounding` of each of a perturbation view's ``rows``, nudges of a unit
    whose y is ``y`` from an error ``E`` (``rerun``: :func:`rerun_size` of its layer)."""
    return [
        measured_rounding(E, r["measured"], y + r["eps"], r["sum_predicted"], r["eps"], rerun)
        for r in rows
    ]


def below_rounding(rows: list[dict[str, Any]], rounded: Sequence[float]) -> list[dict[str, Any]]:
    """The rows whose nudge is below E's rounding: their error is above
    :data:`ROUNDING_LEVEL` but within the rounding of their measurement (``rounded``, one per
    row: :func:`roundings`), so they show nothing of how the error shrinks."""
    return [r for r, level in zip(rows, rounded) if ROUNDING_LEVEL < abs(r["error"]) <= level]


def unresolved(rows: list[dict[str, Any]], rounded: Sequence[float]) -> bool:
    """Whether the table gives no verdict on the engine's gradient: fewer than two rows' errors
    are above the rounding of their measurement (``rounded``, one per row: :func:`roundings`;
    two are the least that show how an error shrinks) and some row's nudge is below E's
    rounding (:func:`below_rounding`): the nudges are too small against E's rounding to show
    anything (where every error is at :data:`ROUNDING_LEVEL` instead, E is simply that
    straight)."""
    resolved = sum(_resolved(r, level) for r, level in zip(rows, rounded))
    return resolved < 2 and bool(below_rounding(rows, rounded))


def _resolved(r: dict[str, Any], level: float = 0.0) -> bool:
    """Whether a row's error is above rounding: :data:`ROUNDING_LEVEL`, and ``level``, its own
    measurement's (:func:`measured_rounding`)."""
    return abs(r["error"]) > max(ROUNDING_LEVEL, level) and r["eps"] > 0


def error_fold(rows: list[dict[str, Any]], rounded: Sequence[float] | None = None) -> float | None:
    """How many times smaller the error gets, per tenfold smaller eps, over the table's rows
    (the median over successive rows; None with fewer than two errors above rounding level,
    and above their measurement's rounding, ``rounded``: :func:`roundings`): about 100 for an
    error of order eps^2, about 10 for one of order eps."""
    levels = [0.0] * len(rows) if rounded is None else rounded
    kept = [r for r, level in zip(rows, levels) if _resolved(r, level)]
    folds = []
    for first, second in zip(kept, kept[1:]):
        if first["eps"] == second["eps"]:
            continue
        order = math.log(abs(first["error"]) / abs(second["error"])) / math.log(
            first["eps"] / second["eps"]
        )
        folds.append(10.0**order)
    return float(np.median(folds)) if folds else None


def first_order_miss(
    rows: list[dict[str, Any]], rounded: Sequence[float] | None = None
) -> dict[str, float] | None:
    """Where the paths' sum misses the measured change of E by a steady share of eps, the error
    of order eps (error / eps about the same at the two smallest eps whose errors are above
    rounding level): the slope of E measured there (measured / eps), the slope the paths
    predict (their sum / eps: the engine's dE/dy_i) and the miss (predicted - measured).
    None otherwise. Such a miss is the predictions disagreeing with E's slope itself, as a
    wrong gradient (or, in a low-precision dtype, its rounding) leaves it, not an error of
    order eps^2 that a smaller eps removes. ``rounded``: each row's measurement's rounding
    (:func:`roundings`); a row whose error is within it shows nothing."""
    levels = [0.0] * len(rows) if rounded is None else rounded
    kept = [r for r, level in zip(rows, levels) if _resolved(r, level)]
    if len(kept) < 2:
        return None
    before, last = kept[-2], kept[-1]
    ratio = (last["error"] / last["eps"]) / (before["error"] / before["eps"])
    if before["eps"] == last["eps"] or not 2 / 3 <= ratio <= 3 / 2:
        return None
    measured = last["measured"] / last["eps"]
    predicted = last["sum_predicted"] / last["eps"]
    return {"eps": last["eps"], "measured_slope": measured, "predicted_slope": predicted,
            "miss": predicted - measured}  # fmt: skip


def central_dE_dy(
    derivation: Derivation, layer: int, unit: int, case: int = 0, eps: float = 1e-6
) -> float:
    """(E(y_i + eps) - E(y_i - eps)) / (2 eps): unit ``unit`` of ``layer`` nudged in ``case``,
    the layers above rerun by the independent float64 forward pass."""
    derivation._unit_record("central_dE_dy", layer, unit, case)
    arrays = numeric.arrays_of(derivation)

    def e_y(values: np.ndarray) -> float:
        return numeric.error_from(arrays, derivation.loss_targets, derivation.loss, layer, values)

    return numeric.central_difference(e_y, derivation.layers[layer].y, (case, unit), eps)


def error_over_eps2(error: float, eps: float) -> float | None:
    """error / eps^2, the second-order coefficient; None where it is undefined: eps = 0 (the
    page's slider at its midpoint), eps so small that eps^2 underflows to 0, or a ratio too
    large for a float."""
    eps2 = eps * eps
    if eps2 == 0.0:
        return None
    ratio = float(error) / eps2
    return ratio if math.isfinite(ratio) else None


def _shrinks_quadratically(
    rows: list[dict[str, Any]], crossed: Any = (), rounded: Sequence[float] | None = None
) -> bool:
    """Whether error / eps^2 stays bounded while eps shrinks (beyond rounding noise: above
    :data:`ROUNDING_LEVEL` and above each row's measurement's rounding, ``rounded``:
    :func:`roundings`, where given; a nudge below E's rounding shows nothing, and its error
    over eps^2 grew as if E were not smooth), over the rows whose nudge carries no relu unit
    across its kink (``crossed``: those units, each with the eps that carry it): a crossing
    row's error is of order eps, and a large eps's row crossing would otherwise set the bound
    for the rest."""
    kinked = {eps for kink in crossed for eps in kink["eps"]}
    levels = dict(zip(map(id, rows), [0.0] * len(rows) if rounded is None else rounded))
    clean = [r for r in rows if r["eps"] not in kinked]
    if kinked and len(clean) < 2:  # (nearly) every row crosses: its error is of order eps
        return False
    ratios = [
        abs(r["error_over_eps2"])
        for r in clean
        if abs(r["error"]) > max(ROUNDING_LEVEL, levels[id(r)]) and r["error_over_eps2"] is not None
    ]
    if len(ratios) < 2:
        return True  # the errors are at rounding level: nothing left to shrink
    return max(ratios) <= 10 * max(ratios[0], 1e-12)
