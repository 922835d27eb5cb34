"""Two parameters on one array (``l2.weight = nn.Parameter(l1.weight.data)``) are refused.

The shared-parameter checks went by ``id``: two Parameter objects on one array passed the
optimizer's duplicate check, and each step wrote the array twice (SGD moved it by both
gradients, and Adam kept two sets of moments for one array). One helper,
``chainrule.checks.shared_arrays``, now tells arrays sharing memory (grouped by the array owning
their memory, compared by ``np.shares_memory`` only where their bytes' bounds overlap); the
optimizer, the explainer and ``save_model`` ask it. The oracle for the helper is every pair
compared by ``np.shares_memory``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError


def test_two_parameters_on_one_array_are_refused_naming_both():
    l1, l2 = nn.Linear(2, 2, rng=0), nn.Linear(2, 2, rng=1)
    l2.weight = nn.Parameter(l1.weight.data)
    net = nn.Sequential(l1, nn.Logistic(), l2)
    for make in (optim.SGD, optim.Adam):
        with pytest.raises(ConfigError) as caught:
            make(net.parameters(), lr=0.1)
        message = str(caught.value)
        assert "parameter 2 shares its memory with parameter 0" in message
        assert "twice" in message and "\n" not in message
    w = nn.Parameter(np.zeros(3))  # the same parameter twice keeps its words
    with pytest.raises(ConfigError, match="parameter 2 is parameter 0 again"):
        optim.SGD([w, nn.Parameter(np.ones(3)), w], lr=0.1)


def test_part_of_anothers_array_is_refused_and_disjoint_parts_are_not():
    w = nn.Parameter(np.zeros((3, 2)))
    row = nn.Parameter(w.data[1])  # a view of one row
    with pytest.raises(ConfigError, match="parameter 1 shares its memory with parameter 0"):
        optim.SGD([w, row], lr=0.1)
    # views of one flat buffer, none overlapping, are separate parameters: each step moves
    # each once (x - lr * g)
    flat = np.arange(10.0)
    a, b = nn.Parameter(flat[:4]), nn.Parameter(flat[4:].reshape(3, 2))
    opt = optim.SGD([a, b], lr=0.5)
    a.grad, b.grad = cr.tensor(np.ones(4)), cr.tensor(np.full((3, 2), 2.0))
    opt.step()
    np.testing.assert_array_equal(flat, np.arange(10.0) - np.r_[[0.5] * 4, [1.0] * 6])


def _brute_force(named):
    """For each array sharing memory with an earlier one, (the first such earlier name, its name),
    by comparing every pair."""
    pairs = []
    for j, (second, b) in enumerate(named):
        for first, a in named[:j]:
            if a is b or np.shares_memory(a, b):
                pairs.append((first, second))
                break
    return pairs


_views = st.tuples(
    st.integers(0, 2),  # which buffer
    st.integers(0, 11),  # start
    st.integers(0, 6),  # length
    st.sampled_from([1, 2, 3]),  # step
    st.booleans(),  # reshaped into two dimensions (where the length allows)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_views, min_size=0, max_size=8), st.booleans())
def test_shared_arrays_agrees_with_every_pair_compared(views, repeat):
    from chainrule.checks import shared_arrays

    buffers = [np.zeros(12), np.zeros((3, 4)).ravel(), np.zeros(12)]
    named = []
    for k, (which, start, length, step, two_d) in enumerate(views):
        view = buffers[which][start : start + length * step : step]
        if two_d and view.size % 2 == 0 and view.size:
            view = view.reshape(2, -1)
        named.append((f"p{k}", view))
    if repeat and named:  # the same array again under another name
        named.append(("again", named[0][1]))
    assert shared_arrays(named) == _brute_force(named)


def test_shared_arrays_compares_few_pairs_of_a_big_network(monkeypatch):
    """1,000 parameters that are disjoint views of one buffer cost no n^2 comparisons."""
    from chainrule.checks import shared_arrays

    flat = np.zeros(3000)
    named = [(str(k), flat[3 * k : 3 * k + 3]) for k in range(1000)]
    calls = itertools.count()
    real = np.shares_memory
    monkeypatch.setattr(np, "shares_memory", lambda a, b: (next(calls), real(a, b))[1])
    assert shared_arrays(named) == []
    assert next(calls) == 0
