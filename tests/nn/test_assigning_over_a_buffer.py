"""An array buffer replaced by what is not an array is refused, as PyTorch refuses a buffer
replaced by what is not a tensor; the buffer is kept (``m.count = 5`` dropped it from the
state_dict without a word)."""

import numpy as np
import pytest

from chainrule import nn


class Counted(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2, rng=0)
        self.register_buffer("count", np.zeros((), np.int64))
        self.register_buffer("mean", np.zeros(2, np.float32))

    def forward(self, x):
        return self.lin(x)


def _torch_counted(torch):
    model = torch.nn.Module()
    model.lin = torch.nn.Linear(2, 2)
    model.register_buffer("count", torch.zeros((), dtype=torch.int64))
    model.register_buffer("mean", torch.zeros(2))
    return model


@pytest.mark.parametrize(("name", "value"), [("count", 5), ("mean", [1.0, 2.0])])
def test_a_non_array_over_an_array_buffer_is_refused_as_in_torch(name, value):
    torch = pytest.importorskip("torch")  # the reference: which assignments it refuses
    reference = _torch_counted(torch)
    with pytest.raises(TypeError):
        setattr(reference, name, value)
    model = Counted()
    before = model.state_dict()
    with pytest.raises(TypeError, match=rf"Counted\.{name} is an array buffer: cannot replace it"):
        setattr(model, name, value)
    assert list(model.state_dict()) == list(before)
    np.testing.assert_array_equal(model.state_dict()[name], before[name])


def test_the_advised_fixes_set_the_buffer_and_none_takes_it_away_as_in_torch():
    torch = pytest.importorskip("torch")
    model = Counted()
    model.count = np.asarray(5)  # the advised assignment
    model.mean[...] = [1.0, 2.0]  # the advised in-place write
    state = model.state_dict()
    assert state["count"] == 5 and state["mean"].tolist() == [1.0, 2.0]
    assert state["mean"].dtype == np.float32
    reference = _torch_counted(torch)
    reference.count = None
    model.count = None
    assert set(model.state_dict()) == set(reference.state_dict())  # count left both


def test_a_generator_buffer_still_takes_a_new_generator():
    layer = nn.Dropout(0.5, rng=0)
    layer.rng = np.random.default_rng(1)
    assert [name for name, _ in layer.named_buffers()] == ["rng"]
    assert layer.rng.random() == np.random.default_rng(1).random()
