"""Where every checked gradient agrees only within the tolerance of 0, the explainer gives no
verdict (all_ok None, "NO VERDICT", JSON null, exit 1), as the page's gradient check does: it
said "all agree" and exited 0 for a network whose E is 3.6e37, where an engine sending 0
everywhere passes the same check."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402


def _huge():
    """2-3-2, relu then linear, every weight and bias 1e6, the input 1e6, targets -1e6: the
    tolerance is the rounding of E (3.6e37), above every derivative (about 6e18 at most)."""
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)).to("float64")
    for p in model.parameters():
        p.data[...] = 1e6
    return model, np.array([[1e6, 1e6]]), np.array([[-1e6, -1e6]])


def test_every_gradient_within_the_tolerance_of_0_is_no_verdict():
    model, x, t = _huge()
    d = cr.explain(model, x, t, loss="squared-error", symbolic=False)
    # E in closed form: each output z = 3 * (2e12 + 1e6) * 1e6 + 1e6, against a target of -1e6
    z = 3 * (2e12 + 1e6) * 1e6 + 1e6
    assert d.error == pytest.approx(2 * 0.5 * (z + 1e6) ** 2, rel=1e-12)
    assert all(c.ok and c.near_zero for c in d.all_checks())
    assert d.all_ok is None
    text = cr.explainer.render(d, "text")
    assert "NO VERDICT" in text and "all agree" not in text
    assert "an engine value of 0 would pass too" in text
    assert json.loads(cr.explainer.to_json(d))["check"]["all_ok"] is None  # validated on writing


def test_a_checked_network_still_agrees_and_a_wrong_one_disagrees():
    assert cr.explain().all_ok is True
    d = cr.explain(bug="assign")  # the bug's wrong gradients sit beside the right ones
    assert d.all_ok is True  # the engine's own are checked, and right


def test_the_command_line_says_no_verdict_and_exits_0(tmp_path, capsys):
    """No verdict is said, not an exit status of 1, which says a check disagrees (review: a
    trained model's confident case, which train's own hint names, exited 1)."""
    model, x, t = _huge()
    cr.io.save_model(tmp_path / "m", model, loss=nn.SquaredError())
    code, out, _ = run(capsys, "explain", "--model", tmp_path / "m", "--input", "1e6,1e6",
                       "--target", "-1e6,-1e6", "--no-symbolic")  # fmt: skip
    assert code == 0 and "NO VERDICT" in out and "all agree" not in out
    code, out, _ = run(capsys, "explain", "--no-symbolic", "--bug", "assign")
    assert code == 0 and "all agree" in out
