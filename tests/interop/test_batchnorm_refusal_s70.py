"""A PyTorch state dict holding a BatchNorm is refused as a layer chainrule cannot convert.

``from_torch(net.state_dict(), arch="3,5,2")`` of a network with a BatchNorm1d said
"'1.num_batches_tracked' is int64; ... (convert first, e.g. net.float() or net.double())",
advice that cannot work: PyTorch never casts integer buffers. Without that entry it said
"'1.weight' has shape (5,); a Linear weight is 2-D". The entries are now read before their
dtypes, and a BatchNorm's running statistics name the layer and that it does not convert, for
``from_torch`` and ``load_torch`` alike.
"""

from __future__ import annotations

import pytest

from chainrule import interop
from chainrule.errors import ModelFileError

torch = pytest.importorskip("torch")


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
    )


def _refused(error) -> str:
    text = str(error.value)
    assert "is a BatchNorm, which chainrule cannot convert" in text, text
    assert "layer '1'" in text, text
    assert "net.float()" not in text and "int64" not in text, text
    return text


def test_from_torch_names_the_batchnorm_not_the_int64_counter() -> None:
    net = _net().double()
    assert net[1].num_batches_tracked.dtype == torch.int64  # the advice could not work
    with pytest.raises(ModelFileError) as error:
        interop.from_torch(net.state_dict(), arch="3,5,2")
    _refused(error)


def test_without_the_counter_the_statistics_still_name_it() -> None:
    state = {k: v for k, v in _net().state_dict().items() if k != "1.num_batches_tracked"}
    with pytest.raises(ModelFileError) as error:
        interop.from_torch(state, arch="3,5,2")
    assert "a Linear weight is 2-D" not in _refused(error)


def test_load_torch_says_the_same(tmp_path) -> None:
    save_file = pytest.importorskip("safetensors.torch").save_file
    path = tmp_path / "bn.safetensors"
    save_file({k: v.contiguous() for k, v in _net().state_dict().items()}, str(path))
    with pytest.raises(ModelFileError) as error:
        interop.load_torch(path, arch="3,5,2")
    assert str(error.value).startswith(f"{path}: "), error.value
    _refused(error)


def test_a_plain_int_entry_is_still_refused_for_its_dtype() -> None:
    state = {k: v.to(torch.int64) for k, v in torch.nn.Linear(3, 2).state_dict().items()}
    with pytest.raises(Exception, match="is int64; chainrule computes in float32 or float64"):
        interop.from_torch(state, arch="3,2")
