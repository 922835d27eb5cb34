"""explain's --input and --target name themselves for a value that is not finite (QA, s58).

On the seed network (no --model) a NaN in --input was refused as "the input contains NaN or
Inf", naming neither the option nor where; with --model it said "--input: case 1, column 2:
nan is not a finite number". Both ways now read the same, from one function; the Python API
names the case and entry (counted from 0, as NumPy's rows are).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explainer import ExplainError


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--input", "nan,1", "--target", "1,0,1"], "--input: case 1, column 1: nan"),
        (["--input", "1,2;3,inf", "--target", "1,0,1;0,1,0"], "--input: case 2, column 2: inf"),
        (["--input", "1,2", "--target", "1,-inf,1"], "--target: case 1, column 2: -inf"),
    ],
)
def test_the_seed_networks_options_name_the_value_that_is_not_finite(args, line, capsys):
    assert main(["explain", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"chainrule: {line} is not a finite number"


def test_a_flat_file_is_one_case(tmp_path, capsys):
    """A 1-D .npy is one case, as the explainer reads it: its second number is column 2."""
    np.save(tmp_path / "one.npy", np.array([1.0, np.nan]))
    assert main(["explain", "--input", str(tmp_path / "one.npy"), "--target", "1,0,1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "chainrule: --input: case 1, column 2: nan is not a finite number"


def test_the_python_api_names_the_case_and_entry():
    with pytest.raises(ExplainError, match=r"^explain: the input holds nan at case 1, entry 0 "):
        cr.explain(
            cr.nn.mlp([2, 2, 1], rng=0), np.array([[1.0, 2.0], [np.nan, 1.0]]), [[1.0], [0.0]]
        )
