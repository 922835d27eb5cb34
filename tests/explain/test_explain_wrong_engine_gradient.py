"""A wrong engine gradient is called wrong, not rounding or a kink.

With the logistic unit's backward rule made 10% too large, the sympy section proved the sum
identity and then blamed the engine's value, 10% off the exact one, on "floating-point
rounding"; the perturbation section said "The paths' predictions add up to the measured change
in E" and blamed the miss on "E is not smooth along the nudge". The oracles: the float64 central
difference of E (the explainer's independent forward pass) and sympy's exact value, against the
engine's number; and for rounding, mpmath at 50 digits (tests/explain/test_symbolic_rounding.py).
"""

import json

import numpy as np
import pytest

import chainrule.ops.nn as ops_nn
from chainrule import nn
from chainrule.explainer import explain, perturbation, render, schema, seed_model, to_json
from chainrule.explainer.perturbation import central_dE_dy

pytest.importorskip("sympy")

SYMBOLIC = "Why a sum, symbolically (sympy)"
NUDGE = "Why a sum: nudge"


@pytest.fixture
def wrong_logistic_rule(monkeypatch):
    """The engine's logistic backward rule 10% too large (put back after the test)."""
    right = ops_nn._sigmoid.vjp[0]
    monkeypatch.setitem(vars(ops_nn._sigmoid), "vjp", (lambda g, out, z: 1.1 * right(g, out, z),))


def _seed(**options):
    net, x, t = seed_model()
    return explain(net, x, t, symbolic=True, **options)


def _after(text: str, heading: str, length: int) -> str:
    """``length`` characters from ``heading`` on (any format)."""
    return text[text.index(heading) :][:length].replace("&#x27;", "'")


def _section(text: str, heading: str, length: int = 100_000) -> str:
    """The text format's section under ``heading``, to the next heading (a line that is not
    indented)."""
    lines = _after(text, heading, length).split("\n")
    ends = [k for k, line in enumerate(lines[1:], 1) if line and not line.startswith(" ")]
    return "\n".join(lines[: ends[0]] if ends else lines)


def _engine_far_from_the_difference(d) -> float:
    """How far the engine's dE/dy of the focused unit is from the float64 central difference,
    as a share of the difference."""
    layer, unit = d.focus
    numeric = central_dE_dy(d, layer, unit)
    return abs(d.layers[layer].dE_dy[0, unit] - numeric) / abs(numeric)


def test_the_symbolic_section_calls_a_wrong_engine_gradient_wrong(wrong_logistic_rule):
    d = _seed()
    assert _engine_far_from_the_difference(d) > 0.05  # the oracle: the engine is wrong
    s = d.symbolic
    assert s["status"] == "proved"  # the sum identity itself holds
    assert s["value"] == pytest.approx(central_dE_dy(d, *d.focus), rel=1e-6)
    section = _section(render(d, "text"), SYMBOLIC)
    assert "floating-point rounding" not in section
    assert "the engine's gradient is wrong" in section
    assert s["engine_agrees"] is False  # for a program: proved, but the engine disagrees
    assert abs(s["engine_value"] - s["value"]) > s["engine_rounding_bound"]
    for fmt in ("markdown", "latex", "html"):
        assert "the engine's gradient is wrong" in _after(render(d, fmt), SYMBOLIC, 100_000), fmt
    document = json.loads(to_json(d))
    assert document["symbolic"]["engine_agrees"] is False
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, schema())


def test_a_right_engine_gradient_agrees_with_the_exact_one():
    d = _seed()
    assert _engine_far_from_the_difference(d) < 1e-6
    assert d.symbolic["engine_agrees"] is True
    section = _section(render(d, "text"), SYMBOLIC)
    assert "wrong" not in section and "rounding" not in section


def test_a_saturated_unit_s_rounding_is_still_rounding():
    """The engine's float64 dE/dy is half the exact one at a saturated unit (y(1 - y) rounds):
    rounding, within the bound, not a wrong gradient (the finite difference agrees with it
    within its tolerance of 0)."""
    net = nn.Sequential(nn.Linear(1, 2, dtype="float64"), nn.Logistic(),
                        nn.Linear(2, 2, dtype="float64"), nn.Softmax())  # fmt: skip
    net[0].weight.data[...] = [[1.0, -1.0]]
    net[0].bias.data[...] = 0
    net[2].weight.data[...] = [[50.0, -50.0], [0.5, 0.2]]
    net[2].bias.data[...] = 0
    d = explain(net, [[30.0]], [[0.0, 1.0]], "squared-error", symbolic=True, unit="1:1")
    s = d.symbolic
    assert abs(s["engine_value"] - s["value"]) > 0.1 * abs(s["value"])  # far off, relatively
    assert s["engine_agrees"] is True and d.all_ok
    section = _section(render(d, "text"), SYMBOLIC)
    assert "floating-point rounding" in section and "wrong" not in section


@pytest.mark.parametrize("seed", range(6))
def test_right_float32_gradients_are_not_called_wrong(seed):
    """float32 rounds far more than float64: a right float32 engine stays within the bound."""
    net = nn.mlp([2, 3, 3], activation="tanh", dtype="float32", rng=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, (2, 2)).astype(np.float32)
    d = explain(net, x, rng.uniform(0, 1, (2, 3)), "mse", symbolic=True, unit="1:1")
    assert d.all_ok  # the oracle: float64 finite differences
    assert d.symbolic["status"] == "proved" and d.symbolic["engine_agrees"] is True
    assert "wrong" not in _section(render(d, "text"), SYMBOLIC)
    assert "wrong" not in _section(render(d, "text"), NUDGE)


def test_the_perturbation_section_says_the_predictions_miss(wrong_logistic_rule):
    d = _seed()
    rows = d.perturbation["rows"]
    # the oracle: error / eps is the engine's slope's miss at every eps (order eps)
    numeric = central_dE_dy(d, *d.focus)
    engine = d.layers[d.focus[0]].dE_dy[0, d.focus[1]]
    for row in rows[1:]:
        assert -row["error"] / row["eps"] == pytest.approx(engine - numeric, rel=0.05)
    section = _section(render(d, "text"), NUDGE)
    assert "do not add up to the measured change" in section
    assert "The paths' predictions add up" not in section
    assert "not smooth" not in section and "kink, z = 0" not in section
    assert "the engine's gradient is wrong" in section
    assert f"{numeric:.4g}"[:6] in section  # the measured slope, named
    for fmt in ("markdown", "latex", "html"):
        assert "the engine's gradient is wrong" in _after(render(d, fmt), NUDGE, 4000), fmt


def test_a_right_gradient_s_perturbation_still_adds_up():
    section = _section(render(_seed(), "text"), NUDGE)
    assert "The paths' predictions add up to the measured change" in section
    assert "wrong" not in section


def _rows(errors, eps=(0.1, 0.01, 0.001, 0.0001), slope=-0.1):
    return [
        {"eps": e, "measured": slope * e, "sum_predicted": slope * e - err, "error": err}
        for e, err in zip(eps, errors)
    ]


def test_first_order_miss_tells_order_eps_from_order_eps_squared():
    eps = (0.1, 0.01, 0.001, 0.0001)
    miss = perturbation.first_order_miss(_rows([0.01 * e for e in eps]))
    assert miss is not None and miss["miss"] == pytest.approx(-0.01)
    assert miss["measured_slope"] == pytest.approx(-0.1) and miss["eps"] == 1e-4
    assert perturbation.first_order_miss(_rows([0.3 * e * e for e in eps])) is None  # order eps^2
    assert perturbation.first_order_miss(_rows([1e-3, 1e-3, 1e-3, 1e-3])) is None  # a jump: order 1
    assert perturbation.first_order_miss(_rows([1e-16] * 4)) is None  # at rounding level
