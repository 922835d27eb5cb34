"""Renderers and the command line: valid JSON (schema), HTML, LaTeX; the same numbers everywhere."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from xml.etree import ElementTree

import jsonschema
import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.cli import main
from chainrule.explainer import explain, render, schema, to_json
from chainrule.explainer.document import Equation, build


@pytest.fixture(scope="module")
def derivation():
    return explain(symbolic=True)


@pytest.mark.parametrize("notation", ["hinton", "rhw", "matrix"])
def test_json_validates_against_the_schema(notation):
    d = explain(notation=notation)
    document = json.loads(to_json(d))
    jsonschema.validate(document, schema())
    assert document["notation"] == notation


def test_json_of_a_minibatch_cross_entropy_model_validates():
    model = nn.mlp([3, 4, 3], output=None, dtype=np.float32, rng=0)
    d = explain(model, np.ones((4, 3)), np.array([0, 1, 2, 1]), "cross-entropy", symbolic=True)
    document = json.loads(to_json(d))
    jsonschema.validate(document, schema())
    assert document["layers"][-1]["units"][0]["dE_dy"] is None  # the loss works from z
    unit = document["layers"][1]["units"][0]
    assert len(unit["sum"]) == 4  # one sum per case
    assert unit["sum"][2]["total"] == pytest.approx(unit["sum"][2]["engine"], abs=1e-6)


def test_json_schema_rejects_a_broken_document(derivation):
    document = json.loads(to_json(derivation))
    del document["layers"][1]["units"][0]["sum"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema())


class _Checker(HTMLParser):
    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.external = [], [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value and "://" in value:
                self.external.append(value)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):  # <meta ... />, MathML's <mspace ... />
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def _equations(page):
    """(the <div class="eq"> elements, every <math>) of an explainer page, parsed as XML."""
    root = ElementTree.fromstring(page.removeprefix("<!DOCTYPE html>\n"))
    divs = [div for div in root.iter("div") if div.get("class") == "eq"]
    return divs, list(root.iter("math"))


def test_html_is_a_standalone_well_formed_page(derivation):
    page = render(derivation, "html")
    checker = _Checker()
    checker.feed(page)
    assert not checker.errors and not checker.stack
    assert not checker.external and "<script" not in page and "<link" not in page
    assert "http:" not in page and "https:" not in page and "url(" not in page  # nothing fetched
    root = ElementTree.fromstring(page.removeprefix("<!DOCTYPE html>\n"))  # also well-formed XML
    assert [h.text for h in root.iter("h2")][:3] == [
        "Forward pass", "Error", "Backward pass: the output layer j (layer 2)"
    ]  # fmt: skip
    assert root.find(".//table/thead/tr/th") is not None


def test_html_sets_every_formula_as_mathml_with_the_engines_numbers(derivation):
    page = render(derivation, "html")
    divs, maths = _equations(page)
    equations = [b for b in build(derivation) if isinstance(b, Equation)]
    assert len(divs) == len(equations) and len(maths) > 2 * len(equations)
    for div, eq in zip(divs, equations):
        formulas = div.findall(".//math")
        alts = [eq.lhs.plain] + [f"= {step.plain}" for step in eq.steps]
        assert [m.get("alttext") for m in formulas] == [a if "\n" not in a else None for a in alts]
        for formula, step in zip(formulas[1:], eq.steps if eq.check else []):  # the numbers
            decimals = [mn.text for mn in formula.iter("mn") if "." in mn.text]
            assert decimals == re.findall(r"\d+\.\d+", step.plain), step
    # the chain rule's sum over j for unit 1 of layer 1, term by term, then the engine's value
    (div,) = [d for d in divs if d.findtext("span[@class='label']") == "i=1:"
              and "w_11 ∂E/∂z_1" in ElementTree.tostring(d, encoding="unicode")]  # fmt: skip
    lhs, terms, products, sums, total = div.findall(".//math")
    assert lhs.find(".//mfrac") is not None  # ∂E/∂y_1 set as a fraction
    assert len(terms.findall(".//mfrac")) == 3  # w_1j ∂E/∂z_j for j = 1, 2, 3
    engine = derivation.dE_dy(1, 0).value
    assert "".join(total.itertext()) == f"={engine:.4g}".replace("-", "−")
    assert [mn.text for mn in products.iter("mn")] == [
        f"{abs(t.w):.4g}" if k % 2 == 0 else f"{abs(t.dE_dz):.4g}"
        for t in derivation.terms(1, 0) for k in range(2)
    ]  # fmt: skip
    assert "Derivative(" not in page


def _balanced(latex):
    depth = 0
    for ch in re.sub(r"\\[{}]", "", latex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    begins = re.findall(r"\\begin\{(\w+\*?)\}", latex)
    ends = re.findall(r"\\end\{(\w+\*?)\}", latex)
    assert sorted(begins) == sorted(ends)
    assert latex.count("$") % 2 == 0


@pytest.mark.parametrize("notation", ["hinton", "rhw", "matrix"])
def test_latex_structure(notation):
    latex = render(explain(notation=notation, symbolic=True), "latex")
    _balanced(latex)
    assert latex.startswith(r"\documentclass") and r"\end{document}" in latex
    assert r"\frac{\partial E}{\partial y_{1}}" in latex or r"\frac{\partial C}" in latex


def _latex_cases():
    deep = nn.Sequential(
        nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1), nn.Tanh(), nn.Linear(2, 2, rng=2)
    )
    deep.to(np.float64)
    softmax = nn.mlp([3, 4, 3], output=None, dtype=np.float32, rng=0)
    yield "seed", explain(symbolic=True), {}
    # sums of eight w_ij dE/dz_j terms and z's of six inputs: a line each ran up to 190pt over
    wide = nn.mlp([6, 9, 8, 3], activation="relu", dtype=np.float64, rng=2)
    x, t = np.linspace(-0.5, 0.8, 6)[None], np.array([[1.0, 0.0, 0.0]])
    yield "wide-sums", explain(wide, x, t, "squared-error", perturbation=False), {}
    # a perturbation table of eight paths ran 180pt over
    paths = nn.mlp([2, 3, 8, 2], dtype=np.float64, rng=2)
    x, t = np.array([[-0.5, 0.8]]), np.array([[1.0, 0.0]])
    yield "eight-paths", explain(paths, x, t, "squared-error", unit="1:1"), {}
    yield (
        "deep-matrix",
        explain(
            deep,
            np.ones((2, 2)),
            np.zeros((2, 2)),
            "mse",
            unit="0:1",
            symbolic=True,
            notation="matrix",
        ),
        {"focused": True},
    )
    yield (
        "softmax-rhw",
        explain(
            softmax,
            np.ones((4, 3)),
            np.array([0, 1, 2, 1]),
            "cross-entropy",
            symbolic=True,
            notation="rhw",
        ),
        {},
    )


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles(tmp_path):
    for name, d, options in _latex_cases():
        latex = render(d, "latex", **options)
        _balanced(latex)
        (tmp_path / f"{name}.tex").write_text(latex)
        result = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", f"{name}.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (name, result.stdout[-2000:])
        assert (tmp_path / f"{name}.pdf").stat().st_size > 1000
        # nothing runs off the page (sympy's derivative of a softmax layer is 900pt too wide
        # for one line: it is shrunk to fit)
        log = (tmp_path / f"{name}.log").read_text(errors="replace")
        widths = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)
        assert max(map(float, widths), default=0) < 10, (name, widths)


def test_text_markdown_show_the_sum_term_by_term_with_the_same_numbers(derivation):
    text = render(derivation, "text")
    terms = derivation.terms(1, 0)
    numbers = " + ".join(f"{t.w:.4g}·{t.dE_dz:.4g}".replace("-", "(-", 1) for t in terms[:1])
    assert "∂E/∂y_1 = w_11 ∂E/∂z_1 + w_12 ∂E/∂z_2 + w_13 ∂E/∂z_3" in text
    assert numbers.split("·")[0].strip("(") in text
    assert f"{derivation.dE_dy(1, 0).value:.4g}" in text
    assert "✓" in text and "✗" not in text
    assert "∂E/∂z_j = y_j(1 - y_j) ∂E/∂y_j" in text and "∂E/∂w_ij = y_i ∂E/∂z_j" in text
    markdown = render(derivation, "markdown")
    assert markdown.count("$$") % 2 == 0 and "\\begin{aligned}" in markdown
    assert "| ε |" in markdown  # the perturbation table


def test_notations_carry_identical_numbers():
    hinton, rhw, matrix = (render(explain(notation=n), "text") for n in ("hinton", "rhw", "matrix"))
    numbers = re.compile(r"= (-?\d\.\d+)   ✓")
    assert numbers.findall(hinton) == numbers.findall(rhw)
    assert set(numbers.findall(hinton)) <= set(numbers.findall(matrix))
    assert "w_ji ∂E/∂x_j" in rhw and "((W^2)ᵀ δ^2) ⊙ σ'(z^1)" in matrix


def test_cli_default_prints_the_derivation(capsys):
    assert main(["explain", "--no-symbolic"]) == 0
    out = capsys.readouterr().out
    assert "∂E/∂y_1 = w_11 ∂E/∂z_1 + w_12 ∂E/∂z_2 + w_13 ∂E/∂z_3" in out
    assert "Why a sum" in out


def test_cli_formats_write_atomically(tmp_path):
    for fmt in ("json", "html", "latex", "markdown", "text"):
        out = tmp_path / f"d.{fmt}"
        assert main(["explain", "--format", fmt, "--out", str(out), "--no-symbolic"]) == 0
        assert out.stat().st_size > 1000
    jsonschema.validate(json.loads((tmp_path / "d.json").read_text()), schema())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"d.{f}" for f in ("json", "html", "latex", "markdown", "text")
    )  # no temporary files left behind


def test_cli_model_file_input_and_unit(tmp_path, capsys):
    model = nn.mlp([3, 2, 2], output="logistic", dtype=np.float64, rng=0)
    io.save_model(tmp_path / "m", model, loss=nn.SquaredError())
    code = main(
        [
            "explain",
            "--model",
            str(tmp_path / "m"),
            "--input",
            "1,0,0.5;0,1,1",
            "--target",
            "1,0;0,1",
            "--unit",
            "1:2",
            "--no-symbolic",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "i=2, case 1: ∂E/∂y_2 = w_21 ∂E/∂z_1 + w_22 ∂E/∂z_2" in out
    assert "i=1, case 1: ∂E/∂y_1" not in out  # focused on unit 2
    assert (
        main(["explain", "--model", str(tmp_path / "m"), "--input", "1,0", "--target", "1,0"]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("chainrule: ") and "takes 3" in err and str(tmp_path / "m") in err
    assert main(["explain", "--unit", "1:9"]) == 2
    assert "layer 1 has 2 units" in capsys.readouterr().err
    assert main(["explain", "--format", "pdf"]) == 2


def test_the_symbolic_chain_rule_reads_as_maths_in_text_and_latex():
    pytest.importorskip("sympy")
    from chainrule.explainer import explain as run_explain
    from chainrule.explainer.render import render

    derivation = run_explain(perturbation=False, symbolic=True)
    text = render(derivation, "text")
    latex = render(derivation, "latex")
    assert "Derivative(" not in text and "Derivative(" not in latex
    assert "∂z₁" in text  # sympy's pretty printer
    assert r"\frac{\partial}{\partial z_{1}}" in latex  # sympy's LaTeX
    page = render(derivation, "html")
    assert "Derivative(" not in page and "<pre" not in page  # maths, not a drawing
    _, maths = _equations(page)
    drawn = [m for m in maths if m.get("alttext") is None]  # what the terminal draws with sympy
    assert drawn and all(m.find(".//mfrac") is not None for m in drawn)


#: How much of the page the browser test reads: the first fraction of the first equation that
#: has one (numerator and denominator boxes), the <math> element's box and CSS display.
_LAYOUT = """() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.top, r.bottom, r.width]; };
  const frac = document.querySelector('.eq math mfrac');
  const math = frac.closest('math');
  return {display: getComputedStyle(math).display, math: box(math), count:
          document.querySelectorAll('math').length, numerator: box(frac.children[0]),
          denominator: box(frac.children[1])};
}"""


def test_the_html_page_renders_its_maths_in_chromium_and_fetches_nothing(
    derivation, chromium, tmp_path
):
    path = tmp_path / "derivation.html"
    page_text = render(derivation, "html")
    path.write_text(page_text, encoding="utf-8")
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    layout = page.evaluate(_LAYOUT)
    page.close()
    assert requests == [path.as_uri()]  # the page alone: no font, script, image or style fetched
    assert layout["count"] == len(_equations(page_text)[1])
    assert "math" in layout["display"]  # laid out as MathML, not as unknown inline elements
    top, bottom, width = layout["math"]
    assert width > 0 and bottom > top
    assert layout["numerator"][1] <= layout["denominator"][0] + 1  # stacked: a real fraction


def test_latex_text_writes_angle_brackets_and_bars_in_maths() -> None:
    """In LaTeX's default font encoding a bare < > | in text prints as ¡ ¿ —."""
    from chainrule.explainer.render_latex import escape

    assert escape("2 inputs -> 3 | x <b>") == r"2 inputs $\to$ 3 $|$ x $<$b$>$"
    document = cr.explainer.render(cr.explain(*cr.explainer.seed_model()), "latex")
    assert r"2 inputs $\to$ 2 logistic" in document


def test_weights_of_units_past_9_are_written_with_a_comma() -> None:
    """w_111 could be w_{1,11} or w_{11,1}: once an index has two digits, a comma splits them."""
    from chainrule.explainer.notation import index_pair, weight_index

    assert index_pair("i", "j") == "ij" and weight_index(0, 1) == "12"
    assert weight_index(0, 10) == "1,11" and weight_index(10, 0) == "11,1"
    model = cr.nn.mlp([11, 12, 3], output="logistic", dtype="float64", rng=0)
    d = cr.explain(model, np.ones((1, 11)), [[0.0, 1.0, 0.0]], unit="1:12")
    for notation in ("hinton", "rhw", "matrix"):
        for form in ("text", "latex"):
            written = cr.explainer.render(d, form, notation=notation)
            assert not re.search(r"w_\{?(\^\{?\d\}?_\{?)?\d{3}", written), (notation, form)
    assert "w_1,12" in cr.explainer.render(d, "text")


def test_the_focused_unit_is_written_out_even_past_the_first_units() -> None:
    model = cr.nn.mlp([11, 12, 3], output="logistic", dtype="float64", rng=0)
    d = cr.explain(model, np.ones((1, 11)), [[0.0, 1.0, 0.0]], unit="1:12")
    text = cr.explainer.render(d, "text")  # the first 6 units, and unit 12 the write-up is about
    assert "i=12" in text and "... 5 more units" in text


def test_a_focused_write_up_computes_its_unit_in_the_forward_pass() -> None:
    """Focused on unit 12, the forward pass wrote out units 1-6 of that layer only, with no word
    of the rest: the z_12 and y_12 the backward pass reads were nowhere."""
    model = cr.nn.mlp([11, 12, 3], output="logistic", dtype="float64", rng=0)
    d = cr.explain(model, np.ones((1, 11)), [[0.0, 1.0, 0.0]], unit="1:12")
    text = cr.explainer.render(d, "text", focused=True, max_units=3)
    forward = text[text.index("Forward pass") : text.index("Error")]
    assert f"y_12 = {d.layers[1].y[0, 11]:.4g}" in forward
    assert "i=3" in forward and "i=4" not in forward and "... 8 more units" in forward


def test_cases_past_max_cases_are_said_to_be_left_out_and_targets_take_the_digits() -> None:
    model = cr.nn.mlp([2, 2, 3], output="logistic", dtype="float64", rng=0)
    x = np.arange(8.0).reshape(4, 2) / 8
    t = [[0.123456, 1, 0], [0, 1, 0], [1, 1, 1], [0, 0, 0]]
    text = cr.explainer.render(cr.explain(model, x, t), "text", max_cases=2, digits=3)
    assert "4 cases (the first 2 written out" in text
    assert "t_j = 0.123, 1, 0; 0, 1, 0; ... (2 more cases)." in text


def test_a_product_with_zero_is_written_as_zero_not_minus_zero() -> None:
    from chainrule.explainer.notation import num

    assert num(-0.0).plain == "0" and num(-1.5).plain == "(-1.5)"


def test_symbolic_mode_refuses_an_expression_that_would_take_minutes() -> None:
    from chainrule.explainer.symbolic import SymbolicTooLarge, prove

    model = cr.nn.mlp([3, 5, 5, 2], activation="tanh", output="tanh", dtype="float64", rng=0)
    d = cr.explain(model, [[0.1, 0.2, 0.3]], [[0.1, 0.5]], cr.nn.MSE())
    with pytest.raises(SymbolicTooLarge, match="189 operations"):
        prove(d, 0, 1)
    assert prove(d, 1, 1)["status"] in ("proved", "agrees")  # nearer the top it fits


def test_a_layer_of_one_unit_is_named_in_the_singular():
    model = nn.mlp([2, 3, 1], output="logistic", dtype=np.float64, rng=0)
    text = render(explain(model, np.array([[0.5, -1.0]]), np.array([[1.0]]), "squared-error"))
    assert "Layer 2 (output, 1 logistic unit j): " in text
    assert "Layer 1 (hidden, 3 logistic units i): " in text


def _saturated_model():
    """A 2-2-1 logistic network whose hidden units sit at z = +-40: their slope y(1 - y) is
    about 4e-18, so every gradient below them is far under any tolerance of 0."""
    model = nn.mlp([2, 2, 1], output="logistic", dtype=np.float64, rng=0)
    first = model[0]
    first.weight.data[...] = [[20.0, -20.0], [20.0, -20.0]]
    first.bias.data[...] = 0.0
    return model


def test_a_check_that_cannot_tell_a_gradient_from_zero_says_so():
    """A saturated unit's gradients agree with their finite differences only by both being
    about 0; the derivation marks those checks 'near 0' and says what they do not show."""
    d = explain(_saturated_model(), np.ones((1, 2)), np.array([[1.0]]), "squared-error")
    first = d.connections[0]
    tiny = d.dE_dw(0, 0, 0)
    assert abs(first.dE_dw[0, 0]) < 1e-15 and tiny.ok and tiny.near_zero
    assert d.dE_dw(1, 0, 0).ok and not d.dE_dw(1, 0, 0).near_zero  # the top layer's: ~0.1
    checks = d.all_checks()
    near = [c for c in checks if c.near_zero]
    # dE/dw, dE/db below the hidden units, their dE/dz, the inputs' dE/dy, and the top weight
    # from the unit stuck at y = 4e-18: each about 1e-17; every other is above 1e-3
    assert len(near) == 4 + 2 + 2 + 2 + 1
    assert all(abs(c.value) < 1e-15 for c in near)
    assert all(abs(c.value) > 1e-3 for c in checks if not c.near_zero)
    text = render(d, "text")
    # a check near 0 is no ✓ but "? no verdict (...)": it agrees only as 0 would
    mark = r"(?:✓|\? no verdict \(.*\):) fd (\S+), diff \S+?(, near 0)?$"
    marks = re.findall(mark, text, flags=re.M)
    assert any(near for _, near in marks) and any(not near for _, near in marks)
    assert all((abs(float(fd)) < 1e-15) == bool(near) for fd, near in marks)
    assert f"{len(near)} of them agree within the tolerance of 0" in text
    document = json.loads(to_json(d))
    jsonschema.validate(document, schema())
    assert document["check"]["near_zero"] == len(near)
    weights = document["connections"][0]["weights"]
    assert all(w["dE_dw"]["near_zero"] for w in weights)
    top = {w["i"]: w["dE_dw"]["near_zero"] for w in document["connections"][1]["weights"]}
    assert top == {0: False, 1: True}  # from y = 1 - 4e-18, and from the unit stuck at y = 4e-18


def test_a_wrong_gradient_is_never_called_near_zero():
    """'near 0' qualifies an agreement; a mismatch, or a check of a clearly non-zero gradient,
    is not marked."""
    from chainrule.explainer.derivation import Checked
    from chainrule.explainer.render_text import check_mark

    small = Checked(value=0.0, numeric=3e-9, atol=1e-7, rtol=1e-5)
    assert small.ok and small.near_zero and check_mark(small).endswith("near 0")
    wrong = Checked(value=0.5, numeric=3e-9, atol=1e-7, rtol=1e-5)
    assert not wrong.ok and "near 0" not in check_mark(wrong)
    clear = Checked(value=0.25, numeric=0.25 + 1e-9, atol=1e-7, rtol=1e-5)
    assert clear.ok and not clear.near_zero and "near 0" not in check_mark(clear)
    assert not Checked(value=0.0).near_zero  # not checked at all


def test_symbolic_mode_too_large_names_a_layer_that_fits_or_that_none_does() -> None:
    """The advice read "choose a lower --unit layer nearer the top" (a contradiction), even
    where no layer could be taken."""
    from chainrule.explainer.symbolic import SymbolicTooLarge, prove

    model = cr.nn.mlp([9, 6, 3, 2], dtype="float64", rng=0)  # 84 parameters from 0, 29 from 1
    d = cr.explain(model, [np.linspace(0, 1, 9)], [[0.1, 0.5]], symbolic=False)
    with pytest.raises(SymbolicTooLarge, match=r"\(a --unit in layer 1 or above fits\)"):
        prove(d, 0, 1)
    assert prove(d, 1, 1)["status"] in ("proved", "agrees")  # the layer named is taken
    wide = cr.nn.mlp([2, 9, 2], dtype="float64", rng=0)  # 9 units in the only hidden layer
    d = cr.explain(wide, [[0.1, 0.2]], [[0.1, 0.5]], symbolic=False)
    with pytest.raises(SymbolicTooLarge, match="no layer of this network fits"):
        prove(d, 0, 0)
    with pytest.raises(SymbolicTooLarge, match="no layer of this network fits"):
        prove(d, 1, 0)
