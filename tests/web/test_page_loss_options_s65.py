"""A loss option the page's state does not carry (s65): ``BinaryCrossEntropy(per_unit=False)``,
the loss a multilabel ``chainrule.sklearn`` classifier trains on (its ``loss_function_``), was
shown by the page and the notebook explorer as the default per-unit mean: every E and gradient
off by the number of output units, silently. The state now carries the loss's options
(``loss_options``, tests/web/test_page_loss_config_s66.py); these tests pin the losses it
computes as the model's."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.web.network import NetworkState


def _model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, 3, rng=0), nn.Logistic(), nn.Linear(3, 2, rng=1))


@pytest.mark.parametrize(
    "loss", [nn.BinaryCrossEntropy(), nn.SquaredError("mean"), nn.SquaredError(), nn.MSE()]
)
def test_the_losses_the_page_computes_open_with_the_models_numbers(loss):
    model = _model()
    if loss.name != "binary-cross-entropy":
        model = nn.Sequential(*model, nn.Logistic())
    state = NetworkState.from_model(model, [0.5, -0.2], [1.0, 0.0], loss)
    assert state.loss_object().config() == loss.config()
    x, t = np.array([[0.5, -0.2]]), np.array([[1.0, 0.0]])
    assert float(state.loss_object()(state.model()(x), t).item()) == pytest.approx(
        float(loss(model(x), t).item()), rel=1e-12
    )


def test_over_one_output_unit_the_sum_over_units_is_the_pages_loss():
    """A binary scikit-learn classifier's ``loss_function_`` (review): per_unit=False over one
    output unit is the same loss as the page's, and was refused."""
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Logistic(), nn.Linear(3, 1, rng=1))
    loss = nn.BinaryCrossEntropy(per_unit=False)
    state = NetworkState.from_model(model, [0.5, -0.2], [1.0], loss)
    x, t = np.array([[0.5, -0.2]]), np.array([[1.0]])
    assert float(state.loss_object()(state.model()(x), t).item()) == pytest.approx(
        float(loss(model(x), t).item()), rel=1e-12
    )
