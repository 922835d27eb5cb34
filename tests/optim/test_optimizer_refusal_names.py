"""An optimizer's refusal of a parameter says what it was given and what to do."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError


def test_a_tensor_needing_no_gradient_is_named_with_the_fix():
    with pytest.raises(ConfigError, match=r"requires_grad=False; give requires_grad=True, or "
                       r"register a frozen parameter as nn.Parameter"):  # fmt: skip
        optim.SGD([cr.tensor(np.ones(2))], lr=0.1)


def test_a_torch_tensor_is_named_as_torchs():
    torch = pytest.importorskip("torch")
    with pytest.raises(ConfigError, match=r"not a tensor requiring a gradient \(torch\.Tensor\)"):
        optim.SGD([torch.ones(2)], lr=0.1)


def test_the_advised_frozen_parameter_is_taken_and_skipped():
    w = nn.Parameter(np.ones(2))
    w.requires_grad_(False)
    opt = optim.SGD([w], lr=0.1)
    opt.step()  # no gradient: skipped
    np.testing.assert_array_equal(w.numpy(), np.ones(2))
