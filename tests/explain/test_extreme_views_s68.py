"""Extreme values in the explainer's views (QA s67): a wrong gradient the teaching-bug view
passed under a tolerance as wide as the gradient; "? no verdict" with no reason; BCE's
"1 - 1 = -2.4e-18"; a nudge below E's rounding called "not smooth"; relu at z = inf named a kink.

Oracles: the rule that a tolerance at least |g| wide cannot tell g from 0 nor from -g (the
derivation's own ``near_zero``); closed forms (BCE's dE/dz = -sigmoid(-z) at t = 1, in mpmath;
a printed step read back as arithmetic); the float64 rounding of the numbers involved.
"""

import json
import math
import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import explain, render, schema, to_json
from chainrule.explainer.bugs import BugRow
from chainrule.explainer.derivation import Checked


def _seq(layers, activations):
    """A float64 Sequential of Linear layers with the given (weights, biases), each followed by
    its unit (identity: none)."""
    modules = []
    for (w, b), act in zip(layers, activations):
        w = np.array(w, dtype=float)
        linear = nn.Linear(w.shape[0], w.shape[1], dtype="float64")
        linear.weight.data[...] = w
        linear.bias.data[...] = np.array(b, dtype=float)
        modules.append(linear)
        unit = {"logistic": nn.Logistic, "tanh": nn.Tanh, "relu": nn.ReLU}.get(act)
        if unit:
            modules.append(unit())
    return nn.Sequential(*modules)


def _large_sums(scale=1e9):
    """2-2-2-1: relu units at z = scale feed logistic units whose z, 0.1 and 0.2, are sums of
    terms of +-scale that cancel; E's rounding over the step then outweighs the logistic units'
    gradients (|dE/dz| about 0.03 against a tolerance of 0.25)."""
    return _seq(
        [([[scale, 0.0], [0.0, scale]], [0, 0]), ([[1.0, -2.0], [-1.0, 2.0]], [0.1, 0.2]),
         ([[1.0], [-1.0]], [0.0])],
        ["relu", "logistic", "logistic"],
    ), [[1.0, 1.0]], [[1.0]]  # fmt: skip


# -- 1. the teaching-bug view: a pass within a tolerance as wide as the gradient is no verdict --
def test_a_sign_flip_under_a_tolerance_wider_than_the_gradient_is_no_verdict_not_a_pass():
    """The QA's numbers: atol 208 for a gradient of 0.07; the planted bug flips its sign."""
    g = 0.07
    row = BugRow(("z", 1, 0, 0), right=g, wrong=-g, numeric=g, atol=208.0, rtol=1e-5)
    assert not row.caught and row.no_verdict is not None  # was "agrees"
    assert "208" in row.no_verdict and "0.07" in row.no_verdict
    resolved = BugRow(("z", 1, 0, 0), right=g, wrong=-g, numeric=g, atol=1e-9, rtol=1e-5)
    assert resolved.caught and resolved.no_verdict is None  # a tolerance that resolves g: caught
    right = BugRow(("z", 1, 0, 0), right=g, wrong=g, numeric=g, atol=1e-9, rtol=1e-5)
    assert not right.caught and right.no_verdict is None  # the right value agrees


def test_the_bug_view_marks_no_verdict_where_its_tolerance_cannot_tell_the_gradient_from_0():
    model, x, t = _large_sums()
    d = explain(model, x, t, "squared-error", bug="assign", perturbation=False, views=False)
    rows = {row.key: row for row in d.bug.rows}
    dz = rows["z", 2, 0, 0]  # a logistic unit's dE/dz of -0.0316, halved by the bug
    assert dz.is_wrong and dz.wrong == pytest.approx(dz.reference / 2, rel=1e-9)
    tolerance = dz.atol + dz.rtol * abs(dz.numeric)
    assert tolerance >= abs(dz.numeric)  # the premise: the check cannot tell it from 0
    assert not dz.caught and "swallowed by E's rounding" in dz.no_verdict
    for row in d.bug.wrong_rows:  # no wrong row "agrees" under a tolerance of |g| or more
        if row.numeric is not None and not row.caught:
            wide = row.atol + row.rtol * abs(row.numeric) >= abs(row.numeric)
            assert wide == (row.no_verdict is not None), row.label()
    table = render(d, "text").split("Break the engine on purpose")[1]
    line = next(line for line in table.splitlines() if line.strip().startswith("∂E/∂z 2:1"))
    assert "? no verdict" in line and "agrees" not in line  # was "✓ agrees"
    assert "Why no verdict: ∂E/∂y 0:1:" in table
    assert f"On {len(d.bug.no_verdict_rows)} other wrong gradients it gives no verdict" in table
    document = json.loads(to_json(d))
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, schema())
    bug = document["bug"]
    assert bug["n_no_verdict"] == len(d.bug.no_verdict_rows) > 0
    by_label = {row["label"]: row for row in bug["rows"]}
    assert by_label["∂E/∂z 2:1"]["no_verdict"] == dz.no_verdict
    assert by_label["∂E/∂z 3:1"]["no_verdict"] is None and by_label["∂E/∂z 3:1"]["caught"]
    assert "wrong gradients get no verdict from the check" in bug["note"]


def test_a_bug_the_check_cannot_resolve_anywhere_is_not_said_to_agree():
    """Every wrong gradient passes, each within a tolerance as wide as itself: the verdict
    paragraph said "every gradient checked agrees"."""
    model, x, t = _large_sums()
    d = explain(model, x, t, "squared-error", bug="assign", perturbation=False, views=False)
    report = d.bug
    for row in report.rows:  # only the rows the check cannot resolve are left
        row.atol = max(row.atol, 10 * abs(row.right))
        row.check = None
    text = render(d, "text").split("Break the engine on purpose")[1]
    assert not report.caught and report.no_verdict_rows
    assert "finds nothing here" not in text and "agrees" not in text
    assert "The gradient check cannot catch it here" in text


def test_the_bugs_note_blames_a_relu_kink_only_where_there_is_one():
    """A logistic network's z of 0.1 from terms of 1e12 that cancel: the unit graph's order of
    adding rounds differently from the engine's, and the note said a relu unit was at its kink."""
    model = _seq([([[1e6, -1e6], [-1e6, 1e6]], [0.1, 0.2]), ([[1.0], [-1.0]], [0.0])],
                 ["logistic", "logistic"])  # fmt: skip
    d = explain(model, [[1e6, 1e6]], [[1.0]], "squared-error", bug="assign", perturbation=False)
    assert d.bug.kinked  # the premise: some right values are the unit graph's
    assert "relu" not in d.bug.note and "kink" not in d.bug.note
    assert "where those sums cancel" in d.bug.note


# -- 2. every "? no verdict" says why, in every format and in the JSON ---------------------------
def test_every_no_verdict_says_why_in_every_format():
    model, x, t = _large_sums()
    d = explain(model, x, t, "squared-error", perturbation=False, views=False, paths=False)
    check = d.dE_dz(2, 0)
    assert check.unresolved
    why = check.no_verdict_reason
    # E's rounding over the step, from its own numbers: the step's change in E, |fd| step, is
    # below it, so the step is swallowed
    parts = d.tolerance_parts(("dE_dz", 2), (0, 0))
    assert parts.step == 1e-6 and abs(check.numeric) * parts.step <= 2 * 2.0**-52 * parts.size
    assert why.startswith("the step 1e-06 is swallowed by E's rounding")
    assert f"|fd| {abs(check.numeric):.2g}" in why
    text = render(d, "text")
    marks = [line for line in text.splitlines() if "? no verdict (" in line]
    assert marks and all("; why: " in line for line in marks)
    assert f"; why: {why})" in text
    markdown, page = render(d, "markdown"), render(d, "html")
    assert f"; why: {why})" in markdown
    assert "; why: the step 1e-06 is swallowed by E&#x27;s rounding" in page
    latex = render(d, "latex")
    assert latex.count("? no verdict, why:") == text.count("? no verdict (")
    document = json.loads(to_json(d))
    z = document["layers"][2]["units"][0]["dE_dz"][0]
    assert z["near_zero"] and z["no_verdict"] == why
    resolved = document["layers"][3]["units"][0]["dE_dz"][0]
    assert not resolved["near_zero"] and "no_verdict" not in resolved
    _compiles(latex, "why")


def test_a_check_made_apart_says_its_tolerance_is_as_wide_as_its_difference():
    check = Checked(value=0.0, numeric=3e-9, atol=1e-7, rtol=1e-5)
    assert check.no_verdict_reason == "its tolerance, 1e-07, is at least |fd|, 3e-09"
    assert Checked(value=0.25, numeric=0.25, atol=1e-7).no_verdict_reason is None


def _compiles(latex: str, name: str) -> None:
    if shutil.which("pdflatex") is None:
        return
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"{name}.tex").write_text(latex)
        result = subprocess.run(["pdflatex", "-interaction=nonstopmode", f"{name}.tex"],
                                cwd=tmp, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stdout[-2000:]
        log = (Path(tmp) / f"{name}.log").read_text(errors="replace")
        widths = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)
        assert max(map(float, widths), default=0) < 10, widths


# -- 3. BCE at a logit of 40: the step's arithmetic holds ----------------------------------------
def _bce(bias, target):
    model = _seq([([[1.0, 0.5], [-0.3, 1.0]], [0.0, 0.0]), ([[1.0], [2.0]], [bias])],
                 ["tanh", "identity"])  # fmt: skip
    return explain(model, [[0.2, 0.1]], [[target]], "binary-cross-entropy", perturbation=False)


def _step_and_result(text: str, lhs: str) -> tuple[str, str]:
    lines = text.splitlines()
    k = next(k for k, line in enumerate(lines) if f"{lhs} = " in line and "j=1" in line)
    step = lines[k].split(f"{lhs} = ", 1)[1].strip()
    result = lines[k + 1].split("=", 1)[1].split()[0]
    return step, result


@pytest.mark.parametrize("bias", [10.0, 40.0, 400.0])
def test_the_output_step_of_bce_reads_back_as_its_result(bias):
    mpmath = pytest.importorskip("mpmath")
    d = _bce(bias, 1.0)
    text = render(d, "text")
    step, result = _step_and_result(text, "∂E/∂z_1")
    assert step != "1 - 1"  # was "1 - 1 = -2.419e-18"
    read = float(eval(step.replace("−", "-"), {"__builtins__": {}}))  # noqa: S307
    assert read == pytest.approx(float(result), rel=2e-3)
    # the engine's number, against the closed form dE/dz = sigmoid(z) - 1 = -sigmoid(-z)
    mpmath.mp.dps = 50
    z = mpmath.mpf(float(d.layers[2].z[0, 0]))
    exact = float(-1 / (1 + mpmath.exp(z)))
    assert d.layers[2].dE_dz[0, 0] == pytest.approx(exact, rel=1e-12)
    assert float(result) == pytest.approx(exact, rel=1e-3)
    if float(1 / (1 + mpmath.exp(-z))) == 1.0:  # y is stored as 1: said, not hidden
        assert "within float64's rounding of 1" in text and "from z_1 itself" in text
    latex = render(d, "latex")
    assert r"1 - 1 &" not in latex and "= 1 - 1" not in latex


def test_a_saturated_squared_error_step_reads_back_as_its_result():
    """-(1 - 1) = -4.54e-05: a logistic y of 0.99995 printed to four digits."""
    model = _seq([([[1.0, 0.5], [-0.3, 1.0]], [0.0, 0.0]), ([[1.0], [2.0]], [10.0])],
                 ["tanh", "logistic"])  # fmt: skip
    d = explain(model, [[0.2, 0.1]], [[1.0]], "squared-error", perturbation=False)
    step, result = _step_and_result(render(d, "text"), "∂E/∂y_1")
    read = float(eval(step.replace("−", "-"), {"__builtins__": {}}))  # noqa: S307
    assert read == pytest.approx(float(result), rel=2e-3)
    assert read == pytest.approx(d.layers[2].dE_dy[0, 0], rel=2e-3)


# -- 4. a nudge below E's rounding is no verdict, not "not smooth" -------------------------------
def test_a_nudge_below_Es_rounding_is_no_verdict_not_a_claim_about_smoothness():
    """E = 5.5e31: each measured change of E is a few of its last digits (9e15 each), the
    rounding of E and of the output's sum of 1e16; the error/eps^2 column grew, read as E not
    smooth (E is a quadratic of a logistic here: smooth everywhere)."""
    model = _seq([([[1.0, 0.0], [0.0, 1.0]], [50.0, 50.0]),
                  ([[-24.03076697], [9.03440333]], [-1.0474477812345e16])],
                 ["logistic", "identity"])  # fmt: skip
    d = explain(model, [[0.5, 0.5]], [[0.0]], "squared-error", views=False, paths=False)
    assert d.error == pytest.approx(0.5 * (1.0474477812345e16 + 24.03076697 - 9.03440333) ** 2)
    p = d.perturbation
    ulp = math.ulp(d.error)
    assert all(abs(row["measured"]) <= 8 * ulp for row in p["rows"])  # the premise: rounding
    for fmt in ("text", "markdown", "html", "latex"):
        section = render(d, fmt).split("Why a sum")[1][:2500]
        assert "not smooth" not in section, fmt
        assert "No verdict" in section and "below" in section, fmt


# -- 5. relu at z = +inf: an infinite input, not a kink ------------------------------------------
def test_a_relu_unit_at_an_infinite_z_is_not_named_a_kink():
    model = _seq([([[1e200, 0.5], [0.3, 1.0]], [0, 0]), ([[1.0], [1.0]], [0.0])],
                 ["relu", "logistic"])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflow itself
        d = explain(model, [[1e200, 0.1]], [[1.0]], "squared-error", perturbation=False)
        text, matrix = render(d, "text"), render(d, "text", notation="matrix")
    assert d.layers[1].z[0, 0] == math.inf  # the premise
    check = d.dE_dz(1, 0)
    assert not check.kink  # the kink is at z = 0 alone; was "not checked (at a kink)"
    assert "kink" not in text.lower()
    assert check.unresolved and "moves z = inf, an infinite input" in check.no_verdict_reason
    # the reason in the write-up's notation
    assert "moves a = inf, an infinite input" in matrix and "C's rounding" not in text
