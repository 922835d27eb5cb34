"""Model files: round trips, atomic writes, and every way a model file can be wrong."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from chainrule import data, io, nn, ops
from chainrule.errors import ConfigError, ModelFileError


def net(dtype=np.float32, hidden=5):
    return nn.mlp([4, hidden, 3], activation="tanh", output="logistic", dtype=dtype, rng=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip(tmp_path, dtype):
    model = net(dtype)
    scaler = data.Standardizer().fit(np.arange(20, dtype=np.float64).reshape(5, 4) ** 1.5)
    path = io.save_model(tmp_path / "m", model, loss=nn.SquaredError(reduction="mean"),
                         standardizer=scaler, class_names=["a", "b", "c"],
                         meta={"note": "hi"})  # fmt: skip
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "model.safetensors"]
    again, info = io.load_model(path)
    assert again.config() == model.config()
    for name, value in model.state_dict().items():
        loaded = again.state_dict()[name]
        assert loaded.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(loaded, value)
    x = np.linspace(-1, 1, 8).reshape(2, 4)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())
    assert info["dtype"] == np.dtype(dtype).name
    assert nn.loss_from_config(info["loss"]).reduction == "mean"
    assert info["class_names"] == ["a", "b", "c"] and info["meta"] == {"note": "hi"}
    np.testing.assert_array_equal(data.Standardizer.from_state(info["standardizer"]).mean,
                                  scaler.mean)  # fmt: skip
    assert not again.training


def test_the_model_given_first_is_named_as_a_swap(tmp_path, monkeypatch):
    """torch.save takes the object first; save_model takes the path first. Swapped, it says so
    and writes nothing."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TypeError, match=r"not Sequential \(the path comes first"):
        io.save_model(net(), "m")
    with pytest.raises(TypeError, match="path must be a str or path, not int"):
        io.save_model(3, net())
    assert list(tmp_path.iterdir()) == []


def test_a_model_mixing_float32_and_float64_layers_keeps_each_layers_dtype(tmp_path):
    """It was loaded all in the first parameter's dtype (float64), the float32 layer's config
    dtype overridden; the oracle is the model's own dtypes and output before saving."""
    model = nn.Sequential(nn.Linear(2, 2, dtype="float64", rng=0), nn.Tanh(),
                          nn.Linear(2, 1, dtype="float32", rng=1))  # fmt: skip
    path = io.save_model(tmp_path / "m", model)
    again, info = io.load_model(path)
    assert info["dtype"] is None
    assert [p.dtype for p in again.parameters()] == [p.dtype for p in model.parameters()]
    x = np.array([[0.25, -0.5]])
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_saving_over_an_existing_model_replaces_it(tmp_path):
    io.save_model(tmp_path / "m", net(hidden=5))
    io.save_model(tmp_path / "m", net(hidden=7))
    model, _ = io.load_model(tmp_path / "m")
    assert model[0].weight.shape == (4, 7)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.safetensors"]


def test_model_files_hold_no_pickle(tmp_path):
    io.save_model(tmp_path / "m", net())
    json.loads((tmp_path / "m" / "model.json").read_text())  # plain JSON
    header_len = int.from_bytes((tmp_path / "m" / "model.safetensors").read_bytes()[:8], "little")
    assert header_len < 10_000  # a safetensors header, not a pickle stream


def test_missing_directory(tmp_path):
    with pytest.raises(ModelFileError, match="no such model directory"):
        io.load_model(tmp_path / "nope")


def test_a_file_that_is_not_a_models_is_named_itself(tmp_path):
    """A PyTorch state dict given as the model was reported as '<its folder>: not a model
    directory', naming a directory the user never gave."""
    other = tmp_path / "state.safetensors"
    other.write_bytes(b"\0" * 16)
    with pytest.raises(
        ModelFileError, match=r"state\.safetensors: is a file, not a model directory"
    ):
        io.load_model(other)
    path = io.save_model(tmp_path / "m", net())
    assert io.load_model(path / "model.json")[1]["dtype"] == "float32"  # a model's file is fine


def test_missing_json(tmp_path):
    io.save_model(tmp_path / "m", net())
    (tmp_path / "m" / "model.json").unlink()
    with pytest.raises(ModelFileError, match="model.json is missing"):
        io.load_model(tmp_path / "m")


def test_missing_weights(tmp_path):
    io.save_model(tmp_path / "m", net())
    (tmp_path / "m" / "model.safetensors").unlink()
    with pytest.raises(ModelFileError, match="model.safetensors: file not found"):
        io.load_model(tmp_path / "m")


@pytest.mark.parametrize("keep", [0, 5, 100, -10])
def test_truncated_weights(tmp_path, keep):
    io.save_model(tmp_path / "m", net())
    path = tmp_path / "m" / "model.safetensors"
    blob = path.read_bytes()
    path.write_bytes(blob[: keep if keep >= 0 else len(blob) + keep])
    with pytest.raises(ModelFileError, match="truncated or not a safetensors file"):
        io.load_model(tmp_path / "m")


def test_json_that_does_not_parse(tmp_path):
    io.save_model(tmp_path / "m", net())
    path = tmp_path / "m" / "model.json"
    path.write_text(path.read_text()[:-20])
    with pytest.raises(ModelFileError, match=r"model.json: not valid JSON \(line \d+"):
        io.load_model(tmp_path / "m")


def test_json_of_something_else(tmp_path):
    io.save_model(tmp_path / "m", net())
    (tmp_path / "m" / "model.json").write_text('{"hello": 1}')
    with pytest.raises(ModelFileError, match="not a chainrule model"):
        io.load_model(tmp_path / "m")


def test_unknown_architecture(tmp_path):
    io.save_model(tmp_path / "m", net())
    path = tmp_path / "m" / "model.json"
    description = json.loads(path.read_text())
    description["architecture"]["layers"][0]["type"] = "Wormhole"
    path.write_text(json.dumps(description))
    with pytest.raises(ModelFileError, match="cannot rebuild the architecture.*Wormhole"):
        io.load_model(tmp_path / "m")


def test_weights_of_another_shape_name_the_parameter_and_both_shapes(tmp_path):
    io.save_model(tmp_path / "small", net(hidden=5))
    io.save_model(tmp_path / "big", net(hidden=7))
    os.replace(tmp_path / "big" / "model.safetensors", tmp_path / "small" / "model.safetensors")
    with pytest.raises(ModelFileError, match=r"'0.weight' has shape \(4, 7\) but the architecture "
                       r"needs \(4, 5\)"):  # fmt: skip
        io.load_model(tmp_path / "small")


def test_missing_and_unexpected_parameters(tmp_path):
    io.save_model(tmp_path / "m", net())
    path = tmp_path / "m" / "model.safetensors"
    arrays = io.read_arrays(path)
    io.write_arrays(path, {k: v for k, v in arrays.items() if k != "2.bias"})
    with pytest.raises(ModelFileError, match="'2.bias' is missing"):
        io.load_model(tmp_path / "m")
    io.write_arrays(path, {**arrays, "9.weight": np.zeros(2, np.float32)})
    with pytest.raises(ModelFileError, match="unexpected parameter '9.weight'"):
        io.load_model(tmp_path / "m")


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    io.atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        io.atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # the temporary is gone


def _interrupt_writing(monkeypatch, name: str) -> None:
    """Ctrl-C as ``name`` (a model file) is written."""
    real = io.atomic_write_bytes

    def interrupted(path, data):
        if Path(path).name == name:
            raise KeyboardInterrupt
        return real(path, data)

    monkeypatch.setattr(io, "atomic_write_bytes", interrupted)


def test_interrupted_save_model_leaves_no_directory(tmp_path, monkeypatch):
    _interrupt_writing(monkeypatch, io.MODEL_JSON)
    with pytest.raises(KeyboardInterrupt):
        io.save_model(tmp_path / "m", net())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("failure", ["interrupt", "not-json"])
def test_a_failed_save_over_a_model_leaves_the_old_one_whole(tmp_path, monkeypatch, failure):
    """Saving over an existing model directory writes both files in full before either
    replaces the old one: a Ctrl-C while writing, or a ``meta`` that is not JSON, used to leave
    the new weights beside the old description (a model that no longer loads)."""
    old = net()
    io.save_model(tmp_path / "m", old, loss=nn.CrossEntropy())
    (tmp_path / "m" / "notes.txt").write_text("mine")
    other = nn.mlp([3, 7, 2], rng=5)
    if failure == "interrupt":
        _interrupt_writing(monkeypatch, io.MODEL_JSON)
        with pytest.raises(KeyboardInterrupt):
            io.save_model(tmp_path / "m", other)
    else:
        with pytest.raises(TypeError, match="not JSON"):
            io.save_model(tmp_path / "m", other, meta={"lr": object()})
    monkeypatch.undo()
    loaded, info = io.load_model(tmp_path / "m")
    for (name, a), (_, b) in zip(old.named_state(), loaded.named_state()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted(
        [io.MODEL_JSON, io.WEIGHTS_FILE, "notes.txt"]
    )
    io.save_model(tmp_path / "m", other)  # and a save that succeeds replaces both, keeps notes
    loaded, _ = io.load_model(tmp_path / "m")
    assert loaded.config() == other.config()
    assert (tmp_path / "m" / "notes.txt").read_text() == "mine"


def _between_the_renames(monkeypatch, act):
    """``act()`` right after the first of the model's two files is renamed into place."""
    import chainrule.files

    real, renamed = os.replace, []

    def replace(src, dst):
        real(src, dst)
        if _into_the_model(src, dst):
            renamed.append(dst)
            if len(renamed) == 1:
                act()

    monkeypatch.setattr(chainrule.files.os, "replace", replace)


def _into_the_model(src, dst) -> bool:
    """A staged file renamed into the model's folder (not a write into the staging folder, not
    a put-back of an old file)."""
    return not Path(dst).parent.name.startswith(".tmp-") and not str(src).endswith(".old")


def _same_weights(model, directory):
    loaded, _ = io.load_model(directory)
    assert loaded.config() == model.config()
    for (name, a), (_, b) in zip(model.named_state(), loaded.named_state()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_ctrl_c_between_the_two_renames_waits_for_the_second(tmp_path, monkeypatch):
    """A Ctrl-C between the renames left the new weights under the old description: a model
    that no longer loaded ("'0.weight' has shape (3, 7) but the architecture needs (3, 5)")."""
    import signal

    io.save_model(tmp_path / "m", net())
    other = nn.mlp([3, 7, 2], rng=5)
    _between_the_renames(monkeypatch, lambda: signal.raise_signal(signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):  # delivered once both files are in place
        io.save_model(tmp_path / "m", other)
    monkeypatch.undo()
    _same_weights(other, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [io.MODEL_JSON, io.WEIGHTS_FILE]


@pytest.mark.parametrize("hard_links", [True, False])
def test_a_failed_second_rename_puts_the_old_weights_back(tmp_path, monkeypatch, hard_links):
    """Without hard links the old file was taken for none, and the put-back deleted it: the
    directory held model.json alone."""
    import chainrule.files

    old = net()
    io.save_model(tmp_path / "m", old)
    real, staged_renames = os.replace, []

    def replace(src, dst):
        if _into_the_model(src, dst):
            staged_renames.append(dst)
            if len(staged_renames) == 2:
                raise OSError(28, "No space left on device")
        real(src, dst)

    def no_links(*args, **kwargs):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(chainrule.files.os, "replace", replace)
    if not hard_links:
        monkeypatch.setattr(chainrule.files.os, "link", no_links)
    with pytest.raises(OSError, match="No space left"):
        io.save_model(tmp_path / "m", nn.mlp([3, 7, 2], rng=5))
    monkeypatch.undo()
    _same_weights(old, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [io.MODEL_JSON, io.WEIGHTS_FILE]


def test_find_checkpoint_errors(tmp_path):
    with pytest.raises(ModelFileError, match="no such checkpoint"):
        io.find_checkpoint(tmp_path / "nope")
    with pytest.raises(ModelFileError, match="no complete checkpoint"):
        io.find_checkpoint(tmp_path)


def test_a_model_holding_nan_is_not_saved(tmp_path):
    """load_model refuses non-finite weights, so save_model writes nothing for them."""
    model = net()
    model[0].weight.data[0, 0] = np.nan
    with pytest.raises(ModelFileError, match=r"'0.weight' holds NaN"):
        io.save_model(tmp_path / "m", model)
    assert not (tmp_path / "m").exists()


def _bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """float32 values truncated to bfloat16 (the top 16 bits), as bit patterns."""
    return (values.astype("<f4").view("<u4") >> 16).astype("<u2")


def _write_safetensors(path, entries: dict[str, tuple[str, tuple[int, ...], bytes]]) -> None:
    """A safetensors file written by hand: name -> (dtype, shape, raw little-endian bytes)."""
    header, offset, blobs = {}, 0, []
    for name, (dtype, shape, raw) in entries.items():
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def test_bfloat16_tensors_are_read_widened_to_float32_exactly(tmp_path):
    values = np.array([[0.5, -1.25, 3.0e-3], [1.0e20, -2.0, 7.0]], dtype=np.float32)
    bits = _bfloat16_bits(values)
    path = tmp_path / "bf16.safetensors"
    _write_safetensors(path, {"w": ("BF16", (2, 3), bits.tobytes()),
                              "b": ("F32", (3,), np.arange(3, dtype="<f4").tobytes())})  # fmt: skip
    arrays = io.read_arrays(path)
    expected = (bits.astype("<u4") << 16).view("<f4")  # what the bfloat16s hold, widened
    assert arrays["w"].dtype == np.float32 and arrays["w"].shape == (2, 3)
    np.testing.assert_array_equal(arrays["w"], expected)
    np.testing.assert_allclose(arrays["w"], values, rtol=2**-7)  # bfloat16 keeps 8 bits
    np.testing.assert_array_equal(arrays["b"], [0.0, 1.0, 2.0])


def test_a_float8_tensor_is_refused_naming_it_and_its_dtype(tmp_path):
    path = tmp_path / "f8.safetensors"
    _write_safetensors(path, {"x": ("F8_E4M3", (2,), b"\x38\x38")})
    with pytest.raises(ModelFileError, match=r"tensor 'x' is F8_E4M3, which chainrule cannot read"):
        io.read_arrays(path)


def test_a_loss_given_by_name_is_stored_as_its_configuration(tmp_path, capsys):
    """``save_model(loss="cross-entropy")`` is documented; the file stores the loss's config,
    which every reader rebuilds (the CLI refused such a model), and an unknown name is refused
    before anything is written."""
    from chainrule.cli import main

    io.save_model(tmp_path / "m", nn.mlp([4, 5, 3], rng=0), loss="cross-entropy")
    _, info = io.load_model(tmp_path / "m")
    assert info["loss"] == nn.CrossEntropy().config()
    (tmp_path / "row.csv").write_text("1,2,3,4\n")
    assert main(["predict", str(tmp_path / "m"), "--input", str(tmp_path / "row.csv")]) == 0
    assert capsys.readouterr().out.startswith("line,prediction,")
    with pytest.raises(ConfigError, match="unknown loss 'nope'"):
        io.save_model(tmp_path / "n", nn.mlp([4, 5, 3], rng=0), loss="nope")
    assert not (tmp_path / "n").exists()
    # a file of an older version, with the name itself, still loads its loss
    assert nn.loss_from_config("squared-error").config() == nn.SquaredError().config()


def test_a_float64_models_own_float_buffers_stay_float64(tmp_path):
    """A module that registers a float32 buffer beside layers built as float64: Module.to made
    it float64 before saving, and loading keeps it so, bit for bit (it was cast to float32)."""

    class Shift(nn.Module):
        def __init__(self, n=3):
            super().__init__()
            self.n = n
            self.register_buffer("mean", np.zeros(n, "float32"))

        def forward(self, x):
            return x - self.mean

        def config(self):
            return {"type": "ShiftForTest", "n": self.n}

    nn.register_module(Shift, name="ShiftForTest")
    model = nn.Sequential(nn.Linear(2, 3, rng=0), Shift(3)).to("float64")
    model[1].mean[...] = 1 / 3
    io.save_model(tmp_path / "m", model)
    loaded, _ = io.load_model(tmp_path / "m")
    assert loaded[1].mean.dtype == np.float64
    assert loaded[1].mean[0] == 1 / 3


def test_the_same_model_saved_again_is_the_same_bytes(tmp_path):
    """safetensors writes its metadata keys in a random order at every call: two saves of one
    model (a seeded run's, say) gave files that differ byte for byte. The header is sorted."""
    model = nn.mlp([3, 4, 2], rng=0)
    blobs = set()
    for k in range(12):
        io.save_model(tmp_path / f"m{k}", model)
        blobs.add((tmp_path / f"m{k}" / "model.safetensors").read_bytes())
    assert len(blobs) == 1
    (blob,) = blobs
    loaded, _ = io.load_model(tmp_path / "m0")
    for (name, p), (_, q) in zip(model.named_parameters(), loaded.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    metadata = io.read_metadata(tmp_path / "m0" / "model.safetensors")
    assert list(metadata) == sorted(metadata) and len(metadata) >= 2


@pytest.mark.parametrize("stored", ["int32", "float16", "float64", "bool"])
def test_weights_stored_in_another_dtype_than_the_description_are_refused(tmp_path, stored):
    """int32 or float16 arrays in model.safetensors were cast into the float32 model silently
    (int32 ones from truncated values)."""
    from safetensors.numpy import load_file, save_file

    path = io.save_model(tmp_path / "m", nn.mlp([2, 3, 1], rng=0))
    weights = load_file(path / "model.safetensors")
    save_file({k: v.astype(stored) for k, v in weights.items()}, path / "model.safetensors")
    with pytest.raises(ModelFileError, match=f"parameter '0.weight' is stored as {stored} but "
                       "model.json describes a float32 model"):  # fmt: skip
        io.load_model(path)


def test_saving_a_model_below_a_file_names_the_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ModelFileError, match=f"cannot make its directory: {tmp_path / 'afile'} "
                       "is a file"):  # fmt: skip
        io.save_model(tmp_path / "afile" / "deeper" / "m", nn.mlp([2, 1], rng=0))
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("name", [io.MODEL_JSON, io.WEIGHTS_FILE])
def test_a_model_file_that_is_a_directory_or_not_text_says_so(tmp_path, name):
    """model.json as a directory said "cannot read ([Errno 21] Is a directory: '...')": the
    branch naming it came after OSError's, which caught it first."""
    io.save_model(tmp_path / "m", net())
    (tmp_path / "m" / name).unlink()
    (tmp_path / "m" / name).mkdir()
    kind = "JSON" if name == io.MODEL_JSON else "safetensors"
    with pytest.raises(ModelFileError, match=f"{name}: is a directory, not a {kind} file$"):
        io.load_model(tmp_path / "m")


def test_a_model_json_that_is_not_utf8_says_so(tmp_path):
    io.save_model(tmp_path / "m", net())
    (tmp_path / "m" / io.MODEL_JSON).write_bytes(b"\xff\xfe{}")
    with pytest.raises(ModelFileError, match=r"model.json: not a JSON file \(not UTF-8 text\)"):
        io.load_model(tmp_path / "m")


def test_a_model_is_not_saved_into_a_checkpoint_directory(tmp_path):
    """A checkpoint directory loads as its latest epoch: a model saved into one was then
    loaded as the epoch's model, silently (predict and export too). Saving there is refused,
    and the directory still loads as its latest epoch."""
    from chainrule import optim, train

    trained = nn.mlp([2, 3, 1], rng=0)
    sgd = optim.SGD(trained.parameters(), lr=0.5)
    train.fit(trained, nn.BinaryCrossEntropy(), sgd, data.load("xor"), None, epochs=2,
              checkpoint_dir=tmp_path / "ck", progress=False)  # fmt: skip
    with pytest.raises(ModelFileError, match="is a checkpoint directory .it holds epoch-000002"):
        io.save_model(tmp_path / "ck", nn.mlp([2, 3, 1], rng=123))
    assert not (tmp_path / "ck" / "model.json").exists()
    x = np.array([[0.0, 1.0]], np.float32)
    np.testing.assert_array_equal(io.load_model(tmp_path / "ck")[0](x).numpy(), trained(x).numpy())


@pytest.mark.parametrize(
    "options, match",
    [
        ({"class_names": [0, 1, 2]}, "field 'class_names[0]': Input should be a valid string"),
        ({"class_names": np.array([0, 1, 2])}, "field 'class_names[0]'"),
        ({"class_names": ["a", "b"]}, "field 'class_names' has 2 names for 3 output units"),
        ({"class_names": ["a", "b", "a"]}, "names 0 and 2 are both 'a'"),
        ({"class_names": ["a", " ", "c"]}, "field 'class_names': name 1 is empty"),
        ({"standardizer": {"mean": [0.0] * 3, "std": [1.0] * 3}}, "3 means and 3 deviations for 4"),
        ({"standardizer": {"mean": [0.0] * 4, "std": [1.0, 0.0, 1.0, 1.0]}}, "must be positive"),
    ],
)
def test_saving_what_load_model_would_refuse_writes_nothing(tmp_path, options, match):
    """Each of these saved, then failed to load: over a good model, the model was lost."""
    good = io.save_model(tmp_path / "m", net(), class_names=["x", "y", "z"])
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    with pytest.raises(ModelFileError, match=re.escape(match)):
        io.save_model(good, net(hidden=7), **options)
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before
    assert io.load_model(good)[1]["class_names"] == ["x", "y", "z"]
    with pytest.raises(ModelFileError, match=re.escape(match)):
        io.save_model(tmp_path / "new", net(), **options)
    assert not (tmp_path / "new").exists()


def test_layers_whose_widths_do_not_chain_are_refused_on_save_and_on_load(tmp_path, capsys):
    """Linear(4, 5) then Linear(6, 2) saved and loaded; every command then met the engine's
    error as a traceback. Read off the architecture alone: nothing is built or run for it."""
    from safetensors.numpy import save_file

    from chainrule.cli import main

    model = nn.Sequential(nn.Linear(4, 5), nn.Logistic(), nn.Linear(6, 2))
    match = "field 'architecture': layer 2, Linear(6, 2), gets 5 inputs"
    with pytest.raises(ModelFileError, match=re.escape(match)):
        io.save_model(tmp_path / "m", model)
    assert not (tmp_path / "m").exists()
    io.save_model(tmp_path / "m", nn.Sequential(nn.Linear(4, 2)))  # then the file edited
    description = json.loads((tmp_path / "m" / "model.json").read_text())
    description["architecture"] = model.config()
    description["parameters"] = {k: list(v.shape) for k, v in model.state_dict().items()}
    (tmp_path / "m" / "model.json").write_text(json.dumps(description))
    weights = {k: np.asarray(v) for k, v in model.state_dict().items()}
    save_file(weights, tmp_path / "m" / "model.safetensors", metadata={"format": "chainrule-model"})
    with pytest.raises(ModelFileError, match=re.escape(match)):
        io.load_model(tmp_path / "m")
    (tmp_path / "rows.csv").write_text("1,2,3,4\n")
    assert main(["predict", str(tmp_path / "m"), "--input", str(tmp_path / "rows.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0] and "Traceback" not in err[0]


@nn.register_module
class _Doubled(nn.Module):
    """A layer of the user's own that changes the width: [x, x * x]."""

    def forward(self, x):
        return ops.concatenate([x, x.tanh() * x], axis=1)

    def config(self):
        return {"type": "_Doubled"}


def test_a_users_own_layer_that_changes_the_width_saves_loads_and_checkpoints(tmp_path):
    """Only what the config tells is checked: after a module type of the user's own the width
    is unknown. (A dry run of the model on zeros had refused this model, which trains.)
    Oracle: the model's own outputs before and after."""
    import chainrule as cr
    from chainrule import optim, train

    model = nn.Sequential(_Doubled(), nn.Linear(6, 2, rng=0, dtype="float64"))
    x = cr.tensor(np.linspace(-1, 1, 6).reshape(2, 3))  # its forward takes tensors only
    io.save_model(tmp_path / "m", model)
    np.testing.assert_array_equal(io.load_model(tmp_path / "m")[0](x).numpy(), model(x).numpy())
    ds = data.Dataset(x.numpy(), np.array([0, 1]), task="classification")
    sgd = optim.SGD(model.parameters(), lr=0.1)
    train.fit(model, nn.CrossEntropy(), sgd, ds, None, epochs=1,
              checkpoint_dir=tmp_path / "ck", progress=False)  # fmt: skip
    np.testing.assert_array_equal(io.load_model(tmp_path / "ck")[0](x).numpy(), model(x).numpy())


def test_saving_draws_nothing_from_the_seeded_generator(tmp_path):
    """Saving built a second model to try, drawing from the global generator: the next
    layer made after a save differed from the one made without it."""
    import chainrule as cr

    cr.manual_seed(0)
    nn.mlp([3, 4, 2])
    unsaved = nn.Linear(3, 3).weight.numpy()
    cr.manual_seed(0)
    io.save_model(tmp_path / "m", nn.mlp([3, 4, 2]))
    np.testing.assert_array_equal(nn.Linear(3, 3).weight.numpy(), unsaved)


def test_a_file_written_with_repeated_class_names_still_loads(tmp_path):
    """Saving refuses them now; a file written before that check keeps loading."""
    path = io.save_model(tmp_path / "m", net(), class_names=["a", "b", "c"])
    description = json.loads((path / "model.json").read_text())
    description["class_names"] = ["a", "b", "b"]
    (path / "model.json").write_text(json.dumps(description))
    assert io.load_model(path)[1]["class_names"] == ["a", "b", "b"]


def test_an_architecture_that_cannot_be_built_is_blamed_before_the_sizes_it_implies(tmp_path):
    """An n_in of -4 was reported as a standardizer of the wrong width."""
    path = io.save_model(tmp_path / "m", net(), standardizer={"mean": [0.0] * 4, "std": [1.0] * 4})
    description = json.loads((path / "model.json").read_text())
    description["architecture"]["layers"][0]["n_in"] = -4
    (path / "model.json").write_text(json.dumps(description))
    with pytest.raises(ModelFileError, match="cannot rebuild the architecture"):
        io.load_model(path)
