"""explain's refusal of a target count that is not one per case said "1 target rows for 1 input
rows" (a CLI usability review); it counts its rows with errors.counted, as other messages do."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explainer.network import ExplainError


@pytest.mark.parametrize(
    ("inputs", "targets", "words"),
    [(1, 3, "3 target rows for 1 input row;"), (2, 1, "1 target row for 2 input rows;")],
)
def test_rows_are_counted_in_words(inputs, targets, words):
    model = nn.mlp([2, 3, 2], rng=0)
    x, t = np.ones((inputs, 2)), np.eye(2)[np.zeros(targets, dtype=int)]
    with pytest.raises(ExplainError, match=words):
        cr.explain(model, x, t)
