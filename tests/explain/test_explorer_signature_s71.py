"""``cr.explain`` given the explorer's signature (``explain(net, (x, t), loss)``: one case as a
pair) or a loss where the target goes says which argument went where, in its own words, not
NumPy's ("setting an array element with a sequence ... inhomogeneous shape") nor an
AttributeError of a loss read as rows."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explainer.network import ExplainError

NET = cr.nn.mlp([3, 4, 2], output="logistic", dtype="float64", rng=0)
X, T = np.array([0.2, -0.7, 1.1]), np.array([1.0, 0.0])
PAIR = (
    "explain: x is a pair of arrays of shapes (3,) and (2,), a case (x, t) as cr.explorer takes "
    "it: explain takes the input x and the target t as separate arguments, "
    "cr.explain(model, x, t, loss)"
)


@pytest.mark.parametrize(
    "args",
    [
        ((X, T), cr.nn.SquaredError()),  # the explorer's signature
        ((X, T),),
        ([X, T], None, "squared-error"),
        ((cr.tensor(X), cr.tensor(T)),),
    ],
    ids=["pair-and-loss", "pair", "list-and-loss-keyword", "tensors"],
)
def test_a_case_pair_given_as_x_says_explain_takes_x_and_t_apart(args) -> None:
    with pytest.raises(ExplainError) as caught:
        cr.explain(NET, *args)
    assert str(caught.value) == PAIR


def test_a_loss_given_as_the_target_is_named() -> None:
    with pytest.raises(ExplainError) as caught:
        cr.explain(NET, X, cr.nn.SquaredError())
    assert str(caught.value) == (
        "explain: t, the target, is a loss (chainrule.nn.SquaredError): explain takes the input "
        "x and the target t as separate arguments, then the loss, cr.explain(model, x, t, loss)"
    )


def test_two_cases_of_one_width_are_still_two_cases() -> None:
    """A list of two rows is a batch of two cases, not a pair: explained as before."""
    rows, targets = [[0.2, -0.7, 1.1], [0.5, 0.1, -0.3]], [[1.0, 0.0], [0.0, 1.0]]
    d = cr.explain(NET, rows, targets, check=False)
    assert d.n_cases == 2
    with pytest.raises(ExplainError, match="^explain: give both the input x and the target t"):
        cr.explain(NET, rows)
