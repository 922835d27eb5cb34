"""gradcheck's absolute step against the spacing of float64 numbers near the inputs.

``cr.gradcheck(lambda x: x * 2.0, [[1e12]])`` failed a right gradient (numeric 0, analytic 2)
with nothing saying why: float64 numbers near 1e12 are 1.2e-4 apart, so x + 1e-6 is x. At 1e9 the
step itself rounds by 6% (rel error 0.05). The verdict stays the comparison's (torch fails the
same), but a warning and the report's note name the input and an eps that fits. Oracles: the
closed-form derivative, float64's own spacing (np.spacing) and torch.autograd.gradcheck."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GradcheckError


def _double(x):
    return x * 2.0


def _checked(f, inputs, **options):
    """The report and the spacing warnings gradcheck gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = cr.gradcheck(f, inputs, **options)
    said = [str(w.message) for w in caught if "float64 numbers are" in str(w.message)]
    return report, said


@pytest.mark.parametrize("x", [1e12, 1e9])
def test_a_step_below_the_spacing_is_named_and_the_verdict_kept(x):
    step_rounds = (x + 1e-6) - (x - 1e-6)  # what the difference divides by 2e-6
    assert abs(step_rounds - 2e-6) > 1e-3 * 2e-6  # the oracle: the step itself is off
    report, said = _checked(_double, [[x]])
    assert not report.ok  # unchanged: the comparison fails, as torch's does
    assert len(said) == 1 and said[0].startswith("gradcheck: input 0 holds |x| up to")
    assert f"{np.spacing(x):.3g}" in said[0]
    assert report.note and report.note in said[0] and report.note in str(report)
    suggested = float(re.search(r"pass eps=([0-9.e+-]+)", said[0]).group(1))
    again, quiet = _checked(_double, [[x]], eps=suggested)
    assert again.ok and not quiet and not again.note
    assert again.entries[0].analytic == 2.0  # the closed form, d(2x)/dx
    assert again.entries[0].numeric == pytest.approx(2.0, rel=1e-6)


def test_torch_fails_the_same_step():
    torch = pytest.importorskip("torch")
    x = torch.tensor([[1e12]], dtype=torch.float64, requires_grad=True)
    assert not torch.autograd.gradcheck(lambda v: v * 2.0, (x,), eps=1e-6, raise_exception=False)


@pytest.mark.parametrize("x", [0.0, 1.0, -3.5, 1e5])
def test_ordinary_inputs_say_nothing(x):
    report, said = _checked(_double, [[x, 0.5]])
    assert report.ok and not said and not report.note


def test_the_input_named_is_the_large_one():
    report, said = _checked(lambda a, b, k: a * b * k, [[2.0], [1e12], np.array([3])])
    assert len(said) == 1 and "input 1 holds" in said[0]


def test_a_non_finite_entry_does_not_hide_a_large_one():
    _, said = _checked(lambda x: x * 2.0, [[np.inf, 1e12]])
    assert len(said) == 1 and "1e+12" in said[0]


def test_raise_on_failure_carries_the_note():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(GradcheckError, match="float64 numbers are .* apart"):
            cr.gradcheck(_double, [[1e12]], raise_on_failure=True)
