"""GradientHealth numbers a model's layers in the model's own order (named_parameters'), not
alphabetically: an autoencoder's "decoder.*" sorted before its "encoder.*", so falloff() read the
fall of a vanishing gradient upside down (review of s69). The oracle: the norms of the weights'
gradients computed here, in the model's order."""

from __future__ import annotations

import numpy as np

from chainrule import data, nn, optim, train
from chainrule.explainer.health import GradientHealth, falloff_words


class AutoEncoder(nn.Module):
    def __init__(self, depth: int) -> None:
        super().__init__()
        self.encoder = nn.mlp([4] * (depth + 1), activation="tanh", output=None, rng=0)
        self.decoder = nn.mlp([4] * (depth + 1), activation="tanh", output=None, rng=1)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def test_an_autoencoders_layers_are_numbered_encoder_first():
    rng = np.random.default_rng(0)
    model = AutoEncoder(6)
    ds = data.Dataset(X=rng.standard_normal((8, 4)), y=rng.random((8, 4)), task="regression")
    health = GradientHealth()
    train.fit(model, nn.SquaredError(), optim.SGD(model.parameters(), lr=0.1), ds, epochs=1,
              batch_size=8, callbacks=[health], progress=False)  # fmt: skip
    weights = [name for name, _ in model.named_parameters() if name.endswith("weight")]
    norms = health.history[-1]["grad_norms"]
    falloff = health.falloff()
    assert falloff["bottom_norm"] == norms[weights[0]]  # encoder.0, the first layer the input meets
    assert falloff["top_norm"] == norms[weights[-1]]  # the decoder's last
    assert falloff["ratio"] > 1  # a deep tanh stack at these weights: it falls on the way down
    assert "falls from" in falloff_words(falloff)


def test_a_gradient_that_grows_downwards_is_said_to_rise():
    words = falloff_words({"epoch": 3, "top": 4, "top_norm": 0.25, "bottom": 1,
                           "bottom_norm": 0.5, "ratio": 0.5})  # fmt: skip
    assert "rises from 0.25 at layer 4 to 0.5 at layer 1 (2 times larger)" in words


def test_a_layer_unfrozen_later_keeps_its_place_at_the_bottom():
    """Gradual unfreezing: the first layer has no gradient in epoch 1, so its norms start later;
    it stays layer 1, not the top (review 4 of s69)."""
    rng = np.random.default_rng(0)

    class Scale(nn.Module):  # a layer explain cannot read: the layers are numbered by module
        def forward(self, x):
            return x * 2.0

    net = nn.Sequential(nn.Linear(4, 4, rng=0), nn.Tanh(), Scale(), nn.Linear(4, 4, rng=1),
                        nn.Tanh(), nn.Linear(4, 1, rng=2))  # fmt: skip
    for p in net[0].parameters():
        p.requires_grad = False

    class Unfreeze(train.Callback):
        def on_epoch_start(self, trainer, epoch):
            if epoch == 2:
                for p in trainer.model[0].parameters():
                    p.requires_grad = True

    ds = data.Dataset(X=rng.standard_normal((8, 4)), y=rng.random((8, 1)), task="regression")
    health = GradientHealth()
    train.fit(net, nn.SquaredError(), optim.SGD(net.parameters(), lr=0.1), ds, epochs=3,
              batch_size=8, callbacks=[Unfreeze(), health], progress=False)  # fmt: skip
    assert "0.weight" not in health.history[0]["grad_norms"]  # frozen in epoch 1
    numbers = health._layer_numbers()
    assert numbers["0.weight"] == 1 and numbers["0.bias"] == 1
    assert numbers["3.weight"] == 2 and numbers["5.weight"] == 3
    assert health.falloff()["bottom_norm"] == health.history[-1]["grad_norms"]["0.weight"]
