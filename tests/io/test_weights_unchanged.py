"""load_model hashes the weights it reads against the digest their save recorded: a byte
changed on disk, or an array edited and written back with the old metadata, is refused naming
the file, where it used to load the changed numbers without a word."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import chainrule as cr
from chainrule.io import DIGEST_KEY, MODEL_JSON, WEIGHTS_FILE, ModelFileError


def _saved(tmp_path):
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Sigmoid(), cr.nn.Linear(4, 2))
    cr.io.save_model(tmp_path / "m", model)
    return model, tmp_path / "m"


def _data_start(path):
    """The offset of the first array byte: past the 8-byte length and the JSON header."""
    return 8 + int.from_bytes(path.read_bytes()[:8], "little")


def test_a_flipped_byte_in_the_weights_is_refused(tmp_path):
    _, directory = _saved(tmp_path)
    path = directory / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[_data_start(path) + 5] ^= 0x01  # a low mantissa bit: a finite number, slightly off
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"model\.safetensors: its weights are not the ones"):
        cr.io.load_model(directory)


def test_weights_edited_and_written_back_with_the_old_metadata_are_refused(tmp_path):
    model, directory = _saved(tmp_path)
    path = directory / WEIGHTS_FILE
    with open(path, "rb") as file:
        header = json.loads(file.read(_data_start(path))[8:])
    weights = load_file(path)
    weights["0.weight"][0, 0] += 1.0
    save_file(weights, path, metadata=header["__metadata__"])
    with pytest.raises(ModelFileError, match=DIGEST_KEY):
        cr.io.load_model(directory)

    description = json.loads((directory / MODEL_JSON).read_text())
    del description[DIGEST_KEY]  # the way out the message names
    (directory / MODEL_JSON).write_text(json.dumps(description))
    loaded, _ = cr.io.load_model(directory)
    edited = np.asarray(loaded[0].weight.data)
    np.testing.assert_array_equal(edited, weights["0.weight"])
    assert edited[0, 0] == np.asarray(model[0].weight.data)[0, 0] + np.float32(1.0)


def test_an_unchanged_model_loads_with_its_numbers(tmp_path):
    model, directory = _saved(tmp_path)
    loaded, _ = cr.io.load_model(directory)
    for (name, p), (_, q) in zip(model.named_parameters(), loaded.named_parameters()):
        np.testing.assert_array_equal(np.asarray(p.data), np.asarray(q.data), err_msg=name)
