"""Tied weights' state-dict keys, and ``Module.to(dtype)``'s gradients and refusals.

PyTorch's ``state_dict()`` of ``Sequential(lin, Tanh, lin)`` lists ``0.*`` and ``2.*`` (one
tensor under two names); loading it (converted) failed strict loading with "unexpected keys
['2.weight', '2.bias']". ``model.to("float64")`` after backward cleared every ``.grad``, so
``opt.step()`` then changed nothing; torch converts the gradients. The oracle is torch 2.13.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.interop import state_dict_from_torch
from chainrule.nn.module import StateDictError

X = np.array([[0.5, -1.0, 2.0], [2.0, 0.3, -0.7]])


def tied():
    lin = nn.Linear(3, 3, dtype="float64", rng=0)
    return nn.Sequential(lin, nn.Tanh(), lin)


def torch_tied(torch):
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 3).double()
    return torch.nn.Sequential(lin, torch.nn.Tanh(), lin)


def test_torchs_state_dict_of_a_tied_model_loads_strictly(torch) -> None:
    model, theirs = tied(), torch_tied(torch)
    state = state_dict_from_torch(theirs.state_dict())
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    result = model.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    expected = theirs(torch.tensor(X)).detach().numpy()
    np.testing.assert_allclose(model(X).numpy(), expected, rtol=1e-13)
    assert model[0].weight is model[2].weight  # still one parameter


def test_any_one_name_of_a_tied_parameter_loads_it() -> None:
    model, source = tied(), tied()
    source[0].weight.data[...] = 0.5
    state = source.state_dict()
    assert list(state) == ["0.weight", "0.bias"]  # chainrule's own names it once
    by_alias = {"2.weight": state["0.weight"], "2.bias": state["0.bias"]}
    assert model.load_state_dict(by_alias) == ([], [])
    np.testing.assert_array_equal(model[0].weight.numpy(), 0.5)
    partial = model.load_state_dict({"2.weight": state["0.weight"]}, strict=False)
    assert partial.missing_keys == ["0.bias"] and partial.unexpected_keys == []


def test_two_values_for_one_tied_parameter_are_refused_naming_the_tie(torch) -> None:
    model = tied()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    state = state_dict_from_torch(torch_tied(torch).state_dict())
    state["2.bias"] = state["2.bias"] + 1.0
    with pytest.raises(StateDictError, match=r"'0\.bias' and '2\.bias' name one array .*tied"):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():  # nothing written
        np.testing.assert_array_equal(value, before[key])
    # an unknown key is still an unexpected one
    with pytest.raises(StateDictError, match=r"unexpected keys \['4\.weight'\]"):
        model.load_state_dict({**state_dict_from_torch(torch_tied(torch).state_dict()),
                               "4.weight": np.zeros((3, 3))})  # fmt: skip


def test_to_converts_the_gradients_as_torch_does(torch) -> None:
    model = nn.mlp([3, 4, 2], activation="tanh", rng=0)  # float32
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    theirs.load_state_dict(
        {k: torch.tensor(v.T if v.ndim == 2 else v) for k, v in model.state_dict().items()}
    )
    opt = optim.SGD(model.parameters(), lr=0.5)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.5)
    model(X).sum().backward()
    theirs(torch.tensor(X, dtype=torch.float32)).sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.to("float64")
    theirs.to(torch.float64)
    assert all(p.grad.dtype == np.float64 for p in model.parameters())
    assert all(p.grad.dtype == torch.float64 for p in theirs.parameters())
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad.numpy(), g.astype(np.float64))
    opt.step()
    topt.step()
    stepped = state_dict_from_torch(theirs.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value, stepped[key], rtol=1e-6, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("dtype", ["float16", np.float16, np.longdouble])
def test_to_refuses_the_dtypes_a_model_cannot_have(dtype) -> None:
    model = nn.mlp([3, 2], rng=0)
    before = model.state_dict()
    with pytest.raises(nn.ConfigError, match="use float32 or float64"):
        model.to(dtype)
    for key, value in model.state_dict().items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, before[key])
