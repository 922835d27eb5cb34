"""``chainrule serve --model RUN --case K``: the explorer opened on a model trained by ``chainrule
train`` shows that model: its outputs for the case, its own loss and its own backward()."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient

from chainrule import io, nn
from chainrule.cli import main
from chainrule.cli.serve import trained_case
from chainrule.cli.train import load_trained
from chainrule.errors import UserError
from chainrule.tensor import Tensor
from chainrule.train import runs
from chainrule.train.metrics import target_array
from chainrule.web import create_app


def own_numbers(run_dir, case):
    """The model's own outputs (as probabilities), loss and backward() on that case."""
    model, info, loss = load_trained(run_dir)
    prepared = runs.load_data(runs.RunConfig.from_json(info["meta"]["run"]))
    ds = prepared.test
    n_out = model[-1].n_out if isinstance(model[-1], nn.Linear) else model[-2].n_out
    t = target_array(ds, loss, n_out, model.dtype)[case : case + 1]
    model.zero_grad()
    out = model(Tensor(ds.X[case : case + 1].astype(model.dtype)))  # as the trainer casts
    E = loss(out, t)
    E.backward()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    grads = [(m.weight.grad.numpy(), m.bias.grad.numpy()) for m in linears]
    return loss.probabilities(out.numpy())[0], float(E.item()), grads


@pytest.mark.parametrize(
    "name",
    ["digits", "csv cross-entropy", "csv squared-error", "csv mse", "csv binary-cross-entropy"],
)
def test_the_explorer_shows_the_trained_model_and_its_own_loss(trained_run, name):
    case = 3
    state = trained_case(trained_run(name), case)
    client = TestClient(create_app(start=state), base_url="http://127.0.0.1")
    network = client.get("/api/seed").json()
    assert network["sizes"] == state.sizes
    shown = client.post("/api/backward", json={"network": network}).json()
    outputs, E, grads = own_numbers(trained_run(name), case)
    np.testing.assert_allclose(shown["layers"][-1]["y"], outputs, rtol=1e-4, atol=1e-6)
    assert shown["E"] == E  # the model's own dtype: a float64 rebuild differed in the 4th digit
    for k, (dW, db) in enumerate(grads):
        np.testing.assert_allclose(shown["dE_dw"][k], dW, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(shown["dE_db"][k], db, rtol=1e-3, atol=1e-6)
    paths = client.post("/api/paths", json={"network": network, "layer": 1, "unit": 0}).json()
    # the terms added up in float64 against the float32 engine's own sum: float32 rounding
    assert paths["sum_of_terms"] == pytest.approx(paths["dE_dy"], rel=1e-5, abs=1e-9)
    assert len(paths["terms"]) == state.sizes[2]  # every path, never a window's share


def test_a_run_directory_may_be_given_as_a_string(trained_run):
    """docs/web.md: trained_case(run, case) makes the explorer's state from a run directory."""
    run = trained_run("csv mse")
    by_string, by_path = trained_case(str(run), 2), trained_case(run, 2)
    assert by_string.sizes == by_path.sizes
    np.testing.assert_array_equal(by_string.input, by_path.input)
    np.testing.assert_array_equal(by_string.target, by_path.target)


def test_a_case_out_of_range_and_a_model_too_big_get_one_line(trained_run, tmp_path):
    with pytest.raises(UserError, match="cases 0 to"):
        trained_case(trained_run("csv mse"), 10_000)
    io.save_model(tmp_path / "wide", nn.mlp([64, 300, 10], rng=0), loss=nn.CrossEntropy())
    with pytest.raises(UserError, match="64-300-10 network is too big .* at most 8 layers, 128"):
        trained_case(tmp_path / "wide", 0)


def test_serve_refuses_a_model_it_cannot_show_with_one_line(tmp_path, capsys):
    io.save_model(tmp_path / "wide", nn.mlp([64, 300, 10], rng=0), loss=nn.CrossEntropy())
    assert main(["serve", "--model", str(tmp_path / "wide"), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "too big for the explorer" in err[0]
