"""Quiz grading: an answer with fewer digits than asked, the accepted window, numbers and text.

For exercise 7 (dE/dy_1 = -0.218283) the grader took one unit of the answer's last written digit
as its tolerance, for the right answer and for the slips alike: -0.1 "equals the sum without the
term for j=1" (-0.1687), -0.3 was "close, too few digits", and the number -0.1 got another verdict
than the text "-0.1". The window of right answers was one-sided (-0.2182 right, -0.2184 wrong).
Every value here comes from NumPy, from the exercise's own numbers."""

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.explainer.quiz import DIGITS, check_answer, make_quiz, parse_answer, tolerance


def first_draw(seed, kind="dy"):
    """The network ``seed`` drew first (exercise 7's before s62 redrew ones where y_i = w_ij)."""
    from chainrule.explainer.quiz import _draw

    rng = np.random.default_rng(seed)
    rng.random()
    return _draw(rng, seed, kind)


def _units(quiz):
    """The whole units in the last digit asked that the quiz accepts either side (at least 1)."""
    return max(1, int(np.floor(tolerance(quiz) / _unit(quiz.expected) * (1 + 1e-9))))


def _by_numpy(quiz):
    """(dE/dy_i's terms w_ij dE/dz_j, y_j, dE/dz_j) for the exercise, by NumPy."""
    y_j = 1 / (1 + np.exp(-(quiz.bias + quiz.y @ quiz.weight)))
    dE_dz = y_j * (1 - y_j) * (y_j - quiz.t)
    return quiz.weight[quiz.i] * dE_dz, y_j, dE_dz


def _rounded(value: float, digits: int) -> float:
    return float(f"{value:.{digits - 1}e}")


def _unit(value: float) -> float:
    """One unit in the DIGITS-th significant digit of ``value`` rounded to DIGITS digits."""
    return 10.0 ** (int(f"{value:.{DIGITS - 1}e}".split("e")[1]) - (DIGITS - 1))


@pytest.fixture
def seven():
    quiz = first_draw(7)
    terms, _, _ = _by_numpy(quiz)
    assert quiz.expected == pytest.approx(terms.sum(), abs=1e-15)
    assert terms.sum() == pytest.approx(-0.218283, abs=1e-6)
    return quiz


def _both(quiz, text):
    """The verdicts on ``text`` and on the number it is; they must be the same."""
    assert repr(float(text)) == text
    as_text, as_number = check_answer(quiz, text), check_answer(quiz, float(text))
    assert (as_text.correct, as_text.diagnosis, as_text.message) == (
        as_number.correct,
        as_number.diagnosis,
        as_number.message,
    ), text
    return as_text


def test_a_short_answer_that_matches_no_slip_is_simply_wrong(seven):
    terms, _, _ = _by_numpy(seven)
    # -0.1 is not the sum without j=1 (-0.1687), and at one digit several slips round to -0.1
    assert _rounded(terms.sum() - terms[0], 2) == -0.17
    left_out = [terms.sum() - terms[a] - terms[b] for a in range(4) for b in range(a + 1, 4)]
    assert sum(_rounded(v, 1) == -0.1 for v in left_out) >= 2
    for text in ("-0.1", "-0.3"):
        verdict = _both(seven, text)
        assert not verdict.correct and verdict.diagnosis is None, verdict.message
        assert f"yours differs by {float(text) - terms.sum():.3g}" in verdict.message
        assert "Not accepted" not in verdict.message  # -0.3 is not nearly right
        assert "has 1 significant digit;" in verdict.message  # not "1 significant digits"


def test_a_short_answer_names_a_slip_only_when_it_is_that_slip_rounded(seven):
    terms, y_j, dE_dz = _by_numpy(seven)
    forgot = seven.weight[seven.i] @ (y_j - seven.t)  # dE/dy_j for dE/dz_j
    assert forgot == pytest.approx(-0.985515, abs=1e-6) and _rounded(forgot, 2) == -0.99
    verdict = _both(seven, "-0.99")
    assert not verdict.correct and "y_j(1 - y_j)" in verdict.diagnosis
    assert "to its 2 significant digits" in verdict.message
    # -0.17: the sum without j=1 and an extra term w_24 dE/dz_4 both round to it: a guess
    extra = terms.sum() + seven.weight[1, 3] * dE_dz[3]
    assert _rounded(extra, 2) == _rounded(terms.sum() - terms[0], 2) == -0.17
    assert _both(seven, "-0.17").diagnosis is None
    # -0.22 is the right answer rounded (and an extra term w_32 dE/dz_2 rounded): too few digits
    assert _rounded(terms.sum(), 2) == _rounded(terms.sum() + seven.weight[2, 1] * dE_dz[1], 2)
    verdict = _both(seven, "-0.22")
    assert verdict.diagnosis == "too few significant digits" and "Not accepted" in verdict.message


def test_a_full_answer_names_a_slip_at_the_digits_asked(seven):
    terms, _, _ = _by_numpy(seven)
    without_first = terms.sum() - terms[0]  # -0.168667
    for off in (-1, 0, 1):
        text = f"{_rounded(without_first, DIGITS) + off * _unit(without_first):.{DIGITS}g}"
        verdict = check_answer(seven, text)
        assert verdict.missing == [1], (text, verdict.message)
    off = (_units(seven) + 2) * _unit(without_first)
    verdict = check_answer(seven, f"{without_first + off:.{DIGITS}g}")
    assert verdict.diagnosis is None and not verdict.correct


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("kind", ["dy", "dw"])
def test_the_accepted_window_is_symmetric_around_the_rounded_answer(seed, kind):
    quiz = make_quiz(seed, kind)
    terms, y_j, dE_dz = _by_numpy(quiz)
    exact = terms.sum() if kind == "dy" else quiz.y[quiz.i] * dE_dz[quiz.j]
    assert quiz.expected == pytest.approx(exact, rel=1e-12)
    rounded, unit, units = _rounded(exact, DIGITS), _unit(exact), _units(quiz)
    for off in (-units, -1, 0, 1, units):
        text = f"{rounded + off * unit:#.{DIGITS}g}"
        assert check_answer(quiz, text).correct, (exact, text)
    for off in (-units - 1, units + 1):
        text = f"{rounded + off * unit:#.{DIGITS}g}"
        assert not check_answer(quiz, text).correct, (exact, text)


def test_the_units_either_side_of_minus_0_2183(seven):
    # four terms, each worked to 4 digits: 8 units either side are careful hand work
    assert _units(seven) == 8
    assert check_answer(seven, "-0.2175").correct and check_answer(seven, "-0.2191").correct
    assert not check_answer(seven, "-0.2174").correct
    assert not check_answer(seven, "-0.2192").correct


@pytest.mark.parametrize(
    "text", ["\u22120.2183", " \u22120.2183 ", "\t\u22120.2183\n", "\u22122.183e-1"]
)
def test_a_unicode_minus_and_spaces_are_read(seven, text, capsys):
    assert parse_answer(text) == -0.2183
    assert check_answer(seven, text).correct
    seed = next(s for s in range(30) if make_quiz(s, "dy").expected < 0)
    written = f"{make_quiz(seed, 'dy').expected:.4g}".replace("-", "\u2212")
    answer = text.replace("\u22120.2183", written).replace("\u22122.183e-1", written)
    assert main(["quiz", "--seed", str(seed), "--kind", "dy", f"--answer={answer}"]) == 0
    assert "Correct" in capsys.readouterr().out


def test_numbers_and_their_text_get_one_verdict():
    for seed in range(8):
        quiz = make_quiz(seed)
        terms, _, _ = _by_numpy(quiz)
        values = [quiz.expected, -quiz.expected, terms.sum() - terms[0], 0.5 * quiz.expected]
        for value in values:
            for digits in range(1, DIGITS + 3):
                _both(quiz, repr(_rounded(value, digits)))


def test_the_cli_says_what_a_short_answer_is(seven, capsys):
    out = check_answer(seven, "-0.1").message
    assert "sum without" not in out and "differs by 0.118" in out, out
    out = check_answer(seven, "-0.3").message
    assert out.startswith("Not quite: the answer is -0.218283"), out
    quiz = make_quiz(7, "dy")
    assert main(["quiz", "--seed", "7", "--kind", "dy", "--answer", "-0.3"]) == 1
    out = capsys.readouterr().out.splitlines()[-1]
    assert out.startswith(f"Not quite: the answer is {quiz.expected:.6g}"), out


def test_the_prompt_counts_one_digit_in_the_singular(monkeypatch, capsys):
    import typer

    quiz = make_quiz(7, "dy")
    replies = iter(["-0.2", f"{quiz.expected:.4g}"])
    monkeypatch.setattr(typer, "prompt", lambda *args, **kwargs: next(replies))
    assert main(["quiz", "--seed", "7", "--kind", "dy"]) == 0
    assert "-0.2 has 1 significant digit; give 4, please" in capsys.readouterr().out
