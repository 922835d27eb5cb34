"""What a lecturer reading the explainer's output found (QA, s57): the docs named two of symbolic
mode's limits and not the expression length that skipped a 3-3-3-3 network; the JSON's sympy
derivative was cut at 1500 characters; the LaTeX wrote the notation's symbols in prose with
literal underscores and carets (y\\_i, W\\textasciicircum{}(l+1)); "27 gradients checked" beside
25 check marks; a batch's sympy E, one case's share, called E; and a nudge that moves nothing
said its error "falls about 100-fold".

The oracles: the docs against the module's own constants; sympy reading the JSON's derivative
back, evaluated at the JSON's numbers, against the finite difference and torch; E's share
against a NumPy forward pass; the check count against the check marks in the text; the
perturbation against a NumPy forward pass with the unit nudged."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import sympy
from explain_cases import pdflatex

from chainrule import nn
from chainrule.explainer import explain, perturbation, render, symbolic, to_json

DOCS = Path(__file__).resolve().parents[2] / "docs" / "explain.md"
X = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]])
T = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def _deep() -> nn.Sequential:
    """3-3-3-3 logistic, float64: within the size limits from every layer, but E through two
    layers above layer 0 is too long an expression."""
    return nn.mlp([3, 3, 3, 3], dtype="float64", rng=0)


def _forward(model: nn.Sequential, x: np.ndarray, start: int = 0) -> list[np.ndarray]:
    """Each layer's y from layer ``start`` (whose y is ``x``) up, in NumPy: the oracle's own
    forward pass (Linear layers, each followed by a Logistic or by nothing)."""
    ys = [x]
    linear = [k for k, module in enumerate(model) if isinstance(module, nn.Linear)]
    for k in linear[start:]:
        z = ys[-1] @ np.asarray(model[k].weight.data) + np.asarray(model[k].bias.data)
        logistic = k + 1 < len(model) and isinstance(model[k + 1], nn.Logistic)
        ys.append(1 / (1 + np.exp(-z)) if logistic else z)
    return ys


# -- 1. every limit of symbolic mode, in one place in the docs ----------------------------------
def _limits_section() -> str:
    text = DOCS.read_text()
    start = text.index("**Symbolic mode's limits**")
    return text[start : text.index("**One quantity, three views.**", start)]


@pytest.mark.parametrize(
    "name", ["MAX_SYMBOLIC_PARAMETERS", "MAX_SYMBOLIC_UNITS", "MAX_EXPRESSION_OPS",
             "MAX_SIMPLIFY_OPS", "MAX_SHOWN_CHARACTERS", "MAX_LATEX_CHARACTERS"],
)  # fmt: skip
def test_the_docs_give_each_limit_of_symbolic_mode_with_its_value(name):
    section = _limits_section()
    value = getattr(symbolic, name)
    assert re.search(rf"\b{value}\b[^`]*`{name}`", section), (name, value)


def test_a_network_within_the_size_limits_is_skipped_for_its_expression_as_documented():
    d = explain(_deep(), X, T, nn.SquaredError(), unit="0:3", symbolic=True)
    params = sum(p.data.size for p in _deep().parameters())
    assert params <= symbolic.MAX_SYMBOLIC_PARAMETERS  # the size limits alone would let it in
    assert d.symbolic["status"] == "skipped"
    assert f"at most {symbolic.MAX_EXPRESSION_OPS}" in d.symbolic["message"]
    nearer = explain(_deep(), X, T, nn.SquaredError(), unit="1:2", symbolic=True)
    assert nearer.symbolic["status"] in ("proved", "agrees")  # "a unit nearer the top"
    assert "more than 100 operations" in _limits_section()


# -- 2. the JSON's derivative whole, read back by sympy; the text view still shortens it --------
def _numbers(doc: dict, layer: int) -> dict:
    """The symbols of the proof (Hinton's y_a, w_aj, b_j, counted from 1) at the JSON's numbers,
    case 1."""
    values = {}
    for unit in doc["layers"][layer]["units"]:
        values[f"y_{unit['index'] + 1}"] = unit["y"][0]
    connection = doc["connections"][layer]
    for w in connection["weights"]:
        values[f"w_{w['i'] + 1}{w['j'] + 1}"] = w["w"]
    for b in connection["biases"]:
        values[f"b_{b['j'] + 1}"] = b["b"]
    return values


def _torch_dE_dy(torch, model: nn.Sequential, layer: int, unit: int) -> float:
    """torch's dE/dy of case 1's ``unit`` in ``layer``, E = 1/2 sum (t - y)^2 over the batch."""
    h, kept, linear = torch.tensor(X), None, 0
    for module in model:
        if isinstance(module, nn.Linear):
            if linear == layer:
                h = kept = h.clone().requires_grad_(True)
            weight, bias = (torch.tensor(np.asarray(p.data)) for p in (module.weight, module.bias))
            h, linear = h @ weight + bias, linear + 1
        else:
            h = torch.sigmoid(h)
    (0.5 * ((torch.tensor(T) - h) ** 2).sum()).backward()
    return float(kept.grad[0, unit])


def test_the_json_holds_sympys_derivative_whole_and_sympy_reads_it_back(torch):
    model = _deep()
    d = explain(model, X, T, nn.SquaredError(), unit="1:2", symbolic=True)
    doc = json.loads(to_json(d))
    s = doc["symbolic"]
    assert s["status"] in ("proved", "agrees")  # agrees: too long to simplify
    assert len(s["derivative"]) > symbolic.MAX_SHOWN_CHARACTERS  # long enough to have been cut
    assert not s["derivative"].endswith("...")
    derivative = sympy.sympify(s["derivative"])
    at = {symbol: _numbers(doc, 1)[symbol.name] for symbol in derivative.free_symbols}
    value = float(derivative.subs(at))
    numeric = doc["layers"][1]["units"][1]["dE_dy"][0]["numeric"]
    assert value == pytest.approx(numeric, rel=1e-6)
    assert value == pytest.approx(_torch_dE_dy(torch, model, 1, 1), rel=1e-9)
    # the text view shows at most MAX_SHOWN_CHARACTERS of it, as before
    line = next(x for x in render(d, "text").splitlines() if x.strip().startswith("dE/dy_2 = "))
    assert line.endswith(" ...") and len(line.split(" = ", 1)[1]) <= symbolic.MAX_SHOWN_CHARACTERS


# -- 5. a batch's sympy E is the focused case's share, and says so ------------------------------
def test_a_batchs_symbolic_E_is_the_focused_cases_share_and_the_words_say_so():
    model = _deep()
    d = explain(model, X, T, nn.SquaredError(), unit="1:2", symbolic=True)
    s = json.loads(to_json(d))["symbolic"]
    E = sympy.sympify(s["E"])
    share = float(E.subs({x: _numbers(json.loads(to_json(d)), 1)[x.name] for x in E.free_symbols}))
    y = _forward(model, X)[-1]
    assert share == pytest.approx(0.5 * ((T[0] - y[0]) ** 2).sum(), rel=1e-12)
    assert share < d.error  # not the batch's E
    assert s["description"].startswith("sympy writes case 1's share of E (the other case's terms")
    text = render(d, "text", notation="matrix")
    assert "sympy writes case 1's share of C (the other case's terms" in text
    one = explain(model, X[:1], T[:1], nn.SquaredError(), unit="1:2", symbolic=True)
    assert one.symbolic["description"].startswith("sympy writes E as a function of")


# -- 3. the notation's symbols in prose as maths (LaTeX, HTML, Markdown) ------------------------
def _prose_lines(latex: str) -> list[str]:
    """The LaTeX document's lines outside equations, with their $...$ maths taken out."""
    body = re.sub(r"\\begin\{align\*\}.*?\\end\{align\*\}", "", latex, flags=re.S)
    body = re.sub(r"\\texttt\{(?:[^{}]|\{\})*\}", "", body)  # code (sympy's plain text)
    return [re.sub(r"\$[^$]*\$", "", line) for line in body.splitlines()]


RAW = re.compile(r"(?<![\w\\])[A-Za-z]\\_|\\textasciicircum")  # y\_i, W^..., not zero\_grad


@pytest.mark.parametrize(
    ("notation", "symbols"),
    [("hinton", ["y_{i}", "z_{j}", "w_{ij}"]), ("rhw", ["x_{j}", "y_{j}", "w_{ji}"]),
     ("matrix", ["a^{l}", "z^{l}", "W^{l}", r"\delta^{l} = \frac{\partial C}{\partial z^{l}}"])],
)  # fmt: skip
def test_the_latex_prose_sets_the_notations_symbols_as_maths_and_compiles(
    tmp_path, notation, symbols
):
    d = explain(_deep(), X, T, nn.SquaredError(), unit="1:2", symbolic=True, bug="merged-leaves")
    latex = render(d, "latex", notation=notation)
    intro = next(line for line in latex.splitlines() if "Notation: " in line)
    assert all(f"${symbol}$" in intro for symbol in symbols), intro
    bad = [line for line in _prose_lines(latex) if RAW.search(line)]
    assert not bad, bad[:3]
    if notation == "matrix":  # the matrix form's paragraph names the matrix of its layer
        assert "In matrix form, with $W^{2}$ the matrix whose row $i$, column $h$" in latex
    if shutil.which("pdflatex") is not None:
        result = pdflatex(tmp_path, notation, latex)
        assert result.returncode == 0, result.stdout[-2000:]


def test_the_merged_leaves_note_names_its_weight_as_maths():
    d = explain(bug="merged-leaves")
    for notation, weight in [("hinton", "w_{11}"), ("matrix", "w^{2}_{11}")]:
        latex = render(d, "latex", notation=notation)
        assert f"Merged into one node: input 2 and ${weight}$ (layer 1" in latex
        assert f"and ${weight}$" in render(d, "markdown", notation=notation)


def test_html_and_markdown_set_the_notation_line_and_the_matrix_header_as_maths():
    d = explain(unit="1:1")
    markdown = render(d, "markdown")
    assert "Notation: Hinton's lecture ($y_{i}$, $z_{j}$, $w_{ij}$)." in markdown
    matrix = render(d, "markdown", notation="matrix")
    assert r"matrix: $W^{2}$[j,1]·($\delta^{2}$)[j]" in matrix
    page = render(d, "html", notation="matrix")
    intro = re.search(r"<p>Loss: .*?</p>", page)[0]
    assert 'alttext="a^l"' in intro and 'alttext="W^l"' in intro
    text = re.sub(r"<math.*?</math>|<[^>]*>", "", intro)
    assert "^" not in text and "_" not in text, text
    header = next(h for h in re.findall(r"<th>(.*?)</th>", page) if h.startswith("matrix:"))
    assert 'alttext="δ^2"' in header and "^" not in re.sub(r"<math.*?</math>", "", header)
    assert "Notation: Hinton's lecture (y_i, z_j, w_ij)." in render(d, "text")  # plain as ever


# -- 4. the check count says which it counts ----------------------------------------------------
def _summary(text: str) -> str:
    return next(line for line in text.splitlines() if "gradients checked against" in line)


@pytest.mark.parametrize("unit", [None, "0:1", "1:1"])
@pytest.mark.parametrize("focused", [False, True])
def test_the_check_count_says_how_many_are_written_out_and_which_are_not(unit, focused):
    d = explain(unit=unit)
    text = render(d, "text", focused=focused)
    summary = _summary(text)
    checked = int(re.search(r"(\d+) gradients checked", summary)[1])
    assert checked == len(d.all_checks()) == 27
    marks = text.count("✓ fd ")  # one per equation written out with its check
    inputs = 'the inputs\' ∂E/∂y, written out with unit="0:1" or unit="0:2"'  # Python's words
    if unit == "0:1" and not focused:  # an input unit asked for: all 27 written out (s65)
        assert marks == checked and "written out above" not in summary and inputs not in summary
        return
    shown = re.search(r"(\d+) of them are written out above with their checks; the other (\d+)",
                      summary)  # fmt: skip
    assert shown and int(shown[1]) == marks and int(shown[2]) == checked - marks, summary
    assert (inputs in summary) is not (focused and unit == "0:1")
    if not focused:  # all but the inputs' 2 dE/dy are written out
        assert marks == 25
        assert summary.endswith(f"the other 2 ({inputs}) are in the JSON, cr.explainer.to_json(d).")


# -- 6. a nudge that moves nothing --------------------------------------------------------------
def test_a_unit_whose_weights_out_are_all_zero_says_its_error_is_exactly_zero():
    model = nn.mlp([2, 2, 3], dtype="float64", rng=1)
    model[2].weight.data[0, :] = 0.0  # y_1 of layer 1 feeds nothing
    x, t = np.array([[1.0, 0.5]]), np.array([[1.0, 0.0, 0.0]])
    d = explain(model, x, t, unit="1:1")
    base = _forward(model, x)
    for row in d.perturbation["rows"]:  # the oracle: E with y_1 nudged is E, to the bit
        nudged = base[1].copy()
        nudged[0, 0] += row["eps"]
        y = _forward(model, nudged, start=1)[-1]
        assert 0.5 * ((t - y) ** 2).sum() == 0.5 * ((t - base[-1]) ** 2).sum()
        assert row["measured"] == 0.0 and row["error"] == 0.0
    text = render(d, "text")
    section = text[text.index("Why a sum: nudge") : text.index("Perturbation view")]
    assert "100-fold" not in section and "order ε²" not in section
    assert "the measured change is exactly 0 at every ε, so the error is 0 too" in section
    assert "(w_11 = 0, w_12 = 0, w_13 = 0)" in section
    seed = render(explain(unit="1:1"), "text")  # an ordinary unit keeps its words
    assert "divide ε by 10 and the error falls about 100-fold" in seed


def test_an_error_at_rounding_level_is_not_said_to_fall_100_fold():
    """Outgoing weights of 1e-7: each prediction is exact to float64 rounding, whose noise does
    not shrink with eps (error/eps^2 grows 100-fold per row)."""
    model = nn.mlp([2, 2, 3], dtype="float64", rng=1)
    model[2].weight.data[0, :] = 1e-7
    x, t = np.array([[1.0, 0.5]]), np.array([[1.0, 0.0, 0.0]])
    d = explain(model, x, t, unit="1:1")
    E = 0.5 * ((t - _forward(model, x)[-1]) ** 2).sum()
    for row in d.perturbation["rows"]:  # the oracle: the change of E, to first order in eps
        nudged = _forward(model, x)[1]
        nudged[0, 0] += row["eps"]
        measured = 0.5 * ((t - _forward(model, nudged, start=1)[-1]) ** 2).sum() - E
        assert row["measured"] == pytest.approx(measured, rel=1e-6)
        assert abs(row["error"]) <= perturbation.ROUNDING_LEVEL
    text = render(d, "text")
    section = text[text.index("Why a sum: nudge") : text.index("Perturbation view")]
    assert "100-fold" not in section and "order ε²" not in section
    assert "to rounding: the error is at most " in section
