"""A model ending in the unit its loss applies itself (``nn.mlp(..., output="softmax")`` with
``CrossEntropy``) trained silently with softmax applied twice, while ``explain`` refused the
same pair. The trainer refuses it before anything trains, naming the fix."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim, train
from chainrule.errors import UserError


def _two_classes() -> data.Dataset:
    rng = np.random.default_rng(0)
    return data.Dataset(X=rng.normal(size=(20, 3)), y=np.arange(20) % 2, task="classification")


@pytest.mark.parametrize(
    ("model", "loss", "unit"),
    [
        (lambda: nn.mlp([3, 4, 2], output="softmax", rng=0), nn.CrossEntropy(), "softmax"),
        (lambda: nn.mlp([3, 4, 1], output="logistic", rng=0), nn.BinaryCrossEntropy(), "logistic"),
        (  # the unit at the end of a nested block
            lambda: nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.Linear(4, 2), nn.Softmax())),
            nn.CrossEntropy(),
            "softmax",
        ),
    ],
)
def test_a_model_ending_in_its_losss_own_unit_is_refused(model, loss, unit) -> None:
    net = model()
    with pytest.raises(UserError, match=rf"would apply {unit} twice.*output=None"):
        train.fit(net, loss, optim.SGD(net.parameters(), lr=0.1), _two_classes(), progress=False)
    with pytest.raises(cr.explainer.ExplainError, match=f"apply {unit}\\s+twice"):
        cr.explain(net, np.zeros((1, 3)), [0], loss)


@pytest.mark.parametrize(
    ("model", "loss"),
    [
        (lambda: nn.mlp([3, 4, 2], output=None, rng=0), nn.CrossEntropy()),
        (lambda: nn.mlp([3, 4, 2], output="softmax", rng=0), nn.MSE()),
        (lambda: nn.mlp([3, 4, 1], output="logistic", rng=0), nn.SquaredError()),
    ],
)
def test_logits_or_a_loss_that_reads_outputs_as_they_are_still_train(model, loss) -> None:
    net = model()
    history = train.fit(net, loss, optim.SGD(net.parameters(), lr=0.1), _two_classes(),
                        epochs=2, progress=False)  # fmt: skip
    assert len(history) == 2


def test_a_sequential_whose_forward_leaves_its_last_unit_out_trains() -> None:
    """A Sequential subclass with a forward of its own may return logits and keep its Softmax
    for predicting: it ends in what its forward returns, not in its last layer."""

    class Classifier(nn.Sequential):
        def forward(self, x):
            for layer in self.layers[:-1]:
                x = layer(x)
            return x

    net = Classifier(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Softmax())
    history = train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.1),
                        _two_classes(), epochs=2, progress=False)  # fmt: skip
    assert len(history) == 2
