"""``data.Dataset`` refuses image inputs (cases, channels, height, width) with the way to give
them: flatten with ``X.reshape(len(X), -1)`` and reshape back in the model's forward; doing
what the message says gives each case's image back, entry for entry."""

from __future__ import annotations

import re

import numpy as np
import pytest

from chainrule import data
from chainrule.errors import DataError

IMAGES = np.random.default_rng(0).random((12, 1, 8, 8))
LABELS = np.arange(12) % 3


def test_image_inputs_are_refused_with_the_way_to_flatten_them() -> None:
    expected = (
        "data: inputs must be 2-D (cases, features), got shape (12, 1, 8, 8); flatten with "
        "X.reshape(len(X), -1) and reshape back in the model's forward "
        "(x.reshape(len(x), 1, 8, 8))"
    )
    with pytest.raises(DataError, match=re.escape(expected) + "$"):
        data.Dataset(IMAGES, LABELS, task="classification")


def test_the_advice_gives_the_images_back() -> None:
    X = IMAGES
    ds = data.Dataset(X.reshape(len(X), -1), LABELS, task="classification")
    assert ds.X.shape == (12, 64)
    x = ds.X[3:7]  # a batch, as a loader gives it
    np.testing.assert_array_equal(x.reshape(len(x), 1, 8, 8), IMAGES[3:7])


def test_a_one_column_input_has_no_image_advice() -> None:
    with pytest.raises(DataError) as caught:
        data.Dataset(np.zeros(12), LABELS, task="classification")
    assert "reshape back" not in str(caught.value)
