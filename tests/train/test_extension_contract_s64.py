"""The training layer's contract for a user's own loss and callbacks (the extender's report):

- a loss function of one's own on one output unit says nothing of where a unit counts as on:
  the accuracy was cut at 0.5 on the logits without a word (0.975 where 0.995 is true); the
  fit now says what it assumed, once, naming the attribute to set;
- a callback's ``state()`` of the wrong shape (one dict, PyTorch's habit) failed at the first
  checkpoint, epochs later, with a bare unpacking error; a ``load_state`` taking one argument
  at the resume: both are refused before any epoch of a fit keeping checkpoints (or at the
  resume), naming the callback and the shape;
- a number a callback writes into ``logs`` never reached the History (it copied the record
  before the callbacks ran); an EarlyStopping listed before the callback that writes its
  number says to list it after.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim, train
from chainrule.data import Dataset
from chainrule.errors import ConfigError
from chainrule.train import Callback, EarlyStopping, Trainer


def _two_classes(n: int = 200, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(np.int64)
    return Dataset(X=X, y=y, task="classification", n_classes=2)


def _bce_logits(z, t):
    """A binary cross-entropy of the user's own, on logits: it applies the logistic itself."""
    t = cr.tensor(np.asarray(t, np.float32).reshape(-1, 1))
    return (cr.softplus(z) - z * t).mean()


def _fit_bce(loss, ds, **options):
    net = nn.mlp([2, 1], rng=0)  # identity output: logits
    opt = optim.SGD(net.parameters(), lr=0.5)
    history = train.fit(net, loss, opt, ds, epochs=30, batch_size=50, progress=False, **options)
    return net, history


def _fitting_warnings(record) -> list[str]:
    return [str(w.message) for w in record if "how the network's outputs" in str(w.message)]


# -- 1. a loss of one's own on one output unit: the cut is said, once ----------------------------


def test_a_function_loss_on_logits_is_told_to_say_its_unit():
    ds = _two_classes()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _fit_bce(_bce_logits, ds)
    told = _fitting_warnings(record)
    assert len(told) == 1, told
    assert '_bce_logits.output_activation = "logistic"' in told[0]
    assert "0.5" in told[0] and "_bce_logits.threshold" in told[0]


def test_the_loss_saying_its_unit_gets_the_accuracy_of_the_logits_and_no_warning():
    def bce(z, t):
        return _bce_logits(z, t)

    bce.output_activation = "logistic"
    ds = _two_classes()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        net, history = _fit_bce(bce, ds)
    assert not _fitting_warnings(record)
    z = net(ds.X).numpy().ravel()
    assert history.last["accuracy"] == pytest.approx(float(((z > 0) == ds.y).mean()))


def test_told_once_for_a_trainer_fitted_twice():
    ds = _two_classes(40)
    net = nn.mlp([2, 1], rng=0)
    trainer = Trainer(net, _bce_logits, optim.SGD(net.parameters(), lr=0.5), progress=False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        trainer.fit(ds, epochs=1)
        trainer.fit(ds, epochs=2)
    assert len(_fitting_warnings(record)) == 1


@pytest.mark.parametrize(
    "case",
    ["chainrule's loss", "a logistic output", "a threshold said", "several classes", "regression"],
)
def test_nothing_is_told_where_the_cut_is_known(case):
    ds, sizes, output, loss = _two_classes(40), [2, 1], None, _bce_logits
    if case == "chainrule's loss":
        loss = nn.BinaryCrossEntropy()
    elif case == "a logistic output":  # outputs are probabilities: 0.5 is right
        output, loss = "logistic", lambda y, t: ((y - t) ** 2).sum()
    elif case == "a threshold said":

        def loss(y, t):
            return ((y - t) ** 2).sum()

        loss.threshold = 0.5
    elif case == "several classes":  # the most active unit: no cut
        sizes, loss = [2, 2], lambda z, t: cr.softmax_cross_entropy(z, t)
    else:
        ds = Dataset(X=ds.X, y=ds.X[:, :1] * 2.0, task="regression")
    net = nn.mlp(sizes, output=output, rng=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        train.fit(net, loss, optim.SGD(net.parameters(), lr=0.1), ds, epochs=1, progress=False)
    assert not _fitting_warnings(record)


# -- 2. a callback's state: refused before any epoch, naming the callback -------------------------


class _Epochs(Callback):
    """Counts the epochs trained."""

    def __init__(self) -> None:
        self.trained = 0

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.trained += 1


def _fit_with(callback, tmp_path, **options):
    ds = _two_classes(40)
    net = nn.mlp([2, 2], rng=0)
    counter = _Epochs()
    opt = optim.SGD(net.parameters(), lr=0.5)
    train.fit(net, nn.CrossEntropy(), opt, ds, epochs=3, callbacks=[counter, callback],
              checkpoint_dir=tmp_path / "ckpt", checkpoint_every=2, progress=False,
              **options)  # fmt: skip
    return counter


class _OneDict(Callback):
    def state(self):
        return {"n": 1}  # the state_dict habit: one dict

    def load_state(self, scalars, arrays):
        pass


def test_a_state_of_one_dict_is_refused_before_any_epoch_naming_the_callback(tmp_path):
    counter = _Epochs()
    with pytest.raises(ConfigError) as refused:
        ds = _two_classes(40)
        net = nn.mlp([2, 2], rng=0)
        train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.5), ds, epochs=3,
                  callbacks=[counter, _OneDict()], checkpoint_dir=tmp_path / "ckpt",
                  checkpoint_every=2, progress=False)  # fmt: skip
    message = str(refused.value)
    assert "_OneDict" in message and "one dict" in message
    assert "(scalars, arrays)" in message
    assert counter.trained == 0
    assert not list((tmp_path / "ckpt").glob("epoch-*"))


def test_a_load_state_of_one_argument_is_refused_when_a_trainer_keeping_checkpoints_is_built(
    tmp_path,
):
    class OneArgument(Callback):
        def state(self):
            return {"n": 1}, {}

        def load_state(self, state):
            pass

    net = nn.mlp([2, 2], rng=0)
    with pytest.raises(ConfigError, match=r"callbacks\[0\] \(OneArgument\): its load_state"):
        Trainer(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.5),
                callbacks=[OneArgument()], checkpoint_dir=tmp_path / "ckpt",
                progress=False)  # fmt: skip


class _SetInState(Callback):
    def state(self):
        return {"seen": {1, 2}}, {}

    def load_state(self, scalars, arrays):
        pass


def test_scalars_json_cannot_hold_are_refused_naming_the_callback(tmp_path):
    with pytest.raises(
        ConfigError, match=r"callback _SetInState: state\(\)'s scalars are not JSON"
    ):
        _fit_with(_SetInState(), tmp_path)


def test_a_state_saved_by_hand_is_checked_too(tmp_path):
    ds = _two_classes(40)
    net = nn.mlp([2, 2], rng=0)
    trainer = Trainer(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.5),
                      callbacks=[_OneDict()], progress=False)  # fmt: skip
    trainer.fit(ds, epochs=1)
    with pytest.raises(ConfigError, match="callback _OneDict: state"):
        trainer.save_checkpoint(tmp_path / "by-hand")


def test_a_state_built_at_the_first_epoch_still_checkpoints_and_resumes(tmp_path):
    class Later(Callback):
        def on_epoch_end(self, trainer, epoch, logs) -> None:
            self.last = epoch

        def state(self):
            return {"last": self.last}, {"seen": np.array([self.last], np.int64)}

        def load_state(self, scalars, arrays):
            self.last = scalars["last"]

    _fit_with(Later(), tmp_path)
    resumed = Later()
    net = nn.mlp([2, 2], rng=0)
    trainer = Trainer(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.5),
                      callbacks=[resumed], progress=False)  # fmt: skip
    trainer.resume(tmp_path / "ckpt")
    assert resumed.last == 3


# -- 3. what a callback logs is the History's --------------------------------------------------


class _F1(Callback):
    """Logs a number of its own, as a NumPy float32 (what a NumPy computation gives)."""

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        logs["val_f1"] = np.float32([0.5, 0.8, 0.7, 0.6, 0.6][epoch - 1])


def test_a_number_a_callback_logs_is_in_the_history_and_the_checkpoint(tmp_path):
    ds = _two_classes(40)
    net = nn.mlp([2, 2], rng=0)
    stopping = EarlyStopping(patience=2, monitor="val_f1", mode="max", restore_best=False)
    history = train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.5), ds,
                        epochs=5, callbacks=[_F1(), stopping], checkpoint_dir=tmp_path / "ckpt",
                        progress=False)  # fmt: skip
    assert history["val_f1"] == pytest.approx([0.5, 0.8, 0.7, 0.6])
    assert all(type(value) is float for value in history["val_f1"])  # JSON's numbers
    assert history.best("val_f1", "max")["epoch"] == 2
    assert json.loads(history.to_json())[1]["val_f1"] == pytest.approx(0.8)
    # the checkpoint keeps it, and a resume gives it back
    net2 = nn.mlp([2, 2], rng=0)
    trainer = Trainer(net2, nn.CrossEntropy(), optim.SGD(net2.parameters(), lr=0.5),
                      progress=False)  # fmt: skip
    trainer.resume(tmp_path / "ckpt")
    assert trainer.history["val_f1"] == pytest.approx([0.5, 0.8, 0.7, 0.6])


def test_a_value_json_cannot_hold_is_left_out_naming_its_key():
    class Sets(Callback):
        def on_epoch_end(self, trainer, epoch, logs) -> None:
            logs["classes_seen"] = {0, 1}

    ds = _two_classes(40)
    net = nn.mlp([2, 2], rng=0)
    with pytest.warns(UserWarning, match=r"callback Sets: logs\['classes_seen'\] is a set"):
        history = train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.5), ds,
                            epochs=2, callbacks=[Sets()], progress=False)  # fmt: skip
    assert len(history) == 2 and "classes_seen" not in history.last


def test_early_stopping_before_the_callback_that_logs_its_number_says_to_list_it_after():
    ds = _two_classes(40)
    net = nn.mlp([2, 2], rng=0)
    stopping = EarlyStopping(patience=2, monitor="val_f1", mode="max")
    with pytest.raises(ConfigError, match="must run before this EarlyStopping") as refused:
        train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.5), ds, epochs=3,
                  callbacks=[stopping, _F1()], progress=False)  # fmt: skip
    assert "early_stopping=" in str(refused.value)
