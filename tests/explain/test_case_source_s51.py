"""Where an explained case comes from, in words: a trained run's case is explained with the
standardised row the model computes with and one-hot targets, so the derivation says which case
it is, the raw row it was standardised from and its class's name (``case_source``), in every
format and in the JSON; a model without a standardizer or class names makes no such claim."""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explainer.network import ExplainError
from chainrule.explainer.render import render
from chainrule.explainer.serialize import schema, to_dict, to_json

CLASSES = ("cat", "dog", "eel")


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def cls_run(tmp_path_factory):
    """The QA's run: features on scales of ~500, 0.01 and 5, labels cat/dog/eel; the CSV's
    rows (as written) and labels, and the run directory."""
    root = tmp_path_factory.mktemp("case-source")
    rng = np.random.default_rng(51)
    X = np.column_stack(
        [rng.normal(500, 100, 60), rng.normal(0.01, 0.01, 60), rng.normal(0, 5, 60)]
    )
    labels = [CLASSES[k % 3] for k in range(60)]
    rows = [f"{a:.3f},{b:.5f},{c:.3f}" for a, b, c in X]
    lines = ["a,b,c,label"] + [f"{row},{y}" for row, y in zip(rows, labels)]
    X = np.array([[float(v) for v in row.split(",")] for row in rows])  # as written
    data = root / "cls.csv"
    data.write_text("\n".join(lines) + "\n")
    out = root / "runs" / "cls"
    with contextlib.redirect_stdout(io.StringIO()):
        args = ["train", "--data", data, "--hidden", 4, "--epochs", 3, "--out", out, "--quiet"]
        assert main([str(a) for a in args]) == 0
    return X, labels, out


def _raw_row(source: str) -> np.ndarray:
    """The numbers in "from the raw row (a, b, c)"."""
    found = re.search(r"from the raw row \(([^)]*)\)", source)
    assert found, source
    return np.array([float(v) for v in found[1].split(",")])


@pytest.mark.parametrize("case", [0, 4])
def test_a_runs_case_names_its_split_raw_row_and_class(cls_run, capsys, case):
    """The raw row in the words is a row of the CSV written above (to its 6 digits), the one
    whose standardisation with the saved mean and std is the explained inputs; the class named
    is that row's label."""
    X, labels, run = cls_run
    code, out, err = _cli(capsys, "explain", "--model", run, "--case", case, "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    source = document["case_source"]
    assert source.startswith(f"row {case} (counted from 0) of the run's test split; "), source
    info = json.loads((run / "model" / "model.json").read_text())
    mean, std = (np.array(info["standardizer"][k]) for k in ("mean", "std"))
    # the CSV row the explained inputs were standardised from (float32 inputs: to rounding)
    inputs = np.array(document["inputs"][0])
    (rows,) = np.nonzero(np.all(np.abs((X - mean) / std - inputs) < 1e-5, axis=1))
    assert len(rows) == 1, rows
    row = rows[0]
    np.testing.assert_allclose(_raw_row(source), X[row], rtol=5e-6, atol=1e-9)
    assert source.endswith(f"target: class '{labels[row]}'"), source
    assert document["targets"][0] == [float(name == labels[row]) for name in CLASSES]
    pytest.importorskip("jsonschema").validate(document, schema())


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_every_format_says_where_the_case_comes_from(cls_run, capsys, fmt):
    _, _, run = cls_run
    code, out, err = _cli(capsys, "explain", "--model", run, "--case", 1, "--format", fmt)
    assert code == 0, err
    said = out.replace("&#x27;", "'")  # html escapes the quotes around the class's name
    assert "Where the case comes from: row 1 (counted from 0) of the run" in said, out[:2000]
    assert "inputs standardised as in training from the raw row (" in said
    # near the top: before the forward pass is written out
    assert said.index("Where the case comes from") < said.index("Forward pass")


def test_input_rows_say_they_were_standardised_with_the_saved_mean_and_std(
    cls_run, capsys, tmp_path
):
    X, labels, run = cls_run
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(f"{v:.5f}" for v in X[2]) + "\n")
    code, out, err = _cli(capsys, "explain", "--model", run, "--input", rows, "--target",
                          labels[2], "--format", "json")  # fmt: skip
    assert code == 0, err
    source = json.loads(out)["case_source"]
    assert "standardised with the model's saved training mean and std" in source, source
    assert "predict" in source


def test_a_model_without_standardizer_or_class_names_says_only_which_case(tmp_path, capsys):
    """xor's recipe keeps its inputs raw and its one unit's target a number: nothing about
    standardising or class names."""
    from chainrule.cli.train import held_out_case, load_trained

    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--data", "xor", "--epochs", "2", "--out",
                     str(tmp_path / "xor"), "--quiet"]) == 0  # fmt: skip
    model, info, loss = load_trained(tmp_path / "xor")
    assert not info.get("standardizer")  # the oracle: the recipe keeps its inputs raw
    x, t, source = held_out_case(tmp_path / "xor", info, 2, loss, 1)
    assert source == "row 2 (counted from 0) of the run's data (all of it: no test split)"
    code, out, err = _cli(capsys, "explain", "--model", tmp_path / "xor", "--case", 2)
    assert code == 0, err
    said = "Where the case comes from: row 2 (counted from 0) of the run's data (all of it: "
    assert said + "no test split)." in out
    assert "standardised" not in out


def test_the_python_api_carries_case_source_to_every_format_and_the_json():
    words = "case 3 of my held-out set; target: class 'dog'"
    d = cr.explain(case_source=words, perturbation=False, views=False, paths=False)
    assert d.case_source == words
    for fmt in ("text", "markdown", "html"):
        assert f"Where the case comes from: {words}." in render(d, fmt).replace("&#x27;", "'")
    assert r"Where the case comes from: case 3 of my held-out set" in render(d, "latex")
    document = json.loads(to_json(d))
    assert document["case_source"] == words
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, schema())
    plain = to_dict(cr.explain(perturbation=False, views=False, paths=False))
    assert plain["case_source"] is None
    jsonschema.validate(plain, schema())
    del plain["case_source"]  # a document written before the field: still valid
    jsonschema.validate(plain, schema())
    plain["case_source"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(plain, schema())


def test_a_case_source_that_is_not_words_is_refused():
    with pytest.raises(ExplainError, match="case_source.*string or None, not int"):
        cr.explain(case_source=3)


def test_a_digits_cases_blank_pixels_read_zero_and_the_mapping_is_named(trained_run, capsys):
    """Undoing a float32 standardisation left a blank pixel as -1.87e-10; within the stored
    row's rounding of 0 it reads 0. The pixels are the [0, 1] ones training used, which the
    line says (they are not the file's 0..16). The oracle: the digits split's own row."""
    from chainrule.cli.train import held_out_case, load_trained

    run = trained_run("digits")
    model, info, loss = load_trained(run)
    _, _, source = held_out_case(run, info, 2, loss, 10)
    shown = re.search(r"from the raw row \(([^)]*)\)", source)[1]
    values = [v.strip() for v in shown.split(",")]
    assert all("e-" not in v for v in values), source
    assert "0" in values and "as mapped to [0, 1] from" in source
    capsys.readouterr()
    assert main(["explain", "--model", str(run), "--case", "2", "--no-symbolic"]) == 0
    assert "as mapped to [0, 1] from" in capsys.readouterr().out


def test_a_blank_case_source_says_nothing_and_a_final_stop_is_kept():
    model = cr.nn.Sequential(cr.nn.Linear(2, 1, rng=0), cr.nn.Logistic())
    x, t = np.array([[0.1, 0.2]]), np.array([[1.0]])
    assert cr.explain(model, x, t, case_source="   ").case_source is None
    text = cr.explainer.render(cr.explain(model, x, t, case_source="ends with ..."), "text")
    assert "Where the case comes from: ends with ..." in text
    assert "ends with ...." not in text
