"""``load_state_dict(state, strict=False)`` loads the keys that match, as PyTorch's does.

PyTorch users' ``strict=False`` (a backbone's weights into a model with a new head) was a
TypeError. The oracle: torch 2.13's load_state_dict on the same keys, and the values loaded.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn.module import StateDictError


def _net(seed: int):
    return nn.Sequential(nn.Linear(2, 3, rng=seed), nn.Tanh(), nn.Linear(3, 1, rng=seed + 1))


def test_strict_false_loads_the_matching_keys_and_reports_the_rest(torch) -> None:
    model, source = _net(0), _net(5)
    state = {k: v for k, v in source.state_dict().items() if k.startswith("0.")}
    state["head.weight"] = np.zeros((3, 1), dtype=np.float32)
    kept = model[2].weight.numpy().copy()
    result = model.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(model[0].weight.numpy(), source[0].weight.numpy())
    np.testing.assert_array_equal(model[2].weight.numpy(), kept)
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    expected = theirs.load_state_dict(
        {"0.weight": torch.zeros(3, 2), "0.bias": torch.zeros(3), "head.weight": torch.zeros(1)},
        strict=False,
    )
    assert result.missing_keys == list(expected.missing_keys) == ["2.weight", "2.bias"]
    assert result.unexpected_keys == list(expected.unexpected_keys) == ["head.weight"]


def test_strict_false_still_checks_the_shapes_it_loads() -> None:
    model = _net(0)
    before = model[0].weight.numpy().copy()
    with pytest.raises(StateDictError, match=r"'0.weight' has shape \(2, 3\) in the model"):
        model.load_state_dict({"0.weight": np.zeros((3, 2), np.float32)}, strict=False)
    np.testing.assert_array_equal(model[0].weight.numpy(), before)


def test_a_strict_load_reports_nothing_left_out() -> None:
    model = _net(0)
    result = model.load_state_dict(_net(3).state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    with pytest.raises(StateDictError, match=r"missing keys \['2.weight', '2.bias'\]"):
        model.load_state_dict({k: v for k, v in _net(3).state_dict().items() if "2." not in k})
