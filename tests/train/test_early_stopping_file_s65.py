"""Early stopping's weights in a checkpoint (session 65): the best epoch's weights, and the last
epoch's where a checkpoint was saved between two fits, are kept in optimizer.safetensors under
``callback/EarlyStopping/``. They were read with no check of their dtype, where the model's own
weights (``load_model``) and the optimizer's buffers (``load_checkpoint``) are refused when
stored in another dtype than model.json describes: float16 or bfloat16 (which reading widens to
float32) best weights were cast into the resumed run without a word, and a run that stopped
early ended on weights of a sixteenth of their precision. Now they are refused, naming the file,
the early-stopping state, which weights and the array."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import chainrule as cr
from chainrule import nn, optim, train
from chainrule.errors import ModelFileError
from chainrule.io import OPTIMIZER_FILE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from io_file_edits import edit_header  # noqa: E402

DATA = cr.data.Dataset(
    X=np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]),
    y=np.array([[0.0], [1.0], [1.0], [0.0]]),
    task="regression",
)
BEST = "callback/EarlyStopping/0.weight"
LAST = "callback/EarlyStopping/last/0.weight"


class PeakAtEpoch2(train.Callback):
    """A score that is best at epoch 2, so that the last epoch is not the best."""

    def on_epoch_end(self, trainer, epoch, logs):
        logs["score"] = -abs(epoch - 2)


def _trainer(dtype: str = "float32", early_stopping: bool = True) -> train.Trainer:
    net = nn.mlp([2, 3, 1], output="logistic", rng=0).to(dtype)
    stopping = train.EarlyStopping(patience=50, monitor="score", mode="max")
    return train.Trainer(
        net, nn.SquaredError(), optim.SGD(net.parameters(), lr=0.5), callbacks=[PeakAtEpoch2()],
        early_stopping=stopping if early_stopping else None, progress=False,
    )  # fmt: skip


def _saved(tmp_path: Path, dtype: str = "float32") -> Path:
    """A checkpoint saved by hand after a fit of 4 epochs whose best was epoch 2: it keeps the
    best weights (standing in the model) and the last epoch's (``last/``)."""
    trainer = _trainer(dtype)
    trainer.fit(DATA, epochs=4)
    assert trainer.best_epoch == 2
    epoch_dir = trainer.save_checkpoint(tmp_path / "ck")
    arrays = load_file(epoch_dir / OPTIMIZER_FILE)
    assert BEST in arrays and LAST in arrays
    return epoch_dir


def _rewritten(epoch_dir: Path, name: str, dtype) -> None:
    """optimizer.safetensors with the array ``name`` converted to ``dtype`` (no digest: as a
    program converting the file writes it)."""
    path = epoch_dir / OPTIMIZER_FILE
    arrays = load_file(path)
    arrays[name] = arrays[name].astype(dtype)
    save_file(arrays, path)


@pytest.mark.parametrize(
    ("name", "which"), [(BEST, "the best weights"), (LAST, "the last weights")]
)
def test_float16_early_stopping_weights_are_refused_naming_the_file_and_array(
    tmp_path, name, which
):
    epoch_dir = _saved(tmp_path)
    _rewritten(epoch_dir, name, np.float16)
    resumed = _trainer()
    with pytest.raises(ModelFileError) as caught:
        resumed.resume(tmp_path / "ck")
    message = str(caught.value)
    assert message.startswith(f"{epoch_dir / OPTIMIZER_FILE} (EarlyStopping's state), {which}")
    assert "parameter '0.weight' is stored as float16" in message
    assert "model.json describes a float32 model" in message
    assert resumed.epoch == 0  # nothing was loaded


def test_bfloat16_best_weights_are_refused_though_reading_widens_them_to_float32(tmp_path):
    epoch_dir = _saved(tmp_path)
    _rewritten(epoch_dir, BEST, np.float16)  # the same size: the header now says bfloat16
    edit_header(epoch_dir / OPTIMIZER_FILE, lambda text: text.replace('"F16"', '"BF16"', 1))
    with pytest.raises(ModelFileError, match="parameter '0.weight' is stored as bfloat16"):
        _trainer().resume(tmp_path / "ck")


def test_float32_best_weights_of_a_float64_run_are_refused(tmp_path):
    epoch_dir = _saved(tmp_path, "float64")
    _rewritten(epoch_dir, BEST, np.float32)
    with pytest.raises(ModelFileError, match="stored as float32 but model.json describes a "
                                             "float64 model"):  # fmt: skip
        _trainer("float64").resume(tmp_path / "ck")


def test_the_last_weights_are_checked_for_a_trainer_without_early_stopping(tmp_path):
    """A trainer without early stopping goes on from the last epoch's weights too."""
    epoch_dir = _saved(tmp_path)
    _rewritten(epoch_dir, LAST, np.float16)
    with pytest.raises(ModelFileError, match=r"the last weights: parameter '0\.weight' is "
                                             "stored as float16"):  # fmt: skip
        _trainer(early_stopping=False).resume(tmp_path / "ck")
