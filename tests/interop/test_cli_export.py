"""``chainrule export`` and ``chainrule explain --torch-model``: what they write, and one-line
errors (exit 2) for a user's mistakes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import io
from chainrule.cli import main
from chainrule.interop import load_torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error, run  # noqa: E402


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "xor"
    assert main(["train", "--data", "xor", "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    return out


def test_export_torch_writes_pytorch_layout_that_explain_reads(xor_run, tmp_path, capsys):
    out = tmp_path / "model.pt.safetensors"
    code, _, err = run(capsys, "export", xor_run, "--format", "torch", "--out", out)
    assert code == 0 and f"wrote {out}" in err
    model, _ = io.load_model(xor_run / "model")
    arrays = io.read_arrays(out, layout="torch")
    np.testing.assert_array_equal(arrays["0.weight"], model[0].weight.numpy().T)
    x = np.array([[1.0, 0.0]], dtype=np.float32)
    np.testing.assert_array_equal(load_torch(out)(x).numpy(), model(x).numpy())
    code, text, _ = run(capsys, "explain", "--torch-model", out, "--input", "1,0", "--target",
                        "1", "--no-symbolic", "--format", "json")  # fmt: skip
    assert code == 0 and '"error"' in text
    # the torch file is refused where a chainrule model file is expected, and the other way round
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.json").write_bytes((xor_run / "model" / "model.json").read_bytes())
    (tmp_path / "m" / "model.safetensors").write_bytes(out.read_bytes())
    assert_user_error(capsys, "predict", tmp_path / "m", "--input", "x.csv",
                      match="PyTorch's (n_out, n_in) layout")  # fmt: skip
    line = assert_user_error(capsys, "explain", "--torch-model",
                             xor_run / "model" / "model.safetensors", "--arch", "2,3,1",
                             "--input", "1,0", "--target", "1",
                             match="chainrule's (n_in, n_out) layout")  # fmt: skip
    # what to type instead (QA, s58: it named only chainrule.io.load_model)
    assert line.endswith(f"(on the command line, --model {xor_run / 'model'})")


@pytest.mark.parametrize(
    "args, match",
    [
        (
            ["--format", "tf", "--out", "{tmp}/x"],
            "--format: unknown value 'tf'; choose one of onnx, torch",
        ),
        (["--format", "onnx", "--out", "{tmp}"], "is a directory"),
        (["--format", "torch", "--out", "{tmp}/no/such/dir/m.safetensors"], "cannot write"),
        (["--format", "torch"], "Missing option '--out'"),
        # a name that says the other format: the next program to read it would fail
        (["--format", "onnx", "--out", "{tmp}/m.safetensors"], "name it .onnx"),
        (["--format", "torch", "--out", "{tmp}/m.onnx"], "name it .safetensors"),
    ],
)
def test_export_mistakes_are_one_line(xor_run, tmp_path, capsys, args, match):
    assert_user_error(capsys, "export", xor_run, *[a.format(tmp=tmp_path) for a in args],
                      match=match)  # fmt: skip
    assert not [p for p in tmp_path.iterdir() if p.is_file()]


@pytest.mark.parametrize(
    "source, target",
    [
        ("model/model.json", "model/model.safetensors"),
        ("model/model.safetensors", "model/model.json"),
        ("checkpoints", "checkpoints/epoch-000003/model.safetensors"),  # the epoch it reads
    ],
)
def test_export_refuses_to_write_over_the_model_it_reads(xor_run, capsys, source, target):
    """The guard protects the files load_model reads: a model file's folder, a checkpoints/
    folder's latest epoch (a guard on the path as given let these through, model destroyed)."""
    before = (xor_run / target).read_bytes()
    match = f"is the model's {target.rsplit('/')[-1]}"
    if "epoch-" in target:  # a checkpoint's file, refused as any file inside a checkpoint
        match = "is inside the checkpoint"
    for format in ("onnx", "torch"):
        assert_user_error(capsys, "export", xor_run / source, "--format", format, "--out",
                          xor_run / target, match=match)  # fmt: skip
    assert (xor_run / target).read_bytes() == before


def test_export_names_the_model_file_of_a_loss_it_cannot_rebuild(xor_run, tmp_path, capsys):
    import json
    import shutil

    model = shutil.copytree(xor_run / "model", tmp_path / "m")
    info = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({**info, "loss": "nope"}))
    for fmt, name in (("onnx", "m.onnx"), ("torch", "m.safetensors")):
        # torch wrote its file and said "wrote" before it failed on the loss
        out = tmp_path / name
        refused = f"{model}: cannot rebuild the loss (unknown loss 'nope'"
        assert_user_error(capsys, "export", model, "--format", fmt, "--out", out, match=refused)
        assert not out.exists()


def test_export_of_a_missing_run_is_one_line(tmp_path, capsys):
    assert_user_error(capsys, "export", tmp_path / "nope", "--format", "onnx", "--out",
                      tmp_path / "m.onnx", match="no such model directory")  # fmt: skip


def test_explain_torch_model_mistakes(tmp_path, capsys, xor_run):
    from safetensors.numpy import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"0.weight": np.ones((3, 2), np.float32), "0.bias": np.zeros(3, np.float32)}, plain)
    assert_user_error(capsys, "explain", "--torch-model", plain, "--input", "1,0", "--target",
                      "1,0,0", match="--arch")  # fmt: skip
    assert_user_error(capsys, "explain", "--torch-model", plain, "--arch", "2,4", "--input",
                      "1,0", "--target", "1,0,0", match="Linear(2, 4)")  # fmt: skip
    assert_user_error(capsys, "explain", "--torch-model", plain, "--model", xor_run,
                      "--input", "1,0", "--target", "1", match="not both")  # fmt: skip


def test_explain_torch_model_names_the_input_width_as_for_a_model(tmp_path, capsys):
    """A --torch-model's --input of the wrong width is refused as --model's is, naming
    --input and the width the first layer takes (it began with the file's name, in the
    explainer's words of shapes)."""
    from safetensors.numpy import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"0.weight": np.ones((2, 3), np.float32), "0.bias": np.zeros(2, np.float32)}, plain)
    line = assert_user_error(capsys, "explain", "--torch-model", plain, "--arch", "3,2",
                             "--input", "1,0", "--target", "1,0", match="--input")  # fmt: skip
    assert line == f"chainrule: --input: 2 values per case but model {plain} takes 3"


def test_explain_torch_model_without_arch_suggests_the_files_own_sizes(tmp_path, capsys):
    """The refusal of a state dict with no recorded architecture gave "e.g. 4,3,2" whatever the
    file held: it gives the sizes its weights chain into, and the suggestion then runs."""
    from safetensors.numpy import save_file

    path = tmp_path / "net.safetensors"
    rng = np.random.default_rng(0)
    save_file({"0.weight": rng.normal(size=(2, 3)).astype(np.float32),
               "0.bias": np.zeros(2, np.float32),
               "2.weight": rng.normal(size=(1, 2)).astype(np.float32),
               "2.bias": np.zeros(1, np.float32)}, path)  # fmt: skip
    line = assert_user_error(capsys, "explain", "--torch-model", path, "--input", "1,0,1",
                             "--target", "1", match="--arch")  # fmt: skip
    assert line.endswith("here 3,2,1 (logistic units between the layers by default; 3,2,relu,1 "
                         "names them)")  # fmt: skip
    for arch in ("3,2,1", "3,2,relu,1"):
        code, _, _ = run(capsys, "explain", "--torch-model", path, "--arch", arch, "--input",
                         "1,0,1", "--target", "1", "--no-symbolic")  # fmt: skip
        assert code == 0


@pytest.mark.parametrize(
    "architecture, arch, match",
    [
        ("[" * 100_000 + "]" * 100_000, None, "nested too deeply"),
        ("nested", None, "a Linear inside layer '0': a PyTorch state dict"),
        ('{"type": "Sequential", "layers": [{"type": "Linear", "n_in": 30000, "n_out": 30000}]}',
         None, "but the architecture has Linear(30000, 30000) there"),
        (None, "4,30000", "but the architecture has Linear(4, 30000) there"),
        (None, "-4,3", "'-4' is not a layer size"),
    ],
    ids=["deep-json", "400-sequentials", "huge-recorded", "huge-arch", "negative-arch"],
)  # fmt: skip
def test_explain_torch_model_crafted_files_are_one_line(tmp_path, capsys, architecture, arch,
                                                        match):  # fmt: skip
    """A file's recorded architecture (deep JSON, 400 nested Sequentials, a huge layer) or a
    typed --arch is checked against the weights before anything is built: one line, at once."""
    import json

    from safetensors.numpy import save_file

    if architecture == "nested":
        nested = {"type": "Linear", "n_in": 4, "n_out": 3}
        for _ in range(400):
            nested = {"type": "Sequential", "layers": [nested]}
        architecture = json.dumps(nested)
    metadata = {"format": "pt", "weight_layout": "torch"}
    if architecture is not None:
        metadata["chainrule_architecture"] = architecture
    path = tmp_path / "crafted.safetensors"
    save_file({"0.weight": np.ones((3, 4), np.float32), "0.bias": np.ones(3, np.float32)}, path,
              metadata=metadata)  # fmt: skip
    assert_user_error(capsys, "explain", "--torch-model", path, *(["--arch", arch] if arch else []),
                      "--input", "1,0,0,1", "--target", "1,0,0", match=match)  # fmt: skip


def test_explain_torch_model_refuses_a_file_of_named_layers(tmp_path, capsys):
    """A safetensors file keeps no layer order: names that do not say it are refused, not sorted
    as text (which loaded 'hidden' into the first layer)."""
    from safetensors.numpy import save_file

    path = tmp_path / "named.safetensors"
    layers = ("input", "hidden", "output")
    save_file({f"{name}.{leaf}": np.ones((4, 4) if leaf == "weight" else 4, np.float32)
               for name in layers for leaf in ("weight", "bias")}, path)  # fmt: skip
    assert_user_error(capsys, "explain", "--torch-model", path, "--arch", "4,4,4,4", "--input",
                      "1,0,0,1", "--target", "1,0,0,0", match="do not say their order")  # fmt: skip
