"""The sympy proof writes bias symbols b_j only for a layer that has biases.

A network of ``Linear(..., bias=False)`` layers was proved with symbols b_1, b_2 (substituted by 0
afterwards), and every format said "weights w_ij and biases b_j as symbols": a bias the model does
not have. Each number is checked against torch's own gradient of the same network. Also: the HTML
page's headings set their symbols (y_1, ∂E/∂y_1) as MathML, as the rest of the page does."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import render

X = np.random.default_rng(1).random((2, 3))
T = np.array([[0.7, 0.2], [0.1, 0.9]])


def _model(first_bias: bool, second_bias: bool) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(3, 4, bias=first_bias, dtype="float64", rng=2),
        nn.Tanh(),
        nn.Linear(4, 2, bias=second_bias, dtype="float64", rng=3),
        nn.Logistic(),
    )


def _array(torch, parameter):
    """The parameter as a torch tensor; None for a layer without biases."""
    return None if parameter is None else torch.tensor(np.asarray(parameter.data))


def _torch_dE_dy(torch, model: nn.Sequential, layer: int, unit: int) -> float:
    """torch's dE/dy of case 1's ``unit`` in ``layer`` (0: the inputs, 1: the tanh units), for
    E = 1/2 sum (t - y)^2 over the cases and outputs (the explainer's squared error)."""
    first, second = model[0], model[2]
    x = torch.tensor(X, requires_grad=True)
    z = x @ _array(torch, first.weight)
    if first.bias is not None:
        z = z + _array(torch, first.bias)
    hidden = torch.tanh(z)
    hidden.retain_grad()
    z = hidden @ _array(torch, second.weight)
    if second.bias is not None:
        z = z + _array(torch, second.bias)
    error = 0.5 * ((torch.tensor(T) - torch.sigmoid(z)) ** 2).sum()
    error.backward()
    return float((x if layer == 0 else hidden).grad[0, unit])


def _proof(model: nn.Sequential, unit: str):
    d = cr.explain(model, X, T, symbolic=True, unit=unit)
    assert d.loss.name == "squared-error" and d.symbolic["status"] in ("proved", "agrees"), (
        d.symbolic
    )
    return d


def _symbolic_section(text: str) -> str:
    return text[text.index("Why a sum, symbolically") : text.index("One quantity, three views")]


def test_a_network_without_biases_is_proved_without_bias_symbols(torch):
    model = _model(False, False)
    d = _proof(model, "1:1")
    proof = d.symbolic
    assert proof["value"] == pytest.approx(_torch_dE_dy(torch, model, 1, 0), rel=1e-12, abs=1e-15)
    assert proof["engine_value"] == pytest.approx(proof["value"], rel=1e-12)
    for key in ("E", "derivative", "derivative_latex", "sum_form", "description"):
        assert "b_" not in proof[key], (key, proof[key])
    assert "(weights w_ij as symbols, the layers above with their numbers)" in proof["description"]
    for fmt in ("text", "markdown", "latex", "html"):
        section = _symbolic_section(render(d, fmt))
        assert "biases" not in section and "b_1" not in section, fmt
        assert "b_{1}" not in section and "<msub><mi>b</mi>" not in section, fmt


@pytest.mark.parametrize(("first_bias", "second_bias"), [(True, False), (False, True)])
def test_a_mixed_network_names_biases_only_where_the_layer_has_them(torch, first_bias, second_bias):
    """The proof's symbols are the weights (and biases) into the layer above the unit: for input
    1 those of the tanh layer, for tanh unit 2 those of the logistic layer."""
    model = _model(first_bias, second_bias)
    for unit, symbols in (("0:1", first_bias), ("1:2", second_bias)):
        d = _proof(model, unit)
        proof = d.symbolic
        layer, index = (int(part) for part in unit.split(":"))
        oracle = _torch_dE_dy(torch, model, layer, index - 1)
        assert proof["value"] == pytest.approx(oracle, rel=1e-12, abs=1e-15)
        assert proof["sum_value"] == pytest.approx(oracle, rel=1e-12, abs=1e-15)
        # (the letters follow the layer: w_hi and b_i below the tanh layer, w_ij and b_j above)
        said = bool(re.search(r"and biases b_\w as symbols", proof["description"]))
        assert said is symbols, (unit, proof["description"])
        assert ("b_1" in proof["derivative"]) is symbols, unit
        latex = proof["derivative_latex"]
        assert ("b_{1}" in latex) is symbols or latex.endswith("characters, left out)}")
        assert ("biases" in _symbolic_section(render(d, "text"))) is symbols, unit


@pytest.mark.parametrize(
    ("notation", "symbol", "mathml"),
    [
        ("hinton", "y_1", "<msub><mi>y</mi><mrow><mn>1</mn></mrow></msub>"),
        ("matrix", "a^1_1", "<msubsup><mi>a</mi><mrow><mn>1</mn></mrow><mrow><mn>1</mn>"),
    ],
)
def test_html_headings_set_their_symbols_as_maths(notation, symbol, mathml):
    """The HTML page's headings printed "nudge y_1" and "∂E/∂y_1" with a literal underscore,
    where every other formula on the page is MathML with a subscript."""
    import xml.etree.ElementTree as ET

    d = cr.explain(notation=notation, unit="1:1")
    page = render(d, "html")
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    nudge = next(h for h in headings if h.startswith("Why a sum: nudge"))
    views = next(h for h in headings if h.startswith("One quantity, three views"))
    for heading in (nudge, views):
        ET.fromstring(f"<h2>{heading}</h2>")  # well-formed, as the whole page is
        assert mathml in heading, heading
        text = re.sub(r'alttext="[^"]*"', "", heading)
        assert symbol not in text and "_" not in re.sub(r"<[^>]*>", "", text), heading
    assert f'alttext="{symbol}"' in nudge and "&#x02202;" in views  # ∂E/∂y_1 with its ∂


def test_the_size_limit_counts_only_the_biases_a_layer_has(torch):
    """64 weights and no biases above the unit fit symbolic mode's limit of 64 parameters; the
    8 biases the layer does not have were counted, and the proof was skipped as too large."""
    model = nn.Sequential(
        nn.Linear(2, 8, dtype="float64", rng=2),
        nn.Tanh(),
        nn.Linear(8, 8, bias=False, dtype="float64", rng=3),
        nn.Logistic(),
    )
    x, t = np.random.default_rng(1).random((1, 2)), np.random.default_rng(2).random((1, 8))
    d = cr.explain(model, x, t, symbolic=True, unit="1:1")
    assert d.symbolic["status"] in ("proved", "agrees"), d.symbolic.get("message")
    hidden = torch.tanh(
        torch.tensor(x) @ _array(torch, model[0].weight) + _array(torch, model[0].bias)
    )
    hidden = hidden.detach().requires_grad_(True)
    output = torch.sigmoid(hidden @ _array(torch, model[2].weight))
    (0.5 * ((torch.tensor(t) - output) ** 2).sum()).backward()
    assert d.symbolic["value"] == pytest.approx(float(hidden.grad[0, 0]), rel=1e-12)
