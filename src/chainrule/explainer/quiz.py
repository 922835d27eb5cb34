"""Exercise mode: compute one gradient by hand; chainrule checks it and says what went wrong.

:func:`make_quiz` draws a small random network (a layer i of 2-3 units feeding a top layer j of
2-4 logistic units, squared error, numbers with two decimals) and asks for dE/dy_i or dE/dw_ij.
:func:`check_answer` compares the answer with the engine's gradient (itself checked by finite
differences) and, when it is wrong, looks for the usual slips: terms of the sum over j left out,
an extra term, dE/dy_j used where dE/dz_j belongs (the factor y_j (1 - y_j) forgotten), the
wrong y, the wrong sign, the factor 2 (the 1/2 of E forgotten). The tolerance covers what keeping
4 significant digits in every intermediate can move the answer by; an exercise where a wrong
method would be accepted, or whose terms cancel too far for that, is redrawn from the seed.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from chainrule.errors import counted
from chainrule.explainer.build import explain
from chainrule.explainer.derivation import Derivation
from chainrule.explainer.network import ExplainError, Problem, as_loss, as_network

#: Significant digits an exercise asks for; an answer written with fewer is not accepted.
DIGITS = 4

#: What an exercise asks for: "dy" (dE/dy_i) or "dw" (dE/dw_ij); ``quiz --kind``'s choices, in
#: its help's order.
KINDS = ("dy", "dw")

_NUMBER = re.compile(r"[+-]?(?P<mantissa>\d+\.?\d*|\.\d+)(?:[eE](?P<exponent>[+-]?\d+))?")


@dataclass
class Quiz:
    """One exercise: the network's numbers, the question, and the derivation that answers it."""

    seed: int
    kind: str
    i: int
    j: int
    y: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    t: np.ndarray
    derivation: Derivation

    @property
    def expected(self) -> float:
        return _right(self, self.kind)

    @property
    def numeric(self) -> float | None:
        """The same gradient by central finite differences."""
        if self.kind == "dy":
            return self.derivation.dE_dy(0, self.i).numeric
        return self.derivation.dE_dw(0, self.i, self.j).numeric

    def question(self) -> str:
        """The exercise as text: the numbers and what to compute."""
        n_i, n_j = self.weight.shape

        def row(name: str, values: np.ndarray) -> str:  # "y_1 = 0.75,  y_2 = 0.3": a list
            return ",  ".join(f"{name}_{a + 1} = {_shown(v)}" for a, v in enumerate(values))

        lines = [
            f"A layer i of {n_i} units feeds a top layer j of {n_j} logistic units;",
            "z_j = b_j + sum_i y_i w_ij,  y_j = 1/(1 + e^-z_j),  E = 1/2 sum_j (t_j - y_j)^2.",
            "  layer i, y_i:  " + row("y", self.y),
            "  biases b_j:    " + row("b", self.bias),
            "  targets t_j:   " + row("t", self.t),
        ]
        for a in range(n_i):
            weights = ",  ".join(
                f"w_{a + 1}{k + 1} = {_shown(self.weight[a, k])}" for k in range(n_j)
            )
            lines.append(f"  weights w_{a + 1}j:  {weights}")
        if self.kind == "dy":
            lines.append(
                f"Compute dE/dy_{self.i + 1} of layer i, the unit y_{self.i + 1} = "
                f"{_shown(self.y[self.i])} (to {DIGITS} significant digits)."
            )
        else:
            lines.append(
                f"Compute dE/dw_{self.i + 1}{self.j + 1} (to {DIGITS} significant digits)."
            )
        return "\n".join(lines)


def _shown(value: float) -> str:
    """A number of the exercise as printed: ``0.75``, ``1``; never ``-0``."""
    return f"{value + 0.0:g}"


@dataclass
class Verdict:
    """The outcome of :func:`check_answer`."""

    correct: bool
    answer: float
    expected: float
    numeric: float | None
    message: str
    diagnosis: str | None = None
    missing: list[int] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def make_quiz(seed: int = 0, kind: str | None = None) -> Quiz:
    """A random small exercise; ``kind`` is "dy" (dE/dy_i) or "dw" (dE/dw_ij), else drawn.

    The kind is drawn from the seed's stream whether or not ``kind`` is given, so a seed is one
    network: exercise 7 has the same numbers with and without ``--kind``.
    """
    rng = np.random.default_rng(seed)
    drawn = "dy" if rng.random() < 0.7 else "dw"
    kind = kind or drawn
    if kind not in KINDS:
        raise ExplainError(f"quiz: kind {kind!r} is not known; use {' or '.join(KINDS)}")
    # redraw (from the same stream: a seed is still one network) while a slip passes
    for _ in range(_MOST_DRAWS):
        quiz = _draw(rng, seed, kind)
        if _fair(quiz):
            return quiz
    raise ExplainError(
        f"quiz: seed {seed} drew {_MOST_DRAWS} networks and none was a fair exercise; "
        "try another seed"
    )


#: How many networks :func:`make_quiz` draws before it gives up. About half are fair (seeds
#: 0-299 take 1.9 draws on average, 8 at most), so a seed that reaches this is a bug, not luck,
#: and an error says so instead of drawing forever.
_MOST_DRAWS = 200


def _draw(rng: np.random.Generator, seed: int, kind: str) -> Quiz:
    n_i, n_j = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    # + 0.0: a rounded -0.001 is -0.0, printed "-0"
    y = np.round(rng.uniform(0.05, 0.95, n_i), 2) + 0.0
    weight = np.round(rng.uniform(-1.0, 1.0, (n_i, n_j)), 2) + 0.0
    bias = np.round(rng.uniform(-0.5, 0.5, n_j), 2) + 0.0
    t = rng.integers(0, 2, n_j).astype(float)
    network = as_network([(weight, bias, "logistic")])
    problem = Problem(network, y[None, :], t[None, :], as_loss("squared-error"))
    derivation = explain(problem, perturbation=False)
    i, j = int(rng.integers(n_i)), int(rng.integers(n_j))
    return Quiz(seed, kind, i, j, y, weight, bias, t, derivation)


def _fair(quiz: Quiz) -> bool:
    """No wrong method gives an answer accepted as right, for either question the network asks
    (dE/dy_i and dE/dw_ij: a seed is one network whichever ``--kind``), and y_i is not w_ij
    (using the weight for the activity would be right by chance)."""
    if quiz.y[quiz.i] == quiz.weight[quiz.i, quiz.j]:
        return False
    for kind, slips in (("dy", _dy_slips(quiz)), ("dw", _dw_slips(quiz))):
        value, window = _right(quiz, kind), tolerance(quiz, kind)
        if window > _LOOSEST * abs(value):  # terms that cancel: careful work lands anywhere
            return False
        # a slip worked with rounding along the way lands within the tolerance of its own value
        if any(abs(slip[0] - value) <= 2 * window for slip in slips):
            return False
    return True


#: The widest tolerance an exercise may need, relative to its answer: an exercise whose terms
#: cancel so far that rounding in the intermediates moves the answer more than this is redrawn.
_LOOSEST = 0.01


def _right(quiz: Quiz, kind: str) -> float:
    """The engine's dE/dy_i (``kind`` "dy") or dE/dw_ij ("dw") of ``quiz``'s network."""
    if kind == "dy":
        return quiz.derivation.dE_dy(0, quiz.i).value
    return quiz.derivation.dE_dw(0, quiz.i, quiz.j).value


def _half_unit(value: float) -> float:
    """Half a unit in the :data:`DIGITS`-th significant digit of ``value``: the most rounding
    ``value`` to those digits changes it (0.2183: 5e-5; 0: 0)."""
    value = abs(float(value))
    if value == 0.0 or not math.isfinite(value):
        return 0.0
    return 0.5 * 10.0 ** (math.floor(math.log10(value)) - (DIGITS - 1))


def rounding_bound(quiz: Quiz, kind: str | None = None) -> float:
    """How far a student who keeps :data:`DIGITS` significant digits in every intermediate
    (z_j, e^-z_j, 1 + e^-z_j, y_j, y_j - t_j, 1 - y_j, y_j(1 - y_j), dE/dz_j, each term
    w_ij dE/dz_j and each partial sum) can end up from the exact answer, to first order, each
    rounding off by half a unit in its last digit and the errors adding up as they propagate.
    Where the terms of dE/dy_i nearly cancel this is many units of the answer's own last digit:
    the terms' rounding, not the answer's size, sets what careful hand work can reach."""
    kind, h = kind or quiz.kind, _half_unit
    top = quiz.derivation.layers[1]
    y, t = top.y[0], quiz.t
    z = quiz.bias + quiz.y @ quiz.weight
    e_z = np.array([h(v) for v in z])
    exp = np.exp(-z)
    e_exp = exp * e_z + np.array([h(v) for v in exp])
    den = 1.0 + exp
    e_y = (e_exp + np.array([h(v) for v in den])) / den**2 + np.array([h(v) for v in y])
    d = y - t
    slope = y * (1.0 - y)
    e_d = e_y + np.array([h(v) for v in d])
    e_slope = (
        (1.0 - y) * e_y
        + y * (e_y + np.array([h(v) for v in 1.0 - y]))
        + np.array([h(v) for v in slope])
    )
    dz = slope * d
    e_dz = np.abs(slope) * e_d + np.abs(d) * e_slope + np.array([h(v) for v in dz])
    if kind == "dw":
        return float(quiz.y[quiz.i] * e_dz[quiz.j])
    terms = quiz.weight[quiz.i] * dz
    e_terms = np.abs(quiz.weight[quiz.i]) * e_dz + np.array([h(v) for v in terms])
    return float(e_terms.sum() + (len(terms) - 1) * h(np.abs(terms).sum()))


def tolerance(quiz: Quiz, kind: str | None = None) -> float:
    """How far from the answer's rounding an answer may be and still be right: one unit in the
    last digit asked (and a half for its own rounding), plus :func:`rounding_bound` (``kind``:
    the quiz's own by default)."""
    kind = kind or quiz.kind
    return 1.5 * _asked(_right(quiz, kind))[1] + rounding_bound(quiz, kind)


def _plain(text: str) -> str:
    """``text`` without surrounding spaces and with the minus sign U+2212 (as the write-up prints
    formulas, and copying from it gives) read as ``-``."""
    return text.strip().replace("\u2212", "-")


def _number(text: str) -> re.Match:
    match = _NUMBER.fullmatch(_plain(text))
    if match is None:
        if _NUMBER.fullmatch(_plain(text).replace(",", ".", 1)):  # -0,2183: a decimal comma
            raise ValueError(f"{text!r} is not a number: write a decimal point, not a comma")
        raise ValueError(f"{text!r} is not a number")
    return match


def _last_digit(written: str) -> float:
    """The value of one unit in the last digit of ``written`` (``-0.2183`` and ``2.183e-1``:
    1e-4, ``0.0000``: 1e-4), read off the text: the number's own size says nothing of a zero."""
    match = _number(written)
    decimals = len(match["mantissa"].partition(".")[2])
    return float(f"1e{int(match['exponent'] or 0) - decimals}")  # never OverflowError


def significant_digits(text: str) -> int:
    """The significant digits written in ``text`` (``"-0.2180"``: 4, ``"1.5e-3"``: 2; a zero,
    ``"0.000"``, has none).

    Raises ValueError when ``text`` is not a plain decimal number."""
    return len(_number(text)["mantissa"].replace(".", "").lstrip("0"))


def digits_text(n: int) -> str:
    """``"1 significant digit"``, ``"3 significant digits"``."""
    return counted(n, "significant digit")


def parse_answer(text: str) -> float:
    """A written answer as a number, or ValueError saying what is wrong with it. Spaces around
    it and a Unicode minus (U+2212) are allowed: ``" \u22120.2183 "`` is -0.2183."""
    _number(text)  # the same grammar everywhere: no 'nan', 'inf' or '1_0'
    value = float(_plain(text))
    if not math.isfinite(value):
        raise ValueError(f"{_plain(text)} is too large to be a float")
    return value


def _is_number(value: object) -> bool:
    """A finite real number (an int, a float, a NumPy scalar or 0-d array); not a bool, a list,
    an array of several numbers or None."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(value)


def _asked(value: float) -> tuple[float, float]:
    """``value`` as the exercise asks for it, rounded to :data:`DIGITS` significant digits, and
    one unit in the last of those digits (-0.218283: -0.2183 and 1e-4)."""
    text = f"{value:.{DIGITS - 1}e}"
    return float(text), _last_digit(text)


def _matches(answer: float, value: float, window: float = 0.0) -> bool:
    """``answer`` is ``value`` to the :data:`DIGITS` digits asked, give or take one unit in the
    last of them for hand rounding along the way (more where ``window`` says so), on either side
    of the correct rounding: for -0.218283 (-0.2183) with no window, -0.2182 to -0.2184. An
    answer with more digits is read as what it rounds to (-0.21815 to -0.21845 are right: more
    digits never make a near answer wrong); one with fewer, as written with zeros after it
    (0.0689 as 0.06890). ``window`` (the exercise's :func:`tolerance`) widens this for
    rounding in the intermediates."""
    rounded, unit = _asked(value)
    units = max(1, math.floor(window / unit * (1 + 1e-9)))  # whole units: as answers round
    return abs(answer - rounded) <= (units + 0.5) * unit * (1 + 1e-9)


def _rounds_to(answer: float, written: str, value: float) -> bool:
    """A short answer is ``value`` rounded to its written digits, directly or by way of the
    :data:`DIGITS`-digit rounding (0.12449 is 0.124, or 0.1245 and then 0.125 by hand)."""
    slack = _last_digit(written) + _asked(value)[1]
    return abs(answer - value) <= slack / 2 * (1 + 1e-9)


def check_answer(quiz: Quiz, answer: float | str) -> Verdict:
    """Is ``answer`` right? If not, which slip explains it?

    The answer is read as written: a string as it is (spaces around it and a Unicode minus
    U+2212 allowed), a number as Python writes it (``repr``: -0.1 is ``"-0.1"``), so a number
    and its text get one verdict. It is right when it is the answer rounded to the :data:`DIGITS`
    significant digits the exercise asks for, give or take the whole units in the last of them
    that :func:`tolerance` allows on either side: at least one, and as many as keeping
    :data:`DIGITS` digits in every intermediate can move the answer (:func:`rounding_bound`;
    exercises where that is over 1% of the answer are not drawn). More
    digits are read as what they round to (-0.218183 is right, as -0.2182 is); fewer are right
    only as the answer's rounding with its trailing zeros left out, as ``f"{x:.4g}"`` writes it
    (0.0689 for 0.06890), with no unit either side (-0.0213 for -0.02131 is a rounding to 3
    digits). An answer with fewer digits that is the answer rounded to them (-0.218) is "close
    but too few digits", without giving the answer away; one that is not is wrong, with the
    difference.

    A slip (a term left out, the factor y_j(1 - y_j) forgotten, ...) is named only where it is
    the one slip the answer matches: at the digits asked, as the right answer would be, or, for
    an answer with fewer digits, rounded to the digits written (-0.99 for a slip of -0.9855, and
    not the right answer so rounded). Anything else (a list, an array, None, a bool, nan) raises
    ValueError, as text that is not a number does.
    """
    if not isinstance(answer, str) and not _is_number(answer):
        raise ValueError(f"{answer!r} is not a number; give one number or the text of one")
    written = _plain(answer) if isinstance(answer, str) else repr(float(answer))
    value = parse_answer(written)
    expected, numeric_value = quiz.expected, quiz.numeric
    digits = significant_digits(written)
    short = 0 < digits < DIGITS  # (a zero, 0.0000, has no digits to round anything to)

    def verdict(correct: bool, message: str, *slip) -> Verdict:
        return Verdict(correct, value, expected, numeric_value, message, *slip)

    # fewer digits are the answer only as its rounding written without trailing zeros: within
    # one unit of a short answer's last digit would pass -0.0213 for -0.02131, a 3-digit rounding
    window = tolerance(quiz, quiz.kind)
    if (value == float(f"{expected:.{DIGITS}g}")) if short else _matches(value, expected, window):
        return verdict(
            True, f"Correct: {expected:.6g} (engine), {numeric_value:.6g} (finite differences)."
        )
    asked = f"the exercise asks for {DIGITS}"
    if short and _rounds_to(value, written, expected):
        return verdict(
            False,
            f"Not accepted: {written} has {digits_text(digits)}; {asked} "
            "(e.g. -0.1234 or 1.250e-3).",
            "too few significant digits",
        )
    slips = _dy_slips(quiz) if quiz.kind == "dy" else _dw_slips(quiz)
    # a slip's own value first; then, for an answer with the digits asked, one the slip worked
    # with rounding along the way reaches (a short answer is matched by its rounding, below)
    matched = [slip for slip in slips if _matches(value, slip[0])]
    if not matched and not short:
        matched = [slip for slip in slips if _matches(value, slip[0], window)]
    if not matched and short:
        matched = [slip for slip in slips if _rounds_to(value, written, slip[0])]
    if len({slip[1] for slip in matched}) == 1:  # several would be a guess: name none
        _, diagnosis, missing, extra = matched[0]
        if short:  # the slip is all that its digits can tell
            diagnosis_text = f"to its {digits_text(digits)}, {diagnosis} ({asked})"
        else:
            diagnosis_text = diagnosis
        return verdict(
            False,
            f"Not quite: {diagnosis_text}. The answer is {expected:.6g}.",
            diagnosis,
            missing,
            extra,
        )
    few = f" Yours has {digits_text(digits)}; {asked}." if short else ""
    return verdict(
        False,
        f"Not quite: the answer is {expected:.6g} (yours differs by "
        f"{value - expected:.3g}).{few} {_hint(quiz)}",
    )


def _terms(quiz: Quiz, i: int) -> list[float]:
    d = quiz.derivation
    return [term.product for term in d.terms(0, i)]


def _dy_slips(quiz: Quiz) -> list[tuple[float, str, list[int], list[str]]]:
    """(value, diagnosis, missing js, extra terms) for the usual slips, simplest first."""
    d, i = quiz.derivation, quiz.i
    terms = _terms(quiz, i)
    n_j = len(terms)
    full = sum(terms)
    out = []
    for size in range(1, n_j):
        for dropped in combinations(range(n_j), size):
            value = full - sum(terms[k] for k in dropped)
            names = " and ".join(f"j={k + 1}" for k in dropped)
            word = "term" if size == 1 else "terms"
            out.append(
                (
                    value,
                    f"your answer equals the sum without the {word} for {names}",
                    [k + 1 for k in dropped],
                    [],
                )
            )
    dz = d.layers[1].dE_dz[0]
    for k in range(n_j):
        out.append(
            (
                full + terms[k],
                f"your answer equals the sum with the term for j={k + 1} counted twice",
                [],
                [f"w_{i + 1}{k + 1} dE/dz_{k + 1}"],
            )
        )
        for other in range(quiz.weight.shape[0]):
            if other != i:
                extra = quiz.weight[other, k] * dz[k]
                out.append(
                    (
                        full + extra,
                        f"your answer equals the sum plus an extra term "
                        f"w_{other + 1}{k + 1} dE/dz_{k + 1} (a path from y_{other + 1}, "
                        f"not from y_{i + 1})",
                        [],
                        [f"w_{other + 1}{k + 1} dE/dz_{k + 1}"],
                    )
                )
    dy_top = d.layers[1].dE_dy[0]
    out.append(
        (
            float(quiz.weight[i] @ dy_top),
            "your answer equals sum_j w_ij dE/dy_j: the "
            "factor y_j(1 - y_j) that turns dE/dy_j into dE/dz_j is missing",
            [],
            [],
        )
    )
    out.append(
        (-full, "your answer has the wrong sign (dE/dy_j = -(t_j - y_j) = y_j - t_j)", [], [])
    )
    out.append((2 * full, _HALF, [], []))
    y_i = quiz.y[i]
    out.append(
        (
            float(quiz.weight[i] @ (y_i * (1 - y_i) * dy_top)),
            "your answer uses y_i(1 - y_i), the slope of the unit below, where y_j(1 - y_j) "
            "belongs",
            [],
            [],
        )
    )
    n_i = quiz.weight.shape[0]
    if i < n_j and n_j <= n_i:  # every w_ji of the sum is one of the exercise's weights
        out.append(
            (
                float(quiz.weight[:n_j, i] @ dz),
                f"your answer uses w_j{i + 1} (w_{i + 1}{i + 1}, w_2{i + 1}, ...) where "
                f"w_{i + 1}j (w_{i + 1}1, w_{i + 1}2, ...) belongs",
                [],
                [],
            )
        )
    return out


#: The slip of an answer twice the right one.
_HALF = (
    "your answer is twice the right one: factor 2 (the 1/2 of E = 1/2 sum_j (t_j - y_j)^2 "
    "forgotten: dE/dy_j = y_j - t_j, not 2(y_j - t_j))"
)


def _dw_slips(quiz: Quiz) -> list[tuple[float, str, list[int], list[str]]]:
    d, i, j = quiz.derivation, quiz.i, quiz.j
    y_i, y_j = quiz.y[i], d.layers[1].y[0, j]
    dz, dy = d.layers[1].dE_dz[0, j], d.layers[1].dE_dy[0, j]
    return [
        (y_i * dy, "your answer equals y_i dE/dy_j: the factor y_j(1 - y_j) is missing", [], []),
        (y_j * dz, "your answer uses y_j (the unit above) where y_i (the unit below) belongs",
         [], []),
        (quiz.weight[i, j] * dz, "your answer uses the weight w_ij where the activity y_i "
         "belongs (dE/dw_ij = y_i dE/dz_j)", [], []),
        (dz, "your answer equals dE/dz_j: multiply by y_i", [], []),
        (-y_i * dz, "your answer has the wrong sign", [], []),
        (2 * y_i * dz, _HALF, [], []),
        (y_i * y_i * (1 - y_i) * dy, "your answer uses y_i(1 - y_i), the slope of the unit "
         "below, where y_j(1 - y_j) belongs", [], []),
        (y_i * float(d.layers[1].dE_dz[0].sum()), "your answer is y_i times the sum of "
         "dE/dz_j over every j: dE/dw_ij = y_i dE/dz_j has the one j of w_ij", [], []),
    ]  # fmt: skip


def _hint(quiz: Quiz) -> str:
    if quiz.kind == "dy":
        terms = ", ".join(f"{v:.4g}" for v in _terms(quiz, quiz.i))
        return f"Hint: dE/dy_i = sum_j w_ij dE/dz_j, whose terms here are {terms}."
    return "Hint: dE/dw_ij = y_i dE/dz_j with dE/dz_j = y_j(1 - y_j)(y_j - t_j)."
