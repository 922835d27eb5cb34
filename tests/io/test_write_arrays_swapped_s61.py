"""``io.write_arrays(arrays, path)`` (swapped) is refused as ``save_model``'s swap is, with a
TypeError saying the path comes first (it was "'str' object has no attribute 'items'"), and
nothing is written.

Oracle: the arrays read back from the file written with the arguments in order."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import io, nn

ARRAYS = {"w": np.arange(6.0).reshape(2, 3), "b": np.zeros(3, np.float32)}


def test_the_arrays_before_the_path_are_refused_saying_the_path_comes_first(tmp_path):
    path = tmp_path / "w.safetensors"
    with pytest.raises(TypeError) as refusal:
        io.write_arrays(ARRAYS, str(path))
    said = str(refusal.value)
    assert said == (
        "write_arrays: path must be a str or path, not dict (the path comes first, then the arrays)"
    ), said
    assert not path.exists() and not list(tmp_path.iterdir())
    # save_model's words for its own swap
    with pytest.raises(TypeError) as save_refusal:
        io.save_model(nn.mlp([2, 1], rng=0), tmp_path / "m")
    assert str(save_refusal.value).startswith("save_model: path must be a str or path, not ")
    assert "(the path comes first, then the model)" in str(save_refusal.value)


def test_arrays_that_are_no_mapping_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"^write_arrays: arrays must be a mapping of names to "
                                        r"arrays .*not list"):  # fmt: skip
        io.write_arrays(tmp_path / "w.safetensors", [np.zeros(2)])
    assert not list(tmp_path.iterdir())


def test_in_order_the_arrays_are_written(tmp_path):
    path = io.write_arrays(tmp_path / "w.safetensors", ARRAYS)
    back = io.read_arrays(path, layout=None)
    assert set(back) == set(ARRAYS)
    for name, array in ARRAYS.items():
        np.testing.assert_array_equal(back[name], array)
        assert back[name].dtype == array.dtype
