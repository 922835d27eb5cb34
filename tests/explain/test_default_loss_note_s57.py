"""``cr.explain`` without a loss reads the target for squared error, its default: a target that
default cannot read (class labels for three outputs) is refused naming the default and the loss
labels want; a loss the user chose is named alone (notebook QA, s57: the message blamed
SquaredError, which the student never chose)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer.network import ExplainError

X = np.random.default_rng(0).normal(size=(1, 4))


def test_labels_without_a_loss_name_the_default_and_cross_entropy():
    with pytest.raises(ExplainError) as caught:
        cr.explain(nn.mlp([4, 5, 3], rng=0), X, np.array([1]))
    assert str(caught.value).endswith(
        "no loss was given, so the target is read for squared error, the default: for class "
        "labels give loss=nn.CrossEntropy() (or 'cross-entropy')"
    )
    # the fix it gives is taken: the label's one-hot row is the target
    derivation = cr.explain(nn.mlp([4, 5, 3], rng=0), X, np.array([1]), loss=nn.CrossEntropy())
    assert np.asarray(derivation.t).tolist() == [[0.0, 1.0, 0.0]]


@pytest.mark.parametrize("loss", ["squared-error", "mse"])
def test_a_loss_the_user_chose_is_named_without_the_note(loss):
    with pytest.raises(ExplainError) as caught:
        cr.explain(nn.mlp([4, 5, 3], rng=0), X, np.array([1]), loss=loss)
    assert "no loss was given" not in str(caught.value)
    assert "the output layer expects 3 values per case" in str(caught.value)


@pytest.mark.parametrize("target", [[2.5], [[0.1, 0.2]], [-1]], ids=["half", "row", "negative"])
def test_a_target_that_is_no_class_label_gets_no_note(target):
    with pytest.raises(ExplainError) as caught:
        cr.explain(nn.mlp([4, 5, 3], rng=0), X, np.array(target))
    assert "no loss was given" not in str(caught.value)


def test_a_target_refused_for_its_values_gets_no_note():
    with pytest.raises(ExplainError) as caught:
        cr.explain(nn.mlp([4, 5, 3], rng=0), X, np.array([[1.0, 2.0, np.nan]]))
    assert str(caught.value) == (
        "explain: the target holds nan at case 0, entry 2 (counted from 0): every value must "
        "be a finite number"
    )
