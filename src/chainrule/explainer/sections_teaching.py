"""The write-up's teaching parts: the three views of one dE/dy_i, paths against backprop's cost,
and a teaching bug's wrong gradients beside the right ones."""

from __future__ import annotations

import numpy as np

from chainrule.explainer.blocks import Builder, Heading, Para, Table, letter_of, unit_numbers
from chainrule.explainer.notation import Math, dtype_digits, symbols_in, vector
from chainrule.explainer.views import consumer, graph_not_drawn

#: Rows of a bug's table shown in the text formats (the JSON holds every gradient).
MAX_BUG_ROWS = 12


def views(b: Builder) -> None:
    """dE/dy_i three ways, in the chosen notation's symbols: its unit sum, row i of chainrule's
    weight array times the layer's vector of dE/dz, and the graph's fan-out node."""
    v, n = b.d.views, b.n
    layer, unit = v["layer"], v["unit"]
    i, j = letter_of(b, layer), letter_of(b, layer + 1)
    dE_dyi = n.dE_dy(layer, i, unit)
    w_ij, dE_dzj = n.w(layer, i, None, j, None), n.dE_dz(layer + 1, j)
    dE_dy, dE_dz = vector(n.dE_dy(layer, i), i), vector(dE_dzj, j)
    joined_in_blocks = b.d.connections[layer].connected is not None
    digits, rounded = dtype_digits(b.d.dtype), np.dtype(b.d.dtype).type

    def _n(value: float) -> str:
        # as the model's dtype rounds it, to the digits that dtype holds (the three columns
        # hold the same float64 numbers: layer_graph_of reads the engine's); + 0.0: no "-0"
        # for a product like (-0.13)·0
        return f"{float(rounded(value)) + 0.0:.{digits}g}"

    # W has one meaning in a notation: the matrix form's W^l is the transpose of chainrule's
    # array (row j above, column i below, as its backward step writes (W^l)ᵀ δ^l), so the sum
    # is (W^l)ᵀ δ^l and its entries W^l[j, i]; the others' W is chainrule's array, row i below
    if n.name == "matrix":
        W = n.W(layer + 1)
        matrix = Math(f"({W.plain})ᵀ", rf"({W.latex})^{{T}}")
        entry = f"{W.plain}[{j},{unit + 1}]"
        what = [W, f" as above: row {j} above, column {i} below, the transpose of chainrule's "
                "weight array"]  # fmt: skip
    else:
        matrix = Math("W", "W")
        entry = f"W[{unit + 1},{j}]"
        what = [f"W the layer's weight array as chainrule stores it: row {i} below, column {j} "
                "above"]  # fmt: skip
    b.add(Heading(f"One quantity, three views: {dE_dyi.plain}"))
    b.add(
        Para(
            [
                f"{n.source}'s unit sum ",
                Math(
                    f"Σ_{j} {w_ij.plain} {dE_dzj.plain}", rf"\sum_{j} {w_ij.latex} {dE_dzj.latex}"
                ),
                f", row {unit + 1} of the matrix form ",
                Math(f"{dE_dy.plain} = ", rf"{dE_dy.latex} = ") + matrix + Math(" ", r"\,") + dE_dz,
                " (",
                *what,
                ("; 0 between the nn.Parallel's blocks" if joined_in_blocks else "") + ")"
                ", and the fan-out node of the graph recorded unit by unit, where each consumer ",
                consumer(n, layer, (i, j), unit, None),
                f" sends back its share: the same terms, one per {j}.",
                f" They are case {v['case'] + 1}'s of {b.d.n_cases}." if b.d.n_cases > 1 else "",
                *_digits_shown(b.d.dtype, digits, w_ij + " " + dE_dzj),
            ]
        )
    )
    graph = v["graph"]
    headers = [
        j,
        f"{n.source}: {w_ij.plain}·{dE_dzj.plain}",
        f"matrix: {entry}·({dE_dz.plain})[{j}]",
        # recorded on the engine's y, w and dE/dz (layer_graph_of): the same terms
        "graph: what the consumer sends back"
        if graph
        else f"graph: ({graph_not_drawn(b.d) or 'not drawn'})",
    ]
    rows = []
    terms = v["hinton"]["terms"]
    shown = min(len(terms), b.o.max_units)
    for k, term in enumerate(terms[:shown]):
        row = [f"{term['j'] + 1}", _n(term["value"]), _n(v["matrix"]["terms"][k]["value"])]
        if graph:
            source = _consumer(b, layer, unit, j, term["j"])
            row.append(f"{_n(graph['consumers'][k]['value'])} (from {source})")
        else:
            row.append("-")
        rows.append(row)
    if shown < len(terms):  # --max-units: the other terms in one row, so the sum still adds up
        row = [unit_numbers([term["j"] + 1 for term in terms[shown:]])]
        for view in (v["hinton"]["terms"], v["matrix"]["terms"]):
            row.append(_n(sum(term["value"] for term in view[shown:])))
        rest = graph and sum(c["value"] for c in graph["consumers"][shown:])
        row.append(f"{_n(rest)} (their sum)" if graph else "-")
        rows.append(row)
    total = ["sum", _n(v["hinton"]["total"]), _n(v["matrix"]["total"])]
    total.append(f"{_n(graph['total'])} (at the node)" if graph else "-")
    rows.append(total)
    b.add(Table(headers, rows, caption=f"engine: {dE_dyi.plain} = {_n(v['engine'])}"))


def _consumer(b: Builder, layer: int, unit: int, letter: str, above: int | None) -> str:
    """The product y_i·w_ij through which unit ``unit`` feeds unit ``above`` (None: unit j)."""
    return consumer(b.n, layer, (letter_of(b, layer), letter), unit, above).plain


def paths(b: Builder) -> None:
    """Paths from a unit up to E against backprop's reuse of each dE/dz_j, in the notation's
    symbols for a layer l (the matrix form's a^l, δ^(l+1), σ'(z^l) and cost C)."""
    p, n = b.d.paths, b.n
    # a layer named, not numbered: the prose holds for every layer, so the matrix form's
    # superscripts read l, l+1 and L (the output layer); the other notations write no layer
    i, j, layer, above, top = "i", "j", "l", "(l+1)", "L"
    f_plain, f_latex = n.activation
    z = vector(n.z(layer, i), i)
    dE_dz_j = n.dE_dz(above, j)
    b.add(Heading("Paths against dynamic programming"))
    b.add(
        Para(
            [
                n.dE_dy(layer, i),
                f" is a sum over every path from unit {i} up to ",
                n.E(),
                ". The paths multiply with depth; summing them one by one repeats each ",
                dE_dz_j,
                " once per path through it, while backprop computes each ",
                dE_dz_j,
                " once and reuses it. Forward mode needs one pass per unit. Counts per case "
                "(multiplications + additions), given the slopes ",
                Math(f"{f_plain}'({z.plain})", rf"{f_latex}'({z.latex})"),
                " and the output layer's ",
                vector(n.dE_dz(top, j), j),
                ".",
            ]
        )
    )
    headers = ["layer", "units", "paths per unit", "paths per weight above", "path by path",
               "backprop (down to here)", "forward mode"]  # fmt: skip
    rows = [
        [
            str(r["layer"]),
            str(r["units"]),
            str(r["paths_per_unit"]),
            str(r["paths_per_weight"]),
            f"{r['paths_mul']} + {r['paths_add']}",
            f"{r['backprop_mul']} + {r['backprop_add']}",
            f"{r['forward_mul']} + {r['forward_add']}",
        ]
        for r in p["rows"]
    ]
    sizes = " x ".join(str(s) for s in p["sizes"])
    caption = f"Paths to {n.E().plain} and their cost ({sizes} network)"
    if any(c.connected is not None for c in b.d.connections):  # units differ: the largest
        caption += "; a layer joined in blocks: per unit and per weight, the most any one has"
    b.add(Table(headers, rows, caption=caption))


def bug(b: Builder) -> None:
    """A teaching bug's wrong gradients beside the right ones, labelled in the notation."""
    report, n = b.d.bug, b.n
    info = report.bug
    b.add(Heading(f"Break the engine on purpose: --bug {info.name}"))
    b.add(Para([f"The bug: {info.title} ({info.source})."]))
    b.add(Para(["What it does: ", *report.effect_in(n), "."]))
    note = report.note_in(n)
    if note:  # its leaves' symbols (w_11, w^2_11) set as maths, as the table's labels are
        b.add(Para(symbols_in(note)))
    wrong = report.wrong_rows
    shown = (wrong or report.rows)[:MAX_BUG_ROWS]
    rows = [
        [
            r.label(n),
            f"{r.right:.6g}",
            f"{r.wrong:.6g}",
            "-" if r.numeric is None else f"{r.numeric:.6g}",
            _bug_mark(r),
        ]
        for r in shown
    ]
    b.add(
        Table(
            [
                "gradient",
                "right (engine)",
                f"with --bug {info.name}",
                "finite difference",
                "gradient check",
            ],  # fmt: skip
            rows,
            caption=f"{len(wrong)} of {len(report.rows)} gradients are wrong",
        )
    )
    if len(wrong) > len(shown):
        more = f"... {len(wrong) - len(shown)} more wrong gradients (all are in "
        b.add(Para([more, *b.json_output(), ")."]))
    why = [f"{r.label(n)}: {r.no_verdict_in(n)}" for r in shown if r.no_verdict is not None]
    if why:  # each row's own reason, in the words of the derivation's checks
        b.add(Para(symbols_in("Why no verdict: " + "; ".join(why) + ".")))
    n_caught = sum(r.caught for r in report.rows)
    n_checked = sum(r.numeric is not None for r in report.rows)
    unresolved = len(report.no_verdict_rows)
    if report.caught:
        verdict = (
            f"The gradient check catches it: {n_caught} of {len(report.rows)} gradients disagree "
            "with their central finite differences."
        )
        if unresolved:
            verdict += f" On {unresolved} other wrong gradients it gives no verdict."
    elif not n_checked:  # --max-checks 0: nothing was compared, so nothing "agrees"
        verdict = "No gradient was checked by finite differences, so nothing here can catch it."
    elif unresolved:  # passing within a tolerance as large as the gradient is no agreement
        agree = n_checked - sum(r.no_verdict is not None for r in report.rows)
        verdict = (
            f"The gradient check cannot catch it here: on {unresolved} of the wrong gradients "
            "it gives no verdict (its tolerance is as large as the gradient)"
            + (f", and the other {agree} gradients checked agree" if agree else "")
            + ". No verdict is not a pass: scale the network's numbers down to check it."
        )
    else:
        verdict = (
            f"The gradient check finds nothing here: every gradient checked ({n_checked} of "
            f"{len(report.rows)}) agrees with its finite difference."
        )
    b.add(Para([verdict]))


def _bug_mark(row) -> str:
    """A bug row's gradient check, as the table shows it: not checked, caught, no verdict (the
    bug's value passes within a tolerance as large as the gradient: why is said under the
    table), or agrees."""
    if row.numeric is None:
        return "not checked"
    if row.caught:
        return "✗ caught"
    return "? no verdict" if row.no_verdict is not None else "✓ agrees"


def _digits_shown(dtype: str, digits: int, term: Math) -> list[str | Math]:
    """Why a float32 model's numbers are shown to fewer digits than a float64 model's: the
    three views hold the same terms and add them in float64, but the engine's own dE/dy_i is
    added by a matrix product in the model's dtype, which rounds in its own order. ``term`` is
    one term of the sum, in the write-up's notation (Hinton's w_ij ∂E/∂z_j)."""
    if digits == dtype_digits("float64"):
        return []
    return [
        f" The model computes in {dtype}, whose numbers hold {digits} significant digits "
        f"reliably, so each number is shown as {dtype} rounds it, to {digits} digits. The "
        "three views add the same terms ",
        term,
        f" in float64 and agree in every digit; the engine's own sum, added in {dtype} by a "
        "matrix product, agrees to its precision, and where the terms nearly cancel it can "
        "differ in the last digit shown (the JSON holds every digit).",
    ]
