"""QA fixes of the explainer: a loss given with the seed network is refused, not ignored; zero
cases are refused by name; a relu unit at its kink (z = 0) is not judged a mismatch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.explainer import ExplainError, explain, schema, sequential
from chainrule.explainer.render import render
from chainrule.explainer.serialize import to_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error, run  # noqa: E402


# -- 1. --loss with the seed network ---------------------------------------------------------
@pytest.mark.parametrize("loss", ["mse", "cross-entropy", "binary-cross-entropy"])
def test_explain_refuses_another_loss_for_the_seed(loss):
    with pytest.raises(ExplainError, match=f"loss '{loss}': the seed network"):
        explain(loss=loss)


def test_explain_takes_the_seeds_own_loss_and_the_default():
    assert explain().loss.name == "squared-error"
    assert explain(loss="squared-error").loss.name == "squared-error"


def test_a_loss_with_the_seed_network_and_own_cases_is_used():
    d = explain(None, [[1.0, 0.0]], [[1.0, 0.0, 1.0]], loss="mse")
    assert d.loss.name == "mse"


@pytest.mark.parametrize("loss", ["mse", "cross-entropy"])
def test_cli_explain_refuses_loss_for_the_seed(capsys, loss):
    assert_user_error(capsys, "explain", "--loss", loss, match=f"--loss {loss}: the seed network")


def test_cli_explain_uses_loss_with_input_and_target(capsys):
    code, out, err = run(capsys, "explain", "--loss", "mse", "--input", "1,0", "--target", "1,0,1")
    assert code == 0, err
    assert "Loss: mse" in out


# -- 2. zero cases ---------------------------------------------------------------------------
def _relu_model():
    return sequential(
        [([[0.5, -0.3], [0.2, 0.4]], None, "relu"), ([[0.7], [-0.6]], [0.1], "identity")]
    )


def test_zero_cases_are_refused_naming_the_inputs_shape():
    with pytest.raises(ExplainError, match=r"no cases \(shape \(0, 2\)\)"):
        explain(_relu_model(), np.zeros((0, 2)), np.zeros((0, 1)))


# -- 3. a relu unit at its kink --------------------------------------------------------------
def test_a_relu_unit_at_its_kink_is_no_mismatch():
    d = explain(_relu_model(), [[0.0, 0.0]], [[1.0]])
    assert d.all_ok
    assert all(c.ok for c in d.all_checks())
    at_kink = d.dE_dz(1, 0)
    assert at_kink.kink and at_kink.numeric is None and at_kink.ok is None
    assert at_kink.to_dict()["ok"] is None  # JSON: not checked, as the schema writes it
    assert d.dE_dw(0, 0, 0).kink  # its weights move the kinked z
    assert not d.dE_dz(2, 0).kink and d.dE_dz(2, 0).ok  # above the kink: still checked
    assert any("kink" in note for note in d.notes)
    text = render(d, "text")
    assert "MISMATCH" not in text and "SOME DISAGREE" not in text
    document = json.loads(to_json(d))
    assert document["check"]["all_ok"] is True
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, schema())


def test_a_wrong_gradient_away_from_the_kink_still_fails():
    d = explain(_relu_model(), [[0.0, 0.0], [1.0, 0.5]], [[1.0], [0.3]])
    assert d.all_ok
    assert not d.dE_dz(1, 0, case=1).kink and d.dE_dz(1, 0, case=1).ok  # case 1: no kink
    d.layers[1].dE_dz[1, 0] += 0.01
    assert not d.dE_dz(1, 0, case=1).ok
    assert not d.all_ok


def test_no_kink_leaves_every_gradient_checked():
    d = explain(_relu_model(), [[1.0, 0.5]], [[0.3]])
    assert not any("kink" in note for note in d.notes)
    assert not any(c.kink for c in d.all_checks())
    assert d.all_ok
