"""The signatures the guides write out in full match the code's: every parameter, in order, its
kind (a ``*`` before the keyword-only ones) and its default, compared with ``inspect.signature``.

Each page writes a signature once as inline code, ``Name(param, param=default, ...)``; SIGNATURES
lists them (a page's other mentions, calls such as ``EarlyStopping(restore_best=True)``, are
not signatures and are not checked)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from dotted_paths import resolve

ROOT = Path(__file__).resolve().parents[2]

#: (page under docs/, the object's dotted path, the name the page writes before the parenthesis)
SIGNATURES = [
    ("training.md", "chainrule.train.Trainer", "Trainer"),
    ("training.md", "chainrule.train.Trainer.fit", ".fit"),
    ("training.md", "chainrule.train.EarlyStopping", "EarlyStopping"),
    ("nn.md", "chainrule.nn.Module.register_buffer", "register_buffer"),
    ("nn.md", "chainrule.nn.Parameter", "Parameter"),
    ("nn.md", "chainrule.nn.Linear", "Linear"),
    ("nn.md", "chainrule.nn.Dropout", "Dropout"),
    ("nn.md", "chainrule.nn.Sequential", "Sequential"),
    ("nn.md", "chainrule.nn.mlp", "mlp"),
    ("nn.md", "chainrule.nn.SquaredError", "SquaredError"),
    ("nn.md", "chainrule.nn.MarginSquaredError", "MarginSquaredError"),
    ("nn.md", "chainrule.optim.SGD", "SGD"),
    ("nn.md", "chainrule.optim.RMSprop", "RMSprop"),
    ("nn.md", "chainrule.optim.Adam", "Adam"),
]

#: The names a documented default may use besides Python literals.
DEFAULT_NAMES = {"float32": np.float32, "float64": np.float64}


def documented_signature(text: str, name: str) -> str:
    """The parameter list of the signature ``name(...)`` the page writes as inline code: of the
    spans calling ``name``, the one with the most parameters (a call names fewer)."""
    found = [" ".join(p.split()) for p in re.findall(rf"`{re.escape(name)}\(([^`]*)\)`", text)]
    written = [params for params in found if _parses(params)]
    assert found, f"no signature `{name}(...)` on the page"
    assert written, f"`{name}({found[0]})` is no parameter list Python accepts (a default missing?)"
    return max(written, key=lambda params: len(parameters_written(params)))


def _parses(params: str) -> bool:
    try:
        ast.parse(f"def f({params}): pass")
    except SyntaxError:
        return False
    return True


def parameters_written(params: str) -> list[tuple[str, str, object]]:
    """(name, kind, default) of each parameter of a written parameter list."""
    args = ast.parse(f"def f({params}): pass").body[0].args
    written = []
    positional = args.posonlyargs + args.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(args.defaults)) + [
        eval(compile(ast.Expression(d), "<doc>", "eval"), dict(DEFAULT_NAMES))
        for d in args.defaults
    ]
    for arg, default in zip(positional, defaults):
        written.append((arg.arg, "POSITIONAL_OR_KEYWORD", default))
    if args.vararg:
        written.append((args.vararg.arg, "VAR_POSITIONAL", inspect.Parameter.empty))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        value = (
            inspect.Parameter.empty
            if default is None
            else eval(compile(ast.Expression(default), "<doc>", "eval"), dict(DEFAULT_NAMES))
        )
        written.append((arg.arg, "KEYWORD_ONLY", value))
    if args.kwarg:
        written.append((args.kwarg.arg, "VAR_KEYWORD", inspect.Parameter.empty))
    return written


def parameters_of(obj) -> list[tuple[str, str, object]]:
    """(name, kind, default) of each parameter the code takes (``self`` left out)."""
    return [
        (p.name, p.kind.name, p.default)
        for p in inspect.signature(obj).parameters.values()
        if p.name != "self"
    ]


def differences(written, actual) -> list[str]:
    """What a written parameter list gets wrong, each named."""
    if written == actual:
        return []
    problems = []
    written_names, actual_names = [w[0] for w in written], [a[0] for a in actual]
    for name in actual_names:
        if name not in written_names:
            problems.append(f"missing {name}")
    for name in written_names:
        if name not in actual_names:
            problems.append(f"no parameter {name}")
    for w in written:
        a = next((a for a in actual if a[0] == w[0]), None)
        if a is None:
            continue
        if w[1] != a[1]:
            problems.append(f"{w[0]} is {a[1]}, written as {w[1]}")
        if not (w[2] is a[2] or w[2] == a[2]):
            problems.append(f"{w[0]}: default {_shown(a[2])}, written as {_shown(w[2])}")
    if not problems:
        problems.append(f"order: {actual_names}, written as {written_names}")
    return problems


def _shown(default) -> str:
    return "no default" if default is inspect.Parameter.empty else repr(default)


@pytest.mark.parametrize(
    ("page", "path", "name"), SIGNATURES, ids=[f"{p}:{n}" for p, _, n in SIGNATURES]
)
def test_documented_signature_matches_the_code(page, path, name):
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    written = parameters_written(documented_signature(text, name))
    problems = differences(written, parameters_of(resolve(path)))
    assert not problems, f"docs/{page}: {name}: " + "; ".join(problems)


def test_the_comparison_sees_each_kind_of_mistake():
    def f(a, b=1, *, c=None, d=np.float32):
        pass

    actual = parameters_of(f)
    assert differences(parameters_written("a, b=1, *, c=None, d=float32"), actual) == []
    assert differences(parameters_written("a, b=1, c=None, d=float32"), actual) == [
        "c is KEYWORD_ONLY, written as POSITIONAL_OR_KEYWORD",
        "d is KEYWORD_ONLY, written as POSITIONAL_OR_KEYWORD",
    ]
    assert differences(parameters_written("a, b, *, c=None"), actual) == [
        "missing d",
        "b: default 1, written as no default",
    ]
    assert differences(parameters_written("a, b=2, *, c=None, d=float32, e=0"), actual) == [
        "no parameter e",
        "b: default 1, written as 2",
    ]


def test_the_page_parse_finds_the_signature_not_a_call():
    text = 'Use `Stop(patience=10, mode="auto")`; `Stop(mode="min")` for a loss.'
    assert documented_signature(text, "Stop") == 'patience=10, mode="auto"'
