"""The perturbation table's "worst error dropping one path" column: left out where there is one
path (nothing to drop, as the text says) in every format, its data kept in the JSON; with
several paths, a magnitude like the error column beside it."""

import json
import re

import pytest

from chainrule import nn
from chainrule.explainer import explain
from chainrule.explainer.render import FORMATS, render

COLUMN = "worst error dropping one path"


def _one_path():
    """Hinton's 2-2-1 network nudged at a hidden unit: it feeds the one output unit."""
    model = nn.mlp([2, 2, 1], output="logistic", dtype="float64", rng=0)
    return explain(model, [[1.0, 0.0]], [[1.0]], unit="1:1")


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "json"])
def test_one_path_has_no_drop_one_column(fmt):
    d = _one_path()
    assert {len(row["paths"]) for row in d.perturbation["rows"]} == {1}
    out = render(d, fmt)
    assert "sum of paths" in out and "(divide " in out  # the table and its text are there
    assert COLUMN not in out and "(without " not in out


def test_one_paths_json_keeps_the_drop_one_data():
    rows = json.loads(render(_one_path(), "json"))["perturbation"]["rows"]
    assert all(len(row["drop_one"]) == 1 for row in rows)


def test_several_paths_show_the_worst_drop_as_a_magnitude():
    d = explain()  # the seed network: the nudged unit feeds several units
    rows = d.perturbation["rows"]
    assert len(rows[0]["paths"]) > 1
    worst = [max(abs(r["error"]) for r in row["drop_one"]) for row in rows]
    out = render(d, "text")
    assert COLUMN in out
    shown = [float(v) for v in re.findall(r"(\S+) \(without ", out)]
    assert shown == pytest.approx(worst, rel=1e-2)  # unsigned, the largest miss of each row
    assert any(r["error"] < 0 for row in rows for r in row["drop_one"])  # the sign is dropped
