"""A parameter frozen after it was registered (``t.requires_grad = False`` on a module's plain
tensor) is taken by an optimizer, as a frozen nn.Parameter is and as torch.optim takes any
frozen tensor: skipped while it has no gradient, moved again once unfrozen. An optimizer given
only plain tensors that need no gradient is still refused (a forgotten requires_grad=True)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError

X = np.array([[0.2, -1.0, 0.5], [1.5, 0.3, -0.4], [-0.7, 0.8, 1.1], [0.1, 0.2, 0.3]])
T = np.array([[0.3, -0.2], [1.0, 0.5], [-0.4, 0.7], [0.0, 0.1]])
SCALE = np.array([1.5, -0.5])

CASES = {
    "sgd-momentum-decay": (
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda torch, p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    ),
    "adam-decay": (
        lambda p: optim.Adam(p, lr=0.05, weight_decay=0.01),
        lambda torch, p: torch.optim.Adam(p, lr=0.05, weight_decay=0.01),
    ),
}


class ScaledLinear(nn.Module):
    """A Linear whose outputs are scaled by a plain tensor registered as a parameter."""

    def __init__(self, scale_kind):
        super().__init__()
        self.fc = nn.Linear(3, 2, dtype="float64", rng=0)
        if scale_kind == "tensor":  # registered because it requires a gradient when assigned
            self.scale = cr.tensor(SCALE.copy(), requires_grad=True)
        else:
            self.scale = nn.Parameter(SCALE.copy())

    def forward(self, x):
        return self.fc(x) * self.scale


def ours_trained(make, scale_kind, steps, unfreeze_at=None):
    model = ScaledLinear(scale_kind)
    model.scale.requires_grad = False  # frozen after it was registered
    opt = make(model.parameters())
    for step in range(steps):
        if step == unfreeze_at:
            model.scale.requires_grad = True
        opt.zero_grad()
        ((model(X) - T) ** 2).mean().backward()
        opt.step()
    return model, opt


def theirs_trained(torch, make, steps, unfreeze_at=None):
    """The same run in torch, from the same starting weights (torch lays a Linear's weight out
    (n_out, n_in), chainrule (n_in, n_out))."""
    fresh = ScaledLinear("tensor")
    weight = torch.nn.Parameter(torch.tensor(fresh.fc.weight.numpy().T.copy()))
    bias = torch.nn.Parameter(torch.tensor(fresh.fc.bias.numpy().copy()))
    scale = torch.nn.Parameter(torch.tensor(SCALE.copy()), requires_grad=False)
    opt = make(torch, [scale, weight, bias])  # torch takes the frozen one too
    x, t = torch.tensor(X), torch.tensor(T)
    for step in range(steps):
        if step == unfreeze_at:
            scale.requires_grad_(True)
        opt.zero_grad()
        (((x @ weight.T + bias) * scale - t) ** 2).mean().backward()
        opt.step()
    return weight.detach().numpy().T, bias.detach().numpy(), scale.detach().numpy()


@pytest.mark.parametrize("case", list(CASES))
def test_a_frozen_parameter_is_taken_and_skipped_as_torch_does(case, torch):
    """A frozen nn.Parameter was taken, a frozen plain tensor refused: both are taken now, and
    train the rest of the model as torch does."""
    ours, theirs = CASES[case]
    weight, bias, scale = theirs_trained(torch, theirs, steps=4)
    np.testing.assert_array_equal(scale, SCALE)
    for scale_kind in ("Parameter", "tensor"):
        model, opt = ours_trained(ours, scale_kind, steps=4)
        np.testing.assert_allclose(model.fc.weight.numpy(), weight, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(model.fc.bias.numpy(), bias, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(model.scale.numpy(), SCALE)  # skipped: no gradient
        assert model.scale.grad is None
        assert opt.steps == [0, 4, 4]  # the frozen one (listed first: the module's own): none
        assert [key for key in opt.state_dict()["state"] if key.endswith(".0")] == ["step.0"]


@pytest.mark.parametrize("case", list(CASES))
def test_a_frozen_tensor_unfrozen_later_moves_as_in_torch(case, torch):
    ours, theirs = CASES[case]
    model, _ = ours_trained(ours, "tensor", steps=4, unfreeze_at=2)
    weight, bias, scale = theirs_trained(torch, theirs, steps=4, unfreeze_at=2)
    assert not np.array_equal(scale, SCALE)  # it moved, in both
    np.testing.assert_allclose(model.scale.numpy(), scale, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.fc.weight.numpy(), weight, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.fc.bias.numpy(), bias, rtol=1e-12, atol=1e-14)


def test_only_tensors_needing_no_gradient_are_still_refused_saying_so():
    plain = [cr.tensor(np.ones(2)), cr.tensor(np.zeros(3))]  # requires_grad=True forgotten
    with pytest.raises(
        ConfigError,
        match=r"SGD: parameter 0 is not a tensor requiring a gradient \(a chainrule Tensor with "
        r"requires_grad=False; .*\); none of the 2 parameters requires one, so a step would "
        r"update nothing",
    ):
        optim.SGD(plain, lr=0.1)
