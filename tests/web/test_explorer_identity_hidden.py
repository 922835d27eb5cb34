"""A network whose hidden units are linear (no unit layer, or Identity) is refused by the
explorer in words that point to the explainer, which writes it out; the refusal named a
schema field ("activation: Input should be ..."), not a way forward."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import ExplainError
from chainrule.web.network import NetworkState


@pytest.mark.parametrize("middle", [(), (nn.Identity(),)], ids=["no unit layer", "Identity"])
def test_linear_hidden_units_are_refused_naming_the_explainer(middle):
    model = nn.Sequential(nn.Linear(2, 3, rng=0), *middle, nn.Linear(3, 1, rng=1))
    x, t = np.array([0.1, 0.2]), np.array([1.0])
    with pytest.raises(ExplainError, match=r"hidden units are logistic, tanh, relu.*explain"):
        NetworkState.from_model(model, x, t, "squared-error")
    d = cr.explain(model, x[None, :], t[None, :], "squared-error")  # what it points to works
    assert np.isfinite(d.dE_dy(1, 0).value)
