"""Running the ``chainrule`` command in-process, for the tests of this folder."""

from __future__ import annotations

from chainrule.cli import main


def run(capsys, *args):
    """``chainrule ARGS...``: the exit code, stdout and stderr."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(capsys, *args, match: str) -> str:
    """A user's mistake: exit 2 and one line on stderr, ``chainrule: ...`` holding ``match``,
    never a traceback. Returns the line."""
    code, _, err = run(capsys, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: "), err
    assert "Traceback" not in err
    assert match in lines[0], lines[0]
    return lines[0]


def small_table(path, seed: int):
    """A CSV file of 40 cases at ``path``: columns a, b, c, scaled and shifted apart (so the
    run's standardizer has work), and a label of 3 classes. Returns the path."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3)) * [3.0, 0.5, 2.0] + [10.0, -1.0, 4.0]
    labels = rng.integers(0, 3, 40)
    lines = ["a,b,c,label"] + [
        ",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(X, labels)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def train_small(out, data, *options):
    """``chainrule train`` of 4 hidden units for 2 epochs on ``data``, quietly, into ``out``."""
    args = ["train", "--data", data, "--hidden", "4", "--epochs", "2", *options, "--out", out]
    assert main([str(a) for a in [*args, "-q"]]) == 0
    return out
