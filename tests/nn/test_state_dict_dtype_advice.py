"""load_state_dict's advice for an array of another dtype is one that works: model.to keeps an
integer buffer integer, so "model.to('float64')" could not fix a float array meeting one."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Counted(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2, rng=0)
        self.register_buffer("count", np.zeros((), np.int64))

    def forward(self, x):
        return self.lin(x)


def _follow(error_text, model, state, key):
    """Apply every fix the message advises, one at a time, on fresh copies; each must load."""
    applied = 0
    if "model.to('float64')" in error_text:
        fresh = Counted()
        fresh.to("float64")
        fresh.load_state_dict({k: np.asarray(v, dtype=np.float64) if k != "count" else v
                               for k, v in state.items()})  # fmt: skip
        applied += 1
    if ".astype(np." in error_text:
        dtype = error_text.split(".astype(np.")[1].split(")")[0]
        kept = {k: np.asarray(v).dtype for k, v in model.state_dict().items()}
        assert kept[key] == dtype  # the advice names the model's own dtype for that key
        # the same fix for every array the model keeps in another dtype (the error names the first)
        Counted().load_state_dict({k: np.asarray(v).astype(kept[k]) for k, v in state.items()})
        applied += 1
    return applied


def test_a_float_array_for_an_integer_buffer_advises_only_the_array():
    model = Counted()
    state = model.state_dict()
    state["count"] = np.array(5.0)
    with pytest.raises(cr.errors.StateDictError) as refused:
        model.load_state_dict(state)
    assert "model.to" not in str(refused.value)
    assert _follow(str(refused.value), model, state, "count") == 1


def test_a_state_dict_of_lists_loads_in_the_models_dtypes():
    """A list has no dtype (NumPy reads its floats as float64): since stop 68 it is read in the
    dtype of the entry it loads, so a float32 model takes its state dict back from JSON; a
    float listed for the integer buffer is still refused, advising only the array."""
    model = Counted()
    state = {k: np.asarray(v).tolist() for k, v in model.state_dict().items()}
    fresh = Counted()
    fresh.load_state_dict(state)
    for (key, got), want in zip(fresh.state_dict().items(), model.state_dict().values()):
        assert np.asarray(got).dtype == np.asarray(want).dtype, key
        np.testing.assert_array_equal(got, want)
    state["count"] = 5.5
    with pytest.raises(cr.errors.StateDictError) as refused:
        model.load_state_dict(state)
    assert "model.to" not in str(refused.value)
    assert ".astype(np.int64)" in str(refused.value)
