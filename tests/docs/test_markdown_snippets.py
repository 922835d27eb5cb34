"""Every code block of README.md and docs/*.md runs here, or says why it does not.

A ```python block runs: the blocks of one file in order, in one namespace (as a reader types them
into one session), in an empty temporary directory. Any other block (shell commands, outputs,
file layouts, JSON formats), or a Python block that cannot run here, carries a marker on the line
right above its fence, an HTML comment that neither GitHub nor the site shows:

    <!-- docs-test: not run (the reason) -->       the block is not run, for the reason given
    <!-- docs-test: xfail (the reason) -->         it runs and is expected to fail, for now
    <!-- docs-test: setup
    X = ...                                        Python run just before the block, unseen by
    -->                                            the reader (the data a fragment assumes)

A block without a marker that is not Python fails the test that names its file and line, so no
snippet can silently rot.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
MARKER = re.compile(r"<!--\s*docs-test:\s*(not run|xfail|setup)\b(.*?)-->", re.S)


@dataclass
class Block:
    """One fenced code block and the marker above it."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None = None  # "not run", "xfail", "setup" or None
    note: str = ""  # the reason, or the setup code

    @property
    def where(self) -> str:
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path.name
        return f"{path}:{self.line}"


def parse(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, each with the marker comment right above it."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = [line[len(indent) :] for line in lines[i + 1 : end]]
        block = Block(path, i + 1, lang.lower(), "\n".join(body) + "\n")
        before = "\n".join(lines[:i]).rstrip()
        if before.endswith("-->"):
            start = before.rfind("<!--")
            found = MARKER.fullmatch(before[start:])
            if found:
                block.marker, block.note = found.group(1), found.group(2).strip()
        blocks.append(block)
        i = end + 1
    return blocks


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_every_block_runs_or_says_why_not(path):
    unmarked = [
        b.where
        for b in parse(path)
        if b.lang not in ("python", "py") and b.marker not in ("not run", "xfail")
    ]
    assert not unmarked, (
        f"code blocks that are neither Python nor marked: {unmarked}; put "
        "'<!-- docs-test: not run (why) -->' on the line above the fence, or make it Python"
    )
    for b in parse(path):
        if b.marker in ("not run", "xfail"):
            assert re.fullmatch(r"\(.+\)", b.note, re.S), f"{b.where}: the marker needs (a reason)"


PYTHON_FILES = [p for p in FILES if any(b.lang in ("python", "py") for b in parse(p))]

#: What a block needs beyond the test-light extra, read off its code: where one is missing
#: (``pip install -e '.[test-light]'``), the page's remaining blocks are skipped, naming it;
#: the test extra has them all.
OPTIONAL_NEEDS = {
    "torch": r"\bimport[^\n]*\btorch\b|\btorch\.",
    "onnx": r"\bto_onnx\b|\bsaved_to_onnx\b",
    "onnxruntime": r"\bonnxruntime\b",
    "anywidget": r"\bcr\.explorer\(",
}


def _missing_needs(code: str) -> list[str]:
    import importlib.util

    return [
        module
        for module, pattern in OPTIONAL_NEEDS.items()
        if re.search(pattern, code) and importlib.util.find_spec(module) is None
    ]


@pytest.mark.parametrize("path", PYTHON_FILES, ids=_ids(PYTHON_FILES))
def test_python_blocks_run(path, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib").use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    expected_failures = []
    for b in parse(path):
        if b.lang not in ("python", "py") or b.marker == "not run":
            continue
        missing = _missing_needs(b.code + (b.note if b.marker == "setup" else ""))
        if missing:
            pytest.skip(f"{b.where} and the blocks after it need {', '.join(missing)} (not "
                        "installed; the test extra has them)")  # fmt: skip
        if b.marker == "setup":
            exec(compile(b.note, f"{b.where} (setup)", "exec"), namespace)
        code = compile(b.code, b.where, "exec")
        if b.marker == "xfail":
            try:
                exec(code, namespace)
            except Exception as error:  # noqa: BLE001 - any failure is the one expected
                expected_failures.append(f"{b.where}: {b.note}: {type(error).__name__}: {error}")
                continue
            pytest.fail(f"{b.where} is marked xfail {b.note} but runs now: remove the marker")
        exec(code, namespace)
    if expected_failures:
        pytest.xfail("; ".join(expected_failures))


def test_the_parser_sees_markers_and_blocks(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n<!-- docs-test: not run (needs a GPU) -->\n```bash\nnvidia-smi\n```\n\n"
        "<!-- docs-test: setup\nX = 1\n-->\n```python\nprint(X)\n```\n\n```\nplain\n```\n"
    )
    blocks = parse(page)
    assert [(b.line, b.lang, b.marker) for b in blocks] == [
        (4, "bash", "not run"),
        (11, "python", "setup"),
        (15, "", None),
    ]
    assert blocks[0].note == "(needs a GPU)" and blocks[1].note == "X = 1"
    assert blocks[1].code == "print(X)\n"


def test_the_site_index_shows_the_readme_commands():
    """The getting-started page repeats the README's two commands: they must not drift apart."""
    readme = next(b for b in parse(ROOT / "README.md") if b.lang == "bash")
    index = next(b for b in parse(ROOT / "docs" / "index.md") if b.lang == "bash")
    assert index.code == readme.code


if os.environ.get("CHAINRULE_DOCS_LIST"):  # a debugging aid: list every block and its marker
    for _path in FILES:
        for _b in parse(_path):
            print(_b.where, _b.lang or "-", _b.marker or "-")


def _commands_in(block: Block) -> list[list[str]]:
    """The ``chainrule ...`` commands of a shell block, each as its words as a shell splits them
    (quotes removed, comments dropped, ``&&`` and ``;`` between commands)."""
    commands = []
    for line in block.code.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words_of_line = list(lexer)
        segments, current = [], []
        for word in words_of_line:
            if word in ("&&", ";", "||", "|"):
                segments.append(current)
                current = []
            else:
                current.append(word)
        for words in [*segments, current]:
            if words[:1] in (["mpiexec"], ["mpirun"], ["srun"]) and "chainrule" in words:
                words = words[words.index("chainrule") :]  # the command a launcher starts
            if words[:1] == ["chainrule"]:
                commands.append(words)
    return commands


SHELL_BLOCKS = [
    b for p in FILES for b in parse(p) if b.lang in ("bash", "sh", "console") and _commands_in(b)
]


def _unknown_commands_and_options(block: Block) -> list[str]:
    """What the block's ``chainrule`` commands name that the command line does not have."""
    import typer

    from chainrule import cli

    cli._register_commands()  # what `chainrule` does first: each command module registers itself
    root = typer.main.get_command(cli.app)

    def options(command) -> set[str]:
        return {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}

    problems = []
    for words in _commands_in(block):
        command, name = root, ""
        if len(words) > 1 and not words[1].startswith("-"):
            name = words[1]
            if name not in root.commands:
                problems.append(f"{block.where}: no command 'chainrule {name}'")
                continue
            command = root.commands[name]
        for word in words[1:]:
            option = word.split("=", 1)[0]
            if option.startswith("--") and option not in options(command):
                problems.append(f"{block.where}: 'chainrule {name}' has no option {option}")
    return problems


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=[b.where for b in SHELL_BLOCKS])
def test_documented_commands_and_options_exist(block):
    """A shell block that is not run still may not name a command or option chainrule lacks."""
    pytest.importorskip("typer")
    assert _unknown_commands_and_options(block) == []


def test_the_command_check_sees_a_wrong_option(tmp_path):
    pytest.importorskip("typer")
    page = tmp_path / "page.md"
    page.write_text("```bash\nchainrule train --epochs 3 --epoch 3\nchainrule trian\n```\n")
    problems = _unknown_commands_and_options(parse(page)[0])
    assert len(problems) == 2
    assert "has no option --epoch" in problems[0] and "no command 'chainrule trian'" in problems[1]


# -- the pages a newcomer follows first: every command in them runs as written ------------------

RUN_PAGES = ["training.md", "explain.md", "web.md"]


def _page_commands(name: str) -> list[list[str]]:
    blocks = parse(ROOT / "docs" / name)
    return [
        words for b in blocks if b.lang in ("bash", "sh", "console") for words in _commands_in(b)
    ]


def _quiz_answer(seed: int) -> str:
    """What a student who got exercise ``seed`` right types (to 6 significant digits)."""
    from chainrule.explainer.quiz import check_answer, make_quiz

    return f"{check_answer(make_quiz(seed), '0').expected:.6g}"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """An empty directory with the files the pages' commands name (x.csv, rows.csv, more.csv:
    digits rows; m/: a saved 3-2-2 model), as the current directory; ``chainrule serve`` runs up
    to where uvicorn would start, and a browser records what it is asked to open."""
    import numpy as np

    from chainrule import io as model_io
    from chainrule import nn
    from chainrule.data import digits

    ds = digits()
    np.savetxt(tmp_path / "x.csv", ds.X[:1], delimiter=",", fmt="%g")
    np.savetxt(tmp_path / "rows.csv", ds.X[:5], delimiter=",", fmt="%g")
    np.savetxt(tmp_path / "more.csv", np.column_stack([ds.X[:40], ds.y[:40]]), delimiter=",",
               fmt="%g")  # fmt: skip
    model = nn.mlp([3, 2, 2], output="logistic", dtype=np.float64, rng=0)
    model_io.save_model(tmp_path / "m", model, loss=nn.SquaredError())
    monkeypatch.chdir(tmp_path)

    uvicorn = pytest.importorskip("uvicorn")
    import webbrowser

    from chainrule.cli import serve

    served, opened = [], []

    class Browser:
        def open(self, url, *args, **kwargs):
            opened.append(url)
            return True

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(kwargs))
    monkeypatch.setattr(serve, "_check_port_free", lambda host, port: None)  # 8000 may be taken
    monkeypatch.setattr(webbrowser, "get", lambda *args: Browser())

    class Now:  # --open's timer, without the wait
        def __init__(self, delay, function, args=()):
            self.function, self.args = function, args

        def start(self):
            self.function(*self.args)

    monkeypatch.setattr(serve.threading, "Timer", Now)
    return {"path": tmp_path, "served": served, "opened": opened}


def _run_commands(commands, capsys, monkeypatch):
    from chainrule.cli import main

    for words in commands:
        if words[1] == "quiz" and "--answer" not in words:  # a typo first: it asks again
            monkeypatch.setattr("sys.stdin", io.StringIO(f"abc\n{_quiz_answer(7)}\n"))
        code = main(words[1:])
        captured = capsys.readouterr()
        assert code == 0, f"{shlex.join(words)} exited {code}: {captured.err[-2000:]}"


@pytest.mark.parametrize("page", RUN_PAGES)
def test_the_pages_commands_run_as_written(page, workspace, capsys, monkeypatch, trained_run):
    """Each ``chainrule`` command of the page, as written, in a directory holding the files it
    names; ``runs/digits`` and ``runs/family-trees`` are one-epoch runs here (the slow test
    below trains as written)."""
    for run in ("digits", "family-trees"):
        shutil.copytree(trained_run(run), workspace["path"] / "runs" / run)
    commands = [words for words in _page_commands(page) if words[1] != "train"]
    assert commands or page == "training.md"
    _run_commands(commands, capsys, monkeypatch)
    if page == "web.md":
        assert [call["port"] for call in workspace["served"]] == [8000, 8080, 8000, 8000]
        assert workspace["opened"] == ["http://127.0.0.1:8080/"]


@pytest.mark.slow
def test_the_training_pages_commands_run_as_written_trainings_included(
    workspace, capsys, monkeypatch
):
    commands = _page_commands("training.md")
    assert sum(words[1] == "train" for words in commands) == 5
    _run_commands(commands, capsys, monkeypatch)
    assert (workspace["path"] / "runs" / "parity" / "run.json").is_file()
