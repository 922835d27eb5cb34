"""dE/dw, the perturbation view, the sympy proof and the summary of the checks."""

from __future__ import annotations

import numpy as np

from chainrule.errors import counted
from chainrule.explainer.blocks import (
    Builder,
    Code,
    Equation,
    Heading,
    Para,
    Table,
    letter_of,
    unit_numbers,
)
from chainrule.explainer.notation import Math, Notation, join
from chainrule.explainer.perturbation import (
    ROUNDING_LEVEL,
    below_rounding,
    error_fold,
    first_order_miss,
    rerun_size,
    roundings,
    unresolved,
)
from chainrule.explainer.symbolic import (
    description,
    engine_rounding_bound,
    for_reading,
    general_names,
    spell,
)


def weights(b: Builder) -> None:
    d, n = b.d, b.n
    b.add(Heading("Gradients of the weights"))
    many = d.n_cases > 1
    for below in range(d.n_layers - 1, -1, -1):
        conn = d.connections[below]
        i, j = letter_of(b, below), letter_of(b, below + 1)
        y, dz = n.y(below, i), n.dE_dz(below + 1, j)
        rhs = (Math("Σ_c ", r"\sum_c ") if many else Math("", "")) + y + " " + dz
        named = f"Weights from layer {below} ({i}) to layer {below + 1} ({j}), '{conn.weight_name}'"
        rows = _shown_weights(b, below)
        if not rows and b.o.focused and d.focus:  # a unit these weights do not touch:
            # one line, not an empty table
            b.add(Para(_untouched(b, below, named)))
            continue
        b.add(Para([named + (" (summed over the cases):" if many else ":")]))
        b.add(Equation(n.dE_dw(below, i, None, j, None), [rhs]))
        for a, k in rows:
            products = [
                d.layers[below].y[c, a] * d.layers[below + 1].dE_dz[c, k] for c in range(d.n_cases)
            ]
            if many and d.n_cases <= b.o.max_cases:
                step = join([b.num(p) for p in products], " + ", " + ")
            else:
                yv, zv = d.layers[below].y[0, a], d.layers[below + 1].dE_dz[0, k]
                step = Math(
                    f"{b.num(yv).plain}·{b.num(zv).plain}",
                    rf"{b.num(yv).latex}\cdot{b.num(zv).latex}",
                )
                if many:
                    step = Math(
                        f"Σ over {d.n_cases} cases",
                        rf"\textstyle\sum \text{{ over {d.n_cases} cases}}",
                    )
            b.add(
                Equation(
                    n.dE_dw(below, i, a, j, k),
                    [step, b.result(conn.dE_dw[a, k])],
                    d.dE_dw(below, a, k),
                )
            )
        biases = _biases(b, below, j, sorted({k for _, k in rows}))
        left = [(conn.n_weights - len(rows), "weight", "weights")]
        if conn.bias is not None:
            left.append((conn.bias.size - biases, "bias", "biases"))
        left = [counted(n, f"more {one}", f"more {many}") for n, one, many in left if n]
        if left:
            b.add(Para([f"... {' and '.join(left)} (all are in ", *b.json_output(), ")."]))


def _untouched(b: Builder, below: int, named: str) -> list[str | Math]:
    """Why a connection's weights are not written out under a focus on one unit: none of them
    joins it (they are two or more layers away from it)."""
    d = b.d
    conn = d.connections[below]
    layer, unit = d.focus
    counts = [counted(conn.n_weights, "weight")]
    if conn.bias is not None:
        counts.append(counted(conn.bias.size, "bias", "biases"))
    return [
        f"{named}: none of its {' and '.join(counts)} touches the focused unit ",
        b.n.y(layer, letter_of(b, layer), unit),
        f" of layer {layer}, so they are left out (all are in ",
        *b.json_output(),
        ").",
    ]


def _biases(b: Builder, below: int, j: str, units: list[int]) -> int:
    """dE/db_j of the layer above ``below``, in general and with the numbers for ``units``
    (the units above whose weights are shown): the sum over cases of dE/dz_j. Returns how many
    biases were written out (none for a layer without biases)."""
    d, n = b.d, b.n
    conn = d.connections[below]
    if conn.bias is None:
        return 0
    many = d.n_cases > 1
    total = Math("Σ_c ", r"\sum_c ") if many else Math("", "")
    b.add(Equation(n.dE_db(below + 1, j), [total + n.dE_dz(below + 1, j)]))
    for k in units:
        steps = []
        if many and d.n_cases <= b.o.max_cases:
            steps.append(join([b.num(v) for v in d.layers[below + 1].dE_dz[:, k]], " + ", " + "))
        steps.append(b.result(conn.dE_db[k]))
        b.add(Equation(n.dE_db(below + 1, j, k), steps, d.dE_db(below, k)))
    return len(units)


def _shown_weights(b: Builder, below: int) -> list[tuple[int, int]]:
    d = b.d
    conn = d.connections[below]
    n_in = conn.weight.shape[0]
    if b.o.focused and d.focus:
        layer, unit = d.focus
        if layer == below:
            return [(unit, int(k)) for k in conn.targets(unit)[: b.o.max_units]]
        if layer == below + 1:
            return [(int(a), unit) for a in conn.sources(unit)[: b.o.max_units]]
        return []
    pairs = [(a, int(k)) for a in range(n_in) for k in conn.targets(a)]
    # about half of max_units^2 weights of a large layer, and at least one (--max-units 1
    # showed none: only the headers, then "132 more weights")
    return pairs[: max(1, b.o.max_units * b.o.max_units // 2) if len(pairs) > 18 else len(pairs)]


def sum_left_out(b: Builder) -> None:
    """Where the sections that explain the sum over j would stand, why they do not: the focus
    is an output unit, whose dE/dy (or dE/dz, for a loss that reads z) comes from the loss, in
    the write-up's notation."""
    d = b.d
    layer, unit = d.focus
    # the unit as E reads it: its z where the loss applies the output unit itself, which leaves
    # it no dE/dy (the paragraph says so; a heading naming its y named what it has no dE/d of)
    reads = b.n.y if d.layers[layer].dE_dy is not None else b.n.z
    b.add(
        Heading(
            f"Why a sum: not for an output unit ({reads(layer, letter_of(b, layer), unit).plain})"
        )
    )
    b.add(Para(d.sum_left_out_in(b.n)))


def perturbation(b: Builder) -> None:
    """Nudge y_i and follow every path, in the chosen notation and the letters of the focused
    layer (i) and the one above it (j)."""
    d, n = b.d, b.n
    p = d.perturbation
    layer, unit = p["layer"], p["unit"]
    i, j = letter_of(b, layer), letter_of(b, layer + 1)
    yi, E = n.y(layer, i, unit), n.E()
    # the weight from the nudged unit to unit j above, as the notation names it (w_1j, w_j1)
    w = n.w(layer, i, unit, j, None) + Math(" ε", r"\,\varepsilon")
    b.add(Heading(f"Why a sum: nudge {yi.plain} and follow every path"))
    b.add(
        Para(
            [
                "Nudge ",
                yi,
                f" by ε. Each unit {j} above moves by ",
                Math("Δ", r"\Delta ") + n.z(layer + 1, j) + " = " + w,
                " and through it ",
                E,
                " moves by about ",
                n.dE_dz(layer + 1, j) + Math(" · ", r" \cdot ") + w,
                ". ",
                *_verdict(b, yi),
                # of a batch, one case is nudged (its own share of E moves)
                f" The nudge is in case {p['case'] + 1} of {d.n_cases}." if d.n_cases > 1 else "",
            ]
        )
    )
    paths = p["rows"][0]["paths"]  # one per unit j the nudged unit feeds (a block's alone)
    n_paths = len(paths)
    shown = min(n_paths, b.o.max_units)  # --max-units: the other paths in one column
    units = [path["j"] + 1 for path in paths]
    headers = ["ε", f"measured Δ{E.plain}"] + [f"path {j}={units[k]}" for k in range(shown)]
    headers += [f"paths {j}={unit_numbers(units[shown:])}"] if shown < n_paths else []
    headers += ["sum of paths", "error: measured − predicted", "error/ε²"]
    # with one path there is nothing to drop (the text says so); "worst" ranks misses by size
    headers += ["worst error dropping one path"] if n_paths > 1 else []
    rows = []
    for row in p["rows"]:
        worst = max(row["drop_one"], key=lambda r: abs(r["error"]))
        predicted = [path["predicted"] for path in row["paths"]]
        if shown < n_paths:
            predicted = [*predicted[:shown], sum(predicted[shown:])]
        rows.append(
            [f"{row['eps']:g}", f"{row['measured'] + 0.0:.6e}"]
            + [f"{value + 0.0:.6e}" for value in predicted]
            + [
                f"{row['sum_predicted'] + 0.0:.6e}",
                f"{row['error']:.2e}",
                "-" if row["error_over_eps2"] is None else f"{row['error_over_eps2']:.4g}",
            ]
            + [f"{abs(worst['error']):.2e} (without {j}={worst['j'] + 1})"] * (n_paths > 1)
        )
    b.add(Table(headers, rows, caption="Perturbation view (measured with a float64 forward pass)"))


def _verdict(b: Builder, yi: Math) -> list[str | Math]:
    """What the perturbation table shows: no verdict where its nudges are below E's rounding
    (fewer than two rows' errors above the rounding of their measurement: nothing can show how
    the error shrinks, and that is not E failing to be smooth); else the error of order eps^2
    (with the rows across a kink, and those below E's rounding, said), or why it is not."""
    rounded = _roundings(b)
    if unresolved(b.d.perturbation["rows"], rounded):
        return _below_rounding(b, rounded)
    if b.d.perturbation["shrinks_quadratically"]:
        return [*_quadratic(b), *_rows_across_kinks(b, yi), *_rows_below_rounding(b, rounded)]
    return [*_not_quadratic(b, yi, rounded), *_rows_below_rounding(b, rounded)]


def _roundings(b: Builder) -> list[float]:
    """The rounding of each row's measured change in E (:func:`roundings`), relative to E and
    to the sums the nudge reruns (:func:`rerun_size`)."""
    d, p = b.d, b.d.perturbation
    y = float(d.layers[p["layer"]].y[p["case"], p["unit"]])
    return roundings(p["E"], p["rows"], y, rerun_size(d, p["layer"]))


def _below_rounding(b: Builder, rounded: list[float]) -> list[str | Math]:
    """No verdict: the nudges are below E's rounding, at every eps or all but one."""
    p, E = b.d.perturbation, b.n.E()
    hidden = below_rounding(p["rows"], rounded)
    every = len(hidden) == len(p["rows"])
    at = "every ε" if every else f"ε = {_eps_list(hidden)}"
    return [
        "No verdict: the nudge is below ",
        E,
        "'s rounding. ",
        E,
        f" is too large for this nudge to show (its rounding, and that of the sums it is "
        f"computed from, leaves up to {max(rounded):.2g} in a measured change, more than the "
        f"error at {at}), so the table cannot show how the error shrinks and says nothing "
        "about the engine's gradient, nor about whether ",
        E,
        " is smooth; the finite-difference checks below say what can be told.",
    ]


def _rows_below_rounding(b: Builder, rounded: list[float]) -> list[str | Math]:
    """Where some rows' nudges are below E's rounding (and the others show the error's law):
    which, and that they show nothing."""
    hidden = below_rounding(b.d.perturbation["rows"], rounded)
    if not hidden:
        return []
    many = len(hidden) > 1
    return [
        f" At ε = {_eps_list(hidden)} the nudge is below ",
        b.n.E(),
        f"'s rounding (up to {max(rounded):.2g} in a measured change): "
        f"{'those rows show' if many else 'that row shows'} nothing.",
    ]


def _eps_list(rows: list[dict]) -> str:
    """'0.01, 0.001 and 0.0001': the rows' eps."""
    eps = [f"{row['eps']:g}" for row in rows]
    return eps[0] if len(eps) == 1 else ", ".join(eps[:-1]) + " and " + eps[-1]


def _paths(b: Builder) -> int:
    """How many paths the perturbation follows: one per unit above that the nudged unit feeds."""
    return len(b.d.perturbation["rows"][0]["paths"])


def _predictions(b: Builder) -> tuple[str, str, str]:
    """The perturbation's predictions as a sentence's subject, with its verbs for agreeing and
    for not agreeing with the measured change in E: one path's alone adds nothing up."""
    if _paths(b) == 1:
        return "The one path's prediction", "matches", "does not match"
    return "The paths' predictions", "add up to", "do not add up to"


def _quadratic(b: Builder) -> list[str | Math]:
    """The predictions agree with the measured change in E to order eps^2, and what leaving a
    path out misses, from the paths' own shares: nothing to leave out of one path, and nothing
    missed without a path whose share is 0 (a relu unit above that is off, a zero weight)."""
    p, n = b.d.perturbation, b.n
    layer, unit = p["layer"], p["unit"]
    subject, agrees, _ = _predictions(b)
    largest = max(abs(row["error"]) for row in p["rows"])
    parts: list[str | Math] = [f"{subject} {agrees} the measured change in ", n.E(), *_law(largest)]
    paths = p["rows"][0]["paths"]
    i, j = letter_of(b, layer), letter_of(b, layer + 1)
    empty = [path for path in paths if path["predicted"] == 0.0]
    one = len(paths) == 1
    if not empty:
        if one:
            return [*parts, "; with one path there is nothing to leave out."]
        return [*parts, "; leave any one path out and the miss is of order ε."]
    why: list[str | Math] = []
    for k, path in enumerate(empty):
        why += [", "] if k else []
        weight = n.w(layer, i, unit, j, path["j"])
        why.append((n.dE_dz(layer + 1, j, path["j"]) if path["dE_dz"] == 0 else weight) + " = 0")
    zero = "The one path's prediction is 0 (" if one else "Every path's prediction is 0 ("
    left_out = (
        "with one path there is nothing to leave out"
        if one
        else "leaving a path out misses nothing"
    )
    if len(empty) == len(paths) and largest == 0.0:  # nothing moves E: no error to shrink
        return [
            zero,
            *why,
            "), and ",
            n.E(),
            " does not change at all: the measured change is exactly 0 at every ε, so the error "
            f"is 0 too, with nothing to shrink, and {left_out}.",
        ]
    if len(empty) == len(paths):  # E moves, but not to first order: all of it is the error
        return [zero, *why, "), so to first order ", n.E(), " does not move: ",
                *_second_order(largest), f"; {left_out}."]  # fmt: skip
    units = unit_numbers([path["j"] + 1 for path in paths if path["predicted"] != 0.0])
    many = len(empty) > 1
    return [
        *parts,
        f"; leave out a path with a share ({j}={units}) and the miss is of order ε, while "
        f"{'the paths' if many else 'the path'} through "
        f"{j}={unit_numbers([path['j'] + 1 for path in empty])} "
        f"{'carry' if many else 'carries'} 0 (",
        *why,
        f"): leaving {'one of them' if many else 'it'} out misses nothing.",
    ]


def _second_order(largest: float) -> list[str]:
    """What the measured change in E is where every path predicts 0: all of it is the error,
    of order eps^2, or at rounding level, from the largest over the table's rows (as
    :func:`_law` reads it; an error of exactly 0 is said where E does not change at all)."""
    if largest <= ROUNDING_LEVEL:
        return [
            f"the measured change is at most {largest:.1g} at every ε, rounding, too small to "
            "show how it shrinks"
        ]
    return [
        "the whole measured change is the error, of order ε² (second order: divide ε by 10 and "
        "it falls about 100-fold)"
    ]


def _law(largest: float) -> list[str]:
    """How the predictions' error behaves, from the largest over the table's rows: of order
    eps^2, or, where it is 0 or at rounding level at every eps, that it has nothing to show."""
    if largest == 0.0:
        return [" exactly: the error is 0 at every ε, with nothing to shrink"]
    if largest <= ROUNDING_LEVEL:
        return [
            f" to rounding: the error is at most {largest:.1g} at every ε, too small to show "
            "how it shrinks"
        ]
    return [", with an error of order ε² (divide ε by 10 and the error falls about 100-fold)"]


def _how_far(b: Builder, rounded: list[float] | None = None) -> list[str | Math]:
    """Whether the predictions add up to the measured change in E at the smallest eps whose
    nudge is not below E's rounding (``rounded``: :func:`_roundings`), from the numbers: close
    (within a tenth of it), or not, with both numbers (across a kink the sum can have the
    other sign)."""
    rows = b.d.perturbation["rows"]
    hidden = [id(row) for row in below_rounding(rows, rounded or [0.0] * len(rows))]
    row = [row for row in rows if id(row) not in hidden][-1]
    subject, agrees, disagrees = _predictions(b)
    measured, total = row["measured"], row["sum_predicted"]
    if measured != 0 and abs(row["error"]) <= 0.1 * abs(measured):
        share = abs(row["error"] / measured)
        return [
            f"{subject} {agrees} the measured change in ",
            b.n.E(),
            f" only roughly (at ε = {row['eps']:g} the miss is {share:.2g} of it)",
        ]
    other_sign = measured * total < 0
    predicted = "the predictions add up to" if _paths(b) > 1 else "the prediction is"
    return [
        f"{subject} {disagrees} the measured change in ",
        b.n.E(),
        f": at ε = {row['eps']:g}, ",
        b.n.E(),
        f" changes by {measured:.3g} and {predicted} {total:.3g}"
        + (", of the opposite sign" if other_sign else ""),
    ]


def _not_quadratic(b: Builder, yi: Math, rounded: list[float]) -> list[str | Math]:
    """What the perturbation table shows when its error is not of order eps^2, and why: a relu
    unit above that the nudge carries across its kink (the predictions use the engine's slope
    on the other side); else a miss of order eps at every eps, the predictions disagreeing with
    E's measured slope (a wrong gradient, or within the dtype's rounding, its rounding); else
    E not smooth along the nudge. Rows whose nudge is below E's rounding (``rounded``:
    :func:`_roundings`) are left out of each judgement: they show nothing (:func:`_verdict`
    says no verdict where fewer than two rows are left)."""
    p = b.d.perturbation
    kinks = p.get("kinks_crossed") or []
    miss = None if kinks else first_order_miss(p["rows"], rounded)
    if miss is not None:
        return _first_order_miss(b, yi, miss)
    fold = error_fold(p["rows"], rounded)
    shows = (
        f"divide ε by 10 and it falls only about {fold:.2g}-fold"
        if fold is not None
        else "dividing ε by 10 does not make it fall 100-fold"
    )
    parts: list[str | Math] = [
        *_how_far(b, rounded),
        f"; the error is not of order ε²: {shows}, and the table's error/ε² grows as ε shrinks. ",
    ]
    return parts + (_across_kinks(b, yi, kinks) if kinks else _not_smooth(b))


def _across_kinks(b: Builder, yi: Math, kinks: list[dict]) -> list[str | Math]:
    many = len(kinks) > 1
    return [
        f"The relu unit{'s' if many else ''} on a path from ",
        yi,
        ", ",
        *_kinks_named(b, kinks),
        f", {'are' if many else 'is'} at or near {'their' if many else 'its'} kink, ",
        b.n.bare("z"),
        f" = 0: the nudge carries {'them' if many else 'it'} across, where relu's slope jumps "
        "between 0 and 1, and each path's prediction uses the slope on the engine's side. "
        "The predictions are then first-order accurate only: the error is of order ε"
        + (" (as is the miss when one path is left out)." if _paths(b) > 1 else "."),
    ]


def _not_smooth(b: Builder) -> list[str | Math]:
    d = b.d
    margin_jump = d.loss.name == "margin-squared-error" and d.loss.measured_from == "target"
    return [
        b.n.E(),
        " is not smooth along the nudge here"
        + (
            " (an output the nudge carries across its margin's edge, where the margin error "
            "measured from the target jumps to 0)"
            if margin_jump
            else ""
        )
        + ", so the predictions, which are first-order, are not accurate to order ε².",
    ]


def _first_order_miss(b: Builder, yi: Math, miss: dict[str, float]) -> list[str | Math]:
    """The predictions miss E's measured slope by the same share at every eps: beyond what
    rounding in the model's dtype can leave, the engine's gradient is wrong."""
    d, p = b.d, b.d.perturbation
    measured, predicted = miss["measured_slope"], miss["predicted_slope"]
    share = f", {abs(miss['miss'] / measured):.2g} of it," if measured else ""
    subject, _, disagrees = _predictions(b)
    summed = "the paths' sum" if _paths(b) > 1 else "the one path's prediction"
    parts: list[str | Math] = [
        f"{subject} {disagrees} the measured change in ",
        b.n.E(),
        f": at every ε the miss{share} is an error of order ε (divide ε by 10 and it falls "
        "only about 10-fold; the table's error/ε² grows as ε shrinks), which no smaller ε "
        "removes. The measured slope ΔE/ε tends to ",
        f"{measured:.6g}; {summed} over ε, the engine's ",
        b.n.dE_dy(p["layer"], letter_of(b, p["layer"]), p["unit"]),
        f", is {predicted:.6g}. No relu unit was carried across a kink, so ",
    ]
    bound = engine_rounding_bound(d, p["layer"], measured)
    if abs(miss["miss"]) <= bound:
        return parts + [
            f"this is the rounding of the engine's {d.dtype} gradients (within the at most "
            f"{bound:.2g} that rounding in {d.dtype} can leave here), not a wrong rule."
        ]
    above = p["layer"] + 1
    return parts + [
        "the engine's ",
        b.n.dE_dz(above, letter_of(b, above)),
        ", which the predictions are made of, disagree with the slope of ",
        b.n.E(),
        f" that the float64 forward pass measures, by more than rounding in {d.dtype} can "
        f"explain (at most {bound:.2g} here): the engine's gradient is wrong.",
    ]


def _rows_across_kinks(b: Builder, yi: Math) -> list[str | Math]:
    """Where the error is of order eps^2 but the largest eps's rows carry a relu unit across
    its kink: those rows, and the units (their error is of order eps)."""
    kinks = b.d.perturbation.get("kinks_crossed") or []
    if not kinks:
        return []
    eps = sorted({e for kink in kinks for e in kink["eps"]}, reverse=True)
    many = len(kinks) > 1
    return [
        f" Not at ε = {', '.join(f'{e:g}' for e in eps)}: there the nudge of ",
        yi,
        f" carries the relu unit{'s' if many else ''} ",
        *_kinks_named(b, kinks),
        f" across {'their' if many else 'its'} kink, ",
        b.n.bare("z"),
        " = 0, where relu's slope jumps between 0 and 1; each path's prediction uses the slope "
        "on the engine's side, so ",
        "those rows' errors are" if len(eps) > 1 else "that row's error is",
        " of order ε.",
    ]


def _kinks_named(b: Builder, kinks: list[dict]) -> list[str | Math]:
    """The relu units a nudge carries across their kinks, each with its layer and z."""
    named: list[str | Math] = []
    for number, kink in enumerate(kinks):
        if number:
            named.append(" and " if number == len(kinks) - 1 else ", ")
        z = kink["z"]
        named += [
            b.n.z(kink["layer"], letter_of(b, kink["layer"]), kink["unit"]),
            f" of layer {kink['layer']} (engine: {z:.3g}, relu {'on' if z > 0 else 'off'})",
        ]
    return named


def symbolic(b: Builder) -> None:
    """sympy's proof, its symbols renamed into the chosen notation (sympy worked in Hinton's)."""
    d, n = b.d, b.n
    b.add(Heading("Why a sum, symbolically (sympy)"))
    status = d.symbolic.get("status")
    if status not in ("proved", "agrees", "differs"):
        b.add(Para([d.symbolic.get("message", "symbolic mode was skipped")]))
        return
    layer = d.symbolic["layer"]
    i, j = letter_of(b, layer), letter_of(b, layer + 1)
    s = spell(d.symbolic, n, i, j)
    general = s["general"]
    E, y, z = general_names(n, layer, i, j)
    some_E = E + "(" + z(0) + "(" + y + "), ..., " + n.z(layer + 1, "n") + "(" + y + "))"
    b.add(Para(["The multivariate chain rule itself, for any ", some_E, ":"]))
    b.add(
        Equation(
            Math(general["lhs"], general["lhs_latex"]),
            # the terminal gets sympy's pretty printer; LaTeX, Markdown and JSON its LaTeX
            [Math(general.get("rhs_pretty", general["rhs"]), general["rhs_latex"])],
            wide=True,
        )
    )
    b.add(Para(description(d.symbolic, n, i, j)))
    # E itself, then its derivative: the JSON's are whole, in sympy's names; the view prints
    # the notation's own (a proof read back from JSON written before E_latex: its plain text)
    if s.get("E"):
        whole_E = for_reading(s["E"], s.get("E_latex") or "", s.get("symbols"))
        b.add(Equation(_sympy_E(d, n), [whole_E], wide=True))
    derivative = for_reading(s["derivative"], s["derivative_latex"], s.get("symbols"))
    b.add(Equation(Math(s["lhs"], s["lhs_latex"]), [derivative], wide=True))
    b.add(
        Para(
            [
                f"and the sum over {j}, with each ",
                n.dE_dz(layer + 1, j),
                " differentiated on its own:",
            ]
        )
    )
    sum_terms = Math(s["sum_terms"], s["sum_form_latex"])
    b.add(Equation(Math(s["lhs"], s["lhs_latex"]), [sum_terms], wide=True))
    # sympy's plain text alone, no LaTeX: every format sets it as code
    first = Code(s["first_dE_dz"])
    more = " ..." if len(d.connections[layer].targets(d.symbolic["unit"])) > 1 else ""
    b.add(Para(["with each ", n.dE_dz(layer + 1, j), " = ", first, f" ({j} = 1){more}"]))
    if status == "proved":
        verdict = f"sympy simplifies their difference to {s['difference']}; with the numbers "
        verdict += f"substituted both give {s['value']:.12g}"
    elif status == "agrees":  # too long to simplify: the two agree where they were evaluated
        verdict = (
            f"the two are {s['method']}: evidence that they are one function, not sympy's "
            f"proof; with the numbers substituted both give {s['value']:.12g}"
        )
    else:
        verdict = (
            f"THEY DIFFER: sympy's derivative minus the sum does not simplify to 0 "
            f"(by {s.get('method', 'simplify')}) but to {s['difference']}; with the numbers "
            f"substituted the derivative gives {s['value']:.12g} and the sum {s['sum_value']:.12g}"
        )
    b.add(Para([f"{verdict} (engine: {s['engine_value']:.12g}{_engine_off(d, s, n)})."]))


def _sympy_E(d, n: Notation) -> Math:
    """What sympy's E is: E itself for one case; of a batch, the proof's case's share of it."""
    E = n.E()
    if d.n_cases == 1:
        return E
    case = d.symbolic.get("case", 0) + 1
    return Math(f"{E.plain} (case {case}'s share)", rf"{E.latex}\ \text{{(case {case}'s share)}}")


def _engine_off(d, s: dict, n: Notation) -> str:
    """How far the engine's floating-point value is from sympy's exact one (sympy's value uses
    the same y's and w's as exact rationals), where that is worth saying: beyond what rounding
    in the model's dtype can leave (``engine_rounding_bound``), the engine's gradient is wrong,
    though the sum identity is proved; within it but more than a thousand epsilons of the value,
    rounding did it, as at a saturated logistic unit, where 1 - y loses its digits and y(1 - y)
    can be off by a factor of 2 while the finite difference, within its tolerance of 0,
    agrees."""
    exact, engine = s["value"], s["engine_value"]
    gap = abs(engine - exact)
    off = gap / abs(exact) if exact else float("inf")
    bound = s.get("engine_rounding_bound")
    if bound is None:  # a proof from before the bound was recorded
        bound = engine_rounding_bound(d, s["layer"], exact)
    if gap > bound:
        holds = "is proved" if s.get("status") == "proved" else "holds at random points"
        return (
            f"; the sum identity {holds}, but the engine's {d.dtype} value disagrees with the "
            f"exact one by {off:.2g} of it ({gap:.3g}), more than rounding in {d.dtype} can "
            f"explain here (at most {bound:.2g}): the engine's gradient is wrong"
        )
    if gap <= 1e3 * float(np.finfo(d.dtype).eps) * abs(exact):
        return ""
    y = n.bare("y").plain
    return (
        f"; the engine's {d.dtype} value is off from the exact one by {off:.2g} of it, within "
        f"what rounding can leave here (at most {bound:.2g}): floating-point rounding, as where "
        f"a saturated unit's {y}(1 − {y}) loses its digits"
    )


def _atol_range(checks: list) -> str:
    """The absolute tolerance the checks applied, or its range where theirs differ (by more
    than a hundredth: each is sized by the rounding of its own terms and of E over its step,
    and by its own difference's error, ``entry_atol``)."""
    values = [c.atol for c in checks]
    low, high = min(values), max(values)
    if high <= 1.01 * low:
        return f"{high:.2g}"
    return f"{low:.2g} to {high:.2g}, each check its own"


def _checks_not_shown(b: Builder, checked: int) -> list[str | Math]:
    """Which of the ``checked`` gradients the write-up above does not write out with their
    check: the inputs' dE/dy (written out only with --unit 0:1 and so on, explain's
    unit="0:1"), and those of the units and cases that --max-units, --max-cases or --unit leave
    out; they are in the JSON (each named in the host's way: :meth:`Builder.unit_option`,
    :meth:`Builder.json_output`)."""
    shown = sum(
        isinstance(block, Equation) and block.check is not None and block.check.numeric is not None
        for block in b.blocks
    )
    if shown >= checked:
        return []
    numeric = b.d.layers[0].dE_dy_numeric  # NaN where a sample left one unchecked
    hidden = b.inputs_gradients_shown or numeric is None
    inputs = 0 if hidden else int(np.count_nonzero(~np.isnan(numeric)))
    rest = checked - shown - inputs
    units = "units and cases not written out here"
    if not inputs:
        which: list[str | Math] = [f", of {units},"]
    else:
        which = [" (the inputs' ", b.n.bare("dE_dy"), ", written out with ", *_input_units(b)]
        which += [f", and {rest} of {units})" if rest > 0 else ")"]
    return [f" {shown} of them are written out above with their checks; the other "
            f"{checked - shown}", *which, " are in ", *b.json_output(), "."]  # fmt: skip


def _input_units(b: Builder) -> list[str | Math]:
    """The units to ask for that write out an input's dE/dy, as typed (units count from 1):
    "--unit 0:1", "--unit 0:1 or 0:2", "--unit 0:1 to 0:5" on the command line, explain's
    ``unit="0:1"`` or ``unit="0:2"`` from Python (:meth:`Builder.unit_option`)."""
    n = b.d.layers[0].size
    if n == 1:
        return [b.unit_option("0:1")]
    return [b.unit_option("0:1"), " or " if n == 2 else " to ", b.unit_option(f"0:{n}", again=True)]


def summary(b: Builder) -> None:
    d = b.d
    checks = d.all_checks()
    b.add(Heading("Checks"))
    if d.not_finite is not None:
        b.add(
            Para(
                [
                    f"Nothing here can be checked: {d.not_finite} (the numbers overflowed or are "
                    "undefined), so no finite difference means anything. Scale the inputs or "
                    "the weights down."
                ]
            )
        )
    elif not checks:
        ran = any(c.dE_dw_numeric is not None for c in d.connections)
        why = " (every one was left out: see below)" if ran else " (check=False, --max-checks 0)"
        b.add(Para([f"No finite-difference checks were run{why}."]))
    else:
        near = sum(c.unresolved for c in checks)
        verdict = {True: "all agree", False: "SOME DISAGREE", None: "NO VERDICT"}[d.all_ok]
        if d.all_ok and near:  # the unresolved agree only as 0 would: not counted as agreeing
            verdict = (
                f"all {len(checks) - near} resolved checks agree; {near} unresolved (no verdict)"
            )
        share = f", {d.atol_share:g}·max|fd| of its quantity" if d.atol_share else ""
        b.add(
            Para(
                [
                    f"{len(checks)} gradients checked against central finite differences "
                    f"(eps {d.eps:g}; a check passes where |value − fd| ≤ atol + "
                    f"{d.rtol:g}·|fd|, atol {_atol_range(checks)}: the rounding of the "
                    f"gradient's terms and of E over the step{share}, and the difference's "
                    "own error, |fd(2·eps) − fd(eps)|): "
                    f"{verdict}; "
                    f"largest difference {d.max_difference:.2e}.",
                    *_checks_not_shown(b, len(checks)),
                ]
            )
        )
        if d.all_ok is None:
            b.add(
                Para(
                    [
                        f"None disagrees, but all {near} agree only within the tolerance of 0: "
                        "the check says only that the gradients are small against its "
                        "tolerance, not that their rules are right (an engine value of 0 would "
                        f"pass too).{_infinite(checks)}"
                    ]
                )
            )
        elif near:
            b.add(
                Para(
                    [
                        f"{near} of them agree within the tolerance of 0 and so give no verdict "
                        "(marked ? no verdict, not ✓): for those the check says only that the "
                        "gradient is small, not that its rule is right "
                        f"({_why_near_zero(b, checks, near)}).{_infinite(checks)}"
                    ]
                )
            )
    for note in d.notes:
        if note != d.sum_left_out:  # said where the sum's sections would stand
            b.add(Para([note]))


def _why_near_zero(b: Builder, checks: list, near: int) -> str:
    """What makes the summary's ``near`` unresolved checks small, counted apart: those whose
    finite difference is exactly 0 (nothing moved E over the step: a pruned weight's path, a
    relu unit that is off, a saturated unit's far too small gradient) and the others, small
    but not 0 (a less saturated unit's); the parenthetical blamed saturated units alone where
    every one was a pruned weight's exact 0. Each row says its own reason (relu is named only
    in a network that has relu units, as the rows name it)."""
    exact = sum(c.unresolved and c.numeric == 0 for c in checks)
    relu = any(layer.activation == "relu" for layer in b.d.layers)
    zeros = "a weight of 0, as a pruned one is, an input of 0" + (
        ", a relu unit that is off" if relu else ""
    )
    zero = (
        f"a finite difference of exactly 0, E unmoved by the step: a 0 on its path ({zeros}) or "
        "a gradient too small for the step to move E, as a saturated unit's"
    )
    if exact == 0:
        return "a saturated unit's gradients are such; each row says why"
    if exact == near:
        return f"{'every one has' if near > 1 else 'it has'} {zero}; each row says which"
    rest = near - exact
    return (
        f"{exact} {'has' if exact == 1 else 'have'} {zero}; the other {rest} "
        f"{'is' if rest == 1 else 'are'} small but not 0, as a saturated unit's gradients are; "
        "each row says why"
    )


def _infinite(checks: list) -> str:
    """What the summary adds where some unresolved checks had a tolerance that is not finite:
    E's rounding over their step overflowed, so any value passes them."""
    count = sum(c.unresolved and not np.isfinite(c.tolerance) for c in checks)
    if not count:
        return ""
    return (
        f" {count} of them had a tolerance that is not finite (E's rounding "
        "over its step overflowed: a z of inf, or inputs and weights too large for float64), "
        "which any value passes; scale the inputs or the weights down to check them."
    )
