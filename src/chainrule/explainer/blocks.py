"""The blocks a derivation is laid out in (headings, paragraphs, equations, tables), the options
that say how much to show, and the builder the sections write them with.

An :class:`Equation` is ``lhs = step = step = ...`` with, when the number came from the engine,
its finite-difference check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chainrule.explainer.notation import Math, Notation, num

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
        """The units of ``layer`` to write out: the focused one alone (``focused``), else the
        first ``max_units`` and the focused one if it is not among them."""
        size = self.d.layers[layer].size
        focus = self.d.focus[1] if self.d.focus and self.d.focus[0] == layer else None
        if self.o.focused and focus is not None:
            return [focus]
        shown = list(range(min(size, self.o.max_units)))
        return shown if focus is None or focus in shown else [*shown, focus]

    def cases(self) -> list[int]:
        return list(range(min(self.d.n_cases, self.o.max_cases)))

    def more(self, layer: int, shown: int, what: str = "units") -> None:
        size = self.d.layers[layer].size
        if shown < size and not self.o.focused:
            self.add(Para([f"... {size - shown} more {what} (all are in the JSON output)."]))

    def case_label(self, c: int, prefix: str) -> str:
        return prefix + (f", case {c + 1}" if self.d.n_cases > 1 else "")


def letter_of(b: Builder, layer: int) -> str:
    """The lecture's letter of ``layer`` (j for the top, i below it, ...)."""
    return b.d.layers[layer].letter
