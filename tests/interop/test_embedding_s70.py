"""PyTorch state dicts of networks with an embedding table load into chainrule as torch computes.

``state_dict_from_torch`` and ``state_dict_to_torch`` took every 2-D ``*.weight`` for a Linear
weight and transposed it: a square ``torch.nn.Embedding`` table loaded into a chainrule module
indexing ``self.weight[i]`` transposed without a word, and a custom module's square table went
to PyTorch transposed though the chainrule model itself was given. The oracle is PyTorch's own
modules holding the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConversionError
from chainrule.interop import load_torch, save_torch, state_dict_from_torch, state_dict_to_torch
from chainrule.nn import StateDictError

torch = pytest.importorskip("torch")

IDX = np.array([[1, 2, 0], [4, 3, 3]])


class Embedding(nn.Module):
    """An embedding table indexed by word: (num, dim), as torch.nn.Embedding's."""

    def __init__(self, num: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(np.zeros((num, dim), np.float32))

    def forward(self, index):
        return self.weight[index]


class LM(nn.Module):
    """A square table, a square Linear without bias and one with: every case a guess mixes up."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = Embedding(5, 5)
        self.hidden = nn.Linear(5, 5, bias=False, rng=0)
        self.out = nn.Linear(5, 5, rng=1)

    def forward(self, index):
        return self.out(cr.tanh(self.hidden(self.emb(index))))


class TorchLM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(5, 5)
        self.hidden = torch.nn.Linear(5, 5, bias=False)
        self.out = torch.nn.Linear(5, 5)

    def forward(self, index):
        return self.out(torch.tanh(self.hidden(self.emb(index))))


def torch_lm() -> TorchLM:
    torch.manual_seed(0)
    return TorchLM()


def theirs(net, index=IDX) -> np.ndarray:
    return net(torch.tensor(index)).detach().numpy()


def test_the_qa_repro_a_square_table_is_refused_bare_and_exact_given_the_module():
    torch.manual_seed(0)
    table = torch.nn.Sequential(torch.nn.Embedding(50, 50))
    model = nn.Sequential(Embedding(50, 50))
    with pytest.raises(ConversionError, match=r"'0\.weight' \(50, 50\).*Embedding.*model=model"):
        state_dict_from_torch(table.state_dict())
    model.load_state_dict(state_dict_from_torch(table))
    np.testing.assert_array_equal(model(IDX).numpy(), theirs(table))
    other = nn.Sequential(Embedding(50, 50))
    other.load_state_dict(state_dict_from_torch(table.state_dict(), model=other))
    np.testing.assert_array_equal(other(IDX).numpy(), theirs(table))


def test_a_tall_table_loads_given_the_model_and_no_message_sends_the_user_round():
    torch.manual_seed(1)
    table = torch.nn.Sequential(torch.nn.Embedding(250, 50))
    model = nn.Sequential(Embedding(250, 50))
    with pytest.raises(ConversionError, match=r"\(250, 50\).*state_dict_from_torch\(net\)"):
        state_dict_from_torch(table.state_dict())
    model.load_state_dict(state_dict_from_torch(table.state_dict(), model=model))
    index = np.array([0, 7, 249])
    np.testing.assert_array_equal(model(index).numpy(), theirs(table, index))


def test_a_network_of_table_and_linears_computes_torchs_numbers_both_ways():
    net = torch_lm()
    for state in (state_dict_from_torch(net), state_dict_from_torch(net.state_dict(), model=LM())):
        model = LM()
        model.load_state_dict(state)
        np.testing.assert_allclose(model(IDX).numpy(), theirs(net), rtol=1e-6, atol=1e-6)
    # back: the chainrule model's own Linear weights are transposed, its table is not
    model = LM()
    model.load_state_dict(state_dict_from_torch(net))
    again = TorchLM()
    result = again.load_state_dict(state_dict_to_torch(model), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    np.testing.assert_allclose(theirs(again), model(IDX).numpy(), rtol=1e-6, atol=1e-6)


def test_a_bare_chainrule_state_dict_with_a_square_table_is_refused_naming_the_model():
    model = LM()
    with pytest.raises(
        ConversionError, match=r"'emb\.weight' \(5, 5\).*state_dict_to_torch\(model\)"
    ):
        state_dict_to_torch(model.state_dict())


def test_a_torch_module_and_a_model_that_disagree_are_refused():
    class Swapped(LM):  # the table where torch has a Linear
        def __init__(self) -> None:
            super().__init__()
            self.hidden = Embedding(5, 5)

    with pytest.raises(
        ConversionError, match=r"'hidden\.weight' is a Linear weight in the PyTorch"
    ):
        state_dict_from_torch(torch_lm(), model=Swapped())


def test_linears_with_biases_still_convert_bare():
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    model = nn.mlp([3, 3, 2], activation="tanh", rng=0)
    model.load_state_dict(state_dict_from_torch(net.state_dict()))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(model(x).numpy(), theirs(net, x), rtol=1e-6, atol=1e-6)
    back = state_dict_to_torch(model.state_dict())
    for name, value in net.state_dict().items():
        assert torch.equal(back[name], value), name


def test_a_bias_less_linear_saves_and_loads_through_its_architecture(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3, bias=False, rng=0), nn.Tanh(), nn.Linear(3, 2, rng=1))
    path = save_torch(model, tmp_path / "net.safetensors")
    again = load_torch(path)
    x = np.random.default_rng(1).normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_the_transposed_shape_hint_names_the_conversion_that_knows_the_model():
    model = nn.Sequential(nn.Linear(4, 3, bias=False, rng=0))
    with pytest.raises(StateDictError, match=r"state_dict_from_torch\(state, model=model\)"):
        model.load_state_dict({"0.weight": np.zeros((3, 4), np.float32)})
