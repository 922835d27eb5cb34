"""to_torch of a Sequential holding a Sequential says how to flatten it, and the flattened
network it suggests converts and computes what the nested one computes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConversionError

torch = pytest.importorskip("torch")


def test_a_nested_sequential_is_refused_with_the_flattening_that_converts():
    inner = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh())
    model = nn.Sequential(nn.Linear(2, 2, rng=2), inner, nn.Linear(3, 1, rng=1))
    with pytest.raises(ConversionError, match=r"layer 1 is a Sequential inside") as error:
        cr.interop.to_torch(model)
    assert "nn.Sequential(*model[:1], *model[1], *model[2:])" in str(error.value)
    flat = nn.Sequential(*model[:1], *model[1], *model[2:])  # the message's own suggestion
    x = np.random.default_rng(0).random((4, 2)).astype(np.float32)
    with torch.no_grad():
        theirs = cr.interop.to_torch(flat)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(theirs, model(cr.tensor(x)).numpy(), rtol=1e-6)
