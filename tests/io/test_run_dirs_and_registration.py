"""load_model takes what the command line takes (a training run's directory stands for its
model/), and save_model writes nothing that load_model would refuse (a module whose class is
not registered) or load as another model (into a run's directory)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import io, nn
from chainrule.cli.train import load_trained
from chainrule.errors import ModelFileError


def assert_same_weights(a, b):
    assert [name for name, _ in a.named_state()] == [name for name, _ in b.named_state()]
    for (_, p), (_, q) in zip(a.named_state(), b.named_state()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_load_model_of_a_run_directory_loads_its_model(trained_run):
    """``chainrule evaluate RUN`` loads RUN/model; io.load_model(RUN) said "model.json is
    missing". The oracle is the command line's own loading and the model directory itself."""
    run = trained_run("digits")
    model, info = io.load_model(run)
    direct, direct_info = io.load_model(run / "model")
    assert_same_weights(model, direct)
    assert info == direct_info
    assert_same_weights(model, load_trained(run)[0])
    assert io.model_files(run) == (
        run / "model" / "model.json",
        run / "model" / "model.safetensors",
    )


def test_a_directory_without_a_model_is_still_refused(tmp_path):
    (tmp_path / "run" / "model").mkdir(parents=True)  # a run whose model was never saved
    with pytest.raises(ModelFileError, match="model.json is missing"):
        io.load_model(tmp_path / "run")


def test_save_model_into_a_run_directory_is_refused(tmp_path):
    """It would be written beside model/, and load_model would load model/ instead."""
    first = nn.mlp([2, 3, 1], rng=0)
    io.save_model(tmp_path / "run" / "model", first)
    other = nn.mlp([2, 3, 1], rng=1)
    with pytest.raises(ModelFileError, match=r"run.*training run's directory.*model/"):
        io.save_model(tmp_path / "run", other)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["model"]
    assert_same_weights(io.load_model(tmp_path / "run")[0], first)


def test_an_unregistered_module_is_refused_at_saving_and_nothing_is_written(tmp_path):
    """save_model wrote it, and load_model then refused the file; the refusal now comes first,
    naming the class and how to register it."""

    # a name no other test registers: the registry is global, and tests/nn registers a Doubler
    class UnregisteredDoubler(nn.Module):
        def forward(self, x):
            return x * 2.0

        def config(self):
            return {"type": "UnregisteredDoubler"}

    inner = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Sequential(nn.Tanh(), UnregisteredDoubler()))
    for model in (UnregisteredDoubler(), inner):
        with pytest.raises(ModelFileError) as caught:
            io.save_model(tmp_path / "m", model)
        message = str(caught.value)
        assert message.startswith(f"{tmp_path / 'm'}: ") and "UnregisteredDoubler" in message
        assert "register_module" in message and "nothing was written" in message
        assert not (tmp_path / "m").exists()
    # where it did not refuse, the file it wrote would not load (the refusal's reason)
    io._write_model(tmp_path / "m", io.model_weights(inner), io.model_description(inner))
    with pytest.raises(ModelFileError, match="UnregisteredDoubler"):
        io.load_model(tmp_path / "m")


def test_an_existing_model_is_left_as_it_was(tmp_path):
    class Halver(nn.Module):
        def forward(self, x):
            return x * 0.5

        def config(self):
            return {"type": "Halver"}

    good = nn.mlp([2, 3, 1], rng=0)
    io.save_model(tmp_path / "m", good)
    before = {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()}
    with pytest.raises(ModelFileError, match="Halver"):
        io.save_model(tmp_path / "m", nn.Sequential(nn.Linear(2, 1, rng=0), Halver()))
    assert {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()} == before


def test_a_registered_module_of_ones_own_still_saves_and_loads(tmp_path):
    @nn.register_module(name="TestRunDirsTripler")
    class Tripler(nn.Module):
        def forward(self, x):
            return x * 3.0

        def config(self):
            return {"type": "TestRunDirsTripler"}

    model = nn.Sequential(nn.Linear(2, 2, rng=0, dtype="float64"), Tripler())
    io.save_model(tmp_path / "m", model)
    again, _ = io.load_model(tmp_path / "m")
    x = np.random.default_rng(0).normal(size=(3, 2))
    np.testing.assert_allclose(again(x).numpy(), 3.0 * (x @ model[0].weight.numpy()
                                                         + model[0].bias.numpy()))  # fmt: skip
