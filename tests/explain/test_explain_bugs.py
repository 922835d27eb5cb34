"""The teaching bugs: each gives its documented wrong numbers, the gradient check catches it, and
the real engine is untouched by the teaching code."""

import importlib
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explainer import explain, render
from chainrule.explainer.unit_graph import gradients, unit_graph, weights_of


def _grad_of_a(engine):
    """b = a + a; c = b + b (micrograd's case): dc/da = 4."""
    a = cr.tensor(1.5, requires_grad=True)
    b = a + a
    c = b + b
    return float(engine(c)[id(a)])


def test_the_right_walk_and_the_real_engine_agree_on_a_reused_non_leaf():
    from chainrule.explainer.unit_graph import backward_right

    assert _grad_of_a(backward_right) == 4.0
    a = cr.tensor(1.5, requires_grad=True)
    b = a + a
    (b + b).backward()
    assert a.grad.item() == 4.0


def test_no_toposort_sends_a_reused_tensors_total_once_per_path():
    from chainrule.explainer.bugs import backward_no_toposort

    # b's rule runs twice (once per path c -> b), each time with b's whole total 2: a gets 8
    assert _grad_of_a(backward_no_toposort) == 8.0


def test_assign_keeps_only_the_last_consumer():
    from chainrule.explainer.bugs import backward_assign

    a = cr.tensor(1.5, requires_grad=True)
    out = a * 3.0 + a * 5.0  # d out / da = 8; one consumer alone sends 3 or 5
    assert float(backward_assign(out)[id(a)]) in (3.0, 5.0)


@pytest.fixture(scope="module")
def seed():
    return explain(perturbation=False)


def test_the_unit_graph_gives_the_derivations_numbers(seed):
    g = unit_graph(weights_of(seed), seed.x, seed.t, seed.loss)
    grads = gradients(g)
    assert float(g.E.item()) == pytest.approx(seed.error, abs=1e-15)
    for i in range(2):
        assert grads[("y", 1, i, 0)] == pytest.approx(seed.dE_dy(1, i).value, abs=1e-15)
        assert grads[("z", 1, i, 0)] == pytest.approx(seed.dE_dz(1, i).value, abs=1e-15)
    np.testing.assert_allclose(
        [[grads[("w", 0, i, j)] for j in range(2)] for i in range(2)],
        seed.connections[0].dE_dw,
        atol=1e-15,
    )


def _report(seed, name):
    from chainrule.explainer.bugs import run_bug

    report = run_bug(seed, name)
    return report, {r.key: r for r in report.rows}


def test_assign_on_the_seed_keeps_one_term_of_the_sum_over_j(seed):
    report, rows = _report(seed, "assign")
    assert report.caught
    conn = seed.connections[1]
    for i in range(2):
        wrong = rows[("y", 1, i, 0)].wrong
        # one consumer's contribution, with the (also wrong) dE/dz_j that consumer got
        terms = [conn.weight[i, j] * rows[("z", 2, j, 0)].wrong for j in range(3)]
        assert min(abs(wrong - term) for term in terms) < 1e-15
        assert abs(wrong - seed.sum_over_j(1, i)) > 1e-3
    # the squared error multiplies (y - t) by itself: each output dE/dz keeps one of two halves
    for j in range(3):
        assert rows[("z", 2, j, 0)].wrong == pytest.approx(seed.dE_dz(2, j).value / 2, abs=1e-15)


def test_no_toposort_on_the_seed_is_caught(seed):
    report, rows = _report(seed, "no-toposort")
    assert report.caught and len(report.wrong_rows) > 0
    assert all(r.caught for r in report.wrong_rows)


def test_merged_leaves_gives_each_the_sum_of_the_equal_leaves(seed):
    # the seed's second input and w_11 above the hidden layer are both 0.5
    report, rows = _report(seed, "merged-leaves")
    assert seed.x[0, 1] == seed.connections[1].weight[0, 0] == 0.5
    both = rows[("y", 0, 1, 0)].right + rows[("w", 1, 0, 0)].right
    assert rows[("y", 0, 1, 0)].wrong == pytest.approx(both, abs=1e-15)
    assert rows[("w", 1, 0, 0)].wrong == pytest.approx(both, abs=1e-15)
    assert report.caught and len(report.wrong_rows) == 2
    assert "w_11" in report.note


def test_merged_leaves_hides_when_no_two_leaves_are_equal():
    from chainrule.explainer.bugs import run_bug

    d = explain(
        [([[0.11, -0.23], [0.37, 0.41]], [0.13, -0.17], "logistic")],
        [[0.7, -0.9]],
        [[1.0, 0.0]],
        perturbation=False,
    )
    report = run_bug(d, "merged-leaves")
    assert not report.caught and not report.wrong_rows and "hidden" in report.note


def test_no_zero_grad_adds_the_previous_steps_gradient(seed):
    report, rows = _report(seed, "no-zero-grad")
    assert report.caught
    for i in range(2):
        for j in range(3):
            row = rows[("w", 1, i, j)]
            # step 2's .grad = step 1's gradient (the seed's) + step 2's own
            assert row.wrong - row.right == pytest.approx(
                seed.connections[1].dE_dw[i, j], abs=1e-14
            )
    # non-leaves are never stored in .grad: they stay right
    assert rows[("y", 1, 0, 0)].wrong == pytest.approx(rows[("y", 1, 0, 0)].right, abs=1e-15)


def test_the_real_engine_is_unchanged_with_the_teaching_code_imported(seed):
    import chainrule.explainer.bugs as bugs

    importlib.reload(bugs)
    for name in bugs.BUGS:
        bugs.run_bug(seed, name)
    again = explain(perturbation=False)
    for k in range(3):
        if seed.layers[k].dE_dy is not None:
            np.testing.assert_array_equal(again.layers[k].dE_dy, seed.layers[k].dE_dy)
    for k in range(2):
        np.testing.assert_array_equal(again.connections[k].dE_dw, seed.connections[k].dE_dw)
    assert again.all_ok
    a = cr.tensor(1.5, requires_grad=True)
    (a * a + a).backward()
    assert a.grad.item() == 4.0


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html", "json"])
def test_every_format_shows_the_bug_and_its_check(seed, fmt):
    d = explain(perturbation=False, bug="no-toposort")
    out = render(d, fmt)
    if fmt == "json":
        data = json.loads(out)["bug"]
        assert data["name"] == "no-toposort" and data["caught"] and data["n_wrong"] > 0
        row = data["rows"][0]
        assert {"right", "wrong", "numeric", "caught"} <= set(row)
    else:
        assert "no-toposort" in out and "caught" in out


def test_cli_bug(capsys):
    assert main(["explain", "--bug", "assign"]) == 0
    out = capsys.readouterr().out
    assert "--bug assign" in out and "The gradient check catches it" in out
    assert main(["explain", "--bug", "sloppy"]) == 2
    assert "assign, no-toposort" in capsys.readouterr().err


def test_the_json_with_a_bug_views_and_paths_validates_against_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    from chainrule.explainer import schema
    from chainrule.explainer.bugs import BUGS

    assert schema()["properties"]["bug"]["oneOf"][1]["properties"]["name"]["enum"] == list(BUGS)
    for name in BUGS:
        document = json.loads(render(explain(perturbation=False, bug=name), "json"))
        jsonschema.validate(document, schema())
        assert document["views"]["graph"] is not None and document["paths"]["rows"]
    broken = json.loads(render(explain(perturbation=False, bug="assign"), "json"))
    broken["bug"]["rows"][0]["caught"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema())


# -- float32: rounding is not a bug, and a wrong small gradient is caught ------------------------


def _own_grads(model, x, t, loss):
    """dE/dw and dE/db by the model's own forward, loss and backward()."""
    E = loss(model(cr.tensor(x)), t)
    E.backward()
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    model.zero_grad()
    return grads


def _parameter_rows(d, report):
    """(row, the parameter's name and index) for each dE/dw and dE/db row of a bug report."""
    for row in report.rows:
        kind, below, *index = row.key
        if kind in ("w", "b"):
            conn = d.connections[below]
            yield row, (conn.weight_name if kind == "w" else conn.bias_name), tuple(index)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_merged_leaves_on_a_model_with_no_equal_leaves_reports_nothing_wrong(dtype):
    """float32 rounding (the float32 engine against the float64 unit graph) counted as 27 of 27
    gradients wrong, while every row agreed with its finite difference."""
    net = cr.nn.mlp([2, 3, 2], output="logistic", dtype=dtype, rng=0)
    x, t = [[0.3, 0.7]], [[1.0, 0.0]]
    d = explain(net, x, t, cr.nn.SquaredError(), bug="merged-leaves")
    report = d.bug.to_dict()
    assert report["n_wrong"] == 0 and report["n_caught"] == 0 and "hidden" in report["note"]
    grads = _own_grads(net, x, t, cr.nn.SquaredError())
    for row, name, index in _parameter_rows(d, d.bug):
        assert row.wrong == pytest.approx(grads[name][index], rel=1e-5, abs=1e-7)


def test_assign_on_float32_flags_every_wrong_gradient_however_small():
    """With an absolute tolerance of 1e-4, the wrong gradients smaller than that passed."""
    net = cr.nn.mlp([2, 2, 2, 2, 2], dtype="float32", rng=2)
    x, t = [[0.3, 0.7]], [[1.0, 0.0]]
    d = explain(net, x, t, cr.nn.MSE(), bug="assign")
    assert d.all_ok  # the right float32 gradients pass the same check
    grads = _own_grads(net, x, t, cr.nn.MSE())
    rows = list(_parameter_rows(d, d.bug))
    small = [row for row, name, index in rows if abs(grads[name][index]) < 1e-4]
    assert small  # the case the old tolerance missed
    for row, name, index in rows:
        assert row.right == pytest.approx(grads[name][index], rel=1e-6)
        if row.wrong != pytest.approx(grads[name][index], rel=1e-3):
            assert row.caught and row.is_wrong, row.label()


def test_a_float32_network_of_digits_size_passes_its_own_check():
    """The check's float32 tolerance is relative: rounding in sums of 64 terms is not flagged."""
    rng = np.random.default_rng(3)
    net = cr.nn.mlp([64, 32, 10], activation="tanh", dtype="float32", rng=3)
    d = explain(net, rng.uniform(0, 1, (8, 64)), rng.integers(0, 10, 8), "cross-entropy",
                perturbation=False, views=False, paths=False)  # fmt: skip
    assert d.all_ok and len(d.all_checks()) > 2000


def test_no_zero_grad_on_a_model_whose_loss_reads_the_logits():
    """Step 2 is explained on the model's own layers: the last Linear layer's logits."""
    net = cr.nn.mlp([3, 4, 3], activation="tanh", dtype="float64", rng=1)
    x, labels = np.random.default_rng(0).normal(size=(2, 3)), np.array([0, 2])
    d = explain(net, x, labels, cr.nn.CrossEntropy(), bug="no-zero-grad")
    step1 = _own_grads(net, x, labels, cr.nn.CrossEntropy())
    assert d.bug.caught
    for row, name, index in _parameter_rows(d, d.bug):  # step 2's .grad = step 1's + its own
        assert row.wrong - row.right == pytest.approx(step1[name][index], abs=1e-12)


def test_a_bug_report_without_finite_differences_says_nothing_was_checked():
    """--bug assign --max-checks 0 listed every wrong gradient as "✓ agrees" and ended "every
    gradient agrees with its finite difference": nothing had been compared."""
    from chainrule.explainer import explain
    from chainrule.explainer.render import render

    text = render(explain(bug="assign", check=False, perturbation=False), "text")
    section = text.split("Break the engine on purpose")[1]
    assert "✓ agrees" not in section and "✗ caught" not in section
    assert "not checked" in section
    assert "No gradient was checked by finite differences, so nothing here can catch it." in section
    checked = render(explain(bug="assign", perturbation=False), "text")
    assert "The gradient check catches it" in checked
