"""copy.deepcopy and pickle of a module whose forward kept its hidden state (``self.h = h``, a
tensor an op made) are refused naming the attribute, its dotted path and the fix; the tensor's
own refusal named none. A detached state copies."""

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Cell(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.Linear(3, 2, dtype="float64", rng=0)
        self.h = None

    def forward(self, x):
        h = cr.tanh(self.cell(x))
        self.h = h
        return h


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = Cell()

    def forward(self, x):
        return self.rnn(x)


@pytest.mark.parametrize("copier", [copy.deepcopy, pickle.dumps], ids=["deepcopy", "pickle"])
@pytest.mark.parametrize(("module", "path"), [(Cell, "h"), (Outer, "rnn.h")])
def test_a_stored_non_leaf_is_named(copier, module, path):
    model = module()
    model(np.ones((1, 3)))
    with pytest.raises(RuntimeError) as refusal:
        copier(model)
    said = str(refusal.value)
    assert f"attribute {path} was made by an op (tanh)" in said, said
    assert "self.h = h.detach()" in said, said


def test_a_detached_state_copies():
    model = Outer()
    model(np.ones((1, 3)))
    model.rnn.h = model.rnn.h.detach()
    twin = copy.deepcopy(model)
    np.testing.assert_array_equal(twin.rnn.h.numpy(), model.rnn.h.numpy())
    assert twin.rnn.h is not model.rnn.h
