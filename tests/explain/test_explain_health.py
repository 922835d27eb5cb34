"""Gradient health: saturated logistic units are counted and the callback records and plots."""

import numpy as np

from chainrule import data, nn, optim, train
from chainrule.explainer.health import GradientHealth, saturation


def test_saturation_share_matches_a_direct_count():
    model = nn.mlp([2, 4, 1], output="logistic", dtype=np.float64, rng=0)
    model[0].weight.data[:] = np.array([[30.0, 0.1, -30.0, 0.2], [0.0, 0.0, 0.0, 0.0]])
    x = np.array([[1.0, 0.0], [-1.0, 0.0]])
    shares = saturation(model, x)
    h = 1 / (1 + np.exp(-(x @ model[0].weight.data + model[0].bias.data)))
    assert shares["1"] == np.mean(h * (1 - h) < 0.01) == 0.5


def test_callback_records_norms_and_plots(tmp_path):
    ds = data.load("xor")
    model = nn.mlp([2, 3, 1], output="logistic", dtype=np.float64, rng=0)
    health = GradientHealth()
    train.fit(
        model,
        nn.SquaredError(),
        optim.SGD(model.parameters(), lr=0.5),
        ds,
        epochs=3,
        callbacks=[health],
        progress=False,
    )
    assert [h["epoch"] for h in health.history] == [1, 2, 3]
    assert set(health.history[0]["grad_norms"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert all(v > 0 for v in health.history[-1]["grad_norms"].values())
    path = health.plot(tmp_path / "health.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_network_without_logistic_layers_plots_without_a_warning(tmp_path):
    """tanh hidden units' saturated share (|y| > 0.995, slope 1 - y^2 < 0.01: session 70) is
    drawn without matplotlib's 'No artists with labels found to put in legend' warning, which
    an empty plot once gave on the user's terminal."""
    import warnings

    model = nn.mlp([2, 3, 1], activation="tanh", output="identity", dtype=np.float64, rng=0)
    health = GradientHealth()
    train.fit(model, nn.SquaredError(), optim.SGD(model.parameters(), lr=0.1), data.load("xor"),
              epochs=2, callbacks=[health], progress=False)  # fmt: skip
    assert all(set(h["saturation"]) == {"1"} for h in health.history)  # the tanh layer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = health.plot(tmp_path / "health.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def fit_xor(health, epochs, checkpoint_dir, resume=None):
    model = nn.mlp([2, 3, 1], output="logistic", dtype=np.float64, rng=0)
    callbacks = [] if health is None else [health]
    train.fit(model, nn.SquaredError(), optim.SGD(model.parameters(), lr=0.5, momentum=0.9),
              data.load("xor"), epochs=epochs, callbacks=callbacks, progress=False,
              checkpoint_dir=checkpoint_dir, resume=resume)  # fmt: skip


def test_checkpoints_carry_the_history_so_a_resumed_run_has_every_epoch(tmp_path):
    whole = GradientHealth()
    fit_xor(whole, 8, tmp_path / "whole")
    fit_xor(GradientHealth(), 5, tmp_path / "part")
    resumed = GradientHealth()
    fit_xor(resumed, 8, tmp_path / "part", resume=tmp_path / "part")
    assert [h["epoch"] for h in resumed.history] == list(range(1, 9))
    assert resumed.history == whole.history


def test_a_checkpoint_without_the_history_starts_it_at_the_resumed_epoch(tmp_path):
    fit_xor(None, 3, tmp_path / "ck")
    health = GradientHealth()
    fit_xor(health, 5, tmp_path / "ck", resume=tmp_path / "ck")
    assert [h["epoch"] for h in health.history] == [4, 5]
    scalars, arrays = health.state()
    again = GradientHealth()
    again.load_state(scalars, arrays)
    assert again.history == health.history and again.history is not health.history


def _fit_with_dropout(callbacks):
    model = nn.Sequential(
        nn.Linear(2, 6, rng=0), nn.Logistic(), nn.Dropout(0.3, rng=1), nn.Linear(6, 1, rng=2)
    )
    optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    train.fit(model, nn.SquaredError(), optimizer, data.load("xor"), epochs=4,
              callbacks=callbacks, progress=False)  # fmt: skip
    return model


def test_watching_a_run_with_dropout_leaves_its_weights_as_they_were():
    """The probe runs in eval mode: in training mode it drew dropout masks from the run's own
    generator, so every later mask, and the trained weights, changed."""
    health = GradientHealth()
    watched, unwatched = _fit_with_dropout([health]), _fit_with_dropout([])
    for name, value in unwatched.state_dict().items():
        np.testing.assert_array_equal(watched.state_dict()[name], value, err_msg=name)
    assert watched.training  # left in the mode it was in


def test_saturation_is_measured_without_dropout():
    model = nn.Sequential(nn.Linear(2, 200, rng=0), nn.Dropout(0.5, rng=1), nn.Logistic())
    x = np.array([[24.0, -16.0], [4.0, 0.8]])
    h = 1 / (1 + np.exp(-(x @ model[0].weight.data + model[0].bias.data)))
    expected = np.mean(h * (1 - h) < 0.01)
    assert 0.1 < expected < 0.5  # dropout's zeros and doubled inputs would move the share
    assert [saturation(model, x)["1"] for _ in range(3)] == [expected] * 3


def test_saturation_is_keyed_by_the_layers_explain_numbers():
    """The second hidden layer sits at position 3 of the Sequential: keyed "3", the train
    summary read "layer 3: 2%", which in explain's numbering (--unit 3:1) is the output."""
    model = nn.mlp([2, 4, 3, 2], output=None, dtype=np.float64, rng=0)
    x = np.array([[1.0, 0.0], [-1.0, 0.5]])
    shares = saturation(model, x)
    assert sorted(shares) == ["1", "2"]
    h1 = 1 / (1 + np.exp(-(x @ model[0].weight.data + model[0].bias.data)))
    h2 = 1 / (1 + np.exp(-(h1 @ model[2].weight.data + model[2].bias.data)))
    assert shares["2"] == np.mean(h2 * (1 - h2) < 0.01)
