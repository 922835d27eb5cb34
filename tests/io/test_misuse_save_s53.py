"""save_model refuses a model that is not a chainrule module before writing anything: None said
"'NoneType' object has no attribute 'config'"."""

import pytest

from chainrule import io, nn


@pytest.mark.parametrize("model", [None, 3, lambda x: x])
def test_save_model_refuses_what_is_not_a_module_and_writes_nothing(tmp_path, model):
    path = tmp_path / "model"
    with pytest.raises(
        TypeError, match=r"^save_model: model must be a chainrule network.*; nothing was written$"
    ):  # noqa: E501
        io.save_model(path, model)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_module_still_saves(tmp_path):
    path = io.save_model(tmp_path / "model", nn.mlp([2, 2], rng=0))
    assert (path / "model.json").is_file()
