"""The quiz's and the bug demos' words (QA s62, 3 and 4)."""

import re

from chainrule.explainer.bugs import BUGS
from chainrule.explainer.quiz import make_quiz


def test_the_question_names_layer_i_and_labels_every_row():
    quiz = make_quiz(7, "dy")
    text = quiz.question()
    assert f"Compute dE/dy_{quiz.i + 1} of layer i" in text  # the top units are y_1.. too
    # no "y_i  = y_1 = 0.75, y_2 = ...": a label, then a list
    assert not re.search(r"[ybt]_[ij]\s+= [ybt]_\d", text), text
    for a in range(quiz.weight.shape[0]):
        assert f"weights w_{a + 1}j:" in text


def test_no_number_is_printed_as_minus_0():
    for seed in (331, 365, *range(60)):
        for value in re.findall(r"= (-?[\d.]+)", make_quiz(seed).question()):
            assert value != "-0", seed


def test_the_bug_words_say_what_the_engines_do():
    toposort = BUGS["no-toposort"].effect
    assert "top layer is wrong too" in toposort and "twice" in toposort
    assert "logistic" in toposort and "reshape" in toposort and "concatenate" in toposort
    assert "({t_j} - {y_j}) by itself" in BUGS["assign"].effect  # the loss computes t - y
    assert "inputs'" in BUGS["no-zero-grad"].effect
