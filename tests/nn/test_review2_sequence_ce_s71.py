"""Review 2 of e4b503c: nn.CrossEntropy over sequence logits (N, T, C) refuses PyTorch's
(N, C, T) probabilities, whose rows sum to 1 along axis 1 (read classes last they gave another
number, silently); fit's refusal of (n, T, C) outputs and the hint for (N, T, 1) labels."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim, train
from chainrule.errors import DataError
from chainrule.ops.registry import ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional

N, C, T = 4, 3, 5


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N, C, T))  # PyTorch's layout: classes on axis 1
    P = rng.dirichlet(np.ones(C), size=(N, T)).transpose(0, 2, 1)
    return z, P


@pytest.mark.parametrize(
    "loss",
    [lambda z, P: nn.CrossEntropy()(cr.tensor(z), P), lambda z, P: cr.softmax_cross_entropy(z, P)],
    ids=["CrossEntropy", "softmax_cross_entropy"],
)
def test_torch_layout_probabilities_refused_naming_the_move(loss):
    z, P = _pair()
    with pytest.raises(ShapeError, match=r"axis 1.*swapaxes\(1, -1\)"):
        loss(z, P)


def test_classes_moved_last_give_torch_loss_and_gradient():
    z, P = _pair(1)
    zt = torch.tensor(z, requires_grad=True)
    expected = F.cross_entropy(zt, torch.tensor(P))
    expected.backward()
    logits = cr.tensor(z.swapaxes(1, -1), requires_grad=True)
    E = nn.CrossEntropy()(logits, P.swapaxes(1, -1))
    E.backward()
    assert float(E.data) == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(logits.grad.numpy().swapaxes(1, -1), zt.grad.numpy(), rtol=1e-10)


def test_float32_rounding_and_zero_rows_still_taken():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(N, T, C)).astype(np.float32)
    P = rng.dirichlet(np.ones(C), size=(N, T)).astype(np.float32)
    P[0, 1] = 0  # a row of zeros drops its position
    E = nn.CrossEntropy()(cr.tensor(z), P)
    expected = F.cross_entropy(torch.tensor(z).reshape(-1, C), torch.tensor(P).reshape(-1, C))
    assert float(E.data) == pytest.approx(expected.item(), rel=1e-5)


def test_square_labels_read_classes_last():
    # (N, C) labels beside (N, C, C) logits cannot tell the layouts apart: classes last
    rng = np.random.default_rng(4)
    z = rng.normal(size=(N, C, C))
    y = rng.integers(0, C, (N, C))
    expected = F.cross_entropy(torch.tensor(z).reshape(-1, C), torch.tensor(y).reshape(-1))
    assert float(nn.CrossEntropy()(cr.tensor(z), y).data) == pytest.approx(expected.item())


def test_column_of_labels_hint_says_one_per_position():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(N, T, C))
    y = rng.integers(0, C, (N, T, 1))
    with pytest.raises(ShapeError, match=r"one label per position, \(4, 5\)"):
        nn.CrossEntropy()(cr.tensor(z), y)


def test_column_of_labels_hint_for_2d_logits_unchanged():
    with pytest.raises(ShapeError, match="one label per case"):
        nn.CrossEntropy()(cr.tensor(np.zeros((N, C))), np.zeros((N, 1), dtype=np.int64))


def test_fit_refuses_sequence_outputs_without_flattening_advice():
    n, steps, features = 8, 4, 3

    @nn.register_module
    class PerStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(features, C)

        def forward(self, x):
            return self.lin(x.reshape(len(x), steps, features))

        def config(self):
            return {"type": "PerStep"}

    rng = np.random.default_rng(6)
    X = rng.normal(size=(n, steps * features)).astype(np.float32)
    ds = data.Dataset(X=X, y=rng.integers(0, C, n), task="classification", n_classes=C)
    model = PerStep()
    with pytest.raises(DataError) as caught:
        train.fit(model, nn.CrossEntropy(), optim.SGD(model.parameters(), lr=0.1), ds, epochs=1)
    message = str(caught.value)
    assert "reshape(len(x), -1)" not in message
    assert "loop of one's own" in message and "Recurrent nets" in message
