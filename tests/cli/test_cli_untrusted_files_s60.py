"""A run directory from someone else (a student's upload) whose files are hostile: every
command that reads them exits 2 with one line naming the file, never a traceback, and never
fills the memory. model.json, trainer.json or a safetensors header holding an integer of 5,001
digits (int()'s ValueError escaped), ``weight_layout: ["chainrule"]`` (a TypeError in the layout
check), a history record whose loss is "x" (plot_history's ValueError, after the resumed run
had trained), a model.json that is /dev/zero (read without end: out of memory) or past the
JSON cap, and a model.safetensors with 200 MB of sparse bytes past its data (read whole
before it was refused)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest
from cli_run import assert_user_error

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from io_file_edits import edit_header, replace_once  # noqa: E402

from chainrule import io
from chainrule.cli import main

#: An integer of more digits than Python's int() converts from text (4300 by default).
HUGE = "1" + "0" * 5000
DIGITS = "integer of more than 4300 digits"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A trained XOR run (its model, checkpoints, run.json) and an input file for it."""
    root = tmp_path_factory.mktemp("good")
    assert main(["train", "--data", "xor", "--epochs", "4", "--out", str(root / "xor"), "-q"]) == 0
    (root / "in.csv").write_text("1,0\n")
    return root


@pytest.fixture
def run(good, tmp_path) -> Path:
    """A copy of the good run, to spoil."""
    return Path(shutil.copytree(good / "xor", tmp_path / "run"))


def latest(run: Path) -> Path:
    return sorted((run / "checkpoints").glob("epoch-*"))[-1]


def model_commands(run: Path, good: Path) -> list[list]:
    """The commands that read a run's model: predict, explain --model, serve --model (on a
    host that cannot be bound, so that a model wrongly taken ends there, not in a server)."""
    return [
        ["predict", run, "-i", good / "in.csv"],
        ["explain", "--model", run, "--input", "1,0", "--target", "1"],
        ["serve", "--model", run, "--host", "256.0.0.1"],
    ]


def test_a_model_json_version_of_5001_digits(run, good, capsys):
    model_json = run / "model" / "model.json"
    replace_once(model_json, f'"version": {io.FORMAT_VERSION}', f'"version": {HUGE}')
    for command in model_commands(run, good):
        line = assert_user_error(capsys, *command, match=f"{model_json}: it holds an {DIGITS}")
        assert len(line) < 300


def test_a_safetensors_shape_of_5001_digits(run, good, capsys):
    weights = run / "model" / "model.safetensors"
    edit_header(weights, lambda text: text.replace('"shape":[3]', f'"shape":[{HUGE}]', 1))
    for command in model_commands(run, good):
        assert_user_error(capsys, *command, match=f"{weights}: its header holds an {DIGITS}")


def test_a_trainer_json_epoch_of_5001_digits(run, capsys):
    trainer_json = latest(run) / "trainer.json"
    replace_once(trainer_json, '"epoch": 4', f'"epoch": {HUGE}')
    assert_user_error(
        capsys, "train", "--resume", run, "--epochs", "8",
        match=f"{trainer_json}: it holds an {DIGITS}",
    )  # fmt: skip


def test_a_weight_layout_that_is_a_list(run, good, capsys):
    weights = run / "model" / "model.safetensors"

    def edit(text):
        header = json.loads(text)
        header["__metadata__"]["weight_layout"] = ["chainrule"]
        return json.dumps(header)

    edit_header(weights, edit)
    for command in model_commands(run, good):
        assert_user_error(
            capsys, *command, match=f"{weights}: metadata 'weight_layout' is a list, not a string"
        )


@pytest.mark.parametrize(("field", "value"), [("loss", "x"), ("val_accuracy", [0.5])])
def test_a_history_record_that_is_not_a_number_is_refused_before_training(
    run, capsys, field, value
):
    trainer_json = latest(run) / "trainer.json"
    state = json.loads(trainer_json.read_text())
    state["history"][0][field] = value
    trainer_json.write_text(json.dumps(state))
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert_user_error(
        capsys, "train", "--resume", run, "--epochs", "8",
        match=f"{trainer_json}: field 'history[0].{field}': Input should be a valid number",
    )  # fmt: skip
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before  # nothing trained


def test_a_model_json_past_the_json_cap(run, good, capsys, monkeypatch):
    model_json = run / "model" / "model.json"
    monkeypatch.setattr(io, "MAX_JSON_BYTES", model_json.stat().st_size - 1)
    for command in model_commands(run, good):
        assert_user_error(capsys, *command, match=f"{model_json}: larger than ")


def test_a_sparse_weights_file_is_refused_before_its_data_is_read(run, good, capsys):
    weights = run / "model" / "model.safetensors"
    command = model_commands(run, good)[0]
    assert main([str(a) for a in command]) == 0  # the command's modules are imported untraced
    capsys.readouterr()
    os.truncate(weights, weights.stat().st_size + 200 * 2**20)
    tracemalloc.start()
    try:
        line = assert_user_error(capsys, *command, match=f"{weights}: truncated or not a ")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert line.endswith("file not fully covered)")
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.0f} MiB"


#: Runs commands in a child whose address space is capped a GiB past what it holds after its
#: imports: a file read without end (/dev/zero) ends there in a MemoryError, not in the
#: machine's memory. Each line of its stdout: a command's exit code and its stderr.
CHILD = textwrap.dedent(
    """
    import contextlib, io, json, resource, sys
    from chainrule.cli import main
    commands = json.loads(sys.argv[1])
    main(commands[0])  # a good run first: what the commands import, imported
    pages = int(open("/proc/self/statm").read().split()[0])
    cap = pages * resource.getpagesize() + 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    for command in commands[1:]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(command)
        print(json.dumps([code, err.getvalue()]))
    """
)


@pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.path.exists("/dev/zero")),
    reason="needs Linux's /dev/zero and /proc",
)
def test_a_model_json_or_trainer_json_that_is_dev_zero(good, tmp_path):
    zero_model, zero_state = (Path(shutil.copytree(good / "xor", tmp_path / n)) for n in "ab")
    model_json = zero_model / "model" / "model.json"
    trainer_json = latest(zero_state) / "trainer.json"
    for path in (model_json, trainer_json):
        path.unlink()
        path.symlink_to("/dev/zero")
    commands = [
        ["predict", str(good / "xor"), "-i", str(good / "in.csv"), "-o", str(tmp_path / "p.csv")],
        ["predict", str(zero_model), "-i", str(good / "in.csv")],
        ["train", "--resume", str(zero_state), "--epochs", "8"],
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(commands)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    results = [json.loads(line) for line in child.stdout.splitlines()[-2:]]
    for path, (code, err) in zip((model_json, trainer_json), results, strict=True):
        assert code == 2 and err.count("\n") == 1, err
        assert err == (
            f"chainrule: {path}: is a character device, not a JSON file (chainrule reads "
            "regular files only)\n"
        )
