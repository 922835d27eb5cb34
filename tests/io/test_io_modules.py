"""Model files and the nn layer's contract: registered classes, frozen parameters, buffers,
and files written before parameters and buffers had types of their own."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

import chainrule as cr
from chainrule import io, nn, train
from chainrule.errors import ModelFileError


def test_a_user_class_named_linear_does_not_break_loading(tmp_path):
    model = nn.mlp([3, 4, 2], output="logistic", rng=0)
    io.save_model(tmp_path / "m", model)

    class Linear(nn.Module):  # noqa: F841 - merely existing used to replace chainrule's Linear
        def __init__(self, *args, **kwargs):
            super().__init__()

    again, _ = io.load_model(tmp_path / "m")
    assert type(again[0]) is nn.Linear
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


@nn.register_module
class Shift(nn.Module):
    """A user's module with a parameter, registered explicitly so that it loads."""

    def __init__(self, n: int = 2):
        super().__init__()
        self.n = n
        self.offset = nn.Parameter(np.zeros(n, dtype=np.float32))

    def forward(self, x):
        return x + self.offset

    def config(self):
        return {"type": "Shift", "n": self.n}


def test_a_registered_user_module_round_trips(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2, rng=0), Shift(2))
    model[1].offset.data[...] = [0.5, -0.25]
    io.save_model(tmp_path / "m", model)
    again, _ = io.load_model(tmp_path / "m")
    assert type(again[1]) is Shift
    np.testing.assert_array_equal(again[1].offset.numpy(), [0.5, -0.25])


def test_an_unregistered_user_module_names_the_fix(tmp_path):
    class Unsaved(nn.Module):
        def forward(self, x):
            return x

        def config(self):
            return {"type": "Unsaved"}

    model = nn.Sequential(nn.Linear(2, 2, rng=0), Unsaved())
    with pytest.raises(ModelFileError, match="Unsaved module.*not registered.*register_module"):
        io.save_model(tmp_path / "m", model)  # refused before anything is written
    assert not (tmp_path / "m").exists()
    write_unchecked(tmp_path / "m", model)  # a file written otherwise is refused at loading
    with pytest.raises(ModelFileError, match="'Unsaved'.*register_module"):
        io.load_model(tmp_path / "m")


def write_unchecked(path, model):
    """The model's two files as save_model writes them, without its checks before writing."""
    io._write_model(path, io.model_weights(model), io.model_description(model))


@nn.register_module
class ScaledLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2.0


@nn.register_module
class Residual(nn.Sequential):
    def forward(self, x):
        return x + super().forward(x)


class PlainLinear(nn.Linear):
    """Computes what Linear computes: saved as a Linear, and loads without registering."""


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Sequential(ScaledLinear(3, 2, rng=0), nn.Tanh()),
        lambda: nn.Sequential(Residual(nn.Linear(3, 3, rng=0), nn.Tanh()), nn.Linear(3, 1, rng=1)),
        lambda: Residual(nn.Linear(3, 3, rng=0), nn.Logistic()),
    ],
    ids=["linear", "nested-sequential", "top-sequential"],
)
def test_a_layer_subclass_with_its_own_forward_is_saved_as_itself(tmp_path, make):
    """The oracle: the model's own output before saving. Saved under its parent's name (it was),
    a ScaledLinear loaded as a Linear gave half the output, a Residual lost its input."""
    model = make()
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    io.save_model(tmp_path / "m", model)
    again, _ = io.load_model(tmp_path / "m")
    assert [type(m) for m in again.modules()] == [type(m) for m in model.modules()]
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_an_unregistered_layer_subclass_with_its_own_forward_is_named_at_loading(tmp_path):
    class HalvedLinear(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 0.5

    model = nn.Sequential(HalvedLinear(2, 2, rng=0))
    with pytest.raises(ModelFileError, match="HalvedLinear module.*register_module"):
        io.save_model(tmp_path / "m", model)
    write_unchecked(tmp_path / "m", model)
    with pytest.raises(ModelFileError, match="'HalvedLinear'.*register_module"):
        io.load_model(tmp_path / "m")
    io.save_model(tmp_path / "p", nn.Sequential(PlainLinear(2, 2, rng=0)))
    assert type(io.load_model(tmp_path / "p")[0][0]) is nn.Linear


def test_a_frozen_weight_is_saved_and_loaded(tmp_path):
    model = nn.mlp([2, 3, 1], rng=0)
    model[0].weight = nn.Parameter(np.full((2, 3), 0.125, np.float32), requires_grad=False)
    io.save_model(tmp_path / "m", model)
    again, info = io.load_model(tmp_path / "m")
    np.testing.assert_array_equal(again[0].weight.numpy(), np.full((2, 3), 0.125))
    assert "0.weight" in info["parameters"]


@nn.register_module
class Counter(nn.Module):
    """A module whose state is a persistent array buffer."""

    def __init__(self):
        super().__init__()
        self.register_buffer("seen", np.zeros((), dtype=np.int64))

    def forward(self, x):
        self.seen += len(x)
        return x

    def config(self):
        return {"type": "Counter"}


def test_a_persistent_buffer_is_saved_and_loaded(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2, rng=0), Counter())
    model(np.zeros((5, 2), np.float32))
    io.save_model(tmp_path / "m", model)
    again, _ = io.load_model(tmp_path / "m")
    assert int(again[1].seen) == 5 and again[1].seen.dtype == np.int64


def test_a_model_file_written_by_an_earlier_chainrule_still_loads(tmp_path):
    # The layout chainrule wrote before Parameter and buffers existed, spelled out by hand.
    rng = np.random.default_rng(0)
    weights = {
        "0.weight": rng.standard_normal((2, 3)).astype(np.float32),
        "0.bias": rng.standard_normal(3).astype(np.float32),
        "3.weight": rng.standard_normal((3, 1)).astype(np.float32),
        "3.bias": rng.standard_normal(1).astype(np.float32),
    }
    architecture = {"type": "Sequential", "layers": [
        {"type": "Linear", "n_in": 2, "n_out": 3, "bias": True, "init": "uniform",
         "dtype": "float32"},
        {"type": "Sigmoid"},
        {"type": "Dropout", "p": 0.5, "rng": 3},
        {"type": "Linear", "n_in": 3, "n_out": 1, "bias": True, "init": "uniform",
         "dtype": "float32"},
    ]}  # fmt: skip
    directory = tmp_path / "old"
    directory.mkdir()
    save_file(weights, str(directory / "model.safetensors"), metadata={"format": io.MODEL_FORMAT})
    shapes = {k: list(v.shape) for k, v in weights.items()}
    description = {"format": io.MODEL_FORMAT, "version": 1, "architecture": architecture,
                   "dtype": "float32", "loss": None, "standardizer": None, "class_names": None,
                   "parameters": shapes, "meta": {}}  # fmt: skip
    (directory / "model.json").write_text(json.dumps(description))
    model, _ = io.load_model(directory)
    assert [type(layer).__name__ for layer in model] == ["Linear", "Logistic", "Dropout", "Linear"]
    x = np.array([[0.5, -1.0]], np.float32)
    hidden = 1 / (1 + np.exp(-(x @ weights["0.weight"] + weights["0.bias"])))
    np.testing.assert_allclose(
        model(x).numpy(), hidden @ weights["3.weight"] + weights["3.bias"], rtol=1e-6
    )


def _tied_weight():
    model = nn.Sequential(
        nn.Linear(2, 2, rng=0), nn.Logistic(), nn.Linear(2, 2, rng=1), nn.Linear(2, 1, rng=2)
    )
    model[2].weight = model[0].weight  # one parameter, two modules
    return model


@pytest.mark.parametrize("make", ["module", "parameter"])
def test_a_model_shared_in_a_way_its_architecture_cannot_say_is_refused_before_writing(
    make, tmp_path
):
    """Sequential(l, act, l) is described as two Linear layers: its file would have one
    layer's weights and no loader could read it (it used to be written all the same); so with
    one weight in two layers. Neither a model file nor a trainer's checkpoint is written."""
    shared = nn.Linear(2, 2, rng=0)
    if make == "module":
        model = nn.Sequential(shared, nn.Logistic(), shared, nn.Linear(2, 1, rng=2))
    else:
        model = _tied_weight()
    refused = "shared by two places.*'2.(weight|bias)' would be missing"
    with pytest.raises(ModelFileError, match=refused):
        io.save_model(tmp_path / "m", model)
    existing = tmp_path / "kept"
    io.save_model(existing, nn.Sequential(nn.Linear(2, 2, rng=0)))
    before = {p.name: p.stat().st_mtime_ns for p in existing.iterdir()}
    with pytest.raises(ModelFileError, match="shared by two places"):
        io.save_model(existing, model)
    assert {p.name: p.stat().st_mtime_ns for p in existing.iterdir()} == before
    data = cr.data.xor()
    optimizer = cr.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ModelFileError, match="shared by two places"):
        train.fit(model, nn.SquaredError(), optimizer, data, epochs=1, progress=False,
                  checkpoint_dir=tmp_path / "checkpoints")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


@nn.register_module
class Tied(nn.Module):
    """A user's module that shares one counter between two names, in its own constructor."""

    def __init__(self):
        super().__init__()
        self.first = Counter()
        self.second = self.first
        self.linear = nn.Linear(2, 2, rng=0)

    def forward(self, x):
        return self.linear(self.second(self.first(x)))

    def config(self):
        return {"type": "Tied"}


def test_sharing_that_the_architecture_rebuilds_is_saved_and_loaded(tmp_path):
    model = Tied()
    model(np.zeros((3, 2), np.float32))
    io.save_model(tmp_path / "m", model)
    again, info = io.load_model(tmp_path / "m")
    assert again.first is again.second and int(again.first.seen) == 6
    assert {"first.seen", "second.seen"} <= set(info["parameters"])  # as files always held it


@pytest.mark.parametrize(
    "model",
    [
        nn.Sequential(nn.Linear(4, 3, rng=0),
                      nn.Parallel((1, nn.Linear(1, 2, rng=1)), (2, nn.Linear(2, 2, rng=2)))),
        nn.Sequential(nn.Linear(4, 5, rng=0), nn.Tanh(),
                      nn.Parallel((2, nn.Logistic()),
                                  (3, nn.Sequential(nn.Linear(3, 2, rng=1), nn.ReLU())))),
        nn.Parallel((3, nn.Linear(3, 1, rng=0)), (1, nn.Identity())),
    ],
    ids=["parallel-last", "a-unit-branch", "an-identity-branch"],
)  # fmt: skip
def test_the_output_width_is_counted_as_the_model_computes_it(tmp_path, model):
    """A model that ends in a Parallel has its branches' outputs side by side, not its last
    parameter's width: class names for every output are kept, other counts refused."""
    from chainrule.train.runs import model_widths

    n_out = int(train.predict(model, np.zeros((1, 4), np.float32)).shape[1])
    names = [f"c{k}" for k in range(n_out)]
    io.save_model(tmp_path / "m", model, class_names=names)
    again, info = io.load_model(tmp_path / "m")
    assert model_widths(info) == (4, n_out) and info["class_names"] == names
    description = json.loads((tmp_path / "m" / "model.json").read_text())
    description["class_names"] = names[:-1]
    (tmp_path / "m" / "model.json").write_text(json.dumps(description))
    with pytest.raises(ModelFileError, match=f"has {n_out - 1} names for {n_out} output units"):
        io.load_model(tmp_path / "m")


def test_a_loss_subclass_with_its_own_forward_is_saved_under_its_own_name(tmp_path):
    """Saved as its parent's name, half the squared error would load as the squared error: a
    model file's E twice what the user trained on, silently."""

    class HalfSquaredError(cr.nn.SquaredError):
        def forward(self, output, target):
            return 0.5 * super().forward(output, target)

    class SameSquaredError(cr.nn.SquaredError):
        pass

    model = cr.nn.Sequential(cr.nn.Linear(2, 1, rng=0))
    with pytest.warns(UserWarning, match="register_loss"):  # its class is not registered (s65)
        cr.io.save_model(tmp_path / "half", model, loss=HalfSquaredError("mean"))
    _, info = cr.io.load_model(tmp_path / "half")
    assert info["loss"] == {"type": "HalfSquaredError", "reduction": "mean"}
    with pytest.raises(cr.nn.ConfigError, match="unknown loss 'HalfSquaredError'"):
        cr.nn.loss_from_config(info["loss"])
    cr.io.save_model(tmp_path / "same", model, loss=SameSquaredError())
    _, info = cr.io.load_model(tmp_path / "same")
    assert type(cr.nn.loss_from_config(info["loss"])) is cr.nn.SquaredError
