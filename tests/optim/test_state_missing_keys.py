"""A state dict that lost one key is refused naming that key.

A state missing ``step.3`` while ``m.3`` and ``v.3`` were there was reported as "saved for
another set of parameters", which sent the user to check the model rather than the file. The
state an optimizer over fewer parameters saved is still called so. Nothing is loaded either way.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.errors import StateDictError


def _stepped_adam():
    net = nn.mlp([3, 4, 2], rng=0)
    opt = optim.Adam(net.parameters(), lr=0.01)
    net(np.ones((1, 3))).sum().backward()
    opt.step()
    return net, opt


def _without(state_dict, *keys):
    state = {k: v for k, v in state_dict["state"].items() if k not in keys}
    return {"config": state_dict["config"], "state": state}


def _assert_unchanged(opt):
    assert opt.steps == [0] * len(opt.params)
    assert all(not buffers for buffers in opt.state)


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_a_missing_step_key_is_named_not_called_another_set_of_parameters(index):
    net, opt = _stepped_adam()
    saved = opt.state_dict()
    assert {f"m.{index}", f"v.{index}", f"step.{index}"} <= set(saved["state"])  # the premise
    fresh = optim.Adam(net.parameters())
    with pytest.raises(StateDictError) as refusal:
        fresh.load_state_dict(_without(saved, f"step.{index}"))
    message = str(refusal.value)
    assert message.startswith("Adam.load_state_dict:"), message
    assert f"'step.{index}'" in message and "another set of parameters" not in message, message
    assert f"m.{index}" in message, message  # what the state does hold for that parameter
    _assert_unchanged(fresh)


def test_a_missing_step_key_of_a_fresh_state_before_the_last_is_named():
    """No buffers yet (no step taken): a count missing in the middle is still a lost key."""
    net = nn.mlp([3, 4, 2], rng=0)
    saved = optim.Adam(net.parameters()).state_dict()
    fresh = optim.Adam(net.parameters())
    with pytest.raises(StateDictError, match=r"no 'step\.1'") as refusal:
        fresh.load_state_dict(_without(saved, "step.1"))
    assert "another set of parameters" not in str(refusal.value)
    _assert_unchanged(fresh)


def test_the_state_of_fewer_parameters_is_still_called_so():
    net, opt = _stepped_adam()
    fewer = optim.Adam(net.parameters()[:3], lr=0.01)
    net(np.ones((1, 3))).sum().backward()
    fewer.step()
    fresh = optim.Adam(net.parameters())
    expected = r"counts the steps of 3 parameters but this optimizer has 4 \(no 'step\.3'\); it"
    with pytest.raises(StateDictError, match=expected + " was saved for another set"):
        fresh.load_state_dict(fewer.state_dict())
    _assert_unchanged(fresh)


def test_a_missing_buffer_key_is_named():
    net, opt = _stepped_adam()
    fresh = optim.Adam(net.parameters())
    expected = r"parameter 2 has taken 1 step but its 'm' buffer \(m\.2\) is missing"
    with pytest.raises(StateDictError, match=expected):
        fresh.load_state_dict(_without(opt.state_dict(), "m.2"))
    _assert_unchanged(fresh)
