"""A number is parenthesised once, where it needs it, in every format: a softmax unit's tiny
negative dE/dz gap was printed 0.9991·((-1.211e-06)), a tanh unit's negative y as
((-0.4178))^2 in LaTeX, and a group opening on a negative number as ((-0.5) − 0.3).

The oracles: each printed step is read back (text and LaTeX, as Python arithmetic) and compared
with the quantity's closed form computed here in NumPy from the model's weights, and with the
engine's number the derivation holds."""

import re

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import explain, render
from chainrule.explainer.notation import Math, num

#: "((" opening on a number: a number wrapped twice, or a group whose own parenthesis already
#: sets its first number's sign apart (text and LaTeX spell both alike)
DOUBLED = re.compile(r"\(\s*\(\s*-?\d")
#: the same in MathML: two opening parentheses, then a number (or its sign)
DOUBLED_MATHML = re.compile(r"&#x00028;</mo><mo[^>]*>&#x00028;</mo>(<mrow>)?<m[no]>(&#x02212;|\d)")


def _read_text(step: str) -> float:
    """A text step (0.9991·(-1.211e-06), −(-0.5 − 0.3), (1 − (-0.4178)²)·0.03) as Python."""
    python = step.replace("·", "*").replace("−", "-").replace("²", "**2")
    return float(eval(python, {"__builtins__": {}, "min": min, "max": max}))  # noqa: S307


def _read_latex(step: str) -> float:
    """A LaTeX step (0.9991\\cdot(-1.211\\times 10^{-6}), \\max(...)) as Python."""
    python = re.sub(r"\\times 10\^\{(-?\d+)\}", r"e\1", step)
    python = python.replace(r"\cdot", "*").replace("^2", "**2")
    python = re.sub(r"\\frac\{(\d+)\}\{(\d+)\}", r"(\1/\2)", python)
    python = python.replace(r"\max", "max").replace(r"\min", "min")
    return float(eval(python, {"__builtins__": {}, "min": min, "max": max}))  # noqa: S307


def _text_step(text: str, lhs: str, nth: int = 0) -> str:
    """The step with numbers after ``lhs =`` in the text format (the ``nth`` such line)."""
    lines = [line for line in text.splitlines() if f"{lhs} = " in line]
    steps = [line.split(f"{lhs} = ", 1)[1].strip() for line in lines]
    return [s for s in steps if re.search(r"\d", s)][nth]


def _latex_step(latex: str, lhs: str, nth: int = 0) -> str:
    """The step with numbers after ``lhs &=`` in the LaTeX format (the ``nth`` such line)."""
    steps = [
        line.split(f"{lhs} &= ", 1)[1].removesuffix(r"\\").strip()
        for line in latex.splitlines()
        if f"{lhs} &= " in line
    ]
    return [s for s in steps if re.search(r"\d", s)][nth]


def _assert_wrapped_once(d) -> None:
    for fmt in ("text", "markdown", "latex"):
        for notation in ("hinton", "rhw", "matrix"):
            out = render(d, fmt, notation=notation)
            doubled = [line.strip() for line in out.splitlines() if DOUBLED.search(line)]
            assert not doubled, (fmt, notation, doubled[:3])
    page = render(d, "html")
    assert not DOUBLED_MATHML.search(page), DOUBLED_MATHML.search(page)[0]
    assert not DOUBLED.search(" ".join(re.findall(r'alttext="([^"]*)"', page)))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- the reported line: a softmax top layer's dE/dz whose gap is one tiny negative number -------


def test_a_softmax_units_tiny_negative_gap_is_parenthesised_once_and_reads_back():
    """dE/dy_1 = y_1 − 1 lies within 4 digits of Σ_k y_k dE/dy_k, so the gap is printed as its
    own number, which num() parenthesised and the step wrapped again: 0.9991·((-1.211e-06))."""
    model = nn.Sequential(nn.Linear(2, 3, rng=0, dtype="float64"), nn.Softmax())
    W = np.array([[4.0, -2.0, -1.0], [3.0, -1.0, -2.0]])
    model[0].weight.data[...] = W
    x, t = np.array([[1.0, 0.5]]), np.array([[1.0, 0.0, 0.0]])
    d = explain(model, x, t, "squared-error")
    # closed form: E = 1/2 sum (y - t)^2 over a softmax, dE/dz_j = y_j (dE/dy_j - sum_k y_k dE/dy_k)
    y = _softmax(x @ W + model[0].bias.data)[0]
    dy = y - t[0]
    gap = dy - y @ dy
    dz = y * gap
    assert gap[0] < 0 and abs(gap[0]) < 1e-4  # the tiny negative gap the report is about
    np.testing.assert_allclose(d.layers[1].dE_dz[0], dz, rtol=1e-9)

    text, latex = render(d, "text"), render(d, "latex")
    step = _text_step(text, "∂E/∂z_1")
    assert step == f"{y[0]:.4g}·({gap[0]:.4g})"  # one pair of parentheses, num()'s
    assert _read_text(step) == pytest.approx(dz[0], rel=2e-3)
    assert _read_latex(_latex_step(latex, r"\frac{\partial E}{\partial z_{1}}")) == pytest.approx(
        dz[0], rel=2e-3
    )
    for j in (1, 2):  # the other units' gaps are differences, in one pair of parentheses
        assert _read_text(_text_step(text, f"∂E/∂z_{j + 1}")) == pytest.approx(dz[j], rel=2e-3)
    _assert_wrapped_once(d)


# -- a tanh unit's y as a power's base: negative, and tiny (scientific) -------------------------


def test_a_tanh_units_y_is_squared_with_one_pair_of_parentheses_in_latex():
    """LaTeX wrote (1 - ((-0.4178))^2); a bare 1.2\\times 10^{-5}^2 would not compile, so a
    number in scientific notation keeps one pair as the base of a power."""
    model = nn.Sequential(
        nn.Linear(2, 2, rng=0, dtype="float64"), nn.Tanh(), nn.Linear(2, 2, rng=1, dtype="float64")
    )
    x, t = np.array([[-1.0, 2.0]]), np.array([[0.5, 0.1]])
    W1, b1 = model[0].weight.data, model[0].bias.data
    b1[1] = 1.2e-5 - (x @ W1)[0, 1]  # unit 2's z (and y) about 1.2e-05
    d = explain(model, x, t, "squared-error")
    # closed form: dE/dz_i = (1 - y_i^2) sum_j w_ij (out_j - t_j) for a linear output layer
    y1 = np.tanh(x @ W1 + b1)
    out = y1 @ model[2].weight.data + model[2].bias.data
    dz1 = (1 - y1**2) * ((out - t) @ model[2].weight.data.T)
    assert y1[0, 0] < 0 and 0 < y1[0, 1] < 1e-4
    np.testing.assert_allclose(d.layers[1].dE_dz, dz1, rtol=1e-9)

    latex, text = render(d, "latex"), render(d, "text")
    for u in range(2):
        lhs = rf"\frac{{\partial E}}{{\partial z_{{{u + 1}}}}}"
        step = _latex_step(latex, lhs, nth=1)  # the hidden layer's (the output's comes first)
        assert step.startswith("(1 - ") and "((" not in step and "}^2" not in step, step
        assert _read_latex(step) == pytest.approx(dz1[0, u], rel=2e-3)
        assert _read_text(_text_step(text, f"∂E/∂z_{u + 1}", nth=1)) == pytest.approx(
            dz1[0, u], rel=2e-3
        )
    assert r"(1 - (1.2\times 10^{-5})^2)" in latex
    _assert_wrapped_once(d)


# -- a group that opens on a negative number: its parenthesis sets the sign apart ---------------


def _linear_top(weights: np.ndarray) -> nn.Sequential:
    model = nn.Sequential(nn.Linear(2, 2, rng=0, dtype="float64"))
    model[0].weight.data[...] = weights
    model[0].bias.data[...] = 0.0
    return model


X = np.array([[1.0, 0.5]])
W_NEGATIVE = np.array([[-3.0, 0.4], [-2.0, 0.2]])  # output 1 about -4, output 2 about 0.5


@pytest.mark.parametrize(
    ("loss", "t", "dE_dy"),
    [
        # closed forms of dE/dy for one case of two outputs y, targets t
        ("squared-error", np.array([[-0.5, 0.3]]), lambda y, t, loss: y - t),
        ("mse", np.array([[1.0, 0.3]]), lambda y, t, loss: 2 / y.size * (y - t)),
        (
            nn.MarginSquaredError(),
            np.array([[1.0, 0.0]]),
            lambda y, t, loss: np.where(
                t > 0.5, np.minimum(y - loss.on, 0), np.maximum(y - loss.off, 0)
            ),
        ),
    ],
    ids=["squared-error", "mse", "margin"],
)
def test_a_group_opening_on_a_negative_number_has_one_pair_there(loss, t, dE_dy):
    """−((-0.5) − (-4)), (2/2)·((-4) − 1), min((-4) − 0.9, 0): each number once, the group's
    parenthesis in place of the leading number's own."""
    model = _linear_top(W_NEGATIVE)
    d = explain(model, X, t, loss)
    y = X @ W_NEGATIVE
    expected = dE_dy(y, t, loss if isinstance(loss, nn.MarginSquaredError) else None)
    np.testing.assert_allclose(d.layers[1].dE_dy, expected, rtol=1e-12)
    text, latex = render(d, "text"), render(d, "latex")
    for u in range(2):
        step = _text_step(text, f"∂E/∂y_{u + 1}")
        assert _read_text(step) == pytest.approx(expected[0, u], rel=2e-3, abs=1e-12), step
        lhs = rf"\frac{{\partial E}}{{\partial y_{{{u + 1}}}}}"
        assert _read_latex(_latex_step(latex, lhs)) == pytest.approx(
            expected[0, u], rel=2e-3, abs=1e-12
        )
    _assert_wrapped_once(d)


def test_a_softmax_step_whose_difference_opens_on_a_negative_number():
    """0.3401·((-0.6599) − (-0.004265)) is written 0.3401·(-0.6599 − (-0.004265))."""
    model = nn.Sequential(nn.Linear(2, 3, rng=0, dtype="float64"), nn.Softmax())
    W = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]])
    model[0].weight.data[...] = W
    x, t = np.array([[1.0, -0.5]]), np.array([[1.0, 0.0, 0.0]])
    d = explain(model, x, t, "squared-error")
    y = _softmax(x @ W + model[0].bias.data)[0]
    dy = y - t[0]
    dz = y * (dy - y @ dy)
    assert dy[0] < 0  # unit 1's difference opens on its negative dE/dy
    text = render(d, "text")
    step = _text_step(text, "∂E/∂z_1")
    assert step.startswith(f"{y[0]:.4g}·({dy[0]:.4g} - "), step
    for j in range(3):
        assert _read_text(_text_step(text, f"∂E/∂z_{j + 1}")) == pytest.approx(dz[j], rel=2e-3)
    _assert_wrapped_once(d)


# -- the helper itself ---------------------------------------------------------------------------


def test_grouped_parenthesises_each_number_once():
    from chainrule.explainer.notation import grouped  # the one helper (new: imported here)

    minus = Math(" − ", " - ")
    assert grouped(num(-8.244e-05)).plain == "(-8.244e-05)"
    assert grouped(num(8.244e-05)).plain == "8.244e-05"  # a positive factor needs none
    assert grouped(num(-0.5), minus, num(-0.25)).plain == "(-0.5 − (-0.25))"
    assert grouped(num(-0.5), minus, num(-0.25)).latex == "(-0.5 - (-0.25))"
    assert grouped(num(2.0), power=True).latex == "2"
    assert grouped(num(1.2e-5), power=True).latex == r"(1.2\times 10^{-5})"
    assert grouped(num(-1.2e-5), power=True).latex == r"(-1.2\times 10^{-5})"
    # a final value's bare negative spelling is not a factor as it is
    assert grouped(num(-0.5, paren=False)).plain == "(-0.5)"
