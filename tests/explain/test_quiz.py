"""The quiz: a correct answer, a missing term, an extra term and other slips are recognised."""

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.explainer.quiz import check_answer, make_quiz


def _terms(quiz):
    return [t.product for t in quiz.derivation.terms(0, quiz.i)]


@pytest.mark.parametrize("seed", range(6))
def test_correct_answer_agrees_with_engine_and_finite_differences(seed):
    quiz = make_quiz(seed, "dy")
    assert quiz.expected == pytest.approx(sum(_terms(quiz)), abs=1e-12)
    assert quiz.numeric == pytest.approx(quiz.expected, abs=1e-8)
    # 6 significant digits: round(x, 6) of seed 0's 0.0005701457 is 0.00057, a 2-digit rounding
    verdict = check_answer(quiz, float(f"{quiz.expected:.6g}"))
    assert verdict.correct and "Correct" in verdict.message


def _quiz_with_distinct_terms(kind="dy"):
    for seed in range(50):  # a quiz whose terms are far enough apart to tell slips apart
        quiz = make_quiz(seed, kind)
        terms = _terms(quiz)
        if len(terms) >= 3 and min(abs(t) for t in terms) > 5e-3:
            return quiz
    raise AssertionError("no suitable quiz")


def test_missing_term_is_named():
    quiz = _quiz_with_distinct_terms()
    terms = _terms(quiz)
    verdict = check_answer(quiz, sum(terms) - terms[1])
    assert not verdict.correct
    assert "your answer equals the sum without the term for j=2" in verdict.message
    assert verdict.missing == [2]


def test_extra_term_is_named():
    quiz = _quiz_with_distinct_terms()
    other = (quiz.i + 1) % quiz.weight.shape[0]
    dE_dz = quiz.derivation.layers[1].dE_dz[0]
    verdict = check_answer(quiz, sum(_terms(quiz)) + quiz.weight[other, 0] * dE_dz[0])
    assert not verdict.correct and verdict.extra
    assert "extra term" in verdict.message or "counted twice" in verdict.message


def test_forgotten_logistic_factor_and_sign():
    quiz = _quiz_with_distinct_terms()
    dE_dy_top = quiz.derivation.layers[1].dE_dy[0]
    forgot = sum(quiz.weight[quiz.i, j] * dE_dy_top[j] for j in range(len(dE_dy_top)))
    assert "y_j(1 - y_j)" in check_answer(quiz, forgot).message
    assert "wrong sign" in check_answer(quiz, -quiz.expected).message


def test_weight_gradient_quiz():
    quiz = make_quiz(4, "dw")
    y_i = quiz.y[quiz.i]
    dz = quiz.derivation.layers[1].dE_dz[0, quiz.j]
    assert quiz.expected == pytest.approx(y_i * dz, abs=1e-12)
    assert check_answer(quiz, y_i * dz).correct
    wrong = check_answer(quiz, quiz.weight[quiz.i, quiz.j] * dz)
    assert not wrong.correct and "weight w_ij" in wrong.message


def test_cli_quiz_non_interactive(capsys):
    quiz = make_quiz(7, "dy")
    assert main(["quiz", "--seed", "7", "--kind", "dy", "--answer", f"{quiz.expected:.6g}"]) == 0
    assert "Correct" in capsys.readouterr().out
    assert main(["quiz", "--seed", "7", "--kind", "dy", "--answer", "123"]) == 1
    assert "Not quite" in capsys.readouterr().out
    assert main(["quiz", "--seed", "7", "--kind", "dz", "--answer", "1"]) == 2


def test_a_seed_is_one_network_with_or_without_kind():
    drawn = make_quiz(7)
    for kind in ("dy", "dw"):
        chosen = make_quiz(7, kind)
        assert chosen.kind == kind
        for name in ("y", "weight", "bias", "t"):
            np.testing.assert_array_equal(getattr(chosen, name), getattr(drawn, name))
        assert (chosen.i, chosen.j) == (drawn.i, drawn.j)


def test_an_answer_with_fewer_digits_than_asked_is_not_accepted(capsys):
    quiz = make_quiz(7, "dy")
    assert "to 4 significant digits" in quiz.question()
    rounded = f"{quiz.expected:.3g}"  # close enough for the tolerance, but 3 digits
    verdict = check_answer(quiz, rounded)
    assert not verdict.correct and "3 significant digits" in verdict.message
    assert f"{quiz.expected:.4g}" not in verdict.message  # the answer is not given away
    assert check_answer(quiz, f"{quiz.expected:.4g}").correct
    assert main(["quiz", "--seed", "7", "--kind", "dy", "--answer", rounded]) == 1
    assert "asks for 4" in capsys.readouterr().out


def test_an_answer_whose_left_off_digits_are_zeros_is_accepted():
    # seed 1's dE/dy is 0.068904 (0.06890 to 4 digits): "0.0689", as f"{x:.4g}" writes it,
    # was refused for its 3 digits; 0.0688 and 0.069 are still not accepted
    from chainrule.explainer.quiz import _draw

    rng = np.random.default_rng(1)  # seed 1's first draw (s62 redraws it: its terms cancel)
    rng.random()
    quiz = _draw(rng, 1, "dy")
    assert f"{quiz.expected:.3e}" == "6.890e-02" and f"{quiz.expected:.4g}" == "0.0689"
    assert check_answer(quiz, "0.0689").correct and check_answer(quiz, "0.06890").correct
    assert not check_answer(quiz, "0.069").correct
    assert not check_answer(quiz, "0.0688").correct


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("-0.2180", 4),
        ("0.00123", 3),
        ("1.5e-3", 2),
        ("-12.34", 4),
        ("+.5", 1),
        ("7", 1),
        ("0.0000", 0),
    ],
)
def test_significant_digits_are_counted_as_written(text, digits):
    from chainrule.explainer.quiz import significant_digits

    assert significant_digits(text) == digits


def test_a_written_zero_is_as_precise_as_its_last_digit():
    """0.0000 is 0 to 1e-4: it was taken as 0 give or take 0.1 (a zero has no size to read its
    digits from), so it matched the sum without two terms, -0.088, and was told so."""
    quiz = make_quiz(7, "dy")
    verdict = check_answer(quiz, "0.0000")
    assert not verdict.correct and verdict.diagnosis is None, verdict.message


@pytest.mark.parametrize("text", ["1.000e999", "-1.000e400"])
def test_an_answer_too_large_for_a_float_is_one_line(text, capsys):
    quiz = make_quiz(7, "dy")
    with pytest.raises(ValueError, match=f"{text} is too large to be a float"):
        check_answer(quiz, text)
    assert main(["quiz", "--seed", "7", "--kind", "dy", f"--answer={text}"]) == 2
    err = capsys.readouterr().err
    assert "too large" in err and "Traceback" not in err


def test_a_typo_at_the_prompt_asks_again(monkeypatch, capsys):
    import typer

    quiz = make_quiz(7, "dy")
    replies = iter(["abc", "1.000e999", f"{quiz.expected:.3g}", f"{quiz.expected:.4g}"])
    monkeypatch.setattr(typer, "prompt", lambda *args, **kwargs: next(replies))
    assert main(["quiz", "--seed", "7", "--kind", "dy"]) == 0
    out = capsys.readouterr().out
    assert "'abc' is not a number" in out and "give 4" in out and "Correct" in out
    # too large for a float: asked again (it ended the run, blaming an --answer never given)
    assert "1.000e999 is too large to be a float; write e.g. -0.1234 and try again" in out


@pytest.mark.parametrize("seed", range(6))
def test_a_written_answer_is_right_only_to_its_last_digit(seed):
    """-0.2175 or -0.2180 for -0.218283 is wrong at the fourth digit the exercise asks for;
    one unit off in the last written digit (hand rounding) is still right."""
    quiz = make_quiz(seed, "dy")
    expected = quiz.expected
    unit = 10.0 ** (np.floor(np.log10(abs(expected))) - 3)  # one in the fourth digit
    assert check_answer(quiz, f"{expected:#.4g}").correct
    assert check_answer(quiz, f"{expected:#.6g}").correct
    rounded = float(f"{expected:#.4g}")
    one_off = rounded + unit if rounded < expected else rounded - unit  # across the true value
    assert check_answer(quiz, f"{one_off:#.4g}").correct
    from chainrule.explainer.quiz import tolerance

    units = max(1, int(np.floor(tolerance(quiz) / unit * (1 + 1e-9))))  # rounding along the way
    for off in (units + 1, units + 5):  # past what 4-digit intermediates explain: wrong here
        wrong = float(f"{expected:#.4g}") + off * unit
        assert not check_answer(quiz, f"{wrong:#.4g}").correct, (expected, wrong)


@pytest.mark.parametrize(
    "answer", [[-0.2183], (-0.2183,), np.array([-0.2183, 0.1]), None, True, float("nan")]
)
def test_an_answer_that_is_not_one_number_is_refused(answer):
    """Not a number and not text: the same ValueError as text that is not a number."""
    quiz = make_quiz(7, "dy")
    with pytest.raises(ValueError, match="is not a number"):
        check_answer(quiz, answer)


def test_numpy_numbers_are_answers():
    quiz = make_quiz(7, "dy")
    assert check_answer(quiz, np.float32(quiz.expected)).correct
    assert check_answer(quiz, np.array(quiz.expected)).correct
