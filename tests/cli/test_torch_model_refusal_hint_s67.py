"""``chainrule explain --torch-model FILE`` refusing the network points to something that works.

It suggested ``chainrule graph --model FILE``, which refuses a safetensors file ("is a file, not
a model directory"). It now says that graph reads chainrule's model directories and gives the
Python that draws the state dict's graph; the ``load_torch`` call it names loads the model.
"""

from __future__ import annotations

import re

import numpy as np
from cli_run import assert_user_error, run

import chainrule as cr
import chainrule.interop  # noqa: F401 - the suggested line names chainrule.interop


def _tied_file(path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    save_file({"0.weight": rng.normal(size=(3, 3)), "0.bias": rng.normal(size=3)}, str(path),
              metadata={"2.weight": "0.weight", "2.bias": "0.bias"})  # fmt: skip
    return path


def test_the_refusal_names_a_way_that_draws_the_state_dicts_graph(capsys, tmp_path):
    path = _tied_file(tmp_path / "tied.safetensors")
    line = assert_user_error(
        capsys, "explain", "--torch-model", path, "--arch", "3,3,3", "--input", "0.1,0.2,0.3",
        "--target", "0.5,0.5,0.5", match="2.weight is the same tensor as 0.weight",
    )  # fmt: skip
    assert f"chainrule graph --model {path}" not in line
    code, _, err = run(capsys, "graph", "--model", path, "--input", "0.1,0.2,0.3",
                       "--target", "0.5,0.5,0.5")  # fmt: skip
    assert code == 2 and "not a model directory" in err  # why graph is not suggested
    call = re.search(r"chainrule\.interop\.load_torch\(.*?\)$", line)
    assert call is not None, line
    model = eval(call.group(0), {"chainrule": chainrule})  # the suggested call, as written
    E = cr.nn.SquaredError()(model(cr.tensor([[0.1, 0.2, 0.3]])), cr.tensor([[0.5, 0.5, 0.5]]))
    assert "chainrule.viz.graph.graph(E)" in line
    dot = cr.viz.graph.graph(E).to_dot()
    assert dot.count("linear (1x3)") == 2  # both uses of the tied layer
    assert "weight (3x3)" in dot and "(sum of 2)" in dot
