"""softmax_cross_entropy with probability targets: -sum_j t_j log softmax(z)_j for any t.

A row of targets need not sum to 1 (a row of zeros masks its case out, soft labels may be
unnormalised); the loss and its gradient must follow the definition, not assume sum_j t_j = 1,
and must stay exact at logits far from zero. Oracles: the definition written in NumPy, central
differences (gradcheck), and PyTorch's cross_entropy where it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

LOGITS = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [-3.0, 0.0, 4.0]])
TARGETS = np.array([[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [0.2, 0.3, 0.5]])  # 1.5, 0 and 1 per row


def _definition(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per case -sum_j t_j log softmax(z)_j, in float64 with a shifted log-sum-exp."""
    z = z.astype(np.float64)
    peak = z.max(axis=-1, keepdims=True)
    log_softmax = z - peak - np.log(np.exp(z - peak).sum(axis=-1, keepdims=True))
    return -(t * log_softmax).sum(axis=-1)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_the_loss_follows_the_definition_when_rows_do_not_sum_to_one(reduction: str) -> None:
    loss = cr.softmax_cross_entropy(cr.tensor(LOGITS), TARGETS, reduction=reduction)
    per_case = _definition(LOGITS, TARGETS)
    expected = {"none": per_case, "sum": per_case.sum(), "mean": per_case.mean()}[reduction]
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-13)


def test_the_gradient_is_softmax_times_the_target_mass_minus_the_targets() -> None:
    z = cr.tensor(LOGITS, requires_grad=True)
    cr.softmax_cross_entropy(z, TARGETS, reduction="sum").backward()
    softmax = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=-1, keepdims=True)
    expected = softmax * TARGETS.sum(axis=-1, keepdims=True) - TARGETS
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-12, atol=1e-15)
    assert np.all(z.grad.numpy()[1] == 0)  # the masked case sends nothing


def test_first_and_second_derivatives_match_finite_differences() -> None:
    def loss(z):
        return cr.softmax_cross_entropy(z, TARGETS, reduction="mean")

    assert cr.gradcheck(loss, [LOGITS], raise_on_failure=True)
    assert cr.gradcheck(loss, [LOGITS], order=2, raise_on_failure=True)


@pytest.mark.parametrize("offset", [0.0, 1e6, 1e7])
def test_the_loss_stays_exact_at_large_logits_in_float32(offset: float) -> None:
    z = (np.array([[0.0, 1.0, 2.0]]) + offset).astype(np.float32)
    targets = np.array([[0.2, 0.3, 0.5]], dtype=np.float32)
    loss = cr.softmax_cross_entropy(cr.tensor(z), targets)
    expected = _definition(np.array([[0.0, 1.0, 2.0]]), targets.astype(np.float64))
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), expected[0], rtol=1e-6)


def test_loss_and_gradients_match_torch_to_second_order() -> None:
    torch = pytest.importorskip("torch")
    z = cr.tensor(LOGITS, requires_grad=True)
    (g,) = cr.gradient(cr.softmax_cross_entropy(z, TARGETS), [z], create_graph=True)
    (g * g).sum().backward()
    zt = torch.tensor(LOGITS, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(zt, torch.tensor(TARGETS))
    (gt,) = torch.autograd.grad(lt, zt, create_graph=True)
    (gt * gt).sum().backward()
    np.testing.assert_allclose(
        cr.softmax_cross_entropy(cr.tensor(LOGITS), TARGETS).item(), lt.item(), rtol=1e-13
    )
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_the_array_api_path_gives_the_same_loss_and_gradient() -> None:
    xp = pytest.importorskip("array_api_strict")
    z = cr.tensor(xp.asarray(LOGITS), requires_grad=True)
    loss = cr.softmax_cross_entropy(z, xp.asarray(TARGETS), reduction="sum")
    loss.backward()
    reference = cr.tensor(LOGITS, requires_grad=True)
    cr.softmax_cross_entropy(reference, TARGETS, reduction="sum").backward()
    np.testing.assert_allclose(float(loss.item()), _definition(LOGITS, TARGETS).sum(), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(z.grad.data), reference.grad.numpy(), rtol=1e-13)
