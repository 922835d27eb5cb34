"""save_model refuses two parameters on one array unless the architecture rebuilds the tie.

``l2.weight = nn.Parameter(l1.weight.data)`` is two Parameter objects on one array: the
sharing check went by ``id`` and saw nothing shared, so the file was written with two
arrays, and the model it loads trains them apart. It is now refused before anything is
written, naming both; a module of one's own whose constructor makes the same tie on one
array is saved, and loads with the tie kept.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn, train
from chainrule.errors import ModelFileError


def _on_one_array():
    l1, l2 = nn.Linear(2, 2, rng=0), nn.Linear(2, 2, rng=1)
    l2.weight = nn.Parameter(l1.weight.data)
    return nn.Sequential(l1, nn.Logistic(), l2, nn.Linear(2, 1, rng=2))


def test_two_parameters_on_one_array_are_refused_before_writing(tmp_path):
    model = _on_one_array()
    with pytest.raises(ModelFileError) as caught:
        io.save_model(tmp_path / "m", model)
    message = str(caught.value)
    assert "'2.weight' shares its memory with '0.weight'" in message and "\n" not in message
    assert not (tmp_path / "m").exists()
    data = cr.data.xor()
    with pytest.raises(ModelFileError, match="shares its memory"):  # a checkpoint alike
        train.fit(model, nn.SquaredError(), optim_of(model), data, epochs=1, progress=False,
                  checkpoint_dir=tmp_path / "checkpoints")  # fmt: skip
    assert not (tmp_path / "checkpoints").exists() or not any((tmp_path / "checkpoints").iterdir())


def optim_of(model):
    """An optimizer over the model's arrays, each once (the optimizer refuses the two
    Parameters on one array): the tied one left out."""
    params = [p for name, p in model.named_parameters() if name != "2.weight"]
    return cr.optim.SGD(params, lr=0.1)


@nn.register_module
class TiedOnOneArray(nn.Module):
    """A user's module whose constructor puts its second layer's weight on its first's array."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(2, 2, rng=0)
        self.second = nn.Linear(2, 2, rng=1)
        self.second.weight = nn.Parameter(self.first.weight.data)

    def forward(self, x):
        return self.second(self.first(x))

    def config(self):
        return {"type": "TiedOnOneArray"}


def test_a_tie_on_one_array_the_architecture_rebuilds_is_saved_and_kept(tmp_path):
    """Saved, where the same tie in a Sequential is refused."""
    with pytest.raises(ModelFileError, match="shares its memory"):
        io.save_model(tmp_path / "refused", _on_one_array())
    model = TiedOnOneArray()
    model.first.weight.data[...] = [[1.0, 2.0], [3.0, 4.0]]
    io.save_model(tmp_path / "m", model)
    again, _ = io.load_model(tmp_path / "m")
    assert np.shares_memory(again.first.weight.data, again.second.weight.data)
    np.testing.assert_array_equal(again.second.weight.numpy(), [[1.0, 2.0], [3.0, 4.0]])
