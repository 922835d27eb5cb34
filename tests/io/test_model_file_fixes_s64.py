"""What a model-file auditor and an extender found in saving and loading model files.

- bfloat16 weights went into a float32 model unseen (read widened), and were named float32
  when a float64 model refused them; a weight of another dtype under an intact digest was
  refused as changed bytes, whose advice (delete the digest) led on to the dtype refusal.
- Optimizer buffers of another float dtype than the checkpoint's model were cast, not refused.
- load_model of an unfinished run's directory said "not a model directory", where the command
  line names its checkpoints.
- save_model onto a dangling or looping symbolic link raised bare "File exists" or "Not a
  directory"; a model.json linked to itself was "missing".
- A model.json loss of chainrule's with an option it does not take loaded, and the commands
  then named the directory alone; ``Linear(bias="no")`` built a bias.
- load_torch told a bare chainrule-layout file's user to run load_model on its folder.
- save_model wrote a registered module whose config() could not rebuild it (a misspelt
  argument, no "type"); one that leaves an argument out is warned about (see
  test_config_rebuild_s64b.py).
- A loss written as an nn.Module subclass without config() made every Trainer with a
  checkpoint_dir raise "define it ... to save this module"; it is stored as null, as a
  function is.

The oracles: the bytes a file holds (bfloat16 is the top half of a float32), closed forms of
the layers (x @ W + b, x * sigmoid(beta x)) and the directory's contents before and after.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.errors import ConfigError, ModelFileError

X = np.random.default_rng(0).normal(size=(5, 3))


def _model(dtype="float32"):
    return nn.Sequential(nn.Linear(3, 2, rng=0, dtype=dtype))


#: NumPy's little-endian type of each safetensors dtype the tests write ("BF16" is apart).
_CODES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I64": "<i8"}


def _write_safetensors(path, arrays, dtypes, metadata):
    """A safetensors file written byte by byte: ``dtypes`` gives each array's dtype string, and
    a "BF16" array is stored as the top 16 bits of its float32 values."""
    header, blobs, offset = {}, [], 0
    for name in sorted(arrays):
        array = np.asarray(arrays[name], order="C")  # a 0-d step count stays 0-d
        if dtypes[name] == "BF16":
            raw = (array.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        else:
            raw = array.astype(_CODES[dtypes[name]]).tobytes()
        header[name] = {
            "dtype": dtypes[name],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def _drop_digest(directory):
    info = json.loads((directory / io.MODEL_JSON).read_text())
    info.pop(io.DIGEST_KEY)
    (directory / io.MODEL_JSON).write_text(json.dumps(info))


def _as_bf16(array):
    """The float32 a bfloat16 of ``array`` reads back as (its top 16 bits)."""
    return ((np.asarray(array, "<f4").view("<u4") >> 16) << 16).view("<f4")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bfloat16_weights_are_refused_naming_bfloat16(tmp_path, dtype):
    path = io.save_model(tmp_path / "m", _model(dtype))
    weights = io.read_arrays(path / io.WEIGHTS_FILE)
    _write_safetensors(path / io.WEIGHTS_FILE, weights, dict.fromkeys(weights, "BF16"),
                       {"weight_layout": "chainrule"})  # fmt: skip
    _drop_digest(path)  # as the docs say to load changed weights
    # the file is a good one: read as it is, it holds the top halves of the weights
    held = io.read_arrays(path / io.WEIGHTS_FILE, layout=None)
    np.testing.assert_array_equal(held["0.weight"], _as_bf16(weights["0.weight"]))
    with pytest.raises(ModelFileError) as refused:
        io.load_model(path)
    assert str(refused.value) == (
        f"{path / io.WEIGHTS_FILE}: parameter '0.weight' is stored as bfloat16 but model.json "
        f"describes a {dtype} model"
    )


def test_another_dtype_under_an_intact_digest_is_named_before_the_digest(tmp_path):
    """Weights converted to float16 and written back with the file's old metadata: the header
    shows the dtype before any hashing, and the advice the digest refusal gives (delete it)
    only led to the dtype refusal."""
    path = io.save_model(tmp_path / "m", _model())
    weights = io.read_arrays(path / io.WEIGHTS_FILE)
    metadata = io.read_metadata(path / io.WEIGHTS_FILE)
    _write_safetensors(path / io.WEIGHTS_FILE, weights, dict.fromkeys(weights, "F16"), metadata)
    with pytest.raises(ModelFileError, match=r"'0\.weight' is stored as float16 but model\.json "
                       r"describes a float32 model$"):  # fmt: skip
        io.load_model(path)
    # the same file in float32 again (the bytes saved) loads: the refusal was the dtype's
    _write_safetensors(path / io.WEIGHTS_FILE, weights, dict.fromkeys(weights, "F32"), metadata)
    model, _ = io.load_model(path)
    layer = model[0]
    np.testing.assert_allclose(
        model(X).numpy(), X @ weights["0.weight"] + weights["0.bias"], rtol=1e-6
    )
    np.testing.assert_array_equal(layer.weight.numpy(), weights["0.weight"])


# -- optimizer buffers -------------------------------------------------------------------------


def _checkpoint(tmp_path, dtype):
    X = np.random.default_rng(1).normal(size=(12, 2))
    ds = cr.data.Dataset(X=X, y=(X[:, :1] > 0).astype(float), task="regression")
    net = nn.mlp([2, 3, 1], output="logistic", dtype=dtype, rng=0)
    trainer = cr.train.Trainer(net, nn.SquaredError(), cr.optim.Adam(net, lr=0.05),
                               progress=False, checkpoint_dir=tmp_path / "ck")  # fmt: skip
    trainer.fit(ds, epochs=2)
    return tmp_path / "ck" / "epoch-000002"


def _fresh_trainer(dtype):
    net = nn.mlp([2, 3, 1], output="logistic", dtype=dtype, rng=5)
    return cr.train.Trainer(net, nn.SquaredError(), cr.optim.Adam(net, lr=0.05), progress=False)


@pytest.mark.parametrize(
    "dtype, stored, named",
    [("float32", "F16", "float16"), ("float32", "F64", "float64"), ("float32", "BF16", "bfloat16"),
     ("float64", "F32", "float32")],
)  # fmt: skip
def test_optimizer_buffers_of_another_dtype_are_refused(tmp_path, dtype, stored, named):
    epoch_dir = _checkpoint(tmp_path, dtype)
    file = epoch_dir / io.OPTIMIZER_FILE
    saved, metadata = io.read_arrays(file), io.read_metadata(file)
    own = "F32" if dtype == "float32" else "F64"
    kinds = {k: "I64" if "/step." in k else own for k in saved}
    changed = {**kinds, **{k: stored for k in saved if k.startswith("optimizer/m.")}}
    _write_safetensors(file, saved, changed, {"weight_layout": "chainrule"})  # no digest
    trainer = _fresh_trainer(dtype)
    with pytest.raises(ModelFileError) as refused:
        trainer.resume(epoch_dir)
    assert str(refused.value).startswith(
        f"{file}: optimizer buffer 'optimizer/m.0' is stored as {named} but the checkpoint's "
        f"model.json describes a {dtype} model; resume from another checkpoint"
    )
    assert trainer.epoch == 0
    # written back with the file's digest: the dtype is said first, not changed bytes
    assert io.DIGEST_KEY in metadata
    _write_safetensors(file, saved, changed, metadata)
    with pytest.raises(ModelFileError, match="optimizer buffer 'optimizer/m.0' is stored as"):
        io.load_checkpoint(epoch_dir)
    # the buffers in the model's dtype are the bytes saved: the digest agrees, the run resumes
    _write_safetensors(file, saved, kinds, metadata)
    trainer.resume(epoch_dir)
    assert trainer.epoch == 2
    m0 = cr.backend.to_numpy(trainer.optimizer.state[0]["m"])
    np.testing.assert_array_equal(m0, saved["optimizer/m.0"])


def test_a_checkpoint_still_resumes_in_another_dtype(tmp_path):
    """The check is against the checkpoint's own model: a float32 run resumed by a float64
    trainer (documented: the weights are cast) is not refused, and its buffers come in the
    trainer's dtype; float64 buffers in that float32 checkpoint are refused all the same."""
    epoch_dir = _checkpoint(tmp_path, "float32")
    file = epoch_dir / io.OPTIMIZER_FILE
    saved = io.read_arrays(file)
    kinds = {k: "I64" if "/step." in k else "F64" for k in saved}
    _write_safetensors(file, saved, kinds, {"weight_layout": "chainrule"})
    with pytest.raises(ModelFileError, match="'optimizer/m.0' is stored as float64"):
        _fresh_trainer("float64").resume(epoch_dir)
    kinds = {k: "I64" if "/step." in k else "F32" for k in saved}
    _write_safetensors(file, saved, kinds, {"weight_layout": "chainrule"})
    trainer = _fresh_trainer("float64")
    trainer.resume(epoch_dir)
    m0 = trainer.optimizer.state[0]["m"]
    assert m0.dtype == np.float64
    np.testing.assert_array_equal(cr.backend.to_numpy(m0), saved["optimizer/m.0"])


# -- an unfinished run, symbolic links -----------------------------------------------------------


def test_load_model_of_an_unfinished_run_says_what_the_command_line_says(tmp_path):
    run = tmp_path / "kt"
    X = np.random.default_rng(1).normal(size=(8, 2))
    ds = cr.data.Dataset(X=X, y=(X[:, :1] > 0).astype(float), task="regression")
    net = nn.mlp([2, 1], output="logistic", rng=0)
    cr.train.Trainer(net, nn.SquaredError(), cr.optim.SGD(net, lr=0.1), progress=False,
                     checkpoint_dir=run / "checkpoints").fit(ds, epochs=2)  # fmt: skip
    with pytest.raises(ModelFileError) as refused:
        io.load_model(run)
    message = str(refused.value)
    assert message == (
        f"{run}: has no model/ (its training did not finish); give {run / 'checkpoints'} for its "
        f"latest checkpoint (epoch-000002), or finish it with chainrule train --resume {run}"
    )
    from chainrule.cli.train import _model_dir
    from chainrule.errors import UserError

    with pytest.raises(UserError) as cli:
        _model_dir(run)
    assert str(cli.value) == message  # one text for the library and the commands
    model, _ = io.load_model(run / "checkpoints")  # and the advice works
    np.testing.assert_array_equal(model[0].weight.numpy(), net[0].weight.numpy())


@pytest.mark.parametrize(
    "target, link, says",
    [("loop", "loop", "a symbolic link in a loop"),
     ("loop", "loop/m", "a symbolic link in a loop"),
     ("nowhere", "dangling", "a symbolic link to nowhere, which does not exist"),
     ("nowhere", "dangling/m", "a symbolic link to nowhere, which does not exist")],
)  # fmt: skip
def test_save_model_onto_a_broken_link_names_the_link(tmp_path, target, link, says):
    top = link.split("/")[0]
    os.symlink(target, tmp_path / top)
    with pytest.raises(ModelFileError) as refused:
        io.save_model(tmp_path / link, _model())
    assert str(refused.value).startswith(
        f"{tmp_path / link}: cannot save there: {tmp_path / top} is {says}"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [top]  # nothing written
    assert os.readlink(tmp_path / top) == target


def test_a_model_json_linked_to_itself_is_not_called_missing(tmp_path):
    path = io.save_model(tmp_path / "m", _model())
    (path / io.MODEL_JSON).unlink()
    os.symlink(io.MODEL_JSON, path / io.MODEL_JSON)
    with pytest.raises(ModelFileError) as refused:
        io.load_model(path)
    assert str(refused.value).startswith(f"{path / io.MODEL_JSON}: cannot read (")
    assert "missing" not in str(refused.value)


# -- the loss and the bias in model.json ---------------------------------------------------------


def _edit(directory, change):
    info = json.loads((directory / io.MODEL_JSON).read_text())
    change(info)
    (directory / io.MODEL_JSON).write_text(json.dumps(info))


@pytest.mark.parametrize(
    "loss, says",
    [({"type": "cross-entropy", "bogus": 1},
      "loss 'cross-entropy' takes no option 'bogus' (CrossEntropy() takes no arguments)"),
     ({"type": "squared-error", "reduce": "mean"},
      "loss 'squared-error' takes no option 'reduce' (its options: reduction)"),
     ({"type": "squared-error", "reduction": "avg"}, "reduction must be 'sum' or 'mean'")],
)  # fmt: skip
def test_a_library_loss_that_does_not_rebuild_is_refused_at_load(tmp_path, loss, says):
    path = io.save_model(tmp_path / "m", _model(), loss="cross-entropy")
    _edit(path, lambda info: info.update(loss=loss))
    with pytest.raises(ModelFileError) as refused:
        io.load_model(path)
    message = str(refused.value)
    assert message.startswith(f"{path / io.MODEL_JSON}: field 'loss': ") and says in message


def test_a_loss_name_no_chainrule_loss_has_loads_and_its_refusal_names_the_field(tmp_path):
    """A name of the user's own (or an older file's) is the reader's to rebuild, as before:
    the model loads; the loss's reader names the file and field that hold it."""
    path = io.save_model(tmp_path / "m", _model(), loss="cross-entropy")
    _edit(path, lambda info: info.update(loss="no-such-loss"))
    model, info = io.load_model(path)
    np.testing.assert_allclose(
        model(X).numpy(), X @ model[0].weight.numpy() + model[0].bias.numpy(), rtol=1e-6
    )
    with pytest.raises(ModelFileError) as refused:
        io.saved_loss(info, path)
    message = str(refused.value)
    assert message.startswith(f"{path}: cannot rebuild the loss (unknown loss 'no-such-loss'")
    assert message.endswith(f"; it is field 'loss' of {path / io.MODEL_JSON}")


@pytest.mark.parametrize("bias", ["no", "false", None, 2, 1.0])
def test_a_linear_bias_that_is_not_a_boolean_is_refused(tmp_path, bias):
    with pytest.raises(
        ConfigError, match=rf"^Linear: bias must be True or False \(or 1 or 0\), not {bias!r}$"
    ):
        nn.Linear(3, 3, bias=bias)
    path = io.save_model(tmp_path / "m", _model())
    _edit(path, lambda info: info["architecture"]["layers"][0].update(bias=bias))
    with pytest.raises(ModelFileError, match="bias must be True or False"):
        io.load_model(path)
    # NumPy's booleans are booleans: a layer without a bias computes x @ W
    layer = nn.Linear(3, 2, bias=np.bool_(False), rng=0, dtype="float64")
    assert layer.bias is None
    np.testing.assert_allclose(layer(X).numpy(), X @ layer.weight.numpy(), rtol=1e-12)


# -- load_torch's advice -------------------------------------------------------------------------


def test_load_torch_of_a_bare_chainrule_file_advises_read_arrays(tmp_path):
    (tmp_path / "ex").mkdir()
    bare = io.write_arrays(tmp_path / "ex" / "t.safetensors", {"a": np.zeros(2)},
                           {"weight_layout": "chainrule"})  # fmt: skip
    with pytest.raises(ModelFileError) as refused:
        cr.interop.load_torch(bare)
    message = str(refused.value)
    assert "read its arrays with chainrule.io.read_arrays" in message
    assert "load_model (on the command line" not in message
    np.testing.assert_array_equal(io.read_arrays(bare)["a"], np.zeros(2))  # the advice works
    # a model directory's own weights are still sent to load_model
    path = io.save_model(tmp_path / "m", _model())
    with pytest.raises(ModelFileError, match=rf"load_model \(on the command line, --model {path}"):
        cr.interop.load_torch(path / io.WEIGHTS_FILE)


# -- a module of one's own whose config() does not rebuild it -------------------------------------


@nn.register_module
class SwishS64(nn.Module):
    """x * sigmoid(beta x); ``config`` is swapped per test for the mistakes a user makes."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = float(beta)

    def forward(self, x):
        return x * cr.sigmoid(self.beta * x)

    def config(self):
        return {"type": "SwishS64", "beta": self.beta}


@nn.register_module
class ScaledS64(nn.Module):
    """A Linear(n, n) of its own, scaled: a config that drops ``n`` rebuilds other shapes."""

    def __init__(self, n=2, scale=1.0):
        super().__init__()
        self.lin, self.scale = nn.Linear(n, n, rng=0), float(scale)

    def forward(self, x):
        return self.lin(x) * self.scale

    def config(self):
        return {"type": "ScaledS64", "n": self.lin.n_in, "scale": self.scale}


def _swish_closed_form(x, beta):
    return x / (1 + np.exp(-beta * x))


@pytest.mark.parametrize(
    "config, says",
    [(lambda self: {"type": "SwishS64", "b": self.beta},
      "its config() gives the key 'b', which is no argument of its constructor (its arguments: "
      "beta)"),
     (lambda self: {}, "its config() gives {}, with no 'type'"),
     (lambda self: {"type": "ScaledS64"}, "its config()'s 'type' 'ScaledS64' names ScaledS64")],
)  # fmt: skip
def test_save_model_refuses_a_config_that_does_not_rebuild_the_module(
    tmp_path, monkeypatch, config, says
):
    monkeypatch.setattr(SwishS64, "config", config)
    model = nn.Sequential(nn.Linear(3, 3, rng=0), SwishS64(2.0))
    with pytest.raises(ModelFileError) as refused:
        io.save_model(tmp_path / "m", model)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'm'}: cannot save this model: its module '1' (a "
                              "SwishS64) would not load as it is: ")  # fmt: skip
    assert says in message and message.endswith("(nothing was written)")
    assert list(tmp_path.iterdir()) == []
    # a Trainer saving checkpoints refuses it before its first epoch, not at a load
    with pytest.raises(ModelFileError, match="would not load as it is"):
        cr.train.Trainer(model, nn.SquaredError(), cr.optim.SGD(model, lr=0.1),
                         progress=False, checkpoint_dir=tmp_path / "ck")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_other_shapes_are_refused_and_a_config_that_rebuilds_saves(tmp_path, monkeypatch):
    monkeypatch.setattr(ScaledS64, "config", lambda self: {"type": "ScaledS64", "scale": 1.0})
    with pytest.raises(ModelFileError) as refused:
        io.save_model(tmp_path / "m", ScaledS64(n=4))
    assert "the model (a ScaledS64) would not load as it is: its 'lin.weight' has shape (4, 4), " \
        "but the module its config() rebuilds has (2, 2)" in str(refused.value)  # fmt: skip
    assert list(tmp_path.iterdir()) == []
    # with a config that rebuilds them, the same modules save, load and compute as they did;
    # the rebuild that compared them drew initial weights, and put the generators back
    monkeypatch.undo()
    model = nn.Sequential(ScaledS64(n=3, scale=0.5), SwishS64(2.0))
    draws = []
    for save in (False, True):
        cr.manual_seed(3)
        np.random.seed(3)
        if save:
            path = io.save_model(tmp_path / "m", model)
        draws.append((cr.randn(4).numpy(), np.random.rand(2)))
    np.testing.assert_array_equal(draws[0][0], draws[1][0])
    np.testing.assert_array_equal(draws[0][1], draws[1][1])
    loaded, _ = io.load_model(path)
    assert loaded[1].beta == 2.0 and loaded[0].scale == 0.5
    lin = model[0].lin
    expected = _swish_closed_form((X @ lin.weight.numpy() + lin.bias.numpy()) * 0.5, 2.0)
    np.testing.assert_allclose(loaded(X).numpy(), expected, rtol=1e-5)


class _InnerS64(nn.Module):
    """A part a module of one's own builds itself: no config() of its own, none needed."""

    def __init__(self, n):
        super().__init__()
        self.lin = nn.Linear(n, n, rng=1)

    def forward(self, x):
        return self.lin(x)


@nn.register_module
class OuterS64(nn.Module):
    def __init__(self, n=2, beta=1.0):
        super().__init__()
        self.inner, self.beta = _InnerS64(n), float(beta)

    def forward(self, x):
        return self.inner(x) * self.beta

    def config(self):
        return {"type": "OuterS64", "n": self.inner.lin.n_in, "beta": self.beta}


def test_only_the_configs_a_file_holds_are_rebuilt(tmp_path, monkeypatch):
    """The parts a module of one's own builds itself are not asked for a config(): it saves and
    loads; its own config() leaving an argument out is warned about (tests/io/
    test_config_rebuild_s64b.py)."""
    model = nn.Sequential(OuterS64(3, beta=0.5), nn.Tanh())
    path = io.save_model(tmp_path / "m", model)
    loaded, _ = io.load_model(path)
    lin = model[0].inner.lin
    expected = np.tanh((X @ lin.weight.numpy() + lin.bias.numpy()) * 0.5)
    np.testing.assert_allclose(loaded(X).numpy(), expected, rtol=1e-5)
    monkeypatch.setattr(OuterS64, "config", lambda self: {"type": "OuterS64", "n": 3})
    with pytest.warns(UserWarning, match=r"its module '0' \(a OuterS64\) will load with "
                      r"beta=1\.0, not 0\.5"):  # fmt: skip
        io.save_model(tmp_path / "again", model)


# -- a loss written as a Module without config() -------------------------------------------------


class HalfSquaredS64(nn.Module):
    """A loss as a PyTorch user writes one: a Module with forward and no config()."""

    def forward(self, output, target):
        d = output - cr.tensor(np.asarray(target, dtype=np.float64))
        return 0.5 * (d * d).sum()


def test_a_module_loss_without_config_is_stored_as_null_in_checkpoints(tmp_path):
    X = np.random.default_rng(2).normal(size=(10, 2))
    y = (X[:, :1] > 0).astype(float)
    ds = cr.data.Dataset(X=X, y=y, task="regression")
    net = nn.mlp([2, 1], output="logistic", dtype="float64", rng=0)
    w0, b0 = net[0].weight.numpy().copy(), net[0].bias.numpy().copy()
    trainer = cr.train.Trainer(net, HalfSquaredS64(), cr.optim.SGD(net, lr=0.1),
                               progress=False, checkpoint_dir=tmp_path / "ck")  # fmt: skip
    trainer.fit(ds, epochs=1)
    # one full-batch step of 0.5 * sum((sigmoid(x w + b) - y)^2), by its closed-form gradient
    out = 1 / (1 + np.exp(-(X @ w0 + b0)))
    dz = (out - y) * out * (1 - out)
    np.testing.assert_allclose(net[0].weight.numpy(), w0 - 0.1 * X.T @ dz, rtol=1e-10)
    np.testing.assert_allclose(net[0].bias.numpy(), b0 - 0.1 * dz.sum(0), rtol=1e-10)
    info = json.loads((tmp_path / "ck" / "epoch-000001" / io.MODEL_JSON).read_text())
    assert info["loss"] is None
    # and trainer.json names it, so that explain asks for --loss rather than taking its default
    state = json.loads((tmp_path / "ck" / "epoch-000001" / "trainer.json").read_text())
    assert state["user_loss"] == "a test_model_file_fixes_s64.HalfSquaredS64 object"
    assert io.defines_config(HalfSquaredS64()) is False
    assert io.defines_config(nn.SquaredError()) and io.defines_config(SwishS64())
    assert not math.isnan(trainer.history.last["loss"])
