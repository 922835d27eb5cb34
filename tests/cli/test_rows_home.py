"""The rows a saved model computes with have one home (``cli.train.model_rows``): ``predict``,
``evaluate --data`` and ``explain --input`` read, refuse, standardise and cast them alike.

Where the copies disagreed: ``explain`` refused a number only once standardised, so a value a
float32 model cannot hold (3.5e38; float32 holds at most 3.4e38) was explained as if it were a
finite number, where ``predict`` and ``evaluate`` refuse the same row, as training refuses it
in its data. Its column's mean (2e38) and std (1e37) make the standardised value small (15),
so nothing later caught it either."""

from __future__ import annotations

import numpy as np
import pytest
from cli_run import assert_user_error

TOO_LARGE = "3.5e38"  # beyond float32's 3.4028e38, about 15 once standardised


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A float32 run on a CSV file whose first column is near 2e38 (it fits float32)."""
    from chainrule.cli import main

    root = tmp_path_factory.mktemp("rows")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2)) * [1e37, 1] + [2e38, 0]
    labels = (X[:, 1] > 0).astype(int)
    lines = ["a,b,label", *(f"{a!r},{b!r},{k}" for (a, b), k in zip(X.tolist(), labels))]
    (root / "d.csv").write_text("\n".join(lines) + "\n")
    args = ["train", "--data", root / "d.csv", "--hidden", 3, "--epochs", 2, "--dtype", "float32"]
    assert main([str(a) for a in [*args, "--out", root / "run", "-q"]]) == 0
    return root


def _rows(root, name: str, text: str):
    path = root / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("how", ["inline", "file", "labelled file"])
def test_explain_refuses_a_value_the_model_cannot_hold_as_predict_does(run_dir, capsys, how):
    """explain wrote out a derivation for the row (exit 0) where predict refuses it."""
    out = run_dir / f"{how}.json"
    out.write_text("kept")
    given = {
        "inline": [f"{TOO_LARGE},0.5", "--target", "1"],
        "file": [_rows(run_dir, "x.csv", f"a,b\n{TOO_LARGE},0.5\n"), "--target", "1"],
        "labelled file": [_rows(run_dir, "xl.csv", f"a,b,label\n{TOO_LARGE},0.5,1\n")],
    }[how]
    where = "--input: 3.5e+38 (case 1, column 1)" if how == "inline" else "line 2, column 1"
    line = assert_user_error(capsys, "explain", "--model", run_dir / "run", "--input", *given,
                             "--format", "json", "--out", out, match=where)  # fmt: skip
    assert "too large for" in line and "float32" in line
    assert out.read_text() == "kept"
    # as predict and evaluate refuse the same row, naming the file's line
    rows = _rows(run_dir, "p.csv", f"a,b\n{TOO_LARGE},0.5\n")
    labelled = _rows(run_dir, "e.csv", f"a,b,label\n{TOO_LARGE},0.5,1\n")
    for command in (["predict", run_dir / "run", "--input", rows],
                    ["evaluate", run_dir / "run", "--data", labelled]):  # fmt: skip
        line = assert_user_error(capsys, *command, match="line 2, column 1 ('a')")
        assert f"'{TOO_LARGE}' is too large for float32" in line


def test_explain_names_its_input_for_a_number_that_is_not_finite(run_dir, capsys):
    """A NaN in --input was refused by the explainer as "RUN: the input contains NaN or Inf",
    naming the model rather than the option; predict names the file's line for it."""
    named = "--input: case 1, column 2: nan is not a finite number"
    assert_user_error(capsys, "explain", "--model", run_dir / "run", "--input", "2e38,nan",
                      "--target", "1", match=named)  # fmt: skip
