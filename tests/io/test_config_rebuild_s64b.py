"""What a reviewer found in save_model's rebuild of a module of one's own (793daf4).

- A config() that leaves out a constructor argument was refused, where the argument may change
  nothing once the weights are loaded (an init scheme, ``random_state``, ``verbose``): such a
  save goes on, warning once, naming the module, the argument, its value here and the value it
  loads with; an argument that only seeds or initialises the weights is not warned about.
- The module was rebuilt at every save, and a Trainer checkpointing every epoch rebuilt the
  whole model each epoch: it is built once per (class, config) in a process.
- ``Linear(bias=0)`` and ``bias=1`` were refused, where PyTorch takes them.

The oracles: what the loaded module computes (x * sigmoid(beta x), x @ W + b in closed form),
the count of constructor calls, and the warnings recorded.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.errors import ConfigError, ModelFileError

X = np.random.default_rng(0).normal(size=(5, 3))


def _swish(x, beta):
    return x / (1 + np.exp(-beta * x))


def _saved_with_warnings(path, model):
    """save_model's path and the warnings it gave, every one recorded (none filtered out)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saved = io.save_model(path, model)
    return saved, [w for w in caught if issubclass(w.category, UserWarning)]


@nn.register_module
class LeftOutS64b(nn.Module):
    """x * sigmoid(beta x) whose config() leaves ``beta`` out."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = float(beta)

    def forward(self, x):
        return x * cr.sigmoid(self.beta * x)

    def config(self):
        return {"type": "LeftOutS64b"}


def test_a_left_out_argument_is_saved_with_one_warning_naming_both_values(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "_REBUILDS", {}, raising=False)  # no earlier save's verdict
    model = nn.Sequential(nn.Linear(3, 3, rng=0), LeftOutS64b(2.0))
    path, said = _saved_with_warnings(tmp_path / "m", model)
    assert len(said) == 1
    message = str(said[0].message)
    assert message.startswith(f"{tmp_path / 'm'}: its module '1' (a LeftOutS64b) will load with "
                              "beta=1.0, not 2.0 as it has here: its config() leaves out the "
                              "constructor's argument 'beta'")  # fmt: skip
    assert said[0].filename == __file__  # the user's line that saved, not chainrule's
    # the file loads as the warning said: with beta at its default
    loaded, _ = io.load_model(path)
    lin = model[0]
    z = X @ lin.weight.numpy() + lin.bias.numpy()
    np.testing.assert_allclose(loaded(X).numpy(), _swish(z, 1.0), rtol=1e-5)
    # once: a second save, and a Trainer checkpointing the same model, say nothing more
    _, again = _saved_with_warnings(tmp_path / "m2", model)
    assert again == []
    ds = cr.data.Dataset(X=X, y=X[:, :3] * 0.5, task="regression")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cr.train.Trainer(model, nn.SquaredError(), cr.optim.SGD(model, lr=0.1), progress=False,
                         checkpoint_dir=tmp_path / "ck").fit(ds, epochs=2)  # fmt: skip
    assert [w for w in caught if "will load with" in str(w.message)] == []
    assert (tmp_path / "ck" / "epoch-000002").is_dir()
    # another value under the same config is said too, by its own value
    _, other = _saved_with_warnings(tmp_path / "m3", nn.Sequential(LeftOutS64b(3.0)))
    assert len(other) == 1 and "beta=1.0, not 3.0" in str(other[0].message)


@nn.register_module
class InitS64b(nn.Module):
    """A Linear(n, n) built under an init scheme and seed of the caller's, and a verbose flag:
    its config() gives only ``n``."""

    def __init__(self, n, init="uniform", random_state=None, weight_init="zeros", verbose=False):
        super().__init__()
        self.init, self.random_state, self.weight_init = init, random_state, weight_init
        self.verbose = verbose
        self.lin = nn.Linear(n, n, init=init, rng=random_state)

    def forward(self, x):
        return self.lin(x)

    def config(self):
        return {"type": "InitS64b", "n": self.lin.n_in}


def test_arguments_that_only_initialise_the_weights_save_without_a_word(tmp_path):
    model = InitS64b(3, init="glorot", random_state=0, weight_init="ones")
    path, said = _saved_with_warnings(tmp_path / "m", model)
    assert said == []
    loaded, _ = io.load_model(path)
    lin = model.lin
    expected = X @ lin.weight.numpy() + lin.bias.numpy()  # the saved weights, not a new draw
    np.testing.assert_allclose(loaded(X).numpy(), expected, rtol=1e-6)
    # verbose is no initialiser: no check can tell it from beta, so it saves with a warning
    path, said = _saved_with_warnings(tmp_path / "v", InitS64b(3, verbose=True))
    assert len(said) == 1
    assert "(a InitS64b) will load with verbose=False, not True" in str(said[0].message)
    assert io.load_model(path)[0].verbose is False


@nn.register_module
class CountedS64b(nn.Module):
    """A Linear(n, n) whose constructions are counted."""

    built = 0

    def __init__(self, n=2):
        super().__init__()
        type(self).built += 1
        self.lin = nn.Linear(n, n, rng=0)

    def forward(self, x):
        return self.lin(x)

    def config(self):
        return {"type": "CountedS64b", "n": self.lin.n_in}


def test_a_module_is_rebuilt_once_per_class_and_config(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "_REBUILDS", {}, raising=False)  # no earlier save's verdict
    model = nn.Sequential(CountedS64b(3))
    CountedS64b.built = 0
    for k in range(3):
        io.save_model(tmp_path / f"m{k}", model)
    ds = cr.data.Dataset(X=X, y=X * 0.5, task="regression")
    trainer = cr.train.Trainer(model, nn.SquaredError(), cr.optim.SGD(model, lr=0.1),
                               progress=False, checkpoint_dir=tmp_path / "ck")  # fmt: skip
    trainer.fit(ds, epochs=3)
    assert sorted(p.name for p in (tmp_path / "ck").iterdir())[-1] == "epoch-000003"
    assert CountedS64b.built == 1  # three saves, a Trainer and three checkpoints: one rebuild
    # another config is another rebuild (and checked: its shapes are its own)
    io.save_model(tmp_path / "four", nn.Sequential(CountedS64b(4)))
    assert CountedS64b.built == 3  # the module made here, and its rebuild


@nn.register_module
class FailsS64b(nn.Module):
    """A config that does not build: its constructor refuses what config() gives."""

    def __init__(self, n=2):
        super().__init__()
        if n != 2:
            raise ValueError("n must be 2")
        self.lin = nn.Linear(n, n, rng=0)

    def forward(self, x):
        return self.lin(x)

    def config(self):
        return {"type": "FailsS64b", "n": 3}


def test_refusals_stay_refusals_at_every_save(tmp_path, monkeypatch):
    model = nn.Sequential(FailsS64b())
    for _ in range(2):  # a kept verdict refuses the second save as the first
        with pytest.raises(ModelFileError, match=r"does not rebuild it \(n must be 2\)"):
            io.save_model(tmp_path / "m", model)
    monkeypatch.setattr(FailsS64b, "config", lambda self: {"type": "FailsS64b", "m": 2})
    with pytest.raises(ModelFileError, match="gives the key 'm', which is no argument"):
        io.save_model(tmp_path / "m", model)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bias, has_bias", [(0, False), (1, True), (np.int64(0), False),
                                            (np.bool_(True), True), (False, False)])  # fmt: skip
def test_linear_takes_the_integers_0_and_1_as_bias(tmp_path, bias, has_bias):
    layer = nn.Linear(3, 2, bias=bias, rng=0, dtype="float64")
    assert (layer.bias is not None) is has_bias
    expected = X @ layer.weight.numpy() + (layer.bias.numpy() if has_bias else 0.0)
    np.testing.assert_allclose(layer(X).numpy(), expected, rtol=1e-12)
    assert layer.config()["bias"] is has_bias  # the file holds true or false
    # a model file whose bias is 0 or 1 loads so too
    path = io.save_model(tmp_path / "m", nn.Sequential(layer))
    info = json.loads((path / io.MODEL_JSON).read_text())
    info["architecture"]["layers"][0]["bias"] = int(has_bias)
    (path / io.MODEL_JSON).write_text(json.dumps(info))
    loaded, _ = io.load_model(path)
    np.testing.assert_allclose(loaded(X).numpy(), expected, rtol=1e-12)


def test_linear_still_refuses_a_string_bias():
    with pytest.raises(ConfigError, match=r"^Linear: bias must be True or False \(or 1 or 0\), "
                       r"not 'no'$"):  # fmt: skip
        nn.Linear(3, 3, bias="no")
