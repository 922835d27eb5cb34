"""A network with an infinite weight is explained as one with a NaN weight is: E is not finite,
nothing can be checked, and the write-up says so. It raised a bare ZeroDivisionError from the
checks' tolerances (the terms' sizes were infinite, their difference steps 0), even with
check=False (review 2, stop 54)."""

import warnings

import numpy as np
import pytest

import chainrule as cr


def _layers(bad):
    return [
        (np.array([[bad, 1.0], [0.5, -2.0]]), np.zeros(2), "linear"),
        (np.array([[1.0], [2.0]]), np.zeros(1), "linear"),
    ]


@pytest.mark.parametrize("check", [True, False])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_weight_that_is_not_finite_is_explained_as_uncheckable(bad, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the model's own inf - inf
        d = cr.explain(_layers(bad), np.ones((1, 2)), np.ones((1, 1)), check=check)
        text = cr.explainer.render(d, "text")
    # oracle: the forward pass written out, z = x W + b, E = (z - t)^2 summed
    z = np.ones((1, 2)) @ _layers(bad)[0][0] @ _layers(bad)[1][0]
    assert not np.isfinite(((z - 1.0) ** 2).sum())
    assert d.not_finite is not None and not d.all_ok
    assert "Nothing here can be checked" in text
