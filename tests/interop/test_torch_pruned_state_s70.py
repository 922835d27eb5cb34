"""A state dict of a layer pruned with torch.nn.utils.prune holds ``weight_orig`` and
``weight_mask`` where a plain one holds ``weight``: the refusal says how to make it plain
(prune.remove), and once it is, it loads and computes as the pruned PyTorch network does."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
prune = pytest.importorskip("torch.nn.utils.prune")


def pruned_torch_net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 2)
    ).double()
    prune.l1_unstructured(net[0], "weight", amount=0.5)
    return net


def chainrule_net():
    return nn.Sequential(
        nn.Linear(3, 4, dtype="float64"), nn.Logistic(), nn.Linear(4, 2, dtype="float64")
    )


def test_a_pruned_state_dict_is_refused_naming_prune_remove():
    state = pruned_torch_net().state_dict()
    with pytest.raises(
        cr.errors.UserError, match=r"'0\.weight_orig'.*prune\.remove\(module, 'weight'\)"
    ):
        cr.interop.load_state_dict_from_torch(chainrule_net(), state)


def test_once_made_permanent_it_loads_and_computes_as_the_pruned_net():
    net = pruned_torch_net()
    prune.remove(net[0], "weight")
    model = cr.interop.load_state_dict_from_torch(chainrule_net(), net.state_dict())
    x = np.random.default_rng(1).normal(size=(5, 3))
    expected = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-12)
    assert (model[0].weight.numpy() == 0).sum() == 6  # half of the 12 weights pruned


def test_other_unexpected_entries_say_no_more():
    state = {**chainrule_net().state_dict(), "0.running_mean": np.zeros(4)}
    with pytest.raises(cr.errors.UserError, match=r"'0\.running_mean'") as caught:
        cr.interop.load_state_dict_from_torch(chainrule_net(), state)
    assert "prune" not in str(caught.value)
