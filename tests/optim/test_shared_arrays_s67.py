"""Two parameters on one array (``l2.weight = nn.Parameter(l1.weight.data)``) are refused
where an optimizer would not update them as one tied weight (Adam, weight decay); SGD's
updates, linear in the gradient, add up to the tied weight's, and are taken.

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


def test_two_parameters_on_one_array_are_refused_where_their_updates_do_not_add_up():
    """Adam keeps moments per parameter and SGD's weight decay reads each view's values: two
    views of one array are not then updated as one tied weight."""
    l1, l2 = nn.Linear(2, 2, rng=0), nn.Linear(2, 2, rng=1)
    l2.weight = nn.Parameter(l1.weight.data)
    net = nn.Sequential(l1, nn.Logistic(), l2)
    for make, settings_ in ((optim.Adam, {}), (optim.SGD, {"weight_decay": 0.01})):
        with pytest.raises(ConfigError) as caught:
            make(net.parameters(), lr=0.1, **settings_)
        message = str(caught.value)
        assert "parameter 2 shares its memory with parameter 0" in message
        assert "l2.weight = l1.weight" in message and "\n" not in message
    w = nn.Parameter(np.zeros(3))  # the same parameter twice keeps its words, for SGD too
    with pytest.raises(ConfigError, match="parameter 2 is parameter 0 again"):
        optim.SGD([w, nn.Parameter(np.ones(3)), w], lr=0.1)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_trains_a_tie_made_of_views_as_the_one_tied_weight(momentum, nesterov):
    """A decoder's weight made as the transposed view of the encoder's (the QA's autoencoder):
    SGD's updates, with momentum or Nesterov, are linear in the gradient, so the two views'
    updates add up to that of the one weight. The oracle: the same network written with one
    parameter W read as x @ W and h @ W.T, trained alike."""
    X = np.random.default_rng(3).normal(size=(6, 4))
    enc, dec = nn.Linear(4, 2, rng=0, dtype="float64"), nn.Linear(2, 4, rng=1, dtype="float64")
    W0 = enc.weight.data.copy()
    dec.weight = nn.Parameter(enc.weight.data.T)
    net = nn.Sequential(enc, nn.Tanh(), dec)
    opt = optim.SGD(net.parameters(), lr=0.05, momentum=momentum, nesterov=nesterov)
    W, b1, b2 = (nn.Parameter(a.copy()) for a in (W0, enc.bias.data, dec.bias.data))
    tied = optim.SGD([W, b1, b2], lr=0.05, momentum=momentum, nesterov=nesterov)
    for _ in range(5):
        for o in (opt, tied):
            o.zero_grad()
        nn.MSE()(net(cr.tensor(X)), cr.tensor(X)).backward()
        hidden = cr.tanh(cr.tensor(X) @ W + b1)
        nn.MSE()(hidden @ W.T + b2, cr.tensor(X)).backward()
        opt.step()
        tied.step()
    np.testing.assert_allclose(enc.weight.data, W.data, rtol=0, atol=1e-14)
    np.testing.assert_allclose(dec.weight.data, W.data.T, rtol=0, atol=1e-14)
    assert not np.allclose(W.data, W0)  # it trained


def test_part_of_anothers_array_is_refused_and_disjoint_parts_are_not():
    w = nn.Parameter(np.zeros((3, 2)))
    row = nn.Parameter(w.data[1])  # a view of one row
    with pytest.raises(ConfigError, match="parameter 1 shares its memory with parameter 0"):
        optim.Adam([w, row], lr=0.1)
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
