"""``nn.outputs_of`` is public: a trained model's hidden activations, and their dE/dy through
``cr.gradient``, equal the closed form, torch's, and the explainer's dE/dy."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def trained():
    rng = np.random.default_rng(0)
    X = rng.random((20, 4))
    labels = rng.integers(0, 3, 20)
    model = nn.mlp([4, 5, 3], activation="tanh", dtype="float64", rng=0)
    opt = cr.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(30):
        opt.zero_grad()
        nn.CrossEntropy()(model(X), labels).backward()
        opt.step()
    opt.zero_grad()
    return model, X, labels


def hidden_and_dE_dy(model, X, labels):
    with nn.outputs_of([model[1]]) as calls:
        E = nn.CrossEntropy()(model(X), labels)
    [(module, hidden)] = calls
    assert module is model[1]
    [dE_dy] = cr.gradient(E, [hidden])
    return hidden.numpy(), dE_dy.numpy()


def test_outputs_of_is_exported_from_nn():
    from chainrule.nn.module import outputs_of

    assert nn.outputs_of is outputs_of
    assert "outputs_of" in nn.__all__


def test_hidden_activations_and_dE_dy_match_the_closed_form():
    model, X, labels = trained()
    y, dE_dy = hidden_and_dE_dy(model, X, labels)
    W1, b1 = model[0].weight.numpy(), model[0].bias.numpy()
    W2, b2 = model[2].weight.numpy(), model[2].bias.numpy()
    np.testing.assert_allclose(y, np.tanh(X @ W1 + b1), rtol=1e-12, atol=1e-12)
    z = y @ W2 + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dE_dz = (p - np.eye(3)[labels]) / len(X)  # mean cross-entropy
    np.testing.assert_allclose(dE_dy, dE_dz @ W2.T, rtol=1e-10, atol=1e-14)
    assert all(p.grad is None for p in model.parameters())  # cr.gradient fills no .grad


def test_dE_dy_matches_torch_and_the_explainer():
    torch = pytest.importorskip("torch")
    model, X, labels = trained()
    y, dE_dy = hidden_and_dE_dy(model, X, labels)
    W1, b1, W2, b2 = (torch.tensor(p.numpy(), requires_grad=True) for p in model.parameters())
    h = torch.tanh(torch.tensor(X) @ W1 + b1)
    h.retain_grad()
    torch.nn.functional.cross_entropy(h @ W2 + b2, torch.tensor(labels)).backward()
    np.testing.assert_allclose(dE_dy, h.grad.numpy(), rtol=1e-10, atol=1e-14)
    d = cr.explain(model, X, labels, loss=nn.CrossEntropy(), check=False)
    np.testing.assert_allclose(d.layers[1].y, y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(d.layers[1].dE_dy, dE_dy, rtol=1e-10, atol=1e-14)
