"""``SGD(momentum=2)`` was accepted (an API reviewer, session 61): with a momentum above 1 the
velocity grows by that factor every step, whatever the gradient, so no run can converge. The
optimizers refuse it, in the constructor, a schedule's write and a loaded state alike (the one
home of the checks); 1 stays allowed, as scikit-learn's MLP allows it."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.errors import ConfigError


@pytest.mark.parametrize("make", [cr.optim.SGD, cr.optim.RMSprop])
@pytest.mark.parametrize("momentum", [1.0001, 2, 1e9])
def test_a_momentum_above_1_is_refused_by_name(make, momentum):
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ConfigError, match=rf"momentum must be in \[0, 1\], not {momentum!r}"):
        make([w], lr=0.1, momentum=momentum)
    optimizer = make([w], lr=0.1, momentum=0.5)
    with pytest.raises(ConfigError, match=r"momentum must be in \[0, 1\]"):
        optimizer.set_hyperparameters({"momentum": momentum})
    assert optimizer.momentum == 0.5  # nothing set


@pytest.mark.parametrize("momentum", [0.0, 0.9, 1.0])
def test_momenta_up_to_1_are_taken(momentum):
    w = cr.tensor([1.0], requires_grad=True)
    assert cr.optim.SGD([w], lr=0.1, momentum=momentum).momentum == momentum
