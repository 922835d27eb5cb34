"""The training loop: determinism, callbacks, early stopping, schedules, checkpoints and resume."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from chainrule import data, io, nn, optim, train
from chainrule.data import Dataset
from chainrule.errors import ConfigError, DataError, UserError
from chainrule.train import Callback, EarlyStopping, History, Trainer, TrainingDiverged


def small_classification(n: int = 60, seed: int = 0) -> Dataset:
    """Three Gaussian blobs in 4-D (classes 0, 1, 2)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 4)).astype(np.float32) + 2.0 * np.eye(4, dtype=np.float32)[y]
    return Dataset(X=X, y=y, task="classification", name="blobs")


def make(seed: int = 0, dropout: bool = False, dtype=np.float32):
    layers = [nn.Linear(4, 8, rng=seed, dtype=dtype), nn.Logistic()]
    if dropout:
        layers.append(nn.Dropout(0.3, rng=seed + 1))
    layers.append(nn.Linear(8, 3, rng=seed + 2, dtype=dtype))
    model = nn.Sequential(*layers)
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    return model, nn.CrossEntropy(), opt


def weights(model) -> dict[str, np.ndarray]:
    return model.state_dict()


def assert_same_weights(a, b) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_array_equal(wa[name], wb[name], err_msg=name)


# -- determinism ----------------------------------------------------------------------------------


def test_fit_is_deterministic_given_a_seed():
    ds = small_classification()
    runs = []
    for _ in range(2):
        model, loss, opt = make(dropout=True)
        h = train.fit(model, loss, opt, ds, epochs=5, batch_size=7, seed=3, progress=False)
        runs.append((model, h))
    assert_same_weights(runs[0][0], runs[1][0])
    assert runs[0][1]["loss"] == runs[1][1]["loss"]


def test_a_different_seed_shuffles_differently():
    ds = small_classification()
    a, loss, opt_a = make()
    train.fit(a, loss, opt_a, ds, epochs=2, batch_size=7, seed=1, progress=False)
    b, loss, opt_b = make()
    train.fit(b, loss, opt_b, ds, epochs=2, batch_size=7, seed=2, progress=False)
    assert not np.array_equal(weights(a)["0.weight"], weights(b)["0.weight"])


def test_full_batch_learns_xor_and_history_has_every_key():
    ds = data.xor()
    model = nn.mlp([2, 3, 1], output="logistic", rng=0, init_range=1.0)
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    h = train.fit(model, nn.SquaredError(), opt, ds, epochs=300, progress=False)
    assert len(h) == 300
    assert set(h.last) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert h.last["accuracy"] == 1.0
    assert h["loss"][-1] < h["loss"][0]
    outputs = train.predict(model, ds.X)
    np.testing.assert_array_equal(outputs[:, 0] > 0.5, ds.y[:, 0] > 0.5)


def test_float64_training_keeps_float64():
    ds = small_classification().astype(np.float64)
    model, loss, opt = make(dtype=np.float64)
    train.fit(model, loss, opt, ds, epochs=2, batch_size=10, progress=False)
    assert all(p.dtype == np.float64 for p in model.parameters())


# lr=1e30 overflows on purpose: NumPy's own warnings on the way to the error are expected here
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_loss_raises_training_diverged():
    ds = small_classification()
    model = nn.mlp([4, 8, 3], activation="relu", rng=0)
    opt = optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        train.fit(model, nn.CrossEntropy(), opt, ds, epochs=5, progress=False)


# -- callbacks ------------------------------------------------------------------------------------


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_fit_start(self, trainer):
        self.calls.append("fit_start")

    def on_epoch_start(self, trainer, epoch):
        self.calls.append(f"epoch_start {epoch}")

    def on_after_backward(self, trainer):
        assert all(p.grad is not None for p in trainer.model.parameters())
        self.calls.append("after_backward")

    def on_batch_end(self, trainer, batch, loss):
        assert np.isfinite(loss)
        self.calls.append(f"batch_end {batch}")

    def on_epoch_end(self, trainer, epoch, logs):
        assert logs["epoch"] == epoch == trainer.epoch
        self.calls.append(f"epoch_end {epoch}")

    def on_fit_end(self, trainer):
        self.calls.append("fit_end")


def test_callbacks_run_in_order():
    ds = small_classification(n=20)
    model, loss, opt = make()
    recorder = Recorder()
    train.fit(model, loss, opt, ds, epochs=2, batch_size=10, callbacks=[recorder], progress=False)
    epoch = ["after_backward", "batch_end 0", "after_backward", "batch_end 1"]
    assert recorder.calls == [
        "fit_start",
        "epoch_start 1", *epoch, "epoch_end 1",
        "epoch_start 2", *epoch, "epoch_end 2",
        "fit_end",
    ]  # fmt: skip


def test_after_backward_comes_before_the_step():
    ds = small_classification(n=10)
    model, loss, opt = make()
    seen = {}

    class Snapshot(Callback):
        def on_after_backward(self, trainer):
            seen["before"] = trainer.model.state_dict()["0.weight"]
            seen["grad"] = trainer.model.parameters()[0].grad.numpy().copy()

    train.fit(model, loss, opt, ds, epochs=1, callbacks=[Snapshot()], progress=False)
    after = model.state_dict()["0.weight"]
    # first SGD step with zero velocity: w_after = w_before - lr * dE/dw
    np.testing.assert_allclose(after, seen["before"] - 0.2 * seen["grad"], rtol=1e-6, atol=1e-7)


#: The scripted callbacks write over the trainer's own val_loss for the callbacks after them
#: (EarlyStopping), which the History does not keep and says so once per fit: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:callback Scripted.*is the trainer's:UserWarning")


class ScriptedValLoss(Callback):
    """Overwrite the epoch's val_loss with a scripted sequence, and snapshot the weights."""

    def __init__(self, values):
        self.values, self.snapshots = values, {}

    def on_epoch_end(self, trainer, epoch, logs):
        logs["val_loss"] = self.values[epoch - 1]
        self.snapshots[epoch] = trainer.model.state_dict()


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    ds = small_classification()
    model, loss, opt = make()
    script = ScriptedValLoss([5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 1.0, 1.0, 1.0, 1.0])
    stopper = EarlyStopping(patience=3, monitor="val_loss")
    trainer = Trainer(model, loss, opt, batch_size=10, callbacks=[script], early_stopping=stopper,
                      progress=False)  # fmt: skip
    history = trainer.fit(ds, epochs=10)
    assert len(history) == 6 and stopper.stopped_epoch == 6
    assert trainer.best_epoch == 3 and stopper.best == 3.0
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, script.snapshots[3][name])


class ScriptedValAccuracy(ScriptedValLoss):
    def on_epoch_end(self, trainer, epoch, logs):
        logs["val_accuracy"] = self.values[epoch - 1]
        self.snapshots[epoch] = trainer.model.state_dict()


@pytest.mark.parametrize("mode", ["auto", "max"])
def test_early_stopping_on_an_accuracy_keeps_the_highest(mode):
    """An accuracy improves upwards: minimised, it kept the first (worst) epoch."""
    ds = small_classification()
    model, loss, opt = make()
    script = ScriptedValAccuracy([0.6, 0.8, 0.9, 0.85, 0.88, 0.89, 0.95])
    stopper = EarlyStopping(patience=3, monitor="val_accuracy", mode=mode)
    trainer = Trainer(model, loss, opt, batch_size=10, callbacks=[script], early_stopping=stopper,
                      progress=False)  # fmt: skip
    trainer.fit(ds, epochs=7)
    assert stopper.stopped_epoch == 6 and trainer.best_epoch == 3 and stopper.best == 0.9
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, script.snapshots[3][name])


def test_early_stopping_mode_min_and_a_bad_mode():
    ds = small_classification()
    model, loss, opt = make()
    script = ScriptedValAccuracy([0.6, 0.8, 0.9, 0.5])
    stopper = EarlyStopping(patience=5, monitor="val_accuracy", mode="min")
    Trainer(model, loss, opt, callbacks=[script], early_stopping=stopper, progress=False).fit(
        ds, epochs=4
    )
    assert stopper.best_epoch == 4 and stopper.best == 0.5
    with pytest.raises(ConfigError, match="mode must be one of"):
        EarlyStopping(mode="highest")


def test_early_stopping_monitors_val_loss_when_there_is_validation_data():
    train_ds, val_ds, _ = data.split(small_classification(90), val=0.2, test=0.1, seed=0)
    model, loss, opt = make()
    h = train.fit(model, loss, opt, train_ds, val_ds, epochs=4, batch_size=16, early_stopping=2,
                  progress=False)  # fmt: skip
    assert all(r["val_loss"] is not None and r["val_accuracy"] is not None for r in h)


def test_a_validation_set_of_other_features_is_refused_before_training():
    """It failed after a whole epoch, in Linear(4, 8), with a shape error naming no val_ds."""
    train_ds = small_classification()
    val_ds = Dataset(X=train_ds.X[:10, :3], y=train_ds.y[:10], task="classification")
    model, loss, opt = make()
    before = {k: v.copy() for k, v in weights(model).items()}
    with pytest.raises(ValueError, match=r"fit: val_ds's cases have shape \(3,\) but "
                       r"train_ds's have \(4,\)"):  # fmt: skip
        train.fit(model, loss, opt, train_ds, val_ds, epochs=1, progress=False)
    for name, value in weights(model).items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_early_stopping_watches_the_loss_when_the_validation_set_is_empty():
    train_ds = small_classification()
    no_cases = train_ds.subset(np.arange(0))
    model, loss, opt = make()
    stopper = EarlyStopping(patience=2)
    h = train.fit(model, loss, opt, train_ds, no_cases, epochs=3, early_stopping=stopper,
                  progress=False)  # fmt: skip
    assert len(h) == 3 and stopper.monitored == "loss" and h.last["val_loss"] is None


def test_one_early_stopping_decides_its_monitor_afresh_for_each_fit():
    train_ds, val_ds, _ = data.split(small_classification(90), val=0.2, test=0.1, seed=0)
    stopper = EarlyStopping(patience=2)
    model, loss, opt = make()
    train.fit(model, loss, opt, train_ds, val_ds, epochs=2, early_stopping=stopper,
              progress=False)  # fmt: skip
    assert stopper.monitored == "val_loss"
    model, loss, opt = make()
    train.fit(model, loss, opt, train_ds, epochs=2, early_stopping=stopper, progress=False)
    assert stopper.monitored == "loss" and stopper.monitor is None


def test_history_logs_the_lr_a_callback_set_at_the_start_of_the_epoch():
    class WarmUp(Callback):
        def on_epoch_start(self, trainer, epoch):
            trainer.optimizer.lr = 0.1 * epoch

        def on_batch_end(self, trainer, batch, loss):
            used.append(trainer.optimizer.lr)

    used = []
    model, loss, opt = make()
    h = train.fit(model, loss, opt, small_classification(), epochs=3, callbacks=[WarmUp()],
                  progress=False)  # fmt: skip
    assert h["lr"] == pytest.approx([0.1, 0.2, 0.3]) == used


def test_schedule_is_stepped_once_per_epoch():
    ds = small_classification()
    model, loss, opt = make()
    schedule = optim.StepLR(opt, step_size=2, gamma=0.5)
    h = train.fit(model, loss, opt, ds, epochs=5, schedule=schedule, progress=False)
    assert h["lr"] == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05])


def test_stop_training_from_a_callback():
    class StopAtTwo(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.stop_training = epoch == 2

    model, loss, opt = make()
    h = train.fit(model, loss, opt, small_classification(), epochs=9, callbacks=[StopAtTwo()],
                  progress=False)  # fmt: skip
    assert len(h) == 2


# -- metrics --------------------------------------------------------------------------------------


def test_accuracy_rules():
    cls = Dataset(X=np.zeros((4, 1), np.float32), y=np.array([0, 1, 2, 1]), task="classification",
                  name="c")  # fmt: skip
    outputs = np.array([[3, 1, 0], [0, 2, 1], [0, 5, 1], [1, 0, 0]], dtype=np.float32)
    assert train.accuracy(outputs, cls) == 0.5
    binary = Dataset(X=np.zeros((4, 1), np.float32), y=np.array([0, 1, 1, 0]),
                     task="classification", name="b")  # fmt: skip
    probs = np.array([[0.2], [0.7], [0.4], [0.6]])
    assert train.accuracy(probs, binary, nn.SquaredError()) == 0.5
    logits = np.array([[-1.0], [0.3], [-0.1], [2.0]])  # threshold 0 for BCE's logits
    assert train.accuracy(logits, binary, nn.BinaryCrossEntropy()) == 0.5
    multi = Dataset(X=np.zeros((2, 1), np.float32), y=np.array([[1.0, 0.0], [1.0, 1.0]]),
                    task="multilabel", name="m")  # fmt: skip
    # case 0: both outputs right; case 1: one of two wrong, so the case is wrong
    assert train.accuracy(np.array([[0.9, 0.1], [0.9, 0.4]]), multi, nn.SquaredError()) == 0.5


def test_evaluate_sums_a_summed_loss_over_every_case():
    ds = data.xor()
    model = nn.mlp([2, 2, 1], output="logistic", rng=0)
    out = train.predict(model, ds.X)
    expected = 0.5 * float(np.sum((ds.y - out) ** 2))
    assert train.evaluate(model, nn.SquaredError(), ds)["loss"] == pytest.approx(expected, 1e-6)


# -- history and plots ----------------------------------------------------------------------------


def test_history_json_round_trip_and_columns():
    h = History([{"epoch": 1, "loss": 0.5, "val_loss": float("nan")}, {"epoch": 2, "loss": 0.25}])
    again = History.from_json(h.to_json())
    assert again["loss"] == [0.5, 0.25] and again[0]["val_loss"] is None
    assert h.best("loss")["epoch"] == 2


def test_history_best_skips_nan_and_none_and_gives_none_when_no_epoch_has_a_number():
    nan = float("nan")
    h = History([{"epoch": 1, "loss": nan, "val_loss": None}, {"epoch": 2, "loss": 0.3},
                 {"epoch": 3, "loss": 0.4, "val_loss": nan}])  # fmt: skip
    assert h.best("loss")["epoch"] == 2 and h.best("loss", mode="max")["epoch"] == 3
    assert h.best("val_loss") is None


def test_plot_history_writes_a_png(tmp_path):
    from chainrule.viz.curves import plot_history

    model, loss, opt = make()
    train_ds, val_ds, _ = data.split(small_classification(90), val=0.2, test=0.1, seed=0)
    h = train.fit(model, loss, opt, train_ds, val_ds, epochs=3, progress=False)
    path = plot_history(h, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary left


def test_a_one_epoch_history_is_drawn_as_points_on_whole_epochs(tmp_path, drawn_axes):
    """`chainrule train --epochs 1` wrote a blank curves.png: a line through one point draws
    nothing, and the epoch axis was ticked 0.945 to 1.05."""
    history = [{"epoch": 1, "loss": 0.5, "accuracy": 0.7, "val_loss": 0.6, "val_accuracy": 0.6}]
    for ax in drawn_axes(history, tmp_path / "curves.png"):
        lines = ax.get_lines()
        assert [line.get_label().split()[0] for line in lines] == ["train", "validation"]
        for line in lines:
            assert line.get_marker() == "o" and list(line.get_markevery()) == [0]
            assert list(line.get_xdata()) == [1]
        assert list(ax.get_xticks()) == [1]


def test_a_value_between_gaps_gets_a_marker_and_a_run_of_values_does_not(tmp_path, drawn_axes):
    """[0.5, nan, 0.2] drew nothing at all: each finite loss stood alone between gaps."""
    nan = float("nan")
    rows = [(1, 0.5, None), (2, nan, 0.4), (3, 0.2, 0.3), (4, nan, nan)]
    history = [{"epoch": e, "loss": v, "val_loss": w} for e, v, w in rows]
    (ax,) = drawn_axes(history, tmp_path / "curves.png")
    train, val = ax.get_lines()
    assert train.get_marker() == "o" and list(train.get_markevery()) == [0, 2]
    assert val.get_marker() in ("", "None")  # 0.4 and 0.3 are joined by a line
    assert all(tick == round(tick) for tick in ax.get_xticks())  # whole epochs


def test_an_empty_history_is_refused_and_nothing_written(tmp_path):
    from chainrule.viz.curves import plot_history

    with pytest.raises(ValueError, match="plot_history: no epochs to plot"):
        plot_history([], tmp_path / "curves.png")
    assert list(tmp_path.iterdir()) == []


# -- checkpoints ----------------------------------------------------------------------------------


class InterruptAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _resumable_setup():
    model, loss, opt = make(dropout=True)
    schedule = optim.StepLR(opt, step_size=3, gamma=0.5)
    return model, loss, opt, schedule


def test_resume_gives_bit_identical_weights(tmp_path):
    ds = small_classification()
    model, loss, opt, schedule = _resumable_setup()
    full = Trainer(model, loss, opt, batch_size=7, seed=5, schedule=schedule, early_stopping=50,
                   progress=False)  # fmt: skip
    full.fit(ds, epochs=10)

    model2, loss2, opt2, schedule2 = _resumable_setup()
    first = Trainer(model2, loss2, opt2, batch_size=7, seed=5, schedule=schedule2,
                    early_stopping=50, checkpoint_dir=tmp_path, callbacks=[InterruptAt(5)],
                    progress=False)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        first.fit(ds, epochs=10)
    assert io.find_checkpoint(tmp_path).name == "epoch-000004"

    model3, loss3, opt3, schedule3 = _resumable_setup()  # a fresh process would rebuild these
    train.fit(model3, loss3, opt3, ds, epochs=10, batch_size=7, seed=5, schedule=schedule3,
              early_stopping=50, resume=tmp_path, progress=False)  # fmt: skip
    assert_same_weights(model, model3)
    assert opt3.lr == opt.lr


def _stopped_early_at_6(checkpoint_dir=None):
    """A run whose early stopping (patience 3, best epoch 3) stops it after epoch 6 of 10."""
    model, loss, opt = make()
    script = ScriptedValLoss([5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 1.0, 1.0, 1.0, 1.0])
    trainer = Trainer(model, loss, opt, batch_size=10, callbacks=[script],
                      early_stopping=EarlyStopping(patience=3, monitor="val_loss"),
                      checkpoint_dir=checkpoint_dir, progress=False)  # fmt: skip
    trainer.fit(small_classification(), epochs=10)
    assert trainer.epoch == 6 and trainer.stopped_early
    return trainer, script


def test_a_run_that_stopped_early_is_finished_and_fitting_again_trains_nothing():
    trainer, script = _stopped_early_at_6()
    trainer.fit(small_classification(), epochs=20)
    assert trainer.epoch == 6 and len(trainer.history) == 6
    for name, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(value, script.snapshots[3][name])


def test_resuming_a_checkpoint_that_stopped_early_trains_nothing(tmp_path):
    _, script = _stopped_early_at_6(tmp_path)
    assert io.load_checkpoint(tmp_path)["state"]["stopped_early"] is True
    model, loss, opt = make(seed=9)
    h = train.fit(model, loss, opt, small_classification(), epochs=10, batch_size=10,
                  callbacks=[ScriptedValLoss([9.0] * 10)],
                  early_stopping=EarlyStopping(patience=3, monitor="val_loss"),
                  resume=tmp_path, progress=False)  # fmt: skip
    assert len(h) == 6
    for name, value in model.state_dict().items():  # the best epoch's weights, put back
        np.testing.assert_array_equal(value, script.snapshots[3][name])


NOT_STOPPING = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.3, 3.4, 3.6, 3.7]  # best epoch 3; patience 50


def _continued_setup(checkpoint_dir=None, **kwargs):
    model, loss, opt = make(dropout=True)
    script = ScriptedValLoss(NOT_STOPPING)
    trainer = Trainer(model, loss, opt, batch_size=7, seed=5, callbacks=[script],
                      early_stopping=EarlyStopping(patience=50, monitor="val_loss", **kwargs),
                      checkpoint_dir=checkpoint_dir, progress=False)  # fmt: skip
    return trainer, script


def test_fitting_again_continues_from_the_last_epochs_weights_not_the_best(tmp_path):
    """fit(6) then fit(10) is fit(10) (and a resume from epoch 6's checkpoint), bit for bit:
    the best weights put back at the end of the first fit do not become the starting point."""
    ds = small_classification()
    whole, whole_script = _continued_setup()
    whole.fit(ds, epochs=10)
    assert whole.best_epoch == 3 and not whole.stopped_early

    again, script = _continued_setup()
    again.fit(ds, epochs=6)
    for name, value in again.model.state_dict().items():  # between the fits: the best epoch's
        np.testing.assert_array_equal(value, script.snapshots[3][name])
    again.fit(ds, epochs=6)  # nothing left to train: the best weights stay
    for name, value in again.model.state_dict().items():
        np.testing.assert_array_equal(value, script.snapshots[3][name])
    again.fit(ds, epochs=10)
    assert again.history["loss"] == whole.history["loss"]
    for epoch in range(7, 11):
        for name, value in script.snapshots[epoch].items():
            np.testing.assert_array_equal(value, whole_script.snapshots[epoch][name])
    assert_same_weights(again.model, whole.model)  # the best (epoch 3) put back in both

    first, _ = _continued_setup(tmp_path)
    first.fit(ds, epochs=6)
    model, loss, opt = make(dropout=True)
    script3 = ScriptedValLoss(NOT_STOPPING)
    train.fit(model, loss, opt, ds, epochs=10, batch_size=7, seed=5, callbacks=[script3],
              early_stopping=EarlyStopping(patience=50, monitor="val_loss"), resume=tmp_path,
              progress=False)  # fmt: skip
    for epoch in range(7, 11):
        for name, value in script3.snapshots[epoch].items():
            np.testing.assert_array_equal(value, whole_script.snapshots[epoch][name])
    assert_same_weights(model, whole.model)


def test_a_checkpoint_saved_by_hand_between_fits_continues_from_the_last_weights(tmp_path):
    """trainer.save_checkpoint() after a fit that put the best weights back saved those as the
    run's weights: a resume then trained epochs 7-10 from epoch 3's weights with epoch 6's
    optimizer state. The checkpoint keeps the best weights as the model (what the user holds)
    and the last ones for the run to go on from."""
    ds = small_classification()
    whole, whole_script = _continued_setup()
    whole.fit(ds, epochs=10)
    first, script = _continued_setup()
    first.fit(ds, epochs=6)
    first.save_checkpoint(tmp_path)
    saved = io.load_checkpoint(tmp_path)
    for name, value in saved["model"].state_dict().items():  # the model as the user holds it
        np.testing.assert_array_equal(value, script.snapshots[3][name])
    resumed, script2 = _continued_setup()
    resumed.resume(tmp_path)
    resumed.fit(ds, epochs=10)
    assert resumed.history["loss"] == whole.history["loss"]
    for epoch in range(7, 11):
        for name, value in script2.snapshots[epoch].items():
            np.testing.assert_array_equal(value, whole_script.snapshots[epoch][name])
    assert_same_weights(resumed.model, whole.model)


def test_a_trainer_without_early_stopping_resumes_a_hand_saved_checkpoint_from_the_last_weights(
    tmp_path,
):
    """The last epoch's weights were kept as early stopping's state alone: a trainer without
    early stopping resumed from the best epoch's weights with the last epoch's optimizer state,
    silently."""
    ds = small_classification()
    first, script = _continued_setup()
    first.fit(ds, epochs=6)
    first.save_checkpoint(tmp_path)
    model, loss, opt = make(dropout=True)
    plain = ScriptedValLoss(NOT_STOPPING)
    resumed = Trainer(model, loss, opt, batch_size=7, seed=5, callbacks=[plain], progress=False)
    resumed.resume(tmp_path)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, script.snapshots[6][name])
    whole, whole_script = _continued_setup(restore_best=False)  # the same run, never restored
    whole.fit(ds, epochs=10)
    resumed.fit(ds, epochs=10)
    assert resumed.history["loss"] == whole.history["loss"]
    assert_same_weights(resumed.model, whole.model)


@pytest.mark.parametrize("saved_by_hand", [True, False])
def test_a_resume_into_another_dtype_casts_early_stoppings_weights_too(tmp_path, saved_by_hand):
    """The model's weights and the optimizer's buffers were cast to the resuming model's dtype,
    early stopping's best and last weights were not: a float64 run resumed as float32 trained
    to the end and then failed putting back the best weights (or failed at once, from a
    checkpoint saved by hand between two fits)."""
    ds = small_classification()
    model, loss, opt = make(dropout=True, dtype=np.float64)
    script = ScriptedValLoss(NOT_STOPPING)
    first = Trainer(model, loss, opt, batch_size=7, seed=5, callbacks=[script],
                    early_stopping=EarlyStopping(patience=50, monitor="val_loss"),
                    checkpoint_dir=None if saved_by_hand else tmp_path, progress=False)  # fmt: skip
    first.fit(ds, epochs=6)
    if saved_by_hand:
        first.save_checkpoint(tmp_path)
    resumed, _ = _continued_setup()  # float32
    resumed.resume(tmp_path)
    resumed.fit(ds, epochs=10)
    assert resumed.best_epoch == 3
    for name, value in resumed.model.state_dict().items():  # the float64 run's best, as float32
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, script.snapshots[3][name].astype(np.float32))


def _damaged_checkpoint(tmp_path, edit_state=None, edit_arrays=None, optimizer=None):
    """A hand-saved checkpoint (best weights standing in, last ones kept) with trainer.json's
    dict and optimizer.safetensors' arrays edited; returns a trainer to resume it into."""
    from safetensors.numpy import load_file, save_file

    first, _ = _continued_setup()
    if optimizer is not None:
        first.optimizer = optimizer(first.model.parameters())
    first.fit(small_classification(), epochs=6)
    epoch_dir = first.save_checkpoint(tmp_path)
    state_file, arrays_file = epoch_dir / "trainer.json", epoch_dir / "optimizer.safetensors"
    if edit_state is not None:
        state = json.loads(state_file.read_text())
        edit_state(state)
        state_file.write_text(json.dumps(state))
    if edit_arrays is not None:
        arrays = load_file(arrays_file)
        edit_arrays(arrays)
        save_file(arrays, arrays_file)
    resumed, _ = _continued_setup()
    if optimizer is not None:
        resumed.optimizer = optimizer(resumed.model.parameters())
    return resumed


def _early_stopping(state):
    return state["callbacks"]["EarlyStopping"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [(lambda s: _early_stopping(s).update(best="x"), "early stopping's 'best' must be a number, "
                                                     "not 'x'"),
     (lambda s: _early_stopping(s).update(wait=-1), "'wait' must be a count, not -1"),
     (lambda s: _early_stopping(s).update(mode="banana"), "'mode' must be one of"),
     (lambda s: _early_stopping(s).update(monitor=3), "'monitor' must be a log's name, not 3"),
     (lambda s: s.update(stopped_early="no"), "field 'stopped_early'"),
     (lambda s: s.update(version=99), "written by a newer chainrule (checkpoint version 99)")],
)  # fmt: skip
def test_a_damaged_trainer_json_is_refused_naming_the_file_and_field(tmp_path, edit, message):
    """Each raised a bare ValueError (a traceback from the CLI), trained an epoch and then
    failed, or ("stopped_early": "no") was read as true."""
    resumed = _damaged_checkpoint(tmp_path, edit_state=edit)
    with pytest.raises(io.ModelFileError, match=re.escape(message)) as caught:
        resumed.resume(tmp_path)
    assert "trainer.json" in str(caught.value) or "epoch-000006" in str(caught.value)


def _reshape_first(prefix):
    def edit(arrays):
        name = next(k for k in arrays if k.startswith(prefix))
        arrays[name] = np.zeros((2, 2), arrays[name].dtype)

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [(_reshape_first("callback/EarlyStopping/0"), "EarlyStopping's state), the best weights: "
                                                   "parameter '0.bias' has shape (2, 2)"),
     (_reshape_first("callback/EarlyStopping/last/"), "the last weights: parameter"),
     (lambda a: a.update({k: np.full_like(v, np.nan) for k, v in a.items()
                          if k.startswith("callback/EarlyStopping/0")}),
      "the best weights: '0.weight' holds non-finite values"),
     (lambda a: [a.pop(k) for k in list(a) if k.startswith("optimizer/")],
      "the optimizer's state is missing"),
     (lambda a: [a.pop(k) for k in list(a)
                 if k.startswith("callback/EarlyStopping/") and "/last/" not in k],
      "the best epoch is 3 but its weights are missing"),
     (lambda a: a.update({k: v.astype(np.int32) for k, v in a.items()
                          if k.startswith("callback/EarlyStopping/0")}),
      "the best weights: '0.weight' holds int32 values")],
)  # fmt: skip
def test_damaged_checkpoint_arrays_are_refused_when_resuming(tmp_path, edit, message):
    """Early stopping's weights of another shape were taken, trained on, and failed an epoch
    later naming no file; an optimizer state with every array removed restarted silently."""
    resumed = _damaged_checkpoint(tmp_path, edit_arrays=edit)
    with pytest.raises(io.ModelFileError, match=re.escape(message)):
        resumed.resume(tmp_path)


@pytest.mark.parametrize(
    ("buffer", "value", "must"),
    [("m", np.nan, "finite"), ("v", -1.0, "finite and >= 0 (an average of squares)"),
     ("v", np.inf, "finite and >= 0")],
)  # fmt: skip
def test_an_adam_state_with_a_damaged_moment_is_refused(tmp_path, buffer, value, must):
    """A NaN moment or a negative second moment was taken in, and the resumed run failed an
    epoch later as a divergence ("try a smaller learning rate")."""

    def damage(arrays):
        array = arrays[f"optimizer/{buffer}.0"].copy()
        array.reshape(-1)[0] = value
        arrays[f"optimizer/{buffer}.0"] = array

    resumed = _damaged_checkpoint(
        tmp_path, edit_arrays=damage, optimizer=lambda params: optim.Adam(params, lr=0.01)
    )
    with pytest.raises(io.ModelFileError, match=re.escape(f"'{buffer}.0' holds {value}; its "
                                                          f"numbers must be {must}")):  # fmt: skip
        resumed.resume(tmp_path)


@pytest.mark.parametrize("buffer", ["m", "v"])
def test_an_adam_state_missing_a_moment_is_refused(tmp_path, buffer):
    """A step count with no moment restarted the moment at zero under a bias correction that
    goes on, silently."""
    resumed = _damaged_checkpoint(
        tmp_path, edit_arrays=lambda a: a.pop(f"optimizer/{buffer}.0"),
        optimizer=lambda params: optim.Adam(params, lr=0.01),
    )  # fmt: skip
    with pytest.raises(io.ModelFileError, match=re.escape(
            f"parameter 0 has taken 54 steps but its {buffer!r} buffer ({buffer}.0) is "
            "missing")):  # fmt: skip
        resumed.resume(tmp_path)


def test_without_restore_best_fitting_again_continues_as_before():
    ds = small_classification()
    whole, _ = _continued_setup(restore_best=False)
    whole.fit(ds, epochs=10)
    again, _ = _continued_setup(restore_best=False)
    again.fit(ds, epochs=4)
    again.fit(ds, epochs=10)
    assert_same_weights(again.model, whole.model)


def test_a_run_stopped_early_and_cleared_goes_on_from_its_last_weights(tmp_path):
    """``stopped_early = False`` trains on from where epoch 6 ended, as its checkpoint does."""
    trainer, script = _stopped_early_at_6(tmp_path)
    model, loss, opt = make()
    script2 = ScriptedValLoss(script.values)
    resumed = Trainer(model, loss, opt, batch_size=10, callbacks=[script2],
                      early_stopping=EarlyStopping(patience=3, monitor="val_loss"),
                      progress=False)  # fmt: skip
    resumed.resume(tmp_path)
    resumed.stopped_early = False
    trainer.stopped_early = False
    trainer.fit(small_classification(), epochs=10)  # epoch 7 improves: on to 10
    resumed.fit(small_classification(), epochs=10)
    assert trainer.epoch == resumed.epoch == 10
    for epoch in range(7, 11):
        for name, value in script.snapshots[epoch].items():
            np.testing.assert_array_equal(value, script2.snapshots[epoch][name])
    assert_same_weights(trainer.model, resumed.model)


def test_a_checkpoint_from_before_stopped_early_was_recorded_still_loads(tmp_path):
    model, loss, opt = make()
    Trainer(model, loss, opt, checkpoint_dir=tmp_path, progress=False).fit(
        small_classification(), epochs=2
    )
    checkpoint = io.load_checkpoint(tmp_path)
    del checkpoint["state"]["stopped_early"]
    resumed = Trainer(*make(seed=3), progress=False)
    resumed.load_state(checkpoint)
    resumed.fit(small_classification(), epochs=3)
    assert resumed.epoch == 3 and not resumed.stopped_early


def _early_stopping_state(checkpoint_dir, callbacks) -> EarlyStopping:
    """A run of 6 epochs with early stopping and ``callbacks`` before it, checkpointed."""
    stopper = EarlyStopping(patience=5, monitor="val_loss")
    script = ScriptedValLoss([5.0, 4.0, 3.0, 3.5, 3.2, 3.1])
    trainer = Trainer(*make(), batch_size=10, callbacks=[*callbacks, script],
                      early_stopping=stopper, checkpoint_dir=checkpoint_dir,
                      progress=False)  # fmt: skip
    trainer.fit(small_classification(), epochs=6)
    return stopper


def test_a_callbacks_state_loads_whatever_callbacks_come_before_it(tmp_path):
    """A progress printer in the first run and not in its resume (``-q``) moved every callback
    behind it by one place, and their state (early stopping's best epoch and loss) was then
    silently not loaded: a callback's key is its class, not its place."""
    import io as stdio

    from chainrule.train import EpochPrinter

    saved = _early_stopping_state(tmp_path, [EpochPrinter(stream=stdio.StringIO())])
    assert saved.best_epoch == 3
    resumed_stopper = EarlyStopping(patience=5, monitor="val_loss")
    resumed = Trainer(*make(seed=3), early_stopping=resumed_stopper, progress=False)
    resumed.load_state(io.load_checkpoint(tmp_path))
    assert (resumed_stopper.best_epoch, resumed_stopper.best) == (saved.best_epoch, saved.best)


def test_a_checkpoint_with_positional_callback_keys_still_loads(tmp_path):
    """Checkpoints of earlier versions keyed a callback by its place and class
    ("1-EarlyStopping"); they load into the first callback of that class."""
    saved = _early_stopping_state(tmp_path, [])
    checkpoint = io.load_checkpoint(tmp_path)
    callbacks = checkpoint["state"]["callbacks"]
    callbacks["1-EarlyStopping"] = callbacks.pop("EarlyStopping")
    old, new = "callback/EarlyStopping/", "callback/1-EarlyStopping/"  # its arrays, as then
    checkpoint["arrays"] = {k.replace(old, new, 1): v for k, v in checkpoint["arrays"].items()}
    resumed_stopper = EarlyStopping(patience=5, monitor="val_loss")
    resumed = Trainer(*make(seed=3), early_stopping=resumed_stopper, progress=False)
    resumed.load_state(checkpoint)
    assert (resumed_stopper.best_epoch, resumed_stopper.best) == (saved.best_epoch, saved.best)


def test_interrupt_during_a_save_keeps_the_last_complete_checkpoint(tmp_path, monkeypatch):
    ds = small_classification()
    model, loss, opt = make()
    trainer = Trainer(model, loss, opt, batch_size=20, checkpoint_dir=tmp_path, progress=False)
    trainer.fit(ds, epochs=2)
    saved = weights(model)
    real_write = io.write_arrays

    def interrupted(path, arrays, metadata=None):
        real_write(path, arrays, metadata)
        raise KeyboardInterrupt  # after the weights, before the rest of the checkpoint

    monkeypatch.setattr(io, "write_arrays", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(ds, epochs=3)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-000001", "epoch-000002"]
    checkpoint = io.load_checkpoint(tmp_path)
    assert checkpoint["state"]["epoch"] == 2
    for name, value in checkpoint["model"].state_dict().items():
        np.testing.assert_array_equal(value, saved[name])


def test_saving_an_epoch_again_keeps_the_old_one_until_the_new_one_is_in_place(
    tmp_path, monkeypatch
):
    """A second save of one epoch moved the first away only after deleting it: interrupted
    between, the run had no checkpoint at all."""
    ds = small_classification()
    model, loss, opt = make()
    trainer = Trainer(model, loss, opt, batch_size=20, checkpoint_dir=tmp_path,
                      keep_checkpoints=1, progress=False)  # fmt: skip
    trainer.fit(ds, epochs=2)
    saved = weights(model)
    real_rename = os.rename

    def interrupted(source, destination):
        if Path(source).name.startswith(".tmp-"):  # the new epoch directory taking its name
            raise KeyboardInterrupt
        real_rename(source, destination)

    monkeypatch.setattr(io.os, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint(tmp_path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-000002"]
    for name, value in io.load_checkpoint(tmp_path)["model"].state_dict().items():
        np.testing.assert_array_equal(value, saved[name])
    trainer.save_checkpoint(tmp_path)  # and a save that completes replaces it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-000002"]


def test_a_checkpoint_moved_aside_by_a_killed_save_is_put_back(tmp_path):
    ds = small_classification()
    model, loss, opt = make()
    trainer = Trainer(model, loss, opt, batch_size=20, checkpoint_dir=tmp_path, progress=False)
    trainer.fit(ds, epochs=1)
    os.rename(tmp_path / "epoch-000001", tmp_path / ".replaced-epoch-000001")  # killed there
    trainer.fit(ds, epochs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-000001", "epoch-000002"]


def test_checkpoints_keep_only_the_latest(tmp_path):
    model, loss, opt = make()
    trainer = Trainer(model, loss, opt, checkpoint_dir=tmp_path, keep_checkpoints=2,
                      progress=False)  # fmt: skip
    trainer.fit(small_classification(), epochs=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-000004", "epoch-000005"]
    state = io.load_checkpoint(tmp_path)["state"]
    assert state["epoch"] == 5 and len(state["history"]) == 5


def test_a_trainer_resumed_from_an_earlier_checkpoint_removes_the_later_ones(tmp_path):
    """Resumed from epoch 2 of a run saved up to epoch 4, a trainer's save of epoch 3 is the
    latest: the old epoch 4 (another trajectory) would otherwise be what --resume finds."""
    ds = small_classification()
    model, loss, opt = make()
    Trainer(model, loss, opt, checkpoint_dir=tmp_path, keep_checkpoints=5,
            progress=False).fit(ds, epochs=4)  # fmt: skip
    assert [p.name for p in io.newer_checkpoints(tmp_path, 2)] == ["epoch-000003", "epoch-000004"]
    model2, loss2, opt2 = make()
    again = Trainer(model2, loss2, opt2, checkpoint_dir=tmp_path, keep_checkpoints=5,
                    progress=False)  # fmt: skip
    again.resume(tmp_path / "epoch-000002")
    again.fit(ds, epochs=3)
    names = ["epoch-000001", "epoch-000002", "epoch-000003"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert io.find_checkpoint(tmp_path).name == "epoch-000003"
    # keep counts the newest by epoch: a save never removes the checkpoint it has just written
    model3, loss3, opt3 = make()
    Trainer(model3, loss3, opt3, checkpoint_dir=tmp_path, keep_checkpoints=1,
            progress=False).fit(ds, epochs=1)  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-000001"]


def test_resume_into_another_architecture_is_refused(tmp_path):
    model, loss, opt = make()
    train.fit(model, loss, opt, small_classification(), epochs=1, checkpoint_dir=tmp_path,
              progress=False)  # fmt: skip
    other = nn.mlp([4, 5, 3], rng=0)
    refused = r"'architecture.layers\[0\].n_out' is 8 in the checkpoint but 5"
    with pytest.raises(io.ModelFileError, match=refused):
        train.fit(other, loss, optim.SGD(other.parameters(), lr=0.1), small_classification(),
                  epochs=2, resume=tmp_path, progress=False)  # fmt: skip


class _Clock:
    """A monotonic clock that only the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("seconds, saved", [(None, [3]), (30.0, [1, 2, 3])])
def test_a_checkpoint_is_also_saved_when_enough_time_has_passed(tmp_path, monkeypatch, seconds,
                                                                  saved):  # fmt: skip
    """checkpoint_every=100 alone saves only after the last epoch; with checkpoint_seconds an
    epoch that ends 40 s after the last save saves too."""
    from chainrule.train import trainer as trainer_module

    clock = _Clock()
    monkeypatch.setattr(trainer_module.time, "monotonic", clock)
    model, loss, opt = make()

    class Tick(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            clock.now += 40.0  # each epoch takes 40 s

    trainer = Trainer(model, loss, opt, checkpoint_dir=tmp_path, checkpoint_every=100,
                      checkpoint_seconds=seconds, keep_checkpoints=5, callbacks=[Tick()],
                      progress=False)  # fmt: skip
    trainer.fit(small_classification(), epochs=3)
    assert sorted(int(p.name[-6:]) for p in tmp_path.iterdir()) == saved


def test_the_epoch_printer_also_prints_when_enough_time_has_passed(monkeypatch, capsys):
    from chainrule.train import callbacks as callbacks_module

    clock = _Clock()
    monkeypatch.setattr(callbacks_module.time, "monotonic", clock)
    printer = train.EpochPrinter(every=100, seconds=10.0)

    class Tick(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            clock.now += 6.0 if epoch < 3 else 0.0  # epochs 1-2 take 6 s each, then no time

    model, loss, opt = make()
    Trainer(model, loss, opt, callbacks=[Tick(), printer], progress=False).fit(
        small_classification(), epochs=4
    )
    printed = [line.split()[1] for line in capsys.readouterr().err.splitlines()]
    assert printed == ["2", "4"]  # 12 s after the start, and the last epoch


# -- hyperparameters in checkpoints ---------------------------------------------------------------


def test_a_numpy_learning_rate_set_by_a_callback_still_checkpoints_and_resumes(tmp_path):
    """``opt.lr = np.float32(...)`` in a callback made every checkpoint fail with "Object of
    type float32 is not JSON serializable"; it is written as the Python number it holds."""

    class NumpyLR(Callback):
        def on_epoch_start(self, trainer, epoch):
            trainer.optimizer.lr = np.float32(0.1)

    model, loss, opt = make()
    train.fit(model, loss, opt, small_classification(), epochs=2, callbacks=[NumpyLR()],
              checkpoint_dir=tmp_path, progress=False)  # fmt: skip
    state = io.load_checkpoint(tmp_path)["state"]
    assert state["optimizer"]["config"]["lr"] == float(np.float32(0.1))
    model2, loss2, opt2 = make()
    Trainer(model2, loss2, opt2, progress=False).resume(tmp_path)
    assert type(opt2.lr) is float and opt2.lr == float(np.float32(0.1))
    assert_same_weights(model, model2)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("lr", -1.0, "lr must be a number >= 0, not -1.0"),
     ("lr", "x", "lr must be a number >= 0, not 'x'"),
     ("momentum", None, "momentum must be a number >= 0, not None")],
)  # fmt: skip
def test_load_state_refuses_an_optimizer_config_the_constructor_refuses(
    tmp_path, key, value, message
):
    """A checkpoint whose optimizer config was edited loaded lr -1 (gradient ascent) or died in
    a NumPy traceback inside the first step; now one ModelFileError naming the checkpoint."""
    model, loss, opt = make()
    train.fit(model, loss, opt, small_classification(), epochs=1, checkpoint_dir=tmp_path,
              progress=False)  # fmt: skip
    checkpoint = io.load_checkpoint(tmp_path)
    checkpoint["state"]["optimizer"]["config"][key] = value
    model2, loss2, opt2 = make()
    trainer = Trainer(model2, loss2, opt2, progress=False)
    with pytest.raises(io.ModelFileError, match=f"the optimizer state does not fit .*{message}"):
        trainer.load_state(checkpoint)
    assert (opt2.lr, opt2.momentum, opt2.steps) == (0.2, 0.9, [0] * len(opt2.params))


def test_load_state_refuses_a_non_scalar_step_count_as_a_model_file_error(tmp_path):
    """A step count of shape (3,) raised a TypeError that load_state did not catch."""
    model, loss, opt = make()
    train.fit(model, loss, opt, small_classification(), epochs=1, checkpoint_dir=tmp_path,
              progress=False)  # fmt: skip
    checkpoint = io.load_checkpoint(tmp_path)
    checkpoint["arrays"]["optimizer/step.0"] = np.array([1, 2, 3])
    model2, loss2, opt2 = make()
    with pytest.raises(io.ModelFileError, match="'step.0' must be a whole number >= 0"):
        Trainer(model2, loss2, opt2, progress=False).load_state(checkpoint)


def test_load_state_refuses_a_schedule_state_with_a_negative_base_lr(tmp_path):
    model, loss, opt = make()
    schedule = optim.StepLR(opt, 2, gamma=0.5)
    train.fit(model, loss, opt, small_classification(), epochs=1, schedule=schedule,
              checkpoint_dir=tmp_path, progress=False)  # fmt: skip
    checkpoint = io.load_checkpoint(tmp_path)
    checkpoint["state"]["schedule"]["base_lr"] = -0.2
    model2, loss2, opt2 = make()
    trainer = Trainer(model2, loss2, opt2, schedule=optim.StepLR(opt2, 2, gamma=0.5),
                      progress=False)  # fmt: skip
    with pytest.raises(io.ModelFileError, match="the schedule state does not fit .*'base_lr' "
                       "must be a number >= 0, not -0.2"):  # fmt: skip
        trainer.load_state(checkpoint)


# -- bad arguments, clear errors ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["Min", "minimum", "MAX", None])
def test_history_best_refuses_a_mode_other_than_auto_min_or_max(mode):
    h = History([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.2}])
    with pytest.raises(ConfigError, match=r"mode must be one of \('auto', 'min', 'max'\)"):
        h.best("loss", mode=mode)
    assert h.best("loss", mode="min")["epoch"] == 2 and h.best("loss", mode="max")["epoch"] == 1


def test_history_best_takes_the_highest_accuracy_and_the_lowest_loss_as_early_stopping_does():
    """The default mode was "min" for every key: best("val_accuracy") was the worst epoch."""
    h = History([{"epoch": 1, "val_accuracy": 0.5, "val_loss": 0.9},
                 {"epoch": 2, "val_accuracy": 0.9, "val_loss": 0.4},
                 {"epoch": 3, "val_accuracy": 0.7, "val_loss": 0.6}])  # fmt: skip
    assert h.best("val_accuracy")["epoch"] == 2 and h.best("val_loss")["epoch"] == 2
    assert h.best("val_accuracy", mode="min")["epoch"] == 1
    # NumPy's numbers rank as Python's do (they were skipped, and best was None)
    numpy_logged = History([{"epoch": 1, "loss": np.float32(0.5)},
                            {"epoch": 2, "loss": np.float64(0.25)}])  # fmt: skip
    assert numpy_logged.best("loss")["epoch"] == 2


@pytest.mark.parametrize(
    ("key", "best_epoch"),
    [
        ("val_acc", 2),
        ("top5_accuracy", 2),
        ("val_mse", 1),
        ("val_error", 1),
        ("lr", 1),
        ("val_accuracy_top5", 2),
        ("val_loss_ema", 1),
        ("val_nll", 1),
        ("val_cross_entropy", 1),
    ],
)
def test_history_best_reads_the_way_from_the_name(key, best_epoch):
    """An accuracy logged as "val_acc" was minimised: the worst epoch came back as the best."""
    h = History([{"epoch": 1, key: 0.5}, {"epoch": 2, key: 0.9}])
    assert h.best(key)["epoch"] == best_epoch


def test_history_best_asks_for_the_mode_of_a_name_it_cannot_read():
    h = History([{"epoch": 1, "val_f1": 0.5}, {"epoch": 2, "val_f1": 0.9}])
    with pytest.raises(ConfigError, match=re.escape(
            "History.best: cannot tell whether a higher or a lower 'val_f1' is better; "
            "pass mode='max' or mode='min'")):  # fmt: skip
        h.best("val_f1")
    assert h.best("val_f1", mode="max")["epoch"] == 2
    assert h.best("val_f2") is None  # no epoch logs it: nothing to rank, nothing to ask


class _LogsF1(Callback):
    """A callback that logs a score of its own for early stopping to watch."""

    def on_epoch_end(self, trainer, epoch, logs):
        logs["val_f1"] = 1.0 - 1.0 / epoch


def test_early_stopping_asks_for_the_mode_of_a_logged_name_it_cannot_read():
    """A score that rises was taken as a loss: the run stopped `patience` epochs in, keeping
    the first epoch's weights."""
    model, loss, opt = make()
    stopper = EarlyStopping(2, monitor="val_f1")
    trainer = Trainer(model, loss, opt, callbacks=[_LogsF1()], early_stopping=stopper,
                      progress=False)  # fmt: skip
    ds = small_classification()
    with pytest.raises(ConfigError, match=re.escape(
            "EarlyStopping: cannot tell whether a higher or a lower 'val_f1' is better; "
            "pass mode='max' or mode='min'")):  # fmt: skip
        trainer.fit(ds, ds, epochs=3)
    model, loss, opt = make()
    stopper = EarlyStopping(2, monitor="val_f1", mode="max")
    trainer = Trainer(model, loss, opt, callbacks=[_LogsF1()], early_stopping=stopper,
                      progress=False)  # fmt: skip
    trainer.fit(ds, ds, epochs=5)
    assert stopper.best_epoch == 5 and stopper.stopped_epoch is None


@pytest.mark.parametrize(
    ("options", "message"),
    [({"min_delta": float("nan")}, "min_delta must be a finite number >= 0, not nan"),
     ({"min_delta": -1.0}, "min_delta must be a finite number >= 0, not -1.0"),
     ({"min_delta": "0.1"}, "min_delta must be a finite number >= 0, not '0.1'"),
     ({"min_delta": True}, "min_delta must be a finite number >= 0, not True"),
     ({"patience": 0}, "patience must be a positive integer, not 0"),
     ({"mode": "highest"}, "mode must be one of"),
     ({"monitor": 3}, "monitor must be a log's name, not 3"),
     ({"monitor": ""}, "monitor must be a log's name, not ''"),
     ({"restore_best": "no"}, "restore_best must be True or False, not 'no'")],
)  # fmt: skip
def test_early_stopping_refuses_settings_that_would_quietly_break_it(options, message):
    """NaN made no epoch an improvement (stopped after patience, no best weights); a negative
    min_delta made worse epochs improvements (never stopped, restored not the best)."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        EarlyStopping(**options)
    assert EarlyStopping(min_delta=np.float32(0.5)).min_delta == 0.5


@pytest.mark.parametrize(
    ("monitor", "validation", "task", "hint"),
    [("val_loss", False, "classification", "this fit has no validation set; pass val_ds with "
                                           "cases, or monitor='loss'"),
     ("val_accuracy", True, "regression", "a regression has no accuracy; "
                                          "monitor='val_loss'"),
     ("val_los", True, "classification", "no 'val_los' in epoch 1's logs (they have 'loss', "),
     ("val_accuracy", False, "regression", "this fit has no validation set; pass val_ds with "
                                           "cases, or monitor='loss'"),
     ("val_loss", "empty", "classification", "its validation set is empty; pass val_ds with "
                                             "cases, or monitor='loss'")],
)  # fmt: skip
def test_early_stopping_on_a_key_no_epoch_logs_says_why(monitor, validation, task, hint):
    if task == "regression":
        rng = np.random.default_rng(0)
        ds = data.Dataset(X=rng.normal(size=(20, 4)), y=rng.normal(size=(20, 3)),
                          task="regression", name="r")  # fmt: skip
    else:
        ds = small_classification()
    model, loss, opt = make()
    loss = nn.SquaredError() if task == "regression" else loss
    trainer = Trainer(model, loss, opt, early_stopping=EarlyStopping(2, monitor=monitor),
                      progress=False)  # fmt: skip
    val = ds.subset(np.arange(0)) if validation == "empty" else ds if validation else None
    with pytest.raises(ConfigError, match=re.escape(hint)):
        trainer.fit(ds, val, epochs=3)


@pytest.mark.parametrize(
    "kwargs, named",
    [({"batch_size": 2.5}, "batch_size"), ({"batch_size": "32"}, "batch_size"),
     ({"batch_size": True}, "batch_size"), ({"seed": 1.7}, "seed"), ({"seed": -1}, "seed"),
     ({"seed": None}, "seed"), ({"seed": True}, "seed")],
)  # fmt: skip
def test_trainer_refuses_a_batch_size_or_seed_that_is_not_an_integer(kwargs, named):
    model, loss, opt = make()
    with pytest.raises(UserError, match=rf"{named} must be a (positive|non-negative) integer"):
        Trainer(model, loss, opt, progress=False, **kwargs)


@pytest.mark.parametrize("every", [2.5, "3", True, -1])
def test_trainer_refuses_a_checkpoint_interval_that_is_not_a_whole_number(every, tmp_path):
    """2.5 was taken as 2 without a word."""
    model, loss, opt = make()
    with pytest.raises(UserError, match="checkpoint_every must be a whole number of epochs"):
        Trainer(model, loss, opt, checkpoint_dir=tmp_path, checkpoint_every=every, progress=False)


@pytest.mark.parametrize(
    ("named", "value"),
    [("keep_checkpoints", 1.5), ("keep_checkpoints", "2"), ("keep_checkpoints", -1),
     ("checkpoint_seconds", "5"), ("checkpoint_seconds", float("nan")),
     ("checkpoint_seconds", -1.0)],
)  # fmt: skip
def test_trainer_refuses_bad_checkpoint_settings_before_it_trains(named, value, tmp_path):
    """A bad keep_checkpoints or checkpoint_seconds raised a TypeError after the first epoch had
    trained and saved (-1 silently kept every checkpoint)."""
    model, loss, opt = make()
    with pytest.raises(UserError, match=f"{named} must be a"):
        Trainer(model, loss, opt, checkpoint_dir=tmp_path, progress=False, **{named: value})
    assert not any(tmp_path.iterdir())


def test_keep_checkpoints_zero_keeps_every_epoch(tmp_path):
    model, loss, opt = make()
    trainer = Trainer(model, loss, opt, checkpoint_dir=tmp_path, keep_checkpoints=0, progress=False)
    trainer.fit(small_classification(), epochs=3)
    assert len([d for d in tmp_path.iterdir() if d.name.startswith("epoch-")]) == 3


def test_trainer_takes_numpy_integers():
    model, loss, opt = make()
    trainer = Trainer(model, loss, opt, batch_size=np.int64(10), seed=np.int32(2), progress=False)
    trainer.fit(small_classification(), epochs=np.int64(2))
    assert trainer.epoch == 2 and trainer.batch_size == 10


@pytest.mark.parametrize("epochs", [2.5, "2", True, -1])
def test_fit_refuses_epochs_that_are_not_a_non_negative_integer(epochs):
    model, loss, opt = make()
    trainer = Trainer(model, loss, opt, progress=False)
    with pytest.raises(UserError, match="epochs must be a non-negative integer"):
        trainer.fit(small_classification(), epochs=epochs)
    assert trainer.epoch == 0


def test_fit_says_it_takes_a_dataset_not_a_tuple_of_arrays():
    ds = small_classification()
    model, loss, opt = make()
    with pytest.raises(UserError, match=r"train_ds must be a chainrule.data.Dataset .* tuple"):
        train.fit(model, loss, opt, (ds.X, ds.y), progress=False)
    with pytest.raises(UserError, match=r"val_ds must be a chainrule.data.Dataset .* tuple"):
        train.fit(model, loss, opt, ds, (ds.X, ds.y), progress=False)


def test_evaluate_refuses_an_empty_dataset():
    model, loss, _ = make()
    with pytest.raises(DataError, match="blobs has no cases"):
        train.evaluate(model, loss, small_classification().subset([]))


def test_class_report_refuses_outputs_with_fewer_columns_than_classes():
    from chainrule.train.metrics import class_report

    ds = small_classification()  # 3 classes
    with pytest.raises(DataError, match="outputs have 2 columns but blobs has 3 classes"):
        class_report(np.random.default_rng(0).random((len(ds), 2)), ds)
    with pytest.raises(DataError, match=r"one row per case \(60\)"):
        class_report(np.zeros((5, 3)), ds)
    assert class_report(np.eye(3)[ds.y], ds)["per_class"][0]["recall"] == 1.0


def test_an_optimizer_built_on_another_network_is_refused():
    """train.fit(net3, ..., optim.SGD(net2.parameters())) trained nothing, epoch after epoch,
    without a word; an optimizer on part of the model (the rest frozen) still trains it."""
    net2, net3 = nn.mlp([4, 3, 3], rng=0), nn.mlp([4, 3, 3], rng=1)
    with pytest.raises(UserError, match="SGD updates 4 parameters, none of them the model's"):
        train.fit(net3, nn.CrossEntropy(), optim.SGD(net2.parameters(), lr=0.1),
                  small_classification(), epochs=1, progress=False)  # fmt: skip
    first_layer = list(net3[0].parameters())
    before = [p.numpy().copy() for p in net3.parameters()]
    train.fit(net3, nn.CrossEntropy(), optim.SGD(first_layer, lr=0.1), small_classification(),
              epochs=1, progress=False)  # fmt: skip
    after = [p.numpy() for p in net3.parameters()]
    assert not np.array_equal(before[0], after[0])  # trained
    np.testing.assert_array_equal(before[2], after[2])  # frozen


def test_a_title_in_a_script_the_font_lacks_plots_without_a_warning(tmp_path):
    """A dataset named 数据: matplotlib warned once per glyph, with its own paths, past -q."""
    import warnings

    from chainrule.viz.curves import plot_history

    history = [
        {"epoch": 1, "loss": 1.0, "accuracy": 0.5},
        {"epoch": 2, "loss": 0.5, "accuracy": 0.7},
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = plot_history(history, tmp_path / "c.png", title="数据: training")
    assert not [w for w in caught if "Glyph" in str(w.message)]
    assert path.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("loss", "output"), [(nn.SquaredError(), "logistic"), (nn.BinaryCrossEntropy(), None)]
)
def test_a_one_unit_network_on_three_classes_is_refused_before_training(loss, output):
    """Labels 0, 1, 2 became one float target column: a logistic unit never reaches 2, and the
    run trained and reported an accuracy without a word. (BinaryCrossEntropy applies the
    logistic unit itself, so its network ends in the logit.)"""
    rng = np.random.default_rng(0)
    ds = data.Dataset(X=rng.standard_normal((30, 4)), y=np.arange(30) % 3, task="classification",
                      name="three")  # fmt: skip
    net = nn.mlp([4, 1], output=output, rng=0)
    before = net.state_dict()
    with pytest.raises(DataError, match="three: label 2 but the network has 1 output unit, which "
                       "tells classes 0 and 1 apart; give it 3 output units"):  # fmt: skip
        train.fit(net, loss, optim.SGD(net, lr=0.1), ds, epochs=1, progress=False)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    two = ds.subset(np.flatnonzero(ds.y < 2))  # classes 0 and 1: one unit is right
    assert train.fit(net, loss, optim.SGD(net, lr=0.1), two, epochs=1, progress=False).last


def _interrupting_after_first_parameter(monkeypatch, optimizer_class, at_step: int = 3):
    """Ctrl-C (a real SIGINT, as a notebook's interrupt sends) arriving in the middle of the
    optimizer's ``at_step``-th step, right after its first parameter moved."""
    import signal

    real, calls = optimizer_class._step_parameter, []

    def step_parameter(self, index, param, grad):
        real(self, index, param, grad)
        if index == 0:
            calls.append(index)
            if len(calls) == at_step:
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(optimizer_class, "_step_parameter", step_parameter)


def test_ctrl_c_in_a_step_stops_between_two_steps(monkeypatch):
    """A single-process fit took Ctrl-C where it landed: inside the optimizer's step, the first
    parameter moved and the rest not, their step counts apart for good; no word of where."""
    model, loss, _ = make()
    opt = optim.Adam(model.parameters(), lr=0.01)
    trainer = Trainer(model, loss, opt, batch_size=10, progress=False)
    ds = small_classification()
    trainer.fit(ds, epochs=1)  # six steps
    _interrupting_after_first_parameter(monkeypatch, optim.Adam)
    with pytest.raises(KeyboardInterrupt, match=r"between two steps of epoch 2, after 3 of its "
                                                r"batches.*history ends at epoch 1"):  # fmt: skip
        trainer.fit(ds, epochs=3)
    assert opt.steps == [9] * len(opt.params) and trainer.epoch == 1
    monkeypatch.undo()
    trainer.fit(ds, epochs=3)  # and the run goes on
    assert trainer.epoch == 3 and len(set(opt.steps)) == 1


def test_a_handler_of_ones_own_that_does_not_raise_lets_training_go_on(monkeypatch):
    import signal

    heard = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: heard.append(signum))
    try:
        model, loss, opt = make()
        _interrupting_after_first_parameter(monkeypatch, type(opt))
        trainer = Trainer(model, loss, opt, batch_size=10, progress=False)
        trainer.fit(small_classification(), epochs=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert heard == [signal.SIGINT] and trainer.epoch == 2


def test_ctrl_c_in_an_estimators_step_stops_it_as_scikit_learn_does(monkeypatch):
    """scikit-learn's MLP warns "Training interrupted by user." and keeps what it learnt."""
    from chainrule.sklearn import MLPClassifier

    ds = small_classification()
    _interrupting_after_first_parameter(monkeypatch, optim.Adam, at_step=4)
    estimator = MLPClassifier((5,), max_iter=50, batch_size=10, random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        estimator.fit(ds.X, ds.y)
    opt = estimator._optimizer
    assert opt.steps == [4] * len(opt.params) and estimator.n_iter_ == 0
    assert estimator.predict(ds.X).shape == (len(ds.X),)


def test_a_fit_inside_a_fit_leaves_ctrl_c_as_it_found_it(monkeypatch):
    """The inner fit took the outer one's noting handler for the user's and put it back at the
    end: afterwards Ctrl-C was noted for ever (swallowed), a second one recursed."""
    import signal

    class InnerFit(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            model, loss, opt = make(seed=1)
            Trainer(model, loss, opt, batch_size=10, progress=False).fit(
                small_classification(), epochs=1
            )

    before = signal.getsignal(signal.SIGINT)
    model, loss, opt = make()
    Trainer(model, loss, opt, batch_size=10, callbacks=[InnerFit()], progress=False).fit(
        small_classification(), epochs=2
    )
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)


def test_two_signals_in_one_step_reach_a_handler_of_ones_own(monkeypatch):
    """The second signal raised KeyboardInterrupt past a handler that does not raise."""
    import signal

    heard = []

    class TwoSignals(Callback):
        def on_batch_end(self, trainer, batch, loss):
            if trainer.epoch == 0 and batch == 2:
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, lambda signum, frame: heard.append(frame))
    try:
        model, loss, opt = make()
        trainer = Trainer(model, loss, opt, batch_size=10, callbacks=[TwoSignals()],
                          progress=False)  # fmt: skip
        trainer.fit(small_classification(), epochs=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert trainer.epoch == 2 and len(heard) == 2 and all(f is not None for f in heard)


@pytest.mark.parametrize("hook", ["on_fit_start", "on_fit_end"])
def test_a_callback_failing_at_the_fits_ends_closes_the_progress_bar(monkeypatch, hook):
    """A callback raising in on_fit_end left rich's bar drawing from its thread, with every
    later print going through it (on_fit_start the same)."""
    from chainrule.train.callbacks import ProgressBar

    closed = []
    real = ProgressBar.close
    monkeypatch.setattr(ProgressBar, "close", lambda self, clear=False: closed.append(clear)
                        or real(self, clear))  # fmt: skip

    class Fails(Callback):
        pass

    def fail(self, trainer):
        raise OSError("disk full")

    setattr(Fails, hook, fail)
    model, loss, opt = make()
    trainer = Trainer(model, loss, opt, callbacks=[Fails()], progress=True)
    with pytest.raises(OSError, match="disk full"):
        trainer.fit(small_classification(), epochs=2)
    assert closed


def test_ctrl_c_in_the_last_batch_waits_for_the_fits_end(monkeypatch):
    """A Ctrl-C noted after the last step was raised before on_fit_end: early stopping's best
    weights were not put back."""
    import signal

    class LastBatch(Callback):
        def on_batch_end(self, trainer, batch, loss):
            if trainer.epoch == 4 and batch == trainer.batches_per_epoch - 1:
                os.kill(os.getpid(), signal.SIGINT)

    model, loss, opt = make()
    script = ScriptedValLoss([5.0, 1.0, 3.0, 4.0, 4.5])
    trainer = Trainer(model, loss, opt, batch_size=10, callbacks=[script, LastBatch()],
                      early_stopping=EarlyStopping(patience=10, monitor="val_loss"),
                      progress=False)  # fmt: skip
    # it says the fit had finished (it was a bare KeyboardInterrupt(''))
    with pytest.raises(KeyboardInterrupt, match="after its last epoch, 5: the fit had finished"):
        trainer.fit(small_classification(), epochs=5)
    assert trainer.best_epoch == 2 and len(trainer.history) == 5
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, script.snapshots[2][name])
