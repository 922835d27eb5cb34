"""The blocks a derivation is laid out in (headings, paragraphs, equations, tables), the options
that say how much to show, and the builder the sections write them with.

An :class:`Equation` is ``lhs = step = step = ...`` with, when the number came from the engine,
its finite-difference check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chainrule.errors import counted
from chainrule.explainer.network import ExplainError
from chainrule.explainer.notation import Math, Notation, num

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Checked, Derivation

Inline = list["str | Math"]  # str includes Code


class Code(str):
    """Text of a paragraph that is code, not prose: sympy's plain text of an expression, which
    Markdown would read as emphasis (``*``, ``_``) and LaTeX sets in text, not maths. The text
    prints it as it is, Markdown as a code span, LaTeX in ``\\texttt``, HTML in ``<code>``."""

    __slots__ = ()


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
    #: sympy's expressions, which can be wider than a page: LaTeX shrinks one to fit
    wide: bool = False


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


Block = Heading | Para | Equation | Table


#: Who a write-up is for (:attr:`Options.host`), which says how its prose names the ways to
#: what it leaves out: ``"python"`` (``render``, a notebook: explain's ``unit="0:1"`` and
#: ``cr.explainer.to_json(d)``) or ``"cli"`` (``chainrule explain``: ``--unit 0:1`` and the
#: JSON output, ``--format json``)
HOSTS = ("python", "cli")


@dataclass
class Options:
    """How much to show: units per layer, cases, digits (the JSON always holds everything),
    and for whom (:data:`HOSTS`: the command passes ``host="cli"``)."""

    max_units: int = 6
    max_cases: int = 3
    digits: int = 4
    focused: bool = False
    host: str = "python"

    def __post_init__(self) -> None:
        if self.host not in HOSTS:
            raise ExplainError(
                f"render: host {self.host!r} is not known; use one of {', '.join(HOSTS)}"
            )


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

    # The one home of the words that say how a reader gets what a write-up leaves out, in the
    # way of its host (:data:`HOSTS`): a notebook's reader has no command line.

    def unit_option(self, spec: str, again: bool = False) -> str | Code:
        """How the reader asks explain for unit ``spec`` ("0:1"): ``unit="0:1"`` from Python,
        ``--unit 0:1`` on the command line; ``again``, a second value after one named just
        before ("--unit 0:1 or 0:2"), is the bare value there."""
        if self.o.host == "cli":
            return spec if again else f"--unit {spec}"
        return Code(f'unit="{spec}"')

    def json_output(self) -> Inline:
        """Where the reader finds every number: the JSON, ``cr.explainer.to_json(d)``, from
        Python, the command's JSON output on the command line."""
        if self.o.host == "cli":
            return ["the JSON output"]
        return ["the JSON, ", Code("cr.explainer.to_json(d)")]

    def units(self, layer: int) -> list[int]:
        """The units of ``layer`` to write out: the focused one alone (``focused``), else
        :meth:`leading_units`."""
        focus = self._focus_in(layer)
        if self.o.focused and focus is not None:
            return [focus]
        return self.leading_units(layer)

    def leading_units(self, layer: int) -> list[int]:
        """The first ``max_units`` units of ``layer`` and the focused one if it is not among
        them (the forward pass shows these even when focused: the focused unit's z and y are
        numbers its derivation reads)."""
        focus = self._focus_in(layer)
        shown = list(range(min(self.d.layers[layer].size, self.o.max_units)))
        return shown if focus is None or focus in shown else [*shown, focus]

    @property
    def inputs_gradients_shown(self) -> bool:
        """Whether the write-up has the inputs' dE/dy: only when asked for (--unit 0:1 ...,
        ``explain(..., unit="0:1")``, rendered focused or not: the summary's words on where
        they are written out name that way). A one-layer network's default focus, an input
        unit no one asked for, writes them out only focused."""
        asked = self.o.focused or self.d.focus_asked
        return bool(asked and self.d.focus and self.d.focus[0] == 0)

    def _focus_in(self, layer: int) -> int | None:
        return self.d.focus[1] if self.d.focus and self.d.focus[0] == layer else None

    def cases(self) -> list[int]:
        return list(range(min(self.d.n_cases, self.o.max_cases)))

    def more(self, layer: int, shown: int, always: bool = False) -> None:
        """Say how many units of ``layer`` are not written out: ``always``, or when the
        derivation is not focused on one unit (then the others are left out on purpose)."""
        size = self.d.layers[layer].size
        if shown < size and (always or not self.o.focused):
            left = counted(size - shown, "more unit")  # "1 more unit", "2 more units"
            self.add(Para([f"... {left} (all are in ", *self.json_output(), ")."]))

    def case_label(self, c: int, prefix: str) -> str:
        return prefix + (f", case {c + 1}" if self.d.n_cases > 1 else "")


def letter_of(b: Builder, layer: int) -> str:
    """The lecture's letter of ``layer`` (j for the top, i below it, ...)."""
    return b.d.layers[layer].letter


def unit_numbers(numbers: list[int]) -> str:
    """Units counted from 1, as "4..6" where they run on (or "4"), else "4, 9"."""
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}..{numbers[-1]}" if len(numbers) > 1 else str(numbers[0])
    return ", ".join(map(str, numbers))
