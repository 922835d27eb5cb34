"""A resume refused for any part of its checkpoint leaves the trainer exactly as it was, and the
same checkpoint, mended, then resumes.

Found: ``Trainer.load_state`` loaded the optimizer, the weights, the epoch, the history and the
generators before it met the schedule's state and the callbacks' (which are checked only as they
load): an early-stopping weight of the wrong shape was refused with the trainer at the
checkpoint's epoch, with its weights, Adam state and history, beside this trainer's own schedule
and callbacks. The oracle: everything the trainer holds (its ``state()``, the model's weights, a
stateful callback's very attributes), taken before the call and compared exactly after it.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import io
from chainrule.data import Dataset
from chainrule.errors import ModelFileError
from chainrule.train import Callback, EarlyStopping, Trainer


def _data() -> Dataset:
    X = np.random.default_rng(0).normal(size=(16, 2))
    return Dataset(X=X, y=(X[:, :1] > 0).astype(float), task="regression")


class _Tally(Callback):
    """A user's stateful callback: counts epochs and sums each epoch's loss into an array it
    fills in place on loading (so putting it back must refill it, not only rebind it)."""

    def __init__(self) -> None:
        self.epochs = 0
        self.sums = np.zeros(2)

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.epochs += 1
        self.sums += [logs["loss"], 1.0]

    def state(self):
        return {"epochs": self.epochs}, {"sums": self.sums}

    def load_state(self, scalars, arrays) -> None:
        if not (isinstance(scalars["epochs"], int) and scalars["epochs"] >= 0):
            raise ValueError(f"'epochs' must be a count, not {scalars['epochs']!r}")
        self.sums[...] = arrays["sums"]
        self.epochs = scalars["epochs"]


def _trainer(checkpoint_dir, seed: int) -> Trainer:
    """A run with everything a checkpoint restores: Adam, a schedule, a dropout generator, a
    user's stateful callback (loaded before early stopping) and early stopping."""
    net = cr.nn.Sequential(
        cr.nn.Linear(2, 4, dtype="float64", rng=seed),
        cr.nn.Tanh(),
        cr.nn.Dropout(0.25, rng=seed + 1),
        cr.nn.Linear(4, 1, dtype="float64", rng=seed + 2),
        cr.nn.Logistic(),
    )
    optimizer = cr.optim.Adam(net, lr=0.05)
    return Trainer(net, cr.nn.SquaredError(), optimizer, batch_size=4,
                   schedule=cr.optim.StepLR(optimizer, step_size=1, gamma=0.5),
                   callbacks=[_Tally()], early_stopping=EarlyStopping(patience=5),
                   progress=False, checkpoint_dir=checkpoint_dir)  # fmt: skip


def _checkpoint(tmp_path):
    """A run of two epochs: its latest epoch directory."""
    _trainer(tmp_path / "ck", seed=0).fit(_data(), epochs=2)
    return tmp_path / "ck" / "epoch-000002"


def _trained_elsewhere(tmp_path) -> Trainer:
    """A trainer one epoch into a run of its own (other weights): a refused resume must leave
    every part of it as it is."""
    trainer = _trainer(tmp_path / "other", seed=7)
    trainer.fit(_data(), epochs=1)
    return trainer


def _everything(trainer: Trainer):
    """All the trainer holds, copied: its state (epoch, history, generators, optimizer, schedule,
    callbacks), its arrays, the model's weights, and each callback's attributes as objects."""
    scalars, arrays = trainer.state()
    return {
        "scalars": copy.deepcopy(scalars),
        "arrays": {k: np.array(v) for k, v in arrays.items()},
        "weights": trainer.model.state_dict(),
        "lr": trainer.optimizer.lr,
        "history": trainer.history,
        "attributes": [dict(vars(callback)) for callback in trainer.callbacks],
    }


def _assert_same(trainer: Trainer, before) -> None:
    now = _everything(trainer)
    assert now["scalars"] == before["scalars"]
    assert now["lr"] == before["lr"]
    assert now["history"] is before["history"]
    for what in ("arrays", "weights"):
        assert sorted(now[what]) == sorted(before[what])
        for key, array in before[what].items():
            assert now[what][key].dtype == array.dtype, key
            np.testing.assert_array_equal(now[what][key], array, err_msg=key)
    for attributes, kept in zip(now["attributes"], before["attributes"]):
        assert attributes.keys() == kept.keys()
        for name, value in kept.items():  # the very objects (early stopping's best weights)
            assert attributes[name] is value, name


def _edit_trainer_json(epoch_dir, edit) -> None:
    path = epoch_dir / io.TRAINER_JSON
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))


def _edit_arrays(epoch_dir, edit) -> None:
    arrays = io.read_arrays(epoch_dir / io.OPTIMIZER_FILE)
    edit(arrays)
    io.write_arrays(epoch_dir / io.OPTIMIZER_FILE, arrays)


def _early_stopping_weight_of_wrong_shape(arrays) -> None:
    arrays["callback/EarlyStopping/3.weight"] = np.zeros((5, 5))


def _early_stopping_wait_negative(state) -> None:
    state["callbacks"]["EarlyStopping"]["wait"] = -1


def _own_callback_state_refused(state) -> None:
    state["callbacks"]["_Tally"]["epochs"] = -1


def _schedule_epoch_negative(state) -> None:
    state["schedule"]["epoch"] = -1


def _another_kinds_state():
    """A generator state NumPy accepts (trainer.json's schema passes it), as JSON holds it, of
    another kind than the trainer's and the dropout layer's (PCG64)."""
    state = np.random.MT19937(3).state
    return {**state, "state": {"key": state["state"]["key"].tolist(), "pos": state["state"]["pos"]}}


def _dropout_generator_of_another_kind(state) -> None:
    state["module_rngs"]["2.rng"] = _another_kinds_state()


def _trainer_generator_of_another_kind(state) -> None:
    state["rng"] = _another_kinds_state()


def _rank_generators_not_a_list(state) -> None:
    state["module_rngs_by_rank"] = "every rank's"


def _optimizer_buffer_of_wrong_shape(arrays) -> None:
    arrays["optimizer/m.1"] = np.zeros(7)


def _optimizer_buffer_missing(arrays) -> None:
    del arrays["optimizer/v.2"]


DAMAGES = {  # (which file, how, what the refusal names)
    "early-stopping-arrays": (
        _edit_arrays, _early_stopping_weight_of_wrong_shape,
        rf"{io.OPTIMIZER_FILE} \(EarlyStopping's state\), the best weights: parameter '3.weight'",
    ),
    "early-stopping-state": (
        _edit_trainer_json, _early_stopping_wait_negative,
        rf"{io.TRAINER_JSON} \(EarlyStopping's state\): does not fit .*'wait'",
    ),
    "own-callback-state": (
        _edit_trainer_json, _own_callback_state_refused,
        rf"{io.TRAINER_JSON} \(_Tally's state\): does not fit .*'epochs'",
    ),
    "schedule-state": (
        _edit_trainer_json, _schedule_epoch_negative,
        r"the schedule state does not fit .*'epoch' must be a whole number >= 0",
    ),
    "dropout-generator": (
        _edit_trainer_json, _dropout_generator_of_another_kind,
        r"the state of the generator '2.rng' does not fit .*PCG64",
    ),
    "trainer-generator": (
        _edit_trainer_json, _trainer_generator_of_another_kind,
        rf"{io.TRAINER_JSON}: field 'rng' does not fit this trainer's generator .*PCG64",
    ),
    "rank-generators": (
        _edit_trainer_json, _rank_generators_not_a_list,
        r"field 'module_rngs_by_rank': expected a list",
    ),
    "optimizer-buffer-shape": (
        _edit_arrays, _optimizer_buffer_of_wrong_shape,
        rf"{io.OPTIMIZER_FILE}: the optimizer state does not fit this Adam",
    ),
    "optimizer-buffer-missing": (
        _edit_arrays, _optimizer_buffer_missing,
        rf"{io.OPTIMIZER_FILE}: the optimizer state does not fit this Adam",
    ),
}  # fmt: skip


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_refused_resume_leaves_the_trainer_as_it_was(tmp_path, damage):
    epoch_dir = _checkpoint(tmp_path)
    files = {name: (epoch_dir / name).read_bytes() for name in (io.TRAINER_JSON, io.OPTIMIZER_FILE)}
    rewrite, edit, refusal = DAMAGES[damage]
    rewrite(epoch_dir, edit)
    trainer = _trained_elsewhere(tmp_path)
    before = _everything(trainer)
    assert before["scalars"]["epoch"] == 1 and len(trainer.history) == 1
    with pytest.raises(ModelFileError, match=refusal):
        trainer.resume(tmp_path / "ck")
    _assert_same(trainer, before)
    # the checkpoint, mended, resumes into the same trainer: the refusal was the damage's
    for name, data in files.items():
        (epoch_dir / name).write_bytes(data)
    trainer.resume(tmp_path / "ck")
    saved = io.load_checkpoint(tmp_path / "ck")
    scalars, arrays = trainer.state()
    assert scalars["epoch"] == 2 and len(trainer.history) == 2
    for key in ("history", "rng", "module_rngs", "schedule", "callbacks"):
        assert scalars[key] == saved["state"][key], key
    assert sorted(arrays) == sorted(saved["arrays"])
    for key, array in saved["arrays"].items():
        np.testing.assert_array_equal(arrays[key], array, err_msg=key)
    for name, weight in saved["model"].state_dict().items():
        np.testing.assert_array_equal(trainer.model.state_dict()[name], weight, err_msg=name)
    trainer.fit(_data(), epochs=3)  # and trains on
    assert trainer.epoch == 3


def test_a_refused_resume_of_a_fresh_trainer_leaves_it_fresh(tmp_path):
    """A trainer that has not trained (no optimizer buffers, an early stopping with nothing to
    beat) is put back as it was too, and then fits as a fresh one."""
    epoch_dir = _checkpoint(tmp_path)
    _edit_arrays(epoch_dir, _early_stopping_weight_of_wrong_shape)
    trainer = _trainer(tmp_path / "fresh", seed=7)
    before = _everything(trainer)
    with pytest.raises(ModelFileError, match="the best weights"):
        trainer.resume(tmp_path / "ck")
    _assert_same(trainer, before)
    assert all(buffers == {} for buffers in trainer.optimizer.state)
    twin = _trainer(tmp_path / "twin", seed=7)
    trainer.fit(_data(), epochs=1)
    twin.fit(_data(), epochs=1)
    for name, weight in twin.model.state_dict().items():
        np.testing.assert_array_equal(trainer.model.state_dict()[name], weight, err_msg=name)


# -- callbacks whose own state is not always there ----------------------------------------------


class _LossLog(Callback):
    """A user's callback whose state exists only once a fit has started."""

    def on_fit_start(self, trainer) -> None:
        if not hasattr(self, "losses"):
            self.losses = []

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.losses.append(logs["loss"])

    def state(self):
        return {"losses": self.losses}, {}

    def load_state(self, scalars, arrays) -> None:
        self.losses = list(scalars["losses"])


class _Best(Callback):
    """A user's callback whose load_state refuses its own state before any fit (best None)."""

    def __init__(self) -> None:
        self.best = None

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.best = logs["loss"] if self.best is None else min(self.best, logs["loss"])

    def state(self):
        return {"best": self.best}, {}

    def load_state(self, scalars, arrays) -> None:
        self.best = float(scalars["best"])


def _small_trainer(checkpoint_dir, callback) -> Trainer:
    net = cr.nn.Sequential(cr.nn.Linear(2, 3, dtype="float64", rng=0), cr.nn.Tanh(),
                           cr.nn.Linear(3, 1, dtype="float64", rng=1))  # fmt: skip
    return Trainer(net, cr.nn.SquaredError(), cr.optim.Adam(net, lr=0.05), batch_size=4, seed=0,
                   callbacks=[callback], progress=False, checkpoint_dir=checkpoint_dir)  # fmt: skip


def test_a_callback_with_no_state_before_its_fit_still_resumes(tmp_path):
    """The snapshot asked every callback for its state() before loading: one that builds its
    state in on_fit_start failed with AttributeError, a correct checkpoint refused."""
    _small_trainer(tmp_path, _LossLog()).fit(_data(), epochs=2)
    trainer = _small_trainer(tmp_path, _LossLog())
    trainer.resume(tmp_path)
    assert trainer.epoch == 2 and len(trainer.callbacks[0].losses) == 2
    trainer.fit(_data(), epochs=3)
    assert len(trainer.callbacks[0].losses) == 3


def test_the_refusal_is_raised_and_everything_put_back_when_a_callback_refuses_its_own_state(
    tmp_path,
):
    """Putting a callback back through its load_state raised (best None before any fit), which
    hid the refusal and left the weights, the epoch and the optimizer as loaded."""
    _small_trainer(tmp_path, _Best()).fit(_data(), epochs=2)
    _edit_trainer_json(
        tmp_path / "epoch-000002", lambda state: state["callbacks"]["_Best"].update(best="oops")
    )
    trainer = _small_trainer(tmp_path / "elsewhere", _Best())
    before = _everything(trainer)
    with pytest.raises(ModelFileError, match="_Best's state"):
        trainer.resume(tmp_path)
    _assert_same(trainer, before)
    assert trainer.callbacks[0].best is None


class _Counter(Callback):
    """A user's callback with no attributes before its fit."""

    def on_fit_start(self, trainer) -> None:
        if not hasattr(self, "count"):
            self.count = 0

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.count += 1

    def state(self):
        return {"count": self.count}, {}

    def load_state(self, scalars, arrays) -> None:
        self.count = int(scalars["count"])


class _LazyBuffer(Callback):
    """A user's callback whose state() fails before its fit and whose load fills an array of
    its own in place."""

    def __init__(self) -> None:
        self.buffer = np.zeros(2)

    def on_fit_start(self, trainer) -> None:
        self.seen = True

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.buffer += 1

    def state(self):
        return {"seen": self.seen}, {"buffer": self.buffer}

    def load_state(self, scalars, arrays) -> None:
        self.buffer[...] = arrays["buffer"]
        self.seen = scalars["seen"]


@pytest.mark.parametrize("kind", [_Counter, _LazyBuffer])
def test_a_refusal_after_the_callbacks_loaded_puts_back_what_they_had_before_their_fit(
    tmp_path, kind
):
    """Put back through its attributes alone (its state() had nothing to give): an empty
    attribute dict kept the checkpoint's count, and a buffer filled in place kept its values."""
    checkpoint = tmp_path / "run"
    trainer = _small_trainer(checkpoint, kind())
    trainer.callbacks.append(EarlyStopping(patience=5))
    trainer.fit(_data(), epochs=2)
    _edit_trainer_json(
        checkpoint / "epoch-000002",
        lambda state: state["callbacks"]["EarlyStopping"].update(wait=-1),
    )
    fresh = _small_trainer(tmp_path / "elsewhere", kind())
    fresh.callbacks.append(EarlyStopping(patience=5))
    callback = fresh.callbacks[0]
    before = {name: np.array(value) for name, value in vars(callback).items()}
    with pytest.raises(ModelFileError, match="EarlyStopping"):
        fresh.resume(checkpoint)
    assert vars(callback).keys() == before.keys()
    for name, value in before.items():
        np.testing.assert_array_equal(vars(callback)[name], value, err_msg=name)
