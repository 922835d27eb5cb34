"""What a PyTorch porter met (QA, session 56): the savers' argument order swapped, and a
PyTorch Dropout(p=1.0) that chainrule's Dropout does not take."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.errors import ConversionError
from chainrule.interop import from_torch, save_torch, to_onnx


def _model():
    return nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 1, rng=1))


@pytest.mark.parametrize("save", [save_torch, to_onnx], ids=["save_torch", "to_onnx"])
def test_a_saver_given_the_path_first_says_the_model_comes_first(tmp_path, save):
    """save_model takes (path, model) and these (model, path): the swap was a bare TypeError
    from os.fspath ("expected str, bytes or os.PathLike object, not Sequential"), naming
    neither the function nor the order. Nothing is written."""
    path = tmp_path / "net.file"
    with pytest.raises(TypeError) as caught:
        save(str(path), _model())
    assert str(caught.value) == (
        f"{save.__name__}: path must be a str or path, not Sequential (the model comes first, "
        "then the path)"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("save", [save_torch, to_onnx], ids=["save_torch", "to_onnx"])
def test_a_saver_given_a_path_that_is_no_path_names_it(tmp_path, save):
    with pytest.raises(TypeError, match=rf"^{save.__name__}: path must be a str or path, not int$"):
        save(_model(), 3)


def test_torch_dropout_of_p_one_is_a_conversion_error_naming_layer_and_position(torch):
    """PyTorch takes Dropout(p=1.0) (zeros in training, the identity in evaluation); chainrule's
    Dropout refuses p=1, and from_torch let its ConfigError out of nn/layers.py, where
    docs/interop.md promises a ConversionError naming the layer and its position. It names them
    now, keeps the layer's reason, and says what to give instead."""
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Dropout(1.0))
    with pytest.raises(ConversionError) as caught:
        from_torch(net)
    message = str(caught.value)
    assert message.startswith("from_torch: layer 2 (Dropout(p=1.0, inplace=False)) cannot be ")
    assert "Dropout: p must be in [0, 1), not 1.0" in message  # the layer's own reason
    assert "torch.nn.Identity()" in message
    # the advised network converts and computes what PyTorch's does in evaluation
    net[2] = torch.nn.Identity()
    x = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    net.eval()
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(from_torch(net)(x).numpy(), expected, rtol=1e-6)
