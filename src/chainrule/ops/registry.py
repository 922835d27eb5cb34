"""The registry of primitives: each one's forward and derivative rules, side by side.

A primitive is the unit the engine records. Its ``forward`` works on arrays; its ``vjp`` holds one
rule per input, ``rule(g, out, *inputs, **params) -> contribution``, written with Tensor ops so that
with ``create_graph`` the rule itself is recorded and can be differentiated again. One rule per
input means the engine skips the work for inputs that need no gradient (the data in ``x @ W``).

Everything that is not a primitive (mean, var, softmax's users, the losses) is composed from these
and needs no rule of its own. ``REGISTRY`` lets tools list the rules and say which one fired.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chainrule.engine import apply
from chainrule.tensor import Tensor

VjpRule = Callable[..., Any]


class ShapeError(ValueError):
    """Operands whose shapes the op cannot combine; the message names the op and the shapes."""


@dataclass(frozen=True, eq=False)
class Primitive:
    """An op the engine records: ``forward`` on arrays, and one vector-Jacobian rule per input."""

    name: str
    forward: Callable[..., Any]
    vjp: tuple[VjpRule, ...] | EachInput
    doc: str = ""

    def __call__(self, *inputs: Any, **params: Any) -> Any:
        for x in inputs:
            if not isinstance(x, Tensor):  # cr.exp([1.0, 2.0]) and cr.sigmoid(array) work too
                inputs = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in inputs)
                break
        return apply(self, inputs, **params)

    def shape_error(self, inputs: tuple, params: dict, error: Exception) -> ShapeError:
        shapes = " and ".join(str(tuple(t.shape)) for t in inputs)
        detail = str(error).split("\n")[0]
        extra = f" ({', '.join(f'{k}={v!r}' for k, v in params.items())})" if params else ""
        return ShapeError(f"{self.name}: shapes {shapes}{extra}: {detail}")

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


class EachInput:
    """The vjp rules of a primitive with any number of inputs: ``rule(index, g, out, *inputs)``."""

    def __init__(self, rule: VjpRule) -> None:
        self.rule = rule

    def __getitem__(self, index: int) -> VjpRule:
        return functools.partial(self.rule, index)


REGISTRY: dict[str, Primitive] = {}


def primitive(
    name: str, forward: Callable[..., Any], *vjp: VjpRule | EachInput, doc: str = ""
) -> Primitive:
    """Define and register a primitive: ``forward`` and its per-input derivative rules.

    Give one rule per input, or a single :class:`EachInput` for a variadic primitive.
    """
    if name in REGISTRY:
        raise ValueError(f"primitive {name!r} is already registered")
    rules = vjp[0] if len(vjp) == 1 and isinstance(vjp[0], EachInput) else tuple(vjp)
    prim = Primitive(name, forward, rules, doc)
    REGISTRY[name] = prim
    return prim
