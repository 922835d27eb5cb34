"""A loss of one's own says whether it reads class labels (session 67): ``nn.Loss.reads_labels``.

The explainer learned it by a probe: it called the loss's forward on zero logits with the labels
and took a finite number for a yes. A loss that reads labels but is undefined at zero logits (the
cosine loss, 1 - z_y / ||z||: 0/0) was refused with a message about the target's shape; one whose
forward takes whole numbers of another meaning was explained with them as class labels; and any
loss's forward ran once more, for nothing but the question (a slow one, one that counts). The
loss now declares it, and the explainer reads the declaration.

The oracles: the model's own ``loss(model(x), labels)`` and ``.backward()``, and central finite
differences of that loss in float64 (the helpers of test_own_loss_labels_s66), never the
explainer's own numbers."""

from __future__ import annotations

import numpy as np
import pytest
from test_own_loss_labels_s66 import _model, explained_by_its_backward

import chainrule as cr
from chainrule import nn
from chainrule.explainer import explain
from chainrule.explainer.build import problem_of
from chainrule.explainer.network import ExplainError


def _one_hot(output, target, name: str):
    """The one-hot rows of integer class labels (n,): anything else is refused, as a loss of
    one's own may refuse it."""
    labels = np.asarray(target)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{name}: integer labels (n,), not {labels.dtype} {labels.shape}")
    return cr.tensor(np.eye(output.shape[1])[labels])


class Cosine(nn.Loss):
    """Barz and Denzler's cosine loss from class labels, on the outputs as they are (no unit of
    its own): E = mean over cases of 1 - z_y / ||z||. Undefined at z = 0. It does not say that
    it reads labels."""

    name = "cosine-s67"

    def forward(self, output, target):
        rows = _one_hot(output, target, type(self).__name__)
        norm = cr.sqrt((output * output).sum(axis=1))
        return (1.0 - (output * rows).sum(axis=1) / norm).mean()


class DeclaredCosine(Cosine):
    """The cosine loss, saying that it reads one class label per case."""

    name = "declared-cosine-s67"
    reads_labels = True


class LabelSquaredError(nn.Loss):
    """Half the squared error against the one-hot rows of class labels, finite at z = 0 (the
    probe took its labels), not saying that it reads them."""

    name = "label-squared-error-s67"

    def forward(self, output, target):
        error = output - _one_hot(output, target, type(self).__name__)
        return 0.5 * (error * error).sum()


class CountingSmoothing(nn.Loss):
    """A label-smoothing cross-entropy that counts its forward's calls and keeps the outputs it
    was given (a side effect: a loss that logs, or is slow)."""

    name = "counting-smoothing-s67"
    output_activation = "softmax"  # applies softmax itself: it reads labels (see reads_labels)

    def __init__(self) -> None:
        self.given: list[np.ndarray] = []

    def forward(self, output, target):
        self.given.append(output.numpy().copy())
        rows = _one_hot(output, target, type(self).__name__) * 0.9 + 0.1 / output.shape[1]
        return -(cr.log_softmax(output, axis=1) * rows).sum() / output.shape[0]


@pytest.mark.parametrize(
    "n_cases, given",
    [(4, np.array([0, 2, 1, 2])), (3, np.array([2, 0, 1])), (2, [1, 0])],
    ids=["four-cases", "as-many-cases-as-classes", "a-list"],
)
def test_a_declared_label_reading_loss_is_explained_as_its_own_backward_and_differences(
    n_cases, given
):
    """The cosine loss is NaN at zero logits: the probe refused it ("the target has shape
    (4,) ..."); declared, it is explained from its labels."""
    model, loss = _model(), DeclaredCosine()
    assert loss.reads_labels is True and Cosine().reads_labels is False
    x = np.random.default_rng(7).normal(size=(n_cases, 2))
    explained_by_its_backward(model, x, given, loss)


@pytest.mark.parametrize("loss", [Cosine(), LabelSquaredError()], ids=["cosine", "finite-at-0"])
@pytest.mark.parametrize(
    "given", [np.array([0, 2, 1]), [2.0, 0.0, 1.0], [[0], [2], [1]]], ids=["ints", "floats", "col"]
)
def test_an_undeclared_loss_given_labels_names_itself_and_how_to_declare_them(loss, given):
    """Its rows refuse the labels (or read them as one case's row): the refusal names the
    class and the attribute to set, in one line; the probe took LabelSquaredError's labels
    (finite at zero) and refused the cosine's with the target's shape alone."""
    x = np.random.default_rng(7).normal(size=(3, 2))
    name = type(loss).__name__
    with pytest.raises(ExplainError) as refused:
        explain(_model(), x, given, loss)
    message = str(refused.value)
    assert "\n" not in message
    assert f"{name} does not say that it reads class labels" in message
    assert f"set reads_labels = True in class {name}" in message
    # declared as the message says, the same loss is explained
    declared = type(f"Declared{name}", (type(loss),), {"reads_labels": True})()
    assert explain(_model(), x, given, declared).all_ok is True


def test_a_loss_that_reads_rows_is_not_told_to_declare_labels_it_was_not_given():
    """Rows of the wrong width are no class labels: the refusal is the rows' alone."""
    x = np.random.default_rng(7).normal(size=(2, 2))
    with pytest.raises(ExplainError, match=r"expects 3 values per case") as refused:
        explain(_model(), x, [[0.5, 0.5], [1.0, 0.0]], Cosine())
    assert "reads_labels" not in str(refused.value)


def test_the_explainer_does_not_call_the_loss_to_learn_how_it_reads_its_targets():
    """Reading the problem calls no forward (the probe called it once, on zero logits), and the
    whole explanation calls it only on outputs the model computed."""
    model, loss = _model(), CountingSmoothing()
    assert loss.reads_labels is True  # softmax: as training hands it labels
    x = np.random.default_rng(7).normal(size=(4, 2))
    labels = np.array([0, 2, 1, 2])
    problem = problem_of(model, x, labels, loss)
    assert loss.given == []
    np.testing.assert_array_equal(problem.labels, labels)
    d = explain(model, x, labels, loss)
    assert d.all_ok is True and loss.given
    assert not any(np.all(output == 0) for output in loss.given)
