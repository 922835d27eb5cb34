"""``chainrule graph --model`` of a model with a layer of one's own reads ``--target`` as
``explain`` does.

The route ``explain`` recommends for such a model (the engine's graph op by op) handed the loss
``--target 1`` as the float column (1, 1), which cross-entropy refused ("a target of shape (1, 1)
and dtype float32 does not fit logits of shape (1, 2)"); a model the explainer can read had the
same target turned into a class label first. Now both read targets the one way. The oracle: the
drawn E is the model's own cross-entropy of the class label, computed in memory.
"""

from __future__ import annotations

import re

import numpy as np
from cli_run import assert_user_error, run

from chainrule import io, nn
from chainrule.tensor import Tensor


class _ScaleS70(nn.Module):
    """Multiplies its input by a constant: a layer the explainer cannot read."""

    def __init__(self, factor: float = 2.0) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor

    def config(self):
        return {"type": "_ScaleS70", "factor": self.factor}


nn.register_module(_ScaleS70, name="_ScaleS70")


def _saved(tmp_path):
    net = nn.Sequential(nn.Linear(3, 4, rng=0), _ScaleS70(), nn.Tanh(), nn.Linear(4, 2, rng=1))
    io.save_model(tmp_path / "m", net, loss=nn.CrossEntropy())
    return net, tmp_path / "m"


def _drawn_error(dot: str) -> float:
    found = re.search(r'label="E = [^\\]*\\nvalue ([-0-9.e]+)', dot)
    assert found is not None, dot
    return float(found.group(1))


def test_graph_of_a_model_of_ones_own_reads_a_class_label(tmp_path, capsys) -> None:
    net, model = _saved(tmp_path)
    rows = np.array([[1.0, 2.0, 3.0], [2.0, -1.0, 0.5]])
    code, dot, err = run(capsys, "graph", "--model", model, "--input", "1,2,3;2,-1,0.5",
                         "--target", "1;0", "--format", "dot", "--out", "-")  # fmt: skip
    assert code == 0, err
    expected = nn.CrossEntropy()(net(Tensor(rows.astype(np.float32))), np.array([1, 0]))
    assert abs(_drawn_error(dot) - float(expected.numpy())) < 1e-3, dot


def test_probability_rows_still_read_and_a_bad_label_is_one_line(tmp_path, capsys) -> None:
    net, model = _saved(tmp_path)
    code, dot, err = run(capsys, "graph", "--model", model, "--input", "1,2,3", "--target",
                         "0.25,0.75", "--format", "dot", "--out", "-")  # fmt: skip
    assert code == 0, err
    x = Tensor(np.array([[1.0, 2.0, 3.0]], dtype=np.float32))
    expected = nn.CrossEntropy()(net(x), Tensor(np.array([[0.25, 0.75]], dtype=np.float32)))
    assert abs(_drawn_error(dot) - float(expected.numpy())) < 1e-3, dot
    out_of_range = "class labels [5] must lie in 0..1"
    assert_user_error(capsys, "graph", "--model", model, "--input", "1,2,3", "--target", "5",
                      "--out", tmp_path / "g.svg", match=out_of_range)  # fmt: skip
