"""The explainer reads a loss's name as the library does (nn.losses.loss_from_name), as
``chainrule train --loss`` and the page do: it kept aliases of its own ("sse", "ce", "bce"),
so ``explain --loss SSE`` ran where ``train --loss ce`` was refused."""

import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import UserError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error  # noqa: E402


@pytest.mark.parametrize("alias", ["sse", "SSE", "ce", "bce"])
def test_an_alias_the_library_does_not_take_is_refused(alias, capsys):
    model = nn.mlp([2, 2, 2], rng=0)
    with pytest.raises(UserError, match=rf"unknown loss '{alias}'; choose one of squared-error"):
        cr.explain(model, np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]), loss=alias)
    assert_user_error(capsys, "explain", "--loss", alias, "--input", "1,0", "--target", "1,0,1",
                      match=f"--loss: unknown value '{alias}'")  # fmt: skip


def test_the_library_s_spellings_are_taken():
    model = nn.mlp([2, 2, 2], rng=0)
    x, t = np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]])
    d = cr.explain(model, x, t, loss="Squared_Error")
    expected = nn.SquaredError()(model(x), t).item()
    assert d.error == pytest.approx(expected, rel=1e-6)
