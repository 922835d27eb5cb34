"""The checks' line names --unit values the command line takes (QA, s58).

It said "written out with --unit 0:i", and a reader who typed that was refused ("write
LAYER:UNIT"). It names the input units as typed (units count from 1): each value it names is
one the command line accepts, and the one past them is refused.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from chainrule import nn
from chainrule.cli import main
from chainrule.explainer import explain, render


@pytest.mark.parametrize(("inputs", "hint"), [(1, "0:1"), (2, "0:1 or 0:2"), (5, "0:1 to 0:5")])
def test_the_hint_names_every_input_unit_as_typed(inputs, hint):
    d = explain(nn.mlp([inputs, 2, 2], rng=0), np.ones((1, inputs)), np.array([[0.0, 1.0]]))
    assert f"written out with --unit {hint})" in render(d, "text", host="cli")  # the command's


def test_the_seeds_hint_runs_on_the_command_line(capsys):
    assert main(["explain"]) == 0
    hint = re.search(r"written out with --unit (0:\d+) or (0:\d+)\)", capsys.readouterr().out)
    assert hint, "the seed network's checks line names no --unit values"
    for unit in hint.groups():
        assert main(["explain", "--unit", unit]) == 0
    assert main(["explain", "--unit", "0:3"]) == 2  # past the inputs: refused
