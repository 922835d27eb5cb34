"""Gradient health measures relu and tanh layers too: a relu layer's share is of its units off
on every case (dead), named by number; a tanh layer's of its (case, unit) pairs with slope
1 - y^2 below the threshold, as a logistic layer's with y (1 - y). Oracle: NumPy from the
weights."""

import warnings

import numpy as np

from chainrule import data, nn, optim, train
from chainrule.explainer import health

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 4))
T = rng.normal(size=(40, 2))


def relu_net():
    """4 -> 6 relu -> 5 relu -> 2, trained, with unit 3 of layer 1 dead on purpose (a bias of
    -100: off on every case, so no gradient ever moves it back)."""
    model = nn.mlp([4, 6, 5, 2], activation="relu", dtype=np.float64, rng=3, init="he")
    model[0].bias.data[2] = -100.0
    opt = optim.SGD(model.parameters(), lr=0.02)
    for _ in range(30):
        opt.zero_grad()
        nn.SquaredError()(model(X), T).backward()
        opt.step()
    return model


def relu_layers(model, x):
    h1 = np.maximum(x @ model[0].weight.numpy() + model[0].bias.numpy(), 0)
    h2 = np.maximum(h1 @ model[2].weight.numpy() + model[2].bias.numpy(), 0)
    return {"1": h1, "2": h2}


def dead_by_hand(h):
    return [int(i) + 1 for i in np.flatnonzero(np.all(h == 0, axis=0))]


def test_a_relu_layers_share_and_numbers_are_its_units_off_on_every_case():
    model = relu_net()
    layers = relu_layers(model, X)
    assert 3 in dead_by_hand(layers["1"])  # the unit made dead
    assert 0 < np.mean(layers["1"] == 0) < 1  # off on some cases: not what is counted
    shares = health.saturation(model, X)
    assert shares == {k: float(np.mean(np.all(h == 0, axis=0))) for k, h in layers.items()}
    assert shares["1"] >= 1 / 6 and shares["2"] < 1  # not a layer dead as a whole
    assert health.dead_units(model, X) == {k: dead_by_hand(h) for k, h in layers.items()}


def test_tanh_and_logistic_layers_use_their_own_slopes():
    model = nn.Sequential(
        nn.Linear(4, 6, dtype="float64", rng=1), nn.Tanh(),
        nn.Linear(6, 5, dtype="float64", rng=2), nn.ReLU(),
        nn.Linear(5, 3, dtype="float64", rng=3), nn.Logistic(),
    )  # fmt: skip
    model[0].weight.data[...] *= 12  # some tanh units saturate on some cases
    model[0].weight.data[:, 4] = 0
    model[0].bias.data[4] = 4.0  # tanh unit 5 saturated on every case (1 - y^2 < 0.01)
    model[4].weight.data[...] *= 30
    W = [model[k].weight.numpy() for k in (0, 2, 4)]
    b = [model[k].bias.numpy() for k in (0, 2, 4)]
    h1 = np.tanh(X @ W[0] + b[0])
    h2 = np.maximum(h1 @ W[1] + b[1], 0)
    y = 1 / (1 + np.exp(-(h2 @ W[2] + b[2])))
    tanh_saturated = 1 - h1**2 < 0.01
    assert 0 < tanh_saturated.mean() < 1
    expected = {
        "1": float(tanh_saturated.mean()),
        "2": float(np.mean(np.all(h2 == 0, axis=0))),
        "3": float(np.mean(y * (1 - y) < 0.01)),
    }
    shares = health.saturation(model, X)
    assert shares.keys() == expected.keys()
    np.testing.assert_allclose([shares[k] for k in expected], list(expected.values()), atol=1e-12)
    dead = health.dead_units(model, X)
    assert dead["1"] == [int(i) + 1 for i in np.flatnonzero(tanh_saturated.all(axis=0))]
    assert 5 in dead["1"]
    assert dead["2"] == dead_by_hand(h2)


def test_the_callback_records_relu_shares_and_dead_units_and_plots(tmp_path):
    model = relu_net()
    watch = health.GradientHealth()
    ds = data.Dataset(X, T, "regression")
    train.fit(model, nn.SquaredError(), optim.SGD(model.parameters(), lr=0.02), ds, epochs=2,
              batch_size=40, callbacks=[watch], progress=False)  # fmt: skip
    layers = relu_layers(model, X)
    last = watch.history[-1]
    assert last["saturation"] == {
        k: float(np.mean(np.all(h == 0, axis=0))) for k, h in layers.items()
    }
    assert last["dead_units"] == {k: dead_by_hand(h) for k, h in layers.items()}
    assert 3 in last["dead_units"]["1"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = watch.plot(tmp_path / "health.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
