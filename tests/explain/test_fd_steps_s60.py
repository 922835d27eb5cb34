"""QA s60 (a course author): the explainer's finite-difference check gave a whole connection ONE
weight step, eps over the largest |y| anywhere below, though its note says "a weight's step is
eps over the largest |y| it multiplies". Beside an input of 52000, w_21 (which multiplies
y_2 = 0.003) took a step of eps/52000: the difference was swamped by E's rounding, 3.4% off a
right dE/dw_21 of -5.723e-05, and its tolerance (that rounding over the step) was so loose that
an engine value a fifth off passed too. Beside an input of 1e160 the difference was 0 and the
check said "✓ ... near 0", the summary "all agree"; with a z that overflowed (tolerance inf) a
check of fd 0 said ✓. Now each weight row i takes its own step, eps / max(1, max |y_i|), and its
tolerance follows it; a check whose difference is within its tolerance of 0, or whose tolerance
is not finite, gives no verdict, never a ✓, and the summary does not count it as agreement."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.explainer import build, render, schema, to_json
from chainrule.explainer.derivation import Checked
from chainrule.explainer.render_text import check_mark

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402

W2 = [[0.5, -0.5], [0.25, 0.75]]
T = [[1.0, 0.0]]


def _model(w1, b1=(0.1, -0.2)):
    """2-2-2, logistic units, float64: the report's network."""
    l1 = nn.Linear(2, 2, dtype=np.float64)
    l1.weight.data[...] = w1
    l1.bias.data[...] = b1
    l2 = nn.Linear(2, 2, dtype=np.float64)
    l2.weight.data[...] = W2
    l2.bias.data[...] = 0.0
    return nn.Sequential(l1, nn.Logistic(), l2, nn.Logistic())


def _explain(w1, x, **kw):
    return cr.explain(_model(w1), np.array(x, dtype=float), np.array(T), symbolic=False, **kw)


def _closed_form(w1, x, b1=(0.1, -0.2)):
    """E and dE/dW1 of the 2-2-2 logistic network with squared error, written out in NumPy."""
    x, w1, w2, t = (np.array(a, dtype=float) for a in (x, w1, W2, T))
    with np.errstate(over="ignore"):
        y1 = 1 / (1 + np.exp(-(x @ w1 + np.array(b1))))
    y2 = 1 / (1 + np.exp(-(y1 @ w2)))
    dz2 = (y2 - t) * y2 * (1 - y2)
    dz1 = (dz2 @ w2.T) * y1 * (1 - y1)
    return 0.5 * float(((y2 - t) ** 2).sum()), x.T @ dz1


SMALL_BESIDE_LARGE = ([[2e-5, -1e-5], [0.3, 0.6]], [[52000.0, 0.003]])
TINY_BESIDE_HUGE = ([[1e-160, -2e-160], [0.3, 0.6]], [[1e160, 1.0]])
OVERFLOW = ([[1e200, -1e200], [0.3, 0.6]], [[1e200, 1.0]])


def test_each_weight_row_takes_its_own_step():
    """w_1j multiplies y_1 = 52000, w_2j y_2 = 0.003: steps eps/52000 and eps; a y's step and
    the others are still one number (the page's dE/dy check reads the y's)."""
    d = _explain(*SMALL_BESIDE_LARGE)
    steps = build.difference_steps(d.layers, d.connections, 1e-6)
    np.testing.assert_allclose(steps["dE_dw", 0], [[1e-6 / 52000], [1e-6]], rtol=1e-15)
    np.testing.assert_allclose(steps["dE_dw", 1], [[1e-6], [1e-6]], rtol=1e-15)  # y <= 1
    for key in [("dE_dy", 0), ("dE_dy", 1), ("dE_dy", 2), ("dE_db", 0), ("dE_dz", 1)]:
        assert isinstance(steps[key], float), key
    # each row's tolerance follows its step: E's rounding over a step of eps/52000 is 52000
    # times that over eps (the connection's own tolerance is the loosest row's)
    loose, tight = d.dE_dw(0, 0, 0).atol, d.dE_dw(0, 1, 0).atol
    assert tight < 2e-7 and loose > 1e-6
    assert d.quantity_atol["dE_dw", 0] == pytest.approx(loose)


def test_a_weight_beside_a_large_input_is_checked_tightly(torch):
    w1, x = SMALL_BESIDE_LARGE
    d = _explain(w1, x)
    error, dW1 = _closed_form(w1, x)
    assert d.error == pytest.approx(error, rel=1e-12)
    w21 = d.dE_dw(0, 1, 0)  # w_21: from input 2 (y = 0.003) to hidden unit 1
    assert w21.value == pytest.approx(-5.723e-05, rel=1e-3)
    # the old single step left the difference 3.4% off (-5.91749e-05)
    assert w21.numeric == pytest.approx(dW1[1, 0], rel=1e-6)
    assert w21.ok and not w21.near_zero
    # torch's gradient, the second opinion, is what the difference measures
    tw1 = torch.tensor(np.array(w1), dtype=torch.float64, requires_grad=True)
    f64 = torch.float64
    tz1 = torch.tensor(x, dtype=f64) @ tw1 + torch.tensor([0.1, -0.2], dtype=f64)
    ty2 = torch.sigmoid(torch.sigmoid(tz1) @ torch.tensor(W2, dtype=f64))
    (0.5 * ((ty2 - torch.tensor(T, dtype=f64)) ** 2).sum()).backward()
    assert w21.numeric == pytest.approx(float(tw1.grad[1, 0]), rel=1e-6)
    np.testing.assert_allclose(d.connections[0].dE_dw_numeric, tw1.grad.numpy(), rtol=1e-6)
    line = next(line for line in render(d, "text").splitlines() if "-5.723e-05" in line)
    assert re.search(r"✓ fd -5\.72\d*e-05, ", line), line


@pytest.mark.parametrize("off", [1.2, 1.01])
def test_a_wrong_gradient_of_a_weight_beside_a_large_input_is_caught(off):
    """With the old step a 20% error passed (the difference 1.9e-06 was itself within its
    tolerance of 1.3e-05); a 1% one is caught now too."""
    d = _explain(*SMALL_BESIDE_LARGE)
    d.connections[0].dE_dw[1, 0] *= off
    assert not d.dE_dw(0, 1, 0).ok
    assert d.all_ok is False
    assert "SOME DISAGREE" in render(d, "text")


def test_a_weight_beside_an_input_of_1e160_is_resolved():
    """The one step of eps/1e160 moved z by 1e-166 times y_2 = 1: nothing at all, fd 0,
    marked ✓ ... near 0 and counted as agreement."""
    w1, x = TINY_BESIDE_HUGE
    d = _explain(w1, x)
    _, dW1 = _closed_form(w1, x)
    for i, j in np.ndindex(2, 2):
        check = d.dE_dw(0, i, j)
        assert check.ok and not check.near_zero, (i, j)
        assert check.numeric == pytest.approx(dW1[i, j], rel=1e-6), (i, j)
    assert d.dE_dw(0, 1, 0).value == pytest.approx(-0.01579, rel=1e-3)
    text = render(d, "text")
    line = next(line for line in text.splitlines() if "= -0.01579 " in line and "fd" in line)
    assert "✓ fd -0.0157" in line and "near 0" not in line


def test_a_check_within_its_tolerance_of_0_gives_no_verdict():
    """Not a ✓: an engine value of 0 would pass too. An infinite (or NaN) tolerance passes
    anything: no verdict either, and the mark says which."""
    small = Checked(value=0.0, numeric=3e-9, atol=1e-7, rtol=1e-5)
    assert small.ok and small.near_zero and small.unresolved
    mark = check_mark(small)
    assert "✓" not in mark and "no verdict" in mark and "fd 3e-09" in mark, mark
    for atol in (np.inf, np.nan):
        check = Checked(value=-0.0158, numeric=0.0, atol=atol, rtol=1e-5)
        assert check.ok and check.near_zero and check.unresolved, atol
        mark = check_mark(check)
        assert "✓" not in mark and "no verdict" in mark and "tolerance" in mark, mark
    clear = Checked(value=0.25, numeric=0.25 + 1e-9, atol=1e-7, rtol=1e-5)
    assert clear.ok and not clear.unresolved and check_mark(clear).startswith("✓ fd 0.25")
    wrong = Checked(value=0.5, numeric=3e-9, atol=1e-7, rtol=1e-5)
    assert not wrong.ok and not wrong.unresolved and "MISMATCH" in check_mark(wrong)
    assert not Checked(value=0.0).unresolved  # not checked at all


def _summary(text: str) -> str:
    return text.split("\nChecks\n", 1)[1]


def test_some_unresolved_checks_are_not_counted_as_agreement():
    """The input's dE/dy_1 = w_11 dE/dz_1 + w_12 dE/dz_2 is about 1e-162: its difference is
    within its tolerance of 0, unresolved; the other 21 checks agree. The summary says all the
    resolved ones agree and how many are unresolved, not "all agree"; all_ok stays True (no
    check disagrees, and some resolve), as the JSON says with its near_zero count."""
    d = _explain(*TINY_BESIDE_HUGE)
    unresolved = [c for c in d.all_checks() if c.unresolved]
    assert len(unresolved) == 1 and abs(unresolved[0].value) < 1e-150
    assert d.all_ok is True
    summary = _summary(render(d, "text"))
    assert "all agree" not in summary
    assert "all 21 resolved checks agree; 1 unresolved (no verdict)" in summary
    document = json.loads(to_json(d))
    jsonschema.validate(document, schema())
    assert document["check"]["all_ok"] is True and document["check"]["near_zero"] == 1


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # z = inf, on purpose
def test_an_overflowed_z_gives_no_verdict_never_a_tick():
    """z = 1e200 * 1e200 = inf under a logistic unit: E stays finite, but the layers below are
    checked with an infinite tolerance (E's rounding there is infinite), which any value passes:
    those checks (fd 0) said ✓, the summary "all agree"."""
    d = _explain(*OVERFLOW)
    assert np.isfinite(d.error)
    infinite = [c for c in d.all_checks() if not np.isfinite(c.atol)]
    assert infinite and all(c.unresolved for c in infinite)
    resolved = [c for c in d.all_checks() if not c.unresolved]
    assert resolved and all(c.ok for c in resolved) and d.all_ok is True
    text = render(d, "text")
    ticks = re.findall(r"✓ fd (\S+),", text)
    assert ticks and all(float(fd) != 0 for fd in ticks), ticks
    marks = [line for line in text.splitlines() if "no verdict (tolerance inf" in line]
    assert marks and not any("✓" in line for line in marks)
    summary = _summary(text)
    assert "all agree" not in summary and "unresolved (no verdict)" in summary
    for fmt, tick in (("markdown", "✓ fd "), ("latex", r"\checkmark\ \text{fd"), ("html", "✓ fd ")):
        assert render(d, fmt).count(tick) == len(ticks), fmt
    assert 'class="check unresolved"' in render(d, "html")
    assert r"\text{no verdict" in render(d, "latex")


def test_the_command_line_claims_no_agreement_after_an_overflow(tmp_path, capsys):
    """No ✓ beside a difference of 0 taken under an infinite tolerance; exit 0, as for any
    check that gives no verdict (1 says a check disagrees, and none does)."""
    w1, x = OVERFLOW
    cr.io.save_model(tmp_path / "m", _model(w1), loss=nn.SquaredError())
    code, out, _ = run(capsys, "explain", "--model", tmp_path / "m", "--input", "1e200,1",
                       "--target", "1,0", "--no-symbolic")  # fmt: skip
    assert code == 0
    assert "✓ fd 0," not in out and "no verdict (tolerance inf" in out
    assert "all agree" not in out and "unresolved (no verdict)" in out


@settings(max_examples=25, deadline=None)
@given(
    st.tuples(st.integers(-4, 7), st.integers(-4, 7)),
    st.tuples(st.floats(0.2, 1.0), st.floats(-1.0, -0.2)),
)
def test_every_weight_difference_matches_the_closed_form(powers, signs):
    """Inputs of any two scales, 1e-4 to 1e7, each row's weights scaled so that z stays about
    1: every weight's central difference is the closed form's dE/dw to 1e-6 of it (plus 1e-9),
    and its tolerance catches an error of 1e-4 of it (plus 2e-7). One step for the connection,
    eps over the larger input, left the smaller input's weights with E's rounding over a step
    of 1e-13."""
    x = np.array([[2.0 * 10.0 ** powers[0], -1.5 * 10.0 ** powers[1]]])
    w1 = np.array([[signs[0], -0.5], [0.4, signs[1]]]) / np.maximum(1.0, np.abs(x[0]))[:, None]
    d = _explain(w1, x)
    _, dW1 = _closed_form(w1, x)
    numeric = d.connections[0].dE_dw_numeric
    assert np.all(np.abs(numeric - dW1) <= 1e-9 + 1e-6 * np.abs(dW1)), (numeric, dW1)
    for i, j in np.ndindex(2, 2):
        check = d.dE_dw(0, i, j)
        assert check.ok, (i, j)
        assert check.atol <= 2e-7 + 1e-4 * abs(dW1[i, j]), (i, j, check)
