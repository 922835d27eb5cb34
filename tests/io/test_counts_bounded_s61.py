"""A count in a checkpoint or model file (an epoch, the number of epochs, a batch size, a format
version) is at most 2**63 - 1: a trainer.json epoch of 4,000 digits (Python reads JSON integers
of up to 4,300) passed the schema, and ``chainrule train --resume`` echoed all 4,000 digits back
("has already trained 1000...0 epochs"). Each is refused in one short line naming the file and
the field, before anything is built from it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from io_file_edits import one_epoch

from chainrule import io
from chainrule.io import MODEL_JSON, TRAINER_JSON, ModelFileError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error, run  # noqa: E402

#: 4,000 digits: under Python's limit on reading an integer (4,300), so JSON parses it.
DIGITS_4000 = 10**3999
#: One past the largest count a file may hold.
PAST = 2**63
VALUES = [pytest.param(DIGITS_4000, id="4000-digits"), pytest.param(PAST, id="2**63")]
REFUSED = "should be less than or equal to 9223372036854775807"


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """One saved epoch, copied by each test that edits it (a module's worth: trained once)."""
    return one_epoch(tmp_path_factory.mktemp("saved"))


@pytest.fixture
def epoch_dir(saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / saved.name))


def edit_json(path: Path, edit) -> None:
    """Rewrite a JSON file with ``edit`` (a function that changes the parsed object in place)."""
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))


def set_key(*keys, value):
    def edit(content):
        for key in keys[:-1]:
            content = content[key]
        content[keys[-1]] = value

    return edit


def early_stopping(value):
    def edit(content):
        content["callbacks"]["EarlyStopping"] = {"best": 0.5, "best_epoch": value, "wait": 0}

    return edit


# the field as the message names it: the keys that lead to it in trainer.json
TRAINER_FIELDS = {
    "epoch": ("epoch",),
    "epochs": ("epochs",),
    "batch_size": ("batch_size",),
    "version": ("version",),
    "history[0].epoch": ("history", 0, "epoch"),
}


def refusal(call, *args) -> str:
    with pytest.raises(ModelFileError) as refused:
        call(*args)
    message = str(refused.value)
    assert "\n" not in message and len(message) < 300 + len(str(args[0])), message
    return message


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("field", TRAINER_FIELDS)
def test_a_count_in_trainer_json_past_2_63_is_refused_naming_the_file_and_field(
    epoch_dir, field, value
):
    path = epoch_dir / TRAINER_JSON
    edit_json(path, set_key(*TRAINER_FIELDS[field], value=value))
    expected = f"{path}: field {field!r}: Input {REFUSED}"
    assert refusal(io.read_trainer_state, path) == expected
    assert refusal(io.load_checkpoint, epoch_dir) == expected


@pytest.mark.parametrize("value", VALUES)
def test_a_schedule_or_callback_epoch_past_2_63_is_refused_naming_it(epoch_dir, value):
    """And the bound is a sanity bound: 2**63 - 1 epochs planned is read, as written."""
    path = epoch_dir / TRAINER_JSON
    edit_json(path, set_key("epochs", value=PAST - 1))
    assert io.read_trainer_state(path)["epochs"] == PAST - 1
    edit_json(path, set_key("schedule", value={"type": "StepLR", "epoch": value, "base_lr": 0.1}))
    assert refusal(io.read_trainer_state, path) == f"{path}: field 'schedule': 'epoch' {REFUSED}"
    edit_json(path, set_key("schedule", value=None))
    edit_json(path, early_stopping(value))
    assert refusal(io.read_trainer_state, path) == (
        f"{path}: field 'callbacks': 'EarlyStopping.best_epoch' {REFUSED}"
    )


@pytest.mark.parametrize("value", VALUES)
def test_a_model_json_version_past_2_63_is_refused_naming_the_file(epoch_dir, value):
    path = epoch_dir / MODEL_JSON
    edit_json(path, set_key("version", value=value))
    expected = f"{path}: field 'version': Input {REFUSED}"
    assert refusal(io.read_model_description, path) == expected
    assert refusal(io.load_model, epoch_dir) == expected


def test_resuming_from_an_epoch_of_4000_digits_is_one_short_line(tmp_path, capsys):
    """A run of the command line, its checkpoint's epoch edited: one line naming the file and
    the field, where the 4,000 digits were echoed back."""
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "1", "--out",
                       tmp_path / "run", "-q")  # fmt: skip
    assert code == 0, err
    (checkpoint,) = (tmp_path / "run" / "checkpoints").glob("epoch-*")
    path = checkpoint / TRAINER_JSON
    edit_json(path, set_key("epoch", value=DIGITS_4000))
    edit_json(path, set_key("history", value=[]))
    line = assert_user_error(
        capsys, "train", "--resume", checkpoint, "--epochs", "2", "-q",
        match=f"{path}: field 'epoch': Input {REFUSED}",
    )  # fmt: skip
    assert len(line) < 300 + len(str(path)), line
