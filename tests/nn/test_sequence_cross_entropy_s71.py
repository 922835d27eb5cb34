"""nn.CrossEntropy takes per-step logits (n, T, k), the classes last, as
cr.softmax_cross_entropy takes them (it refused them, blaming PyTorch's (N, C, d1) layout):
labels (n, T) or probabilities (n, T, k), E the mean over every position (torch's cross_entropy
of the pair reshaped to (-1, k)), per_case each sequence's mean over its steps. Labels in
PyTorch's layout, (N, d1) beside (N, C, d1), are still refused, naming it."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(71)
Z = RNG.normal(size=(4, 5, 3))
LABELS = RNG.integers(0, 3, (4, 5))
PROBS = RNG.dirichlet(np.ones(3), (4, 5))


def _torch(target, reduction="mean"):
    z = torch.tensor(Z, requires_grad=True)
    t = torch.tensor(target)
    t = t.reshape(-1) if t.ndim == 2 else t.reshape(-1, 3)
    loss = F.cross_entropy(z.reshape(-1, 3), t, reduction=reduction)
    return z, loss


@pytest.mark.parametrize("target", [LABELS, PROBS], ids=["labels", "probabilities"])
def test_per_step_logits_give_torch_s_loss_and_gradient(target):
    z = cr.tensor(Z, requires_grad=True)
    E = nn.CrossEntropy()(z, target)
    E.backward()
    tz, tE = _torch(target)
    tE.backward()
    assert E.item() == pytest.approx(tE.item(), rel=1e-12)
    np.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy(), rtol=1e-10, atol=1e-15)
    assert E.item() == pytest.approx(cr.softmax_cross_entropy(Z, target).item(), rel=1e-14)


@pytest.mark.parametrize("target", [LABELS, PROBS], ids=["labels", "probabilities"])
def test_per_case_is_each_sequence_s_mean_over_its_steps(target):
    z = cr.tensor(Z, requires_grad=True)
    each = nn.CrossEntropy().per_case(z, target)
    _, steps = _torch(target, reduction="none")
    expected = steps.detach().numpy().reshape(4, 5).mean(axis=1)
    assert each.shape == (4,)
    np.testing.assert_allclose(each.numpy(), expected, rtol=1e-12)
    assert each.numpy().mean() == pytest.approx(nn.CrossEntropy()(Z, target).item(), rel=1e-12)
    # differentiable: the gradient of one sequence's loss reaches that sequence's logits alone
    each[1].backward()
    assert not np.any(z.grad.numpy()[[0, 2, 3]])
    tz = torch.tensor(Z, requires_grad=True)
    t = torch.tensor(target)
    t = t.reshape(-1) if t.ndim == 2 else t.reshape(-1, 3)
    F.cross_entropy(tz.reshape(-1, 3), t, reduction="none").reshape(4, 5)[1].mean().backward()
    np.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_more_position_axes_are_taken_too():
    z = RNG.normal(size=(2, 3, 4, 5))
    y = RNG.integers(0, 5, (2, 3, 4))
    expected = F.cross_entropy(torch.tensor(z).reshape(-1, 5), torch.tensor(y).reshape(-1))
    assert nn.CrossEntropy()(z, y).item() == pytest.approx(expected.item(), rel=1e-12)


def test_labels_in_torch_s_layout_are_still_refused_naming_it():
    with pytest.raises(cr.ShapeError) as refusal:
        nn.CrossEntropy()(cr.tensor(np.zeros((2, 3, 4))), np.zeros((2, 4), dtype=np.int64))
    said = str(refusal.value)
    assert "PyTorch's (N, C, d1, ...) layout" in said and "swapaxes(1, 2)" in said, said


def test_other_targets_of_per_step_logits_are_refused_as_the_function_refuses_them():
    with pytest.raises(cr.ShapeError) as refusal:
        nn.CrossEntropy()(cr.tensor(Z), np.zeros((4, 6), dtype=np.int64))
    assert "expected labels (4, 5) or probabilities (4, 5, 3)" in str(refusal.value)
    with pytest.raises(cr.ShapeError, match="one output unit"):
        nn.CrossEntropy()(cr.tensor(np.zeros((4, 5, 1))), np.zeros((4, 5), dtype=np.int64))
