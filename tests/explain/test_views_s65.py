"""What two QA testers found in the explainer's views (session 65):

1. a gradient left unchecked at a relu kink carried no mark in any format, and its JSON said
   ``numeric: null`` with no reason; 2. a float32 model given float64 inputs showed the float64
   numbers as its ``inputs`` (explain's JSON, the explorer's state, /api/derivation) while every
   gradient was computed from their float32 roundings; 5. ``render(explain(unit="0:1"))`` left
   the inputs' dE/dy out and said they are "written out with --unit 0:1"; 6. an output unit
   under cross-entropy was headed by its y, which the paragraph says has no dE/dy; 7. one path
   whose prediction is 0 was said to "match" the measured change in E.
"""

from __future__ import annotations

import html
import json
import re
import shutil

import numpy as np
import pytest
from explain_cases import pdflatex

from chainrule import nn
from chainrule.explainer import explain, render, schema, to_json
from chainrule.explainer.derivation import KINK_MARK
from chainrule.tensor import Tensor

FORMATS = ("text", "markdown", "latex", "html")


# -- 1. a gradient left unchecked at a kink is marked, and the JSON says why ---------------------
def _kinked():
    """A 2-3-2 relu network whose output unit 1 has z = 0.7 + 0.15 - 0.85 = 0 exactly."""
    l1, l2 = nn.Linear(2, 3, dtype="float64"), nn.Linear(3, 2, dtype="float64")
    l1.weight.data[...] = [[1.0, -1.0, 0.5], [1.0, 1.0, -0.5]]
    l1.bias.data[...] = 0.0
    l2.weight.data[...] = [[0.7, -0.4], [0.2, 0.6], [0.3, 0.1]]
    l2.bias.data[...] = [-0.85, 0.05]
    net = nn.Sequential(l1, nn.ReLU(), l2, nn.ReLU())
    return explain(net, [[1.0, 0.0]], [[1.0, -1.0]], nn.SquaredError(), unit="1:1")


def _checked_values(document: dict) -> list[dict]:
    """Every checked value of a JSON document (the units' dE/dy and dE/dz, dE/dw, dE/db)."""
    found = []
    for layer in document["layers"]:
        for unit in layer["units"]:
            for key in ("dE_dy", "dE_dz"):
                found += unit[key] or []
    for conn in document["connections"]:
        found += [w["dE_dw"] for w in conn["weights"]] + [b["dE_db"] for b in conn["biases"]]
    return found


def test_a_gradient_left_unchecked_at_a_kink_says_so_in_the_json():
    d = _kinked()
    z_top = d.layers[2].z[0]
    assert z_top[0] == 0.0  # the oracle: the output unit's z is at relu's kink, by hand above
    document = json.loads(to_json(d))
    values = _checked_values(document)
    kinked = [v for v in values if v.get("kink")]
    said = int(re.search(r"(\d+) gradients were not checked", " ".join(document["notes"]))[1])
    assert len(kinked) == said == 22
    assert all(v["numeric"] is None and v["ok"] is None for v in kinked)
    assert all(v["kink"] is False for v in values if v["numeric"] is not None)
    # everything below the kink moves z_1 of the top: its weights' dE/dw are left unchecked
    assert all(w["dE_dw"]["kink"] for w in document["connections"][0]["weights"])
    assert schema()["$defs"]["checked"]["properties"]["kink"]["type"] == "boolean"
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, schema())


def test_every_format_marks_a_gradient_left_unchecked_at_a_kink_and_the_note_names_the_mark():
    d = _kinked()
    text = render(d, "text")
    lines = text.splitlines()
    # the lines that end a checked equation: each carries one mark, a kink's the defined one
    kink_lines = [line for line in lines if line.endswith(KINK_MARK)]
    checked_lines = [line for line in lines if re.search(r"(✓|MISMATCH|no verdict) ", line)]
    # the accessor's: the output unit at its kink, not the other one (its z is 0.35)
    assert d.dE_dz(2, 0).kink and not d.dE_dz(2, 1).kink and d.dE_dy(1, 0).kink
    # the 22 kinked, less the inputs' 2 dE/dy, which are written out only for --unit 0:i
    assert len(kink_lines) == 22 - 2
    assert not set(kink_lines) & set(checked_lines)
    note = next(line for line in lines if "gradients were not checked" in line)
    assert f"'{KINK_MARK}'" in note and "(at a kink: not checked)" not in note
    assert '"kink": true' in note
    for fmt in ("markdown", "latex", "html"):
        out = render(d, fmt)
        assert out.count(KINK_MARK) == len(kink_lines) + 1, fmt  # each line, and the note


def test_the_latex_with_kink_marks_compiles(tmp_path):
    latex = render(_kinked(), "latex")
    assert r"&& \text{" + KINK_MARK + "}" in latex
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    result = pdflatex(tmp_path, "kink", latex)
    assert result.returncode == 0, result.stdout[-2000:]


# -- 2. a float32 model's inputs are the numbers it computed with, in every view -----------------
X64 = np.array([[0.1, 1 / 3, -2.7182818284590451]])  # none of them a float32 number


def _float32_model():
    return nn.mlp([3, 4, 3], output=None, rng=0, dtype="float32")


def test_explain_shows_a_float32_models_inputs_as_it_rounded_them():
    model = _float32_model()
    d = explain(model, X64, [1], nn.CrossEntropy())
    rounded = X64.astype(np.float32).astype(np.float64)  # the oracle: NumPy's rounding
    assert not np.array_equal(rounded, X64)
    document = json.loads(to_json(d))
    assert np.array_equal(np.array(document["inputs"]), rounded)
    y0 = np.array([[unit["y"][0] for unit in document["layers"][0]["units"]]])
    assert np.array_equal(y0, rounded)
    # and E is the model's own on its float32 input (the library's forward pass)
    E = nn.CrossEntropy()(model(Tensor(X64.astype(np.float32))), Tensor(np.array([1])))
    assert document["loss"]["E"] == pytest.approx(float(E.item()), rel=1e-6)


def test_the_explorer_state_and_its_derivation_show_the_inputs_the_model_computed_with():
    pytest.importorskip("pydantic")
    import chainrule as cr

    model = _float32_model()
    widget = cr.explorer(model, (X64[0], 1), nn.CrossEntropy())
    answer = widget.explorer.answer
    seed = answer({"id": "1", "path": "/api/seed"})["data"]
    backward = answer({"id": "2", "path": "/api/backward", "body": {"network": seed}})["data"]
    derivation = answer({"id": "3", "path": "/api/derivation", "body": {"network": seed}})["data"]
    rounded = X64[0].astype(np.float32).astype(np.float64).tolist()
    assert seed["dtype"] == "float32"
    assert seed["input"] == rounded
    assert backward["layers"][0]["y"] == rounded
    assert derivation["inputs"][0] == rounded


# -- 5. the Python path writes out the inputs' dE/dy for unit="0:1", as --unit 0:1 does ----------
def test_an_input_unit_asked_for_writes_out_the_inputs_gradients_unfocused_too():
    d = explain(unit="0:1")  # the seed: 27 checks, 2 of them the inputs' dE/dy
    assert len(d.all_checks()) == 27
    for fmt in FORMATS:
        out = render(d, fmt)
        assert "written out with" not in out and "0:1" not in out, fmt
    text = render(d, "text")
    assert text.count("✓ fd ") == 27  # every check written out, the inputs' included
    assert "Layer 0" in text or "layer 0" in text
    # as the command line writes them: the inputs' equations are the focused document's
    focused = render(d, "text", focused=True)
    inputs = [line for line in focused.splitlines() if "∂E/∂y_1 =" in line or "∂E/∂y_2 =" in line]
    assert inputs and all(line in text.splitlines() for line in inputs)
    # a derivation of another unit still leaves them out, and says how to have them
    other = render(explain(unit="1:1"), "text")
    assert other.count("✓ fd ") == 25 and 'written out with unit="0:1" or unit="0:2"' in other


# -- 6. an output unit whose loss reads z is headed by its z ------------------------------------
def _output_unit(loss, t):
    model = nn.mlp([3, 3, 3], activation="tanh", output=None, rng=0, dtype="float64")
    return explain(model, [[0.2, -0.5, 1.0]], t, loss, unit="2:1")


def test_an_output_unit_under_cross_entropy_is_headed_by_its_z_not_a_y_it_has_no_gradient_of():
    d = _output_unit(nn.CrossEntropy(), [1])
    assert d.layers[2].dE_dy is None  # the oracle: the record has no dE/dy for the output
    text = render(d, "text")
    assert "Why a sum: not for an output unit (z_1)" in text
    assert "has no ∂E/∂y_1" in text and "(y_1)" not in text
    assert "not for an output unit ($z_{1}$)" in render(d, "latex", focused=True)
    assert "not for an output unit ($z_{1}$)" in render(d, "markdown")
    mse = render(_output_unit("mse", [[1.0, 0.0, 0.0]]), "text")
    assert "Why a sum: not for an output unit (y_1)" in mse  # a y the loss reads: its y


# -- 7. one path whose prediction is 0 ---------------------------------------------------------
def _one_path_at_its_target():
    """2-2-1 tanh/linear under squared error with t = y: dE/dz of the one output is 0."""
    model = nn.mlp([2, 2, 1], activation="tanh", output=None, rng=0, dtype="float64")
    x = np.array([[0.3, -0.7]])
    t = model(Tensor(x)).numpy()
    return explain(model, x, t, "mse", unit="1:1")


def test_one_path_whose_prediction_is_0_is_not_said_to_match_a_change_all_second_order():
    d = _one_path_at_its_target()
    rows = d.perturbation["rows"]
    assert [path["predicted"] for row in rows for path in row["paths"]] == [0.0] * len(rows)
    # the oracle: E = (w_11 eps)^2 exactly (the mean squared error of one output, t = y): the
    # whole change is second order
    w = float(d.connections[1].weight[0, 0])
    for row in rows:
        assert row["measured"] == pytest.approx((w * row["eps"]) ** 2, rel=1e-6)
    for fmt in FORMATS:
        out = html.unescape(render(d, fmt)) if fmt == "html" else render(d, fmt)
        assert "prediction matches the measured change" not in out, fmt
        assert "The one path's prediction is 0" in out, fmt
    text = render(d, "text")
    section = text[text.index("Why a sum: nudge") :][:900]
    assert "∂E/∂z_1 = 0" in section and "whole measured change is the error" in section
    assert "of order ε²" in section and "with one path there is nothing to leave out" in section
