"""Review of 985cc01 (a loss's threshold recorded in its config): a config of one's own is the
user's again. 985cc01 wrapped every subclass's ``config()`` to add the threshold, and
``loss_from_config`` checked a threshold the constructor took itself, so user losses that saved
and loaded before were refused: a constructor's own ``threshold=None``, a read-only threshold
property, an instance threshold of None, a per-unit array threshold, a ``config`` that is a
staticmethod; and a run checkpointed before the change, resumed with ``bce.threshold = 0.1``,
was refused for a field its checkpoint could not have held."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim, train


def _saved_and_loaded(tmp_path, loss):
    cr.io.save_model(tmp_path / "m", nn.mlp([2, 1], rng=0), loss=loss)
    return cr.io.load_model(tmp_path / "m")[1]["loss"]


@pytest.fixture
def registered():
    names = []

    def register(cls):
        nn.register_loss(cls)
        names.append(cls.name)
        return cls

    yield register
    for name in names:
        nn.losses.LOSSES.pop(name, None)


def test_a_constructor_taking_its_own_threshold_keeps_it_none_included(tmp_path, registered):
    @registered
    class Hinge(nn.Loss):
        name = "hinge-own-threshold-s70"

        def __init__(self, threshold=None):
            self.threshold = threshold

        def forward(self, o, t):
            return ((o - t) * (o - t)).sum()

        def config(self):
            return {"type": self.config_type(), "threshold": self.threshold}

    assert _saved_and_loaded(tmp_path, Hinge()) == {"type": Hinge.name, "threshold": None}
    assert nn.loss_from_config({"type": Hinge.name, "threshold": None}).threshold is None


@pytest.mark.parametrize("kind", ["property", "none", "staticmethod"])
def test_a_config_of_ones_own_is_left_as_it_is(tmp_path, registered, kind):
    class Base(nn.Loss):
        name = f"own-config-{kind}-s70"

        def forward(self, o, t):
            return (o * o).sum()

    if kind == "property":

        class Own(Base):
            cut = 0.3
            threshold = property(lambda self: self.cut)

            def config(self):
                return {"type": self.config_type()}

    elif kind == "none":

        class Own(Base):
            def __init__(self):
                self.threshold = None

            def config(self):
                return {"type": self.config_type()}

    else:

        class Own(Base):
            @staticmethod
            def config():
                return {"type": f"own-config-{kind}-s70"}

    registered(Own)
    assert Own().config() == {"type": Own.name}
    assert _saved_and_loaded(tmp_path, Own()) == {"type": Own.name}


def test_a_per_unit_array_threshold_is_not_recorded_and_saving_works(tmp_path):
    loss = nn.MSE()
    loss.threshold = np.array([0.3, 0.7])
    assert loss.config() == {"type": "mse"}  # it raised NumPy's "truth value ... ambiguous"
    assert _saved_and_loaded(tmp_path, loss) == {"type": "mse"}


def test_a_scalar_threshold_is_still_recorded_by_chainrules_losses(tmp_path):
    for loss in (nn.BinaryCrossEntropy(), nn.SquaredError("mean"), nn.MarginSquaredError()):
        loss.threshold = 0.1
        assert loss.config()["threshold"] == 0.1
        assert nn.loss_from_config(loss.config()).threshold == 0.1


def _checkpointed(tmp_path, threshold):
    """A 3-1 classifier trained 2 epochs with a BCE cut at ``threshold``, checkpointed: the
    net, its data, its loss and the checkpoint directory."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    ds = cr.data.Dataset(X=X, y=(X[:, 0] > 1).astype(np.int64), task="classification")
    bce = nn.BinaryCrossEntropy()
    bce.threshold = threshold
    net = nn.mlp([3, 1], rng=0, dtype="float64")
    ck = tmp_path / "ck"
    train.fit(net, bce, optim.SGD(net.parameters(), lr=0.1), ds, epochs=2, checkpoint_dir=ck,
              progress=False)  # fmt: skip
    return net, ds, bce, ck


def test_a_checkpoint_without_a_threshold_resumes_with_the_losss_own(tmp_path):
    net, ds, bce, ck = _checkpointed(tmp_path, 0.1)
    written = sorted(ck.glob("epoch-*/model.json"))
    assert len(written) == 2
    for model_json in written:  # as a checkpoint written before 985cc01
        info = json.loads(model_json.read_text())
        assert info["loss"].pop("threshold") == 0.1
        model_json.write_text(json.dumps(info))
    history = train.fit(net, bce, optim.SGD(net.parameters(), lr=0.1), ds, epochs=4,
                        checkpoint_dir=ck, resume=ck, progress=False)  # fmt: skip
    assert history.last["epoch"] == 4


def test_loss_from_name_given_a_threshold_says_how_to_set_one():
    with pytest.raises(nn.ConfigError, match=r"takes no option 'threshold'.*loss\.threshold = "):
        nn.loss_from_name("binary-cross-entropy", threshold=0.2)


def test_a_checkpoints_threshold_against_the_default_names_the_defaults_value(tmp_path):
    """Review 5: the refusal said "0.2 in the checkpoint but None in this trainer"."""
    net, ds, _, ck = _checkpointed(tmp_path, 0.2)
    with pytest.raises(cr.errors.UserError, match=r"is 0\.2 in the checkpoint but 0\.5 in this"):
        train.fit(net, nn.BinaryCrossEntropy(), optim.SGD(net.parameters(), lr=0.1), ds,
                  epochs=4, checkpoint_dir=ck, resume=ck, progress=False)  # fmt: skip
