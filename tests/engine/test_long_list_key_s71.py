"""An index that does not fit, given as a long Python list, is refused in a message of one
readable line: the list summarised as NumPy summarises a long array key (its first and last
three entries) with its length, never quoted whole (a 100,000-entry list made a message of
689,013 characters). A short list is still quoted as it is."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

IMAGES = np.zeros((1797, 8, 8))


def _refusal(key) -> str:
    with pytest.raises(IndexError) as caught:
        cr.tensor(IMAGES)[key]
    return str(caught.value)


def test_a_long_list_is_summarised_with_its_length() -> None:
    message = _refusal((slice(None), list(range(100000))))
    assert message == (
        "getitem: index (slice(None, None, None), [0, 1, 2, ..., 99997, 99998, 99999] "
        "(a list of 100000)) does not fit shape (1797, 8, 8): index 8 is out of bounds for "
        "axis 1 with size 8"
    )


def test_a_long_list_as_the_whole_key_and_a_nested_one() -> None:
    message = _refusal(list(range(100000, 200000)))
    assert message.startswith(
        "getitem: index [100000, 100001, 100002, ..., 199997, 199998, 199999] (a list of 100000)"
        " does not fit shape (1797, 8, 8)"
    )
    nested = _refusal((slice(None), [list(range(3000))] * 2))
    assert "[[0, 1, 2, ..., 2997, 2998, 2999], [0, 1, 2, ..., 2997, 2998, 2999]] " in nested
    assert "(a list of shape (2, 3000))" in nested
    assert len(nested) < 300


def test_a_long_boolean_list_is_summarised_too() -> None:
    message = _refusal((0, [True] * 500))
    assert "(0, [True, True, True, ..., True, True, True] (a list of 500))" in message
    assert len(message) < 300


def test_a_short_list_is_quoted_as_it_is() -> None:
    message = _refusal((slice(None), [1, 2, 30]))
    assert message.startswith("getitem: index (slice(None, None, None), [1, 2, 30]) does not fit")
