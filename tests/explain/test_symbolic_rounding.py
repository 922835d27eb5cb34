"""The sympy proof compares exactly: float64 rounding never turns a true identity into 'differs'.

The numbers of the layers above are written into the compared expressions as the exact rationals
the float64 values stand for, so sympy's derivative minus the chain rule's sum simplifies to 0,
not to a rounding crumb such as 7.4e-17*w_11. A genuine difference is still reported, and the
rendered section names it as a difference, never as "skipped".
"""

import numpy as np
import pytest

from chainrule.explainer import explain, render, sequential

sympy = pytest.importorskip("sympy")

from chainrule.explainer import symbolic  # noqa: E402

HEADING = "Why a sum, symbolically (sympy)"


def _section(d) -> str:
    return render(d, "text").split(HEADING)[1]


def _repro():
    m = sequential(
        [
            ([[-0.7, -0.5], [-0.3, 0.4]], [0.0, 0.0], "logistic"),
            ([[1.0], [-0.1]], [0.0], "identity"),
        ]
    )
    x = [[1.4, -0.7], [0.4, 0.9], [0.1, -0.7]]
    t = [[-0.9], [-0.5], [0.2]]
    return explain(m, x, t, "mse", symbolic=True)


def test_the_reported_regression_net_is_proved():
    d = _repro()
    s = d.symbolic
    assert s["status"] == "proved" and s["equal"] and s["difference"] == "0"
    assert s["value"] == pytest.approx(s["engine_value"], abs=1e-12)
    assert s["sum_value"] == pytest.approx(s["engine_value"], abs=1e-12)
    section = _section(d)
    assert "skipped" not in section and "DIFFER" not in section
    assert "sympy simplifies their difference to 0" in section


def test_the_shown_expressions_keep_the_network_s_numbers_as_decimals():
    s = _repro().symbolic
    assert "0.9" in s["E"]  # the target -0.9, not -8106479329266893/9007199254740992
    assert "9007199254740992" not in s["E"] + s["derivative"]


@pytest.mark.parametrize("seed", range(8))
def test_random_small_regression_nets_are_proved(seed):
    rng = np.random.default_rng(seed)
    sizes = [2, 3, 2]
    layers = [
        (rng.uniform(-1, 1, (a, b)).round(1).tolist(), rng.uniform(-1, 1, b).round(1).tolist(), act)
        for a, b, act in zip(sizes, sizes[1:], ["logistic", "identity"])
    ]
    x = rng.uniform(-1, 1, (3, sizes[0])).round(1).tolist()
    t = rng.uniform(-1, 1, (3, sizes[-1])).round(1).tolist()
    d = explain(sequential(layers), x, t, "mse", symbolic=True)
    s = d.symbolic
    assert s["status"] == "proved", s["difference"]
    assert s["difference"] == "0" and s["equal"]
    assert s["value"] == pytest.approx(s["engine_value"], abs=1e-12)
    assert "sympy simplifies their difference to 0" in _section(d)


def test_exact_comparison_still_sees_a_tiny_genuine_difference():
    """Exactness does not hide a real difference, however small it is."""
    w, y = sympy.symbols("w_11 y_1")
    exact = symbolic._exact
    wrong = exact(0.1) * w * y - (exact(0.1) + sympy.Rational(1, 10**20)) * w * y
    difference, method = symbolic._difference(wrong, [w, y])
    assert difference != 0 and method == "simplify"
    right = exact(0.1) * w * (y + exact(0.3)) - (exact(0.1) * w * y + exact(0.1) * exact(0.3) * w)
    assert symbolic._difference(right, [w, y])[0] == 0


def test_a_wrong_sum_is_reported_as_differing_and_rendered_as_a_difference(monkeypatch):
    """With the sum formula deliberately broken (one term of sum_j w_ij dE/dz_j left out), the
    proof says 'differs' and the text names the difference instead of calling the mode skipped."""

    def missing_a_term(E_of_z, W, Z, at_z, unit):
        return sum(W[unit, j] * sympy.diff(E_of_z, Z[j]).subs(at_z) for j in range(len(Z) - 1))

    monkeypatch.setattr(symbolic, "_sum_form", missing_a_term)
    m = sequential(
        [
            ([[-0.7, -0.5], [-0.3, 0.4]], [0.0, 0.0], "logistic"),
            ([[1.0, 0.5], [-0.1, 0.2]], [0.0, 0.0], "identity"),
        ]
    )
    d = explain(m, [[1.4, -0.7]], [[-0.9, 0.3]], "mse", symbolic=True)
    s = d.symbolic
    assert s["status"] == "differs" and not s["equal"] and s["difference"] != "0"
    assert s["value"] == pytest.approx(s["engine_value"], abs=1e-12)
    assert s["sum_value"] != pytest.approx(s["value"], abs=1e-6)
    section = _section(d)
    assert "skipped" not in section
    assert "THEY DIFFER" in section and s["difference"] in section


def test_skipped_is_only_for_a_mode_that_did_not_run():
    d = _repro()
    d.symbolic = {"status": "skipped", "message": "symbolic mode needs sympy"}
    section = _section(d)
    assert "symbolic mode needs sympy" in section and "DIFFER" not in section


def _bce_unit(weight: float):
    from chainrule import nn

    net = nn.Sequential(nn.Linear(1, 1, dtype="float64"))
    net[0].weight.data[...] = [[weight]]
    net[0].bias.data[...] = 0
    return explain(net, [[1.0]], [[0.0]], "binary-cross-entropy", symbolic=True, unit="0:1")


@pytest.mark.parametrize("weight", [15.0, 30.0, 40.0, 60.0])
def test_the_substituted_numbers_are_exact_at_a_confident_output(weight):
    """dE/dx of softplus(w x) at x = 1 is w sigma(w). With the numbers substituted as 53-bit
    Floats, 1 - sigma(w) cancelled: 30 gave 30.03, and 40 a complex number (a crash)."""
    d = _bce_unit(weight)
    expected = weight / (1 + np.exp(-weight))
    assert d.symbolic["value"] == pytest.approx(expected, rel=1e-14)
    assert d.symbolic["sum_value"] == pytest.approx(expected, rel=1e-14)
    assert d.symbolic["status"] == "proved"


def test_an_engine_value_rounding_left_far_from_the_exact_one_is_said_so():
    """A saturated hidden unit: the engine's float64 dE/dy is half the exact one (y(1 - y)
    rounds), which the section printed as "both give 7.44e-42 (engine: 3.72e-42)" and
    nothing more. The oracle: the same numbers in mpmath at 50 digits."""
    from chainrule import nn

    mpmath = pytest.importorskip("mpmath")
    net = nn.Sequential(nn.Linear(1, 2, dtype="float64"), nn.Logistic(),
                        nn.Linear(2, 2, dtype="float64"), nn.Softmax())  # fmt: skip
    net[0].weight.data[...] = [[1.0, -1.0]]
    net[0].bias.data[...] = 0
    w = np.array([[50.0, -50.0], [0.5, 0.2]])
    net[2].weight.data[...] = w
    net[2].bias.data[...] = 0
    t = np.array([0.0, 1.0])
    d = explain(net, [[30.0]], [t], "squared-error", symbolic=True, unit="1:1")
    mpmath.mp.dps = 50
    y = [mpmath.mpf(float(v)) for v in d.layers[1].y[0]]
    z = [sum(y[a] * mpmath.mpf(w[a, j]) for a in range(2)) for j in range(2)]
    s = [mpmath.exp(v) / sum(mpmath.exp(u) for u in z) for v in z]
    dE_ds = [s[j] - mpmath.mpf(t[j]) for j in range(2)]
    inner = sum(s[k] * dE_ds[k] for k in range(2))
    dE_dz = [s[j] * (dE_ds[j] - inner) for j in range(2)]
    exact = float(sum(mpmath.mpf(w[0, j]) * dE_dz[j] for j in range(2)))
    assert d.symbolic["value"] == pytest.approx(exact, rel=1e-12)
    engine = d.symbolic["engine_value"]
    off = abs(engine - exact) / abs(exact)
    assert off > 0.1  # the engine's value is far off: what the text must say
    assert f"off from the exact one by {off:.2g} of it" in _section(d)
    assert "off from the exact one" not in _section(_bce_unit(2.0))  # a value rounding left alone
