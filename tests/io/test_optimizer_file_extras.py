"""A checkpoint's optimizer.safetensors holding arrays nothing reads is refused, not ignored, and
a resume refused for its optimizer state changes nothing.

Found: ``Trainer.load_state`` took the ``optimizer/`` arrays and the ``callback/<k>/`` arrays of
the callbacks it has, and skipped every other key without a word (a buffer written without its
prefix, another program's array, a callback's arrays with no state in trainer.json); an
optimizer key spelled otherwise than ``state_dict`` writes it (``velocity.01``) silently stood
in for another; and an optimizer state refused for its shapes or a missing buffer was refused
after the checkpoint's weights had been copied into the model, half loading the trainer. The
oracle: the arrays the trainer held before the call, compared exactly."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import io
from chainrule.data import Dataset
from chainrule.errors import ModelFileError, StateDictError


def _data() -> Dataset:
    X = np.random.default_rng(0).normal(size=(12, 2))
    return Dataset(X=X, y=(X[:, :1] > 0).astype(float), task="regression")


def _trainer(checkpoint_dir, *, rng: int = 0, early_stopping=None) -> cr.train.Trainer:
    net = cr.nn.mlp([2, 3, 1], output="logistic", dtype="float64", rng=rng)
    return cr.train.Trainer(net, cr.nn.SquaredError(), cr.optim.Adam(net, lr=0.05),
                            progress=False, checkpoint_dir=checkpoint_dir,
                            early_stopping=early_stopping)  # fmt: skip


def _checkpoint(tmp_path, **kwargs):
    """A run of two epochs; its latest epoch directory and the arrays of its optimizer file."""
    _trainer(tmp_path / "ck", **kwargs).fit(_data(), epochs=2)
    epoch_dir = tmp_path / "ck" / "epoch-000002"
    return epoch_dir, io.read_arrays(epoch_dir / io.OPTIMIZER_FILE)


def _rewrite(epoch_dir, arrays) -> None:
    io.write_arrays(epoch_dir / io.OPTIMIZER_FILE, arrays)


def _trained_elsewhere(tmp_path) -> cr.train.Trainer:
    """A trainer with weights and optimizer state of its own (another seed, one epoch), which a
    refused resume must leave as they are."""
    trainer = _trainer(tmp_path / "other", rng=7)
    trainer.fit(_data(), epochs=1)
    return trainer


def _snapshot(trainer):
    weights = {k: np.array(v) for k, v in trainer.model.state_dict().items()}
    state = trainer.optimizer.state_dict()
    return weights, state, trainer.epoch


def _assert_unchanged(trainer, before) -> None:
    weights, state, epoch = before
    now_weights, now_state, now_epoch = _snapshot(trainer)
    assert now_epoch == epoch
    assert sorted(now_weights) == sorted(weights)
    for name in weights:
        np.testing.assert_array_equal(now_weights[name], weights[name], err_msg=name)
    assert now_state["config"] == state["config"]
    assert sorted(now_state["state"]) == sorted(state["state"])
    for key, array in state["state"].items():
        np.testing.assert_array_equal(now_state["state"][key], array, err_msg=key)


@pytest.mark.parametrize(
    "extra",
    [
        {"m.0": np.zeros((2, 3))},  # an Adam buffer written without its prefix
        {"sgd/velocity.0": np.zeros((2, 3))},  # another program's (optimizer's) array
        {"callback/EarlyStopping/0.weight": np.zeros((2, 3))},  # no such callback was saved
    ],
    ids=["unprefixed", "foreign-prefix", "orphan-callback"],
)
def test_an_array_nothing_reads_is_refused_naming_the_file_and_key(tmp_path, extra):
    epoch_dir, arrays = _checkpoint(tmp_path)
    _rewrite(epoch_dir, {**arrays, **extra})
    trainer = _trained_elsewhere(tmp_path)
    before = _snapshot(trainer)
    (key,) = extra
    with pytest.raises(ModelFileError) as refused:
        trainer.resume(tmp_path / "ck")
    message = str(refused.value)
    assert str(epoch_dir / io.OPTIMIZER_FILE) in message
    assert f"unexpected array {key!r}" in message
    _assert_unchanged(trainer, before)


def test_the_first_unexpected_key_is_named_and_the_rest_counted(tmp_path):
    epoch_dir, arrays = _checkpoint(tmp_path)
    extras = {name: np.zeros(3) for name in ["zz/c", "aa/first", "mm/b"]}
    _rewrite(epoch_dir, {**arrays, **extras})
    with pytest.raises(ModelFileError, match=r"unexpected array 'aa/first' and 2 more"):
        _trainer(tmp_path / "ck").resume(tmp_path / "ck")


def test_a_saved_callbacks_arrays_stay_allowed_without_that_callback(tmp_path):
    """A run with early stopping resumed by a trainer without it: its arrays are listed in
    trainer.json and are no error (the state is simply not loaded); one more array under a
    callback name trainer.json does not list is."""
    epoch_dir, arrays = _checkpoint(tmp_path, early_stopping=5)
    assert any(key.startswith("callback/EarlyStopping/") for key in arrays)
    resumed = _trainer(tmp_path / "ck")
    resumed.resume(tmp_path / "ck")
    assert resumed.epoch == 2
    _rewrite(epoch_dir, {**arrays, "callback/Custom/buffer": np.zeros(3)})
    with pytest.raises(ModelFileError, match=r"unexpected array 'callback/Custom/buffer'"):
        _trainer(tmp_path / "ck").resume(tmp_path / "ck")


def _wrong_shape(arrays):
    return {**arrays, "optimizer/m.1": np.zeros(7)}


def _missing_buffer(arrays):
    return {k: v for k, v in arrays.items() if k != "optimizer/v.2"}


def _other_optimizers_buffer(arrays):
    return {**arrays, "optimizer/velocity.0": np.zeros_like(arrays["optimizer/m.0"])}


def _respelled_position(arrays):
    return {**arrays, "optimizer/m.00": np.ones_like(arrays["optimizer/m.0"])}


@pytest.mark.parametrize(
    "damage", [_wrong_shape, _missing_buffer, _other_optimizers_buffer, _respelled_position]
)
def test_a_refused_optimizer_state_leaves_model_and_optimizer_as_they_were(tmp_path, damage):
    """The weights were loaded into the model before the optimizer's state was checked."""
    epoch_dir, arrays = _checkpoint(tmp_path)
    _rewrite(epoch_dir, damage(arrays))
    trainer = _trained_elsewhere(tmp_path)
    before = _snapshot(trainer)
    with pytest.raises(ModelFileError, match=str(epoch_dir / io.OPTIMIZER_FILE)):
        trainer.resume(tmp_path / "ck")
    _assert_unchanged(trainer, before)
    # the checkpoint itself, mended, still resumes: the refusal was the damage's
    _rewrite(epoch_dir, arrays)
    trainer.resume(tmp_path / "ck")
    assert trainer.epoch == 2


@pytest.mark.parametrize("position", ["01", "00", "\u0661"])
def test_optimizer_keys_spelled_otherwise_than_state_dict_are_refused(position):
    """``int()`` reads "01" and Arabic-Indic digits alike: such a key named a parameter another
    key names too, and whichever came later won without a word."""
    net = cr.nn.mlp([2, 3, 1], dtype="float64", rng=0)
    optimizer = cr.optim.SGD(net, lr=0.1, momentum=0.9)
    saved = optimizer.state_dict()
    state = dict(saved["state"])
    # the shape of the parameter int() reads it as: only the spelling is wrong
    state[f"velocity.{position}"] = np.ones(tuple(optimizer.params[int(position)].shape))
    refused = rf"key 'velocity\.{position}' does not name one of the 4 parameters"
    with pytest.raises(StateDictError, match=refused):
        optimizer.load_state_dict({"config": saved["config"], "state": state})
    assert optimizer.state == [{} for _ in optimizer.params]  # nothing loaded
