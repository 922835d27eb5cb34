"""Three notations for the same numbers: Hinton's lecture, Rumelhart-Hinton-Williams 1986, matrix.

Each symbol is a :class:`Math`: the same formula as plain text (terminal, HTML) and as LaTeX
(Markdown, LaTeX). A notation turns (layer, unit) into symbols; ``unit=None`` gives the layer's
letter (``y_i``), a number gives a unit counted from 1 (``y_2``).

- ``hinton``: y_i, z_j, w_ij (row i below, column j above), t_j, E.
- ``rhw``: Rumelhart, Hinton & Williams (1986): total input x_j, output y_j, weight w_ji from unit i
  to unit j, desired output d_j; equation 7 is dE/dy_i = sum_j dE/dx_j w_ji.
- ``matrix``: Nielsen's form: a^l, z^l, W^l (row j above, column k below), delta^l = dC/dz^l,
  cost C, target y; delta^l = ((W^(l+1))^T delta^(l+1)) * sigma'(z^l).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Math:
    """A formula in two spellings: ``plain`` (Unicode text) and ``latex``."""

    plain: str
    latex: str

    def __add__(self, other: Math | str) -> Math:
        if isinstance(other, str):
            if not other.isascii():
                raise ValueError(f"Math + {other!r}: spell non-ASCII text for LaTeX with Math()")
            return Math(self.plain + other, self.latex + other)
        return Math(self.plain + other.plain, self.latex + other.latex)

    def __radd__(self, other: str) -> Math:
        if not other.isascii():
            raise ValueError(f"{other!r} + Math: spell non-ASCII text for LaTeX with Math()")
        return Math(other + self.plain, other + self.latex)


@dataclass(frozen=True)
class Number(Math):
    """A number as :func:`num` spells it: one term, so a product takes it as it is."""

    #: whether the spelling is parenthesised to set a minus sign apart from what precedes it
    parenthesised: bool = False

    @property
    def bare(self) -> Math:
        """The number without those parentheses, where a parenthesis opens just before it."""
        return Math(self.plain[1:-1], self.latex[1:-1]) if self.parenthesised else self

    @property
    def safe_as_base(self) -> bool:
        """Whether a power can be raised on it as spelled: not a bare 1.2e-05, whose LaTeX
        (1.2 times 10^{-5}) would take a ^2 as a double superscript."""
        return self.parenthesised or r"\times" not in self.latex


def grouped(*parts: Math, power: bool = False) -> Math:
    """``parts`` joined into one factor of a product (with ``power``, the base of a power), each
    number parenthesised once: a lone :class:`Number` as :func:`num` spelled it (a negative one
    in parentheses already), anything else in parentheses, which set a leading number's sign
    apart in place of its own: 0.38·(-0.44 − (-0.27)), not 0.38·((-0.44) − (-0.27)), nor
    0.18·((-8.2e-05)). The one place a formula puts parentheses around a term or a number.

    >>> grouped(num(-0.5)).plain, grouped(num(2.0)).plain
    ('(-0.5)', '2')
    >>> grouped(num(-0.5), Math(" − ", " - "), num(-0.25)).plain
    '(-0.5 − (-0.25))'
    """
    first, *rest = parts
    if not rest and isinstance(first, Number) and (not power or first.safe_as_base):
        return first
    body = first.bare if isinstance(first, Number) else first
    for part in rest:
        body = body + part
    return Math(f"({body.plain})", f"({body.latex})")


def num(value: float, digits: int = 4, paren: bool = True) -> Math:
    """A number, parenthesised when negative (unless ``paren=False``, a final value that stands
    alone) so products read clearly. It is a :class:`Number` wherever it may stand as a factor
    as it is: every spelling but a bare negative one."""
    text = f"{value + 0.0:.{digits}g}"  # + 0.0: a product like (-0.13)·0 shows as 0, not -0
    if not math.isfinite(value):  # an overflowed or undefined number: LaTeX's own words (a
        # bare "inf" after \cdot reads as the undefined control sequence \cdotinf)
        latex = r"\text{NaN}" if math.isnan(value) else text.replace("inf", r"\infty")
    elif "e" in text:
        mantissa, exponent = text.split("e")
        latex = rf"{mantissa}\times 10^{{{int(exponent)}}}"
    else:
        latex = text
    if not value < 0:  # NaN included: no sign to set apart
        return Number(text, latex)
    if not paren:  # a final value, standing alone: a plain Math, which grouped() would wrap
        return Math(text, latex)
    wrapped = grouped(Math(text, latex))
    return Number(wrapped.plain, wrapped.latex, parenthesised=True)


def dtype_digits(dtype: str | np.dtype, most: int = 10) -> int:
    """The significant digits worth printing of a number the engine computed in ``dtype``: the
    decimal digits the dtype carries (NumPy's ``finfo(dtype).precision``: float32 6, float16
    3, float64 15), at most ``most``. Past them, two roundings of one quantity (a float32 sum
    added by the engine and re-added term by term) differ in digits that mean nothing."""
    return min(most, int(np.finfo(np.dtype(dtype)).precision))


#: A notation's symbol in plain text: y_1, w_ij, a^1_1, ∂E/∂y_1, ∂C/∂a^1_1, and a layer's
#: vector with no index, δ^2 or W^2 (a single letter, not inside a word, so that a name like
#: x_train or val_loss stays as it is).
_SYMBOL = re.compile(
    r"(?<![\w-])(?:∂(?P<of>[A-Z])/∂)?(?P<base>[A-Za-zδ])"
    r"(?:(?:\^(?P<sup>[^\W_]+))?_(?P<sub>\d+(?:,\d+)?|[a-z]{1,2})|\^(?P<only>[^\W_]+))(?![\w])"
)


def symbols_in(text: str) -> list[str | Math]:
    """Plain text (a heading, a table's header or cell) cut into its words and the notation's
    symbols in it, each a :class:`Math`, so that HTML and LaTeX set ``nudge y_1`` and
    ``w_ij·∂E/∂z_j`` as maths rather than with a literal underscore."""
    parts: list[str | Math] = []
    start = 0
    for match in _SYMBOL.finditer(text):
        sup = match["sup"] or match["only"]
        base = r"\delta" if match["base"] == "δ" else match["base"]
        latex = (
            base + (f"^{{{sup}}}" if sup else "") + (f"_{{{match['sub']}}}" if match["sub"] else "")
        )
        if match["of"]:
            latex = rf"\partial {match['of']}/\partial {latex}"
        parts += [text[start : match.start()], Math(match[0], latex)]
        start = match.end()
    parts.append(text[start:])
    return [part for part in parts if part != ""]


def plain_text(parts: list[str | Math]) -> str:
    """Text and symbols (a paragraph's parts) as one plain string."""
    return "".join(p if isinstance(p, str) else p.plain for p in parts)


def join(parts: list[Math], sep_plain: str, sep_latex: str) -> Math:
    """Parts joined with a separator spelled per form."""
    return Math(sep_plain.join(p.plain for p in parts), sep_latex.join(p.latex for p in parts))


def index_pair(first: str, second: str) -> str:
    """Two subscripts of one symbol: run together while each is one character (w_ij, w_12), with
    a comma once either has more (w_1,12 and w_11,2, which w_112 would not tell apart)."""
    return first + second if len(first) == 1 and len(second) == 1 else f"{first},{second}"


def weight_index(i: int, j: int) -> str:
    """The subscript of the weight from unit ``i`` to unit ``j`` (0-based), counted from 1."""
    return index_pair(str(i + 1), str(j + 1))


def _sub(base: str, index: str, latex_base: str | None = None, sup: str = "") -> Math:
    latex_sup = f"^{{{sup}}}" if sup else ""
    plain_sup = f"^{sup}" if sup else ""
    return Math(f"{base}{plain_sup}_{index}", f"{latex_base or base}{latex_sup}_{{{index}}}")


def vector(symbol: Math, letter: str) -> Math:
    """The symbol of a whole layer's vector: ``symbol`` written with the index ``letter``, the
    index dropped (∂E/∂z_j -> ∂E/∂z, δ^2_j -> δ^2)."""
    return Math(
        symbol.plain.replace(f"_{letter}", "", 1), symbol.latex.replace(f"_{{{letter}}}", "", 1)
    )


def _listed(*symbols: Math) -> list[str | Math]:
    """Symbols with ", " between them, as a paragraph's parts."""
    parts: list[str | Math] = []
    for k, symbol in enumerate(symbols):
        parts += [", ", symbol] if k else [symbol]
    return parts


def _partial(top: str, bottom: Math) -> Math:
    return Math(f"∂{top}/∂{bottom.plain}", rf"\frac{{\partial {top}}}{{\partial {bottom.latex}}}")


class Notation:
    """Hinton's lecture: y_i, z_j, w_ij, t_j, E."""

    name = "hinton"
    source = "Hinton"  # whose unit sum a column of the three views is
    activation = ("f", "f")  # the units' function, plain and LaTeX, whose slopes f'(z) are used
    error_symbol = "E"
    target_letter = "t"

    @property
    def title(self) -> str:
        """The notation's name and symbols as plain text: "Hinton's lecture (y_i, z_j, w_ij)"."""
        return plain_text(self.title_parts())

    def title_parts(self) -> list[str | Math]:
        """The notation's name and its own symbols, each a :class:`Math`, so that LaTeX, HTML
        and Markdown set them as maths, not as a literal underscore or caret."""
        symbols = _listed(self.y(0, "i"), self.z(1, "j"), self.w(0, "i", None, "j", None))
        return ["Hinton's lecture (", *symbols, ")"]

    def index(self, letter: str, unit: int | None) -> str:
        return letter if unit is None else str(unit + 1)

    def y(self, layer: int, letter: str, unit: int | None = None) -> Math:
        return _sub("y", self.index(letter, unit))

    def z(self, layer: int, letter: str, unit: int | None = None) -> Math:
        return _sub("z", self.index(letter, unit))

    def t(self, letter: str, unit: int | None = None) -> Math:
        return _sub(self.target_letter, self.index(letter, unit))

    def b(self, layer: int, letter: str, unit: int | None = None) -> Math:
        return _sub("b", self.index(letter, unit))

    def w(self, below: int, a: str, i: int | None, b: str, j: int | None) -> Math:
        """The weight from unit i (layer ``below``) to unit j above it."""
        return _sub("w", index_pair(self.index(a, i), self.index(b, j)))

    def E(self) -> Math:  # noqa: N802 - the lecture's name
        return Math(self.error_symbol, self.error_symbol)

    def dE(self, symbol: Math) -> Math:  # noqa: N802
        return _partial(self.error_symbol, symbol)

    def dE_dy(self, layer: int, letter: str, unit: int | None = None) -> Math:
        return self.dE(self.y(layer, letter, unit))

    def dE_dz(self, layer: int, letter: str, unit: int | None = None) -> Math:
        return self.dE(self.z(layer, letter, unit))

    def dE_dw(self, below: int, a: str, i: int | None, b: str, j: int | None) -> Math:
        return self.dE(self.w(below, a, i, b, j))

    def dE_db(self, layer: int, letter: str, unit: int | None = None) -> Math:
        return self.dE(self.b(layer, letter, unit))

    def bare(self, kind: str) -> Math:
        """A quantity of any unit in any layer, as a sentence names it: ``kind`` one of y, z,
        dE_dy, dE_dz, dE_db (Hinton's y, z, ∂E/∂y; RHW's x for z; the matrix form's a, δ):
        "a relu unit's z", "the y's of layer 1" in this notation's words."""
        unit = vector(getattr(self, kind)(1, "i"), "i")  # a^1_i -> a^1: no unit's index
        return Math(unit.plain.replace("^1", "", 1), unit.latex.replace("^{1}", "", 1))  # nor layer


class RHWNotation(Notation):
    """Rumelhart, Hinton & Williams (1986): x_j total input, w_ji from i to j, desired d_j."""

    name = "rhw"
    source = "RHW"
    target_letter = "d"

    def title_parts(self) -> list[str | Math]:
        symbols = _listed(self.z(1, "j"), self.y(1, "j"), self.w(0, "i", None, "j", None))
        return ["Rumelhart, Hinton & Williams 1986 (", *symbols, ", eq. 7)"]

    def z(self, layer: int, letter: str, unit: int | None = None) -> Math:
        return _sub("x", self.index(letter, unit))

    def w(self, below: int, a: str, i: int | None, b: str, j: int | None) -> Math:
        return _sub("w", index_pair(self.index(b, j), self.index(a, i)))


class MatrixNotation(Notation):
    """Nielsen's matrix form: a^l, z^l, w^l_jk, delta^l_j = dC/dz^l_j, cost C, target y."""

    name = "matrix"
    source = "Nielsen"
    activation = ("σ", r"\sigma")
    error_symbol = "C"
    target_letter = "y"

    def title_parts(self) -> list[str | Math]:
        layer = "l"  # any layer: the superscript a letter (a^l), where a number names one
        a, z, delta = (vector(f(layer, "j"), "j") for f in (self.y, self.z, self.dE_dz))
        symbols = _listed(a, z, self.W(layer), delta + " = " + self.dE(z))
        return ["matrix form (", *symbols, ")"]

    def W(self, layer: int | str) -> Math:  # noqa: N802 - Nielsen's name
        """The weight matrix into ``layer`` (a number, or ``"l"`` for any): row j above,
        column k below, the transpose of chainrule's weight array."""
        return Math(f"W^{layer}", f"W^{{{layer}}}")

    def y(self, layer: int | str, letter: str, unit: int | None = None) -> Math:
        return _sub("a", self.index(letter, unit), sup=str(layer))

    def z(self, layer: int | str, letter: str, unit: int | None = None) -> Math:
        return _sub("z", self.index(letter, unit), sup=str(layer))

    def b(self, layer: int, letter: str, unit: int | None = None) -> Math:
        return _sub("b", self.index(letter, unit), sup=str(layer))

    def w(self, below: int, a: str, i: int | None, b: str, j: int | None) -> Math:
        return _sub("w", index_pair(self.index(b, j), self.index(a, i)), sup=str(below + 1))

    def dE_dz(self, layer: int | str, letter: str, unit: int | None = None) -> Math:
        return _sub("δ", self.index(letter, unit), latex_base=r"\delta", sup=str(layer))


NOTATIONS: dict[str, Notation] = {n.name: n for n in (Notation(), RHWNotation(), MatrixNotation())}


def get_notation(name: str | None) -> Notation:
    """The notation called ``name`` (hinton, rhw or matrix)."""
    from chainrule.explainer.network import ExplainError

    key = (name or "hinton").lower()
    if key not in NOTATIONS:
        raise ExplainError(f"notation {name!r} is not known; use one of {', '.join(NOTATIONS)}")
    return NOTATIONS[key]
