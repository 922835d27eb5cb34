"""The derivation laid out once, as blocks (headings, paragraphs, equations, tables).

Every renderer (text, Markdown, LaTeX, HTML) walks the same blocks, so the formats cannot tell
different stories. An :class:`Equation` is ``lhs = step = step = ...`` with, when the number came
from the engine, its finite-difference check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from chainrule.explainer.notation import Math, Notation, get_notation, join, num

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Checked, Derivation

Inline = list["str | Math"]


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    parts: Inline


@dataclass
class Equation:
    lhs: Math
    steps: list[Math]
    check: Checked | None = None
    label: str = ""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


Block = Heading | Para | Equation | Table


@dataclass
class Options:
    """How much to show: units per layer, cases, digits (the JSON always holds everything)."""

    max_units: int = 6
    max_cases: int = 3
    digits: int = 4
    focused: bool = False


@dataclass
class Builder:
    d: Derivation
    n: Notation
    o: Options
    blocks: list[Block] = field(default_factory=list)

    def add(self, block: Block) -> None:
        self.blocks.append(block)

    def num(self, value: float) -> Math:
        return num(value, self.o.digits)

    def result(self, value: float) -> Math:
        """A final value: no parentheses."""
        return num(value, self.o.digits, paren=False)

    def units(self, layer: int) -> list[int]:
        size = self.d.layers[layer].size
        if self.o.focused and self.d.focus and self.d.focus[0] == layer:
            return [self.d.focus[1]]
        return list(range(min(size, self.o.max_units)))

    def cases(self) -> list[int]:
        return list(range(min(self.d.n_cases, self.o.max_cases)))

    def more(self, layer: int, shown: int, what: str = "units") -> None:
        size = self.d.layers[layer].size
        if shown < size and not self.o.focused:
            self.add(Para([f"... {size - shown} more {what} (all are in the JSON output)."]))

    def case_label(self, c: int, prefix: str) -> str:
        return prefix + (f", case {c + 1}" if self.d.n_cases > 1 else "")


def build(
    d: Derivation, notation: str | None = None, options: Options | None = None
) -> list[Block]:
    """The blocks of the whole derivation in ``notation`` (default: the derivation's own)."""
    b = Builder(d, get_notation(notation or d.notation), options or Options())
    _intro(b)
    _forward(b)
    _error(b)
    _output_layer(b)
    for layer in range(d.n_layers - 1, -1, -1):
        if layer == 0 and not (b.o.focused and d.focus and d.focus[0] == 0):
            continue  # the inputs' gradients are shown only when asked for (--unit 0:i)
        _hidden_layer(b, layer)
    _weights(b)
    if d.perturbation:
        _perturbation(b)
    if d.symbolic:
        _symbolic(b)
    _summary(b)
    return b.blocks


def _letter(b: Builder, layer: int) -> str:
    return b.d.layers[layer].letter


def _intro(b: Builder) -> None:
    d = b.d
    b.add(Heading(f"Backpropagation step by step: {d.description}", 1))
    cases = f"{d.n_cases} case{'s' * (d.n_cases != 1)}"
    b.add(
        Para(
            [
                f"Loss: {d.loss.name} ({d.loss.describe_reduction()}), {cases}, {d.dtype}. "
                f"Notation: {b.n.title}. Layers are numbered from 0 (the input layer); "
                "units from 1. Every gradient below comes from chainrule's engine (one backward "
                "pass over the recorded graph) and is checked against a central finite difference "
                f"(eps {d.eps:g}); ✓ marks agreement, the difference is shown."
            ]
        )
    )


def _act_formula(b: Builder, layer: int, unit: int | None) -> tuple[Math, str]:
    """y = f(z) as a formula, and the activation's name."""
    n, letter = b.n, _letter(b, layer)
    act = b.d.layers[layer].activation
    z = n.z(layer, letter, unit)
    forms = {
        "logistic": Math(f"1/(1 + e^(−{z.plain}))", rf"\frac{{1}}{{1 + e^{{-{z.latex}}}}}"),
        "tanh": Math(f"tanh({z.plain})", rf"\tanh({z.latex})"),
        "relu": Math(f"max(0, {z.plain})", rf"\max(0, {z.latex})"),
        "identity": z,
        "softmax": Math(
            f"e^{z.plain} / Σ_k e^(z_k)", rf"\frac{{e^{{{z.latex}}}}}{{\sum_k e^{{z_k}}}}"
        ),
    }
    return forms[act], act


def _forward(b: Builder) -> None:
    d, n = b.d, b.n
    b.add(Heading("Forward pass"))
    for layer in range(1, d.n_layers + 1):
        below, lo, hi = layer - 1, _letter(b, layer - 1), _letter(b, layer)
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
        b.add(Para([f"Layer {layer} ({record.role}, {record.size} {act} units {hi}): "]))
        b.add(Equation(z_gen, [rhs]))
        b.add(Equation(n.y(layer, hi), [f]))
        units = b.units(layer) if not b.o.focused else list(range(min(record.size, b.o.max_units)))
        for c in b.cases():
            for j in units:
                steps = []
                if conn.weight.shape[0] <= 6:
                    parts = [
                        _product(b, d.layers[below].y[c, i], conn.weight[i, j])
                        for i in range(conn.weight.shape[0])
                    ]
                    if conn.bias is not None:
                        parts.insert(0, b.num(conn.bias[j]))
                    steps.append(join(parts, " + ", " + "))
                steps.append(b.result(record.z[c, j]))
                b.add(Equation(n.z(layer, hi, j), steps, label=b.case_label(c, f"{hi}={j + 1}")))
                b.add(Equation(n.y(layer, hi, j), [b.result(record.y[c, j])]))
        b.more(layer, len(units))


def _product(b: Builder, a: float, w: float) -> Math:
    """a·w with both numbers formatted."""
    return Math(f"{b.num(a).plain}·{b.num(w).plain}", rf"{b.num(a).latex}\cdot {b.num(w).latex}")


def _error(b: Builder) -> None:
    d, n = b.d, b.n
    top = d.n_layers
    j = _letter(b, top)
    E = n.E()
    y, t = n.y(top, j), n.t(j)
    k = d.loss.divisor(d.n_cases, d.output.size)
    sum_c = Math("Σ_c ", r"\sum_c ") if d.n_cases > 1 else Math("", "")
    scale = Math(f"(1/{k}) ", rf"\frac{{1}}{{{k}}}") if k != 1 else Math("", "")
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
    elif d.loss.name == "cross-entropy":
        rhs = (
            scale
            + sum_c
            + Math(f"−Σ_{j} {t.plain} log {y.plain}", rf"-\sum_{{{j}}} {t.latex}\log {y.latex}")
        )
    else:
        rhs = (
            scale
            + sum_c
            + Math(
                f"−Σ_{j} [{t.plain} log {y.plain} + (1 − {t.plain}) log(1 − {y.plain})]",
                rf"-\sum_{{{j}}} \left[{t.latex}\log {y.latex}"
                rf" + (1 - {t.latex})\log(1 - {y.latex})\right]",
            )
        )
    b.add(Heading("Error"))
    targets = "; ".join(", ".join(f"{v:g}" for v in row) for row in d.t[: b.o.max_cases])
    b.add(Para(["Targets: ", Math(f"{t.plain} = ", f"{t.latex} = "), targets + "."]))
    b.add(Equation(E, [rhs, b.result(d.error)]))


def _output_layer(b: Builder) -> None:
    d, n = b.d, b.n
    top = d.n_layers
    j = _letter(b, top)
    record = d.layers[top]
    b.add(Heading(f"Backward pass: the output layer {j} (layer {top})"))
    loss, act = d.loss.name, record.activation
    y, t, dy, dz = n.y(top, j), n.t(j), n.dE_dy(top, j), n.dE_dz(top, j)
    if loss in ("cross-entropy", "binary-cross-entropy"):
        b.add(Para([f"With {act} outputs and {loss} the factors cancel:"]))
        b.add(Equation(dz, [y + Math(" − ", " - ") + t]))
    else:
        if loss == "squared-error":
            b.add(Equation(dy, [Math(f"−({t.plain} − {y.plain})", f"-({t.latex} - {y.latex})")]))
        else:
            k = d.n_cases * record.size
            b.add(
                Equation(
                    dy,
                    [
                        Math(
                            f"(2/{k}) ({y.plain} − {t.plain})",
                            rf"\frac{{2}}{{{k}}}({y.latex} - {t.latex})",
                        )
                    ],
                )
            )
        b.add(Equation(dz, [_dz_general(b, top)]))
    for c in b.cases():
        units = (
            b.units(top)
            if (b.d.focus and b.d.focus[0] == top)
            else list(range(min(record.size, b.o.max_units)))
        )
        for u in units:
            yv, tv = record.y[c, u], d.t[c, u]
            label = b.case_label(c, f"{j}={u + 1}")
            if record.dE_dy is not None:
                if loss == "squared-error":
                    scale = 1.0 / d.loss.divisor(d.n_cases, record.size)
                    pre, tex = (f"{scale:g}·", rf"{scale:g}\cdot ") if scale != 1.0 else ("", "")
                    step = Math(
                        f"{pre}−({b.num(tv).plain} − {b.num(yv).plain})",
                        rf"{tex}-({b.num(tv).latex} - {b.num(yv).latex})",
                    )
                    b.add(
                        Equation(
                            n.dE_dy(top, j, u),
                            [step, b.result(record.dE_dy[c, u])],
                            d.dE_dy(top, u, c),
                            label,
                        )
                    )
                else:
                    b.add(
                        Equation(
                            n.dE_dy(top, j, u),
                            [b.result(record.dE_dy[c, u])],
                            d.dE_dy(top, u, c),
                            label,
                        )
                    )
                b.add(_dz_equation(b, top, u, c, ""))
            else:
                scale = 1.0 / d.loss.divisor(d.n_cases, record.size)
                pre, tex = (f"{scale:g}·", rf"{scale:g}\cdot ") if scale != 1.0 else ("", "")
                step = Math(
                    f"{pre}{b.num(yv).plain} − {b.num(tv).plain}",
                    f"{tex}{b.num(yv).latex} - {b.num(tv).latex}",
                )
                b.add(
                    Equation(
                        n.dE_dz(top, j, u),
                        [step, b.result(record.dE_dz[c, u])],
                        d.dE_dz(top, u, c),
                        label,
                    )
                )
    b.more(top, min(record.size, b.o.max_units))


def _dz_general(b: Builder, layer: int) -> Math:
    """dE/dz = f'(z) dE/dy written for the layer's activation."""
    n, letter = b.n, _letter(b, layer)
    act = b.d.layers[layer].activation
    y, dy = n.y(layer, letter), n.dE_dy(layer, letter)
    if act == "logistic":
        return Math(
            f"{y.plain}(1 − {y.plain}) {dy.plain}", rf"{y.latex}(1 - {y.latex})\,{dy.latex}"
        )
    if act == "tanh":
        return Math(f"(1 − {y.plain}²) {dy.plain}", rf"(1 - ({y.latex})^2)\,{dy.latex}")
    if act == "relu":
        z = n.z(layer, letter)
        return Math(f"[{z.plain} > 0] {dy.plain}", rf"[{z.latex} > 0]\,{dy.latex}")
    if act == "softmax":
        return Math(
            f"{y.plain} ({dy.plain} − Σ_k y_k ∂E/∂y_k)",
            rf"{y.latex}\left({dy.latex} - \sum_k y_k \frac{{\partial E}}{{\partial y_k}}\right)",
        )
    return dy


def _dz_equation(b: Builder, layer: int, u: int, c: int, label: str) -> Equation:
    d, n = b.d, b.n
    letter = _letter(b, layer)
    record = d.layers[layer]
    act = record.activation
    yv, dyv = record.y[c, u], record.dE_dy[c, u]
    if act == "logistic":
        step = Math(
            f"{b.num(yv).plain}·(1 − {b.num(yv).plain})·{b.num(dyv).plain}",
            rf"{b.num(yv).latex}\cdot(1 - {b.num(yv).latex})\cdot{b.num(dyv).latex}",
        )
    elif act == "tanh":
        step = Math(
            f"(1 − {b.num(yv).plain}²)·{b.num(dyv).plain}",
            rf"(1 - ({b.num(yv).latex})^2)\cdot{b.num(dyv).latex}",
        )
    elif act == "relu":
        on = "1" if record.z[c, u] > 0 else "0"
        step = Math(f"{on}·{b.num(dyv).plain}", rf"{on}\cdot{b.num(dyv).latex}")
    else:
        step = (
            b.num(dyv)
            if act == "identity"
            else Math("(softmax Jacobian)", r"\text{(softmax Jacobian)}")
        )
    return Equation(
        n.dE_dz(layer, letter, u), [step, b.result(record.dE_dz[c, u])], d.dE_dz(layer, u, c), label
    )


def _hidden_layer(b: Builder, layer: int) -> None:
    d, n = b.d, b.n
    i, j = _letter(b, layer), _letter(b, layer + 1)
    role = "input layer" if layer == 0 else "hidden layer"
    b.add(Heading(f"Backward pass: the {role} {i} (layer {layer}): the sum over {j}"))
    dy = n.dE_dy(layer, i)
    gen = (
        Math(f"Σ_{j} ", rf"\sum_{{{j}}} ")
        + n.w(layer, i, None, j, None)
        + " "
        + n.dE_dz(layer + 1, j)
    )
    b.add(
        Para(
            [
                "Each unit sends its output to every unit above it, so its gradient is the sum "
                "of what each of them sends back:"
            ]
        )
    )
    b.add(Equation(dy, [gen]))
    if layer > 0:
        b.add(Equation(n.dE_dz(layer, i), [_dz_general(b, layer)]))
    if b.n.name == "matrix":
        _matrix_form(b, layer)
    units = b.units(layer)
    for c in b.cases():
        for u in units:
            terms = d.terms(layer, u, c)
            symbols = join(
                [n.w(layer, i, u, j, t.j) + " " + n.dE_dz(layer + 1, j, t.j) for t in terms],
                " + ",
                " + ",
            )
            numbers = join(
                [
                    Math(
                        f"{b.num(t.w).plain}·{b.num(t.dE_dz).plain}",
                        rf"{b.num(t.w).latex}\cdot{b.num(t.dE_dz).latex}",
                    )
                    for t in terms
                ],
                " + ",
                " + ",
            )
            products = join([b.num(t.product) for t in terms], " + ", " + ")
            total = d.sum_over_j(layer, u, c)
            label = b.case_label(c, f"{i}={u + 1}")
            steps = [symbols, numbers, products, b.result(total)]
            if len(terms) > 8:  # a wide layer: keep the sum readable
                steps = [symbols if len(terms) <= 12 else gen, b.result(total)]
            b.add(Equation(n.dE_dy(layer, i, u), steps, d.dE_dy(layer, u, c), label))
            if layer > 0:
                b.add(_dz_equation(b, layer, u, c, ""))
    b.more(layer, len(units))


def _matrix_form(b: Builder, layer: int) -> None:
    """delta^l = ((W^(l+1))^T delta^(l+1)) * sigma'(z^l) with the vectors of case 1 written out."""
    d = b.d
    conn = d.connections[layer]
    above = d.layers[layer + 1]
    l1 = layer + 1
    b.add(
        Para(
            [
                "In matrix form, with W^(l+1) the matrix whose row j, column k is the weight from "
                "unit k below to unit j above (the transpose of chainrule's weight layout):"
            ]
        )
    )
    lhs = (
        Math(f"δ^{layer}", rf"\delta^{{{layer}}}")
        if layer > 0
        else Math(f"∇_a^{layer} C", rf"\nabla_{{a^{{{layer}}}}} C")
    )
    sigma = (
        Math(f" ⊙ σ'(z^{layer})", rf" \odot \sigma'(z^{{{layer}}})") if layer > 0 else Math("", "")
    )
    gen = Math(f"(W^{l1})ᵀ δ^{l1}", rf"(W^{{{l1}}})^{{T}} \delta^{{{l1}}}") + sigma
    if conn.weight.size <= 24:
        mat = _vector(b, conn.weight)  # our weight (n_in, n_out) is (W^(l+1))^T
        vec = _vector(b, above.dE_dz[0])
        numbers = mat + " " + vec
        if layer > 0:
            record = d.layers[layer]
            prime = _derivative_of_activation(record.activation, record.y[0], record.z[0])
            numbers = numbers + Math(" ⊙ ", r" \odot ") + _vector(b, prime)
        result = d.layers[layer].dE_dz[0] if layer > 0 else d.layers[0].dE_dy[0]
        b.add(
            Equation(
                lhs, [gen, numbers, _vector(b, result)], label="case 1" if d.n_cases > 1 else ""
            )
        )
    else:
        b.add(Equation(lhs, [gen]))
    b.add(Para(["Expanded per unit, the same numbers:"]))


def _derivative_of_activation(act: str, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    if act == "logistic":
        return y * (1 - y)
    if act == "tanh":
        return 1 - y * y
    if act == "relu":
        return (z > 0).astype(float)
    return np.ones_like(y)


def _vector(b: Builder, array: np.ndarray) -> Math:
    """A vector or matrix of numbers: [a, b] or [[a, b], [c, d]]."""
    if array.ndim == 1:
        cells = [b.num(v) for v in array]
        return Math(
            "[" + ", ".join(c.plain for c in cells) + "]",
            r"\begin{pmatrix}" + r" \\ ".join(c.latex for c in cells) + r"\end{pmatrix}",
        )
    rows = [[b.num(v) for v in row] for row in array]
    plain = "[" + ", ".join("[" + ", ".join(c.plain for c in r) + "]" for r in rows) + "]"
    latex = (
        r"\begin{pmatrix}"
        + r" \\ ".join(" & ".join(c.latex for c in r) for r in rows)
        + r"\end{pmatrix}"
    )
    return Math(plain, latex)


def _weights(b: Builder) -> None:
    d, n = b.d, b.n
    b.add(Heading("Gradients of the weights"))
    many = d.n_cases > 1
    for below in range(d.n_layers - 1, -1, -1):
        conn = d.connections[below]
        i, j = _letter(b, below), _letter(b, below + 1)
        y, dz = n.y(below, i), n.dE_dz(below + 1, j)
        rhs = (Math("Σ_c ", r"\sum_c ") if many else Math("", "")) + y + " " + dz
        b.add(
            Para(
                [
                    f"Weights from layer {below} ({i}) to layer {below + 1} ({j}), ",
                    f"'{conn.weight_name}'" + (" (summed over the cases):" if many else ":"),
                ]
            )
        )
        b.add(Equation(n.dE_dw(below, i, None, j, None), [rhs]))
        rows = _shown_weights(b, below)
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
        if conn.bias is not None:
            b.add(
                Equation(
                    n.dE_db(below + 1, j),
                    [(Math("Σ_c ", r"\sum_c ") if many else Math("", "")) + dz],
                )
            )
        total = conn.weight.size
        if len(rows) < total:
            b.add(Para([f"... {total - len(rows)} more weights (all are in the JSON output)."]))


def _shown_weights(b: Builder, below: int) -> list[tuple[int, int]]:
    d = b.d
    n_in, n_out = d.connections[below].weight.shape
    if b.o.focused and d.focus:
        layer, unit = d.focus
        if layer == below:
            return [(unit, k) for k in range(min(n_out, b.o.max_units))]
        if layer == below + 1:
            return [(a, unit) for a in range(min(n_in, b.o.max_units))]
        return []
    pairs = [(a, k) for a in range(n_in) for k in range(n_out)]
    return pairs[: b.o.max_units * b.o.max_units // 2 if len(pairs) > 18 else len(pairs)]


def _perturbation(b: Builder) -> None:
    d, n = b.d, b.n
    p = d.perturbation
    layer, unit = p["layer"], p["unit"]
    i, j = _letter(b, layer), _letter(b, layer + 1)
    yi = n.y(layer, i, unit)
    b.add(Heading(f"Why a sum: nudge {yi.plain} and follow every path"))
    b.add(
        Para(
            [
                "Nudge ",
                yi,
                " by ε. Each unit j above moves by ",
                Math("Δz_j = w_ij ε", r"\Delta z_j = w_{ij}\,\varepsilon"),
                " and through it E moves by about ",
                Math("∂E/∂z_j · w_ij ε", r"\frac{\partial E}{\partial z_j} w_{ij}\,\varepsilon"),
                ". The paths' predictions add up to the measured change in E, with an error of "
                "order ε² (divide ε by 10 and the error falls about 100-fold); leave any one path "
                "out and the miss is of order ε.",
            ]
        )
    )
    n_paths = len(p["rows"][0]["paths"])
    headers = ["ε", "measured ΔE"] + [f"path {j}={k + 1}" for k in range(n_paths)]
    headers += ["sum of paths", "error", "error/ε²", "worst error dropping one path"]
    rows = []
    for row in p["rows"]:
        worst = max(row["drop_one"], key=lambda r: abs(r["error"]))
        rows.append(
            [f"{row['eps']:g}", f"{row['measured']:.6e}"]
            + [f"{path['predicted']:.6e}" for path in row["paths"]]
            + [
                f"{row['sum_predicted']:.6e}",
                f"{row['error']:.2e}",
                f"{row['error_over_eps2']:.4g}",
                f"{worst['error']:.2e} (without {j}={worst['j'] + 1})",
            ]
        )
    b.add(Table(headers, rows, caption="Perturbation view (measured with a float64 forward pass)"))


def _symbolic(b: Builder) -> None:
    s = b.d.symbolic
    b.add(Heading("Why a sum, symbolically (sympy)"))
    if s.get("status") != "proved":
        b.add(Para([s.get("message", "symbolic mode was skipped")]))
        return
    general = s["general"]
    b.add(Para(["The multivariate chain rule itself, for any E(z_1(y), ..., z_n(y)):"]))
    b.add(
        Equation(
            Math(general["lhs"], general["lhs_latex"]), [Math(general["rhs"], general["rhs_latex"])]
        )
    )
    b.add(Para([s["description"]]))
    b.add(Equation(Math(s["lhs"], s["lhs_latex"]), [Math(s["derivative"], s["derivative_latex"])]))
    b.add(Para(["and the sum over j, with each ∂E/∂z_j differentiated on its own:"]))
    b.add(Equation(Math(s["lhs"], s["lhs_latex"]), [Math(s["sum_form"], s["sum_form_latex"])]))
    b.add(
        Para(
            [
                f"sympy simplifies their difference to {s['difference']}; with the numbers "
                f"substituted both give {s['value']:.12g} (engine: {s['engine_value']:.12g})."
            ]
        )
    )


def _summary(b: Builder) -> None:
    d = b.d
    checks = d.all_checks()
    b.add(Heading("Checks"))
    if not checks:
        b.add(Para(["No finite-difference checks were run (check=False)."]))
    else:
        verdict = "all agree" if d.all_ok else "SOME DISAGREE"
        b.add(
            Para(
                [
                    f"{len(checks)} gradients checked against central finite differences "
                    f"(eps {d.eps:g}, tolerance {d.atol:g} + {d.rtol:g}·|value|): {verdict}; "
                    f"largest difference {d.max_difference:.2e}."
                ]
            )
        )
    for note in d.notes:
        b.add(Para([note]))
