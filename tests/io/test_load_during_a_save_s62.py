"""A model read while another process saves into the same directory (session 62, an operator
running ``evaluate`` during a training's re-save): 2-3% of loads were refused as a damaged
model ("holds other weights than model.json was saved with ... delete the field
'weights_sha256'"), having read model.json of one save and model.safetensors of the next. The
save is put exactly between the two reads here; the load must give the new model whole.
Oracle: the weights each save wrote."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import io, nn
from chainrule.errors import ModelFileError


def _net(seed: int) -> nn.Sequential:
    return nn.mlp([3, 4, 2], output="logistic", rng=seed, dtype=np.float64)


def _weights(model) -> list[np.ndarray]:
    return [p.numpy().copy() for p in model.parameters()]


def test_a_save_between_the_two_reads_gives_the_new_model(tmp_path, monkeypatch):
    first, second = _net(0), _net(1)
    path = io.save_model(tmp_path / "m", first, class_names=["a", "b"])
    read_description = io.read_model_description
    saves = []

    def then_saved(json_path, *args, **kwargs):
        description = read_description(json_path, *args, **kwargs)
        if not saves:  # another process replaces both files just after model.json was read
            saves.append(io.save_model(path, second, class_names=["c", "d"]))
        return description

    monkeypatch.setattr(io, "read_model_description", then_saved)
    model, info = io.load_model(path)
    assert info["class_names"] == ["c", "d"]
    for got, want in zip(_weights(model), _weights(second), strict=True):
        np.testing.assert_array_equal(got, want)


def test_weights_that_really_differ_are_still_refused(tmp_path):
    """The files unchanged during the read: the refusal stands (not read again for ever)."""
    path = io.save_model(tmp_path / "m", _net(0))
    other = io.save_model(tmp_path / "other", _net(1))
    (path / io.WEIGHTS_FILE).write_bytes((other / io.WEIGHTS_FILE).read_bytes())
    with pytest.raises(ModelFileError, match="holds other weights than model.json"):
        io.load_model(path)
