"""ClipGradNorm: gradient clipping in a fit, and the library's one gradient norm where training
is watched (GradientHealth, the web page's per-layer norms).

The oracle for the callback: a hand-written loop over the same mini-batches that calls
``optim.clip_grad_norm_`` between backward and the step, as a PyTorch user writes it."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim, train
from chainrule.errors import ConfigError, TrainingDiverged

MAX_NORM = 0.05
EPOCHS, BATCH, SEED = 6, 2, 3


def _setup():
    net = nn.mlp([2, 3, 1], output="logistic", rng=0, init_range=1.0, dtype=np.float64)
    opt = optim.SGD(net.parameters(), lr=2.0, momentum=0.9)
    return net, nn.SquaredError(), opt


def _fit(callbacks):
    net, loss, opt = _setup()
    train.fit(net, loss, opt, data.xor(), epochs=EPOCHS, batch_size=BATCH, seed=SEED,
              callbacks=callbacks, progress=False)  # fmt: skip
    return [p.numpy().copy() for p in net.parameters()]


def test_a_fit_with_clip_grad_norm_is_the_loop_that_clips_before_each_step():
    clip = train.ClipGradNorm(MAX_NORM)
    fitted = _fit([clip])

    net, loss, opt = _setup()
    ds = data.xor()
    X, T = np.asarray(ds.X, dtype=np.float64), np.asarray(ds.y, dtype=np.float64)
    rng = np.random.default_rng(SEED)  # the trainer's shuffling generator
    norms = []
    for _ in range(EPOCHS):
        for rows in data.batches(len(X), BATCH, shuffle=True, rng=rng):
            opt.zero_grad()
            loss(net(cr.Tensor(X[rows])), cr.Tensor(T[rows])).backward()
            norms.append(optim.clip_grad_norm_(net.parameters(), MAX_NORM))
            opt.step()
    by_hand = [p.numpy() for p in net.parameters()]

    for ours, theirs in zip(fitted, by_hand):
        np.testing.assert_array_equal(ours, theirs)
    assert clip.last_norm == norms[-1]
    assert max(norms) > MAX_NORM  # it clipped: the fit without it takes other steps
    unclipped = _fit([])
    assert not all(np.array_equal(a, b) for a, b in zip(fitted, unclipped))


def test_the_callback_clips_after_the_other_callbacks_before_it_and_before_the_step():
    seen = []

    class Watch(train.Callback):
        def on_after_backward(self, trainer):
            seen.append(optim.grad_norm(trainer.model.parameters()))

    clip = train.ClipGradNorm(MAX_NORM)
    _fit([clip, Watch()])
    assert max(seen) <= MAX_NORM * (1 + 1e-9)  # a callback after it sees clipped gradients
    assert clip.last_norm > MAX_NORM


@pytest.mark.parametrize(
    "kwargs, message",
    [({"max_norm": -1.0}, r"ClipGradNorm: max_norm must be a number >= 0, not -1.0"),
     ({"max_norm": math.nan}, r"ClipGradNorm: max_norm must be a number >= 0, not nan"),
     ({"max_norm": 1.0, "norm_type": 0}, r"ClipGradNorm: norm_type must be a number > 0 or inf"),
     ({"max_norm": 1.0, "error_if_nonfinite": "yes"},
      r"ClipGradNorm: error_if_nonfinite must be True or False")],
)  # fmt: skip
def test_bad_settings_are_refused_when_the_callback_is_made(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        train.ClipGradNorm(**kwargs)


def test_error_if_nonfinite_stops_the_fit_before_the_step():
    class Poison(train.Callback):  # a gradient gone infinite, as an overflow leaves it
        def on_after_backward(self, trainer):
            trainer.model.parameters()[0].grad.data[0, 0] = np.inf

    net, loss, opt = _setup()
    before = [p.numpy().copy() for p in net.parameters()]
    clip = train.ClipGradNorm(1.0, error_if_nonfinite=True)
    with pytest.raises(TrainingDiverged, match=r"clip_grad_norm_: the total 2-norm of the "
                       r"gradients is inf, so they cannot be clipped"):  # fmt: skip
        train.fit(net, loss, opt, data.xor(), epochs=3, progress=False,
                  callbacks=[Poison(), clip])  # fmt: skip
    for p, w in zip(net.parameters(), before):  # no step was taken
        np.testing.assert_array_equal(p.numpy(), w)


def test_gradient_health_records_a_finite_norm_for_finite_huge_gradients():
    from chainrule.explainer.health import GradientHealth

    net = nn.mlp([2, 2, 1], rng=0, dtype=np.float64)
    for p in net.parameters():
        p.grad = cr.Tensor(np.full(p.shape, 3e160))  # its squares overflow float64
    health = GradientHealth()
    health.on_epoch_start(None, 1)
    health.on_after_backward(SimpleNamespace(model=net))
    health.on_after_backward(SimpleNamespace(model=net))
    health.on_epoch_end(SimpleNamespace(model=net, train_ds=None), 1, {})
    norms = health.history[0]["grad_norms"]
    assert norms["0.weight"] == pytest.approx(3e160 * 2.0, rel=1e-14)  # sqrt(4) entries
    assert norms["2.bias"] == pytest.approx(3e160, rel=1e-14)


def test_the_pages_layer_norm_is_over_the_weight_and_bias_that_have_gradients():
    pytest.importorskip("pydantic", reason="the web page needs the [app] extra")
    from chainrule.web.training import _grad_norm

    layer = nn.Linear(2, 2, rng=0, dtype="float64")
    layer.weight.grad = cr.tensor(np.full((2, 2), 3e200))
    layer.bias.grad = cr.tensor(np.full(2, 4e200))
    assert _grad_norm(layer) == optim.grad_norm([layer.weight, layer.bias])
    layer.bias.grad = None  # frozen, or not reached: skipped, as grad_norm skips it
    assert _grad_norm(layer) == pytest.approx(6e200, rel=1e-14)
