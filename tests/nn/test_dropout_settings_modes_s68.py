"""Dropout's ``rng`` and ``p`` after construction (QA of modes, s68): ``layer.rng = 7`` (or
None) was taken and failed at the next forward; a Generator assigned left config() reporting
the old seed, which save_model wrote; ``p`` took -0.5, 1.0, 1.5 and '0.5'."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn

ONES = np.ones((4, 50))


@pytest.mark.parametrize("seed", [7, np.int64(7)])
def test_a_seed_assigned_draws_as_the_constructor_s_and_config_records_it(seed) -> None:
    layer = nn.Dropout(0.5, rng=3)
    layer.rng = seed
    assert isinstance(layer.rng, np.random.Generator)
    np.testing.assert_array_equal(layer(ONES).numpy(), nn.Dropout(0.5, rng=7)(ONES).numpy())
    assert layer.config() == {"type": "Dropout", "p": 0.5, "rng": 7}
    rebuilt = nn.from_config(layer.config())
    np.testing.assert_array_equal(rebuilt(ONES).numpy(), nn.Dropout(0.5, rng=7)(ONES).numpy())


def test_none_assigned_hands_the_layer_to_the_default_generator() -> None:
    layer = nn.Dropout(0.5, rng=3)
    layer.rng = None
    assert layer.rng is cr.manual_seed(11)
    assert layer.config() == {"type": "Dropout", "p": 0.5}
    first = layer(ONES).numpy()
    cr.manual_seed(11)
    np.testing.assert_array_equal(layer(ONES).numpy(), first)


def test_a_generator_assigned_is_used_and_config_records_no_old_seed() -> None:
    layer = nn.Dropout(0.5, rng=3)
    own = layer.rng
    layer.rng = own  # the layer's own generator put back keeps its seed
    assert layer.config()["rng"] == 3
    layer.rng = np.random.default_rng(9)
    np.testing.assert_array_equal(layer(ONES).numpy(), nn.Dropout(0.5, rng=9)(ONES).numpy())
    assert layer.config() == {"type": "Dropout", "p": 0.5}  # not the seed 3 it no longer uses
    assert nn.Dropout(0.5, rng=np.random.default_rng(9)).config() == layer.config()


@pytest.mark.parametrize("bad", [7.5, -1, "7", True])
def test_an_rng_of_another_kind_is_refused_on_assignment(bad) -> None:
    layer = nn.Dropout(0.5, rng=3)
    with pytest.raises(nn.ConfigError, match=r"^Dropout: rng must be a numpy Generator"):
        layer.rng = bad
    assert layer.config()["rng"] == 3 and layer(ONES).shape == ONES.shape


def _refusal(build) -> str:
    with pytest.raises(nn.ConfigError) as refused:
        build()
    return str(refused.value)


@pytest.mark.parametrize("bad", [-0.5, 1.0, 1.5, "0.5", float("nan"), True, None])
def test_p_is_refused_on_assignment_as_the_constructor_refuses_it(bad) -> None:
    layer = nn.Dropout(0.25, rng=0)

    def assign() -> None:
        layer.p = bad

    message = _refusal(assign)
    assert message.startswith("Dropout: p must be in [0, 1), not ")
    assert message == _refusal(lambda: nn.Dropout(bad))
    assert layer.p == 0.25


@given(st.floats(allow_nan=False) | st.integers(-(10**6), 10**6))
def test_p_assigned_is_taken_exactly_where_the_constructor_takes_it(p) -> None:
    layer = nn.Dropout(0.25, rng=0)
    if 0 <= p < 1:
        layer.p = p
        assert layer.p == nn.Dropout(p).p == float(p) and type(layer.p) is float
        return
    with pytest.raises(nn.ConfigError, match=r"^Dropout: p must be in \[0, 1\)"):
        layer.p = p
    assert layer.p == 0.25


def test_p_takes_any_real_number_as_before():
    """Review: a 0-d array, a tensor, a Fraction or a Decimal was refused as out of range
    (0.3 "not in [0, 1)"), where the constructor took their number; strings and lists are
    refused as not numbers."""
    from decimal import Decimal
    from fractions import Fraction

    for p, expected in ((np.array(0.3), 0.3), (cr.tensor(0.3), 0.3), (Fraction(1, 2), 0.5),
                        (Decimal("0.25"), 0.25)):  # fmt: skip
        assert nn.Dropout(p).p == pytest.approx(expected)
    for p in ("0.5", [0.5], None):
        with pytest.raises(cr.nn.ConfigError, match=r"p must be in \[0, 1\), not .*give a number"):
            nn.Dropout(p)
