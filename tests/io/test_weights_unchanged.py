"""load_model and load_checkpoint hash the arrays they read against the digest their save
recorded: a byte changed on disk, or an array edited and written back with the old metadata, is
refused naming the file, where it used to load the changed numbers without a word."""

import json

import numpy as np
import pytest
from io_file_edits import one_epoch
from safetensors.numpy import load_file, save_file

import chainrule as cr
from chainrule import nn, optim
from chainrule.io import DIGEST_KEY, MODEL_JSON, OPTIMIZER_FILE, WEIGHTS_FILE, ModelFileError


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
    with pytest.raises(ModelFileError, match=r"model\.safetensors: its arrays are not the ones"):
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


def _flip_a_data_byte(path):
    data = bytearray(path.read_bytes())
    data[_data_start(path) + 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("file", [WEIGHTS_FILE, OPTIMIZER_FILE])
def test_a_flipped_byte_in_a_checkpoint_is_refused_at_resume(tmp_path, file):
    def trainer():
        net = nn.mlp([2, 3, 1], output="logistic", rng=0)
        opt = optim.Adam(net.parameters(), lr=0.1)  # moments: optimizer.safetensors holds arrays
        return cr.train.Trainer(net, nn.SquaredError(), opt, checkpoint_dir=tmp_path / "ck",
                                progress=False)  # fmt: skip

    data = cr.data.Dataset(X=np.eye(2), y=np.array([[0.0], [1.0]]), task="regression")
    trainer().fit(data, epochs=1)
    (epoch,) = (tmp_path / "ck").glob("epoch-*")
    cr.io.load_checkpoint(epoch)  # as written: loads
    _flip_a_data_byte(epoch / file)
    with pytest.raises(ModelFileError, match=rf"{file}: its arrays are not the ones saved"):
        trainer().resume(tmp_path / "ck")


def test_big_endian_weights_load_and_resume(tmp_path):
    """safetensors stores every array little-endian: the digest of big-endian weights (set from
    a .npy of such a machine) is taken as stored, so they load and their checkpoints resume
    (review: every one was refused as changed or damaged)."""
    net = nn.mlp([2, 3, 1], output="logistic", rng=0, dtype="float64")
    for p in net.parameters():
        p.data = np.asarray(p.data).astype(">f8")
    cr.io.save_model(tmp_path / "m", net)
    loaded, _ = cr.io.load_model(tmp_path / "m")
    for p, q in zip(net.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(np.asarray(p.data), np.asarray(q.data))
    opt = optim.Adam(net.parameters(), lr=0.1)
    trainer = cr.train.Trainer(net, nn.SquaredError(), opt, checkpoint_dir=tmp_path / "ck",
                               progress=False)  # fmt: skip
    data = cr.data.Dataset(X=np.eye(2), y=np.array([[0.0], [1.0]]), task="regression")
    trainer.fit(data, epochs=1)
    cr.io.load_checkpoint(tmp_path / "ck")


def test_a_damaged_checkpoint_model_says_to_resume_from_another(tmp_path):
    epoch = one_epoch(tmp_path)
    _flip_a_data_byte(epoch / WEIGHTS_FILE)
    with pytest.raises(ModelFileError, match=r"resume from another checkpoint") as refused:
        cr.io.load_checkpoint(epoch)
    assert "save the model again" not in str(refused.value)
