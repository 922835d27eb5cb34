"""explain given a plain function as its loss (which fit takes) says what explain takes and how
to write the loss as an nn.Loss; it said "loss <function ...> is not known; use one of ..."."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer.network import ExplainError

X = np.eye(4)[:1]


def bce_logits(z, t):
    return nn.BinaryCrossEntropy()(z, t)


bce_logits.output_activation = "logistic"


def test_a_function_loss_is_refused_saying_what_explain_takes():
    net = nn.mlp([4, 2, 4], output=None, rng=0, dtype="float64")
    with pytest.raises(ExplainError) as caught:
        cr.explain(net, X, X, loss=bce_logits, symbolic=False, perturbation=False)
    message = str(caught.value)
    assert message.startswith("explain: loss bce_logits is a plain function")
    assert "is not known" not in message
    assert "nn.Loss" in message and "squared-error" in message
    assert "forward(output, target)" in message
    assert "reading a parameter itself" in message  # where a penalty in it is refused


def test_the_nn_loss_it_points_to_is_explained():
    class BCELogits(nn.Loss):
        output_activation = "logistic"

        def forward(self, output, target):
            return bce_logits(output, target)

    net = nn.mlp([4, 2, 4], output=None, rng=0, dtype="float64")
    d = cr.explain(net, X, X, loss=BCELogits(), symbolic=False, perturbation=False)
    assert d.all_ok is not False
    # E is the function's own value, an independent call of it
    assert d.error == pytest.approx(float(bce_logits(net(X), X).item()), rel=1e-12)


def test_a_loss_class_not_an_instance_is_named():
    net = nn.mlp([4, 2, 1], rng=0, dtype="float64")
    with pytest.raises(ExplainError, match=r"SquaredError is a class; give an instance"):
        cr.explain(net, X, np.ones((1, 1)), loss=nn.SquaredError, symbolic=False)


@pytest.mark.parametrize("loss", ["torch-instance", "torch-class", "ufunc"])
def test_what_is_no_function_is_not_said_to_be_taken_by_fit(loss, torch):
    """A PyTorch loss (instance or class) or a NumPy ufunc is not "a plain function, which fit
    takes" (fit takes neither): it is named as no chainrule loss (review of s69)."""
    given = {"torch-instance": lambda: torch.nn.MSELoss(), "torch-class": lambda: torch.nn.MSELoss,
             "ufunc": lambda: np.square}[loss]()  # fmt: skip
    net = nn.mlp([4, 2, 4], rng=0, dtype="float64")
    with pytest.raises(ExplainError) as caught:
        cr.explain(net, X, X, loss=given)
    message = str(caught.value)
    assert "not a chainrule loss" in message and "fit takes" not in message
    assert "nn.Loss" in message
