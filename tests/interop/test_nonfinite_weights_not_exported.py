"""save_torch and to_onnx refuse weights holding NaN or infinity, before they write: load_torch
(and load_model) refuse such weights, so save_torch replaced a good file with one nobody could
read, and to_onnx wrote a graph whose every output is NaN. The check is io's, the loaders' own.

Oracles: the file's bytes; PyTorch (load_torch's model against the PyTorch network the good
weights make) and onnxruntime (the kept ONNX file against the model that made it).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from chainrule import nn
from chainrule.errors import ConversionError
from chainrule.interop import load_torch, save_torch, to_onnx, to_torch

X = np.random.default_rng(0).normal(size=(4, 2))


def model_and_damaged(bad, where=(0, "weight")):
    """A good model and a copy with one value of ``where`` (layer, parameter) set to ``bad``."""
    model = nn.Sequential(nn.Linear(2, 3, rng=0, dtype="float64"), nn.Tanh(),
                          nn.Linear(3, 1, rng=1, dtype="float64"))  # fmt: skip
    damaged = copy.deepcopy(model)
    getattr(damaged[where[0]], where[1]).data.flat[0] = bad
    return model, damaged


BAD = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("where", [(0, "weight"), (2, "bias")])
def test_save_torch_refuses_and_keeps_the_good_file(tmp_path, torch, bad, where):
    model, damaged = model_and_damaged(bad, where)
    path = save_torch(model, tmp_path / "good.safetensors")
    before = path.read_bytes()
    with pytest.raises(ConversionError) as caught:
        save_torch(damaged, path)
    name = f"{where[0]}.{where[1]}"
    assert str(caught.value).startswith(f"save_torch: {path}: parameter '{name}' holds NaN")
    assert "nothing was written" in str(caught.value)
    assert path.read_bytes() == before
    expected = to_torch(model)(torch.from_numpy(X)).detach().numpy()  # PyTorch computes it
    np.testing.assert_allclose(load_torch(path)(X).numpy(), expected, rtol=1e-12)
    with pytest.raises(ConversionError):
        save_torch(damaged, tmp_path / "new.safetensors")
    assert not (tmp_path / "new.safetensors").exists()


@pytest.mark.parametrize("bad", BAD)
def test_to_onnx_refuses_and_keeps_the_good_file(tmp_path, bad):
    ort = pytest.importorskip("onnxruntime")
    model, damaged = model_and_damaged(bad)
    path = tmp_path / "good.onnx"
    to_onnx(model, path)
    before = path.read_bytes()
    for target in (path, None, tmp_path / "new.onnx"):
        with pytest.raises(ConversionError, match=r"^to_onnx: parameter '0.weight' holds NaN"):
            to_onnx(damaged, target)
    assert path.read_bytes() == before and not (tmp_path / "new.onnx").exists()
    session = ort.InferenceSession(str(path))
    outputs = session.run(None, {"input": X})[0]
    np.testing.assert_allclose(outputs, model(X).numpy(), rtol=1e-10)
