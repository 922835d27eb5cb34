"""QA fixes of the explainer: a loss given with the seed network is refused, not ignored; zero
cases are refused by name; a relu unit at its kink (z = 0) is not judged a mismatch."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.explainer import ExplainError, explain, schema, sequential
from chainrule.explainer.paths import enumerate_paths
from chainrule.explainer.perturbation import central_dE_dy, perturbation_view
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


# -- the checks' options, a scalar class label, a focus that is not whole ------------------------
def _tanh_classifier():
    import chainrule as cr

    return cr.nn.mlp([3, 4, 3], activation="tanh", output=None, dtype=np.float64, rng=0)


CASES = np.array([[0.1, 0.2, 0.3], [1.0, 0.0, -1.0]])


@pytest.mark.parametrize("eps", [0, 0.0, -1e-6, float("nan"), float("inf"), True, "1e-6"])
def test_a_step_that_is_not_a_finite_positive_number_is_refused(eps):
    """eps=0 was a bare ZeroDivisionError in the finite differences; eps=-1e-6 was taken."""
    with pytest.raises(ExplainError, match=r"^explain: eps, .* finite number > 0, not ") as bad:
        explain(_tanh_classifier(), CASES, [2, 0], "cross-entropy", eps=eps)
    assert "\n" not in str(bad.value)


@pytest.mark.parametrize("max_checks", [0, -3, 2.0, True, None])
def test_max_checks_below_one_or_not_whole_is_refused(max_checks):
    """max_checks=0 checked no gradient and said only that a sample of 0 was checked."""
    with pytest.raises(ExplainError, match=r"^explain: max_checks, .* whole number >= 1, not "):
        explain(_tanh_classifier(), CASES, [2, 0], "cross-entropy", max_checks=max_checks)


def test_a_whole_step_and_numpy_numbers_are_taken():
    options = {"eps": np.float32(1e-5), "max_checks": np.int64(5)}
    d = explain(_tanh_classifier(), CASES, [2, 0], "cross-entropy", **options)
    assert d.eps == pytest.approx(1e-5) and any(
        "a sample of about 5 was" in note for note in d.notes
    )
    assert explain(_tanh_classifier(), CASES, [2, 0], "cross-entropy", eps=1).eps == 1


def test_one_cases_class_label_may_be_a_scalar():
    """Labels are allowed for cross-entropy, but a 0-d one for one case was refused as 'the
    target has shape () but the output layer expects 3 values per case'."""
    model, x = _tanh_classifier(), CASES[0]
    for label in (2, np.int64(2), 2.0, np.array(2)):
        d = explain(model, x, label, "cross-entropy")
        np.testing.assert_array_equal(d.t, [[0.0, 0.0, 1.0]])
        assert d.error == explain(model, x, [2], "cross-entropy").error
    with pytest.raises(ExplainError, match="labels must be whole numbers"):
        explain(model, x, 2.5, "cross-entropy")
    with pytest.raises(ExplainError, match=r"class labels \[3\] must lie in 0..2"):
        explain(model, x, 3, "cross-entropy")
    with pytest.raises(ExplainError, match=r"shape \(\) but .* a class label \(0..2\) per case"):
        explain(model, CASES, 2, "cross-entropy")  # one label for two cases


@pytest.mark.parametrize("unit", [(1, 2.9), (1, 2.0), (1.0, 2), (True, 1), ("1", 2)])
def test_a_focus_that_is_not_whole_numbers_is_refused(unit):
    """unit=(1, 2.9) focused on unit 2 (int() cut it), silently."""
    with pytest.raises(ExplainError, match=r"must be whole numbers") as bad:
        explain(unit=unit)
    assert f"unit {unit!r}" in str(bad.value)


@pytest.mark.parametrize("unit", [5, (1, 2, 3), (1,)])
def test_a_focus_that_is_not_a_pair_is_refused(unit):
    with pytest.raises(ExplainError, match=r"give \(LAYER, UNIT\) or 'LAYER:UNIT'"):
        explain(unit=unit)


def test_a_focus_of_numpy_integers_is_taken():
    assert explain(unit=(np.int64(1), np.int32(2))).focus == (1, 1)
    assert explain(unit=[1, 2]).focus == (1, 1)


def test_a_float16_model_is_refused_naming_the_conversion():
    """It was explained, and its JSON failed the documented schema (dtype float32 or float64);
    its rounding would fail right gradients too."""
    from chainrule import nn
    from chainrule.explainer import ExplainError, explain

    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    for p in model.parameters():  # nn refuses to build float16: cast by hand, as a model read
        p.data = p.data.astype("float16")  # from elsewhere may be
    with pytest.raises(ExplainError, match=r"the model is float16; .*model\.to\('float32'\)"):
        explain(model, [[1.0, 2.0]], [[1.0, 0.0]])
    assert explain(model.to("float32"), [[1.0, 2.0]], [[1.0, 0.0]]).all_ok


def _raw_feature_model(dtype: str):
    """A 3-4-2 logistic network as if trained on a raw feature of about 1e6: its weights on
    that input are about 1e-6, so every z is of ordinary size."""
    from chainrule import nn

    model = nn.mlp([3, 4, 2], output="logistic", dtype=dtype, rng=2)
    model[0].weight.data[0] *= 1e-6
    return model, [[1e6, 2.0, 3.0], [-5e5, 1.0, 0.5]], [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_raw_input_of_a_million_takes_steps_that_move_z_by_eps(dtype):
    """A weight's step of 1e-6 on an input of 1e6 moved z by 1: the difference of a curved E
    over so wide a step read a right dE/dw 15% off (SOME DISAGREE, in float64 too). The
    oracle: the same weight's difference with a step of 1e-12, by hand."""
    model, x, t = _raw_feature_model(dtype)
    d = explain(model, x, t)
    assert d.all_ok
    assert any("steps below eps" in note and "1e-12" in note for note in d.notes)
    w = model[0].weight.numpy().astype(np.float64)

    def error(w0):
        y = 1 / (1 + np.exp(-(np.array(x) @ w0 + model[0].bias.numpy())))
        out = 1 / (1 + np.exp(-(y @ model[2].weight.numpy() + model[2].bias.numpy())))
        return 0.5 * ((out - np.array(t)) ** 2).sum()

    plus, minus = w.copy(), w.copy()
    plus[0, 1] += 1e-12
    minus[0, 1] -= 1e-12
    by_hand = (error(plus) - error(minus)) / 2e-12
    assert d.dE_dw(0, 0, 1).numeric == pytest.approx(by_hand, rel=1e-6)
    rel = 1e-6 if dtype == "float64" else 1e-3
    assert d.dE_dw(0, 0, 1).value == pytest.approx(by_hand, rel=rel)


def test_each_quantity_has_the_tolerance_of_its_own_terms():
    """float32's tolerance was one atol for every quantity, sized by the largest terms of any:
    the first layer's dE/dw of a raw 1e6 input made it 0.06, and --bug assign's wrong dE/dy of
    the hidden layer (+0.0076 for -0.0229) passed the check. Every wrong row is caught now."""
    from chainrule import nn

    model = nn.mlp([3, 4, 2], output="logistic", rng=2)  # float32, weights of ordinary size
    d = explain(model, [[1e6, 2.0, 3.0]], [[1.0, 0.0]], bug="assign")
    hidden = d.dE_dy(1, 0)
    assert 100 * hidden.atol < d.dE_dw(0, 0, 0).atol  # the dE/dw that is x * dE/dz
    rows = d.bug.wrong_rows
    assert len(rows) == 10 and all(row.caught for row in rows)


@pytest.mark.parametrize("hidden", ["logistic", "tanh", "relu", "softmax"])
def test_a_weights_difference_by_one_units_move_is_a_full_rerun_of_the_network(hidden):
    """Forward.with_unit reruns only the layers above a moved weight (the next by a rank-one
    change): the oracle is the whole forward pass rerun with the weight itself moved."""
    from chainrule import nn
    from chainrule.explainer import numeric

    units = {"logistic": nn.Logistic, "tanh": nn.Tanh, "relu": nn.ReLU, "softmax": nn.Softmax}
    model = nn.Sequential(nn.Linear(3, 4, dtype="float64", rng=1), units[hidden](),
                          nn.Linear(4, 5, dtype="float64", rng=2), nn.Tanh(),
                          nn.Linear(5, 2, dtype="float64", rng=3))  # fmt: skip
    x = np.random.default_rng(0).normal(size=(3, 3))
    t = np.random.default_rng(1).random((3, 2))
    d = explain(model, x, t, "squared-error", check=False)
    arrays = numeric.arrays_of(d)
    forward = numeric.Forward(arrays, d.x, d.t, d.loss)
    for k in range(3):
        w = arrays[k][0]
        for i, j in [(0, 0), (w.shape[0] - 1, w.shape[1] - 1)]:
            for step in (1e-3, -1e-3):
                moved = w.copy()
                moved[i, j] += step
                changed = list(arrays)
                changed[k] = (moved, arrays[k][1], arrays[k][2])
                rerun = numeric.error_from(changed, d.t, d.loss, 0, d.x)
                z_j = forward.zs[k + 1][:, j] + step * forward.ys[k][:, i]
                assert forward.with_unit(k + 1, j, z_j) == pytest.approx(rerun, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda d: enumerate_paths(d, 1, -1), "enumerate_paths(1, -1, case=0): the unit of layer 1 "
                                           "must be 0 to 1"),
     (lambda d: enumerate_paths(d, 1, 0, case=-1), "enumerate_paths(1, 0, case=-1): the case "
                                                   "must be 0 to 0"),
     (lambda d: enumerate_paths(d, 1, 2), "the unit of layer 1 must be 0 to 1"),
     (lambda d: central_dE_dy(d, 1, 0, case=-1), "central_dE_dy(1, 0, case=-1): the case"),
     (lambda d: central_dE_dy(d, 1, 0, case=1), "the case must be 0 to 0"),
     (lambda d: perturbation_view(d, 1, 0.5), "the unit of layer 1 must be a whole number, "
                                              "not 0.5"),
     (lambda d: perturbation_view(d, 1, 5), "perturbation_view(1, 5, case=0): the unit of "
                                            "layer 1 must be 0 to 1 (2 units, counted from 0)"),
     (lambda d: perturbation_view(d, 2, 0), "the sums over j belong to layers 0 to 1")],
)  # fmt: skip
def test_the_paths_and_nudges_api_names_an_index_out_of_range(call, message):
    """enumerate_paths(d, 1, -1) gave unit 2's paths (Python wrapped the index) and the case
    was never checked; perturbation_view(d, 1, 0.5) raised NumPy's IndexError, and an API
    unit of 5 was answered as "unit 1:6 ... (1 to 2)", in the command line's counting."""
    d = explain(perturbation=False, check=False)
    with pytest.raises(ExplainError, match=re.escape(message)):
        call(d)


@pytest.mark.parametrize("sizes", [[3, -2, 2], [3, 0, 2], [3, 2.5, 2], [], [3], [3, True, 2]])
def test_path_counts_refuse_sizes_no_network_has(sizes):
    """[3, -2, 2] gave -4 paths per unit and a plot of negative operation counts."""
    from chainrule.explainer.paths import counts

    with pytest.raises(ExplainError, match=r"counts: sizes must be two or more whole numbers"):
        counts(sizes)
    assert counts([3, 2, 2])[0]["paths_per_unit"] == 4


def test_an_output_unit_as_the_focus_says_which_sections_are_left_out():
    """--unit 2:1 dropped the nudge and three-views sections without a word."""
    d = explain(unit="2:1")
    assert d.perturbation is None and d.views is None
    assert any("unit 2:1 is an output unit" in note and "layers 0 to 1" in note
               for note in d.notes)  # fmt: skip
    assert "unit 2:1 is an output unit" in render(d, "text")
    assert not any("output unit" in note for note in explain(unit="1:1").notes)


def test_inputs_of_1e300_leave_the_layers_above_checkable():
    """Every quantity's tolerance counted the rounding of every unit's z: inputs of 1e300 made
    them all infinite (the top's dE/dz of 0.1 passed any number) and --format json failed
    blaming overflowed numbers. A difference reruns only the layers from its quantity up: the
    top's tolerances stay small, and only the first layer's weights cannot be told."""
    import jsonschema

    from chainrule import nn
    from chainrule.explainer import to_json

    model = nn.mlp([2, 2, 3], output="logistic", rng=0, dtype="float64")
    d = explain(model, [[1e300, 1e300]], [[1.0, 0.0, 1.0]])
    assert d.all_ok
    for quantity in [("dE_dz", 2), ("dE_dy", 2), ("dE_dw", 1), ("dE_db", 1)]:
        assert d.quantity_atol[quantity] < 1e-6, quantity
    # the first layer's weights move z by 1e300 per step: their checks cannot be told (an
    # infinite tolerance, or one of 1e290 where the units' own slopes are 0), no verdict
    assert d.quantity_atol["dE_dw", 0] > 1e200
    assert all(d.dE_dw(0, i, j).unresolved for i in range(2) for j in range(2))
    document = json.loads(to_json(d))
    jsonschema.validate(document, schema())
    assert document["check"]["atol"] is None
    d.layers[-1].dE_dz[0, 1] += 0.01  # a wrong output dE/dz is caught
    assert not d.all_ok


def test_max_units_trims_the_views_and_the_perturbation_table_keeping_their_sums():
    """--max-units trimmed every section but these two: a 128-unit layer gave 128 path columns
    (lines of 1948 characters; a LaTeX table 368pt too wide) and 128 rows of terms. The rest
    is one column and one row, their sum, so each row still adds up to its total."""
    from chainrule import nn
    from chainrule.explainer import render

    model = nn.mlp([4, 5, 40, 3], rng=0, dtype="float64")
    d = explain(model, [[0.5, -1.0, 0.2, 0.9]], [[1.0, 0.0, 0.0]], unit=(1, 2))
    text = render(d, "text", max_units=3)
    views = text[text.index("One quantity, three views") :]
    sum_row = next(line for line in views.splitlines() if line.strip().startswith("4..40"))
    terms = [t["value"] for t in d.views["hinton"]["terms"]]
    assert float(sum_row.split()[1]) == pytest.approx(sum(terms[3:]), rel=1e-9)
    table = text[text.index("Perturbation view") :][:3000]
    header = next(line for line in table.splitlines() if "sum of paths" in line)
    assert re.findall(r"paths? \w=([\d.]+)", header) == ["1", "2", "3", "4..40"]
    assert max(len(line) for line in table.splitlines()[:6]) < 200  # it was 1948 at 128 units


def test_a_zero_product_is_written_0_not_minus_0():
    """y_j exactly 1 (a weight of 1e6): the views wrote -0 for (-w)·0, the perturbation table
    -0.000000e+00."""
    from chainrule import nn
    from chainrule.explainer import render

    model = nn.mlp([1, 2, 1], activation="tanh", output="logistic", rng=0, dtype="float64")
    model[2].weight.data[...] = [[1e6], [1.0]]  # y exactly 1: dE/dz = -0.0
    text = render(explain(model, [[1.0]], [[1.0]], nn.SquaredError()), "text")
    assert not re.search(r"(?<![\w.])-0(?![.\d])|-0\.0+e\+00", text)


def test_a_saturated_float32_tanh_units_slope_rounding_is_no_mismatch():
    """y = -0.99999976 in float32 leaves tanh's slope 1 - y^2 a fifth off, and the right dE/dy
    below it was flagged (SOME DISAGREE) once the tolerance no longer counted every layer's
    rounding; a slope computed from a rounded y now counts its own. The oracle for the value:
    the float64 forward pass of the same float32 numbers."""
    from chainrule import nn

    model = nn.mlp([2, 1, 1], activation="logistic", output="tanh", rng=0, dtype="float32")
    weights = {"0.weight": [[-0.18314414], [-3.4850972]], "0.bias": [-4.324275],
               "2.weight": [[-3.601032]], "2.bias": [-4.283181]}  # fmt: skip
    model.load_state_dict({k: np.array(v, dtype=np.float32) for k, v in weights.items()})
    d = explain(model, [[24.538174, -214.47359]], [[0.0042765425]], nn.MSE())
    assert d.all_ok
    check = d.dE_dy(1, 0)
    assert check.difference > 0.1 * abs(check.numeric)  # float32's own rounding, not a bug
    d.layers[1].dE_dy[0, 0] *= 2  # a wrong one still is one
    assert not d.all_ok


def test_a_logits_own_rounding_counts_in_its_difference():
    """Logits of 1.7e10: moving one by a step of 1e-6 is rounded relative to 1.7e10, and the
    right dE/dz (1/3) read 0.3166; the tolerance of a z counts that z's own rounding."""
    from chainrule import nn

    model = nn.mlp([3, 1, 3], activation="relu", rng=0, dtype="float32")
    weights = {"0.weight": [[10.863712], [83.26283], [-23.733658]], "0.bias": [-73.35968],
               "2.weight": [[98.206215, 95.84279, 96.72857]],
               "2.bias": [-45.248203, 126.37124, 79.01148]}  # fmt: skip
    model.load_state_dict({k: np.array(v, dtype=np.float32) for k, v in weights.items()})
    x = [[3555687.0, -8094765.0, 1973807.25], [-3009497.25, 1625774.5, -3214839.0],
         [-54053.66, 1032037.6, 1646071.9]]  # fmt: skip
    d = explain(model, x, [2, 0, 1], nn.CrossEntropy())
    # no false disagreement; and no pass either: against the rounding of such logits every
    # gradient is within the tolerance of 0 (all_ok None, no verdict)
    assert d.all_ok is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_graph_views_column_is_the_engines_in_either_dtype(dtype):
    """A float32 model's graph column showed 0.005667497839 beside the engine's 0.005667467602
    under "the same terms": the graph was recorded in float64. It is now recorded in the
    model's dtype, so the three columns print the same digits and need no caveat."""
    from chainrule import nn
    from chainrule.explainer import render

    model = nn.mlp([2, 3, 1], output="logistic", rng=0, dtype=dtype)
    d = explain(model, [[0.3, -1.2]], [[1.0]], unit=(1, 2))
    text = render(d, "text")
    assert "recorded in float64" not in text
    hinton = [term["value"] for term in d.views["hinton"]["terms"]]
    graph = [term["value"] for term in d.views["graph"]["consumers"]]
    assert len(graph) == len(hinton) == 1  # unit 2 of layer 1 feeds the one output unit
    np.testing.assert_allclose(graph, hinton, rtol=4 * np.finfo(dtype).eps)


# -- numbers that overflowed or are NaN ------------------------------------------------------
def _overflowing(kind):
    from chainrule import nn

    model = nn.mlp([2, 1], output=None, rng=0, dtype="float64")
    if kind == "inf":
        model[0].weight.data[...] = 1e200
        return model, [[1e200, 1.0]], "E is inf"
    model[0].weight.data[0, 0] = np.nan
    return model, [[1.0, 1.0]], "E is nan"


@pytest.mark.parametrize("kind", ["inf", "nan"])
def test_a_network_whose_numbers_overflow_is_not_said_to_agree(kind, tmp_path, capsys):
    """E of inf or NaN left every finite difference out, and "all agree" was the verdict of no
    checks at all: all_ok was True and the command exited 0. Now the Checks section says why
    nothing was checked, all_ok is False, and the exit code is 1."""
    import warnings

    from chainrule import io, nn

    model, x, said = _overflowing(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the model's own overflow
        d = explain(model, x, [[0.0]], "mse")
        assert d.not_finite == said and not d.all_ok
        text = render(d, "text")
        assert f"Nothing here can be checked: {said}" in text and "all agree" not in text
        latex = render(d, "latex")
        assert "cdotinf" not in latex and "cdotnan" not in latex
        assert (r"\infty" if kind == "inf" else r"\text{NaN}") in latex
        if kind == "nan":
            return  # a model file refuses NaN weights
        io.save_model(tmp_path / "m", model, loss=nn.MSE())
        code, out, _ = run(capsys, "explain", "--model", tmp_path / "m", "--input",
                           ",".join(map(str, x[0])), "--target", "0")  # fmt: skip
    assert code == 1 and f"Nothing here can be checked: {said}" in out


def test_latex_writes_infinities_and_nan_as_latex():
    """num() wrote a bare "inf" after \\cdot: LaTeX read the undefined \\cdotinf."""
    from chainrule.explainer.notation import num

    assert [num(v).latex for v in (np.inf, -np.inf, np.nan, 2.5)] == [
        r"\infty", r"(-\infty)", r"\text{NaN}", "2.5",
    ]  # fmt: skip


@pytest.mark.parametrize("given", [[0, 0, 1], np.array([0, 0, 1])])
def test_an_integer_one_hot_row_for_one_case_says_it_was_read_as_labels(given):
    """[0, 0, 1] is three class labels, as CrossEntropy reads a flat list of whole numbers; the
    message said only "3 target rows for 1 input rows". Oracle: the row written as the message
    says gives the derivation of the label 2."""
    from chainrule import nn

    model = nn.mlp([3, 4, 3], output=None, rng=0)
    hint = re.escape("write one case's one-hot row as [[0, 0, 1]]")
    with pytest.raises(ExplainError, match=hint):
        explain(model, [[1.0, 2.0, 3.0]], given, "cross-entropy")
    assert explain(model, [[1.0, 2.0, 3.0]], [[0, 0, 1]], "cross-entropy").error == pytest.approx(
        explain(model, [[1.0, 2.0, 3.0]], [2], "cross-entropy").error, rel=1e-15
    )


def test_the_write_up_gives_each_bias_gradient_and_counts_the_biases_left_out():
    """Only the rule dE/db_j = sum_c dE/dz_j was printed, with no number (the JSON alone held
    them), and "... 70 more weights" left the biases out of the count. Oracle: the engine's
    bias gradients, and the counts of the layers' weights and biases."""
    from chainrule import nn

    model = nn.mlp([3, 10, 9], output=None, rng=0)
    x, t = [[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]], [[3.0] * 9, [7.0] * 9]
    nn.MSE()(model(np.array(x)), np.array(t)).backward()
    d = explain(model, x, t, "mse")
    text = render(d, "text", max_units=2)
    for below, layer in ((1, model[2]), (0, model[0])):
        unit = "j" if below == 1 else "i"
        assert f"∂E/∂b_{unit} = Σ_c ∂E/∂z_{unit}" in text
        engine = layer.bias.grad.numpy()
        assert d.dE_db(below, 0).value == pytest.approx(engine[0], rel=1e-6)
        assert f"= {engine[0]:.4g}" in text.split(f"∂E/∂b_{unit} = Σ_c")[1]
    assert "... 88 more weights and 7 more biases" in text  # 10 x 9 weights, 2 shown; 9 biases
    assert "... 28 more weights and 8 more biases" in text  # 3 x 10 weights, 2 shown; 10 biases


def test_an_identity_top_layers_graph_has_no_op_the_model_lacks_once_hidden(tmp_path, capsys):
    """The explainer kept dE/dy apart from dE/dz of an identity layer with y + 0.0: the graph
    drew an 'add' fed by a leaf of value 0, which --hide-implementation kept. Now it is a
    reshape to its own shape, which the flag hides; the gradients are the same."""
    from chainrule import io, nn

    model = nn.mlp([3, 4, 1], output=None, rng=0)
    io.save_model(tmp_path / "reg", model, loss=nn.MSE())
    args = ["graph", "--model", tmp_path / "reg", "--input", "1,2,3", "--target", "0.5",
            "--format", "dot", "--out", "-"]  # fmt: skip
    code, shown, _ = run(capsys, *args)
    assert code == 0 and 'label="add' not in shown and 'label="reshape' in shown
    code, hidden, _ = run(capsys, *args, "--hide-implementation")
    assert code == 0 and 'label="reshape' not in hidden and 'label="add' not in hidden
    x, t = np.array([[1.0, 2.0, 3.0]]), np.array([[0.5]])
    nn.MSE()(model(x), t).backward()
    d = explain(model, x, t, "mse")
    assert d.dE_dw(1, 0, 0).value == pytest.approx(model[2].weight.grad.numpy()[0, 0], rel=1e-12)


def test_a_hidden_z_that_overflowed_under_a_saturating_unit_is_still_checked():
    """E and every gradient finite, every check passing, but a z of inf under a logistic unit
    (which gives y = 1): that is no reason to say nothing can be checked."""
    import warnings

    from chainrule import nn

    model = nn.mlp([2, 2, 1], rng=0, dtype="float64")
    model[0].weight.data[0, 0] = 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the model's own overflow
        d = explain(model, [[1e307, 0.0]], [[1.0]], "mse")
    assert np.isinf(d.layers[1].z).any() and np.isfinite(d.error)
    assert d.not_finite is None and d.all_checks() and d.all_ok


def _tanh_net():
    from chainrule import nn

    return nn.mlp([3, 4, 2], activation="tanh", rng=0, dtype="float64")


X3 = [[1, 0, 0.5], [0, 1, 1], [0.3, -0.2, 0.9]]
T3 = [[1, 0], [0, 1], [0.5, 0.5]]


def test_a_mean_losss_formula_writes_its_share_as_the_fraction_the_error_line_does():
    """The general dE/dy_j read 0.33·(−(d_j − y_j)) at --digits 2 under E = (1/3) Σ_c ..., and
    binary cross-entropy's dE/dz_j 0.17·(y_j − t_j) under (1/6): a rounded number where the
    formula means 1/3. The steps with numbers keep the number (they reproduce their result)."""
    from chainrule import nn

    d = explain(_tanh_net(), X3, T3, nn.SquaredError(reduction="mean"))
    text = render(d, "text", digits=2)
    assert "∂E/∂y_j = (1/3)·(-(t_j - y_j))" in text and "E = (1/3)" in text
    assert "0.33·(-(" in text  # a unit's step: the number, to the digits of its operands
    latex = render(d, "latex", digits=2)
    assert r"\frac{1}{3}\cdot(-(t_{j} - y_{j}))" in latex
    d = explain(nn.mlp([3, 4, 2], rng=0, dtype="float64"), X3, T3, "binary-cross-entropy")
    assert "∂E/∂z_j = (1/6)·(y_j - t_j)" in render(d, "text", digits=2)


def test_mse_writes_each_units_dE_dy_with_its_numbers():
    """mse's dE/dy_1 = -0.2658 came with no operands (squared error writes −(t − y));
    oracle: (2/k)(y − t) from the shown y and t reproduces the printed value."""
    d = explain(_tanh_net(), X3[:2], T3[:2], "mse")
    text = render(d, "text")
    lines = text.splitlines()
    at = next(k for k, x in enumerate(lines) if "j=1, case 1: ∂E/∂y_1 = (2/4)·(" in x)
    y, t = map(float, re.findall(r"\(([-\d.e]+) - ([-\d.e]+)\)$", lines[at])[0])
    value = float(re.findall(r"^\s+= ([-\d.e]+)", lines[at + 1])[0])
    assert value == pytest.approx(2 / 4 * (y - t), rel=1e-3)
    assert value == pytest.approx(d.dE_dy(2, 0, 0).value, rel=1e-3)


def test_max_units_1_still_shows_a_weight_gradient_of_a_large_layer():
    """--max-units 1 showed the dE/dw_ij headers and then "... 132 more weights": none."""
    from chainrule import nn

    model = nn.mlp([2, 12, 11], rng=0, dtype="float64")
    d = explain(model, [[1, 0.5]], [[0.5] * 11], "squared-error")
    text = render(d, "text", max_units=1)
    assert "... 131 more weights and 10 more biases" in text
    assert "... 23 more weights and 11 more biases" in text
    assert text.count("∂E/∂w_11 = ") == 2  # one weight of each layer, with its numbers


def test_the_markdown_targets_line_is_maths_a_renderer_reads():
    """ "Targets: $t_{j} = $1, 0" closed its maths after a space and before a digit, which
    Markdown renderers (pandoc, GitHub) leave as text."""
    md = render(explain(), "markdown")
    line = next(x for x in md.splitlines() if x.startswith("Targets:"))
    assert line.startswith("Targets: $t_{j}$ = ")
    assert "$ " not in line.replace("$t_{j}$ = ", "")


def test_explains_loss_help_names_every_loss_it_writes_out(capsys):
    from chainrule.explainer.network import LOSSES

    code, out, _ = run(capsys, "explain", "--help")
    help_text = " ".join(re.sub(r"(?<=\w)-\n\s+", "-", out).split())  # a name it wrapped
    assert code == 0 and all(name in help_text for name in LOSSES), help_text


@pytest.mark.parametrize("loss", ["squared-error", "cross-entropy", "mse"])
def test_one_cases_row_moved_gives_the_error_of_the_whole_batch_rerun(loss):
    """A y's or z's finite difference reran every case of the batch (150 s for 600 cases of a
    784-256-10 network); now only the moved case's rows above are. Oracle: E of the whole
    batch rerun from the moved layer (numeric.error_from, error_from_z)."""
    from chainrule import nn
    from chainrule.explainer import numeric

    top = None if loss == "cross-entropy" else "logistic"  # CrossEntropy takes the logits
    model = nn.mlp([3, 5, 4, 3], activation="tanh", output=top, rng=0, dtype="float64")
    x = np.random.default_rng(0).normal(size=(4, 3))
    t = [0, 2, 1, 2] if loss == "cross-entropy" else np.eye(3)[[0, 2, 1, 2]]
    d = explain(model, x, t, loss, check=False, perturbation=False)
    arrays = numeric.arrays_of(d)
    forward = numeric.Forward(arrays, d.x, d.t, d.loss)
    for layer, record in enumerate(d.layers):
        for is_z, values in ((False, record.y), (True, record.z)):
            if (is_z and layer == 0) or (not is_z and record.dE_dy is None):
                continue  # no z below the inputs; no dE/dy of logits a loss reads as its own
            moved = np.array(values, dtype=np.float64)
            moved[2, 1] += 0.3
            whole = (numeric.error_from_z(arrays, d.t, d.loss, layer, moved) if is_z
                     else numeric.error_from(arrays, d.t, d.loss, layer, moved))  # fmt: skip
            one = forward.with_row(layer, 2, moved[2], is_z)
            assert one == pytest.approx(whole, rel=1e-12), (layer, is_z)
            assert one != pytest.approx(d.error, rel=1e-6)  # the move is seen


def test_the_perturbation_and_the_three_views_say_which_case_of_a_batch_they_use():
    """Both use one case of a batch (the JSON's "case": 0), which the write-up did not say."""
    from chainrule import nn

    model = nn.mlp([2, 3, 2], rng=0, dtype="float64")
    batch = render(explain(model, [[1, 0], [0, 1]], [[1, 0], [0, 1]], "squared-error"), "text")
    assert "The nudge is in case 1 of 2." in batch and "They are case 1's of 2." in batch
    one = render(explain(model, [[1, 0]], [[1, 0]], "squared-error"), "text")
    assert "The nudge is in case" not in one and "They are case" not in one
