"""A saved model comes back as it was saved: buffers in their own float dtype, frozen
parameters frozen, a regression saved from Python predicted as one; and what cannot be saved
faithfully is refused, naming the path the user gave, before anything is written."""

from __future__ import annotations

import errno
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn, optim
from chainrule.errors import ConversionError, ModelFileError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error, run  # noqa: E402


@nn.register_module
class FloatBufferShift(nn.Module):
    """A module whose constructor makes a float64 buffer (numpy.zeros), whatever its network."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.register_buffer("shift", np.zeros(n))

    def forward(self, z):
        return z + cr.Tensor(np.asarray(self.shift, dtype=z.dtype))

    def config(self):
        return {"type": "FloatBufferShift", "n": self.n}


@pytest.mark.parametrize(
    ("layer_dtype", "buffer_dtype"), [(np.float32, np.float64), (np.float64, np.float32)]
)
def test_a_buffer_in_the_other_float_dtype_loads_as_saved(tmp_path, layer_dtype, buffer_dtype):
    """A float64 buffer beside float32 layers was saved, then refused by load_model as "stored
    as float64 but model.json describes a float32 model"."""
    net = nn.Sequential(nn.Linear(3, 2, rng=0, dtype=layer_dtype), FloatBufferShift(2))
    net[1].shift = np.array([0.25, -1.5], dtype=buffer_dtype)
    io.save_model(tmp_path / "m", net)
    loaded, _ = io.load_model(tmp_path / "m")
    assert loaded[1].shift.dtype == buffer_dtype
    np.testing.assert_array_equal(loaded[1].shift, net[1].shift)
    assert loaded[0].weight.dtype == layer_dtype
    x = np.ones((2, 3), layer_dtype)
    np.testing.assert_array_equal(loaded(x).numpy(), net(x).numpy())


def test_frozen_parameters_load_frozen_and_fine_tuning_leaves_them(tmp_path):
    net = nn.mlp([3, 4, 2], rng=0)
    net[0].weight = nn.Parameter(net[0].weight.data, requires_grad=False)
    io.save_model(tmp_path / "m", net)
    assert json.loads((tmp_path / "m" / "model.json").read_text())["frozen"] == ["0.weight"]
    loaded, _ = io.load_model(tmp_path / "m")
    assert loaded[0].weight.requires_grad is False
    assert loaded[0].bias.requires_grad and loaded[2].weight.requires_grad
    before = loaded[0].weight.numpy().copy()
    loaded.train()
    step = optim.SGD(loaded.parameters(), lr=0.5)
    nn.CrossEntropy()(loaded(np.ones((4, 3), np.float32)), np.array([0, 1, 0, 1])).backward()
    step.step()
    np.testing.assert_array_equal(loaded[0].weight.numpy(), before)


def test_a_file_without_frozen_loads_every_parameter_trainable(tmp_path):
    io.save_model(tmp_path / "m", nn.mlp([3, 2], rng=0))
    description = json.loads((tmp_path / "m" / "model.json").read_text())
    del description["frozen"]  # a file written before the field
    (tmp_path / "m" / "model.json").write_text(json.dumps(description))
    loaded, _ = io.load_model(tmp_path / "m")
    assert all(p.requires_grad for p in loaded.parameters())


def test_a_frozen_name_that_is_no_parameter_is_refused_naming_it(tmp_path):
    io.save_model(tmp_path / "m", nn.mlp([3, 2], rng=0))
    description = json.loads((tmp_path / "m" / "model.json").read_text())
    description["frozen"] = ["9.weight"]
    (tmp_path / "m" / "model.json").write_text(json.dumps(description))
    with pytest.raises(ModelFileError, match=r"field 'frozen': '9.weight' is not a parameter"):
        io.load_model(tmp_path / "m")


def test_a_regression_saved_from_python_with_mse_is_predicted_as_values(tmp_path, capsys):
    """Saved with loss="mse" and no task recorded, predict wrote class labels (output > 0.5)."""
    net = nn.mlp([2, 3, 1], activation="tanh", rng=0, dtype=np.float64)
    io.save_model(tmp_path / "m", net, loss="mse")
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n0.5,-2\n3,1\n")
    code, out, err = run(capsys, "predict", tmp_path / "m", "-i", rows)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "line,prediction"  # no target column's name recorded
    expected = net(np.array([[0.5, -2.0], [3.0, 1.0]])).numpy().ravel()
    for k, (line, value) in enumerate(zip(lines[1:], expected)):
        number, prediction = line.split(",")
        assert int(number) == k + 2  # the row's line in the file, under its header
        assert float(prediction) == pytest.approx(value, rel=1e-12)


def test_export_to_torch_of_a_mixed_dtype_model_is_refused_and_writes_nothing(tmp_path, capsys):
    net = nn.Sequential(nn.Linear(3, 4, dtype="float64", rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    with pytest.raises(ConversionError, match="mixes float32 and float64"):
        cr.interop.save_torch(net, tmp_path / "w.safetensors")
    io.save_model(tmp_path / "m", net)
    out = tmp_path / "m.pt.safetensors"
    assert_user_error(capsys, "export", tmp_path / "m", "--format", "torch", "--out", out,
                      match="mixes float32 and float64")  # fmt: skip
    assert not out.exists()


def test_resuming_past_an_incomplete_checkpoint_says_so(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data", "xor", "--epochs", "3", "-q",
                       "--out", tmp_path / "run")  # fmt: skip
    assert code == 0, err
    (tmp_path / "run" / "checkpoints" / "epoch-000003" / "trainer.json").unlink()
    code, _, err = run(capsys, "train", "--resume", tmp_path / "run", "--epochs", "4", "-q")
    assert code == 0, err
    assert "epoch-000003 holds no trainer.json (an incomplete checkpoint): resuming from " \
        "epoch-000002" in err  # fmt: skip


def test_a_destination_name_of_250_characters_is_written(tmp_path):
    """The temporary name (a prefix, the name, a random part) passed the 255-byte limit."""
    path = tmp_path / ("n" * 250)
    io.save_model(path, nn.mlp([3, 2], rng=0))
    assert io.load_model(path)[0] is not None
    cr.files.atomic_write_bytes(tmp_path / ("f" * 250), b"data")
    assert (tmp_path / ("f" * 250)).read_bytes() == b"data"


def test_a_failed_write_names_the_users_directory_and_leaves_nothing(tmp_path, monkeypatch):
    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(io, "atomic_write_bytes", full_disk)
    with pytest.raises(OSError, match=r"No space left on device: '.*/new-model'$"):
        io.save_model(tmp_path / "new-model", nn.mlp([3, 2], rng=0))
    assert list(tmp_path.iterdir()) == []


def test_numpy_values_in_the_description_are_saved_as_json_numbers(tmp_path):
    meta = {"accuracy": np.float32(0.875), "sizes": np.array([3, 2])}
    io.save_model(tmp_path / "m", nn.mlp([3, 2], rng=0), meta=meta)
    _, info = io.load_model(tmp_path / "m")
    assert info["meta"] == {"accuracy": 0.875, "sizes": [3, 2]}


def test_a_value_that_is_not_json_is_refused_naming_its_type_before_writing(tmp_path):
    with pytest.raises(TypeError, match="of type object is not JSON"):
        io.save_model(tmp_path / "m", nn.mlp([3, 2], rng=0), meta={"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_a_pickle_named_as_weights_is_called_a_pickle(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))
    with pytest.raises(ModelFileError, match="is a pickle .*never unpickles"):
        io.read_arrays(path)


def _pickled_weights(path, kind):
    """``path`` holding what a user may save by mistake: torch.save's zip or a bare pickle."""
    if kind == "torch.save":
        torch = pytest.importorskip("torch")
        torch.save({"0.weight": torch.zeros(2, 2)}, path)
    else:
        path.write_bytes(pickle.dumps({"0.weight": [[0.0, 0.0]]}, protocol=4))


@pytest.mark.parametrize("kind", ["torch.save", "protocol 4"])
def test_every_reader_of_weights_calls_a_pickle_a_pickle(tmp_path, capsys, kind):
    """load_model, load_torch and the header readers said "bad header" (only read_arrays, which
    reads the whole file, named the pickle): they read the header first."""
    from chainrule.interop import load_torch

    model = io.save_model(tmp_path / "m", nn.mlp([2, 2], rng=0))
    weights = model / "model.safetensors"
    _pickled_weights(weights, kind)
    readers = [io.load_model, io.read_array_shapes, io.read_metadata, io.read_arrays]
    for read in readers:
        with pytest.raises(ModelFileError, match="model.safetensors: is a pickle"):
            read(model if read is io.load_model else weights)
    with pytest.raises(ModelFileError, match="is a pickle"):
        load_torch(weights, arch="2,2")
    assert_user_error(capsys, "explain", "--torch-model", weights, "--arch", "2,2",
                      match="is a pickle")  # fmt: skip


def test_torch_saves_legacy_format_is_called_a_pickle(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "w.safetensors"
    torch.save({"0.weight": torch.zeros(2, 2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(ModelFileError, match="is a pickle"):
        io.read_array_shapes(path)


def test_a_truncated_safetensors_file_is_not_taken_for_a_pickle(tmp_path):
    """A header 640 bytes long starts with the bytes a protocol 2 pickle starts with: cut after
    a "." (in "0.weight"), the file looked like a pickle to every reader."""
    from safetensors.numpy import save

    padding = 0
    while True:
        blob = save({"0.weight": np.zeros(2)}, metadata={"pad": "x" * padding})
        if int.from_bytes(blob[:8], "little") == 640:
            break
        padding += 1
    path = tmp_path / "w.safetensors"
    path.write_bytes(blob[: blob.index(b'"0.') + 3])
    for read in (io.read_arrays, io.read_array_shapes):
        with pytest.raises(ModelFileError, match="truncated or not a safetensors file"):
            read(path)


def test_a_short_file_is_not_taken_for_a_pickle(tmp_path):
    path = tmp_path / "w.safetensors"
    for data in (b"", b"\x80", b"\x80\x04"):
        path.write_bytes(data)
        with pytest.raises(ModelFileError, match="truncated or not a safetensors file"):
            io.read_array_shapes(path)


def test_an_mse_model_with_class_names_is_still_a_classifier():
    """mse on one-hot targets trains a classifier: a file that names its classes is one."""
    from chainrule.cli.train import saved_task

    assert saved_task({"loss": {"type": "mse"}, "meta": {}}) == "regression"
    assert saved_task({"loss": {"type": "mse"}, "class_names": ["no", "yes"], "meta": {}}) is None
    assert saved_task({"loss": "squared-error", "meta": {}}) is None
    assert saved_task({"loss": "mse", "meta": {"task": "classification"}}) == "classification"


def test_a_trainer_checkpoint_writes_numpy_numbers_in_meta(tmp_path):
    """model.json took them; trainer.json, which holds meta too, failed after an epoch."""
    net = nn.mlp([2, 1], output="logistic", rng=0)
    trainer = cr.train.Trainer(net, nn.SquaredError(), optim.SGD(net.parameters(), lr=0.1),
                               checkpoint_dir=tmp_path / "ck", progress=False,
                               meta={"accuracy": np.float32(0.875)})  # fmt: skip
    data = cr.data.Dataset(X=np.eye(2), y=np.array([[0.0], [1.0]]), task="regression")
    trainer.fit(data, epochs=1)
    state = json.loads(next((tmp_path / "ck").glob("epoch-*/trainer.json")).read_text())
    assert state["meta"]["accuracy"] == 0.875


def test_a_save_on_rank_0_alone_gathers_nothing(tmp_path):
    """A user's `if world.is_main: trainer.save_checkpoint(d)` hung on rank 0 when the save
    gathered every rank's generators; only the fit loop, where every rank is, gathers."""

    class RankZeroOfTwo:
        size, rank, is_main = 2, 0, True

        def allgather_object(self, value):
            raise AssertionError("a collective on rank 0 alone would hang")

    net = nn.mlp([2, 1], output="logistic", rng=0)
    trainer = cr.train.Trainer(net, nn.SquaredError(), optim.SGD(net.parameters(), lr=0.1),
                               progress=False)  # fmt: skip
    trainer._world = RankZeroOfTwo()
    assert trainer.save_checkpoint(tmp_path / "ck").name == "epoch-000000"


def test_a_zip_that_is_no_torch_save_is_not_called_a_pickle(tmp_path):
    path = tmp_path / "w.safetensors"
    with open(path, "wb") as handle:
        np.savez(handle, w=np.ones(2))
    with pytest.raises(ModelFileError, match="truncated or not a safetensors file"):
        io.read_arrays(path)


def test_a_legal_name_of_many_bytes_is_written(tmp_path):
    """83 CJK characters are 249 bytes: the temporary name is cut by bytes, not characters."""
    name = "模" * 83
    cr.files.atomic_write_bytes(tmp_path / name, b"data")
    io.save_model(tmp_path / (name[:-1] + "m"), nn.mlp([2, 1], rng=0))
    assert (tmp_path / name).read_bytes() == b"data"


def test_a_folder_that_cannot_be_written_is_named_as_the_folder(tmp_path, monkeypatch):
    """staging_dir names the folder for EACCES; save_model kept that, not its destination."""
    import tempfile

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(tempfile, "mkdtemp", refused)
    with pytest.raises(PermissionError) as raised:
        io.save_model(tmp_path / "new", nn.mlp([2, 1], rng=0))
    assert raised.value.filename == str(tmp_path)
