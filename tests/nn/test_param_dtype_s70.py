"""``p.data = `` bypasses the parameter dtype check of ``Linear``, ``mlp`` and ``to`` (as
PyTorch's ``.data`` does), and docs/nn.md says so beside the check: the tools after it refuse
such a model by name, an optimizer does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chainrule import nn
from chainrule.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _dtypes_paragraph() -> str:
    text = (DOCS / "nn.md").read_text(encoding="utf-8")
    start = text.index("**Dtypes.**")
    return " ".join(text[start : text.index("\n\n", start)].split())


def test_to_refuses_float16_but_data_takes_it_and_nn_md_says_so():
    model = nn.mlp([2, 3], rng=0)
    with pytest.raises(ConfigError, match="float16 is a dtype, but not one parameters support"):
        model.to("float16")
    model[0].weight.data = model[0].weight.data.astype(np.float16)  # taken, as documented:
    assert model[0].weight.dtype == np.float16
    paragraph = _dtypes_paragraph()
    assert "Assigning `.data` bypasses this check" in paragraph
    assert "Adam steps a float16 parameter to NaN and inf" in paragraph
    assert 'model.to("float32")' in paragraph
