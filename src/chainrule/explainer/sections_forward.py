"""The forward pass and the error: z and y layer by layer, then E."""

from __future__ import annotations

from collections.abc import Callable

from chainrule.errors import counted
from chainrule.explainer import margin
from chainrule.explainer.blocks import Builder, Equation, Heading, Para, letter_of, unit_numbers
from chainrule.explainer.network import diagonal_blocks, formula_written, loss_shown
from chainrule.explainer.notation import Math, join


def intro(b: Builder) -> None:
    d = b.d
    b.add(Heading(f"Backpropagation step by step: {d.description}", 1))
    cases: list[str | Math] = [counted(d.n_cases, "case")]
    if d.n_cases > b.o.max_cases:
        cases += [f" (the first {b.o.max_cases} written out; all are in ", *b.json_output(), ")"]
    checked = (  # none without checks (check=False, --max-checks 0): not a word of ✓
        " and is checked against a central finite difference "
        f"(eps {d.eps:g}); ✓ marks agreement, the difference is shown (? marks no verdict: "
        "a difference within its tolerance of 0, which an engine value of 0 would pass too)."
        if any(c.dE_dw_numeric is not None for c in d.connections)
        else "; none is checked by finite differences here."
    )
    b.add(
        Para(
            [
                f"Loss: {loss_shown(d.loss)} ({d.loss.describe_reduction()}), ",
                *cases,
                f", {d.dtype}. Notation: ",
                *b.n.title_parts(),  # its symbols as maths, not y\_i or a^l in LaTeX's prose
                ". Layers are numbered from 0 (the input layer); units from 1. Every gradient "
                "below comes from chainrule's engine (one backward pass over the recorded "
                f"graph){checked}",
            ]
        )
    )
    if d.case_source:  # the inputs and targets below are the model's numbers, not the file's
        noun = "case comes" if d.n_cases == 1 else "cases come"
        ending = "" if d.case_source.endswith((".", "!", "?")) else "."
        b.add(Para([f"Where the {noun} from: {d.case_source}{ending}"]))


#: y = f(z) for each unit the explainer writes out (``network.UNITS``, which a test holds these
#: keys to), from z and z_k, the softmax sum's running index.
FORMULAS: dict[str, Callable[[Math, Math], Math]] = {
    "logistic": lambda z, z_k: Math(
        f"1/(1 + e^(−{z.plain}))", rf"\frac{{1}}{{1 + e^{{-{z.latex}}}}}"
    ),
    "tanh": lambda z, z_k: Math(f"tanh({z.plain})", rf"\tanh({z.latex})"),
    "relu": lambda z, z_k: Math(f"max(0, {z.plain})", rf"\max(0, {z.latex})"),
    "identity": lambda z, z_k: z,
    "softmax": lambda z, z_k: Math(
        f"e^{z.plain} / Σ_k e^({z_k.plain})",
        rf"\frac{{e^{{{z.latex}}}}}{{\sum_k e^{{{z_k.latex}}}}}",
    ),
}


def _act_formula(b: Builder, layer: int, unit: int | None) -> tuple[Math, str]:
    """y = f(z) as a formula, and the activation's name."""
    n, letter = b.n, letter_of(b, layer)
    act = b.d.layers[layer].activation
    return FORMULAS[act](n.z(layer, letter, unit), n.z(layer, "k")), act


def forward(b: Builder) -> None:
    d, n = b.d, b.n
    b.add(Heading("Forward pass"))
    for layer in range(1, d.n_layers + 1):
        below, lo, hi = layer - 1, letter_of(b, layer - 1), letter_of(b, layer)
        record, conn = d.layers[layer], d.connections[below]
        f, act = _act_formula(b, layer, None)
        z_gen = n.z(layer, hi)
        sum_gen = (
            Math(f"Σ_{lo} ", rf"\sum_{{{lo}}} ")
            + n.y(below, lo)
            + " "
            + n.w(below, lo, None, hi, None)
        )
        rhs = (n.b(layer, hi) + " + " + sum_gen) if conn.bias is not None else sum_gen
        units_word = "unit" if record.size == 1 else "units"
        b.add(Para([f"Layer {layer} ({record.role}, {record.size} {act} {units_word} {hi}): "]))
        if conn.connected is not None:
            b.add(Para([_blocks_sentence(conn, below, lo, hi)]))
        b.add(Equation(z_gen, [rhs]))
        b.add(Equation(n.y(layer, hi), [f]))
        units = b.leading_units(layer)
        for c in b.cases():
            for j in units:
                steps = []
                if len(conn.sources(j)) <= 6:
                    parts = [
                        _product(b, d.layers[below].y[c, i], conn.weight[i, j])
                        for i in conn.sources(j)
                    ]
                    if conn.bias is not None:
                        parts.insert(0, b.num(conn.bias[j]))
                    steps.append(join(parts, " + ", " + "))
                steps.append(b.result(record.z[c, j]))
                b.add(Equation(n.z(layer, hi, j), steps, label=b.case_label(c, f"{hi}={j + 1}")))
                b.add(Equation(n.y(layer, hi, j), [b.result(record.y[c, j])]))
        b.more(layer, len(units), always=True)


def _blocks_sentence(conn, below: int, lo: str, hi: str) -> str:
    """How a layer joined in blocks (an ``nn.Parallel``) reads the layer below: each block of
    its units from its own block of units, so each sum over the units below runs over that
    block alone ("units 1-6 read units 1-24 of layer 0, units 7-12 read units 25-36")."""

    def numbers(span: slice) -> str:
        return unit_numbers(list(range(span.start + 1, span.stop + 1)))

    blocks = [
        f"{hi} = {numbers(cols)} read {lo} = {numbers(rows)}"
        for rows, cols in diagonal_blocks(conn.connected)
    ]
    return (
        f"This layer joins its units to layer {below} in blocks (an nn.Parallel, "
        f"'{conn.weight_name}'): {'; '.join(blocks)}. No weight joins a block's units to "
        f"another block's, so each sum over {lo} runs over the unit's own block."
    )


def _product(b: Builder, a: float, w: float) -> Math:
    """a·w with both numbers formatted."""
    return Math(f"{b.num(a).plain}·{b.num(w).plain}", rf"{b.num(a).latex}\cdot {b.num(w).latex}")


def error(b: Builder) -> None:
    d, n = b.d, b.n
    top = d.n_layers
    j = letter_of(b, top)
    E = n.E()
    y, t = n.y(top, j), n.t(j)
    k = d.loss.divisor(d.n_cases, d.output.size)
    sum_c = Math("Σ_c ", r"\sum_c ") if d.n_cases > 1 else Math("", "")
    scale = Math(f"(1/{k}) ", rf"\frac{{1}}{{{k}}}") if k != 1 else Math("", "")
    if not formula_written(d.loss):  # a loss of one's own: its forward's number, no formula
        reads_z = d.loss.output_activation is not None  # it applies its unit to the logits
        _own_error(b, n.z(top, j) if reads_z else y, t)
        return
    if d.loss.name == "squared-error":
        rhs = (
            scale
            + sum_c
            + Math(
                f"½ Σ_{j} ({t.plain} − {y.plain})²",
                rf"\frac{{1}}{{2}}\sum_{{{j}}} ({t.latex} - {y.latex})^2",
            )
        )
    elif d.loss.name == "mse":
        rhs = Math(
            f"mean over cases and units of ({t.plain} − {y.plain})²",
            rf"\operatorname{{mean}}\,({t.latex} - {y.latex})^2",
        )
    elif d.loss.name == "cross-entropy":  # −(1/n) Σ_c Σ_j: the minus first, not "Σ_c minus"
        rhs = (
            Math("−", "-")
            + scale
            + sum_c
            + Math(f"Σ_{j} {t.plain} log {y.plain}", rf"\sum_{{{j}}} {t.latex}\log {y.latex}")
        )
    elif d.loss.name == margin.NAME:
        e = margin.shortfall(j)
        rhs = (
            scale + sum_c + Math(f"½ Σ_{j} {e.plain}²", rf"\frac{{1}}{{2}}\sum_{{{j}}} {e.latex}^2")
        )
    else:
        rhs = (
            Math("−", "-")
            + scale
            + sum_c
            + Math(
                f"Σ_{j} [{t.plain} log {y.plain} + (1 − {t.plain}) log(1 − {y.plain})]",
                rf"\sum_{{{j}}} \left[{t.latex}\log {y.latex}"
                rf" + (1 - {t.latex})\log(1 - {y.latex})\right]",
            )
        )
    b.add(Heading("Error"))
    _targets(b, t)
    b.add(Equation(E, [rhs, b.result(d.error)]))
    if d.loss.name == margin.NAME:
        b.add(Para(margin.definition(d.loss, y, t, j)))


def _own_error(b: Builder, read: Math, t: Math) -> None:
    """The Error section of a loss of the user's own: E as its own forward computes it from
    ``read`` (the outputs y, or the logits z of a loss that applies its own unit), said to be
    that (the explainer cannot write out its formula), no formula of another loss."""
    d, E = b.d, b.n.E()
    b.add(Heading("Error"))
    _targets(b, t)
    name, own = loss_shown(d.loss), d.loss.output_activation
    what = "outputs " if own is None else f"logits (it applies the {own} itself) "
    b.add(
        Para(
            [
                f"The loss, {name}, is a loss of your own: the explainer cannot write out its "
                "formula, so ", E, f" is the number its own forward computes from the {what}",
                read, " and the targets ", t, ".",
            ]
        )
    )  # fmt: skip
    # the loss by a word, not its name (any text of the user's, set here as maths)
    own = Math(f"loss({read.plain}, {t.plain})", rf"\operatorname{{loss}}({read.latex}, {t.latex})")
    b.add(Equation(E, [own, b.result(d.error)]))


def _targets(b: Builder, t: Math) -> None:
    """The targets of the cases written out, as the Error section lists them."""
    d = b.d
    targets = "; ".join(", ".join(b.result(v).plain for v in row) for row in d.t[: b.o.max_cases])
    if d.n_cases > b.o.max_cases:
        targets += f"; ... ({d.n_cases - b.o.max_cases} more cases)"
    # "$t_j$ = 1, 0": a closing $ after a space, then a digit, is no maths to Markdown
    width = d.t.shape[1]
    if width != d.layers[-1].size:  # a loss of one's own reads rows wider than the outputs
        own = f"{width} per case, as {loss_shown(d.loss)}'s own forward reads them"
        b.add(Para([f"Targets ({own}): {targets}."]))
        return
    b.add(Para(["Targets: ", t, f" = {targets}."]))
