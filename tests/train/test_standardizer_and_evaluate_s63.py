"""fit's standardizer= is recorded with the model, never applied: data it did not scale is
refused before anything trains (chainrule predict and evaluate would scale rows the model never
saw scaled: 57.5% where the library said 70%); and the evaluation at every epoch's end runs the
network on predict's chunks of rows, not on the whole training set at once (3.5 GB for a
200k-row set), its loss still the loss over every case."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import data, nn
from chainrule.errors import ConfigError
from chainrule.train.metrics import evaluate, predict


def _raw(n=200, seed=0, loc=100.0, scale=10.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=loc, scale=scale, size=(n, 3))
    y = (X[:, 0] > loc).astype(int)
    ds = data.Dataset(X=X, y=y, task="classification", feature_names=["a", "b", "c"])
    return data.split(ds, val=0.1, test=0.2, seed=seed)


def _scaled(part, scaler):
    return data.Dataset(X=scaler.transform(part.X), y=part.y, task=part.task,
                        feature_names=part.feature_names)  # fmt: skip


def _fit(train, val, standardizer, epochs=0, **options):
    net = nn.mlp([3, 4, 2], rng=0)
    opt = cr.optim.Adam(net.parameters(), lr=0.01)
    history = cr.train.fit(net, nn.CrossEntropy(), opt, train, val, epochs=epochs,
                           batch_size=16, progress=False, standardizer=standardizer,
                           **options)  # fmt: skip
    return net, history


def test_raw_training_data_with_its_standardizer_is_refused(tmp_path):
    train, val, _ = _raw()
    scaler = data.Standardizer().fit(train.X)
    net = nn.mlp([3, 4, 2], rng=0)
    before = [p.numpy().copy() for p in net.parameters()]
    opt = cr.optim.Adam(net.parameters(), lr=0.01)
    with pytest.raises(ConfigError) as caught:
        cr.train.fit(net, nn.CrossEntropy(), opt, train, val, epochs=3, batch_size=16,
                     progress=False, standardizer=scaler,
                     checkpoint_dir=tmp_path / "ck")  # fmt: skip
    message = str(caught.value)
    assert "train_ds" in message and "column 0 ('a')" in message
    assert f"mean {train.X[:, 0].mean():.4g}" in message
    assert "standardizer.transform(X)" in message and "drop standardizer=" in message
    for old, new in zip(before, net.parameters()):  # nothing trained
        np.testing.assert_array_equal(old, new.numpy())
    assert not list((tmp_path / "ck").glob("epoch-*"))


def test_the_state_dict_of_a_standardizer_is_checked_too():
    train, val, _ = _raw()
    state = data.Standardizer().fit(train.X).state()
    with pytest.raises(ConfigError, match="train_ds"):
        _fit(train, val, state)
    # a standardizer of mean about 0 and std about 1 scales rows to about what they were: both
    # look scaled, and a fit on them is no mistake to refuse
    near, _, _ = _raw(loc=0.0, scale=1.0)
    _fit(near, None, data.Standardizer().fit(near.X).state(), epochs=1)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    ratio=st.floats(5, 1e3),
    sign=st.sampled_from([-1, 1]),
    scale=st.floats(1e-3, 1e3),
)
def test_scaled_splits_pass_and_raw_ones_are_refused(seed, ratio, sign, scale):
    """A standardizer fitted on the training part, or on the whole set before splitting (the
    parts' means are then not exactly 0): the scaled parts train, a small validation part
    included; the raw ones are refused."""
    train, val, _ = _raw(seed=seed, loc=sign * ratio * scale, scale=scale)
    for scaler in (data.Standardizer().fit(train.X),
                   data.Standardizer().fit(np.concatenate([train.X, val.X]))):  # fmt: skip
        _fit(_scaled(train, scaler), _scaled(val, scaler), scaler)
        with pytest.raises(ConfigError):
            _fit(train, val, scaler)


class Rows(nn.Module):
    """Passes its input on, noting how many rows each call in eval mode ran on."""

    def __init__(self):
        super().__init__()
        self.seen: list[int] = []

    def forward(self, x):
        if not self.training:
            self.seen.append(int(x.shape[0]))
        return x


def test_evaluate_runs_the_network_in_chunks_and_sums_every_case():
    rows = Rows()
    model = nn.Sequential(nn.Linear(2, 3, rng=0), rows)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(9000, 2)), rng.normal(size=(9000, 3))
    ds = data.Dataset(X=X, y=Y, task="regression")
    result = evaluate(model, nn.SquaredError(reduction="sum"), ds)
    assert rows.seen and max(rows.seen) <= 4096 and sum(rows.seen) == 9000
    outputs = predict(model, X)
    assert result["loss"] == pytest.approx(0.5 * ((outputs - Y) ** 2).sum(), rel=1e-5)


def test_the_epochs_evaluation_runs_in_chunks_and_its_loss_is_the_whole_sets():
    rows = Rows()
    model = nn.Sequential(nn.Linear(2, 2, rng=0), rows)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(5000, 2)), rng.normal(size=(5000, 2))
    ds = data.Dataset(X=X, y=Y, task="regression")
    loss = nn.SquaredError(reduction="sum")
    opt = cr.optim.SGD(model.parameters(), lr=1e-6)
    history = cr.train.fit(model, loss, opt, ds, epochs=1, batch_size=5000, progress=False)
    assert rows.seen and max(rows.seen) <= 4096  # the training step itself takes all 5000
    expected = 0.5 * ((predict(model, X).astype(np.float64) - Y) ** 2).sum()
    assert history.last["loss"] == pytest.approx(expected, rel=1e-5)
    assert history.last["loss"] == pytest.approx(evaluate(model, loss, ds)["loss"], rel=1e-6)
