"""The refusals around state_dict_from_torch point where the user can go.

A chainrule-layout dict given to state_dict_from_torch was refused as having "no 1-D bias of
its n_out beside it" while its bias stood beside it (on the other axis: it needed no
conversion); a chainrule model given to it was "not a PyTorch state dict or module" with no
way on; and load_state_dict's refusals of a PyTorch state dict advised the bare
``state_dict_from_torch(state)``, which refuses a dict with a bias-less Linear.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.interop import state_dict_from_torch, state_dict_to_torch
from chainrule.interop.torch import ConversionError

torch = pytest.importorskip("torch")


def _model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))


def test_a_chainrule_state_dict_given_to_state_dict_from_torch_is_named_as_one() -> None:
    model = _model()
    with pytest.raises(ConversionError) as caught:
        state_dict_from_torch(model.state_dict())
    message = str(caught.value)
    assert "'0.weight' (3, 4) has its bias '0.bias' beside it on its second axis" in message
    assert "chainrule's layout already" in message and "no conversion" in message
    assert "model.load_state_dict(state)" in message
    assert "no 1-D bias" not in message
    model.load_state_dict(model.state_dict())  # as it says: it loads as it is


def test_a_pytorch_state_dict_given_to_state_dict_to_torch_is_named_as_one() -> None:
    net = torch.nn.Linear(3, 4)
    with pytest.raises(
        ConversionError,
        match=r"'weight' \(4, 3\) has its bias 'bias' beside "
        r"it on its first axis.*PyTorch's layout already.*net\.load_state_dict",
    ):
        state_dict_to_torch({k: v.detach().numpy() for k, v in net.state_dict().items()})


def test_a_weight_with_no_bias_at_all_keeps_the_bare_dict_refusal() -> None:
    with pytest.raises(ConversionError, match="has no 1-D bias of its n_out beside it"):
        state_dict_from_torch({"0.weight": np.ones((3, 4))})


def test_a_chainrule_model_given_to_state_dict_from_torch_points_to_model_and_to_torch() -> None:
    with pytest.raises(ConversionError) as caught:
        state_dict_from_torch(_model())
    message = str(caught.value)
    assert "this is a chainrule model (Sequential)" in message
    assert "model=model" in message and "state_dict_to_torch(model)" in message


def _bias_less_torch_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 4, bias=False), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    )


def _bias_less_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4, bias=False, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))


@pytest.mark.parametrize("parameters", [False, True], ids=["state_dict", "named_parameters"])
def test_load_state_dict_refusals_advise_the_conversion_that_works(parameters) -> None:
    """The advice, followed, loads the bias-less net; the bare call it gave is refused."""
    net = _bias_less_torch_net()
    state = dict(net.named_parameters()) if parameters else net.state_dict()
    model = _bias_less_model()
    with pytest.raises(nn.StateDictError) as caught:
        model.load_state_dict(state)
    assert "state_dict_from_torch(state, model=model)" in str(caught.value)
    with pytest.raises(ConversionError):
        state_dict_from_torch(state)  # what it advised before
    model.load_state_dict(state_dict_from_torch(state, model=model))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    expected = net(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_the_nn_docs_name_the_conversion_with_the_model() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "nn.md").read_text()
    start = text.index("A PyTorch module's parameters")
    assert "state_dict_from_torch(state, model=model)" in text[start : start + 300]
