"""Model and checkpoint files from someone else (a student's upload) are refused in one
ModelFileError line naming the file, never a traceback or a memory blow-up: an integer of 5,001
digits (model.json's version, a safetensors shape, trainer.json's epoch), safetensors metadata
that is not a string (``weight_layout: ["chainrule"]``), a history record whose loss is text,
a model.json larger than the cap, and a sparse model.safetensors with gigabytes past its data,
refused from its header and size before anything is read."""

from __future__ import annotations

import json
import os
import threading
import tracemalloc
from pathlib import Path

import pytest
from io_file_edits import edit_header, one_epoch, replace_once

from chainrule import io
from chainrule.io import MODEL_JSON, TRAINER_JSON, WEIGHTS_FILE, ModelFileError

#: An integer of more digits than Python's int() converts from text (4300 by default).
HUGE = "1" + "0" * 5000


@pytest.fixture
def epoch_dir(tmp_path: Path) -> Path:
    """One saved epoch of a small trainer: a model directory plus its trainer.json."""
    return one_epoch(tmp_path)


def refusal(call, *args) -> str:
    with pytest.raises(ModelFileError) as refused:
        call(*args)
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_a_model_json_version_of_5001_digits_is_refused_naming_the_file(epoch_dir):
    replace_once(epoch_dir / MODEL_JSON, f'"version": {io.FORMAT_VERSION}', f'"version": {HUGE}')
    for call, arg in ((io.read_json, epoch_dir / MODEL_JSON),
                      (io.read_model_description, epoch_dir / MODEL_JSON),
                      (io.load_model, epoch_dir)):  # fmt: skip
        message = refusal(call, arg)
        assert message.startswith(f"{epoch_dir / MODEL_JSON}: ")
        assert "integer of more than 4300 digits" in message


def test_a_safetensors_shape_of_5001_digits_is_refused_naming_the_file(epoch_dir):
    weights = epoch_dir / WEIGHTS_FILE
    edit_header(weights, lambda text: text.replace('"shape":[3]', f'"shape":[{HUGE}]', 1))
    for call in (io.read_array_shapes, io.read_metadata, io.read_arrays):
        message = refusal(call, weights)
        assert message.startswith(f"{weights}: its header holds an integer of more than 4300")
    assert refusal(io.load_model, epoch_dir).startswith(f"{weights}: ")


def test_a_trainer_json_epoch_of_5001_digits_is_refused_naming_the_file(epoch_dir):
    replace_once(epoch_dir / TRAINER_JSON, '"epoch": 1', f'"epoch": {HUGE}')
    for call, arg in ((io.read_trainer_state, epoch_dir / TRAINER_JSON),
                      (io.load_checkpoint, epoch_dir)):  # fmt: skip
        message = refusal(call, arg)
        assert message.startswith(f"{epoch_dir / TRAINER_JSON}: ")
        assert "4300 digits" in message


@pytest.mark.parametrize("value", [["chainrule"], {"a": 1}, 7, None, True])
def test_a_weight_layout_that_is_not_a_string_is_refused_naming_the_file_and_key(epoch_dir, value):
    weights = epoch_dir / WEIGHTS_FILE

    def edit(text):
        header = json.loads(text)
        header["__metadata__"]["weight_layout"] = value
        return json.dumps(header)

    edit_header(weights, edit)
    for call, args in ((io.check_layout, (weights, "chainrule")), (io.read_metadata, (weights,)),
                       (io.read_arrays, (weights,)), (io.load_model, (epoch_dir,))):  # fmt: skip
        message = refusal(call, *args)
        assert message.startswith(f"{weights}: metadata 'weight_layout' is "), message
        assert "not a string" in message


@pytest.mark.parametrize(
    ("field", "value"),
    [("loss", "x"), ("accuracy", [1]), ("val_loss", True), ("lr", {"x": 1}), ("time", "now")],
)
def test_a_history_record_that_is_not_a_number_is_refused_naming_the_field(epoch_dir, field, value):
    """plot_history's ValueError came as a traceback after the resumed run had trained."""
    path = epoch_dir / TRAINER_JSON
    state = json.loads(path.read_text())
    # numbers (an int too), nulls and a callback's own keys are a record's
    state["history"][0].update(loss=1, val_loss=None, accuracy=float("nan"), note="mine")
    path.write_text(json.dumps(state))
    assert io.read_trainer_state(path)["history"][0]["note"] == "mine"
    state["history"][0][field] = value
    path.write_text(json.dumps(state))
    for call, arg in ((io.read_trainer_state, path), (io.load_checkpoint, epoch_dir)):
        message = refusal(call, arg)
        assert message.startswith(f"{path}: field 'history[0].{field}': "), message


def test_a_history_record_without_its_epoch_or_not_an_object_is_refused(epoch_dir):
    path = epoch_dir / TRAINER_JSON
    state = json.loads(path.read_text())
    del state["history"][0]["epoch"]
    path.write_text(json.dumps(state))
    assert "field 'history[0].epoch'" in refusal(io.read_trainer_state, path)
    state["history"][0] = 5
    path.write_text(json.dumps(state))
    message = refusal(io.read_trainer_state, path)
    assert message == f"{path}: field 'history[0]': Input should be a valid dictionary"


def test_a_json_file_past_the_cap_is_refused_unread(epoch_dir, monkeypatch):
    path = epoch_dir / MODEL_JSON
    monkeypatch.setattr(io, "MAX_JSON_BYTES", path.stat().st_size - 1)
    message = refusal(io.read_json, path)
    assert message == (
        f"{path}: larger than {io.MAX_JSON_BYTES:,} bytes, too large for a JSON file chainrule "
        "reads"
    )
    assert refusal(io.load_model, epoch_dir) == message
    monkeypatch.setattr(io, "MAX_JSON_BYTES", path.stat().st_size)
    assert io.read_json(path)["format"] == "chainrule-model"


def test_the_json_cap_is_generous():
    assert io.MAX_JSON_BYTES == 64 * 2**20


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize(("call", "kind"), [(io.read_json, "a JSON file"),
                                            (io.read_metadata, "a safetensors file")])  # fmt: skip
def test_a_pipe_under_a_file_name_is_refused_unread(tmp_path, call, kind):
    """Reading a pipe waits for a writer's bytes: it is refused by what it is. The call runs in
    a thread while this test holds the pipe's write end, so a reader that does not refuse it
    fails this test (released when the write end closes) instead of hanging it."""
    pipe = tmp_path / MODEL_JSON
    os.mkfifo(pipe)
    writer = os.open(pipe, os.O_RDWR | os.O_NONBLOCK)  # a writer: no reader's open waits
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(_outcome(call, pipe)), daemon=True)
    thread.start()
    thread.join(timeout=30)
    finished = not thread.is_alive()
    os.close(writer)  # a reader still waiting gets the end of the pipe
    thread.join()
    assert finished, f"{call.__name__} read the pipe"
    assert outcome == [f"{pipe}: is a pipe, not {kind} (chainrule reads regular files only)"]


def _outcome(call, path: Path) -> str:
    try:
        call(path)
    except ModelFileError as error:
        return str(error)
    return "read"


def test_a_sparse_weights_file_with_gigabytes_past_its_data_is_refused_unread(epoch_dir):
    """The header says the data area is a few dozen bytes: the file's size (stat) beyond that
    is refused before the data is read (3 GB were read, 20 s, before "not fully covered")."""
    weights = epoch_dir / WEIGHTS_FILE
    size = weights.stat().st_size
    os.truncate(weights, size + 200 * 2**20)  # sparse: no disk, but a read allocates it
    tracemalloc.start()
    try:
        messages = [refusal(io.read_arrays, weights), refusal(io.load_model, epoch_dir),
                    refusal(lambda p: io.read_arrays(p, layout=None), weights)]  # fmt: skip
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    for message in messages:
        assert message.startswith(f"{weights}: truncated or not a safetensors file (")
        assert f"the file holds {size - 8 - header_length(weights) + 200 * 2**20}" in message
        assert "file not fully covered" in message


def header_length(path: Path) -> int:
    with path.open("rb") as handle:
        return int.from_bytes(handle.read(8), "little")
