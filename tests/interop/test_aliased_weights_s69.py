"""Two parameters on one array (weights tied by aliasing, ``nn.Parameter(w.data.T)``: a tied
autoencoder) are refused by to_torch and save_torch, naming both and the fix.

to_torch made two independent PyTorch parameters of them, which trained apart from the
chainrule model (SGD there updates the one array twice, as the tied weight); save_torch said
"it shares  (one parameter in two places)" with no names and a reason and fix for another case.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.errors import ConversionError
from chainrule.interop import save_torch, to_torch

X = np.eye(4)


def tied_by_aliasing():
    """4-2-4 autoencoder whose decoder weight is a view of the encoder's, transposed."""
    encoder = nn.Linear(4, 2, dtype="float64", rng=0)
    decoder = nn.Linear(2, 4, dtype="float64", rng=1)
    decoder.weight = nn.Parameter(encoder.weight.data.T)
    return nn.Sequential(encoder, nn.Logistic(), decoder)


def test_the_model_is_tied_in_chainrule(torch):
    """The premise, checked against PyTorch: chainrule's SGD step moves the one array by the
    sum of both uses' gradients (PyTorch's gradient of a module reading W and W.T)."""
    model = tied_by_aliasing()
    W = torch.tensor(model[0].weight.numpy().copy(), requires_grad=True)
    b1, b2 = (torch.tensor(model[k].bias.numpy().copy()) for k in (0, 2))
    x = torch.tensor(X)
    out = torch.sigmoid(x @ W + b1) @ W.T + b2
    torch.nn.functional.binary_cross_entropy_with_logits(out, x).backward()
    expected = W.detach().numpy() - 0.5 * W.grad.numpy()
    nn.BinaryCrossEntropy()(model(X), X).backward()
    optim.SGD(model.parameters(), lr=0.5).step()
    np.testing.assert_allclose(model[0].weight.numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(model[2].weight.numpy(), model[0].weight.numpy().T)


def test_to_torch_refuses_weights_tied_by_aliasing_naming_both(torch):
    with pytest.raises(ConversionError) as caught:
        to_torch(tied_by_aliasing())
    message = str(caught.value)
    assert message.startswith("to_torch: 2.weight shares its memory with 0.weight")
    assert "train them apart" in message and "w.data.copy()" in message
    assert "W.T" in message  # the transpose's tie: a module of one's own


def test_to_torch_offers_one_parameter_for_an_alias_of_the_same_shape(torch):
    first, second = nn.Linear(3, 3, rng=0), nn.Linear(3, 3, rng=1)
    second.weight = nn.Parameter(first.weight.data)  # same array, two parameters
    with pytest.raises(ConversionError, match=r"2\.weight shares its memory with 0\.weight"):
        to_torch(nn.Sequential(first, nn.Tanh(), second))
    with pytest.raises(ConversionError, match=r"layer\.weight = other\.weight\), which to_torch"):
        to_torch(nn.Sequential(first, nn.Tanh(), second))
    # what it offers converts, the tie kept: one PyTorch parameter in both places
    second.weight = first.weight
    net = to_torch(nn.Sequential(first, nn.Tanh(), second))
    assert net[0].weight is net[2].weight


def test_to_torch_converts_the_copies_it_suggests(torch):
    model = tied_by_aliasing()
    model[2].weight = nn.Parameter(model[2].weight.data.copy())
    net = to_torch(model)
    out = net(torch.tensor(X)).detach().numpy()
    np.testing.assert_allclose(out, model(X).numpy(), rtol=1e-12, atol=1e-14)


def test_save_torch_names_the_aliased_parameters_and_the_fix(tmp_path):
    path = tmp_path / "tied.safetensors"
    with pytest.raises(ConversionError) as caught:
        save_torch(tied_by_aliasing(), path)
    message = str(caught.value)
    assert f"save_torch: {path}: cannot save this model: 2.weight shares its memory with " in (
        message
    )
    assert "nothing was written" in message and "w.data.copy()" in message
    assert "one parameter in two places" not in message and "deepcopy" not in message
    assert list(tmp_path.iterdir()) == []


def test_save_torch_still_names_one_parameter_in_two_places(tmp_path):
    first, second = nn.Linear(3, 3, rng=0), nn.Linear(3, 3, rng=1)
    second.weight = first.weight
    with pytest.raises(ConversionError, match=r"two places \('0\.weight' is also '2\.weight'\)"):
        save_torch(nn.Sequential(first, nn.Tanh(), second), tmp_path / "m.safetensors")


def test_an_aliased_bias_is_refused_too(tmp_path):
    first, second = nn.Linear(3, 2, rng=0), nn.Linear(2, 2, rng=1)
    second.bias = nn.Parameter(first.bias.data)
    with pytest.raises(ConversionError, match=r"2\.bias shares its memory with 0\.bias"):
        save_torch(nn.Sequential(first, nn.Tanh(), second), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []
