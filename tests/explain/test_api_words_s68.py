"""The Python API's refusals speak its own words (s68).

``cr.explain(..., bug='x')`` said "--bug 'x' is not known", the command line's option, to a
caller who never typed one; ``cr.explain("runs/x")`` and ``cr.explorer("runs/x", ...)`` said
"cannot read a network from str", though a saved model's directory is one call away:
``cr.io.load_model``. The command line checks its --bug itself and keeps its own words.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.explainer import ExplainError
from chainrule.explainer.bugs import BUGS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error  # noqa: E402

NET = cr.nn.mlp([2, 3, 2], dtype="float64", rng=0)
X, T = np.array([[0.5, -1.0]]), np.array([1])


def test_an_unknown_bug_is_named_as_the_argument_the_caller_gave():
    with pytest.raises(ExplainError) as caught:
        cr.explain(NET, X, T, loss="cross-entropy", bug="x")
    message = str(caught.value)
    assert message.startswith("explain: bug='x' is not known; use one of ")
    assert "--bug" not in message
    assert all(name in message for name in BUGS)


def test_the_command_line_keeps_its_own_option_name(capsys):
    line = assert_user_error(capsys, "explain", "--bug", "x", match="--bug")
    assert "'x'" in line and "assign" in line


def test_a_model_directory_given_as_the_model_points_to_load_model(tmp_path):
    run = tmp_path / "run"
    cr.io.save_model(run, NET, loss="cross-entropy")
    for given in (str(run), run):
        with pytest.raises(ExplainError) as caught:
            cr.explain(given, X, T)
        message = str(caught.value)
        assert message.startswith(f"explain: {str(run)!r} is a path, not a network")
        assert f"cr.io.load_model({str(run)!r})" in message
        assert "cannot read a network from str" not in message
    model, info = cr.io.load_model(run)  # what it points to reads it, and explains it
    assert cr.explain(model, X, T, cr.nn.loss_from_config(info["loss"])).all_ok


def test_a_path_that_does_not_exist_says_so_and_how_a_model_is_read(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ExplainError) as caught:
        cr.explain(str(missing), X, T)
    message = str(caught.value)
    assert f"no file or directory {str(missing)!r}" in message
    assert "cr.io.load_model(PATH)" in message


def test_the_explorer_points_to_load_model_before_asking_for_a_case(tmp_path):
    pytest.importorskip("starlette", reason="the [app] extra is not installed")
    from chainrule.notebook.explorer import start_network

    for case, loss in ((None, None), ((X[0], T[0]), cr.nn.CrossEntropy())):
        with pytest.raises(ExplainError) as caught:
            start_network(str(tmp_path), case, loss)
        message = str(caught.value)
        assert message.startswith(f"explorer: {str(tmp_path)!r} is a path, not a network")
        assert "cr.io.load_model(" in message
