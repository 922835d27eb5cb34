"""A model of one output unit under cross-entropy is refused before any file of it is written:
softmax over one unit is always 1, so the loss and every gradient are 0 and the file predicted
probability 1 for every case. ``nn.CrossEntropy`` refused it (8c126e5), but ``io.save_model``
wrote it, a Trainer's checkpoints would, and ``interop.to_onnx`` exported a graph answering 1.
Every refusal gives the loss's own words (one home: ``Loss.output_units_problem``)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn, optim, train
from chainrule.errors import ConfigError, ConversionError
from chainrule.ops.registry import ShapeError


def the_words() -> str:
    """The loss's own words for one unit under softmax, which every refusal repeats."""
    return nn.CrossEntropy().output_units_problem(1)


def _one_unit() -> nn.Module:
    return nn.mlp([2, 3, 1], rng=0)


def test_softmax_of_one_unit_is_why_oracle_torch() -> None:
    """The reason, from an independent oracle: PyTorch's cross-entropy over one logit column is
    0 with a zero gradient whatever the logits (so nothing a file of it holds was learned)."""
    torch = pytest.importorskip("torch")
    z = torch.tensor(np.random.default_rng(0).normal(size=(5, 1)) * 10, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(z, torch.zeros(5, dtype=torch.long))
    loss.backward()
    assert loss.item() == 0.0 and torch.all(z.grad == 0)
    assert "one output unit" in the_words() and "BinaryCrossEntropy" in the_words()
    assert nn.BinaryCrossEntropy().output_units_problem(1) is None
    assert nn.CrossEntropy().output_units_problem(2) is None


@pytest.mark.parametrize("loss", ["cross-entropy", nn.CrossEntropy()])
def test_save_model_refuses_cross_entropy_over_one_unit_and_writes_nothing(tmp_path, loss):
    path = tmp_path / "model"
    with pytest.raises(ConfigError) as refused:
        io.save_model(path, _one_unit(), loss=loss)
    message = str(refused.value)
    assert message.startswith("save_model: loss CrossEntropy over a model with one output unit")
    assert the_words() in message and message.endswith("nothing was written")
    assert list(tmp_path.iterdir()) == []  # no directory, no staging folder


def test_a_good_model_already_there_stays_as_it_was(tmp_path):
    """What can train still saves and loads: one logistic unit under binary cross-entropy, two
    units under cross-entropy; a refused save over the first leaves its files byte for byte."""
    x = cr.tensor(np.array([[0.3, -1.0]]))
    two_units = nn.mlp([2, 3, 2], rng=0)
    model, _ = io.load_model(io.save_model(tmp_path / "two", two_units, loss="cross-entropy"))
    np.testing.assert_array_equal(model(x).numpy(), two_units(x).numpy())
    path = io.save_model(tmp_path / "model", _one_unit(), loss="binary-cross-entropy")
    before = {f.name: f.read_bytes() for f in path.iterdir()}
    with pytest.raises(ConfigError, match="one output unit"):
        io.save_model(path, nn.mlp([2, 4, 1], rng=1), loss="cross-entropy")
    assert {f.name: f.read_bytes() for f in path.iterdir()} == before
    assert io.load_model(path)[1]["loss"] == {"type": "binary-cross-entropy"}


def test_the_loss_itself_and_the_files_give_the_same_words():
    """One home for the check: the loss's forward says it in the same words as the files."""
    with pytest.raises(ShapeError) as forward:
        nn.CrossEntropy()(cr.tensor(np.zeros((3, 1))), np.array([0, 0, 0]))
    assert str(forward.value) == f"CrossEntropy: logits have shape (3, 1), {the_words()}"


def test_checkpoints_of_such_a_model_are_refused_before_training(tmp_path):
    net = _one_unit()
    sgd = optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ConfigError, match=r"checkpoints in .*one output unit"):
        train.Trainer(net, nn.CrossEntropy(), sgd, checkpoint_dir=tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()


def test_to_onnx_refuses_it_and_exports_what_can_train(tmp_path):
    """One logistic unit under binary cross-entropy, and two units under cross-entropy, still
    export (with the unit the loss applies); one unit under cross-entropy writes no file."""
    pytest.importorskip("onnx")
    out = tmp_path / "model.onnx"
    for loss in ("cross-entropy", nn.CrossEntropy(), {"type": "cross-entropy"}):
        with pytest.raises(ConversionError) as refused:
            cr.interop.to_onnx(_one_unit(), out, loss=loss)
        assert str(refused.value).startswith("to_onnx: loss CrossEntropy over a model with one")
        assert the_words() in str(refused.value)
        assert list(tmp_path.iterdir()) == []
    for name, net, loss, op in [
        ("bce", _one_unit(), "binary-cross-entropy", "Sigmoid"),
        ("ce", nn.mlp([2, 3, 2], rng=0), nn.CrossEntropy(), "Softmax"),
    ]:
        proto = cr.interop.to_onnx(net, tmp_path / f"{name}.onnx", loss=loss)
        assert proto.graph.node[-1].op_type == op
        assert (tmp_path / f"{name}.onnx").stat().st_size > 0


class _Temperature(nn.Module):
    """logits / t with one learned number: a custom head whose last parameter has one entry,
    while the model's outputs are as many as the Linear before it gives (review, stop 54)."""

    def __init__(self):
        super().__init__()
        self.t = nn.Parameter(np.ones(1, np.float32))

    def forward(self, x):
        return x / self.t

    def config(self):
        return {"type": "_TemperatureS54"}


def test_a_custom_head_whose_width_is_only_guessed_is_not_refused(tmp_path) -> None:
    """The refusal rests on widths the config tells, never on the last parameter's guess: a
    three-output model ending in a one-number head was refused as one output unit."""
    nn.register_module(_Temperature, name="_TemperatureS54")
    net = nn.Sequential(nn.Linear(4, 3, rng=0), _Temperature())
    X = np.random.default_rng(0).random((6, 4)).astype(np.float32)
    assert net(X).shape == (6, 3)  # what the model computes: three outputs
    io.save_model(tmp_path / "m", net, loss=nn.CrossEntropy())
    assert (tmp_path / "m" / "model.json").exists()
    trainer = train.Trainer(
        net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.1),
        checkpoint_dir=tmp_path / "ck", progress=False,
    )  # fmt: skip
    trainer.fit(cr.data.Dataset(X, np.arange(6) % 3, task="classification"), epochs=1)
    assert trainer.epoch == 1


class _Swish(nn.Module):
    def forward(self, x):
        return x * cr.sigmoid(x)

    def config(self):
        return {"type": "_SwishS54"}


def test_a_custom_layer_before_the_last_linear_leaves_its_width_told(tmp_path) -> None:
    """A Linear tells its n_out whatever came before it: a custom unit before a one-unit last
    Linear made the width unknown, and save_model wrote the one-unit cross-entropy model
    (review 2, stop 54)."""
    nn.register_module(_Swish, name="_SwishS54")
    net = nn.Sequential(nn.Linear(4, 3, rng=0), _Swish(), nn.Linear(3, 1, rng=1))
    assert net(np.zeros((2, 4), np.float32)).shape == (2, 1)
    with pytest.raises(ConfigError, match="save_model: loss CrossEntropy over a model with one"):
        io.save_model(tmp_path / "m", net, loss=nn.CrossEntropy())
    assert not (tmp_path / "m").exists()
    io.save_model(tmp_path / "b", net, loss=nn.BinaryCrossEntropy())  # the fix it names


def test_evaluate_takes_a_saved_custom_head_it_could_only_guess_the_width_of(tmp_path) -> None:
    """save_model writes a three-output model ending in a one-number head (its width is not
    told, so not refused); the evaluation's check of the labels against the outputs refused it
    as "one output unit" from the same guess (review 3, stop 54)."""
    from chainrule.train.runs import check_model_fits

    nn.register_module(_Temperature, name="_TemperatureS54")
    net = nn.Sequential(nn.Linear(4, 3, rng=0), _Temperature())
    io.save_model(tmp_path / "m", net, loss=nn.CrossEntropy())
    _, info = io.load_model(tmp_path / "m")
    X = np.random.default_rng(0).random((6, 4))
    three_classes = cr.data.Dataset(X, np.arange(6) % 3, task="classification", name="d")
    check_model_fits(info, three_classes, "m")  # refused before: "labels go up to 2 but ..."
    told = cr.data.Dataset(X[:, :3], np.arange(6) % 3, task="classification", name="d")
    with pytest.raises(cr.errors.DataError, match="3 input features but the model m expects 4"):
        check_model_fits(info, told, "m")  # the input width is still checked
