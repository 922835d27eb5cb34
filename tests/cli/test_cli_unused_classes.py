"""`chainrule train` notes class numbers that never occur among the labels (0 and 5, or labels
numbered from 1): each gets an output unit of the model, so the run is not what it looks like.
The oracle is the model the run saves: its number of output units."""

from __future__ import annotations

import numpy as np
import pytest
from cli_run import run

from chainrule import io, nn


def _write(path, labels):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(len(labels), 2))
    lines = ["a,b,label"] + [f"{x:.4f},{y:.4f},{c}" for (x, y), c in zip(X, labels)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _outputs(run_dir):
    model, _ = io.load_model(run_dir / "model")
    return [layer for layer in model if isinstance(layer, nn.Linear)][-1].weight.shape[1]


@pytest.mark.parametrize(
    ("labels", "said"),
    [([0, 5] * 20, "classes 1, 2, 3, 4 never occur"), ([1, 2] * 20, "class 0 never occurs")],
)
def test_classes_that_never_occur_are_noted(tmp_path, capsys, labels, said):
    data = _write(tmp_path / "g.csv", labels)
    code, _, err = run(
        capsys, "train", "--data", data, "--epochs", 1, "-q", "--out", tmp_path / "r"
    )
    assert code == 0, err
    n = max(labels) + 1
    assert _outputs(tmp_path / "r") == n  # the note's claim, from the saved model
    note = [line for line in err.splitlines() if line.startswith("note: ")]
    assert len(note) == 1 and said in note[0], err
    assert f"the model gets {n} output units" in note[0]
    assert "which hold 2 classes" in note[0]
    # a CSV's whole-number measurements read as classes too: the note names the other reading
    assert "--task regression" in note[0]


def test_an_idx_run_is_not_told_of_task_regression(tmp_path, capsys):
    """--task is a CSV file's option: an IDX directory's note leaves it out."""
    from chainrule import data as cr_data

    rng = np.random.default_rng(0)
    folder = tmp_path / "idx"
    folder.mkdir()
    cr_data.write_idx(
        folder / "train-images-idx3-ubyte", rng.integers(0, 256, (40, 2, 2), np.uint8)
    )
    cr_data.write_idx(folder / "train-labels-idx1-ubyte", np.array([0, 5] * 20, np.uint8))
    code, _, err = run(
        capsys, "train", "--data", folder, "--epochs", 1, "-q", "--out", tmp_path / "r"
    )
    assert code == 0, err
    note = [line for line in err.splitlines() if line.startswith("note: ")]
    assert len(note) == 1 and "never occur" in note[0] and "--task" not in note[0], err


def test_every_class_present_gives_no_note(tmp_path, capsys):
    data = _write(tmp_path / "g.csv", [0, 1, 2] * 10)
    code, _, err = run(
        capsys, "train", "--data", data, "--epochs", 1, "-q", "--out", tmp_path / "r"
    )
    assert code == 0, err
    assert "never occur" not in err
