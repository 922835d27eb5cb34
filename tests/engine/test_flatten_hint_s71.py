"""``t.flatten(1)`` (a conv net's batch-keeping flatten, ported from PyTorch) is refused with a
hint for it, not only for ``flatten()``: the hint names ``.reshape(-1)`` and
``.reshape(len(t), -1)``, and each gives what torch's flatten gives."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _hint() -> str:
    with pytest.raises(AttributeError) as caught:
        cr.tensor(np.zeros((5, 1, 8, 8))).flatten(1)
    return str(caught.value)


def test_the_hint_names_both_flattens() -> None:
    message = _hint()
    assert message.startswith("Tensor has no .flatten; ")
    assert ".reshape(-1) for flatten()" in message
    assert ".reshape(len(t), -1) for flatten(1)" in message
    assert "batch" in message


def test_the_hinted_reshapes_give_torchs_flatten() -> None:
    torch = pytest.importorskip("torch")
    images = np.random.default_rng(0).normal(size=(5, 1, 8, 8))
    t, theirs = cr.tensor(images), torch.tensor(images)
    np.testing.assert_array_equal(t.reshape(len(t), -1).numpy(), theirs.flatten(1).numpy())
    np.testing.assert_array_equal(t.reshape(-1).numpy(), theirs.flatten().numpy())
    np.testing.assert_array_equal(t.reshape(*t.shape[:2], -1).numpy(), theirs.flatten(2).numpy())
