"""Four messages that misled (QA, session 58): each now says what is wrong and what works.

- save_torch called a nested Sequential a layer "which has no PyTorch counterpart"; it gives
  to_torch's flattening now, and the flattened model it suggests saves and computes the same.
- from_torch said a nested torch Sequential "cannot convert", and called a whole ModuleList or
  TorchScript module "layer 0"; it gives the flattening, or names the whole network.
- docs/interop.md said save_torch wrote a NaN model over a good file; it writes nothing.
- ``chainrule train --data encoder-4-0-4`` blamed a --hidden never given; it names the dataset.
"""

import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConversionError, DataError

DOCS = Path(__file__).resolve().parents[2] / "docs"


def nested_model():
    return nn.Sequential(nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh()), nn.Linear(3, 1, rng=1))


def test_save_torch_gives_to_torchs_flattening_for_a_nested_sequential(tmp_path, torch):
    model = nested_model()
    path = tmp_path / "net.safetensors"
    with pytest.raises(ConversionError) as saved:
        cr.interop.save_torch(model, path)
    with pytest.raises(ConversionError) as converted:
        cr.interop.to_torch(model)
    message = str(saved.value)
    assert "no PyTorch counterpart" not in message
    assert "nn.Sequential(*model[:0], *model[0], *model[1:])" in message
    # the same words as to_torch's, but for the function's name
    assert message.replace("save_torch", "to_torch") == str(converted.value)
    assert not path.exists()
    flat = nn.Sequential(*model[:0], *model[0], *model[1:])  # the message's own suggestion
    cr.interop.save_torch(flat, path)
    import safetensors.torch

    net = cr.interop.to_torch(flat)
    net.load_state_dict(safetensors.torch.load_file(path))
    x = np.random.default_rng(0).random((5, 2)).astype(np.float32)
    with torch.no_grad():
        theirs = net(torch.tensor(x)).numpy()
    np.testing.assert_allclose(theirs, model(cr.tensor(x)).numpy(), rtol=1e-6, atol=1e-7)


def test_from_torch_gives_the_flattening_for_a_nested_sequential(torch):
    tnn = torch.nn
    torch.manual_seed(0)
    net = tnn.Sequential(tnn.Linear(2, 2), tnn.Sequential(tnn.Linear(2, 3), tnn.Tanh()),
                         tnn.Linear(3, 1))  # fmt: skip
    with pytest.raises(ConversionError) as error:
        cr.interop.from_torch(net)
    message = str(error.value)
    assert "cannot convert" not in message and message.startswith("from_torch: layer 1 is ")
    hint = "torch.nn.Sequential(*net[:1], *net[1], *net[2:])"
    assert hint in message
    flat = eval(hint, {"torch": torch, "net": net})  # the message's own suggestion
    model = cr.interop.from_torch(flat)
    x = np.random.default_rng(1).random((4, 2)).astype(np.float32)
    with torch.no_grad():
        theirs = net(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).numpy(), theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["ModuleList", "script", "trace", "own module"])
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit's own, about itself
def test_from_torch_names_the_whole_network_that_is_not_a_sequential(torch, kind):
    tnn = torch.nn
    layers = [tnn.Linear(2, 3), tnn.Tanh()]

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.inner = tnn.Linear(2, 3)

        def forward(self, x):
            return self.inner(x)

    net = {
        "ModuleList": lambda: tnn.ModuleList(layers),
        "script": lambda: torch.jit.script(tnn.Sequential(*layers)),
        "trace": lambda: torch.jit.trace(tnn.Sequential(*layers), torch.zeros(1, 2)),
        "own module": Net,
    }[kind]()
    with pytest.raises(ConversionError) as error:
        cr.interop.from_torch(net)
    message = str(error.value)
    assert "layer 0" not in message  # the container is not a layer of itself
    assert message.startswith("from_torch: the network is ")
    assert type(net).__name__ in message
    assert "from_torch takes a torch.nn.Sequential of Linear" in message
    if kind == "ModuleList":
        assert "torch.nn.Sequential(*net)" in message
    if kind in ("script", "trace"):
        assert "TorchScript" in message and "state_dict()" in message
    alone = layers[0]  # "one such layer", as the message says, still converts
    model = cr.interop.from_torch(alone)
    np.testing.assert_array_equal(model[0].weight.numpy(), alone.weight.detach().numpy().T)


def test_save_torch_leaves_a_good_file_byte_for_byte_as_the_docs_now_say(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 1, rng=1))
    path = tmp_path / "net.safetensors"
    cr.interop.save_torch(model, path)
    good = path.read_bytes()
    model[0].weight.data[0, 0] = np.nan
    with pytest.raises(ConversionError, match="nothing was written"):
        cr.interop.save_torch(model, path)
    assert path.read_bytes() == good
    text = " ".join((DOCS / "interop.md").read_text().split())
    assert "the file was written, over a good one, and `load_torch` then refused it." not in text
    assert "stays as it was, byte for byte" in text


def test_an_encoder_name_with_an_empty_hidden_layer_is_named(capsys):
    from chainrule.cli import main

    assert main(["train", "--data", "encoder-4-0-4", "--epochs", "1", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--hidden" not in err  # never given: the 0 came from the dataset's name
    assert re.fullmatch(r"chainrule: encoder-4-0-4: .*hidden layer.*got 0", err), err
    with pytest.raises(DataError, match=r"encoder-8-4-0-8: .*got 4,0"):
        cr.data.load("encoder-8-4-0-8")


def test_an_encoder_name_with_a_too_large_hidden_layer_is_named(capsys, tmp_path):
    from chainrule.cli import main

    out = tmp_path / "run"
    assert main(["train", "--data", "encoder-4-2000000-4", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--hidden" not in err  # never given: the size came from the dataset's name
    assert re.fullmatch(r"chainrule: --data encoder-4-2000000-4: .*1,000,000, got 2000000", err)
    assert not out.exists()
