"""The backward pass: dE/dy and dE/dz for the output layer and each layer below it."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.explainer import margin
from chainrule.explainer.blocks import Builder, Equation, Heading, Para, letter_of
from chainrule.explainer.network import formula_written, loss_shown
from chainrule.explainer.notation import Math, grouped, join, num


def output_layer(b: Builder) -> None:
    d, n = b.d, b.n
    top = d.n_layers
    j = letter_of(b, top)
    record = d.layers[top]
    b.add(Heading(f"Backward pass: the output layer {j} (layer {top})"))
    if not formula_written(d.loss):  # a loss of one's own: its backward's numbers, no formula
        _own_loss_output_layer(b)
        return
    loss, act = d.loss.name, record.activation
    y, t, dy, dz = n.y(top, j), n.t(j), n.dE_dy(top, j), n.dE_dz(top, j)
    # the loss's own share of each term: 1/n for a mean over cases, 1/(n k) over every output
    divisor = d.loss.divisor(d.n_cases, record.size)
    scale = 1.0 / divisor

    def share(*parts: Math, general: bool = False) -> Math:
        """The term ``parts`` spell, times the loss's share where it is not 1."""
        if scale == 1.0:
            return join(list(parts), "", "")
        # a formula writes the fraction, as the Error line does: (1/3), not 0.3333; a step
        # with numbers the number, to the digits of those it multiplies (the step then
        # reproduces its result)
        factor = Math(f"(1/{divisor})", rf"\frac{{1}}{{{divisor}}}") if general else b.num(scale)
        return factor + Math("·", r"\cdot") + grouped(*parts)

    # cross-entropy's dE/dz_j is (sum_k t_k) y_j - t_j: y_j - t_j only for rows summing to 1
    totals = _target_totals(d) if loss == "cross-entropy" else None
    if d.loss.output_activation is not None and totals is not None:
        t_k = n.t("k")
        b.add(Para([f"With {act} outputs and {loss} the factors cancel to the targets' total:"]))
        total = Math(f"(Σ_k {t_k.plain}) ", rf"\Big(\sum_k {t_k.latex}\Big)\,")
        b.add(Equation(dz, [share(total + y + Math(" − ", " - ") + t, general=True)]))
        lecture = y + Math(" − ", " - ") + t
        b.add(Para(["(a case's targets do not sum to 1, so this is not ", lecture, ")"]))
    elif d.loss.output_activation is not None:  # the loss applies its own unit to the logits
        b.add(Para([f"With {act} outputs and {loss} the factors cancel:"]))
        b.add(Equation(dz, [share(y + Math(" − ", " - ") + t, general=True)]))
    else:
        if loss == "squared-error":
            b.add(
                Equation(
                    dy,
                    [
                        share(
                            Math(f"−({t.plain} − {y.plain})", f"-({t.latex} - {y.latex})"),
                            general=True,
                        )
                    ],
                )
            )
        elif loss == margin.NAME:
            e = margin.shortfall(j)
            b.add(Equation(dy, [share(e, general=True)]))
            b.add(Para(["where ", e, " is ", y, "'s shortfall from its margin, as under Error."]))
        else:
            k = d.n_cases * record.size
            two = _two_over(k)
            b.add(
                Equation(
                    dy,
                    [two + Math(f"({y.plain} − {t.plain})", rf"({y.latex} - {t.latex})")],
                )
            )
        b.add(Equation(dz, [_dz_general(b, top)]))
    for c in b.cases():
        units = b.units(top)
        for u in units:
            yv, tv = record.y[c, u], d.t[c, u]
            label = b.case_label(c, f"{j}={u + 1}")
            if record.dE_dy is not None:
                steps = []
                # y and t to the digits their difference needs (a logistic y of 0.99997
                # printed as 1 made "-(1 - 1) = -2.585e-05")
                if loss == "squared-error":
                    shortfall = grouped(*_difference(b, tv, yv, tv - yv))
                    steps.append(share(Math("−", "-") + shortfall))
                elif loss == margin.NAME:
                    steps.append(share(*margin.step(b, d.loss, yv, tv)))
                elif loss == "mse":  # (2/k)·(y − t) with the numbers, as the formula above
                    two = _two_over(d.n_cases * record.size, r"\cdot ", "·")
                    steps.append(two + grouped(*_difference(b, yv, tv, yv - tv)))
                dy_top = n.dE_dy(top, j, u)
                steps.append(b.result(record.dE_dy[c, u]))
                b.add(Equation(dy_top, steps, d.dE_dy(top, u, c), label))
                b.add(_dz_equation(b, top, u, c, ""))
            else:
                times = [b.num(totals[c]), Math("·", r"\cdot ")] if totals is not None else []
                gap, complement = None, None
                if totals is None:  # y − t as the engine has it, from z: its dE/dz over 1/n
                    gap = float(record.dE_dz[c, u]) / scale
                    complement = _complement(record, c, u, tv, gap)
                if complement is not None:  # y rounds to 1: written 1 − σ(−z), as it is
                    step = share(grouped(Math("1 − ", "1 - "), b.num(complement)), _MINUS,
                                 b.num(tv))  # fmt: skip
                elif gap is not None:
                    step = share(*_difference(b, yv, tv, gap))
                else:
                    step = share(*times, b.num(yv), _MINUS, b.num(tv))
                b.add(
                    Equation(
                        n.dE_dz(top, j, u),
                        [step, b.result(record.dE_dz[c, u])],
                        d.dE_dz(top, u, c),
                        label,
                    )
                )
                if complement is not None:
                    b.add(Para(_complement_note(b, top, j, u, complement)))
    b.more(top, len(b.units(top)))


def _own_loss_output_layer(b: Builder) -> None:
    """The output layer's step for a loss of the user's own, whose formula the explainer
    cannot write out: its dE/dy (dE/dz, for a loss that applies its own unit to the logits)
    is the number the engine's backward through the loss gives, each checked by a finite
    difference of the loss's forward; dE/dz = f'(z) dE/dy from there on as for any loss."""
    d, n = b.d, b.n
    top = d.n_layers
    j = letter_of(b, top)
    record = d.layers[top]
    name, own = loss_shown(d.loss), d.loss.output_activation
    E, y, z = n.E(), n.y(top, j), n.z(top, j)
    # the loss's own numbers, as under Error: the explainer cannot write out its formula
    if own is None:
        b.add(
            Para(
                [
                    "Each ", n.dE_dy(top, j), f" below is the number from {name}'s own backward "
                    "(the engine's backward of ", E, " through the loss, with respect to ", y,
                    "), checked by a finite difference of its forward; the explainer cannot "
                    "write out its formula. From there the step is the unit's own:",
                ]
            )
        )  # fmt: skip
        b.add(Equation(n.dE_dz(top, j), [_dz_general(b, top)]))
    else:
        b.add(
            Para(
                [
                    f"{name} applies the {own} to the logits itself, so each ", n.dE_dz(top, j),
                    f" below is the number from {name}'s own backward (the engine's backward of ",
                    E, " through the loss, with respect to ", z, "), checked by a finite "
                    "difference of its forward; the explainer cannot write out its formula.",
                ]
            )
        )  # fmt: skip
    for c in b.cases():
        for u in b.units(top):
            label = b.case_label(c, f"{j}={u + 1}")
            if record.dE_dy is not None:
                dy = record.dE_dy[c, u]
                b.add(Equation(n.dE_dy(top, j, u), [b.result(dy)], d.dE_dy(top, u, c), label))
                b.add(_dz_equation(b, top, u, c, ""))
            else:
                dz = record.dE_dz[c, u]
                b.add(Equation(n.dE_dz(top, j, u), [b.result(dz)], d.dE_dz(top, u, c), label))
    b.more(top, len(b.units(top)))


#: the minus sign between two numbers of a step
_MINUS = Math(" − ", " - ")


#: The most significant digits a number of a step is shown with (a float64 is read back from
#: 17): :func:`_difference` raises y's and t's to what their difference needs, up to these
_MOST_DIGITS = 17


def _difference(b: Builder, first: float, second: float, result: float) -> tuple[Math, ...]:
    """``first − second`` with the numbers (the parts of a step, for ``grouped`` to join),
    each shown to the digits their difference needs to give ``result`` (within a thousandth
    of it, as :func:`_own_factor` asks of a factor): the write-up's digits where those do, more
    where a printed 1 − 1 would read 0 (a logistic y of 0.99997 against a target of 1, whose
    gradient is -2.585e-05). Where even float64's digits do not (the engine computed
    ``result`` from z, and y is within rounding of t), the write-up's digits, and the caller
    says so (:func:`_complement`)."""
    for digits in range(b.o.digits, _MOST_DIGITS + 1):
        shown = [float(f"{v + 0.0:.{digits}g}") for v in (first, second)]
        if abs(shown[0] - shown[1] - result) <= 1e-3 * abs(result):
            return num(first, digits), _MINUS, num(second, digits)
    return b.num(first), _MINUS, b.num(second)


def _complement(record: Any, c: int, u: int, t: float, gap: float) -> float | None:
    """A logistic output's 1 − y, σ(−z), where y is within float64's rounding of 1 (a logit of
    40: y is stored as 1) and the engine's dE/dz, y − t computed from z, keeps digits that y's
    own number lost: then the step writes y as 1 − σ(−z), the number it is, and (1 − σ(−z)) − t
    gives the engine's value. None where y's own number gives it (:func:`_difference`)."""
    if record.activation != "logistic" or record.z is None:
        return None
    y, z = float(record.y[c, u]), float(record.z[c, u])
    if z <= 0 or abs((y - t) - gap) <= 1e-3 * abs(gap):
        return None
    with np.errstate(over="ignore"):
        complement = float(1.0 / (1.0 + np.exp(z)))  # σ(−z), no cancellation
    if abs((1.0 - t) - complement - gap) > 1e-3 * abs(gap):
        return None
    return complement


def _complement_note(b: Builder, top: int, j: str, u: int, complement: float) -> list:
    """Why a step writes a logistic output as 1 − σ(−z): its y is within float64's rounding of
    1, shown as 1 above, and the engine computes dE/dz from z, keeping the digits 1 − 1 loses."""
    n = b.n
    y, z = n.y(top, j, u), n.z(top, j, u)
    return [
        "(",
        y,
        " = 1/(1 + e^(−",
        z,
        f")) is 1 − {complement:.4g}, within float64's rounding of 1, which is how the forward "
        "pass shows it; the engine computes ",
        n.dE_dz(top, j, u),
        " from ",
        z,
        " itself, so its value keeps what 1 − 1 would lose.)",
    ]


def _target_totals(d) -> np.ndarray | None:
    """Each case's targets summed, where some case's do not sum to 1 (multi-hot or unnormalised
    rows, which cross-entropy takes as weights: dE/dz_j = (sum_k t_k) y_j - t_j); else None."""
    totals = d.t.sum(axis=1)
    return None if np.allclose(totals, 1.0, rtol=0.0, atol=1e-6) else totals


def _dz_general(b: Builder, layer: int) -> Math:
    """dE/dz = f'(z) dE/dy written for the layer's activation."""
    n, letter = b.n, letter_of(b, layer)
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
        y_k, dy_k = n.y(layer, "k"), n.dE_dy(layer, "k")
        return Math(
            f"{y.plain} ({dy.plain} − Σ_k {y_k.plain} {dy_k.plain})",
            rf"{y.latex}\left({dy.latex} - \sum_k {y_k.latex}\,{dy_k.latex}\right)",
        )
    if act == "identity":
        return dy
    raise _unwritten(act, "dE/dz")


def _dz_equation(b: Builder, layer: int, u: int, c: int, label: str) -> Equation:
    d, n = b.d, b.n
    letter = letter_of(b, layer)
    record = d.layers[layer]
    act = record.activation
    yv, dyv = record.y[c, u], record.dE_dy[c, u]
    times = Math("·", r"\cdot")
    if act == "logistic":
        own = _own_factor(b, yv, lambda y: 1 - y)
        one_minus = grouped(Math("1 − ", "1 - "), b.num(yv)) if own is None else grouped(own)
        step = b.num(yv) + times + one_minus
        step = step + times + b.num(dyv)
    elif act == "tanh":
        own = _own_factor(b, yv, lambda y: 1 - y * y)
        squared = grouped(b.num(yv), power=True) + Math("²", "^2")
        step = grouped(Math("1 − ", "1 - "), squared) if own is None else grouped(own)
        step = step + times + b.num(dyv)
    elif act == "relu":
        on = "1" if record.z[c, u] > 0 else "0"
        step = Math(f"{on}·{b.num(dyv).plain}", rf"{on}\cdot{b.num(dyv).latex}")
    elif act == "softmax":
        step = _softmax_step(b, record, u, c)
    elif act == "identity":  # a linear unit passes dE/dy on: its number would only repeat it
        step = n.dE_dy(layer, letter, u)
    else:
        raise _unwritten(act, "dE/dz step")
    return Equation(
        n.dE_dz(layer, letter, u), [step, b.result(record.dE_dz[c, u])], d.dE_dz(layer, u, c), label
    )


def _softmax_step(b: Builder, record: Any, u: int, c: int) -> Math:
    """y_j (dE/dy_j − Σ_k y_k dE/dy_k) with this case's numbers: a softmax unit's z_j moves
    every y_k, so its dE/dz_j takes the layer's weighted sum of dE/dy_k. Where the printed
    numbers' difference is off by more than a thousandth of itself (dE/dy_j close to the sum),
    the difference is given as its own number, as :func:`_own_factor` does."""
    yv, dyv = record.y[c, u], record.dE_dy[c, u]
    weighted = float(np.dot(record.y[c], record.dE_dy[c]))  # Σ_k y_k dE/dy_k
    printed = [float(f"{v + 0.0:.{b.o.digits}g}") for v in (dyv, weighted)]
    exact = float(dyv) - weighted
    if abs(printed[0] - printed[1] - exact) <= 1e-3 * abs(exact):
        gap = grouped(b.num(dyv), _MINUS, b.num(weighted))
    else:
        gap = grouped(b.num(exact))  # one number: as num() wrote it, not wrapped again
    return b.num(yv) + Math("·", r"\cdot") + gap


def _own_factor(b: Builder, y: float, factor) -> Math | None:
    """The factor ``factor(y)`` (1 − y, 1 − y²) as its own number, from the full-precision y,
    where the factor computed from y as printed is off by more than a thousandth of itself: a
    saturated unit's y of 0.99998 prints as 1, and 1·(1 − 1)·0.02268 = 4.542e-07 does not
    hold. None where the printed y gives the factor (the step then reads 1 − y with y's
    number, as the lecture writes it)."""
    printed = float(f"{y + 0.0:.{b.o.digits}g}")
    exact = factor(float(y))
    if abs(factor(printed) - exact) <= 1e-3 * abs(exact):
        return None
    return b.num(exact)


def hidden_layer(b: Builder, layer: int) -> None:
    d, n = b.d, b.n
    i, j = letter_of(b, layer), letter_of(b, layer + 1)
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
                "Each unit sends its output to every unit above it"
                + (" in its block" if d.connections[layer].connected is not None else "")
                + ", so its gradient is the sum of what each of them sends back:"
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
            # the engine's dE/dy_i, which the check mark and the next line's dE/dz use: the terms
            # re-added in float64 (d.sum_over_j) differ from a float32 model's own sum in the
            # digits past float32's, which --digits 8 and more would print as another number
            engine = d.dE_dy(layer, u, c)
            label = b.case_label(c, f"{i}={u + 1}")
            # one term: its product is the total, written once
            steps = [symbols, numbers, *([products] * (len(terms) > 1)), b.result(engine.value)]
            if len(terms) > 8:  # a wide layer: keep the sum readable
                steps = [symbols if len(terms) <= 12 else gen, b.result(engine.value)]
            b.add(Equation(n.dE_dy(layer, i, u), steps, engine, label))
            if layer > 0:
                b.add(_dz_equation(b, layer, u, c, ""))
    b.more(layer, len(units))


def _matrix_form(b: Builder, layer: int) -> None:
    """delta^l = ((W^(l+1))^T delta^(l+1)) * sigma'(z^l) with the vectors of case 1 written out."""
    d = b.d
    conn = d.connections[layer]
    above = d.layers[layer + 1]
    l1 = layer + 1
    i_below, j_above = letter_of(b, layer), letter_of(b, l1)  # the sums' letters, w^l1_ji
    b.add(
        Para(
            [
                "In matrix form, with ",
                b.n.W(l1),  # the notation's symbol, set as maths (not W^(l+1) in LaTeX's prose)
                f" the matrix whose row {j_above}, column {i_below} is the weight from unit "
                f"{i_below} below to unit {j_above} above (the transpose of chainrule's weight "
                "layout"
                + (
                    "; 0 where no weight joins k to j, between the blocks of the nn.Parallel"
                    if conn.connected is not None
                    else ""
                )
                + "):",
            ]
        )
    )
    lhs = (
        Math(f"δ^{layer}", rf"\delta^{{{layer}}}")
        if layer > 0
        else Math(f"∇_a^{layer} C", rf"\nabla_{{a^{{{layer}}}}} C")
    )
    record = d.layers[layer]
    # a softmax has no elementwise sigma': every a_k depends on every z_j, so its Jacobian
    # diag(a) - a a^T (symmetric) multiplies the sum from above instead
    softmax = layer > 0 and record.activation == "softmax"
    sigma = (
        Math(f" ⊙ σ'(z^{layer})", rf" \odot \sigma'(z^{{{layer}}})")
        if layer > 0 and not softmax
        else Math("", "")
    )
    jacobian = Math(
        f"(diag(a^{layer}) − a^{layer} (a^{layer})ᵀ) ",
        rf"(\operatorname{{diag}}(a^{{{layer}}}) - a^{{{layer}}} (a^{{{layer}}})^{{T}}) ",
    )
    gen = Math(f"(W^{l1})ᵀ δ^{l1}", rf"(W^{{{l1}}})^{{T}} \delta^{{{l1}}}")
    if sigma.plain:  # ((W^l)ᵀ δ^l) ⊙ σ'(z): the product first, as docs/explain.md writes it
        gen = Math("(", r"\left(") + gen + Math(")", r"\right)") + sigma
    if softmax:
        gen = jacobian + gen
    if conn.weight.size <= 24:
        mat = _vector(b, conn.weight)  # our weight (n_in, n_out) is (W^(l+1))^T
        vec = _vector(b, above.dE_dz[0])
        numbers = mat + " " + vec
        if softmax:
            y = record.y[0]
            numbers = _vector(b, np.diag(y) - np.outer(y, y)) + " (" + numbers + ")"
        elif layer > 0:
            prime = _derivative_of_activation(record.activation, record.y[0], record.z[0])
            numbers = "(" + numbers + ")" + Math(" ⊙ ", r" \odot ") + _vector(b, prime)
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
    """f'(z) of an elementwise unit (softmax's Jacobian is written out by its caller)."""
    if act == "logistic":
        return y * (1 - y)
    if act == "tanh":
        return 1 - y * y
    if act == "relu":
        return (z > 0).astype(float)
    if act == "identity":
        return np.ones_like(y)
    raise _unwritten(act, "f'(z)")


def _unwritten(act: str, what: str) -> RuntimeError:
    """The error for a unit with no formula here. ``network.UNITS`` admits only the units whose
    formulas the explainer writes, so this is chainrule's own bug (a unit listed there without
    its formulas here); writing it as the identity would print false arithmetic."""
    return RuntimeError(
        f"explainer: internal error: no {what} formula for {act} units, which "
        "explainer.network.UNITS lists (a bug in chainrule; please report it)"
    )


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


def _two_over(k: int, latex_times: str = "", plain_times: str = " ") -> Math:
    """MSE's factor 2/k before (y − t): "2" where k is 1 (one case, one output), not "(2/1)"."""
    if k == 1:
        return Math(f"2{plain_times}", f"2{latex_times}")
    return Math(f"(2/{k}){plain_times}", rf"\frac{{2}}{{{k}}}{latex_times}")
