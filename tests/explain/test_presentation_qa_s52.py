"""A teacher's QA of the explainer's presentation: no number was wrong, but these misled.

1. A float32 model's "One quantity, three views" printed 10 significant digits, so its columns,
   their sums and the engine's dE/dy_i differed in digits 8-10 (float32 rounding) beside a text
   and docs that call them the same numbers.
2. ``--unit L:K`` on an output unit printed the headers of a weights section with no rows, and
   left the nudge, three-views and sympy sections out with no word where they stand.
3. The general chain rule of two units above read E(z_1(y), ..., z_2(y)).
4. LaTeX typeset a negative finite difference as a subtraction ("fd − 0.43"), and headings and
   table headers showed literal underscores (nudge y\\_1) where HTML sets maths.
5. The perturbation text said "leave any one path out and the miss is of order ε" with one path,
   or with paths whose share is exactly 0, and "add up" across a relu kink where the measured
   change and the paths' sum had opposite signs.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from explain_cases import kinked_relu_case, pdflatex

import chainrule as cr
from chainrule import io, nn
from chainrule.explainer import explain
from chainrule.explainer.render import render

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402

INPUT, TARGET = "0,1,1,1;1,0,0,0", "1;1"


def _section(text: str, start: str, end: str) -> str:
    rest = text[text.index(start) :]
    return rest[: rest.index(end)] if end in rest else rest


@pytest.fixture
def model432(tmp_path):
    """The QA's float32 4-3-2 logistic classifier, saved as a model directory."""
    model = nn.mlp([4, 3, 2], activation="logistic", rng=0, dtype="float32")
    io.save_model(tmp_path / "m432", model, loss=nn.CrossEntropy())
    return model, tmp_path / "m432"


def _torch_dE_dy(model, unit: int) -> float:
    """Oracle: torch's float64 dE/dy of input ``unit`` (0-based) in case 1 of INPUT."""
    torch = pytest.importorskip("torch")
    x = torch.tensor([[0.0, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.float64, requires_grad=True)
    w0, b0 = (
        torch.tensor(np.asarray(p.data, np.float64)) for p in (model[0].weight, model[0].bias)
    )
    w1, b1 = (
        torch.tensor(np.asarray(p.data, np.float64)) for p in (model[2].weight, model[2].bias)
    )
    logits = torch.sigmoid(x @ w0 + b0) @ w1 + b1
    torch.nn.functional.cross_entropy(logits, torch.tensor([1, 1])).backward()
    return float(x.grad[0, unit])


# -- 1. a float32 model's three views: the digits float32 holds --------------------------------
def test_a_float32_models_three_views_print_the_same_digits(model432, capsys):
    model, path = model432
    code, out, _ = run(capsys, "explain", "--model", path, "--input", INPUT, "--target", TARGET,
                       "--unit", "0:2", "--no-symbolic")  # fmt: skip
    assert code == 0
    section = _section(out, "One quantity, three views", "Paths against")
    assert "float32" in section and "6 significant digits" in section  # said, not only done
    engine = re.search(r"engine: ∂E/∂y_2 = (\S+)", section)[1]
    rows = [line.split() for line in section.splitlines() if re.match(r"\s+(\d|sum)\s", line)]
    assert len(rows) == 4  # three units above and the sum
    for row in rows:
        hinton, matrix, graph = row[1], row[2], row[3]
        assert hinton == matrix == graph, row  # were 0.005426766506 against 0.005426766351
        assert len(hinton.lstrip("-0.").replace(".", "")) <= 6, row
    assert rows[-1][1] == engine
    # the digits shown are right: torch's float64 gradient to the same 6 digits, within one
    # unit in the last (float32 rounding)
    assert float(engine) == pytest.approx(_torch_dE_dy(model, 1), rel=2e-6)
    # a float64 model's keep their ten digits, with nothing to say about them
    d = explain(unit="1:1")
    section = _section(render(d, "text"), "One quantity, three views", "Paths against")
    assert f"{d.views['hinton']['terms'][0]['value']:.10g}" in section
    assert "significant digits" not in section


# -- 2. an output unit: no empty tables, and why each section is absent -------------------------
def test_an_output_units_write_up_has_no_empty_weights_table(model432, capsys):
    _, path = model432
    code, out, _ = run(capsys, "explain", "--model", path, "--input", INPUT, "--target", TARGET,
                       "--unit", "2:1")  # fmt: skip
    assert code == 0
    weights = _section(out, "Gradients of the weights", "Why a sum")
    # the weights into the focused output unit are written out, those two layers below it not
    assert "∂E/∂w_11 = " in weights and "∂E/∂w_hi" not in weights
    assert "'0.weight': none of its 12 weights and 3 biases touches the focused unit y_1 of " \
           "layer 2" in weights  # fmt: skip
    assert "1 more bias " in weights and "1 more biases" not in weights
    absent = _section(out, "Why a sum: not for an output unit", "Paths against")
    for section in ("the nudge", "the three views", "sympy's proof"):
        assert section in absent, section
    assert "is an output unit" in absent and "layers 0 to 1" in absent
    assert out.count("is an output unit") == 1  # said where the sections stand, not again
    assert "Why a sum: nudge" not in out and "three views:" not in out
    # none of the sum's sections asked for: nothing to say of them
    text = render(explain(unit="2:1", perturbation=False, views=False), "text", focused=True)
    assert "not for an output unit" not in text and "is an output unit" not in text


def test_a_unit_two_layers_away_from_a_connection_says_why_its_weights_are_left_out():
    model = nn.mlp([2, 3, 3, 2], activation="tanh", output="logistic", rng=1, dtype="float64")
    d = explain(model, [[0.3, -0.4]], [[1.0, 0.0]], unit="2:1")
    text = render(d, "text", focused=True)  # as --unit writes it
    weights = _section(text, "Gradients of the weights", "Why a sum")
    assert "'0.weight': none of its 6 weights and 3 biases touches the focused unit y_1 of " \
           "layer 2" in weights  # fmt: skip
    assert "∂E/∂w_gh" not in weights  # no general line over no rows
    for fmt in ("markdown", "latex", "html"):
        assert "touches the focused unit" in render(d, fmt, focused=True), fmt


# -- 3. the general chain rule: dots only between a first and a last that are not neighbours ---
GENERAL = [  # units above, and the rule's left-hand side in plain text and LaTeX
    (2, "dE(z_1(y), z_2(y))/dy", r"E\big(z_{1}(y), z_{2}(y)\big)"),
    (1, "dE(z_1(y))/dy", r"E\big(z_{1}(y)\big)"),
    (3, "dE(z_1(y), ..., z_3(y))/dy", r"E\big(z_{1}(y), \ldots, z_{3}(y)\big)"),
]


def test_the_general_chain_rule_names_each_unit_above_once():
    for above, plain, latex in GENERAL:
        model = nn.mlp([2, above, 1], activation="tanh", output="logistic", rng=2, dtype="float64")
        d = explain(model, [[0.5, -0.5]], [[1.0]], unit="0:1", symbolic=True)
        general = d.symbolic["general"]
        assert general["verified"]  # sympy's own derivative is the sum over the units above
        assert general["lhs"] == plain and latex in general["lhs_latex"]
        assert plain in render(d, "text") and latex in render(d, "latex", focused=True)
        html = render(d, "html", focused=True)
        lhs = re.search(f'<math alttext="{re.escape(plain)}".*?</math>', html)[0]
        assert ("&#x02026;" in lhs) == (above > 2)  # the ellipsis of MathML's \ldots


# -- 4. LaTeX: a signed finite difference, and symbols in headings and tables as maths ---------
def test_latex_writes_a_negative_finite_difference_as_a_signed_number(tmp_path):
    d = explain(unit="1:1")
    latex = render(d, "latex")
    assert r"\text{fd }-" not in latex
    numeric = d.dE_dy(1, 0).numeric
    assert numeric < 0 and rf"\text{{fd }}{{{numeric:.6g}}}" in latex
    if shutil.which("pdflatex") is not None:  # and it still compiles, with its math headings
        result = pdflatex(tmp_path, "seed", latex)
        assert result.returncode == 0, result.stdout[-2000:]


@pytest.mark.parametrize("notation", ["hinton", "matrix"])
def test_latex_headings_and_table_headers_set_symbols_as_maths(notation):
    latex = render(explain(unit="1:1", notation=notation), "latex")
    headings = re.findall(r"\\(?:sub)?section\*\{(.*)\}", latex)
    nudge = next(h for h in headings if h.startswith("Why a sum: nudge"))
    views = next(h for h in headings if h.startswith("One quantity, three views"))
    symbol = {"hinton": "y_{1}", "matrix": "a^{1}_{1}"}[notation]
    assert f"${symbol}$" in nudge and r"\partial" in views and "$" in views
    for line in (*headings, *re.findall(r"\\hline\n(.*) \\\\ \\hline", latex)):
        assert r"\_" not in line, line  # no literal underscore: "nudge y\_1", "w\_ij"
    assert r"Hinton: $w_{ij}\cdot\partial E/\partial z_{j}$" in latex or notation != "hinton"


def test_the_latex_of_an_output_unit_names_it_as_maths_and_compiles(tmp_path, model432):
    model, _ = model432
    d = explain(model, [[0, 1, 1, 1], [1, 0, 0, 0]], [1, 1], nn.CrossEntropy(), unit="2:1")
    latex = render(d, "latex", focused=True)
    # headed by its z: cross-entropy reads z, and the unit has no dE/dy (s65)
    assert "not for an output unit ($z_{1}$)" in latex and "1 more bias " in latex
    if shutil.which("pdflatex") is None:
        return
    result = pdflatex(tmp_path, "output", latex)
    assert result.returncode == 0, result.stdout[-2000:]


def test_html_table_headers_set_symbols_as_maths():
    page = render(explain(unit="1:1"), "html")
    headers = re.findall(r"<th>(.*?)</th>", page)
    hinton = next(h for h in headers if h.startswith("Hinton"))
    assert "<msub><mi>w</mi>" in hinton and "_" not in re.sub(r"<[^>]*>|alttext=\"[^\"]*\"", "",
                                                              hinton)  # fmt: skip


# -- 5. the perturbation's words from its numbers ---------------------------------------------
def _nudge(d) -> str:
    return _section(render(d, "text"), "Why a sum: nudge", "Perturbation view")


def test_one_path_is_not_told_to_leave_a_path_out():
    """Hinton's 2-2-1 network: each hidden unit feeds one output unit, one path."""
    model = nn.mlp([2, 2, 1], output="logistic", dtype="float64", rng=0)
    d = explain(model, [[1.0, 0.0]], [[1.0]], unit="1:1")
    p = d.perturbation
    assert [len(row["paths"]) for row in p["rows"]] == [1] * 4 and p["shrinks_quadratically"]
    # the oracle: the one path's prediction is the measured change up to O(eps^2)
    for row in p["rows"]:
        assert abs(row["measured"] - row["paths"][0]["predicted"]) < 10 * row["eps"] ** 2
    text = _nudge(d)
    assert "leave any one path out" not in text and "The paths' predictions" not in text
    assert "The one path's prediction matches the measured change" in text
    assert "with one path there is nothing to leave out" in text
    # several paths, each with a share: the words stay
    text = _nudge(explain())
    assert (
        "The paths' predictions add up to the measured change in E, with an error of order ε²"
        in text
        and "leave any one path out and the miss is of order ε" in text
    )


def _dead_relu():
    """A relu network whose unit 2 of layer 2 is off (z < 0): y_1's path through it is 0."""
    model = nn.mlp([2, 4, 3, 1], activation="relu", output="logistic", dtype="float64", rng=0)
    return explain(model, [[0.5, -0.8]], [[1.0]], unit="1:1")


def test_a_path_through_a_dead_relu_unit_is_said_to_miss_nothing():
    d = _dead_relu()
    z = d.layers[2].z[0]
    dead = [k for k in range(3) if z[k] < 0]
    assert dead == [1] and d.perturbation["shrinks_quadratically"]
    for row in d.perturbation["rows"]:  # the oracle: leaving it out changes nothing
        without = next(r for r in row["drop_one"] if r["j"] == 1)
        assert without["error"] == row["error"]
        alive = [r for r in row["drop_one"] if r["j"] != 1]  # of order eps, not eps^2
        assert row["eps"] > 1e-3 or all(abs(r["error"]) > 100 * abs(row["error"]) for r in alive)
    text = _nudge(d)
    assert "leave any one path out" not in text
    assert "leave out a path with a share (i=1, 3) and the miss is of order ε" in text
    assert "the path through i=2 carries 0 (∂E/∂z_2 = 0): leaving it out misses nothing" in text


def _kinked():
    """The perturbation of y_1 of layer 1, which feeds a relu unit exactly at its kink."""
    m, x, t = kinked_relu_case()
    return cr.explain(m, x, t, "squared-error", unit="1:1", views=False, paths=False)


def test_across_a_kink_the_predictions_are_not_said_to_add_up():
    d = _kinked()
    last = d.perturbation["rows"][-1]
    assert last["measured"] * last["sum_predicted"] < 0  # the oracle: opposite signs
    for fmt in ("text", "markdown", "latex", "html"):
        out = render(d, fmt)
        section = out[out.index("Why a sum") :][:3000]
        assert "The paths' predictions add up" not in section, fmt
        assert "do not add up to the measured change" in section, fmt
        assert "of the opposite sign" in section, fmt
    text = _nudge(d)
    assert f"changes by {last['measured']:.3g} and the predictions add up to " \
           f"{last['sum_predicted']:.3g}" in text  # fmt: skip
    assert "first-order accurate only" in text and "kink" in text
