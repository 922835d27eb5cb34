"""A loss of one's own that reads targets wider than the outputs (session 70): Hinton, Vinyals &
Dean's distillation loss reads a teacher's soft rows beside the one-hot labels, 2k columns for k
logits. ``cr.explain`` refused it ("the target has shape (2, 6) but the output layer expects 3
values per case"), though a loss of one's own is explained by its numbers (its forward's E, the
engine's dE/dz), which need no target shape. A loss that says how many columns it reads
(``target_columns``) has its rows handed to its forward as given, checked for that width and one
row per case; one that does not say is refused naming ``target_columns`` (a wrong width by
mistake was derived with broadcasting, every check passing); chainrule's own losses, whose
formulas pair target column j with output j, still refuse another width.

The oracle: PyTorch's gradient of the same loss with respect to the logits."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer import ExplainError, render, schema, to_dict

T, A, K = 4.0, 0.7, 3
RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 2))
LABELS = np.array([0, 2, 1, 2])
SOFT = cr.softmax(cr.tensor(RNG.normal(size=(4, K)) * 3 / T)).numpy()
Y = np.hstack([SOFT, np.eye(K)[LABELS]])  # soft | hard: 2k columns


def kd(z, t):
    soft = cr.softmax_cross_entropy(z / T, t[:, :K])
    return A * T * T * soft + (1 - A) * cr.softmax_cross_entropy(z, t[:, K:])


class KD(nn.Loss):
    name = "kd-s70"
    output_activation = "softmax"
    reads_labels = False
    target_columns = 2 * K

    def forward(self, z, t):
        return kd(z, t)


def net():
    return nn.mlp([2, 5, K], output=None, rng=0).to("float64")


def test_distillation_loss_is_explained_with_torchs_gradient():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    model = net()
    d = cr.explain(model, X, Y, KD())
    assert d.all_ok
    logits = torch.tensor(model(cr.tensor(X)).numpy(), requires_grad=True)
    t = torch.tensor(Y)
    E = A * T * T * F.cross_entropy(logits / T, t[:, :K]) + (1 - A) * F.cross_entropy(
        logits, t[:, K:]
    )
    E.backward()
    np.testing.assert_allclose(d.error, E.item(), rtol=1e-12)
    np.testing.assert_allclose(d.layers[-1].dE_dz, logits.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert d.t.shape == (4, 2 * K)  # the rows as the loss reads them
    text = render(d, "text")
    assert "Targets (6 per case, as kd-s70's own forward reads them)" in text
    data = to_dict(d)
    assert np.array(data["targets"]).shape == (4, 2 * K)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(data, schema())


def test_own_loss_target_rows_are_given_as_they_are():
    rows = KD().target_rows(Y, K, n_cases=4)
    np.testing.assert_array_equal(rows, Y)
    # narrower rows are not the declared columns: refused
    with pytest.raises(ValueError, match=r"the target has shape \(4, 2\)"):
        KD().target_rows(Y[:, :2], K, n_cases=4)
    # one case's flat row of the declared width is that case's row
    np.testing.assert_array_equal(KD().target_rows(Y[0], K, n_cases=1), Y[:1])


class Undeclared(KD):
    target_columns = None


class SquaredByHand(nn.Loss):
    def forward(self, y, t):
        return ((y - t) ** 2).sum()


def test_a_loss_that_declares_no_columns_is_refused_naming_target_columns():
    with pytest.raises(ExplainError, match=r"shape \(4, 6\).*target_columns = 6 on Undeclared"):
        cr.explain(net(), X, Y, Undeclared())


def test_a_wrong_width_by_mistake_is_refused_not_broadcast():
    """(4, 1) outputs against (4, 2) rows broadcast to a (4, 2) difference: every check passed."""
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 1, rng=1))
    with pytest.raises(ExplainError, match="target_columns = 2 on SquaredByHand"):
        cr.explain(model, X, np.ones((4, 2)), SquaredByHand())


@pytest.mark.parametrize("loss", [nn.CrossEntropy(), nn.SquaredError()])
def test_chainrules_losses_still_refuse_another_width(loss):
    with pytest.raises(ExplainError, match=r"the target has shape \(4, 6\)"):
        cr.explain(net(), X, Y, loss)


def test_wide_rows_are_still_one_per_case():
    with pytest.raises(ExplainError, match="3 target rows for 4 input rows"):
        cr.explain(net(), X, Y[:3], KD())
