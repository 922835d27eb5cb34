"""The command line's consistency (a CLI usability review, Q3 findings 2, 4-9).

- Every choice option takes its value in any case (``--optimizer Adam`` was refused where
  ``--activation ReLU`` was taken) and refuses an unknown one in one wording that names the
  choices in the order its help lists them (three wordings before, one list in another order).
- ``-h`` is ``--help`` on every command ("No such option: -h").
- ``explain RUN``, ``graph RUN``, ``serve RUN``: one line saying to give it as ``--model RUN``
  (it was "Got unexpected extra argument").
- A value outside [0, 1] for a model of images is named by its file line in evaluate and
  explain, as predict and the parse errors name it (they said "row 3" of the line-4 case).
- The help: the classic problems' defaults, every suffix explain takes, placeholders that are
  words (no ``<str>``, ``<int range>``, ``<list[str]>``), serve --case's range as explain's,
  quiz's exit codes.
- A JSON object as --input: one line saying so, not Python's "float() argument must be ...".
- ``--optimizer`` without ``--lr`` trains at the dataset's rate, its own optimizer's: said.
"""

from __future__ import annotations

import json
import re

import pytest
from cli_run import assert_user_error, run

#: the commands of the command line
COMMANDS = ("train", "evaluate", "predict", "explain", "quiz", "graph", "serve", "export")


def _help(capsys, *command: str) -> str:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    return out


def _joined(text: str) -> str:
    """Wrapped lines joined into one ("squared-" / "error" too)."""
    return " ".join(re.sub(r"(?<=\w)-\n\s+", "-", text).split())


def _entry(text: str, option: str) -> str:
    """An option's entry in a help (its lines, joined): the entries start their lines with
    two spaces and a dash, their continued lines with more spaces."""
    entries = re.split(r"\n(?=  -)", text.split("\nOptions:\n", 1)[1])
    found = [entry for entry in entries if re.match(rf"  (-\w, )?{option}\b", entry)]
    assert len(found) == 1, (option, text)
    return _joined(found[0])


def _choices(line: str) -> list[str]:
    """The choices a refusal names, in its order."""
    assert "; choose one of " in line, line
    return line.split("; choose one of ")[1].split(", ")


def _in_order(entry: str, choices: list[str]) -> bool:
    """Whether ``entry`` names each choice as a word, in this order."""
    at = [re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", entry) for c in choices]
    return all(at) and [m.start() for m in at] == sorted(m.start() for m in at)


# -- finding 4: one rule for every choice option ---------------------------------------------


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("usability") / "xor"
    assert run_quietly("train", "--data", "xor", "--epochs", "2", "-q", "--out", out) == 0
    return out


def run_quietly(*args) -> int:
    import contextlib
    import io

    from chainrule.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main([str(a) for a in args])


def test_train_takes_every_choice_in_any_case_and_records_its_own_spelling(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--data", "XOR", "--optimizer", "Momentum", "--dtype",
                       "Float64", "--schedule", "Cosine", "--activation", "ReLU", "--loss", "MSE",
                       "--epochs", 2, "-q", "--out", out)  # fmt: skip
    assert code == 0, err
    config = json.loads((out / "run.json").read_text())["config"]
    assert (config["optimizer"], config["dtype"], config["schedule"]) == (
        "momentum",
        "float64",
        "cosine",
    )
    assert (config["activation"], config["loss"]) == ("relu", "mse")


def test_a_csv_files_task_is_taken_in_any_case(tmp_path, capsys):
    data = tmp_path / "r.csv"
    data.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i * 0.5}\n" for i in range(30)))
    code, _, err = run(capsys, "train", "--data", data, "--task", "Regression", "--epochs", 1,
                       "-q", "--out", tmp_path / "run")  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "run.json").read_text())["config"]["task"] == "regression"


def test_explain_quiz_and_graph_take_their_choices_in_any_case(tmp_path, capsys):
    code, out, err = run(capsys, "explain", "--format", "JSON", "--notation", "RHW", "--bug",
                         "Assign", "--no-symbolic", "--no-perturbation")  # fmt: skip
    assert code in (0, 1), err  # 1: the bug's wrong gradients fail their check, as they must
    derivation = json.loads(out)
    assert (derivation["notation"], derivation["bug"]["name"]) == ("rhw", "assign")
    code, _, err = run(capsys, "graph", "--kind", "Network", "--format", "SVG", "--out",
                       tmp_path / "n.svg")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "n.svg").read_text().lstrip().startswith(("<svg", "<?xml"))
    code, out, err = run(capsys, "quiz", "--kind", "DW", "--seed", 3, "--answer", "0")
    assert code in (0, 1), err
    assert "dE/dw" in out


def test_export_takes_its_format_in_any_case(xor_run, tmp_path, capsys):
    pytest.importorskip("onnx")
    code, _, err = run(capsys, "export", xor_run, "--format", "ONNX", "--out", tmp_path / "m.onnx")
    assert code == 0, err
    assert (tmp_path / "m.onnx").stat().st_size > 0


#: (command and arguments before the option, the option, its help's command): each choice
#: option, given a value that is none of its choices
REFUSED = [
    (["explain"], "--format", "explain"),
    (["explain"], "--notation", "explain"),
    (["explain"], "--bug", "explain"),
    (["explain"], "--loss", "explain"),
    (["graph"], "--kind", "graph"),
    (["graph"], "--format", "graph"),
    (["quiz", "--answer", "1"], "--kind", "quiz"),
]


@pytest.mark.parametrize(("before", "option", "command"), REFUSED,
                         ids=[f"{c}{o}" for _, o, c in REFUSED])  # fmt: skip
def test_an_unknown_choice_is_refused_in_one_wording_in_the_helps_order(
    capsys, before, option, command
):
    line = assert_user_error(
        capsys,
        *before,
        option,
        "Nonesuch",
        match=f"chainrule: {option}: unknown value 'Nonesuch'; choose one of ",
    )
    choices = _choices(line)
    assert len(choices) >= 2
    entry = _entry(_help(capsys, command), option)
    assert _in_order(entry, choices), (choices, entry)


def test_trains_choices_are_refused_in_the_same_words_in_the_helps_order(capsys):
    """--loss and --optimizer named their registries' order, not their help's."""
    text = _help(capsys, "train")
    for option in ("--activation", "--task", "--loss", "--optimizer", "--schedule", "--dtype"):
        line = assert_user_error(
            capsys,
            "train",
            "--data",
            "xor",
            option,
            "Nonesuch",
            match=f"{option}: unknown value 'Nonesuch'; choose one of ",
        )
        assert _in_order(_entry(text, option), _choices(line)), (option, line)


def test_evaluate_and_export_refuse_in_the_same_words(xor_run, tmp_path, capsys):
    line = assert_user_error(
        capsys,
        "evaluate",
        xor_run,
        "--part",
        "t10k",
        match="--part: unknown value 't10k'; choose one of train, validation, test",
    )
    assert _in_order(_entry(_help(capsys, "evaluate"), "--part"), _choices(line))
    line = assert_user_error(
        capsys,
        "export",
        xor_run,
        "--format",
        "tf",
        "--out",
        tmp_path / "x",
        match="--format: unknown value 'tf'; choose one of ",
    )
    assert _in_order(_entry(_help(capsys, "export"), "--format"), _choices(line))


# -- finding 5: -h -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_h_is_help_on_every_command(capsys, command):
    words = [] if command is None else [command]
    code, short, _ = run(capsys, *words, "-h")
    assert code == 0
    assert short == run(capsys, *words, "--help")[1]
    assert "-h, --help" in short


# -- finding 6: the model given as an argument where --model names it --------------------------


@pytest.mark.parametrize("command", ["explain", "graph", "serve"])
def test_a_run_given_as_the_argument_is_told_to_be_given_as_model(xor_run, capsys, command):
    for given in (xor_run, xor_run / "model" / "model.json"):
        line = assert_user_error(capsys, command, given, match=f"give it as --model {given}")
        assert "unexpected extra argument" not in line
    # a word that names no model, and an --input file (review: any .json was told --model):
    # click's line, as before
    inputs = xor_run.parent / f"inputs-{command}.json"
    inputs.write_text("[[0, 1]]")
    for given in (xor_run / "no-such-run", inputs):
        assert_user_error(capsys, command, given, match="Got unexpected extra argument")


# -- finding 7: one way to name a cell ---------------------------------------------------------


def test_a_value_outside_the_images_range_is_named_by_its_line_in_every_command(
    trained_run, tmp_path, capsys
):
    """The third case of a file with a header is on line 4: predict said "line 4", evaluate
    and explain "row 3", as the parse errors say "line 4"."""
    digits = trained_run("digits")
    header = ",".join(f"p{k}" for k in range(64))
    rows = [[0.5] * 64 for _ in range(4)]
    rows[2][5] = 3
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("\n".join([f"{header},y", *(",".join(map(str, r)) + ",1" for r in rows)]))
    inputs = tmp_path / "inputs.csv"
    inputs.write_text("\n".join([header, *(",".join(map(str, r)) for r in rows)]))
    for args in (["evaluate", digits, "--data", labelled],
                 ["explain", "--model", digits, "--input", labelled],
                 ["predict", digits, "--input", inputs]):  # fmt: skip
        line = assert_user_error(
            capsys, *args, match=": line 4, column 6 ('p5'): 3 is outside [0, 1]"
        )
        assert "row 3" not in line


# -- finding 8: the help -----------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_no_help_shows_a_python_type_as_a_placeholder(capsys, command):
    text = _joined(_help(capsys, command))
    assert not re.search(r"<(str|int|float|Path|bool|list\[str\]|int range|float range)>", text)


def test_the_train_help_gives_every_classic_problems_defaults(capsys):
    from chainrule.train.runs import PRESETS

    text = _help(capsys, "train")
    for option, key in (("--hidden", "hidden"), ("--loss", "loss"), ("--optimizer", "optimizer"),
                        ("--lr", "lr"), ("--epochs", "epochs")):  # fmt: skip
        entry = _entry(text, option)
        for name, preset in PRESETS.items():
            if name == "digits":
                continue
            value = preset[key]
            shown = ",".join(map(str, value)) if isinstance(value, list) else f"{value:g}" \
                if isinstance(value, float) else str(value)  # fmt: skip
            # "3 for xor", "0.5 for xor, parity and encoder", "momentum for the classic problems"
            said = re.search(rf"(?<![\w.,-]){re.escape(shown)} for [^;\]]*\b{re.escape(name)}\b",
                             entry)  # fmt: skip
            assert said or f"{shown} for the classic problems" in entry, (option, name, entry)


def test_the_lr_help_says_the_default_does_not_follow_the_optimizer(capsys):
    entry = _entry(_help(capsys, "train"), "--lr")
    assert "rate measured for it" in entry and "give --lr" in entry


def test_explains_format_help_names_every_suffix_it_takes(capsys):
    from chainrule.cli.explain import EXPLAIN_FORMATS

    entry = _entry(_help(capsys, "explain"), "--format")
    for suffixes in EXPLAIN_FORMATS.values():
        for suffix in suffixes:
            assert re.search(rf"{re.escape(suffix)}(?![a-z])", entry), (suffix, entry)
    assert "any case" in entry and "none is text" in entry


def test_serves_case_shows_its_range_as_explains_and_graphs(capsys):
    shown = {command: _entry(_help(capsys, command), "--case") for command in
             ("explain", "graph", "serve")}  # fmt: skip
    assert all("x>=0" in entry for entry in shown.values()), shown
    assert all(entry.startswith("--case INTEGER ") for entry in shown.values()), shown


def test_quiz_help_gives_its_exit_codes_and_quiz_exits_so(capsys):
    text = _joined(_help(capsys, "quiz"))
    assert "Exit status 0 for a right answer, 1 for a wrong one, 2 for no answer" in text
    for answer, code in (("0", 1), ("x", 2)):
        assert run(capsys, "quiz", "--seed", 3, "--kind", "dy", "--answer", answer)[0] == code


# -- finding 9: a JSON object as --input -------------------------------------------------------


@pytest.mark.parametrize("given", ["file", "text"])
def test_a_json_object_as_input_says_so_in_one_line(tmp_path, capsys, given):
    path = tmp_path / "cases.json"
    path.write_text('{"x": [1, 0.5]}')
    value = path if given == "file" else path.read_text()
    line = assert_user_error(capsys, "explain", "--input", value, "--target", "1,0,0",
                             match="an object where a number belongs")  # fmt: skip
    assert "float()" not in line and "give a .csv, .json" not in line
    assert "[[0, 1], [1, 0]]" in line


def test_a_string_or_null_in_a_json_input_is_named(tmp_path, capsys):
    assert_user_error(capsys, "explain", "--input", '[1, "a"]', "--target", "1,0,0",
                      match="a string where a number belongs")  # fmt: skip
    assert_user_error(capsys, "explain", "--input", "[1, null]", "--target", "1,0,0",
                      match="null where a number belongs")  # fmt: skip


# -- finding 2: --optimizer without --lr -------------------------------------------------------


def test_another_optimizer_without_lr_is_told_whose_rate_it_trains_at(tmp_path, capsys):
    # digits has no measured rate for momentum: it trains at adam's 0.01, and says so
    code, _, err = run(capsys, "train", "--data", "digits", "--optimizer", "momentum",
                       "--epochs", 1, "-q", "--out", tmp_path / "a")  # fmt: skip
    assert code == 0, err
    note = [line for line in err.splitlines() if "--lr" in line]
    assert note == [
        "note: no --lr given: momentum trains at lr 0.01, the rate for digits with adam (none was "
        "measured for momentum), which may not suit momentum; give --lr"
    ]
    assert json.loads((tmp_path / "a" / "run.json").read_text())["config"]["lr"] == 0.01
    # none where the rate is given, is the dataset's own optimizer's, or was measured (xor)
    for k, args in enumerate([["--optimizer", "adam", "--lr", "0.05"], ["--optimizer", "momentum"],
                              ["--optimizer", "adam"], []]):  # fmt: skip
        code, _, err = run(capsys, "train", "--data", "xor", *args, "--epochs", 1, "-q", "--out",
                           tmp_path / f"r{k}")  # fmt: skip
        assert code == 0, err
        assert "no --lr given" not in err, args
