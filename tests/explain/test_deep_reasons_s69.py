"""What the finite-difference check says of a deep network's gradients is true of it.

1. E's rounding over the step is a worst-case bound (every unit's terms and dE/dz size carried
   down as if nothing cancelled), which grows with depth: a 30-layer tanh net's no-verdict
   reason said "E and the sums the difference reruns (of size 6.6e+07) are rounded by about
   2.9e-08" where E was 2.4 and no sum was near 6.6e7. It now says what the number is, and
   where it is far above what the engine's own gradients make of it, that a deep network's
   lower layers get no verdict from it alone.
2. Deep He-init relu nets: every dE/dw was left out "at a kink" for the rounding of z, a bound
   of 3.1 beside |z| of 0.55, none within a step of its kink. The note now says the bound is
   worst-case and grows with depth, and how many were left out for it alone.
3. A float32 logistic net whose gradients underflow: "0.37·(-1.4e-45) + ... = 5.2e-46 + ... = 0"
   was said to be "the gradient is 0, or too small", and the layers below "every term is
   exactly 0", never underflow (float64: 6.8e-56, not 0). The reason now names it.

The checks' verdicts are not touched: the counts of ok, no-verdict and skipped checks are
asserted against the arrays they come from.
"""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import render

FLOAT32_TINY, FLOAT32_SUBNORMAL = 1.1754943508222875e-38, 1.401298464324817e-45


def _deep(depth, width, unit, weights, biases, dtype, x, t):
    """``depth`` Linear(width, width) + ``unit`` layers, with the weights and biases given."""
    modules = []
    for k in range(depth):
        linear = nn.Linear(width, width)
        linear.weight.data = weights[k]
        linear.bias.data = biases[k]
        modules += [linear, unit()]
    model = nn.Sequential(*modules).to(dtype=dtype)
    return cr.explain(model, x, t, symbolic=False, perturbation=False)


def _verdicts(d):
    """(ok, no verdict, skipped) counted on the checks (the skipped by the kink note), and the
    same from the arrays."""
    checks = d.all_checks()
    notes = [note for note in d.check_notes if "kink" in note]
    counted = (
        sum(bool(c.ok) and not c.unresolved for c in checks),
        sum(c.unresolved for c in checks),
        int(notes[0].split()[0]) if notes else 0,
    )
    ok = unresolved = skipped = 0
    pairs = [(("dE_dy", r.index), r.dE_dy, r.dE_dy_numeric, r.dE_dy_kink) for r in d.layers]
    pairs += [(("dE_dz", r.index), r.dE_dz, r.dE_dz_numeric, r.dE_dz_kink) for r in d.layers]
    for c in d.connections:
        pairs += [(("dE_dw", c.below), c.dE_dw, c.dE_dw_numeric, c.dE_dw_kink)]
        pairs += [(("dE_db", c.below), c.dE_db, c.dE_db_numeric, c.dE_db_kink)]
    for quantity, values, numerics, kinks in pairs:
        if values is None:
            continue
        skipped += 0 if kinks is None else int(kinks.sum())
        if numerics is None:
            continue
        tolerance = d.entry_atols(quantity, numerics) + d.rtol * np.abs(numerics)
        taken = ~np.isnan(numerics)
        agree = taken & (np.abs(values - np.nan_to_num(numerics)) <= tolerance)
        small = taken & (np.abs(np.nan_to_num(numerics)) <= tolerance)
        ok += int((agree & ~small).sum())
        unresolved += int((agree & small).sum())
    return counted, (ok, unresolved, skipped)


# -- 1. E's rounding is a worst-case bound ----------------------------------------------------
@pytest.fixture(scope="module")
def deep_tanh():
    """20 tanh layers of 16, weights N(0, 0.25^2), float64, one case: E about 2.7, the first
    layers' bound of E's rounding above 1e10."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((16, 16)) * 0.25 for _ in range(20)]
    biases = [0.1 * rng.standard_normal(16) for _ in range(20)]
    x, t = rng.standard_normal((1, 16)), rng.random((1, 16))
    d = _deep(20, 16, nn.Tanh, weights, biases, "float64", x, t)
    return d, weights, biases, x, t


def _tanh_E(weights, biases, x, t):
    h = x
    for w, b in zip(weights, biases, strict=True):
        h = np.tanh(h @ w + b)
    return 0.5 * float(((h - t) ** 2).sum())


def test_the_rounding_reason_calls_its_number_a_bound_that_grows_with_depth(deep_tanh):
    d, weights, biases, x, t = deep_tanh
    check = d.dE_dw(0, 0, 0)
    assert check.unresolved
    why = check.no_verdict_reason
    parts = d.tolerance_parts(("dE_dw", 0), (0, 0))
    assert why.startswith("the step 1e-06 is swallowed by E's rounding")
    rounded = 2 * 2.0**-52 * parts.size
    assert f"can move E by at most about {rounded:.2g}" in why
    assert f"twice its epsilon times {parts.size:.2g}" in why
    assert "as if none of them cancelled, so it grows with depth" in why
    assert "the sums the difference reruns (of size" not in why  # no sum is that large
    # the bound against E: 1e10 times it, and against the engine's own gradients' sizes
    error = _tanh_E(weights, biases, x, t)
    assert d.error == pytest.approx(error, rel=1e-12)
    assert parts.size > 1e9 * error
    assert f"the bound is {parts.size / error:.2g} times |E| = {error:.2g}" in why
    own = error + float(np.abs(d.layers[-1].dE_dy * d.layers[-1].y).sum())
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        terms = np.abs(d.layers[k].y) @ np.abs(w) + np.abs(b)
        own += float((np.abs(d.layers[k + 1].dE_dz) * terms).sum())
    assert f"in place of its carried sizes it would be {own:.2g}:" in why
    assert "a deep network's lower layers get no verdict from this check for that bound" in why
    assert "cr.gradcheck, or a float64 comparison with torch" in why
    # and the engine's value is right: a central difference of the closed form, by hand
    w = [v.copy() for v in weights]
    h = 1e-4
    w[0][0, 0] += h
    up = _tanh_E(w, biases, x, t)
    w[0][0, 0] -= 2 * h
    down = _tanh_E(w, biases, x, t)
    assert check.value == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-9)


def test_the_top_layers_are_checked_and_the_verdicts_match_the_arrays(deep_tanh):
    d = deep_tanh[0]
    counted, from_arrays = _verdicts(d)
    assert counted == from_arrays
    ok, unresolved, skipped = counted
    assert ok > 0 and unresolved > 0 and skipped == 0 and d.all_ok is True
    top = d.dE_dw(19, 0, 0)  # the top layer's bound is not far above: a verdict
    assert top.ok and not top.unresolved
    text = render(d, "text")
    assert "for that bound alone" in text


def test_terms_that_do_cancel_are_not_called_a_deep_networks_bound():
    """Sums of +-1e9 that cancel to 0.1 (three layers): the rounding is the sums' own, and the
    reason says no more than that."""
    model = nn.Sequential(
        nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Logistic(), nn.Linear(2, 1), nn.Logistic()
    ).to(dtype="float64")
    params = [([[1e9, 0.0], [0.0, 1e9]], [0, 0]), ([[1.0, -2.0], [-1.0, 2.0]], [0.1, 0.2]),
              ([[1.0], [-1.0]], [0.0])]  # fmt: skip
    for layer, (w, b) in zip((model[0], model[2], model[4]), params, strict=True):
        layer.weight.data = np.array(w, dtype=np.float64)
        layer.bias.data = np.array(b, dtype=np.float64)
    d = cr.explain(model, [[1.0, 1.0]], [[1.0]], symbolic=False, perturbation=False)
    reasons = [c.no_verdict_reason for c in d.all_checks() if c.unresolved]
    assert reasons and any("swallowed by E's rounding" in why for why in reasons)
    assert not any("for that bound alone" in why for why in reasons)


# -- 2. relu kinks left out for the rounding of z's bound --------------------------------------
@pytest.fixture(scope="module")
def deep_relu():
    """30 relu layers of 8, He init (weights N(0, 2/8)), float64, three cases."""
    rng = np.random.default_rng(0)
    weights, biases = [], []
    for _ in range(30):
        weights.append(rng.standard_normal((8, 8)) * np.sqrt(2 / 8))
        biases.append(0.1 * rng.standard_normal(8))
    x, t = rng.standard_normal((3, 8)), rng.random((3, 8))
    return _deep(30, 8, nn.ReLU, weights, biases, "float64", x, t), weights, x


def test_the_kink_note_says_the_rounding_is_a_bound_and_how_many_it_alone_left_out(deep_relu):
    d, weights, x = deep_relu
    (note,) = [note for note in d.check_notes if "kink" in note]
    kinked = _verdicts(d)[1][2]  # from the kink arrays
    assert kinked > 0
    assert note.startswith(f"{kinked} gradients were not checked by finite differences")
    # every relu unit's z is far from 0 against the most a step of 1e-6 moves it (each step
    # moves z by at most eps, times the inputs and |w| it passes: under 1e-4 here)
    zs = np.concatenate([np.abs(r.z).ravel() for r in d.layers[1:]])
    reach = 1e-6 * (1 + 8 + max(np.abs(w).sum(axis=0).max() for w in weights))
    assert zs.min() > 10 * reach
    # so every one left out was left out for the rounding's bound alone
    assert "The model dtype's rounding of z used there is a worst-case bound" in note
    assert "which grows with depth" in note
    assert f"{kinked} of these gradients were left unchecked for that bound alone" in note
    assert "beyond any step's move but within the bound" in note
    # and the engine's values there are right: the first weight's, by a float64 difference
    w = [v.copy() for v in weights]

    def E():
        h = x
        for k, layer in enumerate(w):
            h = np.maximum(h @ layer + d.connections[k].bias, 0.0)
        return 0.5 * float(((h - d.loss_targets) ** 2).sum())

    assert d.connections[0].dE_dw_kink[0, 0]
    w[0][0, 0] += 1e-6
    up = E()
    w[0][0, 0] -= 2e-6
    down = E()
    assert d.dE_dw(0, 0, 0).value == pytest.approx((up - down) / 2e-6, rel=1e-6, abs=1e-9)


def test_the_kink_counts_match_the_arrays(deep_relu):
    d = deep_relu[0]
    counted, from_arrays = _verdicts(d)
    assert counted == from_arrays
    # every weight is left out (as before: the note's words changed, not which are left out)
    assert all(c.dE_dw_kink.all() for c in d.connections)


def test_a_unit_at_its_kink_is_no_bounds_doing():
    """A relu unit whose z is exactly 0: its checks are left out for the kink, and the note
    says nothing of a bound."""
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).to(dtype="float64")
    model[0].weight.data = np.array([[1.0, 0.5], [-0.5, 0.5]])
    model[0].bias.data = np.array([0.0, 0.1])
    model[2].weight.data = np.array([[0.7], [0.3]])
    model[2].bias.data = np.array([0.0])
    x = np.array([[0.5, 1.0]])  # z_1 = 0.5 - 0.5 = 0 exactly
    d = cr.explain(model, x, [[1.0]], symbolic=False, perturbation=False)
    assert d.layers[1].z[0, 0] == 0
    (note,) = [note for note in d.check_notes if "kink" in note]
    assert "its kink" in note and "bound" not in note


# -- 3. float32 underflow ---------------------------------------------------------------------
def _logistic(dtype):
    """20 logistic layers of 4, weights U(-0.012, 0.012), biases U(-0.5, 0.5): each layer
    scales dE/dz by about 0.25 * 0.012 * 4, so layer 5's float32 dE/dz are subnormal and the
    layers below 0."""
    rng = np.random.default_rng(0)
    weights, biases = [], []
    for _ in range(20):
        weights.append(rng.uniform(-0.012, 0.012, (4, 4)))
        biases.append(rng.uniform(-0.5, 0.5, 4))
    x, t = rng.standard_normal((1, 4)), rng.random((1, 4))
    return _deep(20, 4, nn.Logistic, weights, biases, dtype, x, t), weights, biases, x, t


@pytest.fixture(scope="module")
def underflowing():
    return _logistic("float32")


def _true_dE_dz(weights, biases, x, t):
    """dE/dz of every layer in float64, by hand (logistic units, squared error)."""
    ys = [np.asarray(x, dtype=np.float64)]
    for w, b in zip(weights, biases, strict=True):
        ys.append(1 / (1 + np.exp(-(ys[-1] @ w + b))))
    dz = (ys[-1] - t) * ys[-1] * (1 - ys[-1])
    out = [dz]
    for k in range(len(weights) - 1, 0, -1):
        dz = (dz @ weights[k].T) * ys[k] * (1 - ys[k])
        out.append(dz)
    return out[::-1]  # layer 1 first


def test_a_sum_of_terms_that_underflowed_is_said_to_have_underflowed(underflowing):
    d, weights, biases, x, t = underflowing
    assert d.dtype == "float32"
    found = []
    for layer in range(1, d.n_layers):
        for unit in range(4):
            check = d.dE_dy(layer, unit)
            terms = [term.product for term in d.terms(layer, unit)]
            if check.value == 0 and any(terms):  # the engine's 0 from terms that are not 0
                found.append((check, math.fsum(terms)))
    assert found
    for check, total in found:
        assert abs(total) < FLOAT32_TINY
        why = check.no_verdict_reason
        assert f"its terms, not 0 in float64 (they come to {total:.3g})" in why
        assert "float32's smallest normal number is 1.2e-38, its smallest subnormal 1.4e-45" in why
        assert why.endswith("they underflowed to 0, far too small for the step to move E")
        assert "in float32 they underflowed" in why
    # the truth in float64: no gradient of the network is 0
    true = _true_dE_dz(weights, [np.asarray(b, np.float64) for b in biases], x, t)
    assert all(np.all(dz != 0) for dz in true)
    assert np.abs(true[0]).max() < FLOAT32_SUBNORMAL / 2  # layer 1's: below even a subnormal


def test_the_layers_under_a_subnormal_one_name_the_underflow(underflowing):
    d = underflowing[0]
    subnormal = [
        r.index
        for r in d.layers[1:]
        if np.any(r.dE_dz != 0) and np.all(np.abs(r.dE_dz) < FLOAT32_TINY)
    ]
    zero = [r.index for r in d.layers[1:] if np.all(r.dE_dz == 0)]
    assert zero == list(range(1, len(zero) + 1)) and min(subnormal) == len(zero) + 1
    # the weights into layer 1, whose dE/dz are all 0: the first layer above with any that
    # are not is all subnormal
    why = d.dE_dw(0, 0, 0).no_verdict_reason
    assert "∂E/∂z_1 is exactly 0, so ∂E/∂w_11 = y_1 ∂E/∂z_1 = 0" in why
    top = d.layers[len(zero) + 1].dE_dz
    assert f"layer {len(zero) + 1}'s ∂E/∂z_" in why
    assert f"are subnormal (at most {np.abs(top).max():.2g})" in why
    assert "float32's smallest normal number is 1.2e-38" in why
    assert why.endswith("they underflowed to 0, and so did every gradient below")
    below = d.dE_dy(1, 0).no_verdict_reason
    assert "every term" in below and "underflowed to 0, and so did every gradient below" in below


def test_underflow_is_in_the_write_up_and_the_verdicts_match_the_arrays(underflowing):
    d = underflowing[0]
    counted, from_arrays = _verdicts(d)
    assert counted == from_arrays
    text = render(d, "text")
    assert "underflowed to 0" in text and "below float32's range" in text


def test_float64_names_no_underflow():
    """The same network in float64: its gradients of 1e-50 are normal numbers."""
    d = _logistic("float64")[0]
    assert all(np.all(r.dE_dz != 0) for r in d.layers[1:])
    reasons = [c.no_verdict_reason for c in d.all_checks() if c.unresolved]
    assert reasons and not any("underflow" in why for why in reasons)
