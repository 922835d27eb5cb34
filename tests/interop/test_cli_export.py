"""``chainrule export`` and ``chainrule explain --torch-model``: what they write, and one-line
errors (exit 2) for a user's mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import io
from chainrule.cli import main
from chainrule.interop import load_torch


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(capsys, *args, match):
    code, _, err = run(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("chainrule: "), err
    assert match in lines[0], lines[0]


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
    arrays = io.read_arrays(out)
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
    assert_user_error(capsys, "explain", "--torch-model", xor_run / "model" / "model.safetensors",
                      "--arch", "2,3,1", "--input", "1,0", "--target", "1",
                      match="chainrule's (n_in, n_out) layout")  # fmt: skip


@pytest.mark.parametrize(
    "args, match",
    [
        (["--format", "tf", "--out", "{tmp}/x"], "--format 'tf': use one of onnx, torch"),
        (["--format", "onnx", "--out", "{tmp}"], "is a directory"),
        (["--format", "onnx", "--out", "{tmp}/no/such/dir/m.onnx"], "cannot write"),
        (["--format", "torch"], "Missing option '--out'"),
    ],
)
def test_export_mistakes_are_one_line(xor_run, tmp_path, capsys, args, match):
    assert_user_error(capsys, "export", xor_run, *[a.format(tmp=tmp_path) for a in args],
                      match=match)  # fmt: skip


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
    assert_user_error(capsys, "export", model, "--format", "onnx", "--out", tmp_path / "m.onnx",
                      match=f"{model}: cannot rebuild the loss (unknown loss 'nope'")  # fmt: skip


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
