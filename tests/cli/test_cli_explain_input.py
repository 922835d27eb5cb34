"""``chainrule explain`` and ``chainrule graph``: the user's --input, --target and --loss are read,
checked and used, and a mistake in them is one line (exit 2), never a traceback."""

from __future__ import annotations

import pytest

from chainrule.cli import main


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(capsys, *args, match: str) -> str:
    code, _, err = run(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("chainrule: "), err
    assert match in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """A standardised 4-input run (CSV) and a BCE run (symmetry), each trained briefly."""
    root = tmp_path_factory.mktemp("explain")
    rows = [f"{k % 3},{k % 5},{k % 7},{k % 2},{k % 2}" for k in range(30)]
    (root / "four.csv").write_text("\n".join(rows) + "\n")
    for args in (["--data", root / "four.csv", "--hidden", "3"], ["--data", "symmetry"]):
        out = root / ("four" if "--hidden" in args else "sym")
        assert main(["train", *map(str, args), "--epochs", "1", "--out", str(out), "-q"]) == 0
    return root


def test_a_json_object_is_not_numbers(tmp_path, capsys):
    (tmp_path / "d.json").write_text('{"x": [1, 2]}')
    for given in (tmp_path / "d.json", '{"x": [1, 2]}'):
        assert_user_error(capsys, "explain", "--input", given, "--target", "1", match="not numbers")


def test_an_empty_input_is_named_as_empty(capsys):
    assert_user_error(capsys, "explain", "--input", "", "--target", "1",
                      match="--input is empty")  # fmt: skip


def test_a_bce_target_outside_0_1_is_one_line(runs_dir, capsys):
    assert_user_error(capsys, "explain", "--model", runs_dir / "sym", "--input", "1,0,1,0,1,0",
                      "--target", "2", match="targets must lie in [0, 1]")  # fmt: skip


def test_an_input_of_the_wrong_width_names_the_option_and_the_model(runs_dir, capsys):
    model = runs_dir / "four"
    line = assert_user_error(capsys, "explain", "--model", model, "--input", "1,2,3",
                             "--target", "0", match="--input: 3 values per case")  # fmt: skip
    assert f"model {model} takes 4" in line


def test_loss_choices_are_the_ones_explain_writes_out(capsys):
    line = assert_user_error(capsys, "explain", "--loss", "bogus", match="--loss 'bogus'")
    assert "binary-cross-entropy" in line and "margin" not in line
    assert_user_error(capsys, "explain", "--loss", "margin-squared-error", match="--loss")


def test_graph_uses_input_and_target_without_a_model(tmp_path, capsys):
    assert_user_error(capsys, "graph", "--input", "1,2,3,4,5", "--target", "1", "--out",
                      tmp_path / "g.svg", match="expects 2 values per case")  # fmt: skip
    assert not (tmp_path / "g.svg").exists()
    code, seed, _ = run(capsys, "graph", "--format", "dot")
    assert code == 0
    code, mine, err = run(capsys, "graph", "--input", "0.25,0.75", "--target", "1,0,1",
                          "--format", "dot")  # fmt: skip
    assert code == 0, err
    assert mine != seed and "0.75" in mine


def test_graph_refuses_a_loss_it_would_not_use(tmp_path, capsys):
    assert_user_error(capsys, "graph", "--loss", "mse", "--out", tmp_path / "g.svg",
                      match="--loss: the seed's graph needs --input and --target")  # fmt: skip


def test_a_csv_of_labels_one_per_line_is_a_label_per_case(runs_dir, tmp_path, capsys):
    """A one-column file is a column of cases (one label each), not one case's row."""
    (tmp_path / "in.csv").write_text("1,2,3,0\n2,0,1,1\n")
    (tmp_path / "t.csv").write_text("0\n1\n")
    common = ["explain", "--model", runs_dir / "four", "--input", tmp_path / "in.csv"]
    code, from_file, err = run(capsys, *common, "--target", tmp_path / "t.csv", "--format", "json")
    assert code == 0, err
    _, typed, _ = run(capsys, *common, "--target", "0;1", "--format", "json")
    assert from_file == typed and '"n_cases": 2' in from_file
