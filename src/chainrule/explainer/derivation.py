"""The derivation: every quantity of one forward and backward pass, per layer, unit and connection.

A :class:`Derivation` holds numbers only: per layer y, z, dE/dy and dE/dz, per connection dE/dw
and dE/db, each beside its central finite difference. :func:`chainrule.explainer.explain` builds
one (:mod:`chainrule.explainer.build`); the renderers (text, Markdown, LaTeX, HTML) and the JSON
serialiser are functions of a derivation that live above it and import it, never the other way.

Numbering: layers are 0 (the input layer) to L (the output layer); in Python and JSON units are
0-based (``index``), while the renderers and the ``--unit L:i`` option count units from 1, as the
lecture does (j = 1, 2, 3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.checks import is_integer
from chainrule.errors import counted
from chainrule.explainer.network import ExplainError, loss_shown
from chainrule.explainer.notation import Math, Notation, get_notation, plain_text
from chainrule.gradcheck import near_zero as _within_tolerance_of_zero
from chainrule.nn.losses import Loss

#: One quantity the checks compare as a whole: ``("dE_dy", layer)``, ``("dE_dz", layer)``,
#: ``("dE_dw", layer below)`` or ``("dE_db", layer below)``.
Quantity = tuple[str, int]

#: The explainer JSON's ``schema_version`` (schema.json's ``const`` and ``$id`` say it too):
#: bumped where a document's meaning changes. 2: ``loss.written_out`` (false: a loss of the
#: user's own, its ``name`` none of chainrule's). History: docs/training.md, "File formats
#: and their versions".
SCHEMA_VERSION = 2

#: The absolute tolerance's floor for a difference whose own error was not measured (no
#: second, wider step was taken: a check of one's own beside an unchecked derivation, as the
#: web page's single dE/dy). The explainer's checks measure it instead
#: (:meth:`Derivation.measured_difference_errors`).
UNMEASURED_ATOL = 1e-7

#: The sections that explain the sum over j, each with why an output unit, which has no layer
#: above it, has none of it
SUM_SECTIONS = {
    "perturbation": "the nudge and its paths (no path runs through a layer above it)",
    "views": "the three views of the sum (there are no terms from units above to lay out)",
    "symbolic": "sympy's proof of the sum (there is no sum to prove)",
}


#: The mark beside a gradient whose finite difference was left out as it would straddle a kink
#: (:attr:`Checked.kink`), as every format prints it (text, Markdown, LaTeX, HTML) and the check
#: notes name it; the JSON says ``"kink": true``
KINK_MARK = "not checked (at a kink)"


@dataclass
class Checked:
    """A gradient from the engine beside its central finite difference.

    ``kink``: the difference would straddle the kink of a relu unit whose z is 0 (or within a
    step of it), where it reads half relu's slope and the engine takes relu'(0) = 0, or of a
    margin error's jump at its edge; such a gradient is not checked (``numeric`` is None), is no
    mismatch, and is marked :data:`KINK_MARK` (``"kink": true`` in the JSON).

    A check that agrees only because 0 would pass too (:attr:`near_zero`) gives no verdict
    (:attr:`unresolved`): the write-up marks it so, never with a ✓, and counts it apart."""

    value: float
    numeric: float | None = None
    atol: float = 0.0
    rtol: float = 0.0
    kink: bool = False
    #: where the check comes from, (the derivation, its quantity, the entry's index), for
    #: saying why it gives no verdict (:attr:`no_verdict_reason`, from
    #: :meth:`Derivation.tolerance_parts`); None for a check made apart from a derivation
    origin: tuple[Any, Quantity, tuple[int, ...]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def difference(self) -> float | None:
        return None if self.numeric is None else abs(self.value - self.numeric)

    @property
    def tolerance(self) -> float | None:
        """How far the engine's value may be from the difference: atol + rtol |numeric|; None
        where nothing was checked."""
        return None if self.numeric is None else self.atol + self.rtol * abs(self.numeric)

    @property
    def ok(self) -> bool | None:
        """Whether the engine's value is within the tolerance of the difference (None: not
        checked). A tolerance that is not finite (E's rounding over the step overflowed, a z of
        inf below) holds every value: True, and :attr:`near_zero`, so no verdict."""
        if self.numeric is None:
            return None
        tolerance = self.tolerance
        return not math.isfinite(tolerance) or self.difference <= tolerance

    @property
    def near_zero(self) -> bool:
        """Whether the check cannot tell this gradient from 0: its finite difference is within
        the tolerance of 0 (or the tolerance is not finite), so an engine value of 0 would pass
        too (a saturated unit's, say). Agreement then says only that the gradient is small, not
        that its rule is right."""
        if self.numeric is None:
            return False
        return _within_tolerance_of_zero(self.numeric, self.tolerance)  # cr.gradcheck's rule

    @property
    def unresolved(self) -> bool:
        """Whether the check gives no verdict: it agrees, but only within its tolerance of 0
        (:attr:`near_zero`), which an engine value of 0 would pass too, or under a tolerance
        that is not finite, which any value passes. Its agreement is no evidence: the
        write-up says "no verdict" beside it and the summary counts it apart."""
        return bool(self.ok) and self.near_zero

    @property
    def no_verdict_reason(self) -> str | None:
        """Why the check gives no verdict (:attr:`unresolved`), in one clause: what made its
        tolerance as wide as the gradient (:func:`no_verdict_reason`), in its derivation's
        notation; None where it gives one (or was not made)."""
        return self.no_verdict_reason_in(None)

    def no_verdict_reason_in(self, n: Notation | None) -> str | None:
        """:attr:`no_verdict_reason` with its symbols (E, z, y) in notation ``n`` (None: the
        derivation's own), as a write-up in another notation shows it."""
        return no_verdict_reason(self, n) if self.unresolved else None

    def to_dict(self) -> dict[str, Any]:
        out = {  # a kink's check is null here, as any unchecked one, and says why (kink)
            "value": _finite(self.value),
            "numeric": _finite(self.numeric),
            "difference": _finite(self.difference),
            "ok": self.ok,
            "near_zero": self.near_zero,
            "kink": self.kink,
        }
        reason = self.no_verdict_reason
        if reason is not None:  # only where there is no verdict: a large document stays lean
            out["no_verdict"] = reason
        return out


@dataclass(frozen=True)
class ToleranceParts:
    """What one check's absolute tolerance is made of (:meth:`Derivation.tolerance_parts`): E's
    rounding over the step, ``rounding`` (:func:`chainrule.gradcheck.difference_rounding` of
    ``size``, what E and the sums its difference reruns are rounded relative to, over
    ``step``), the difference's own measured error, ``measured`` (|fd(2 step) - fd(step)|
    and its rounding; inf where it resolves nothing; None where it was not measured), and the
    rest of ``atol`` (the rounding of the gradient's own terms, float32's share, a floor).
    ``moved`` is the y or z the step was added to (None for a weight's or a bias's), of the
    kind ``moved_name`` ("y", "z"; "w" or "b" where none is)."""

    rounding: float
    size: float
    step: float
    measured: float | None
    moved: float | None
    moved_name: str
    dtype: str


def no_verdict_reason(check: Checked, n: Notation | None = None) -> str:
    """Why ``check``, which agrees only within a tolerance at least as large as its finite
    difference (:attr:`Checked.unresolved`), gives no verdict, in one clause that every format
    prints after its mark and the JSON's ``no_verdict`` holds: a step lost on an infinite or
    huge value; a difference that resolves nothing; E's rounding over the step (the step's
    change in E within E's rounding: swallowed); the difference's own error; or the rounding
    of the gradient's own terms, whichever makes up most of the tolerance, with its numbers.
    Its symbols are notation ``n``'s (None: the derivation's own)."""
    g, tolerance = abs(check.numeric), check.tolerance
    if check.origin is None:  # a check made apart: its numbers are all there is
        if not math.isfinite(tolerance):
            return "its tolerance is not finite"
        return f"its tolerance, {tolerance:.3g}, is at least |fd|, {g:.3g}"
    d, quantity, index = check.origin
    parts = d.tolerance_parts(quantity, index)
    n = n or get_notation(d.notation)
    E, z = n.E().plain, n.bare("z").plain
    moved = parts.moved
    name = n.bare(parts.moved_name).plain if moved is not None else parts.moved_name
    if moved is not None and not math.isfinite(moved):
        return (
            f"the step moves {name} = {moved}, an infinite input (it overflowed): no step can "
            "move it, so the difference measures nothing"
        )
    if parts.measured is not None and not math.isfinite(parts.measured):
        step = parts.step
        if moved is not None and (moved + step) - (moved - step) == 0:
            return (
                f"the step {step:.2g} is swallowed by the rounding of {name} = {moved:.3g}, the "
                "value it moves, so the difference measures nothing"
            )
        return (
            f"the difference resolves nothing ({E} is not finite, or not a number, a step "
            "or two away)"
        )
    if not math.isfinite(tolerance):
        return (
            f"{E}'s rounding over the step is not finite (a sum the difference reruns "
            f"overflowed: a {z} of inf, or inputs and weights too large for float64)"
        )
    if g == 0.0:  # held by any tolerance: nothing moved E over the step
        head = (
            f"{E} did not move over the step {parts.step:.2g} (fd exactly 0, inside any tolerance)"
        )
        cause = _zero_cause(d, quantity, index, n)
        if cause is not None:
            return f"{head}: {cause}"
        underflow = _underflowed(d, quantity, index, check.value)
        if underflow is not None:  # its terms are not 0: the dtype's range, not the rule
            return f"{head}: {underflow}, far too small for the step to move {E}"
        off = " (a relu unit that is off)" if _relu_on_path(d, quantity) else ""
        return (
            f"{head}: the gradient is 0{off}, or too small for the step to move {E} past its "
            "rounding"
        )
    measured = parts.measured or 0.0
    rest = max(check.atol - parts.rounding - measured, 0.0)
    than = "more than" if max(parts.rounding, measured, rest) >= g else "of the order of"
    if parts.rounding >= max(measured, rest):
        rounded = 2 * float(np.finfo(np.float64).eps) * parts.size
        head = (  # swallowed: the step's change in E, |fd| step, is within E's rounding
            f"the step {parts.step:.2g} is swallowed by {E}'s rounding"
            if parts.rounding >= g
            else f"{E}'s rounding over the step {parts.step:.2g} is as large as the gradient"
        )
        # the size is a bound, not any sum's size: a deep network's is far above E (3.2^30
        # for a 30-layer tanh net), and was read as a sum of 6.6e7 where E was 2.4
        return (
            f"{head}: float64's rounding in the layers the difference reruns can move {E} by "
            f"at most about {rounded:.2g} (twice its epsilon times {parts.size:.2g}, a bound "
            "that counts every unit's terms and gradient as if none of them cancelled, so it "
            f"grows with depth), {parts.rounding:.2g} over the step, {than} |fd| {g:.2g}"
            f"{_deep_bound(d, quantity, parts.size, E)}"
        )
    if measured >= rest:
        return (
            f"the difference's own error, {measured:.2g} (|fd(2 step) - fd(step)| and the "
            f"rounding of the {E}'s it subtracts), is {than} |fd| {g:.2g}"
        )
    return (
        f"the rounding of the gradient's own terms in {parts.dtype} (and the tolerance's "
        f"floor), {rest:.2g}, is {than} |fd| {g:.2g}"
    )


#: How far above E's rounding as the engine's own gradients size it the worst-case bound must
#: be before a no-verdict reason says the bound alone, grown with depth, left the check
#: unresolved (:func:`_deep_bound`)
BOUND_FAR_ABOVE = 1e3


def _deep_bound(d: Derivation, quantity: Quantity, size: float, E: str) -> str:
    """The clause a no-verdict reason adds where E's rounding bound, ``size``
    (:func:`~chainrule.explainer.build.term_sizes`' ``rounded``, every unit's terms and its
    dE/dz's size carried down in |w| and slopes as if nothing cancelled), is
    :data:`BOUND_FAR_ABOVE` times or more what it comes to with the engine's own |dE/dz| and
    |dE/dy| in place of the carried sizes (:func:`_rounding_as_it_is`): the bound's growth
    with depth, not a large sum, then left the check without a verdict (a deep tanh network's
    lower layers: 2.6e10 against an E of 2.7), which puts no doubt on the engine's value. ''
    where it is not so far above (terms of 1e9 that cancel: the sums are that large)."""
    as_it_is = _rounding_as_it_is(d, quantity)
    if not size >= BOUND_FAR_ABOVE * as_it_is:  # (a size of NaN says nothing)
        return ""
    error = abs(d.error)
    times = f"the bound is {size / error:.2g} times |{E}| = {error:.2g}, and " if error else ""
    return (
        f"; here {times}with the engine's own gradients in place of its carried sizes it "
        f"would be {as_it_is:.2g}: a deep network's lower layers get no verdict from "
        "this check for that bound alone, which casts no doubt on the engine's value "
        "(cr.gradcheck, or a float64 comparison with torch, can check them)"
    )


def _rounding_as_it_is(d: Derivation, quantity: Quantity) -> float:
    """What :func:`~chainrule.explainer.build.term_sizes`' ``rounded`` comes to for
    ``quantity`` with the engine's own |dE/dz| (and the output's |dE/dy|) in place of the
    sizes it carries down: |E|, the output's |y dE/dy|, and each unit's |b_j| + sum_i
    |y_i w_ij| times its |dE/dz|, for the z's the quantity's difference reruns (its own and
    those above, for a dE/dz; those above it for the rest), summed over the cases. Only the
    no-verdict reason's words read it, never a tolerance."""
    sizes = d._reason_parts.get("as_it_is")
    if sizes is None:  # once per derivation
        top = d.layers[-1]
        total = abs(d.error)
        if top.dE_dy is not None:
            total += float(np.abs(top.dE_dy * top.y).sum())
        from_here = [total]  # from the top layer's z down to layer 1's, then the input's
        for conn in reversed(d.connections):
            terms = np.abs(d.layers[conn.below].y) @ np.abs(conn.weight)
            if conn.bias is not None:
                terms = terms + np.abs(conn.bias)
            total += float((np.abs(d.layers[conn.above].dE_dz) * terms).sum())
            from_here.append(total)
        sizes = d._reason_parts["as_it_is"] = from_here[::-1]  # [k]: layer k + 1's z's and up
    kind, layer = quantity
    first = layer if kind == "dE_dz" else layer + 1  # the lowest z the difference reruns
    return sizes[first - 1]  # (the output's dE/dy: first L + 1, E alone)


def _relu_on_path(d: Derivation, quantity: Quantity) -> bool:
    """Whether a relu unit lies between ``quantity`` and E (its own layer's, for a dE/dz;
    those above it, for the rest): where one might be off, zeroing the gradient."""
    kind, layer = quantity
    first = layer if kind == "dE_dz" else layer + 1
    return any(record.activation == "relu" for record in d.layers[first:])


def _zero_cause(d: Derivation, quantity: Quantity, index: tuple[int, ...], n: Notation
                ) -> str | None:  # fmt: skip
    """Why the gradient of ``quantity``'s entry ``index`` is exactly 0, where the derivation's
    numbers say (every case's, for a weight's or a bias's, which add up over the cases): the
    y_i feeding a weight is 0 (a zero input), the unit's dE/dz_j is 0 (a relu unit that is
    off, named as one only where it is), or every term of the sum over j is; None where none
    is known (:func:`no_verdict_reason` then gives the general reasons)."""
    kind, layer = quantity
    every = " in every case" if d.n_cases > 1 else ""
    if kind == "dE_dy":  # dE/dy_i = sum over j of w_ij dE/dz_j, in one case
        case, i = index
        if layer + 1 >= len(d.layers):
            return None
        conn, above = d.connections[layer], d.layers[layer + 1]
        targets = list(conn.targets(i))
        if not all(conn.weight[i, j] * above.dE_dz[case, j] == 0 for j in targets):
            return None
        j = above.letter
        total = n.dE_dy(layer, d.layers[layer].letter, i).plain
        term = f"{n.w(layer, 'i', i, above.letter, None).plain} "
        term += n.dE_dz(layer + 1, above.letter, None).plain
        if above.activation == "relu" and all(above.z[case, k] <= 0 for k in targets):
            why = f"every unit {j} it feeds is a relu unit that is off ({n.bare('z').plain} <= 0)"
            return f"{why}, so {total} = Σ_{j} {term} = 0"
        why = f"every term {term} of the sum is exactly 0"
        return f"{why}, so {total} = Σ_{j} {term} = 0{_underflowed_above(d, layer, [case], n)}"
    if kind == "dE_dz":
        case, j = index
        record = d.layers[layer]
        z = n.z(layer, record.letter, j).plain
        total = n.dE_dz(layer, record.letter, j).plain
        if record.activation == "relu" and record.z[case, j] < 0:
            return (
                f"it is a relu unit that is off ({z} = {record.z[case, j]:.3g} < 0), whose slope "
                f"is 0, so {total} = 0"
            )
        if record.dE_dy is not None and record.dE_dy[case, j] == 0:
            dy, f = n.dE_dy(layer, record.letter, j).plain, n.activation[0]
            below = _underflowed_above(d, layer, [case], n)
            return f"{dy} is exactly 0, so {total} = {f}'({z}) {dy} = 0{below}"
        return None
    above = d.layers[layer + 1]
    dE_dz = above.dE_dz[:, index[-1]]
    dz = n.dE_dz(layer + 1, above.letter, index[-1]).plain
    relu_off = above.activation == "relu" and bool(np.all(above.z[:, index[-1]] <= 0))
    if relu_off:
        z = n.z(layer + 1, above.letter, index[-1]).plain
        why = f"the unit above is a relu unit that is off{every} ({z} <= 0)"
    else:
        why = f"{dz} is exactly 0{every}"
    cases = list(range(d.n_cases))
    under = "" if relu_off else _underflowed_above(d, layer, cases, n)
    if kind == "dE_db":
        total = n.dE_db(layer + 1, above.letter, index[0]).plain
        return f"{why}, so {total} = {dz} = 0{under}" if np.all(dE_dz == 0) else None
    below = d.layers[layer]
    i, j = index
    y_i = below.y[:, i]
    y = n.y(layer, below.letter, i).plain
    total = n.dE_dw(layer, below.letter, i, above.letter, j).plain
    product = f"{total} = {y} {dz}"
    if np.all(y_i == 0):
        feeding = "the input" if layer == 0 else "the output of the unit"
        return f"{y}, {feeding} feeding the weight, is exactly 0{every}, so {product} = 0"
    if np.all(dE_dz == 0):
        return f"{why}, so {product} = 0{under}"
    if np.all(y_i * dE_dz == 0):
        return f"{y} or {dz} is exactly 0{every}, so {product} = 0"
    return None


def smallest_normal(dtype: Any) -> float:
    """The dtype's smallest normal number (float32's 1.2e-38, ``np.finfo(dtype).tiny``): a
    gradient below it has underflowed, to a subnormal or to 0, a rounding, not a wrong rule.
    Every check's tolerance holds it (:func:`~chainrule.explainer.build.tolerances`), and a
    no-verdict reason names the underflow (:func:`_underflowed`)."""
    return float(np.finfo(np.dtype(dtype)).tiny)


def _dtype_range(dtype: str) -> str:
    """The dtype's range at its small end, in words: "float32's smallest normal number is
    1.2e-38, its smallest subnormal 1.4e-45"."""
    subnormal = float(np.finfo(np.dtype(dtype)).smallest_subnormal)
    return (
        f"{dtype}'s smallest normal number is {smallest_normal(dtype):.2g}, its smallest "
        f"subnormal {subnormal:.2g}"
    )


def _underflowed(d: Derivation, quantity: Quantity, index: tuple[int, ...], value: float
                 ) -> str | None:  # fmt: skip
    """Why the engine's gradient ``value`` of ``quantity``'s entry ``index`` is 0, or a
    subnormal, where the terms it is written out from are not 0 (added up here in float64):
    it is below the model dtype's range and underflowed (a 60-layer float32 logistic
    network's products of 0.37 and 1.4e-45 are 0 in float32, and the write-up showed
    "5.2e-46 + 6.0e-46 = 0" beside "the gradient is 0, or too small"). None where the value
    is a normal number or its terms add up to 0 too (:func:`_zero_cause` then says why)."""
    if not abs(value) < smallest_normal(d.dtype):
        return None
    terms = _terms_in_float64(d, quantity, index)
    if terms is None or terms == 0 or not math.isfinite(terms):
        return None
    if value == 0:
        return (
            f"its terms, not 0 in float64 (they come to {terms:.3g}), are below {d.dtype}'s "
            f"range ({_dtype_range(d.dtype)}): in {d.dtype} they underflowed to 0"
        )
    return (
        f"it is {value:.3g} (its terms come to {terms:.3g} in float64), below {d.dtype}'s "
        f"range ({_dtype_range(d.dtype)}): it underflowed to a subnormal, kept to fewer digits"
    )


def _terms_in_float64(d: Derivation, quantity: Quantity, index: tuple[int, ...]) -> float | None:
    """The gradient of ``quantity``'s entry ``index`` from the terms the write-up shows for
    it, multiplied and added up here in float64: sum_j w_ij dE/dz_j for a dE/dy_i, f'(z_j)
    dE/dy_j for a dE/dz_j, and over the cases y_i dE/dz_j for a dE/dw_ij, dE/dz_j for a
    dE/db_j. None where there are none to add (the output's dE/dy, from the loss; a softmax
    unit's dE/dz, a Jacobian's)."""
    kind, layer = quantity
    if kind == "dE_dy":
        case, i = index
        return None if layer >= d.n_layers else d.sum_over_j(layer, i, case)
    if kind == "dE_dz":
        from chainrule.explainer.paths import slopes  # the unit's f'(z), an explainer tool's

        case, j = index
        record = d.layers[layer]
        if record.dE_dy is None:
            return None
        try:
            slope = float(slopes(d, layer, case)[j])
        except ExplainError:  # softmax: no slope per unit
            return None
        return slope * float(record.dE_dy[case, j])
    above = d.layers[layer + 1].dE_dz[:, index[-1]]
    if kind == "dE_db":
        return float(above.sum())
    return float((d.layers[layer].y[:, index[0]] * above).sum())


def _underflowed_above(d: Derivation, layer: int, cases: list[int], n: Notation) -> str:
    """The clause a zero cause adds where the gradients above ``layer`` went to 0 by
    underflow, not by any rule, in ``cases``: ": below <dtype>'s range, ..." naming the
    nearest layer above whose dE/dz are not all 0 where every one of them is a subnormal and
    the float64 sums of w dE/dz they send down are not 0 where the engine's dE/dy are (a
    float32 logistic network's layers under one of dE/dz about 1e-44 said only "every term
    ... is exactly 0"); '' where that is not so."""
    key = ("underflowed_above", layer, tuple(cases), n.name)
    if key not in d._reason_parts:  # once per layer and cases: every weight below asks
        d._reason_parts[key] = _underflow_clause(d, layer, cases, n)
    return d._reason_parts[key]


def _underflow_clause(d: Derivation, layer: int, cases: list[int], n: Notation) -> str:
    """:func:`_underflowed_above`'s clause, worked out."""
    floor = smallest_normal(d.dtype)
    for m in range(layer + 1, d.n_layers + 1):
        dE_dz = d.layers[m].dE_dz[cases]
        if np.any(dE_dz != 0):
            break
    else:
        return ""
    if not np.all(np.abs(dE_dz) < floor):
        return ""
    below = d.layers[m - 1]
    sent = dE_dz @ d.connections[m - 1].weight.T  # dE/dy of layer m - 1, in float64
    if below.dE_dy is None or not np.any((sent != 0) & (below.dE_dy[cases] == 0)):
        return ""
    letter = d.layers[m].letter
    dz = n.dE_dz(m, letter, None).plain
    w = n.w(m - 1, "i", None, letter, None).plain
    return (
        f": layer {m}'s {dz} are subnormal (at most {float(np.abs(dE_dz).max()):.2g}), and "
        f"the terms {w} {dz} they send down to layer {m - 1} are below {d.dtype}'s range "
        f"({_dtype_range(d.dtype)}): they underflowed to 0, and so did every gradient below"
    )


def verdict(checks: Sequence[Checked]) -> bool | None:
    """What a set of finite-difference checks says: False where one disagrees; None, no
    verdict, where every one is unresolved (:attr:`Checked.unresolved`: it agrees only within
    the tolerance of 0, which an engine value of 0 would pass too, or under a tolerance that is
    not finite); else True (and True where none was checked): every check that resolves
    anything agrees. Where some are unresolved and the rest agree, True: the write-up then
    says that all the resolved checks agree and how many are unresolved
    (:func:`~chainrule.explainer.sections_checks.summary`), and the JSON's ``near_zero``
    counts them."""
    if not all(c.ok for c in checks):
        return False
    return None if checks and all(c.unresolved for c in checks) else True


@dataclass
class LayerRecord:
    """One layer's units across the cases: arrays of shape (cases, units), float64.

    ``z`` and ``dE_dz`` are None for the input layer; ``dE_dy`` is None for an output layer whose
    loss works from z (cross-entropy after softmax, binary cross-entropy after logistic).
    """

    index: int
    role: str
    letter: str
    size: int
    activation: str | None
    y: np.ndarray
    z: np.ndarray | None
    dE_dy: np.ndarray | None
    dE_dz: np.ndarray | None
    dE_dy_numeric: np.ndarray | None = None
    dE_dz_numeric: np.ndarray | None = None
    #: True where the finite difference was left out: it straddles a relu unit's kink
    dE_dy_kink: np.ndarray | None = None
    dE_dz_kink: np.ndarray | None = None


@dataclass
class ConnectionRecord:
    """The weights from layer ``below`` to layer ``below + 1`` and their gradients."""

    below: int
    weight: np.ndarray
    bias: np.ndarray | None
    dE_dw: np.ndarray
    dE_db: np.ndarray | None
    weight_name: str
    bias_name: str | None
    #: where unit i below connects to unit j above (a Parallel layer's blocks); None:
    #: everywhere. ``weight`` and ``dE_dw`` hold 0 where there is no connection.
    connected: np.ndarray | None = None
    dE_dw_numeric: np.ndarray | None = None
    dE_db_numeric: np.ndarray | None = None
    #: True where the finite difference was left out: it straddles a relu unit's kink
    dE_dw_kink: np.ndarray | None = None
    dE_db_kink: np.ndarray | None = None

    @property
    def above(self) -> int:
        return self.below + 1

    @property
    def n_weights(self) -> int:
        """How many weights there are (a Parallel layer has none between its blocks)."""
        return int(self.weight.size if self.connected is None else self.connected.sum())

    def joins(self, i: int, j: int) -> bool:
        """Whether a weight joins unit i below to unit j above."""
        return self.connected is None or bool(self.connected[i, j])

    def sources(self, j: int) -> range | np.ndarray:
        """The units below that feed unit j above (all, but in a Parallel layer's block)."""
        n_in = self.weight.shape[0]
        return range(n_in) if self.connected is None else np.nonzero(self.connected[:, j])[0]

    def targets(self, i: int) -> range | np.ndarray:
        """The units above that unit i below feeds (all, but in a Parallel layer's block)."""
        n_out = self.weight.shape[1]
        return range(n_out) if self.connected is None else np.nonzero(self.connected[i])[0]


@dataclass
class Term:
    """One path's share of a sum: w_ij dE/dz_j."""

    j: int
    w: float
    dE_dz: float

    @property
    def product(self) -> float:
        return self.w * self.dE_dz


@dataclass
class Derivation:
    """Every number of one forward and backward pass, ready to be rendered in any notation.

    Build one with :func:`explain`. ``layers[l]`` holds y, z, dE/dy and dE/dz of layer l (0 is the
    input layer); ``connections[l]`` the weights from layer l to layer l + 1 and dE/dw.
    """

    description: str
    dtype: str
    loss: Loss
    error: float
    x: np.ndarray
    t: np.ndarray
    layers: list[LayerRecord]
    connections: list[ConnectionRecord]
    n_parameters: int
    eps: float
    atol: float
    rtol: float
    notation: str = "hinton"
    #: float32: the absolute tolerance also grows by this share of the largest |finite
    #: difference| of the same quantity (rounding is relative to the terms a sum adds up)
    atol_share: float = 0.0
    #: each quantity's own absolute tolerance, by ``("dE_dw", layer below)``, ``("dE_dy",
    #: layer)``, ...; ``atol`` (the largest) where a quantity has none; a connection's weights
    #: have one each (``entry_atol``), and here the largest of them
    quantity_atol: dict[Quantity, float] = field(default_factory=dict)
    #: where a quantity's tolerance differs by entry, its own per entry, an array that
    #: broadcasts against the quantity's entries: a connection's weights, ``("dE_dw", layer
    #: below)``, (inputs, outputs), as each row takes its own step (eps over the largest |y_i|
    #: it multiplies) and each weight's rounding is relative to its own y_i;
    #: ``quantity_atol`` holds the largest of them
    entry_atol: dict[Quantity, np.ndarray] = field(default_factory=dict)
    focus: tuple[int, int] | None = None
    #: whether ``focus`` is the unit :func:`explain` was asked for (``unit=``, ``--unit``), not
    #: its default: an input unit asked for has the inputs' dE/dy written out in every format,
    #: as ``chainrule explain --unit 0:1`` writes them, focused or not
    focus_asked: bool = False
    perturbation: dict | None = None
    symbolic: dict | None = None
    notes: list[str] = field(default_factory=list)
    #: the class labels the loss is given, for a loss of one's own that reads labels, not rows
    #: (``t`` holds them as one-hot rows); None where it is given ``t``
    labels: np.ndarray | None = None
    #: those of ``notes`` that are about the finite-difference check (its steps, the kinks it
    #: left out, its sample): what a view of the check alone shows
    check_notes: list[str] = field(default_factory=list)
    #: a teaching bug's report beside this derivation (:mod:`chainrule.explainer.bugs`)
    bug: Any = None
    #: dE/dy of the focused unit in three views (:mod:`chainrule.explainer.views`)
    views: dict | None = None
    #: paths against dynamic programming, layer by layer (:mod:`chainrule.explainer.paths`)
    paths: dict | None = None
    #: where the cases come from, in plain words ("row 0 (counted from 0) of the run's test
    #: split; inputs standardised as in training from the raw row (590.347, ...); target: class
    #: 'dog'"):
    #: the numbers are what the model computes with, which need not be what the data file says
    case_source: str | None = None
    #: the sections that explain the sum over j (names of :data:`SUM_SECTIONS`) asked for and
    #: left out, the focus being an output unit; :meth:`sum_left_out_in` says why
    sums_left_out: tuple[str, ...] = ()
    #: each checked quantity's finite differences' own error, per entry (NaN where none was
    #: taken): |fd(2 step) - fd(step)|, Richardson's estimate (:meth:`measured_difference_errors`)
    difference_error: dict[Quantity, np.ndarray] = field(default_factory=dict)
    #: per quantity, what E's rounding is relative to in the forward passes its differences
    #: rerun (:func:`~chainrule.explainer.build.term_sizes`' ``rounded``), and its
    #: differences' step (:func:`~chainrule.explainer.build.difference_steps`: a connection's
    #: weights', an array by row): what a check's tolerance is made of, which says why one
    #: gives no verdict (:meth:`tolerance_parts`)
    rounded_size: dict[Quantity, float] = field(default_factory=dict)
    steps: dict[Quantity, float | np.ndarray] = field(default_factory=dict)
    #: :meth:`_known` by quantity, with the numerics it was read from
    _atols: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    #: what the no-verdict reasons read of the whole network, worked out once for all of
    #: them (a large document asks for every weight's): :func:`_rounding_as_it_is`'s sizes,
    #: :func:`_underflowed_above`'s clauses
    _reason_parts: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def loss_targets(self) -> np.ndarray:
        """The targets as the loss takes them: its class labels (:attr:`labels`), else ``t``."""
        return self.t if self.labels is None else self.labels

    # -- an output unit as the focus ----------------------------------------------------------
    @property
    def sum_left_out(self) -> str | None:
        """Why the sections that explain the sum over j are left out (:meth:`sum_left_out_in`)
        in the derivation's own notation, as plain text (one of ``notes``, as the JSON has it);
        None where none is."""
        parts = self.sum_left_out_in(get_notation(self.notation))
        return plain_text(parts) if parts else None

    def sum_left_out_in(self, n: Notation) -> list[str | Math]:
        """Why the sections asked for that explain the sum over j, dE/dy_i = Σ_j w_ij dE/dz_j,
        are left out for the focused output unit, each with its reason, the unit's symbols in
        notation ``n`` (the write-up's, which may not be the derivation's); [] where none is."""
        if not self.sums_left_out:
            return []
        layer, unit = self.focus
        letter, E = self.layers[layer].letter, n.E()
        dE_dy = n.dE_dy(layer, letter, unit)
        # as the layer's own record says: a loss that reads z leaves the top's dE/dy None
        if self.layers[layer].dE_dy is None:
            loss, output = loss_shown(self.loss), self.loss.output_activation
            reads = [E, " reads its ", n.z(layer, letter, unit)]
            reads += [f" (the {loss} applies the {output} itself), so it has no ", dE_dy]
            reads += [" and its ", n.dE_dz(layer, letter, unit), " comes straight from the loss"]
        else:
            reads = [E, " reads its ", n.y(layer, letter, unit)]
            reads += [" directly, so its ", dE_dy, " comes from the loss"]
        left = [SUM_SECTIONS[name] for name in self.sums_left_out]
        listed = left[0] if len(left) == 1 else ", ".join(left[:-1]) + " and " + left[-1]
        return [
            f"unit {layer}:{unit + 1} is an output unit: ",
            *reads,
            " (the output layer's step above), with no layer above to sum over. Left out, as "
            f"each explains that sum: {listed}. For them, name a unit of layers 0 to {layer - 1}.",
        ]

    # -- shape of the network -----------------------------------------------------------------
    @property
    def joined(self) -> list[np.ndarray | None]:
        """Where a weight joins unit i to unit j, per connection (None: everywhere; a Parallel
        layer's blocks)."""
        return [conn.connected for conn in self.connections]

    @property
    def n_cases(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_layers(self) -> int:
        """L: the number of layers above the input layer."""
        return len(self.connections)

    @property
    def output(self) -> LayerRecord:
        return self.layers[-1]

    # -- the sums -----------------------------------------------------------------------------
    def terms(self, layer: int, unit: int, case: int = 0) -> list[Term]:
        """The terms w_ij dE/dz_j of dE/dy_i for unit ``unit`` (0-based) of layer ``layer``."""
        self._unit_record("terms", layer, unit, case, below_top=True)
        conn = self.connections[layer]
        dE_dz = self.layers[layer + 1].dE_dz[case]
        return [Term(int(j), float(conn.weight[unit, j]), float(dE_dz[j]))
                for j in conn.targets(unit)]  # fmt: skip

    def sum_over_j(self, layer: int, unit: int, case: int = 0) -> float:
        """sum_j w_ij dE/dz_j, added up here term by term (compare with the engine's dE/dy_i)."""
        return float(sum(term.product for term in self.terms(layer, unit, case)))

    def dE_dy(self, layer: int, unit: int, case: int = 0) -> Checked:
        """The engine's dE/dy for one unit and case, with its finite difference."""
        record = self._unit_record("dE_dy", layer, unit, case)
        if record.dE_dy is None:
            raise ExplainError(
                f"dE_dy({layer}, {unit}): layer {layer} is the output layer and "
                f"{loss_shown(self.loss)} works from its z (the logits), so its y is not on "
                "E's path; "
                f"use dE_dz({layer}, {unit})"
            )
        return self.checked_entry(
            ("dE_dy", layer), record.dE_dy, record.dE_dy_numeric, (case, unit), record.dE_dy_kink
        )

    def dE_dz(self, layer: int, unit: int, case: int = 0) -> Checked:
        """The engine's dE/dz for one unit and case, with its finite difference."""
        record = self._unit_record("dE_dz", layer, unit, case)
        if record.dE_dz is None:
            raise ExplainError(
                f"dE_dz({layer}, {unit}): layer 0 is the input layer and has no z; use "
                f"dE_dy(0, {unit}), or a layer from 1 to {self.n_layers}"
            )
        return self.checked_entry(
            ("dE_dz", layer), record.dE_dz, record.dE_dz_numeric, (case, unit), record.dE_dz_kink
        )

    def dE_dw(self, below: int, i: int, j: int) -> Checked:
        """The engine's dE/dw_ij (summed over cases), with its finite difference."""
        conn = self._connection("dE_dw", below, i, j)
        if not conn.joins(i, j):
            raise ExplainError(
                f"dE_dw({below}, {i}, {j}): no weight joins unit {i} of layer {below} to unit "
                f"{j} of layer {below + 1} (the layer joins its units in blocks, a Parallel)"
            )
        quantity = ("dE_dw", below)
        return self.checked_entry(quantity, conn.dE_dw, conn.dE_dw_numeric, (i, j), conn.dE_dw_kink)

    def dE_db(self, below: int, j: int) -> Checked | None:
        """The engine's dE/db_j of the layer above ``below``; None when it has no biases."""
        conn = self._connection("dE_db", below, None, j)
        if conn.dE_db is None:
            return None
        quantity = ("dE_db", below)
        return self.checked_entry(quantity, conn.dE_db, conn.dE_db_numeric, (j,), conn.dE_db_kink)

    def _unit_record(
        self, name: str, layer: int, unit: int, case: int, below_top: bool = False
    ) -> LayerRecord:
        """The record of ``layer``, once ``unit`` and ``case`` are checked (0-based, in range);
        ``below_top``: a unit with a layer above it (the sum over j, its paths, its nudge)."""
        call = f"{name}({layer}, {unit}, case={case})"
        top = self.n_layers
        if below_top:
            hint = f"0 is the input layer; the sums over j belong to layers 0 to {top - 1}"
            _check_index(call, "the layer", layer, top, hint)
        _check_index(call, "the layer", layer, top + 1, f"0 is the input layer, {top} the output")
        record = self.layers[layer]
        _check_index(call, f"the unit of layer {layer}", unit, record.size, _count(record.size))
        _check_index(call, "the case", case, self.n_cases, _count(self.n_cases, "case"))
        return record

    def _connection(self, name: str, below: int, i: int | None, j: int) -> ConnectionRecord:
        """The connection from layer ``below``, once ``i`` (below) and ``j`` (above) are checked."""
        call = f"{name}({below}, {j})" if i is None else f"{name}({below}, {i}, {j})"
        hint = "weights go from layer l to layer l + 1"
        _check_index(call, "the layer below", below, self.n_layers, hint)
        conn = self.connections[below]
        n_in, n_out = conn.weight.shape
        if i is not None:
            _check_index(call, f"unit i of layer {below}", i, n_in, _count(n_in))
        _check_index(call, f"unit j of layer {below + 1}", j, n_out, _count(n_out))
        return conn

    def checked_entry(
        self,
        quantity: Quantity,
        values: np.ndarray,
        numerics: np.ndarray | None,
        index: tuple[int, ...],
        kinks: np.ndarray | None = None,
    ) -> Checked:
        """Entry ``index`` of an array of engine values, beside its finite difference (none,
        and marked ``kink``, where ``kinks`` says it straddles a relu unit's kink). The index
        is not checked: the accessors above check theirs first, and the serializer loops over
        the valid ones only."""
        atol = self.entry_atols(quantity, numerics)
        checked = self._entry(values, numerics, index, atol, quantity)
        checked.kink = kinks is not None and bool(kinks[index])
        return checked

    def _entry(
        self,
        values: np.ndarray,
        numerics: np.ndarray | None,
        index: tuple[int, ...],
        atol: float | np.ndarray,
        quantity: Quantity,
    ) -> Checked:
        numeric = None if numerics is None else numerics[index]
        # math.isnan: one scalar, without a NumPy ufunc's overhead per entry of a large document
        nv = None if numeric is None or math.isnan(numeric) else float(numeric)
        own = float(atol[index]) if isinstance(atol, np.ndarray) else atol  # per entry
        return Checked(float(values[index]), nv, own, self.rtol, origin=(self, quantity, index))

    def tolerance_parts(self, quantity: Quantity, index: tuple[int, ...]) -> ToleranceParts:
        """What entry ``index`` of ``quantity``'s check has in its tolerance
        (:class:`ToleranceParts`): E's rounding over its step, its difference's own measured
        error and the value its step moved, for :func:`no_verdict_reason`."""
        from chainrule.gradcheck import difference_rounding  # (the engine's module; on use)

        kind, layer = quantity
        size = float(self.rounded_size.get(quantity, abs(self.error)))
        step = self.steps.get(quantity, self.eps)
        step = float(step[index[0], 0] if np.ndim(step) else step)  # a weight's: its row's
        errors = self.difference_error.get(quantity)
        measured = None if errors is None or math.isnan(errors[index]) else float(errors[index])
        moved = None
        if kind in ("dE_dy", "dE_dz"):
            values = self.layers[layer].y if kind == "dE_dy" else self.layers[layer].z
            moved = float(values[index])
        with np.errstate(over="ignore", invalid="ignore"):
            rounding = float(difference_rounding(size, step))
        return ToleranceParts(rounding, size, step, measured, moved, kind[4:], self.dtype)

    def measured_difference_errors(self, errors: dict[Quantity, np.ndarray]) -> None:
        """Fold each quantity's measured finite-difference errors (per entry, NaN where none
        was taken: :class:`~chainrule.explainer.build._Sampler`'s |fd(2 step) - fd(step)|)
        into its tolerance: each entry's absolute tolerance is then its rounding
        (:func:`~chainrule.explainer.build.tolerances`) plus what its own difference can
        resolve, so a small gradient is checked as closely as its difference is accurate (a
        flat floor of 1e-7 passed a 20% wrong gradient of 2e-7 whose difference was right to
        1e-11). ``entry_atol`` then holds every such quantity's per entry, ``quantity_atol``
        the largest checked one and ``atol`` the largest of those."""
        for quantity, error in errors.items():
            own = self.entry_atol.get(quantity, self.quantity_atol.get(quantity, self.atol))
            entries = np.broadcast_to(own, error.shape) + np.nan_to_num(
                error, nan=0.0, posinf=np.inf
            )
            self.entry_atol[quantity] = entries
            self.difference_error[quantity] = error
            taken = entries[~np.isnan(error)]
            if taken.size:
                self.quantity_atol[quantity] = float(taken.max())
        self.atol = max(self.quantity_atol.values(), default=self.atol)
        self._atols.clear()

    def atol_of(self, quantity: Quantity, numerics: np.ndarray | None) -> float:
        """The absolute tolerance for the entries of one quantity (a layer's dE/dy, a
        connection's dE/dw, ...): its own atol (``quantity_atol``; a connection's weights', the
        largest of theirs), plus ``atol_share`` of its largest |finite difference|, so a
        float32 gradient's rounding passes and a small wrong one does not, plus, where its
        differences' own error was not measured (a check of one's own difference beside an
        unchecked derivation), :data:`UNMEASURED_ATOL`. Each entry's own, where a quantity
        has them (``entry_atol``), is :meth:`entry_atols`'s."""
        atol = self.quantity_atol.get(quantity, self.atol)
        return atol + self._share(quantity, numerics) + self._unmeasured(quantity)

    def _unmeasured(self, quantity: Quantity) -> float:
        """:data:`UNMEASURED_ATOL` where ``quantity``'s differences' error was not measured."""
        return 0.0 if quantity in self.difference_error else UNMEASURED_ATOL

    def entry_atols(self, quantity: Quantity, numerics: np.ndarray | None) -> float | np.ndarray:
        """The absolute tolerance each entry of one quantity is checked with: :meth:`atol_of`,
        but for a quantity whose entries have their own (``entry_atol``: a connection's
        weights) an array of the numerics' shape."""
        own = self.entry_atol.get(quantity)
        if own is None or numerics is None:
            return self.atol_of(quantity, numerics)
        return self._known(quantity, numerics)[1]

    def _share(self, quantity: Quantity, numerics: np.ndarray | None) -> float:
        """``atol_share`` of the largest |finite difference| of one quantity (0 for float64)."""
        if not self.atol_share or numerics is None:
            return 0.0
        return self._known(quantity, numerics)[0]

    def _known(self, quantity: Quantity, numerics: np.ndarray) -> tuple[float, Any]:
        """(:meth:`_share`, :meth:`entry_atols`' array or None) of one quantity, worked out once
        per quantity: each entry's check asked again, a pass over all 200,000 weights of a
        784-256-10 layer per weight (its JSON took 52 s)."""
        known = self._atols.get(quantity)
        if known is not None and known[0] is numerics:
            return known[1]
        share = 0.0
        if self.atol_share and not np.all(np.isnan(numerics)):
            share = self.atol_share * float(np.nanmax(np.abs(numerics)))
        own = self.entry_atol.get(quantity)
        entries = None
        if own is not None:
            entries = np.broadcast_to(own, numerics.shape) + share + self._unmeasured(quantity)
        self._atols[quantity] = (numerics, (share, entries))
        return share, entries

    def _check_unit(self, layer: int, unit: int) -> None:
        """A unit named on the command line (``--unit 1:2``, units counted from 1), in its terms;
        the Python API checks its 0-based indices with :meth:`_unit_record`."""
        if not 0 <= layer <= self.n_layers:
            raise ExplainError(
                f"unit {layer}:{unit + 1}: layer {layer} is out of range; this network has "
                f"layers 0 (input) to {self.n_layers} (output)"
            )
        size = self.layers[layer].size
        if not 0 <= unit < size:
            raise ExplainError(
                f"unit {layer}:{unit + 1}: layer {layer} has {counted(size, 'unit')} (1 to {size})"
            )

    # -- checks -------------------------------------------------------------------------------
    def all_checks(self) -> list[Checked]:
        """Every engine gradient that was compared with a finite difference."""
        pairs = [(("dE_dy", r.index), r.dE_dy, r.dE_dy_numeric) for r in self.layers]
        pairs += [(("dE_dz", r.index), r.dE_dz, r.dE_dz_numeric) for r in self.layers]
        pairs += [(("dE_dw", c.below), c.dE_dw, c.dE_dw_numeric) for c in self.connections]
        pairs += [(("dE_db", c.below), c.dE_db, c.dE_db_numeric) for c in self.connections]
        out = []
        for quantity, grads, numerics in pairs:
            if grads is not None and numerics is not None:
                atol = self.entry_atols(quantity, numerics)
                taken = zip(*np.nonzero(~np.isnan(numerics)))  # a sample leaves the rest NaN
                out += [self._entry(grads, numerics, index, atol, quantity) for index in taken]
        return out

    @property
    def all_ok(self) -> bool | None:
        """Whether the checks bear the engine's gradients out. True: no checked gradient
        disagrees with its finite difference and some resolve something (or none was checked);
        those that do not (:attr:`Checked.unresolved`) give no verdict of their own, and the
        summary says "all N resolved checks agree; M unresolved". False: one disagrees, or the
        numbers are not numbers at all (where E or a gradient overflowed or is NaN, no finite
        difference can be taken, and "nothing disagreed" would say nothing). None, no
        verdict: none disagrees, but every one agrees only within the tolerance of 0
        (:attr:`Checked.near_zero`), where an engine value of 0 would pass too (an E of 1e37,
        whose rounding sets the tolerance; every unit saturated; a tolerance that is not
        finite)."""
        return False if self.not_finite is not None else verdict(self.all_checks())

    @property
    def not_finite(self) -> str | None:
        """The first of E and the engine's gradients that is not a finite number ("E is inf",
        "dE/dw of layer 0 holds NaN"), or None when all are. (A z that overflowed under a
        unit that saturates leaves E and its gradients finite, and checkable.)"""
        if not math.isfinite(self.error):
            return f"E is {self.error}"
        named = [(f"dE/dy of layer {r.index}", r.dE_dy) for r in self.layers]
        named += [(f"dE/dz of layer {r.index}", r.dE_dz) for r in self.layers]
        named += [(f"dE/dw of layer {c.below}", c.dE_dw) for c in self.connections]
        named += [(f"dE/db of layer {c.below}", c.dE_db) for c in self.connections]
        for name, values in named:
            if values is not None and not np.all(np.isfinite(values)):
                return f"{name} holds {'NaN' if np.any(np.isnan(values)) else 'inf'}"
        return None

    @property
    def max_difference(self) -> float:
        diffs = [c.difference for c in self.all_checks()]
        return max(diffs) if diffs else 0.0

    def __repr__(self) -> str:
        """One line (a console, a log, a notebook's text/plain), not every array it holds."""
        sizes = "-".join(str(record.size) for record in self.layers)
        return (
            f"Derivation({sizes} network, {counted(self.n_cases, 'case')}, "
            f"E = {self.error:.6g}, {loss_shown(self.loss)}, {self.dtype})"
        )

    def _repr_markdown_(self) -> str:
        """How a notebook shows a derivation: the explainer's Markdown, maths set by MathJax, its
        headings below the notebook's own (its title an h2)."""
        from chainrule.notebook.display import derivation_markdown  # the notebook host, on use

        return derivation_markdown(self)


def _check_index(call: str, what: str, index: int, size: int, hint: str) -> None:
    """An index Python would wrap (negative) or reject, named with its valid range."""
    if not is_integer(index):
        raise ExplainError(f"{call}: {what} must be a whole number, not {index!r}")
    if not 0 <= index < size:
        raise ExplainError(f"{call}: {what} must be 0 to {size - 1} ({hint}), not {index}")


def _count(n: int, noun: str = "unit") -> str:
    """'5 units, counted from 0'."""
    return f"{counted(n, noun)}, counted from 0"


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
