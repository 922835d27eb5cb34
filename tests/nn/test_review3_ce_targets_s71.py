"""Review 3 of 6df699c: beside logits of more than two axes, targets are refused only where they
look like PyTorch's (N, C, d1, ...) layout (rows summing to 1 along axis 1, not along the last);
float32 probabilities cast to float64, bfloat16 probabilities and weights that are not
probabilities (half-weighted one-hot, multi-hot) are taken, with torch's loss."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.ops.registry import ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional

N, T, C = 4, 5, 10

LOSSES = [
    pytest.param(lambda z, P: nn.CrossEntropy()(cr.tensor(z), P), id="CrossEntropy"),
    pytest.param(lambda z, P: cr.softmax_cross_entropy(z, P), id="softmax_cross_entropy"),
]


def _torch_loss(z, P):
    z64 = torch.tensor(np.asarray(z, np.float64)).reshape(-1, z.shape[-1])
    return F.cross_entropy(z64, torch.tensor(np.asarray(P, np.float64)).reshape(z64.shape)).item()


def _float32_probabilities(seed):
    logits = np.random.default_rng(seed).normal(size=(N, T, C)).astype(np.float32) * 3
    return torch.softmax(torch.tensor(logits), -1).numpy()


def _weights(kind):
    rng = np.random.default_rng(7)
    if kind == "half one-hot":
        return np.eye(C)[rng.integers(0, C, (N, T))] * 0.5
    multi = np.zeros((N, T, C))
    multi[..., 0] = multi[..., 1] = 1
    return multi


@pytest.mark.parametrize("loss", LOSSES)
def test_float32_probabilities_cast_to_float64_taken(loss):
    P = _float32_probabilities(0).astype(np.float64)
    assert np.abs(P.sum(-1) - 1).max() > np.sqrt(np.finfo(np.float64).eps)  # the review's case
    z = np.random.default_rng(1).normal(size=(N, T, C))
    assert float(loss(z, P).data) == pytest.approx(_torch_loss(z, P), rel=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_bfloat16_probabilities_taken(loss):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    P = _float32_probabilities(2).astype(ml_dtypes.bfloat16)
    z = np.random.default_rng(3).normal(size=(N, T, C)).astype(np.float32)
    expected = _torch_loss(z, P.astype(np.float32))
    assert float(loss(z, P).data) == pytest.approx(expected, rel=1e-5)


def test_bfloat16_probabilities_of_many_classes_taken():
    # NumPy sums bfloat16 in bfloat16: 30000 classes' rows would "sum" to 0.0156
    ml_dtypes = pytest.importorskip("ml_dtypes")
    P = np.full((2, 3, 30000), 1 / 30000).astype(ml_dtypes.bfloat16)
    z = np.random.default_rng(4).normal(size=(2, 3, 30000)).astype(np.float32)
    expected = _torch_loss(z, P.astype(np.float32))
    assert float(cr.softmax_cross_entropy(z, P).data) == pytest.approx(expected, rel=1e-5)


def test_torch_bfloat16_probabilities_taken():
    P = torch.tensor(_float32_probabilities(5)).to(torch.bfloat16)
    z = torch.tensor(np.random.default_rng(6).normal(size=(N, T, C)).astype(np.float32))
    E = cr.softmax_cross_entropy(cr.tensor(z), P)
    expected = _torch_loss(z.numpy(), P.float().numpy())
    assert float(E.data) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kind", ["half one-hot", "multi-hot"])
@pytest.mark.parametrize("loss", LOSSES)
def test_weights_taken_beside_sequence_logits_with_torch_loss(loss, kind):
    P = _weights(kind)
    z = np.random.default_rng(8).normal(size=(N, T, C))
    assert float(loss(z, P).data) == pytest.approx(_torch_loss(z, P), rel=1e-12)


def test_weights_gradient_matches_torch():
    P = _weights("multi-hot")
    z = np.random.default_rng(9).normal(size=(N, T, C))
    zt = torch.tensor(z.reshape(-1, C), requires_grad=True)
    F.cross_entropy(zt, torch.tensor(P.reshape(-1, C))).backward()
    logits = cr.tensor(z, requires_grad=True)
    nn.CrossEntropy()(logits, P).backward()
    np.testing.assert_allclose(logits.grad.numpy().reshape(-1, C), zt.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("loss", LOSSES)
def test_torch_layout_of_four_axes_refused_naming_moveaxis(loss):
    rng = np.random.default_rng(10)
    z = rng.normal(size=(2, 3, 4, 5))  # (N, C, H, W)
    P = rng.dirichlet(np.ones(3), size=(2, 4, 5)).transpose(0, 3, 1, 2)
    with pytest.raises(ShapeError, match=r"axis 1.*numpy\.moveaxis\(logits, 1, -1\)"):
        loss(z, P)


def test_bfloat16_torch_layout_refused():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(11)
    P = rng.dirichlet(np.ones(3), size=(4, 5)).transpose(0, 2, 1).astype(ml_dtypes.bfloat16)
    with pytest.raises(ShapeError, match=r"swapaxes\(1, -1\)"):
        cr.softmax_cross_entropy(rng.normal(size=(4, 3, 5)).astype(np.float32), P)
