"""A loss of the user's own in the explainer (session 66): ``cr.explain`` refused every loss
outside its fixed list ("explain: loss X is not one the explainer can write out"), a loss
registered with ``nn.register_loss`` too, so a network trained on one could not be explained
at all. The layers' steps need only the output layer's dE/dy (dE/dz for a loss that reads the
logits), which the engine computes from the loss itself: E and that dE/dy are now the loss's
own numbers, said so, and every other step is written out as for chainrule's losses.

The oracles: the model's own ``loss(model(x), t)`` and ``.backward()``, and central finite
differences of that loss in float64, computed here, never by the explainer."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.engine import no_grad
from chainrule.explainer import explain, render, schema, to_json
from chainrule.nn import losses

X = np.random.default_rng(3).normal(size=(3, 2))
TARGETS = np.array([[0.9, 0.1], [0.2, 0.7], [1.0, 0.0]])
BITS = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


class ScaledSquaredError(nn.Loss):
    """scale times the summed squared error (no 1/2): dE/dy = 2 scale (y - t)."""

    name = "scaled-squared-error-s66"
    reduction = "sum"

    def __init__(self, scale: float = 0.7) -> None:
        self.scale = float(scale)

    def forward(self, output, target):
        output, t = self._compared(output, target)
        error = t - output
        return self.scale * (error * error).sum()

    def config(self):
        return {"type": self.config_type(), "scale": self.scale}


class ScaledLogitLoss(nn.Loss):
    """scale times binary cross-entropy from the logits, a mean: it applies the logistic."""

    name = "scaled-logit-loss-s66"
    output_activation = "logistic"

    def __init__(self, scale: float = 1.5) -> None:
        self.scale = float(scale)

    def forward(self, output, target):
        z, t = self._compared(output, target)
        return self.scale * (cr.softplus(z) - z * t).mean()

    def config(self):
        return {"type": self.config_type(), "scale": self.scale}


class QuarticError(nn.Loss):
    """Never registered: sum (t - y)^4, a loss object of the user's own alone."""

    name = "quartic-s66"
    reduction = "sum"

    def forward(self, output, target):
        output, t = self._compared(output, target)
        error = t - output
        square = error * error
        return (square * square).sum()


@pytest.fixture(autouse=True)
def registered():
    """The two named losses registered for the test, and the registry as it was after."""
    before = dict(losses.LOSSES)
    nn.register_loss(ScaledSquaredError)
    nn.register_loss(ScaledLogitLoss)
    yield
    losses.LOSSES.clear()
    losses.LOSSES.update(before)


def _model(logits: bool, dtype: str = "float64") -> nn.Sequential:
    layers = [nn.Linear(2, 3, rng=0, dtype=dtype), nn.Tanh(), nn.Linear(3, 2, rng=1, dtype=dtype)]
    return nn.Sequential(*layers) if logits else nn.Sequential(*layers, nn.Logistic())


CASES = {
    "registered, reads y": (ScaledSquaredError, False, TARGETS),
    "registered, reads the logits": (ScaledLogitLoss, True, BITS),
    "unregistered object": (QuarticError, False, TARGETS),
}


def _engine_and_differences(model, loss, t) -> tuple[dict, dict]:
    """Each parameter's dE/dw by the model's own backward(), and by central differences of
    ``loss(model(x), t)`` in float64 (step 1e-6), by the parameter's name."""
    E = loss(model(cr.tensor(X)), t)
    E.backward()
    engine = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    numeric = {}
    with no_grad():
        for name, p in model.named_parameters():
            values, fd = p.data, np.zeros(p.shape)
            for index in np.ndindex(p.shape):
                kept = values[index]
                moved = []
                for step in (1e-6, -1e-6):
                    values[index] = kept + step
                    moved.append(loss(model(cr.tensor(X)), t).item())
                values[index] = kept
                fd[index] = (moved[0] - moved[1]) / 2e-6
            numeric[name] = fd
    return engine, numeric


def _text_weights(text: str) -> dict[str, dict[tuple[int, int], float]]:
    """Every ∂E/∂w_ij the text writes out, by the weight's name in the model: the number after
    the last "=" of its equation (digits=12)."""
    found: dict[str, dict[tuple[int, int], float]] = {}
    lines = text.splitlines()
    name = None
    for k, line in enumerate(lines):
        header = re.search(r"Weights from layer \d+ \(\w\) to layer \d+ \(\w\), '([^']+)'", line)
        if header:
            name = header.group(1)
            continue
        equation = re.match(r"\s*∂E/∂w_(\d)(\d) = ", line)
        if name is None or equation is None:
            continue
        result = next(later for later in lines[k + 1 :] if later.strip().startswith("= "))
        value = float(result.strip()[2:].split()[0])
        found.setdefault(name, {})[int(equation[1]) - 1, int(equation[2]) - 1] = value
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_dE_dw_is_the_engines_and_central_differences_in_text_and_json(case):
    cls, logits, t = CASES[case]
    model, loss = _model(logits), cls()
    d = explain(model, X, t, loss, symbolic=True)
    engine, numeric = _engine_and_differences(model, loss, t)
    assert d.all_ok is True
    assert d.error == pytest.approx(loss(model(cr.tensor(X)), t).item(), rel=1e-12)
    document = json.loads(to_json(d))
    text = render(d, "text", digits=12, max_units=10, max_cases=10)
    written = _text_weights(text)
    for conn, shown in zip(d.connections, document["connections"]):
        name = conn.weight_name
        np.testing.assert_allclose(conn.dE_dw, engine[name], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(conn.dE_dw, numeric[name], rtol=1e-6, atol=1e-9)
        in_json = np.zeros(conn.weight.shape)
        for entry in shown["weights"]:
            in_json[entry["i"], entry["j"]] = entry["dE_dw"]["value"]
            assert entry["dE_dw"]["ok"] is True
        np.testing.assert_allclose(in_json, engine[name], rtol=1e-12, atol=1e-15)
        assert len(written[name]) == conn.weight.size
        for (i, j), value in written[name].items():
            assert value == pytest.approx(engine[name][i, j], rel=1e-9, abs=1e-12)
    bias = d.connections[-1].dE_db
    np.testing.assert_allclose(bias, engine[d.connections[-1].bias_name], rtol=1e-12)
    # the loss is named as its own, with no formula of another loss's
    assert document["loss"] == {"name": loss.name, "reduction": loss.reduction, "E": d.error,
                                "written_out": False}  # fmt: skip
    pytest.importorskip("jsonschema").validate(document, schema())
    error = text.split("\nError\n")[1].split("\nBackward pass")[0]
    assert f"The loss, {loss.name}, is a loss of your own" in error
    assert "Σ" not in error and not re.search(r"\blog\b", error)  # no formula of chainrule's
    assert any("cannot write out its formula" in note for note in d.notes)
    assert "factors cancel" not in text and "(t_j - y_j)" not in text
    assert d.symbolic["status"] == "skipped"
    assert "is a loss of your own whose formula the explainer cannot write" in d.symbolic["message"]


def test_the_output_layers_gradient_is_the_losss_own_backward_each_checked():
    """dE/dy of the top for a loss that reads y (2 scale (y - t) here), dE/dz for one that
    reads the logits (scale (logistic(z) - t) / 6, a mean over 3 cases and 2 units)."""
    d = explain(_model(False), X, TARGETS, ScaledSquaredError(0.7))
    top = d.layers[-1]
    np.testing.assert_allclose(top.dE_dy, 1.4 * (top.y - TARGETS), rtol=1e-12)
    assert all(d.dE_dy(2, u, c).ok for c in range(3) for u in range(2))
    d = explain(_model(True), X, BITS, ScaledLogitLoss(1.5))
    top = d.layers[-1]
    assert top.dE_dy is None and top.activation == "logistic"
    np.testing.assert_allclose(top.dE_dz, 1.5 * (top.y - BITS) / 6, rtol=1e-12)
    assert all(d.dE_dz(2, u, c).ok for c in range(3) for u in range(2))
    text = render(d, "text")
    assert "applies the logistic to the logits itself" in text


@pytest.mark.parametrize("given", ["name", "config"])
def test_a_registered_loss_by_name_or_config_is_explained_with_its_options(given):
    loss = "scaled-squared-error-s66" if given == "name" else ScaledSquaredError(3.0).config()
    scale = 0.7 if given == "name" else 3.0
    d = explain(_model(False), X, TARGETS, loss)
    assert type(d.loss) is ScaledSquaredError and d.loss.scale == scale
    np.testing.assert_allclose(d.layers[-1].dE_dy, 2 * scale * (d.layers[-1].y - TARGETS))
    assert d.all_ok is True


def test_a_float32_model_with_a_loss_of_ones_own_passes_its_checks():
    for cls, logits, t in CASES.values():
        d = explain(_model(logits, "float32"), X, t, cls())
        assert d.all_ok is True, cls.__name__
        for fmt in ("markdown", "latex", "html"):
            assert "is a loss of your own" in render(d, fmt)
