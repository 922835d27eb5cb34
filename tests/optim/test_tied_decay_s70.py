"""Two parameters on one array (a tied decoder's ``W.T``) and a decay turned on after the
optimizer was built.

SGD over two views of one array is taken without weight decay or shrink (the two updates add
up to the tied weight's) and refused with them (each view would be decayed apart: the tied
weight shrinks twice). The refusal ran only in the constructor: ``opt.weight_decay = 0.1``,
``opt.shrink = 0.1``, ``set_hyperparameters``, ``load_state_dict`` from a decayed optimizer,
``optim.from_config`` and a schedule that changes ``weight_decay`` were all taken, and the tied
weight was decayed twice. Each route is now refused at the change with the constructor's words,
the old settings kept; the oracle for the updates that stay is PyTorch's SGD on one weight W
read as ``x @ W`` and ``h @ W.T``.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError, StateDictError

torch = pytest.importorskip("torch")

W0 = np.array([[1.0, 2.0], [3.0, 4.0]])
X = np.array([[1.0, -1.0], [0.5, 2.0]])
SHARED = "parameter 1 shares its memory with parameter 0"


def tied() -> tuple[nn.Parameter, nn.Parameter]:
    """An encoder's weight and its decoder's, the transposed view of the same array."""
    w = nn.Parameter(W0.copy())
    return w, nn.Parameter(w.data.T)


def backward(w: nn.Parameter, wt: nn.Parameter) -> None:
    ((cr.tensor(X) @ w) @ wt).sum().backward()


def torch_steps(steps: int = 1, **settings) -> np.ndarray:
    """W after ``steps`` of torch's SGD on the one tied weight (lr 0.1 unless given)."""
    W = torch.tensor(W0, requires_grad=True)
    opt = torch.optim.SGD([W], **{"lr": 0.1, **settings})
    for _ in range(steps):
        opt.zero_grad()
        ((torch.tensor(X) @ W) @ W.T).sum().backward()
        opt.step()
    return W.detach().numpy()


def decayed_state() -> dict:
    """The state of an SGD with weight decay and momentum, stepped once, on two parameters of
    the tied pair's shapes (not tied)."""
    a, b = nn.Parameter(W0.copy()), nn.Parameter(W0.T.copy())
    opt = optim.SGD([a, b], lr=0.5, momentum=0.9, weight_decay=0.1)
    backward(a, b)
    opt.step()
    return opt.state_dict()


CHANGES = {
    "write weight_decay": lambda opt: setattr(opt, "weight_decay", 0.1),
    "write shrink": lambda opt: setattr(opt, "shrink", 0.1),
    "set_hyperparameters": lambda opt: opt.set_hyperparameters({"lr": 0.5, "weight_decay": 0.1}),
    "load_state_dict": lambda opt: opt.load_state_dict(decayed_state()),
    "schedule": lambda opt: optim.PiecewiseSchedule(
        opt, {0: {"lr": 0.1}, 1: {"lr": 0.5, "weight_decay": 0.1}}
    ).step(),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_decay_turned_on_over_a_tie_is_refused_and_the_update_stays_the_tied_weights(change):
    """Every way a setting changes is refused as the constructor refuses it, and nothing
    changes: the next step is still torch's plain SGD of the one tied weight."""
    w, wt = tied()
    opt = optim.SGD([w, wt], lr=0.1)
    error = StateDictError if change == "load_state_dict" else ConfigError
    with pytest.raises(error) as caught:
        CHANGES[change](opt)
    message = str(caught.value)
    assert SHARED in message and "l2.weight = l1.weight" not in message  # shapes differ
    assert "use one parameter in both places" in message and "\n" not in message
    assert (opt.lr, opt.weight_decay, opt.shrink, opt.momentum) == (0.1, 0.0, 0.0, 0.0)
    assert opt.steps == [0, 0] and opt.state == [{}, {}]
    backward(w, wt)
    opt.step()
    np.testing.assert_allclose(w.data, torch_steps(), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(wt.data, w.data.T)  # still one array


def test_the_refusal_of_a_write_names_the_setting_and_the_constructors_reason():
    w, wt = tied()
    with pytest.raises(ConfigError) as built:
        optim.SGD([w, wt], lr=0.1, weight_decay=0.1)
    opt = optim.SGD([w, wt], lr=0.1)
    with pytest.raises(ConfigError) as written:
        opt.weight_decay = 0.1
    assert str(written.value) == str(built.value).replace("SGD: ", "SGD: weight_decay=0.1: ", 1)
    # a square W's transposed view has W's shape: tying it as l2.weight = l1.weight would
    # not read W.T, so the remedy goes by the view (shape and strides), not the shape
    assert "use one parameter in both places" in str(built.value)


def test_from_config_of_a_decayed_sgd_over_a_tie_is_refused():
    """from_config builds with the lr alone and sets the rest: the decay came in unchecked."""
    w, wt = tied()
    config = {"type": "sgd", "lr": 0.1, "momentum": 0.0, "weight_decay": 0.1}
    with pytest.raises(ConfigError, match=f"optim.from_config: weight_decay=0.1: {SHARED}"):
        optim.from_config(config, [w, wt])
    opt = optim.from_config({**config, "weight_decay": 0.0}, [w, wt])
    backward(w, wt)
    opt.step()
    np.testing.assert_allclose(w.data, torch_steps(), rtol=0, atol=1e-14)


def test_changes_that_keep_a_ties_updates_adding_up_are_taken():
    """Momentum turned on and the learning rate changed, by a write and a schedule: still
    linear in the gradient, so the tie trains as torch's one weight (momentum is RHW's, the same
    as torch's while lr stays constant)."""
    w, wt = tied()
    opt = optim.SGD([w, wt], lr=0.5)
    opt.momentum = 0.9
    optim.PiecewiseSchedule(opt, {0: {"lr": 0.05}}).step()
    for _ in range(3):
        opt.zero_grad()
        backward(w, wt)
        opt.step()
    np.testing.assert_allclose(w.data, torch_steps(3, lr=0.05, momentum=0.9), rtol=0, atol=1e-13)


@pytest.mark.parametrize("setting", ["weight_decay", "shrink"])
def test_a_decay_turned_on_later_over_parameters_of_their_own_is_taken(setting):
    """Without a tie a decay turned on after construction is taken, off and on again too, and
    steps as torch's: w - lr * (g + wd * w), or (w - lr * g) * (1 - s)."""
    W = nn.Parameter(W0.copy())
    opt = optim.SGD([W], lr=0.1)
    for value in (0.1, 0.0, 0.1):
        setattr(opt, setting, value)
    ((cr.tensor(X) @ W) @ W.T).sum().backward()
    opt.step()
    decayed = torch_steps(weight_decay=0.1) if setting == "weight_decay" else torch_steps() * 0.9
    np.testing.assert_allclose(W.data, decayed, rtol=0, atol=1e-14)
