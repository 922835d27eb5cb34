"""The explorer's JSON API: every endpoint, its numbers against independent computations, and
bad requests (oversized, NaN, wrong shapes, unknown fields, too many layers) as clear 4xx."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("pydantic")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

import chainrule as cr
from chainrule.web import create_app
from chainrule.web import schemas as s
from chainrule.web.api import ENDPOINTS
from chainrule.web.sessions import COOKIE_NAME, SessionStore

LOCAL = "http://127.0.0.1"  # the explorer answers only requests addressed to its own host


@pytest.fixture
def client() -> TestClient:
    # the body of every POST here is JSON (the API refuses other Content-Types: 415)
    return TestClient(create_app(), base_url=LOCAL, headers={"content-type": "application/json"})


@pytest.fixture
def seed(client: TestClient) -> dict:
    response = client.get("/api/seed")
    assert response.status_code == 200
    return response.json()


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def numpy_pass(net: dict) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Forward and backward by hand in NumPy for a logistic network with squared error."""
    ys, zs = [np.asarray(net["input"], float)], [None]
    for w, b in zip(net["weights"], net["biases"]):
        zs.append(ys[-1] @ np.asarray(w) + np.asarray(b))
        ys.append(sigmoid(zs[-1]))
    t = np.asarray(net["target"], float)
    E = 0.5 * np.sum((t - ys[-1]) ** 2)
    dE_dy = [None] * len(ys)
    dE_dz = [None] * len(ys)
    dE_dy[-1] = ys[-1] - t
    for l in range(len(ys) - 1, 0, -1):
        dE_dz[l] = dE_dy[l] * ys[l] * (1 - ys[l])
        dE_dy[l - 1] = np.asarray(net["weights"][l - 1]) @ dE_dz[l]
    return dE_dy, dE_dz, E


def post(client: TestClient, path: str, body) -> object:
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


# -- the numbers --------------------------------------------------------------------------------


def test_seed_is_the_explainers_seed_picture(seed):
    problem = cr.explainer.seed_network()
    assert seed["sizes"] == problem.network.sizes
    assert seed["sizes"][-1] == 3 and seed["output"] == "logistic"
    assert seed["input"] == problem.x[0].tolist()
    s.Network.model_validate(seed)


def test_backward_matches_a_hand_written_numpy_pass(client, seed):
    response = post(client, "/api/backward", {"network": seed})
    assert response.status_code == 200
    body = s.PassResponse.model_validate(response.json())
    dE_dy, dE_dz, error = numpy_pass(seed)
    assert body.E == pytest.approx(error, rel=1e-12)  # noqa: SIM300 (E is not a constant)
    for l, layer in enumerate(body.layers):
        np.testing.assert_allclose(layer.dE_dy, dE_dy[l], rtol=1e-10, atol=1e-14)
        if l == 0:
            assert layer.z is None and layer.dE_dz is None
        else:
            np.testing.assert_allclose(layer.dE_dz, dE_dz[l], rtol=1e-10, atol=1e-14)
    # dE/dw_ij = y_i dE/dz_j
    for l, g in enumerate(body.dE_dw):
        y_below = np.asarray(body.layers[l].y)
        np.testing.assert_allclose(g, np.outer(y_below, dE_dz[l + 1]), rtol=1e-10, atol=1e-14)


def test_paths_terms_add_up_to_dE_dy_and_agree_with_finite_differences(client, seed):
    for layer, unit in [(0, 0), (1, 0), (1, 1)]:
        response = post(client, "/api/paths", {"network": seed, "layer": layer, "unit": unit})
        assert response.status_code == 200
        body = s.PathsResponse.model_validate(response.json())
        w_row = np.asarray(seed["weights"][layer][unit])
        _, dE_dz, _ = numpy_pass(seed)
        np.testing.assert_allclose([t.w_ij for t in body.terms], w_row)
        np.testing.assert_allclose(
            [t.term for t in body.terms], w_row * dE_dz[layer + 1], rtol=1e-10, atol=1e-15
        )
        assert body.sum_of_terms == pytest.approx(body.dE_dy, rel=1e-12, abs=1e-15)
        assert body.finite_difference == pytest.approx(body.dE_dy, rel=1e-6, abs=1e-9)
        assert body.kink is False


#: 1-1-1-1 relu units: a dead first unit (z = -1) feeds the second, whose z is exactly 0, the
#: kink, as zero biases (the page's New network draws them) often leave a relu unit
RELU_CHAIN = {"sizes": [1, 1, 1, 1], "weights": [[[-1.0]], [[1.0]], [[2.0]]],
              "biases": [[0.0], [0.0], [0.0]], "activation": "relu", "output": "linear",
              "loss": "squared-error", "input": [1.0], "target": [1.0]}  # fmt: skip


def test_paths_leave_out_a_finite_difference_that_straddles_a_relu_kink(client):
    """Moving y_1 moves z_2 off relu's kink: the central difference reads half the slope (-1
    here), not the engine's relu'(0) = 0, so it is no check; the explainer leaves it out, and
    the page said -1 beside dE/dy = 0 as if they disagreed."""
    body = s.PathsResponse.model_validate(
        post(client, "/api/paths", {"network": RELU_CHAIN, "layer": 1, "unit": 0}).json()
    )
    assert body.dE_dy == 0.0 and body.sum_of_terms == 0.0
    assert body.kink is True and body.finite_difference is None
    # the explainer's own check of the same derivative is left out as a kink too
    d = cr.explain(
        cr.explainer.sequential(
            [([[-1.0]], [0.0], "relu"), ([[1.0]], [0.0], "relu"), ([[2.0]], [0.0], "identity")]
        ),
        [[1.0]],
        [[1.0]],
    )
    assert d.dE_dy(1, 0).kink
    # the unit at the kink's own y moves only the linear output above it: checked
    top = post(client, "/api/paths", {"network": RELU_CHAIN, "layer": 2, "unit": 0}).json()
    assert top["kink"] is False and top["finite_difference"] == pytest.approx(top["dE_dy"])


def test_nudge_predicts_the_measured_change_to_first_order(client, seed):
    errors = []
    for eps in (0.1, 0.01):
        body = {"network": seed, "layer": 1, "unit": 0, "eps": eps}
        response = s.NudgeResponse.model_validate(post(client, "/api/nudge", body).json())
        assert response.predicted == pytest.approx(sum(response.predicted_per_path), rel=1e-12)
        assert response.measured == pytest.approx(response.E_after - response.E_before)
        errors.append(abs(response.measured - response.predicted))
    # the error of the linear prediction shrinks like eps^2: 10x smaller eps, ~100x smaller error
    assert errors[1] < errors[0] / 50


@pytest.mark.parametrize("eps", [0, -0.0, 1e-300, 5e-324])
def test_nudge_by_zero_or_a_tiny_eps_changes_nothing(client, seed, eps):
    """The page's slider sends eps = 0 at its midpoint; eps^2 of a tiny eps underflows."""
    response = post(client, "/api/nudge", {"network": seed, "layer": 1, "unit": 0, "eps": eps})
    assert response.status_code == 200, response.text
    body = s.NudgeResponse.model_validate(response.json())
    assert body.measured == 0.0 and body.E_after == body.E_before
    assert abs(body.predicted) <= abs(eps)


def test_gradcheck_passes_for_every_activation_and_loss(client):
    for activation, output, loss in [
        ("logistic", "logistic", "squared-error"),
        ("tanh", "softmax", "cross-entropy"),
        ("relu", "logistic", "binary-cross-entropy"),
        ("tanh", "linear", "squared-error"),
    ]:
        body = {"sizes": [3, 4, 2], "activation": activation, "output": output, "loss": loss}
        net = post(client, "/api/network/new", {**body, "seed": 3}).json()
        report = post(client, "/api/gradcheck", {"network": net})
        assert report.status_code == 200, report.text
        result = s.GradcheckResponse.model_validate(report.json())
        assert result.ok and result.checked == 3 + 3 * 4 + 4 * 2 + 4 + 2
        if activation != "relu":  # (this seed's relu units are all off: their gradients are 0)
            assert result.near_zero == 0  # no gradient near 0 among smooth units


def test_gradcheck_counts_the_checks_that_only_show_a_derivative_is_small(client):
    """Hidden units at z = +-40 have a slope of 4e-18: the derivatives below them pass only by
    being about 0, and the report says how many such there are."""
    net = post(
        client,
        "/api/network/new",
        {"sizes": [2, 2, 1], "output": "logistic", "loss": "squared-error", "seed": 3},
    ).json()
    net["weights"][0] = [[20.0, -20.0], [20.0, -20.0]]
    net["input"] = [1.0, 1.0]
    result = s.GradcheckResponse.model_validate(
        post(client, "/api/gradcheck", {"network": net}).json()
    )
    # dE/dx (2), the first layer's dE/dw (4) and dE/db (2), and the top weight from the unit
    # stuck at y = 4e-18; the other top weight and the top bias are clearly non-zero
    assert result.ok and result.checked == 2 + 4 + 2 + 2 + 1 and result.near_zero == 9


def test_gradcheck_and_bug_compare_every_derivative_up_to_the_limit(client):
    """64-53-10 has 4 049 derivatives, within the 4096 the page takes: the explainer's sample
    limit (3000, which also counts hidden y's and z's) checked 2 950 of them, said "ok", and
    the bug view marked the unchecked wrong rows as "not caught"."""
    net = post(
        client,
        "/api/network/new",
        {"sizes": [64, 53, 10], "output": "softmax", "loss": "cross-entropy", "seed": 0},
    ).json()
    net["input"] = list(np.random.default_rng(0).normal(size=64))
    report = post(client, "/api/gradcheck", {"network": net}).json()
    assert report["ok"] and report["checked"] == 64 + 64 * 53 + 53 + 53 * 10 + 10 == 4049
    bug = post(client, "/api/bug", {"network": net, "bug": "assign"}).json()
    assert all(row["numeric"] is not None for row in bug["rows"] if row["quantity"] in "wb")
    assert bug["n_caught"] == bug["n_wrong"] > 0


def test_engine_E_equals_the_explainers_E(client):
    net = post(
        client,
        "/api/network/new",
        {"sizes": [2, 3, 2], "output": "logistic", "loss": "binary-cross-entropy", "seed": 1},
    ).json()
    E = post(client, "/api/backward", {"network": net}).json()["E"]
    derivation = post(client, "/api/derivation", {"network": net})
    assert derivation.status_code == 200
    doc = derivation.json()
    assert doc["schema"] == "chainrule.derivation"
    assert doc["loss"]["E"] == pytest.approx(E, rel=1e-12)
    assert doc["check"]["all_ok"] is True


def test_derivation_focus_and_export_formats(client, seed):
    focused = post(client, "/api/derivation", {"network": seed, "layer": 1, "unit": 1}).json()
    assert focused["focus"] == {"layer": 1, "unit": 1}
    for fmt, marker in [("markdown", "# "), ("latex", "\\")]:
        response = post(client, "/api/export", {"network": seed, "format": fmt})
        assert response.status_code == 200
        body = s.ExportResponse.model_validate(response.json())
        assert body.format == fmt and marker in body.text
        assert body.text == cr.explainer.render(
            cr.explain(
                [(w, b, "logistic") for w, b in zip(seed["weights"], seed["biases"])],
                [seed["input"]],
                [seed["target"]],
                max_checks=3000,
            ),
            fmt,
            host="cli",  # the command's words: the export is what chainrule explain writes
        )


def test_new_network_has_the_requested_sizes(client):
    net = post(client, "/api/network/new", {"sizes": [4, 5, 6, 2], "seed": 7}).json()
    assert net["sizes"] == [4, 5, 6, 2]
    assert [np.shape(w) for w in net["weights"]] == [(4, 5), (5, 6), (6, 2)]
    again = post(client, "/api/network/new", {"sizes": [4, 5, 6, 2], "seed": 7}).json()
    assert again == net


WIDEST_DEEPEST = [64] * s.MAX_LAYERS  # every layer as wide as MAX_WEIGHTS allows


@pytest.mark.parametrize("sizes", [WIDEST_DEEPEST, [64, s.MAX_UNITS, 10]])
def test_the_largest_networks_allowed_work(client, sizes):
    assert sum(a * b for a, b in zip(sizes, sizes[1:])) <= s.MAX_WEIGHTS
    net = post(client, "/api/network/new", {"sizes": sizes, "seed": 0}).json()
    response = post(client, "/api/backward", {"network": net})
    assert response.status_code == 200
    assert len(response.json()["layers"]) == len(sizes)
    assert len(json.dumps({"network": net})) < s.MAX_BODY_BYTES


def test_one_connection_too_many_is_refused_naming_the_limit(client):
    sizes = [*WIDEST_DEEPEST[:-1], 65]
    bad(post(client, "/api/network/new", {"sizes": sizes}), 422, "connections", str(s.MAX_WEIGHTS))


@pytest.mark.parametrize(
    "body",
    [
        {"sizes": [2, 1], "output": "softmax"},
        {"sizes": [2, 3], "loss": "cross-entropy"},
        {"sizes": [2, 1], "output": "logistic", "loss": "cross-entropy"},
    ],
)
def test_new_refuses_a_network_every_other_endpoint_refuses(client, body):
    """With the reason, the field and the details every other 422 has."""
    refused = post(client, "/api/network/new", body)
    bad(refused, 422, "invalid request: ", "output: ")
    assert refused.json()["details"]
    reason = refused.json()["error"].split("output: ", 1)[1]
    shaped = {**body, "output": "logistic", "loss": "squared-error"}
    network = {**post(client, "/api/network/new", shaped).json(), **body}
    bad(post(client, "/api/backward", {"network": network}), 422, reason)


def test_the_docs_say_which_views_fit_the_digits_model(client):
    """docs/web.md: the digits model fits every view but the two that compare every derivative;
    64-53-10 is the widest digits model that fits those."""
    docs = " ".join((Path(__file__).parents[2] / "docs" / "web.md").read_text().split())
    digits = {"sizes": [64, 128, 10], "output": "softmax", "loss": "cross-entropy"}
    network = post(client, "/api/network/new", digits).json()
    unit = {"network": network, "layer": 1, "unit": 0}
    for path, body in [
        ("/api/paths", unit),
        ("/api/nudge", {**unit, "eps": 0.1}),
        ("/api/views", unit),
        ("/api/export", {**unit, "format": "markdown"}),
    ]:
        assert post(client, path, body).status_code == 200, path
    for path, body in [("/api/gradcheck", {}), ("/api/bug", {"bug": "assign"})]:
        bad(post(client, path, {"network": network, **body}), 422, "9674", str(s.MAX_GRADCHECK))
    assert f"at most {s.MAX_GRADCHECK} derivatives" in docs and "refuse its 9 674" in docs
    for hidden, status in [(53, 200), (54, 422)]:
        small = post(client, "/api/network/new", {**digits, "sizes": [64, hidden, 10]}).json()
        assert post(client, "/api/gradcheck", {"network": small}).status_code == status
    assert "64-53-10, has 4 049" in docs


# -- training sessions ---------------------------------------------------------------------------


def test_training_lowers_the_loss_and_reports_gradient_norms(client):
    start = post(client, "/api/train/start", {"dataset": "xor", "hidden": [4], "lr": 1.0})
    assert start.status_code == 200
    assert start.json()["step"] == 0 and start.json()["network"]["sizes"] == [2, 4, 1]
    state = s.TrainState.model_validate(post(client, "/api/train/step", {"steps": 200}).json())
    assert state.step == 200 and len(state.loss) == 200
    assert state.loss[-1] < 0.5 * state.loss[0]
    assert len(state.grad_norms) == 2 and all(g > 0 for g in state.grad_norms)
    same = client.get("/api/train/state").json()
    assert same["loss"] == state.loss


def test_every_dataset_starts_and_steps(client):
    for name, hidden in [("symmetry", [2]), ("circle", [4]), ("digits", [8])]:
        start = post(
            client, "/api/train/start", {"dataset": name, "hidden": hidden, "batch_size": 32}
        )
        assert start.status_code == 200, start.text
        state = post(client, "/api/train/step", {"steps": 2}).json()
        assert state["step"] == 2 and state["dataset"] == name
    assert state["network"]["sizes"] == [64, 8, 10] and state["network"]["loss"] == "cross-entropy"


def test_gradient_norms_are_the_norms_of_the_engines_gradients(client):
    post(
        client, "/api/train/start", {"dataset": "xor", "hidden": [3], "optimizer": "sgd", "lr": 0.1}
    )
    before = client.get("/api/train/state").json()["network"]
    after = post(client, "/api/train/step", {"steps": 1}).json()
    # plain SGD: w_new = w - lr dE/dw, so the step's size is lr times the gradient's norm
    for l, norm in enumerate(after["grad_norms"]):
        dw = np.asarray(before["weights"][l]) - np.asarray(after["network"]["weights"][l])
        db = np.asarray(before["biases"][l]) - np.asarray(after["network"]["biases"][l])
        assert np.sqrt(np.sum(dw**2) + np.sum(db**2)) == pytest.approx(0.1 * norm, rel=1e-9)


def test_sessions_are_isolated_per_cookie():
    app = create_app()
    alice, bob = TestClient(app, base_url=LOCAL), TestClient(app, base_url=LOCAL)
    post(alice, "/api/train/start", {"dataset": "xor"})
    post(alice, "/api/train/step", {"steps": 3})
    assert bob.get("/api/train/state").json()["run"] is None  # none yet: a 200 saying so
    post(bob, "/api/train/start", {"dataset": "symmetry"})
    assert alice.get("/api/train/state").json()["dataset"] == "xor"
    assert alice.cookies[COOKIE_NAME] != bob.cookies[COOKIE_NAME]
    # a forged cookie gets a fresh, empty session, not someone else's
    eve = TestClient(app, base_url=LOCAL, cookies={COOKIE_NAME: "not-a-session"})
    assert eve.get("/api/train/state").status_code == 409


def test_session_count_is_capped_oldest_evicted():
    app = create_app(max_sessions=2, idle_seconds=0)  # the old rule: evict at once
    first, second, third = (TestClient(app, base_url=LOCAL) for _ in range(3))
    for c in (first, second, third):
        assert post(c, "/api/train/start", {"dataset": "xor"}).status_code == 200
    assert len(app.state.sessions) == 2
    assert first.get("/api/train/state").status_code == 409  # evicted: starts over
    assert third.get("/api/train/state").status_code == 200


def test_session_store_evicts_least_recently_used():
    store = SessionStore(max_sessions=2, idle_seconds=0)
    a, _ = store.get_or_create(None)
    b, _ = store.get_or_create(None)
    store.get_or_create(a.token)  # a is used again: b is now the oldest
    store.get_or_create(None)
    assert a.token in store and b.token not in store
    with pytest.raises(ValueError, match="max_sessions"):
        SessionStore(0)


def test_train_start_refuses_more_connections_than_the_explorer_shows(client):
    """digits (64 inputs, 10 classes) with hidden 128-128-128: 42 240 connections."""
    refused = post(client, "/api/train/start", {"dataset": "digits", "hidden": [128, 128, 128]})
    bad(refused, 422, "invalid request: ", "hidden: ", "64-128-128-128-10", str(s.MAX_WEIGHTS))
    assert refused.json()["details"] and COOKIE_NAME not in refused.cookies
    assert client.get("/api/train/state").json()["run"] is None  # no run was started
    widest = post(client, "/api/train/start", {"dataset": "digits", "hidden": [128, 128]})
    assert widest.status_code == 200, widest.text  # 25 856 connections


def test_train_reset_and_step_without_a_run(client):
    assert post(client, "/api/train/step", {"steps": 1}).status_code == 409
    post(client, "/api/train/start", {"dataset": "xor"})
    assert post(client, "/api/train/reset", {}).json() == {"reset": True}
    reset = client.get("/api/train/state")  # none now, and none lost: a 200 saying so
    assert reset.status_code == 200 and reset.json()["run"] is None


def test_divergent_training_is_refused_and_keeps_the_weights():
    from chainrule.errors import UserError
    from chainrule.web.training import start_run

    run = start_run("xor", [2], optimizer="sgd", lr=1.0)
    run.step()
    before = [p.numpy().copy() for p in run.model.parameters()]
    run.trainer.optimizer.lr = 1e308  # an update that overflows (inf itself is refused)
    with pytest.raises(UserError, match="diverged at step 2"):
        run.step()
    for p, old in zip(run.model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), old)
    assert run.step_count == 1


def test_a_new_network_keeps_its_reduction_and_refuses_one_its_loss_lacks(client):
    """network/new took a reduction and left it out of the network it returned, and took one
    (cross-entropy as a sum) that every other request refuses."""
    mean = post(client, "/api/network/new", {"sizes": [2, 3], "reduction": "mean"})
    assert mean.status_code == 200 and mean.json()["reduction"] == "mean"
    assert post(client, "/api/backward", {"network": mean.json()}).status_code == 200
    body = {"sizes": [2, 3], "output": "softmax", "loss": "cross-entropy", "reduction": "sum"}
    refused = post(client, "/api/network/new", body)
    assert refused.status_code == 422 and "is a mean, not a sum" in refused.json()["error"]


@pytest.mark.parametrize(
    ("loss", "output"),
    [("mse", "linear"), ("cross-entropy", "softmax"), ("binary-cross-entropy", "logistic")],
)
def test_a_loss_named_with_its_own_reduction_is_that_loss(client, seed, loss, output):
    """The schema let a loss's own reduction through and the loss's class then refused it:
    "explain: loss 'mse': MSE() takes no arguments" (422) for mse and mean."""
    sizes = seed["sizes"]
    network = {**seed, "loss": loss, "output": output}
    if loss == "cross-entropy":
        network["target"] = [1.0] + [0.0] * (sizes[-1] - 1)
    plain = post(client, "/api/backward", {"network": network})
    named = post(client, "/api/backward", {"network": {**network, "reduction": "mean"}})
    assert plain.status_code == 200 and named.status_code == 200, named.json()
    assert named.json()["E"] == plain.json()["E"]


def test_a_step_whose_weights_pass_the_pages_bound_is_refused_as_divergence(client):
    """lr 100 on a deep relu network: every number finite, a weight of 2.4e10, and the network
    returned was refused by every other request (422, blaming the user's input)."""
    start = {"dataset": "digits", "hidden": [32] * 6, "activation": "relu", "optimizer": "sgd",
             "lr": 100, "init_range": 10, "batch_size": 8}  # fmt: skip
    assert post(client, "/api/train/start", start).status_code == 200
    refused = post(client, "/api/train/step", {"steps": 1})
    assert refused.status_code == 422
    assert "grew past 1e+06 (a weight); the weights were kept" in refused.json()["error"]
    net = client.get("/api/train/state").json()["network"]
    assert post(client, "/api/backward", {"network": net}).status_code == 200


def test_the_step_count_goes_on_past_the_losses_kept(monkeypatch):
    """The page keeps the last MAX_HISTORY losses; the step was their count, so it stood at
    5000 for ever after (and a divergence said "at step 5001" for any later step)."""
    from chainrule.web import training

    monkeypatch.setattr(training, "MAX_HISTORY", 3)
    run = training.start_run("xor", [2], optimizer="sgd", lr=0.1)
    for _ in range(5):
        run.step()
    assert run.to_json()["step"] == 5 and len(run.losses) == 3


@pytest.mark.parametrize(
    ("optimizer", "batch_size"), [("momentum", None), ("adam", None), ("momentum", 3)]
)
def test_a_refused_step_puts_the_optimizers_state_back_too(optimizer, batch_size):
    """The oracle: a run that never took the refused step. The velocity (Adam's moments, the
    step counts) of the refused step was kept, NaN, and refused every later step for good; with
    mini-batches, the refused step's rows were skipped (the next step took the batch after)."""
    from chainrule.errors import UserError
    from chainrule.web.training import start_run

    run, clean = (
        start_run("circle", [4], optimizer=optimizer, lr=0.5, batch_size=batch_size)
        for _ in range(2)
    )
    run.step()
    clean.step()
    X = run.X.copy()
    run.X = X + np.nan  # a batch whose numbers are not finite
    with pytest.raises(UserError, match="diverged at step 2"):
        run.step()
    run.X = X
    for _ in range(3):  # the run goes on as if the refused step had not been
        assert run.step() == clean.step()
    assert run.trainer.optimizer.steps == clean.trainer.optimizer.steps
    for mine, theirs in zip(run.model.parameters(), clean.model.parameters()):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_gradients_too_large_to_square_are_a_finite_norm_and_the_state_stays_readable(client):
    """Gradients near 1e200 are finite, their squares not: the norm was inf, the reply could
    not be JSON (422) and /api/train/state never answered again, though the step was taken."""
    start = {"dataset": "digits", "hidden": [64] * 6, "activation": "relu",
             "optimizer": "momentum", "lr": 100, "init_range": 10}  # fmt: skip
    assert post(client, "/api/train/start", start).status_code == 200
    for _ in range(4):  # the overflow is the point (the server's thread warns of it)
        reply = post(client, "/api/train/step", {"steps": 1})
        assert reply.status_code in (200, 422), reply.text
        state = client.get("/api/train/state")
        assert state.status_code == 200, state.text
        norms = state.json()["grad_norms"]
        assert all(np.isfinite(norms))
        if reply.status_code == 200:
            assert reply.json() == state.json()
    from chainrule.web.training import _grad_norm

    layer = cr.nn.Linear(2, 2, rng=0, dtype="float64")
    layer.weight.grad = cr.tensor(np.full((2, 2), 3e200))
    layer.bias.grad = cr.tensor(np.full(2, 4e200))
    assert _grad_norm(layer) == pytest.approx(np.sqrt(4 * 9 + 2 * 16) * 1e200, rel=1e-14)


def test_a_step_refused_after_others_in_one_request_says_where_the_run_is():
    from chainrule.errors import UserError
    from chainrule.web import api
    from chainrule.web.schemas import TrainStepRequest
    from chainrule.web.training import start_run

    run = start_run("xor", [2], optimizer="sgd", lr=1.0)
    real_step, calls = run.step, []

    def third_diverges():
        calls.append(1)
        if len(calls) == 3:
            raise UserError("training diverged at step 3: ...")
        return real_step()

    run.step = third_diverges

    class Session:
        training = run

    with pytest.raises(UserError, match="The 2 steps before it in this request were taken: "
                                        "the run is at step 2"):  # fmt: skip
        api.train_step(TrainStepRequest(steps=5), Session())


# -- bad requests ----------------------------------------------------------------------------------


def bad(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    for word in words:
        assert word in message, message


def test_a_check_of_the_whole_request_names_its_field_once(client, seed):
    """A model validator's error has no location of its own; its message names the field, so
    the error reads 'invalid request: unit: ...', not 'invalid request: body: unit: ...'."""
    refused = post(client, "/api/paths", {"network": seed, "layer": 0, "unit": 5})
    assert refused.status_code == 422
    assert refused.json()["error"].startswith("invalid request: unit: layer 0 has units 0..")
    assert refused.json()["details"][0]["loc"] == "body"


def test_nan_and_infinity_are_refused(client, seed):
    text = json.dumps({"network": seed}).replace("0.15", "NaN", 1)
    bad(client.post("/api/backward", content=text), 422, "weights[0][0][0]", "finite")
    text = json.dumps({"network": seed}).replace("0.15", "Infinity", 1)
    bad(client.post("/api/backward", content=text), 422, "finite")
    text = json.dumps({"network": seed}).replace("0.15", "1e400", 1)
    bad(client.post("/api/backward", content=text), 422, "finite")


def test_wrong_shapes_are_named(client, seed):
    wrong = {**seed, "weights": [seed["weights"][0], [[1.0, 2.0], [3.0, 4.0]]]}
    bad(post(client, "/api/backward", {"network": wrong}), 422, "weights[1]", "(2, 3)")
    bad(post(client, "/api/backward", {"network": {**seed, "input": [1.0]}}), 422, "input")
    bad(post(client, "/api/backward", {"network": {**seed, "target": [1.0]}}), 422, "target")
    bad(
        post(client, "/api/backward", {"network": {**seed, "biases": [[0.0], [0.0]]}}),
        422,
        "biases[0]",
    )
    bad(
        post(client, "/api/backward", {"network": {**seed, "weights": seed["weights"][:1]}}),
        422,
        "weights",
    )


def test_unknown_fields_are_refused(client, seed):
    bad(post(client, "/api/backward", {"network": seed, "extra": 1}), 422, "extra")
    bad(
        post(client, "/api/backward", {"network": {**seed, "momentum": 0.9}}),
        422,
        "network.momentum",
    )


def test_too_many_layers_and_units_are_refused(client, seed):
    bad(post(client, "/api/network/new", {"sizes": [2] * (s.MAX_LAYERS + 1)}), 422, "sizes")
    bad(post(client, "/api/network/new", {"sizes": [2, s.MAX_UNITS + 1]}), 422, "sizes[1]")
    bad(post(client, "/api/network/new", {"sizes": [2, 0]}), 422, "sizes[1]")
    bad(post(client, "/api/train/start", {"dataset": "xor", "hidden": [4] * 7}), 422, "hidden")


def test_oversized_bodies_are_refused_by_length_and_by_bytes(client, seed):
    big = json.dumps({"network": seed, "pad": "x" * s.MAX_BODY_BYTES})
    bad(client.post("/api/backward", content=big), 413, "limit")

    def chunks():  # no Content-Length: the server must count what actually arrives
        for _ in range(20):
            yield b" " * 65536

    bad(client.post("/api/backward", content=chunks()), 413, "limit")


def test_a_lying_content_length_does_not_get_past_the_limit():
    """Content-Length says 10 bytes, 1.25 MiB arrive: the server counts the bytes themselves."""
    import asyncio

    app = create_app()
    chunks = [b" " * 65536] * 20
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/api/backward", "raw_path": b"/api/backward",
        "query_string": b"", "headers": [(b"content-length", b"10"), (b"host", b"127.0.0.1"),
                    (b"content-type", b"application/json")], "http_version": "1.1",
        "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
        "root_path": "",
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert b"limit" in b"".join(m.get("body", b"") for m in sent[1:])


def test_bad_json_wrong_types_and_bad_values(client, seed):
    bad(client.post("/api/backward", content=b"{"), 422, "not valid JSON")
    bad(client.post("/api/backward", content=b"[]"), 422)
    bad(post(client, "/api/backward", {"network": {**seed, "input": ["1", "2"]}}), 422, "input")
    bad(post(client, "/api/backward", {"network": {**seed, "input": [True, False]}}), 422, "input")
    bad(
        post(client, "/api/backward", {"network": {**seed, "activation": "swish"}}),
        422,
        "activation",
    )
    bad(
        post(client, "/api/backward", {"network": {**seed, "loss": "cross-entropy"}}),
        422,
        "softmax",
    )
    bad(post(client, "/api/paths", {"network": seed, "layer": 2, "unit": 0}), 422, "top layer")
    bad(post(client, "/api/paths", {"network": seed, "layer": 0, "unit": 5}), 422, "unit")
    bad(post(client, "/api/nudge", {"network": seed, "layer": 0, "unit": 0, "eps": 3}), 422, "eps")
    bad(post(client, "/api/export", {"network": seed, "format": "pdf"}), 422, "format")
    bad(post(client, "/api/derivation", {"network": seed, "layer": 1}), 422, "both")
    bad(post(client, "/api/train/start", {"dataset": "mnist"}), 422, "dataset")
    bad(post(client, "/api/train/step", {"steps": s.MAX_TRAIN_STEPS + 1}), 422, "steps")
    json_type = {"content-type": "application/json"}
    bad(
        client.post("/api/train/reset", content=b'{"x": 1}', headers=json_type),
        422,
        "no request body",
    )
    bad(
        client.post("/api/train/reset", content=b"not json", headers=json_type),
        422,
        "no request body",
    )
    assert client.get("/api/backward").status_code == 405


def test_huge_but_finite_numbers_never_crash(client):
    net = post(
        client,
        "/api/network/new",
        {"sizes": [64] * 8, "activation": "relu", "output": "linear", "seed": 0},
    ).json()
    net["weights"] = [[[s.MAX_MAGNITUDE] * len(r) for r in w] for w in net["weights"]]
    net["input"] = [s.MAX_MAGNITUDE] * 64
    response = post(client, "/api/backward", {"network": net})
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert "finite" in response.json()["error"]


# -- the documentation ----------------------------------------------------------------------------


def test_openapi_documents_every_endpoint(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for endpoint in ENDPOINTS:
        operation = doc["paths"][endpoint.path][endpoint.method.lower()]
        assert operation["summary"]
        if endpoint.request is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"]
    network = doc["components"]["schemas"]["Network"]
    assert network["additionalProperties"] is False
    assert network["properties"]["sizes"]["maxItems"] == s.MAX_LAYERS


def test_page_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for name in ("app.js", "style.css"):
        assert f"/static/{name}" in page.text
        assert client.get(f"/static/{name}").status_code == 200
    assert "http" not in "".join(  # no CDN: nothing is fetched from elsewhere
        line for line in page.text.splitlines() if "src=" in line or "href=" in line
    )


def test_serve_refuses_a_busy_port_with_one_line():
    import socket

    from chainrule.cli.serve import serve
    from chainrule.errors import UserError

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve(
                host="127.0.0.1",
                port=port,
                open_browser=False,
                max_sessions=4,
                model=None,
                case=None,
            )


def test_an_unforeseen_failure_is_still_the_json_error_body(monkeypatch) -> None:
    """A bug behind an endpoint answers 500 with the API's JSON error, naming the endpoint and
    the exception, not a plain-text page the explorer cannot show."""
    from chainrule.web import network

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(network, "nudge", broken)
    client = TestClient(create_app(), base_url=LOCAL, raise_server_exceptions=False,
                        headers={"content-type": "application/json"})  # fmt: skip
    seed = client.get("/api/seed").json()
    response = client.post("/api/nudge", json={"network": seed, "layer": 1, "unit": 0, "eps": 0.1})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"].startswith("internal error in /api/nudge: RuntimeError: a bug")


def _float32_model_e(network: dict) -> float:
    from chainrule.tensor import Tensor
    from chainrule.web.network import NetworkState

    state = NetworkState.from_json(network)
    x = Tensor(np.asarray([network["input"]], dtype=np.float32))
    t = np.asarray([network["target"]], dtype=np.float32)
    return float(state.loss_object()(state.model()(x), t).numpy())


def test_nudge_reports_the_models_own_e_for_a_float32_network(client, seed):
    """E_before was the perturbation view's float64 forward pass: another E than backward's."""
    network = {**seed, "dtype": "float32"}
    backward = post(client, "/api/backward", {"network": network}).json()
    nudge = post(client, "/api/nudge", {"network": network, "layer": 1, "unit": 0, "eps": 0.0})
    assert nudge.json()["E_before"] == backward["E"] == _float32_model_e(network)


OVERFLOWING = {"sizes": [1, 1, 1, 1], "weights": [[[1e6]]] * 3, "biases": [[0.0]] * 3,
               "activation": "relu", "output": "linear", "loss": "squared-error",
               "input": [1e6], "target": [1.0], "dtype": "float32"}  # fmt: skip


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize(
    ("path", "extra"),
    [("/api/backward", {}), ("/api/nudge", {"layer": 0, "unit": 0, "eps": 1.0}),
     ("/api/export", {"format": "markdown"}), ("/api/derivation", {})],
)  # fmt: skip
def test_a_network_whose_numbers_overflow_is_refused_by_every_view(client, path, extra):
    response = post(client, path, {"network": OVERFLOWING, **extra})
    assert response.status_code == 422, response.text
    assert "not finite" in response.json()["error"]


@pytest.mark.parametrize("declared", [b"\xb2", b"\xb9\xb2", b"-1", b"1e3"])  # latin-1: "²", "¹²"
def test_a_content_length_that_is_not_ascii_digits_is_a_400(declared):
    """'²' passed str.isdigit and int() then raised: a 500 under a server that lets it through."""
    import asyncio

    from starlette.requests import Request

    from chainrule.web.api import HTTPProblem, read_body

    scope = {"type": "http", "method": "POST", "path": "/api/backward",
             "headers": [(b"content-length", declared)]}  # fmt: skip
    with pytest.raises(HTTPProblem) as caught:
        asyncio.run(read_body(Request(scope)))
    assert caught.value.status == 400 and "not a number of bytes" in caught.value.message
