"""The Trainer and its checkpoints, as a QA pass found them: a resume of another run's settings
(an activation, a loss, a batch size, an optimizer) went on without a word; a file as the
checkpoint directory, a trainer.json whose epoch and history disagree and an
optimizer.safetensors that does not fit were refused without naming the file and the field;
early stopping compared a second fit's measure with another measure's best; a training set of
the wrong width was reported in the shape of a one-case probe; the docs said the CLI resumes a
library checkpoint with --out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import io
from chainrule.data import Dataset
from chainrule.errors import ModelFileError, ShapeError, UserError
from chainrule.train import Callback, EarlyStopping, Trainer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "training.md"


def _data(n: int = 40, width: int = 3, seed: int = 0) -> Dataset:
    X = np.random.default_rng(seed).normal(size=(n, width))
    return Dataset(X=X, y=(X[:, 0] > 0).astype(int), task="classification")


def _trainer(activation="tanh", loss=None, optimizer="sgd", dtype=np.float32, **options):
    net = cr.nn.mlp([3, 5, 2], activation=activation, rng=0, dtype=dtype)
    if optimizer == "sgd":
        opt = cr.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = cr.optim.Adam(net.parameters(), lr=0.01)
    return Trainer(net, loss or cr.nn.CrossEntropy(), opt, progress=False, **options)


def _weights(model) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    """Three epochs of a tanh network, cross-entropy, SGD, batches of 8, early stopping."""
    _trainer(batch_size=8, early_stopping=50, checkpoint_dir=tmp_path / "ck").fit(
        _data(), _data(seed=1), epochs=3
    )
    return tmp_path / "ck"


# -- 2. a resume must be of the run's own settings ---------------------------------------------


@pytest.mark.parametrize(
    ("changed", "file", "field", "theirs", "ours"),
    [
        # same shapes: the weights fitted, and the run went on with another unit
        ({"activation": "logistic"}, "model.json", "architecture.layers[1].type", "'Tanh'",
         "'Logistic'"),
        ({"loss": cr.nn.SquaredError()}, "model.json", "loss.type", "'cross-entropy'",
         "'squared-error'"),
        ({"optimizer": "adam"}, "trainer.json", "optimizer.type", "'SGD'", "'Adam'"),
    ],
)  # fmt: skip
def test_a_resume_of_another_runs_settings_is_refused_naming_the_field_and_both_values(
    checkpoint, changed, file, field, theirs, ours
):
    trainer = _trainer(batch_size=8, early_stopping=50, **changed)
    before = _weights(trainer.model)
    expected = (
        rf"epoch-000003/{re.escape(file)}: field {re.escape(repr(field))} is "
        rf"{re.escape(theirs)} in the checkpoint but {re.escape(ours)} in this trainer"
    )
    with pytest.raises(ModelFileError, match=expected):
        trainer.resume(checkpoint)
    assert trainer.epoch == 0  # nothing changed
    assert all(np.array_equal(before[k], v) for k, v in trainer.model.state_dict().items())


@pytest.mark.parametrize("batch_size", [None, 5])
def test_a_resumed_fit_of_another_batch_size_is_refused_before_it_trains(checkpoint, batch_size):
    trainer = _trainer(batch_size=batch_size, early_stopping=50)
    trainer.resume(checkpoint)
    resumed = _weights(trainer.model)
    with pytest.raises(
        ModelFileError,
        match=rf"trainer\.json: field 'batch_size' is 8 in the checkpoint but {batch_size} in",
    ):
        trainer.fit(_data(), _data(seed=1), epochs=5)
    assert trainer.epoch == 3 and len(trainer.history) == 3  # no epoch trained
    assert all(np.array_equal(resumed[k], v) for k, v in trainer.model.state_dict().items())


def test_a_resume_in_another_dtype_with_the_runs_settings_goes_on(checkpoint):
    """What may change stays allowed: the dtype (the weights are cast)."""
    trainer = _trainer(batch_size=8, early_stopping=50, dtype=np.float64)
    trainer.resume(checkpoint)
    trainer.fit(_data(), _data(seed=1), epochs=4)
    assert trainer.epoch == 4


# -- 3. a file where the checkpoint directory goes ------------------------------------------


def test_io_save_checkpoint_refuses_a_file_as_its_directory_naming_it(tmp_path):
    """io.save_checkpoint raised mkdir's bare FileExistsError."""
    trainer = _trainer()
    trainer.fit(_data(), epochs=1)
    blocking = tmp_path / "notes.txt"
    blocking.write_text("mine")
    with pytest.raises(UserError, match=r"notes\.txt' is a file, not a directory"):
        io.save_checkpoint(blocking, trainer)
    assert blocking.read_text() == "mine" and sorted(tmp_path.iterdir()) == [blocking]


# -- 4. a checkpoint whose files do not fit -------------------------------------------------


def _edited_trainer_json(checkpoint: Path, edit) -> Path:
    path = io.find_checkpoint(checkpoint) / io.TRAINER_JSON
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.update(epoch=5), r"field 'history\[0\]\.epoch' is 1, but field 'epoch' is 5"),
        (lambda s: s.update(epoch=2), r"field 'history' records 3 epochs, but field 'epoch' says"),
        (lambda s: s["history"][1].update(epoch=7), r"field 'history\[1\]\.epoch' is 7"),
        (lambda s: s["callbacks"]["EarlyStopping"].update(best_epoch=99),
         r"field 'callbacks\.EarlyStopping\.best_epoch' is 99, after field 'epoch', 3"),
    ],
)  # fmt: skip
def test_a_trainer_json_whose_epochs_disagree_is_refused_naming_the_file_and_field(
    checkpoint, edit, message
):
    """Epoch 5 beside a history of 3 epochs was resumed, and its history skipped epochs."""
    path = _edited_trainer_json(checkpoint, edit)
    with pytest.raises(ModelFileError, match=re.escape(str(path)) + ": " + message):
        _trainer(batch_size=8, early_stopping=50).resume(checkpoint)


def test_a_history_that_starts_later_still_loads(checkpoint):
    """A run resumed from a checkpoint without a history records only its own epochs."""
    _edited_trainer_json(checkpoint, lambda s: s.update(history=s["history"][1:]))
    trainer = _trainer(batch_size=8, early_stopping=50)
    trainer.resume(checkpoint)
    assert trainer.epoch == 3 and trainer.history["epoch"] == [2, 3]


def _rewrite_arrays(checkpoint: Path, change) -> Path:
    """optimizer.safetensors with its arrays changed: a header that reads, but does not fit."""
    path = io.find_checkpoint(checkpoint) / io.OPTIMIZER_FILE
    arrays = io.read_arrays(path)
    io.write_arrays(path, change(arrays))
    return path


@pytest.mark.parametrize(
    "change",
    [
        # an early-stopping array renamed: the best weights lack one
        lambda a: {k.replace("EarlyStopping/0.bias", "EarlyStopping/0.bais"): v
                   for k, v in a.items()},
        # a momentum buffer of another shape
        lambda a: {**a, "optimizer/velocity.0": a["optimizer/velocity.0"].T.copy()},
        # a step count lost
        lambda a: {k: v for k, v in a.items() if k != "optimizer/step.2"},
    ],
)  # fmt: skip
def test_an_optimizer_file_that_does_not_fit_is_named(checkpoint, change):
    path = _rewrite_arrays(checkpoint, change)
    with pytest.raises(ModelFileError) as caught:
        _trainer(batch_size=8, early_stopping=50).resume(checkpoint)
    assert str(caught.value).startswith(f"{path}")


# -- 6. early stopping across measures, the width error -------------------------------------


class _Snapshots(Callback):
    """The model's weights at the end of every epoch."""

    def __init__(self) -> None:
        self.weights: dict[int, dict[str, np.ndarray]] = {}

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.weights[epoch] = _weights(trainer.model)


def test_a_later_fit_watching_another_measure_does_not_beat_the_old_measures_best():
    """Early stopping on 'loss' then on 'val_loss' compared the validation losses with the
    best training loss (lower: none was better) and put the first fit's weights back."""
    train, val = _data(), _data(n=20, seed=3)
    val.y[:] = np.random.default_rng(4).integers(0, 2, len(val))  # labels it cannot learn
    snapshots = _Snapshots()
    stopper = EarlyStopping(patience=100, monitor="loss")
    trainer = _trainer(early_stopping=stopper, callbacks=[snapshots])
    trainer.fit(train, val, epochs=10)
    stopper.monitor = "val_loss"
    history = trainer.fit(train, val, epochs=15)
    second = history["val_loss"][10:]  # the oracle: the second fit's own values
    best_epoch = 11 + int(np.argmin(second))
    assert (stopper.best_epoch, stopper.best) == (best_epoch, min(second))
    best = snapshots.weights[best_epoch]
    assert all(np.array_equal(best[k], v) for k, v in trainer.model.state_dict().items())


def test_a_training_set_of_the_wrong_width_is_refused_naming_its_shape():
    """The message showed the one-case probe's (1, 5), not the data's (40, 5)."""
    with pytest.raises(ShapeError, match=r"\(40, 5\)") as caught:
        _trainer().fit(_data(width=5), epochs=1)
    assert "(1, 5)" not in str(caught.value)


# -- 5. the docs say what the CLI does with a library checkpoint ------------------------------


def test_the_docs_say_the_cli_refuses_a_library_checkpoint_as_it_does(tmp_path, capsys):
    from chainrule.cli import main

    _trainer(checkpoint_dir=tmp_path / "ck").fit(_data(), epochs=1)
    code = main(["train", "--resume", str(tmp_path / "ck"), "--out", str(tmp_path / "new")])
    refusal = "field 'meta.run' is missing"
    assert code == 2 and refusal in capsys.readouterr().err
    docs = " ".join(DOCS.read_text().split())
    assert "(one the library's `Trainer` wrote) needs `--out`" not in docs
    assert f"(`trainer.json: {refusal}`)" in docs
