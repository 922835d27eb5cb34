"""The explorer's API leftovers (s60), each against the library's own answer:

- ``/api/paths`` showed a finite difference of 0 beside an engine dE/dy_i of 1e72 with no word
  (8 relu layers of weights 1e6, within the page's limits): a step's change in E there is lost
  to E's rounding. It now carries the explainer's check of that dE/dy_i (its step, its
  tolerance, ``verdict``): ``fd_ok`` null and ``fd_note`` "not resolvable at this size";
- a ``NetworkState`` made in Python with ``frozen`` and no ``names`` explained every parameter
  as trainable (``frozen`` ignored), where the request schema refuses it: now refused too;
- a model in training mode with dropout: ``cr.explain`` notes that its numbers are the
  network's in evaluation; the page's derivation and export lacked the note;
- which losses take a ``reduction`` was ``loss != "squared-error"`` in the schema: now the
  library's loss says it (``loss_from_name(name, reduction=...)`` builds one or refuses).
"""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
pytest.importorskip("pydantic")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule import nn  # noqa: E402
from chainrule.explainer import ExplainError, explain, render, to_dict  # noqa: E402
from chainrule.nn import losses as library_losses  # noqa: E402
from chainrule.web import create_app  # noqa: E402
from chainrule.web import network as web_network  # noqa: E402
from chainrule.web import schemas as s  # noqa: E402
from chainrule.web.network import MAX_CHECKS, NetworkState  # noqa: E402

LAYERS = 8  # the page's most
#: one relu unit per layer, every weight 1e6 (the page's bound), input 1, target 0: y of layer
#: l is 1e6^l, so dE/dy_l = y_top * 1e6^(7 - l) = 1e6^(14 - l) exactly (E = y_top^2 / 2)
TALL = {
    "sizes": [1] * LAYERS,
    "weights": [[[1e6]]] * (LAYERS - 1),
    "biases": [[0.0]] * (LAYERS - 1),
    "activation": "relu",
    "output": "linear",
    "loss": "squared-error",
    "input": [1.0],
    "target": [0.0],
}


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), base_url="http://127.0.0.1")


def paths_of(client, network: dict, layer: int, unit: int = 0) -> dict:
    response = client.post("/api/paths", json={"network": network, "layer": layer, "unit": unit})
    assert response.status_code == 200, response.text
    s.PathsResponse.model_validate(response.json())  # the schema admits the answer
    return response.json()


# -- 2. a finite difference that cannot resolve dE/dy_i says so ----------------------------------


def test_a_difference_lost_to_rounding_says_it_is_no_check(client):
    state = NetworkState.from_json(TALL)
    whole = state.derivation(check=True, max_checks=MAX_CHECKS)  # the explainer's own checks
    unresolved = 0
    for layer in range(LAYERS - 1):
        body = paths_of(client, TALL, layer)
        assert body["dE_dy"] == pytest.approx(1e6 ** (14 - layer), rel=1e-12)  # closed form
        # the page's check of this dE/dy_i is the whole derivation's: step, number, verdict
        own = whole.dE_dy(layer, 0)
        assert body["finite_difference"] == own.numeric
        assert body["fd_ok"] == (None if own.near_zero else own.ok)
        if body["finite_difference"] == 0.0:  # the step's change lost to E's rounding
            unresolved += 1
            assert body["fd_ok"] is None, body
            assert body["fd_note"].startswith("not resolvable at this size"), body
        if body["fd_ok"] is None:
            assert body["fd_note"], body
    assert unresolved >= 5  # layers 1..6 under the old step of 1e-6 read a difference of 0
    # the first layer's difference resolves dE/dy_0 = 1e84: a check, and it agrees
    first = paths_of(client, TALL, 0)
    assert first["fd_ok"] is True and first["fd_note"] is None
    assert first["finite_difference"] == pytest.approx(1e84, rel=1e-4)


def test_an_ordinary_unit_is_checked_and_a_wrong_value_fails(client, monkeypatch):
    seed = client.get("/api/seed").json()
    body = paths_of(client, seed, 1, 0)
    assert body["fd_ok"] is True and body["fd_note"] is None and body["kink"] is False
    assert body["finite_difference"] == pytest.approx(body["dE_dy"], rel=1e-6)
    # an engine whose dE/dy is twice the right one: the same check says it disagrees
    derivation = NetworkState.derivation

    def doubled(self, *args, **options):
        d = derivation(self, *args, **options)
        for record in d.layers:
            if record.dE_dy is not None:
                record.dE_dy = 2 * record.dE_dy
        return d

    monkeypatch.setattr(NetworkState, "derivation", doubled)
    wrong = web_network.paths(NetworkState.from_json(seed), 1, 0)
    assert wrong["fd_ok"] is False and wrong["fd_note"].startswith("disagrees"), wrong


def test_a_difference_that_overflows_is_no_check_and_no_refusal(client, monkeypatch):
    """E finite but E at y_i +- the step not: the answer was a 422 (JSON holds no NaN)."""
    seed = client.get("/api/seed").json()
    monkeypatch.setattr(web_network, "central_dE_dy", lambda *a, **k: float("nan"))
    body = paths_of(client, seed, 1, 0)
    assert body["finite_difference"] is None and body["fd_ok"] is None and not body["kink"]
    assert "overflowed" in body["fd_note"], body


def test_a_relu_kink_is_still_left_out(client):
    kinked = {
        "sizes": [1, 1, 1, 1], "weights": [[[-1.0]], [[1.0]], [[2.0]]],
        "biases": [[0.0], [0.0], [0.0]], "activation": "relu", "output": "linear",
        "loss": "squared-error", "input": [1.0], "target": [1.0],
    }  # fmt: skip
    body = paths_of(client, kinked, 0)
    assert body["kink"] is True and body["finite_difference"] is None and body["fd_ok"] is None
    assert "kink" in body["fd_note"]


# -- 3. frozen without names -----------------------------------------------------------------------


def _seed_state(**changes) -> NetworkState:
    spec = NetworkState.from_json(web_network.seed_state().to_json()).to_json()
    spec.update(changes)
    return NetworkState.from_json(spec)


def test_frozen_without_names_is_refused_in_python_as_the_schema_refuses_it():
    with pytest.raises(ExplainError, match=r"frozen: names parameters of `names`"):
        _seed_state(frozen=["0.weight"])
    base = web_network.seed_state()
    with pytest.raises(ExplainError, match=r"frozen: names parameters of `names`"):
        NetworkState(sizes=base.sizes, weights=base.weights, biases=base.biases,
                     input=base.input, target=base.target, frozen=["0.weight"])  # fmt: skip
    state = web_network.seed_state()
    state.frozen = ["0.weight"]  # set after it was made: refused where it would be ignored
    with pytest.raises(ExplainError, match=r"frozen: names parameters of `names`"):
        state.derivation()
    named = [["0.weight", "0.bias"], ["2.weight", "2.bias"]]
    with pytest.raises(ExplainError, match=r"frozen: '9.bias' is not one of"):
        _seed_state(names=named, frozen=["9.bias"])
    # with names, frozen is honoured: its dE/dw is noted as explain notes a frozen parameter
    honoured = _seed_state(names=named, frozen=["0.weight"])
    notes = honoured.derivation().notes
    assert any(note.startswith("Frozen (requires_grad=False): ") for note in notes), notes


def test_the_schema_and_the_state_refuse_frozen_in_the_same_words(client):
    spec = web_network.seed_state().to_json()
    spec["frozen"] = ["0.weight"]
    response = client.post("/api/backward", json={"network": spec})
    assert response.status_code == 422
    with pytest.raises(ExplainError) as refused:
        NetworkState.from_json(spec)
    problem = web_network.frozen_refusal(None, ["0.weight"])
    assert problem in response.json()["error"] and problem in str(refused.value)


# -- 4. dropout in training mode: explain's note -------------------------------------------------

X, T = [0.5, 0.2], [1.0, 0.0]


def dropout_net() -> nn.Sequential:
    net = nn.Sequential(
        nn.Linear(2, 3, rng=3, dtype="float64"), nn.Tanh(), nn.Dropout(0.5),
        nn.Linear(3, 2, rng=4, dtype="float64"), nn.Logistic(),
    )  # fmt: skip
    net.train()
    return net


def test_the_derivation_and_export_carry_explains_dropout_note(client):
    model = dropout_net()
    wanted = explain(model, [X], [T], nn.SquaredError(), max_checks=MAX_CHECKS)
    note = next(n for n in wanted.notes if "dropout" in n)  # explain's own words
    with pytest.warns(UserWarning, match="dropout"):
        state = NetworkState.from_model(model, X, T, nn.SquaredError())
    network = state.to_json()
    served = client.post("/api/derivation", json={"network": network})
    assert served.status_code == 200, served.text
    shown = served.json()
    assert note in shown["notes"]
    assert shown == to_dict(wanted)  # explain's derivation of the model, its notes in order
    exported = client.post("/api/export", json={"network": network, "format": "markdown"})
    assert exported.status_code == 200, exported.text
    assert exported.json()["text"] == render(wanted, "markdown", host="cli")  # the command's
    # the same model in evaluation has no such note, and neither has its page's network
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = NetworkState.from_model(model, X, T, nn.SquaredError())
    assert "notes" not in quiet.to_json()
    assert not any("dropout" in n for n in quiet.derivation().notes)


# -- 5. which losses take a reduction: the loss says it ---------------------------------------


def test_a_reduction_is_refused_or_taken_as_the_library_loss_says(monkeypatch):
    for name in web_network.PAGE_LOSSES:
        own = library_losses.loss_from_name(name).reduction
        for reduction in ("sum", "mean"):
            try:
                library_losses.loss_from_name(name, reduction=reduction)
                takes = True
            except library_losses.ConfigError:
                takes = reduction == own
            if takes:
                s.check_reduction(name, reduction)
            else:
                with pytest.raises(ValueError, match=f"reduction: loss '{name}' is a {own}"):
                    s.check_reduction(name, reduction)

    class MeanOrSum(library_losses.MSE):
        """An mse that also takes a sum (a library change the schema must follow)."""

        def __init__(self, reduction: str = "mean") -> None:
            self.reduction = reduction

    monkeypatch.setitem(library_losses.LOSSES, "mse", MeanOrSum)
    s.check_reduction("mse", "sum")  # was refused: only squared-error took one
    s.check_reduction("mse", None)

    class SumOnly(library_losses.SquaredError):
        """A squared error that takes no reduction of its own choosing."""

        def __init__(self) -> None:
            super().__init__("sum")

    monkeypatch.setitem(library_losses.LOSSES, "squared-error", SumOnly)
    with pytest.raises(ValueError, match="reduction: loss 'squared-error' is a sum, not a mean"):
        s.check_reduction("squared-error", "mean")  # was taken: the name was enough


@pytest.mark.parametrize("loss", ["mse", "cross-entropy", "binary-cross-entropy"])
def test_a_new_network_with_its_loss_s_own_reduction_named_is_made(loss) -> None:
    """(review) reduction "mean" for a loss whose mean is its own was passed to a class that
    takes no reduction: 422 "MSE() takes no arguments"; loss_object takes it as the default."""
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    output = "softmax" if loss == "cross-entropy" else "logistic"
    body = {"sizes": [2, 3, 2], "output": output, "loss": loss, "reduction": "mean"}
    response = client.post("/api/network/new", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["loss"] == loss
