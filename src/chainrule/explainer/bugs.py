"""Break the engine on purpose: the bugs real engines shipped, reproduced and caught.

Each bug is a small backward pass written here, on purpose wrong in one way, that runs the real
derivative rules (the ops registry's, in array mode) over a network recorded unit by unit
(:mod:`chainrule.explainer.unit_graph`). The real engine is never switched into a wrong mode: it
does not know this module exists. :func:`run_bug` puts the wrong gradients next to the right ones
(the derivation's) and next to the central finite differences that catch them.

- ``assign``: a tensor's gradient is *set* by each consumer instead of summed over them, so only
  the last consumer j counts (micrograd issue 2, "incorrect gradient when non-leaf Values are
  re-used").
- ``no-toposort``: a recursive backward with no topological order: a tensor's rule runs each time
  a path reaches it, sending its total as it stands then; wrong as soon as a non-leaf is reused
  (``b = a + a; c = b + b`` gives dc/da = 8, not 4; micrograd PR 64).
- ``merged-leaves``: leaves with equal values are one node, so each gets the sum of their
  gradients, twice its own when the two are alike (tinygrad issue 9597).
- ``no-zero-grad``: a training loop that never clears ``.grad``: step 2's gradients arrive on top
  of step 1's (micrograd issue 53). Here the real engine is right; the loop around it is not.
  The step between is the library's SGD, which leaves a frozen parameter (``requires_grad``
  False: backward stores no ``.grad`` for it) where it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from chainrule import optim
from chainrule.engine import reverse_topological_order, sum_over_consumers
from chainrule.explainer.derivation import Checked
from chainrule.explainer.network import ExplainError, Network, as_network
from chainrule.explainer.notation import Math, Notation, get_notation, plain_text
from chainrule.explainer.unit_graph import (
    UnitGraph,
    contributions,
    gradients,
    seed,
    unit_graph_of,
    weights_of,
)
from chainrule.tensor import Tensor

#: The learning rate of the step between the two steps of ``no-zero-grad``.
STEP_LEARNING_RATE = 0.5


@dataclass(frozen=True)
class Bug:
    """One way to get the sum over consumers wrong, where it happened, and what it gives.

    ``effect`` is a template: ``{dE_dy_i}``, ``{w_ij}``, ``{dE_dz_j}``, ``{y_j}`` and ``{t_j}``
    stand for the symbols of the top connection in the notation it is written in
    (:meth:`BugReport.effect_in`), so RHW reads w_ji and d_j, the matrix form δ^L_j and y_j.
    """

    name: str
    title: str
    source: str
    effect: str


BUGS: dict[str, Bug] = {
    bug.name: bug
    for bug in (
        Bug(
            "assign",
            "a gradient set (=) instead of summed (+=) over the consumers",
            "micrograd issue 2: incorrect gradient when non-leaf Values are re-used",
            "{dE_dy_i} keeps only the contribution {w_ij} {dE_dz_j} of the last consumer j "
            "visited, and everything below inherits the loss; with the squared error even the "
            "output layer is halved, because it multiplies ({t_j} - {y_j}) by itself: one "
            "tensor, two consumers",
        ),
        Bug(
            "no-toposort",
            "a recursive backward without a topological order",
            "micrograd PR 64: topological sort before backward",
            "a reused tensor's rule runs once per path that reaches it, each time sending its "
            "partial total; b = a + a, c = b + b gives dc/da = 8 instead of 4. The top layer is "
            "wrong too: the squared error uses its error tensor ({t_j} - {y_j}) twice (e * e), "
            "and each pass-through op between it and the units (the logistic, the reshapes, the "
            "concatenate) runs once per path and re-sends its partial total, so the excess "
            "builds up: the output {dE_dz_j}, the top weights' and biases' gradients come out "
            "several times too large, and every layer below more, each reused hidden unit "
            "multiplying it again",
        ),
        Bug(
            "merged-leaves",
            "leaves with equal values treated as one node",
            "tinygrad issue 9597: equal tensors merged into one node share one gradient",
            "leaves that hold equal values share one total: each gets the sum of their "
            "gradients (twice its own when they are alike); invisible until two leaves are equal",
        ),
        Bug(
            "no-zero-grad",
            "gradients of two steps accumulated (nothing cleared .grad)",
            "micrograd issue 53: zero_grad missing in the training loop",
            "after one SGD step (learning rate "
            f"{STEP_LEARNING_RATE:g}) the second step's .grad holds step 1's gradient plus "
            "step 2's; only the parameters' gradients pile up: the inputs' (leaves made "
            "afresh each step) and the non-leaf ones (never stored) stay right",
        ),
    )
}


def get_bug(name: str) -> Bug:
    """The bug called ``name``; a clear error lists the known ones, in the words of the
    argument that named it: ``explain(..., bug=...)``'s (the command line checks its --bug
    itself, and names that)."""
    if name not in BUGS:
        raise ExplainError(f"explain: bug={name!r} is not known; use one of {', '.join(BUGS)}")
    return BUGS[name]


# ---------------------------------------------------------------------------------------------
# The buggy backward passes: the real rules, a wrong walk
# ---------------------------------------------------------------------------------------------


def backward_assign(output: Tensor) -> dict[int, Any]:
    """The right order, the wrong update: ``total = contribution`` (the last consumer wins)."""
    totals: dict[int, Any] = {id(output): seed(output)}
    for tensor in reverse_topological_order([output]):
        total = totals.get(id(tensor))
        if total is None or tensor.is_leaf:
            continue
        for parent, contribution in contributions(tensor, total):
            totals[id(parent)] = contribution  # the bug: = where the sum needs +=
    return totals


#: The most rule calls ``no-toposort``'s walk may make (:func:`no_toposort_rule_calls`). The walk
#: runs a tensor's rule once per path from the output to it, and the paths multiply with each
#: hidden layer: 8-8-8-8-8-8-2 needs 2.5 million calls (40 s), six hidden layers of 20 some
#: 2 * 10^10 (days). The seed needs 101, the page's digits network (64-16-10) 41,951; 100,000
#: calls take 0.6 to 1 s (about 10 µs each), so the walk answers within a second or so.
NO_TOPOSORT_MAX_RULE_CALLS = 100_000


def no_toposort_rule_calls(output: Tensor) -> int:
    """How many times :func:`backward_no_toposort` would run a rule: once for each path from
    ``output`` to each non-leaf tensor. Counted without running a rule, in linear time: walking
    in reverse topological order, a tensor's paths are the sum of its consumers' (each input
    edge counted, so ``a + a`` reaches ``a`` twice, as the walk does)."""
    paths = {id(output): 1}
    calls = 0
    for tensor in reverse_topological_order([output]):
        reaching = paths.get(id(tensor), 0)
        if not reaching or tensor.is_leaf:
            continue
        calls += reaching
        for parent in tensor.node.inputs:
            if parent.requires_grad:  # the parents contributions() sends to and visits
                paths[id(parent)] = paths.get(id(parent), 0) + reaching
    return calls


def _refuse_too_many_paths(output: Tensor) -> None:
    """Refuse a network whose ``no-toposort`` walk would run past
    :data:`NO_TOPOSORT_MAX_RULE_CALLS` rule calls, before it starts (the walk cannot be stopped
    once running, and a deep network's would run for hours)."""
    calls = no_toposort_rule_calls(output)
    if calls > NO_TOPOSORT_MAX_RULE_CALLS:
        raise ExplainError(
            f"no-toposort: its recursive walk would run the derivative rules {calls:,} times, "
            f"past the budget of {NO_TOPOSORT_MAX_RULE_CALLS:,}: without a topological order a "
            "tensor's rule runs once per path from E to it, and the paths multiply with each "
            "hidden layer (what this bug teaches); use fewer or narrower hidden layers"
        )


def refuse_before_checks(d: Any, name: str) -> UnitGraph | None:
    """Refuse what :func:`run_bug` would refuse for bug ``name`` on derivation ``d``, before
    :func:`~chainrule.explainer.explain` runs its finite differences (the costly part, which
    run_bug comes after): an unknown name, and a ``no-toposort`` walk past its budget
    (:func:`no_toposort_rule_calls`, linear; :func:`backward_no_toposort` counts again for a
    caller that runs it directly). ``d`` needs only its forward and backward pass. Returns the
    unit graph it counted on (``no-toposort``'s), for run_bug's ``graph``: built once."""
    get_bug(name)
    if name != "no-toposort":
        return None
    g = unit_graph_of(d)
    _refuse_too_many_paths(g.E)
    return g


def backward_no_toposort(output: Tensor) -> dict[int, Any]:
    """Visit depth-first from the output, each parent as soon as a consumer has sent to it (the
    recursive walk, on a stack); each visit runs the tensor's rule on its total so far.

    Its cost is the number of paths (:func:`no_toposort_rule_calls`): a network past
    :data:`NO_TOPOSORT_MAX_RULE_CALLS` is refused before the walk starts."""
    _refuse_too_many_paths(output)
    totals: dict[int, Any] = {id(output): seed(output)}
    # the recursion's visits in its order, on a stack of our own (a unit's sum is a chain of
    # adds as long as its layer below is wide: a 1000-input network passed Python's limit)
    waiting = [output]
    while waiting:
        tensor = waiting.pop()
        if tensor.is_leaf:
            continue
        pairs = contributions(tensor, totals[id(tensor)])
        for parent, contribution in pairs:
            sum_over_consumers(totals, parent, contribution)
        # the bug: each parent visited at once, without waiting for its other consumers
        waiting.extend(parent for parent, _ in reversed(pairs))
    return totals


def backward_merged_leaves(output: Tensor) -> dict[int, Any]:
    """The right walk, but leaves are keyed by their value: equal leaves share one total."""
    order = reverse_topological_order([output])
    key_of = {id(t): _value_key(t) if t.is_leaf else id(t) for t in order}
    totals: dict[Any, Any] = {key_of[id(output)]: seed(output)}
    for tensor in order:
        total = totals.get(key_of[id(tensor)])
        if total is None or tensor.is_leaf:
            continue
        for parent, contribution in contributions(tensor, total):
            key = key_of[id(parent)]
            totals[key] = contribution if key not in totals else totals[key] + contribution
    return {id(t): totals[key_of[id(t)]] for t in order if key_of[id(t)] in totals}


def _value_key(t: Tensor) -> tuple:
    return ("leaf", t.data.dtype.str, t.data.shape, t.data.tobytes())


ENGINES: dict[str, Callable[[Tensor], dict[int, Any]]] = {
    "assign": backward_assign,
    "no-toposort": backward_no_toposort,
    "merged-leaves": backward_merged_leaves,
}


# ---------------------------------------------------------------------------------------------
# A derivation with a bug beside it
# ---------------------------------------------------------------------------------------------


@dataclass
class BugRow:
    """One gradient: right (the real engine), with the bug, and its central finite difference.

    ``reference`` is the real engine's value on the same float64 unit graph the bug ran on: a
    row is wrong when the bug moves it from there, so a float32 model's rounding never counts.
    ``atol`` and ``rtol`` are the derivation's gradient check for this entry, ``check`` that
    check itself (which says why it gives no verdict, where it gives none).
    """

    key: tuple
    right: float
    wrong: float
    numeric: float | None
    atol: float
    rtol: float
    reference: float | None = None
    check: Checked | None = field(default=None, repr=False, compare=False)

    @property
    def is_wrong(self) -> bool:
        """Whether the bug changed the gradient (beyond float64 rounding of the same sum)."""
        right = self.right if self.reference is None else self.reference
        return self.wrong != right and not _close(self.wrong, right)

    @property
    def judged(self) -> Checked | None:
        """The gradient check applied to the bug's value: the derivation's check of this entry
        (its finite difference and tolerance) with the wrong value in the engine's place; None
        where nothing was checked."""
        if self.numeric is None:
            return None
        check = self.check or Checked(self.right, self.numeric, self.atol, self.rtol)
        return replace(check, value=self.wrong)

    @property
    def caught(self) -> bool:
        """Whether the gradient check flags the wrong value: it is further from the finite
        difference than the tolerance."""
        judged = self.judged
        return judged is not None and not judged.ok

    @property
    def no_verdict(self) -> str | None:
        """Why the check gives no verdict on this row, where it gives none: the bug's value
        passes, but within a tolerance at least as large as the gradient itself, which could
        not tell it from 0, nor a gradient g from -g (the rule, and the words, of the
        derivation's own checks: :attr:`Checked.no_verdict_reason`); None where it gives one
        (caught, or agreeing where the check resolves the gradient) or nothing was checked."""
        return self.no_verdict_in(None)

    def no_verdict_in(self, n: Notation | None) -> str | None:
        """:attr:`no_verdict`, its symbols in notation ``n`` (None: the derivation's own)."""
        judged = self.judged
        return None if judged is None else judged.no_verdict_reason_in(n)

    def label(self, n: Notation | None = None) -> str:
        """The gradient in notation ``n`` (default Hinton's), located as ``--unit`` writes it:
        '∂E/∂y 1:2' (layer 1, unit 2), '∂E/∂w 0→1 w_12'; RHW '∂E/∂x 1:2', '∂E/∂w 0→1 w_21'
        (the weight from unit 1 to unit 2); matrix 'δ 1:2', '∂C/∂w 0→1 w^1_21'."""
        n = n or get_notation("hinton")
        kind, *index = self.key
        if kind in ("y", "z"):
            layer, unit, case = index
            where = f"{layer}:{unit + 1}" + (f" case {case + 1}" * (case > 0))
            return f"{_layer_gradient(n, kind)} {where}"
        if kind == "w":
            below, i, j = index
            weight = n.w(below, "i", i, "j", j).plain
            return f"{_layer_gradient(n, 'w')} {below}→{below + 1} {weight}"
        below, j = index
        return f"{_layer_gradient(n, 'b')} {below + 1}:{j + 1}"


def _layer_gradient(n: Notation, kind: str) -> str:
    """∂E/∂y, ∂E/∂x, δ, ∂C/∂w, ...: the gradient of a kind of quantity, no unit and no layer
    (the row's locator gives both)."""
    if kind == "w":
        return n.dE(Math(kind, kind)).plain
    return n.bare(f"dE_d{kind}").plain


@dataclass
class BugReport:
    """The wrong gradients of one bug beside the right ones and the checks that catch them.

    Symbols are written at render time, in the notation asked for (``label(n)``,
    :meth:`effect_in`, :meth:`note_in`); :meth:`to_dict` and :attr:`note` use the derivation's
    own ``notation``. ``letters`` are the lecture's letters (i, j) of the top connection, the
    one the effect's symbols name; ``merged`` the leaves (by key) that ``merged-leaves`` made
    one node, None for the other bugs; ``kinked`` how many right values are the unit graph's,
    not the derivation's (a relu unit at its kink: :func:`_right`), which the note says why.
    """

    bug: Bug
    rows: list[BugRow]
    fixed_note: str = ""
    notation: str = "hinton"
    top: int = 1
    letters: tuple[str, str] = ("i", "j")
    merged: list[list[tuple]] | None = None
    kinked: int = 0
    #: whether a relu unit is at its kink (the likely reason for ``kinked``); else the sums
    #: cancel, and the two orders of adding them round differently
    at_kink: bool = True

    @property
    def note(self) -> str:
        """The note in the derivation's notation."""
        return self.note_in(get_notation(self.notation))

    def note_in(self, n: Notation) -> str:
        """The note, leaves named in notation ``n`` (and why some right values are the unit
        graph's, at a relu kink: ``kinked``)."""
        note = self.fixed_note if self.merged is None else _merged_note(self.merged, n)
        kinks = _kink_note(self.kinked, n, self.top, self.letters, self.at_kink)
        unresolved = _no_verdict_note(self.no_verdict_rows, n)
        return " ".join(part for part in (note, kinks, unresolved) if part)

    def effect_in(self, n: Notation) -> list[str | Math]:
        """What the bug does, its symbols those of the top connection in notation ``n``."""
        i, j = self.letters
        below = self.top - 1
        symbols = {
            "dE_dy_i": n.dE_dy(below, i),
            "w_ij": n.w(below, i, None, j, None),
            "dE_dz_j": n.dE_dz(self.top, j),
            "y_j": n.y(self.top, j),
            "t_j": n.t(j),
        }
        parts: list[str | Math] = []
        for k, piece in enumerate(re.split(r"\{(\w+)\}", self.bug.effect)):
            if piece:
                parts.append(symbols[piece] if k % 2 else piece)
        return parts

    @property
    def wrong_rows(self) -> list[BugRow]:
        return [r for r in self.rows if r.is_wrong]

    @property
    def caught(self) -> bool:
        return any(r.caught for r in self.rows)

    @property
    def no_verdict_rows(self) -> list[BugRow]:
        """The wrong rows the check gives no verdict on (:attr:`BugRow.no_verdict`): their
        tolerance is as large as the gradient, so the bug's value passes without a word said."""
        return [r for r in self.wrong_rows if r.no_verdict is not None]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data, its labels and prose in the derivation's notation."""
        n = get_notation(self.notation)
        effect = plain_text(self.effect_in(n))
        return {
            "name": self.bug.name,
            "title": self.bug.title,
            "source": self.bug.source,
            "effect": effect,
            "note": self.note,
            "caught": self.caught,
            "n_wrong": len(self.wrong_rows),
            "n_caught": sum(r.caught for r in self.rows),
            "n_no_verdict": sum(r.no_verdict is not None for r in self.rows),
            "rows": [
                {
                    "quantity": r.key[0],
                    "index": list(r.key[1:]),
                    "label": r.label(n),
                    "right": r.right,
                    "wrong": r.wrong,
                    "numeric": r.numeric,
                    "caught": r.caught,
                    "no_verdict": r.no_verdict,
                }
                for r in self.rows
            ],
        }


def _no_verdict_note(rows: list[BugRow], n: Notation) -> str:
    """What to say where the check gives no verdict on some wrong gradients (``rows``): why
    their passing says nothing about the bug, with the first one's reason (each row's is in
    the JSON's ``no_verdict`` and under the write-up's table)."""
    if not rows:
        return ""
    first = rows[0]
    many = len(rows) > 1
    return (
        f"{len(rows)} wrong gradient{'s' if many else ''} get{'' if many else 's'} no verdict "
        "from the check (? no verdict): the bug's value passes, but within a tolerance at "
        "least as large as the gradient itself, which cannot tell it from 0, nor a gradient "
        f"from its negative, so passing says nothing about the bug ({first.label(n)}: "
        f"{first.no_verdict_in(n)})."
    )


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def run_bug(d: Any, name: str, network: Any = None, graph: UnitGraph | None = None) -> BugReport:
    """Run derivation ``d``'s network through the buggy engine ``name``; compare and check.

    The right values and the finite differences are the derivation's own (for ``no-zero-grad``,
    those of a derivation at the weights after the first step). ``network`` is the model ``d``
    explains (an ``nn.Sequential`` or the explainer's
    :class:`~chainrule.explainer.network.Network`); ``no-zero-grad``'s step leaves its frozen
    parameters where they are, as the model's optimizer would. Without it every weight and bias
    is trained. ``graph`` is ``d``'s unit graph where the caller built it already
    (:func:`refuse_before_checks`).
    """
    bug = get_bug(name)
    if name == "no-zero-grad":
        return _no_zero_grad(d, bug, _frozen_keys(d, network))
    g = unit_graph_of(d) if graph is None else graph
    totals = ENGINES[name](g.E)
    rows = _rows(d, g, totals, gradients(g))
    merged = _merged_leaves(g, rows) if name == "merged-leaves" else None
    return BugReport(bug, rows, merged=merged, kinked=_kinked(d, rows), **_context(d))


def _frozen_keys(d: Any, model: Any) -> set[tuple]:
    """The unit graph's keys (('w', layer, i, j), ('b', layer, j)) of ``model``'s parameters
    that do not need a gradient; none without a model."""
    if model is None:
        return set()
    network: Network = as_network(model)
    if network.sizes != [layer.size for layer in d.layers]:
        raise ExplainError(
            f"run_bug: the network is {' x '.join(map(str, network.sizes))} but the derivation "
            f"explains a {' x '.join(str(layer.size) for layer in d.layers)} one; give the "
            "model the derivation was made from"
        )
    frozen = set()
    for k, layer in enumerate(network.layers):
        for part in layer.parts:
            columns = range(part.cols.start, part.cols.stop)
            if not part.weight.requires_grad:
                rows = range(part.rows.start, part.rows.stop)
                frozen.update(("w", k, i, j) for i in rows for j in columns)
            if part.bias is not None and not part.bias.requires_grad:
                frozen.update(("b", k, j) for j in columns)
    return frozen


def _context(d: Any) -> dict[str, Any]:
    """What a report needs to write its symbols and its notes: the derivation's notation, its
    top layer, the letters of the top connection, and whether a relu unit is at its kink."""
    top = d.n_layers
    return {
        "notation": d.notation,
        "top": top,
        "letters": (d.layers[top - 1].letter, d.layers[top].letter),
        "at_kink": _relu_at_kink(d),
    }


def _relu_at_kink(d: Any) -> bool:
    """Whether some relu unit of ``d`` is at its kink: its checks left out there, or its z 0."""
    for record in d.layers[1:]:
        if record.activation != "relu":
            continue
        marked = record.dE_dz_kink is not None and bool(np.any(record.dE_dz_kink))
        if marked or bool(np.any(record.z == 0)):
            return True
    return False


def _merged_leaves(g: UnitGraph, rows: list[BugRow]) -> list[list[tuple]]:
    """The leaves (by key) that share a value, and so one total, group by group."""
    groups: dict[tuple, list[tuple]] = {}
    checked = {row.key for row in rows}
    for key, tensor in g.quantities().items():
        if tensor.is_leaf and key in checked:
            groups.setdefault(_value_key(tensor), []).append(key)
    return [keys for keys in groups.values() if len(keys) > 1]


def _merged_note(merged: list[list[tuple]], n: Notation) -> str:
    """Which leaves share a value (and so one total), or why nothing went wrong."""
    if merged:
        return (
            "Merged into one node: "
            + "; ".join(" and ".join(_leaf_name(key, n) for key in keys) for keys in merged)
            + "."
        )
    return (
        "No two leaves of this network hold equal values, so the bug stays hidden and every "
        "check passes: try inputs with two equal values (--input 0.5,0.5) or zero biases."
    )


def _leaf_name(key: tuple, n: Notation) -> str:
    """'input 2', 'w_11 (layer 1→2)', 'b_3 (layer 2)': a leaf as the note names it, in
    notation ``n`` (RHW's weight from unit 1 to unit 2 is w_21, the matrix form's w^1_21)."""
    kind, *index = key
    if kind == "y":
        return f"input {index[1] + 1}" + (f" of case {index[2] + 1}" if index[2] else "")
    if kind == "w":
        below, i, j = index
        return f"{n.w(below, 'i', i, 'j', j).plain} (layer {below}→{below + 1})"
    below, j = index
    return f"{n.b(below + 1, 'j', j).plain} (layer {below + 1})"


def _rows(
    d: Any, g: UnitGraph, wrong: dict[int, Any], reference: dict[tuple, float]
) -> list[BugRow]:
    """A row per gradient the derivation checked: right, wrong (0 where no path sent any), and
    the real engine's value on the same unit graph (``reference``, by key)."""
    rows = []
    for key, tensor in g.quantities().items():
        check = _from_derivation(d, key)
        if check is None:
            continue
        value = wrong.get(id(tensor))
        rows.append(
            BugRow(
                key,
                _right(check, reference.get(key)),
                0.0 if value is None else float(value),
                check.numeric,
                check.atol,
                check.rtol,
                reference.get(key),
                check,
            )
        )
    return rows


def _right(check: Checked, reference: float | None) -> float:
    """The right value a row shows: the derivation's, unless the real engine on the unit graph
    (``reference``, what the wrong value is measured against) is further from it than the
    derivation's own check allows. That happens at a relu kink: the unit graph sums
    b_j + Σ_i y_i w_ij in its own order, the engine's matrix product in another, and a z of
    about 0 can land on either side, so relu'(0) = 0 on one and 1 on the other (a table said
    "0 of 20 gradients are wrong" over rows whose right and bug columns differed). The row
    then shows the reference, which the bug is compared with."""
    if reference is None or check.value == reference:
        return check.value
    if abs(check.value - reference) <= check.atol + check.rtol * abs(reference):
        return check.value
    return reference


def _kinked(d: Any, rows: list[BugRow]) -> int:
    """How many rows' right values are the unit graph's, not the derivation's."""
    return sum(row.right != _from_derivation(d, row.key).value for row in rows)


def _kink_note(
    moved: int, n: Notation, top: int, letters: tuple[str, str], at_kink: bool = True
) -> str:
    """What to say when ``moved`` rows' right values are the unit graph's, its symbols those of
    the top connection (letters i, j) in notation ``n``: a relu unit at its kink (``at_kink``),
    or else sums that cancel, which round differently in another order (a logistic network's
    z of 0.1 from terms of 1e12 was blamed on a relu kink it does not have)."""
    if not moved:
        return ""
    i, j = letters
    y_w = f"{n.y(top - 1, i).plain} {n.w(top - 1, i, None, j, None).plain}"
    z_j = f"{n.b(top, j).plain} + Σ_{i} {y_w}"  # as the forward pass writes z_j
    z = n.bare("z").plain
    order = (
        f"the graph recorded unit by unit (which the bug runs on) sums {z_j} in another order "
        "than the engine's matrix product"
    )
    if at_kink:
        why = (
            f"a relu unit's {z} is at its kink, 0, and {order}, and the two can land on opposite "
            "sides of 0 (where relu's slope is 0 on one, 1 on the other)"
        )
    else:
        why = (
            f"{order}, and where those sums cancel (large terms, a small {z}) the two orders "
            "round differently, by more than the check of the backward pass allows"
        )
    return (
        f"{moved} right value{'s' if moved > 1 else ''} here differ{'' if moved > 1 else 's'} "
        f"from the backward pass above: {why}. The right column is the real engine on that "
        "graph, the values the bug is compared with."
    )


def _from_derivation(d: Any, key: tuple) -> Checked | None:
    """The derivation's engine value, finite difference and tolerance for ``key`` (None: an
    output dE/dy that a loss reading the logits does not show)."""
    kind, *index = key
    if kind == "y":
        layer, unit, case = index
        return None if d.layers[layer].dE_dy is None else d.dE_dy(layer, unit, case)
    if kind == "z":
        layer, unit, case = index
        return d.dE_dz(layer, unit, case)
    if kind == "w":
        return d.dE_dw(*index)
    return d.dE_db(*index)


def _stepped(d: Any, g: UnitGraph) -> list[tuple[np.ndarray, np.ndarray | None, str]]:
    """The model at ``g``'s parameters as (W, b, activation) triples; a top layer whose loss
    reads the logits stays a plain Linear layer, as in the model itself."""
    layers = weights_of(d)
    stepped = []
    for k, (W, b, act) in enumerate(layers):
        n_in, n_out = W.shape
        W2 = np.zeros((n_in, n_out))  # 0 where no weight joins i to j (a Parallel layer)
        for (layer, i, j), w in g.w.items():
            if layer == k:
                W2[i, j] = w.item()
        b2 = None if b is None else np.array([g.b[(k, j)].item() for j in range(n_out)])
        logits = k == len(layers) - 1 and d.loss.output_activation is not None
        stepped.append((W2, b2, "identity" if logits else act))
    return stepped


def _no_zero_grad(d: Any, bug: Bug, frozen: set[tuple]) -> BugReport:
    """Two training steps on the same parameters with ``.grad`` never cleared (the real engine,
    the real accumulation): step 2's .grad is step 1's gradient plus its own. The ``frozen``
    leaves (by key) get no .grad from step 1, as backward leaves a frozen parameter's, so the
    library's SGD skips them: they stay where the model has them."""
    from chainrule.explainer.build import explain

    g1 = unit_graph_of(d)
    g1.E.backward()
    leaves = g1.quantities()
    for key in frozen:
        leaves[key].grad = None
    # step 1: the library's own plain SGD on the graph's weight and bias leaves
    optim.SGD([*g1.w.values(), *g1.b.values()], lr=STEP_LEARNING_RATE).step()
    g2 = unit_graph_of(d, params=g1)
    g2.E.backward(retain_graph=True)  # the bug: no zero_grad() between the steps
    d2 = explain(_stepped(d, g2), d.x, d.loss_targets, d.loss, perturbation=False, check=True)
    wrong: dict[int, Any] = {}
    for tensor in g2.quantities().values():
        if tensor.is_leaf and tensor.grad is not None:
            wrong[id(tensor)] = tensor.grad.item()
    right_now = gradients(g2)
    for key, tensor in g2.quantities().items():
        if not tensor.is_leaf:  # never stored in .grad: computed afresh, right
            wrong[id(tensor)] = right_now[key]
    note = (
        f"Step 2 runs at the weights after one SGD step (learning rate {STEP_LEARNING_RATE:g}); "
        "the right values and the finite differences are those of step 2."
    )
    if frozen:
        note += (
            " Frozen parameters (requires_grad=False) get no .grad, so the step leaves them as "
            "they were and nothing piles up on them: their rows are step 2's own gradient."
        )
    rows = _rows(d2, g2, wrong, right_now)
    return BugReport(bug, rows, note, kinked=_kinked(d2, rows), **_context(d))
