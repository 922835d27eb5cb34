"""The explainer on RHW 1986's margin error (nn.MarginSquaredError, the family-trees loss):
E = 1/2 sum e_j^2 with e_j the output's shortfall from its margin. The oracle is the closed form
written here in NumPy, beside the engine and the finite differences."""

from __future__ import annotations

import json
import warnings

import jsonschema
import numpy as np
import pytest

from chainrule import nn
from chainrule.cli import main
from chainrule.explainer import explain, render, schema, to_json
from chainrule.explainer.network import ExplainError

#: The outputs the top layer is set to give, against targets (1, 1, 0, 0): on and above its
#: margin, on and short of it, off and below, off and short.
OUTPUTS = np.array([0.95, 0.5, 0.1, 0.5])
TARGETS = np.array([[1.0, 1.0, 0.0, 0.0]])


def _model() -> nn.Sequential:
    """A 2-3-4 logistic network whose top units give OUTPUTS for the case x = 0 (small top
    weights, so the hidden units below get gradients too)."""
    model = nn.mlp([2, 3, 4], output="logistic", dtype=np.float64, rng=4)
    top = model[2]
    top.weight.data[...] = 0.05 * np.random.default_rng(0).normal(size=(3, 4))
    hidden = 1 / (1 + np.exp(-model[0].bias.data))  # y of the hidden units at x = 0
    top.bias.data[...] = np.log(OUTPUTS / (1 - OUTPUTS)) - hidden @ top.weight.data
    return model


def _shortfall(y: np.ndarray, t: np.ndarray, loss: nn.MarginSquaredError) -> np.ndarray:
    """e_j written out from the paper's rule, per unit."""
    on = t > 0.5
    if loss.measured_from == "edge":
        return np.where(on, np.minimum(y - loss.on, 0), np.maximum(y - loss.off, 0))
    short = np.where(on, y < loss.on, y > loss.off)
    return np.where(short, y - t, 0.0)


@pytest.mark.parametrize("measured_from", ["edge", "target"])
def test_the_margin_error_is_written_out_with_its_own_numbers(measured_from):
    loss = nn.MarginSquaredError(measured_from=measured_from)
    d = explain(_model(), np.zeros((1, 2)), TARGETS, loss, symbolic=True)
    y = d.layers[-1].y[0]
    np.testing.assert_allclose(y, OUTPUTS, rtol=1e-12)
    e = _shortfall(y, TARGETS[0], loss)
    assert (e[0], e[2]) == (0.0, 0.0) and e[1] < 0 < e[3]  # the four regimes
    np.testing.assert_allclose(d.layers[-1].dE_dy[0], e, rtol=1e-12, atol=1e-15)
    assert d.error == pytest.approx(0.5 * np.sum(e**2), rel=1e-12)
    assert d.all_ok and any(abs(c.value) > 1e-4 for c in d.all_checks())  # hidden ones too
    assert d.symbolic["status"] == "proved"
    text = render(d, "text")
    assert "E = ½ Σ_j e_j²" in text and "∂E/∂y_j = e_j" in text
    if measured_from == "edge":
        assert "e_j = min(y_j - 0.8, 0) for a unit whose target is on" in text
        assert "∂E/∂y_2 = min(0.5 - 0.8, 0)" in text and "∂E/∂y_3 = max(0.1 - 0.2, 0)" in text
    else:
        assert "∂E/∂y_2 = 0.5 - 1" in text and "∂E/∂y_1 = 0 (inside its margin)" in text
    document = json.loads(to_json(d))
    jsonschema.validate(document, schema())
    assert document["loss"]["margin"] == {"on": 0.8, "off": 0.2, "measured_from": measured_from}
    for fmt in ("markdown", "latex", "html"):
        assert "0.8" in render(d, fmt)


def test_other_margins_are_the_losss_own():
    loss = nn.MarginSquaredError(on=0.9, off=0.05)
    d = explain(_model(), np.zeros((1, 2)), TARGETS, loss, check=False)
    np.testing.assert_allclose(d.layers[-1].dE_dy[0], _shortfall(OUTPUTS, TARGETS[0], loss))
    assert d.layers[-1].dE_dy[0, 2] == pytest.approx(0.1 - 0.05)  # above 0.05: short now
    text = render(d, "text")
    assert "min(y_j - 0.9, 0)" in text and "max(y_j - 0.05, 0)" in text
    assert json.loads(to_json(d))["loss"]["margin"]["on"] == 0.9


def test_a_run_trained_on_the_margin_error_is_explained_from_its_model_file(tmp_path, capsys):
    """chainrule train offers the margin error for any dataset; explain --model refused it."""
    assert main(["train", "--data", "xor", "--loss", "margin-squared-error", "--epochs", "3",
                 "--out", str(tmp_path / "run"), "-q"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["explain", "--model", str(tmp_path / "run"), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["loss"]["name"] == "margin-squared-error"
    assert document["check"]["all_ok"] is True


def test_the_explorer_refuses_a_loss_its_page_cannot_compute():
    """The page names its loss and would lose the margins: refused, pointing to explain."""
    from chainrule.web.network import NetworkState

    with warnings.catch_warnings(), pytest.raises(ExplainError, match="not margin-squared-error"):
        NetworkState.from_model(_model(), [0.0, 0.0], TARGETS[0], nn.MarginSquaredError(on=0.9))


def test_a_unit_at_its_margins_edge_measured_from_the_target_is_left_unchecked():
    """Measured from the target, E jumps at the edge (e_j = y_j - t_j short of it, 0 past it):
    a central difference across the jump read 1e4 and the derivation said SOME DISAGREE for a
    right gradient. Such differences are left out, as at a relu kink; the other case's stay."""
    loss = nn.MarginSquaredError(measured_from="target")
    net = nn.Sequential(nn.Linear(1, 1, dtype="float64"))
    net[0].weight.data[...] = [[0.5]]
    net[0].bias.data[...] = [0.3]  # y = 0.8 = loss.on for x = 1; y = 0.3 for x = 0
    x, t = np.array([[1.0], [0.0]]), np.array([[1.0], [1.0]])
    d = explain(net, x, t, loss)
    assert d.all_ok
    assert any("margin's edge" in note for note in d.notes)
    assert d.dE_dy(1, 0, case=0).numeric is None  # at the edge: left out
    assert d.dE_dw(0, 0, 0).numeric is None  # a weight moves the case at the edge too
    off_edge = d.dE_dy(1, 0, case=1)  # e = 0.3 - 1, short of the margin, no jump in reach
    assert off_edge.numeric == pytest.approx(-0.7, abs=1e-6) and off_edge.ok
    net[0].bias.data[...] = [0.25]  # 0.05 short of the edge: every difference is taken
    again = explain(net, x, t, loss)
    assert again.all_ok and not again.notes and again.dE_dw(0, 0, 0).numeric is not None
