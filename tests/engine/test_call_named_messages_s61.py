"""Refusals name the call the user made: ``full`` (not ``tensor``) for an integer past int64,
``zero_grad`` saying a module goes in as an argument of its own, not inside a list."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule import nn


def test_full_names_itself_for_an_integer_past_int64():
    with pytest.raises(OverflowError, match=r"^full: the integer 9223372036854775808 does not"):
        cr.full((2,), 2**63, dtype="int64")


def test_zero_grad_says_a_module_is_an_argument_of_its_own():
    layer = nn.Linear(2, 2, rng=0)
    with pytest.raises(TypeError, match=r"^zero_grad: a module is taken as an argument of its own"):
        cr.zero_grad([layer])
    cr.zero_grad(layer)  # as an argument: its parameters cleared
    assert all(p.grad is None for p in layer.parameters())


def test_the_explainer_reads_whole_number_float_labels_as_docs_explain_says():
    rows = nn.CrossEntropy().target_rows([2.0, 0.0], 3, n_cases=2)
    assert rows.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
