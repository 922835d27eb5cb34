"""Why a sum, symbolically: sympy differentiates E(y) through every z_j: sum_j w_ij dE/dz_j.

For a small network, :func:`prove` builds the error E as an expression in the outputs y of one
layer (symbols), the weights w_ij and biases b_j into the layer above (symbols; no b_j where that
layer has no biases), and the rest of the network above with its numbers. It differentiates E
with respect to one y_i directly, builds the sum sum_j w_ij dE/dz_j with each dE/dz_j
differentiated on its own, lets sympy simplify the difference to 0, and substitutes the
numbers, which must equal the engine's gradient.
Its ``general`` entry shows the fact underneath, for any E(z_1(y), ..., z_n(y)): the chain
rule's sum, checked against sympy's own derivative.

sympy works once, with Hinton's symbol names; :func:`spell` writes the result in any notation
(RHW's x_j and w_ji, Nielsen's a^l, z^l, w^l_jk and C) by renaming the symbols of the kept
expressions, so a derivation can be rendered in another notation than it was built in. The
expressions it keeps (``E``, ``derivative``) name each symbol as sympy reads it back
(:func:`sympy_name`: the matrix form's a^1_2 is a1_2, since sympy reads ``^`` as a power), and
``symbols`` gives each name's printed spelling and number; the views print the notation's own
(:func:`printed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.errors import MissingExtraError, extras_needed_by
from chainrule.explainer import margin
from chainrule.explainer.network import ExplainError, formula_written, loss_shown
from chainrule.explainer.notation import (
    Math,
    Notation,
    get_notation,
    plain_text,
    vector,
    weight_index,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    import sympy

    from chainrule.explainer.derivation import Derivation
    from chainrule.explainer.network import Network

#: Above this many weights and biases from the chosen layer upward, expressions get unwieldy.
MAX_SYMBOLIC_PARAMETERS = 64
MAX_SYMBOLIC_UNITS = 8
_SUPPORTED = ("logistic", "tanh", "identity", "softmax")

#: What needs sympy, as a missing extra's message names it (:func:`_sympy`).
_NEEDS_SYMPY = "symbolic mode (the sympy proof)"


def _sympy() -> ModuleType:
    """sympy, imported; where it is not installed, or is without its mpmath, a
    :class:`~chainrule.errors.MissingExtraError` naming the package and the [app] extra that
    installs both (:func:`~chainrule.errors.extras_needed_by`). sympy without mpmath raises a
    plain ImportError in its own words, raised while mpmath's ModuleNotFoundError was handled:
    that one's module is the one missing."""
    with extras_needed_by(_NEEDS_SYMPY):
        try:
            import sympy
        except ImportError as error:
            missing = error.__context__
            if type(error) is not ImportError or not isinstance(missing, ModuleNotFoundError):
                raise
            raise ModuleNotFoundError(str(error), name=missing.name) from error
    return sympy


class SymbolicTooLarge(ExplainError):
    """The network is too large (or uses units, or a loss of the user's own, whose formula
    is not known) for symbolic mode; the numbers still stand."""


@dataclass(frozen=True)
class _General:
    """The chain rule's sum for n units above, with sympy's own derivative checked against it."""

    n: int
    verified: bool
    readable: sympy.Expr  # sum_k dE/dz_k dz_k/dy, in E, y and z_1..z_n
    y: sympy.Symbol
    zs: list  # z_k(y), applied functions
    Z: tuple  # z_k as variables of E
    E_of_z: sympy.Expr

    def spelled(self, E: Math, y: Math, z: Any) -> dict[str, Any]:
        """The rule with E, y and z_k (``z(k)``, 0-based) named as a notation names them."""
        sympy = _sympy()

        y_new = sympy.Symbol(y.plain)
        names = [z(k).plain for k in range(self.n)]
        Z_new = [sympy.Symbol(name) for name in names]
        rename: dict = {self.E_of_z: sympy.Function(E.plain)(*Z_new), self.y: y_new}
        for k, name in enumerate(names):
            rename[self.Z[k]] = Z_new[k]
            rename[self.zs[k]] = sympy.Function(name)(y_new)
        readable = self.readable.xreplace({old: new for old, new in rename.items() if old != new})
        # E(z_1(y)) of one unit above, E(z_1(y), z_2(y)) of two, E(z_1(y), ..., z_n(y)) of more
        ends = [0] if self.n == 1 else [0, self.n - 1]
        plain = [f"{z(k).plain}({y.plain})" for k in ends]
        latex = [f"{z(k).latex}({y.latex})" for k in ends]
        if self.n > 2:
            plain.insert(1, "...")
            latex.insert(1, r"\ldots")
        return {
            "verified": self.verified,
            "lhs": f"d{E.plain}({', '.join(plain)})/d{y.plain}",
            "lhs_latex": rf"\frac{{d}}{{d{y.latex}}} {E.latex}\big({', '.join(latex)}\big)",
            "rhs": str(readable),
            "rhs_pretty": sympy.pretty(readable, use_unicode=True, wrap_line=False),
            "rhs_latex": sympy.latex(readable),
        }


def _general(n: int) -> _General:
    sympy = _sympy()

    y = sympy.Symbol("y")
    zs = [sympy.Function(f"z_{j}")(y) for j in range(1, n + 1)]
    E = sympy.Function("E")(*zs)
    derivative = sympy.diff(E, y)
    Z = sympy.symbols(f"z_1:{n + 1}")
    E_of_z = sympy.Function("E")(*Z)
    readable = sum(sympy.Derivative(E_of_z, Z[k]) * sympy.Derivative(zs[k], y) for k in range(n))
    # sympy's own answer, with its placeholder variables renamed, is the sum above
    same = sympy.simplify(derivative.doit() - readable.subs(dict(zip(Z, zs))).doit()) == 0
    return _General(n, bool(same), readable, y, zs, Z, E_of_z)


def _activation(name: str, z: list[sympy.Expr]) -> list[sympy.Expr]:
    sympy = _sympy()

    if name == "logistic":
        return [1 / (1 + sympy.exp(-v)) for v in z]
    if name == "tanh":
        return [sympy.tanh(v) for v in z]
    if name == "softmax":
        total = sum(sympy.exp(v) for v in z)
        return [sympy.exp(v) / total for v in z]
    return list(z)


def _float(value: float) -> sympy.Expr:
    """A number as a sympy Float, for the expressions shown (they read as the network's numbers)."""
    sympy = _sympy()

    return sympy.Float(float(value))


def _exact(value: float) -> sympy.Expr:
    """A float64 as the exact rational it stands for, for the expressions that are compared:
    with Floats, simplify leaves rounding crumbs (7.4e-17*w_11) instead of 0."""
    sympy = _sympy()

    return sympy.Rational(float(value))


def _error(
    d: Derivation, z: list, y: list, case: int, number: Callable[[float], sympy.Expr] = _float
) -> sympy.Expr:
    """This case's share of E: its per-case sum over the output units over the loss's divisor
    (chainrule's losses alone: :func:`_check_loss` skips the proof for another)."""
    sympy = _sympy()

    t = [number(v) for v in d.t[case]]
    share = sympy.Integer(1) / d.loss.divisor(d.n_cases, len(y))
    if d.loss.name == "squared-error":
        return share * sympy.Rational(1, 2) * sum((tj - yj) ** 2 for tj, yj in zip(t, y))
    if d.loss.name == "mse":
        return share * sum((tj - yj) ** 2 for tj, yj in zip(t, y))
    if d.loss.name == "cross-entropy":
        return -share * sum(tj * sympy.log(yj) for tj, yj in zip(t, y))
    if d.loss.name == margin.NAME:  # the pieces in effect at this case's outputs
        values = zip(y, d.layers[-1].y[case], d.t[case])
        e = [margin.shortfall_expression(d.loss, yj, v, tj, number) for yj, v, tj in values]
        return share * sympy.Rational(1, 2) * sum(ej**2 for ej in e)
    return -share * sum(tj * sympy.log(yj) + (1 - tj) * sympy.log(1 - yj) for tj, yj in zip(t, y))


def _sizes_from(d: Derivation, layer: int) -> tuple[int, int]:
    """The weights and biases from ``layer`` up, and the widest layer from there."""
    params = sum(
        c.n_weights + (0 if c.bias is None else c.bias.size) for c in d.connections[layer:]
    )
    return params, max(r.size for r in d.layers[layer:])


def _fits(d: Derivation, layer: int) -> bool:
    params, widest = _sizes_from(d, layer)
    return params <= MAX_SYMBOLIC_PARAMETERS and widest <= MAX_SYMBOLIC_UNITS


def _smaller_choice(d: Derivation, layer: int) -> str:
    """Which --unit layer symbolic mode could take instead (one above: fewer weights above it;
    a top unit has no sum to prove), or that none can."""
    fitting = [above for above in range(layer + 1, d.n_layers) if _fits(d, above)]
    if fitting:
        return f"a --unit in layer {fitting[0]} or above fits"
    return "no layer of this network fits: use a smaller network, or --no-symbolic"


def _check_loss(d: Derivation) -> None:
    """Skip the proof for a loss of the user's own: sympy's E is written with the loss's
    formula (:func:`_error`), which the explainer knows for chainrule's losses alone."""
    if not formula_written(d.loss):
        raise SymbolicTooLarge(
            f"symbolic mode writes E with its loss's formula, and the loss, {loss_shown(d.loss)},"
            " is a loss of your own whose formula the explainer cannot write out; the numeric "
            "derivation above stands (its output dE/dy from the loss's own backward, every "
            "step below it written out and checked by finite differences)"
        )


def _check_size(d: Derivation, layer: int) -> None:
    params, widest = _sizes_from(d, layer)
    acts = {r.activation for r in d.layers[layer + 1 :]}
    if not _fits(d, layer):
        raise SymbolicTooLarge(
            f"symbolic mode: the network from layer {layer} up has {params} weights and biases "
            f"and up to {widest} units in a layer; symbolic mode handles at most "
            f"{MAX_SYMBOLIC_PARAMETERS} and {MAX_SYMBOLIC_UNITS} ({_smaller_choice(d, layer)}); "
            "the numeric derivation above stands"
        )
    unsupported = acts - set(_SUPPORTED)
    if unsupported:
        raise SymbolicTooLarge(
            f"symbolic mode covers logistic, tanh, linear and softmax units, not "
            f"{', '.join(sorted(unsupported))}; the numeric derivation above stands"
        )


#: E as a function of the layer above, in sympy's operations: past this, substituting the layer
#: below and differentiating takes minutes (a 3-5-5-2 tanh network from layer 0 has 189).
MAX_EXPRESSION_OPS = 100


def _check_expression_size(E_of_z: sympy.Expr, layer: int) -> None:
    sympy = _sympy()

    ops = sympy.count_ops(E_of_z)
    if ops > MAX_EXPRESSION_OPS:
        raise SymbolicTooLarge(
            f"symbolic mode: the error written through the layers above layer {layer} has {ops} "
            f"operations, and symbolic mode writes out at most {MAX_EXPRESSION_OPS} (it would "
            "take minutes); a --unit in a layer nearer the top has fewer layers above it, or use "
            "a smaller network. The numeric derivation above stands"
        )


class Proof(dict):
    """:func:`prove`'s result: JSON-able strings in the derivation's notation, and (as the
    attribute ``expressions``, which JSON leaves out) sympy's expressions in Hinton's symbols,
    from which :func:`spell` writes the proof in any notation."""

    expressions: _Expressions | None = None


@dataclass(frozen=True)
class _Expressions:
    """What sympy built and derived, in Hinton's symbols: y_a below, w_aj, b_j and z_j above."""

    layer: int
    unit: int
    ys: tuple
    W: Any  # sympy.Matrix of w_aj, row a below, column j above
    bs: tuple  # empty where the layer has no biases
    Z: tuple  # the units above, as the free variables of dE/dz_j
    E_of_y: sympy.Expr
    derivative: sympy.Expr
    dE_dz_first: sympy.Expr  # dE/dz_1, the one the sum's line writes out
    general: _General
    case: int = 0  # whose share of E the expressions are, of n_cases
    n_cases: int = 1
    values: dict = field(default_factory=dict)  # each symbol's number (y_a, w_aj, b_j)


def prove(d: Derivation, layer: int, unit: int, case: int = 0) -> dict[str, Any]:
    """sympy's dE/dy_i for unit ``unit`` (0-based) of ``layer``, against the sum over j.

    The strings are in the derivation's notation (:func:`spell` writes them in another).
    Raises :class:`SymbolicTooLarge` for a network beyond the limits above.
    """
    sympy = _sympy()

    d._unit_record("prove", layer, unit, case, below_top=True)
    _check_loss(d)
    _check_size(d, layer)
    n_below, n_above = d.layers[layer].size, d.layers[layer + 1].size
    # real symbols, as every number of a network is: sympy asks whether tanh(...) of a nested
    # expression is real while it squares (t - y); for symbols of unknown kind that question
    # ran polynomial gcds for minutes on a 3-3-2-3 network
    real = {"real": True}
    ys = sympy.symbols(f"y_1:{n_below + 1}", **real)
    conn = d.connections[layer]
    # w_aj where a weight joins a to j, else 0 (a Parallel layer has none between its blocks)
    W = sympy.Matrix(
        n_below,
        n_above,
        lambda a, j: (
            sympy.Symbol(f"w_{weight_index(a, j)}", **real)
            if conn.joins(a, j)
            else sympy.Integer(0)
        ),
    )
    # b_j only where the layer has biases: Linear(..., bias=False) adds nothing to z_j
    bs = () if conn.bias is None else sympy.symbols(f"b_1:{n_above + 1}", **real)
    Z = sympy.symbols(f"z_1:{n_above + 1}", **real)  # the units above, as free variables
    z_of_y = [
        (bs[j] if bs else 0) + sum(ys[a] * W[a, j] for a in range(n_below)) for j in range(n_above)
    ]
    E_of_z = _rest_of_network(d, layer + 1, list(Z), case)
    _check_expression_size(E_of_z, layer)
    at_z = dict(zip(Z, z_of_y))
    E_of_y = E_of_z.subs(at_z)
    derivative = sympy.diff(E_of_y, ys[unit])
    dE_dz = [sympy.diff(E_of_z, Z[j]) for j in range(n_above)]
    # the comparison is made again with the numbers above as exact rationals (the float64 values
    # themselves), so that a true identity simplifies to exactly 0, not to rounding crumbs
    exact_E_of_z = _rest_of_network(d, layer + 1, list(Z), case, _exact)
    exact_derivative = sympy.diff(exact_E_of_z.subs(at_z), ys[unit])
    exact_sum = _sum_form(exact_E_of_z, W, Z, at_z, unit)
    free = [w for w in W if w.is_Symbol]
    difference, method = _difference(exact_derivative - exact_sum, [*ys, *free, *bs])
    # exact too: with 53-bit Floats, evalf(30) cancels 1 - sigma(30) to noise (w sigma(30) gave
    # 30.03, and at 40 a log of a negative rounding crumb made the value complex)
    numbers = {ys[a]: _exact(d.layers[layer].y[case, a]) for a in range(n_below)}
    numbers.update(
        {
            W[a, j]: _exact(conn.weight[a, j])
            for a in range(n_below)
            for j in range(n_above)
            if conn.joins(a, j)
        }  # fmt: skip
    )
    numbers.update({b: _exact(conn.bias[j]) for j, b in enumerate(bs)})
    # 0 by simplify is a proof; 0 at random points (an expression too long to simplify) is
    # evidence, said as such in the JSON as in the text ("agrees")
    agreed = "proved" if method == "simplify" else "agrees"
    proof = Proof(
        status=agreed if difference == 0 else "differs",
        method=method,
        layer=layer,
        unit=unit,
        case=case,
    )
    proof.expressions = _Expressions(
        layer, unit, ys, W, bs, Z, E_of_y, derivative, dE_dz[0], _general(n_above), case,
        d.n_cases, {symbol: float(value) for symbol, value in numbers.items()},
    )  # fmt: skip
    letters = d.layers[layer].letter, d.layers[layer + 1].letter
    spelled = _spelled(proof.expressions, get_notation(d.notation), *letters)
    general = spelled.pop("general")
    proof.update(spelled)
    proof.update(
        difference=str(difference),
        equal=bool(difference == 0),
        # the compared (exact) expressions, so that a difference shows in the numbers too
        value=exact_value(exact_derivative.subs(numbers)),
        sum_value=exact_value(exact_sum.subs(numbers)),
        engine_value=float(d.layers[layer].dE_dy[case, unit]),
        general=general,
    )
    # whether the engine's float value is the exact one up to rounding: a program tells a wrong
    # gradient from a rounded one here ("proved" says only that the sum identity holds)
    bound = engine_rounding_bound(d, layer, proof["value"])
    proof.update(
        engine_rounding_bound=bound,
        engine_agrees=bool(abs(proof["engine_value"] - proof["value"]) <= bound),
    )
    return proof


#: The working precisions (decimal digits) :func:`exact_value` tries in turn: a saturated unit's
#: 1 - sigma(z) cancels about z / ln 10 digits (z = 400: 174; sympy's default allows 100, and
#: past it evalf(30) returned noise, 1.4e-26 for a dE/dy of 1)
EXACT_PRECISIONS = (100, 1_000, 10_000)


def exact_value(expr: sympy.Expr) -> float:
    """An expression of exact numbers (the float64 values as rationals) as the float nearest it,
    evaluated to 30 digits at a working precision that grows until sympy can tell every digit
    (strict: cancellation past the precision raises instead of returning noise). Past the
    largest of :data:`EXACT_PRECISIONS` (a z of over 20,000), the best evalf gives."""
    sympy = _sympy()

    for maxn in EXACT_PRECISIONS:
        try:
            return float(sympy.N(expr, 30, maxn=maxn, strict=True))
        except sympy.core.evalf.PrecisionExhausted:
            continue
    return float(sympy.N(expr, 30, maxn=EXACT_PRECISIONS[-1]))


#: How many times the first-order size of its rounding (machine epsilon times the size of its
#: terms) the engine's dE/dy may be off before it counts as wrong: on about 470 random logistic
#: and tanh networks (squared error, mse, cross-entropy and binary cross-entropy, float32 and
#: float64, weights up to 12) the largest measured was 3.6 times.
ROUNDING_MARGIN = 32


def engine_rounding_bound(d: Derivation, layer: int, exact: float) -> float:
    """How far rounding in the model's dtype can leave the engine's dE/dy of ``layer`` from the
    exact value ``exact``: :data:`ROUNDING_MARGIN` times the dtype's machine epsilon times the
    size of the terms those gradients are a difference of (the loss's |y| + |t| carried down by
    |w|, with a unit's slope computed from its rounded y, as a saturated logistic's y(1 - y),
    adding its own: :func:`chainrule.explainer.build.term_sizes`), plus |exact|. A saturated
    unit's y(1 - y) that loses its digits stays within it; a rule 10% off does not."""
    from chainrule.explainer.build import term_sizes  # (build imports this module)

    cancelled, _ = term_sizes(d.layers, d.connections, d.t, d.loss, d.error)
    machine = float(np.finfo(np.dtype(d.dtype)).eps)
    return ROUNDING_MARGIN * machine * (cancelled["dE_dy", layer] + abs(exact))


def _sum_form(E_of_z: sympy.Expr, W: Any, Z: tuple, at_z: dict, unit: int) -> sympy.Expr:
    """sum_j w_ij dE/dz_j, each dE/dz_j differentiated on its own and then written in the y's."""
    sympy = _sympy()

    return sum(W[unit, j] * sympy.diff(E_of_z, Z[j]).subs(at_z)
               for j in range(len(Z)) if W[unit, j] != 0)  # fmt: skip


def spell(proof: dict[str, Any], n: Notation, i: str, j: str) -> dict[str, Any]:
    """The proof's formulas and description in notation ``n``, with ``i`` the letter of the
    layer below and ``j`` of the layer above; sympy's work is renamed, not redone.

    A proof without its expressions (plain data, or skipped) is returned as it is.
    """
    e = getattr(proof, "expressions", None)
    return dict(proof) if e is None else {**proof, **_spelled(e, n, i, j)}


def description(proof: dict[str, Any], n: Notation, i: str, j: str) -> list[str | Math]:
    """What sympy writes and differentiates, in notation ``n`` (``i`` and ``j`` as in
    :func:`spell`): text and symbols, for a renderer to typeset."""
    e = getattr(proof, "expressions", None)
    return [proof["description"]] if e is None else _description(e, n, i, j)


def sympy_name(symbol: Math) -> str:
    """The name under which sympy reads ``symbol`` back (``sympy.sympify``): its plain text,
    y_1 and w_12 as they are, the matrix form's a^1_2 and w^2_12 without the caret (a1_2,
    w2_12), which sympify would read as a power (a**12: ``1_2`` is the number 12 in Python)."""
    name = symbol.plain.replace("^", "").replace(",", "_")  # w_1,12 (past 9 units): w_1_12
    if not name.isidentifier():
        raise ValueError(f"symbolic: {symbol.plain!r} has no name sympy can read back")
    return name


#: a name in sympy's plain text of an expression (exp and log are names too, left as they are)
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")


def printed(text: str, symbols: dict[str, Any] | None) -> str:
    """sympy's plain ``text`` of an expression with each symbol's name (:func:`sympy_name`) as
    the notation prints it (``symbols``, a proof's: name -> {"plain": ...}): a1_2 -> a^1_2."""
    if not symbols:
        return text
    return _NAME.sub(lambda m: symbols.get(m[0], {}).get("plain", m[0]), text)


def _spelled(e: _Expressions, n: Notation, i: str, j: str) -> dict[str, Any]:
    sympy = _sympy()

    layer, unit, above = e.layer, e.unit, e.layer + 1
    # Hinton's symbol -> the notation's under its sympy name, that one's LaTeX, each name's
    # printed spelling, and those of E's symbols with their numbers (the JSON's "symbols")
    named, latex, spellings, symbols = {}, {}, {}, {}
    for old, new in [
        *[(e.ys[a], n.y(layer, i, a)) for a in range(len(e.ys))],
        *[(e.bs[k], n.b(above, j, k)) for k in range(len(e.bs))],
        *[(e.Z[k], n.z(above, j, k)) for k in range(len(e.Z))],
        *[(e.W[a, k], n.w(layer, i, a, j, k))
          for a in range(len(e.ys)) for k in range(len(e.Z)) if e.W[a, k] != 0],
    ]:  # fmt: skip
        name = sympy_name(new)
        spellings[name] = {"plain": new.plain}
        if old in e.values:  # the z_j above are variables of dE/dz_j, not numbers of E
            symbols[name] = {"plain": new.plain, "value": e.values[old]}
        if old.name != name:
            named[old] = sympy.Symbol(name)
            latex[named[old]] = new.latex

    def renamed(expr: sympy.Expr) -> sympy.Expr:
        return expr.xreplace(named)

    derivative = renamed(e.derivative)
    fed = [k for k in range(len(e.Z)) if e.W[unit, k] != 0]  # a block layer's: its block
    w_row = [n.w(layer, i, unit, j, k) for k in fed]
    dE_dz = [n.dE_dz(above, j, k) for k in fed]
    shown = sum(sympy.Symbol(w.plain) * sympy.Symbol(_ascii_d(dz)) for w, dz in zip(w_row, dE_dz))
    each = _ascii_d(n.dE_dz(above, j))
    dE_dyi = n.dE_dy(layer, i, unit)
    # E and the derivative whole, as sympy prints them in sympy's names (sympify reads them
    # back in every notation); the views print the notation's own and shorten them
    # (for_reading); the sum's line is for reading only: its terms, with the first dE/dz_j
    # written out, at most SUM_FORM_CHARACTERS of it, and "..." for the others
    first = _short(printed(str(renamed(e.dE_dz_first)), spellings), SUM_FORM_CHARACTERS)
    return {
        "description": plain_text(_description(e, n, i, j)),
        "E": str(renamed(e.E_of_y)),
        "E_latex": sympy.latex(renamed(e.E_of_y), symbol_names=latex),
        "symbols": symbols,
        "lhs": _ascii_d(dE_dyi),
        "lhs_latex": dE_dyi.latex,
        "derivative": str(derivative),
        "derivative_latex": sympy.latex(derivative, symbol_names=latex),
        # "..." for the other j's, none where there is one j
        "sum_form": f"{shown}  with each {each} = {first} ({j} = 1){' ...' * (len(fed) > 1)}",
        "sum_terms": str(shown),
        "first_dE_dz": first,
        "sum_form_latex": " + ".join(f"{w.latex} {dz.latex}" for w, dz in zip(w_row, dE_dz)),
        "general": e.general.spelled(*general_names(n, layer, i, j)),
    }


def general_names(n: Notation, layer: int, i: str, j: str) -> tuple[Math, Math, Any]:
    """E, y and k -> z_k (0-based) of the general chain rule, as notation ``n`` names the error,
    the layer below (its vector, y or a^l) and the units above (z_k, x_k or z^l_k)."""
    return n.E(), vector(n.y(layer, i), i), lambda k: n.z(layer + 1, j, k)


def _description(e: _Expressions, n: Notation, i: str, j: str) -> list[str | Math]:
    layer, unit, above = e.layer, e.unit, e.layer + 1
    biases = [" and biases ", n.b(above, j)] if e.bs else []
    return [
        "sympy writes ",
        *_share_of_error(e, n),
        " as a function of ",
        _units(n.y(layer, i, 0), n.y(layer, i, len(e.ys) - 1), len(e.ys)),
        " through ",
        _units(n.z(above, j, 0), n.z(above, j, len(e.Z) - 1), len(e.Z)),
        " (weights ",
        n.w(layer, i, None, j, None),
        *biases,
        " as symbols, the layers above with their numbers) and differentiates it with respect to ",
        n.y(layer, i, unit),
        ":",
    ]


def _share_of_error(e: _Expressions, n: Notation) -> list[str | Math]:
    """What sympy writes out: E itself for one case; of a batch, the proof's case's share of E
    (the loss's terms for that case), whose derivative is E's: no other case's terms depend on
    this case's y's."""
    if e.n_cases == 1:
        return [n.E()]
    case, others = e.case + 1, e.n_cases - 1
    theirs = "the other case's" if others == 1 else f"the {others} other cases'"
    return [
        f"case {case}'s share of ",
        n.E(),
        f" ({theirs} terms do not depend on case {case}'s ",
        n.bare("y"),
        "'s, so they add nothing to the derivative)",
    ]


def _units(first: Math, last: Math, count: int) -> Math:
    """A layer's units as a range, y_1..y_4 (one unit: y_1 alone)."""
    return first if count == 1 else first + ".." + last


def _ascii_d(symbol: Math) -> str:
    """A symbol as sympy's plain lines write derivatives: dE/dy_1 for ∂E/∂y_1 (δ^2_1 stays)."""
    return symbol.plain.replace("∂", "d")


#: sympy's simplify is reliable but slow on big expressions; past this many operations the
#: difference is instead evaluated at random points.
MAX_SIMPLIFY_OPS = 250


def _difference(expr: sympy.Expr, symbols: list) -> tuple[sympy.Expr, str]:
    """(0 or the leftover, how it was shown): simplify when small, else random points."""
    sympy = _sympy()

    if sympy.count_ops(expr) <= MAX_SIMPLIFY_OPS:
        return sympy.simplify(expr), "simplify"
    import mpmath

    evaluate = sympy.lambdify(symbols, expr, modules="mpmath")  # built once, not walked per point
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(5):
        point = rng.uniform(-1, 1, len(symbols))
        worst = max(worst, abs(float(_evaluate_at(evaluate, point, mpmath))))
    # the network's numbers are float64, so agreement to ~1e-12 is all a point can show
    if worst < 1e-12:
        return sympy.Integer(0), "equal at 5 random points to 1e-12 (too long to simplify)"
    return sympy.Float(worst), "random points"


#: Digits a random point is evaluated with, each tried where the one before divided by 0
_POINT_DIGITS = (30, 300, 3000)


def _evaluate_at(evaluate: Callable, point: np.ndarray, mpmath: Any) -> Any:
    """``evaluate`` at ``point`` with 30 digits, or more where those divide by 0: a confident
    logistic output's 1 - y is 0 to 30 digits past z = 69 (1e-65 at z = 150, weights of 30),
    and cross-entropy's slope divides by it."""
    for digits in _POINT_DIGITS[:-1]:
        with mpmath.workdps(digits):
            try:
                return evaluate(*(mpmath.mpf(value) for value in point))
            except ZeroDivisionError:
                continue
    with mpmath.workdps(_POINT_DIGITS[-1]):
        return evaluate(*(mpmath.mpf(value) for value in point))


def _rest_of_network(
    d: Derivation, layer: int, z: list, case: int, number: Callable[[float], sympy.Expr] = _float
) -> sympy.Expr:
    """E as an expression in the total inputs z of ``layer``, with the numbers above it, each
    written by ``number`` (:func:`_float` to show, :func:`_exact` to compare)."""
    while True:
        y = _activation(d.layers[layer].activation, z)
        if layer == d.n_layers:
            return _error(d, z, y, case, number)
        conn = d.connections[layer]
        biases = np.zeros(conn.weight.shape[1]) if conn.bias is None else conn.bias
        z = [
            number(biases[j]) + sum(y[a] * number(conn.weight[a, j]) for a in range(len(y)))
            for j in range(conn.weight.shape[1])
        ]
        layer += 1


#: What the write-up (text, Markdown, LaTeX, HTML) shows of sympy's derivative: at most this many
#: characters of its plain text, and its LaTeX only up to :data:`MAX_LATEX_CHARACTERS` (cutting
#: LaTeX would break its braces); the JSON holds both whole.
MAX_SHOWN_CHARACTERS = 1500
MAX_LATEX_CHARACTERS = 3000
#: How much of the first dE/dz_j the sum's line (``sum_form``, for reading) writes out.
SUM_FORM_CHARACTERS = 300


def for_reading(
    derivative: str, derivative_latex: str, symbols: dict[str, Any] | None = None
) -> Math:
    """sympy's derivative as the write-up shows it: its plain text with the symbols as the
    notation prints them (``symbols``, see :func:`printed`), cut to
    :data:`MAX_SHOWN_CHARACTERS` (ending " ..."), its LaTeX left out with a note past
    :data:`MAX_LATEX_CHARACTERS`."""
    latex = derivative_latex
    if len(latex) > MAX_LATEX_CHARACTERS:
        latex = rf"\text{{(an expression of {len(latex)} characters, left out)}}"
    return Math(_short(printed(derivative, symbols), MAX_SHOWN_CHARACTERS), latex)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 5] + " ..."


def symbolic_view(d: Derivation, network: Network | None, layer: int, unit: int) -> dict[str, Any]:
    """:func:`prove`'s result, or ``{"status": "skipped", "message": why}`` when too large, or
    when sympy (or its mpmath) is not installed (the numbers stand without the proof; the message
    names the extra that installs it)."""
    if layer >= d.n_layers:
        return {"status": "skipped", "message": "symbolic mode explains a unit below the top layer"}
    try:
        return prove(d, layer, unit)
    except (SymbolicTooLarge, MissingExtraError) as error:
        return {"status": "skipped", "message": str(error)}
