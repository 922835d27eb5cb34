"""The API reference pages say where each name they show lives: docs/api/core.md says that all it
shows is ``cr.<name>`` after ``import chainrule as cr``, except the dotted paths it lists, and
this checks both halves of that claim against the package itself."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from dotted_paths import resolve

ROOT = Path(__file__).resolve().parents[2]
CORE_PAGE = ROOT / "docs" / "api" / "core.md"

DIRECTIVE = re.compile(r"^:::\s*([\w.]+)[ \t]*\n((?:[ \t]+.*\n?)*)", re.M)
MEMBERS = re.compile(r"members:\s*\[([^\]]*)\]")
DOTTED_PATH = re.compile(r"`(chainrule(?:\.\w+)+)`")


def _defined_in(module) -> list[str]:
    """The names mkdocstrings shows for ``::: module`` by default: ``__all__`` where the module
    has one, else its public functions and classes defined there (not the ones it imports)."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    ]


def shown_names(text: str) -> list[str]:
    """The dotted path of each name the page's ``:::`` directives render at their top level."""
    paths = []
    for target, options in DIRECTIVE.findall(text):
        obj = resolve(target)
        if not inspect.ismodule(obj):
            paths.append(target)
            continue
        listed = MEMBERS.search(options)
        names = (
            [n.strip() for n in listed.group(1).split(",") if n.strip()]
            if listed
            else _defined_in(obj)
        )
        paths += [f"{target}.{name}" for name in names]
    return paths


def misplaced_names(text: str) -> list[str]:
    """Where the page's claim is wrong: a name shown that ``cr.<name>`` does not give (and the
    page does not list by its module path), or a listed path that is wrong or is ``cr.<name>``."""
    import chainrule as cr

    prose = text.split("\n:::", 1)[0]
    listed = set(DOTTED_PATH.findall(prose))
    shown = shown_names(text)
    problems = []
    for path in shown:
        name, obj = path.rsplit(".", 1)[1], resolve(path)
        on_cr = getattr(cr, name, None) is obj
        if path in listed and on_cr:
            problems.append(f"{path} is listed as not on cr, but cr.{name} is it")
        elif path not in listed and not on_cr:
            problems.append(f"{path} is not cr.{name}: list it by its module path")
    for path in sorted(listed - set(shown)):
        try:
            resolve(path)
        except (ImportError, AttributeError):
            problems.append(f"{path} is listed but does not exist")
        else:
            problems.append(f"{path} is listed but the page does not show it")
    return problems


def test_core_page_says_where_each_name_is():
    problems = misplaced_names(CORE_PAGE.read_text(encoding="utf-8"))
    assert not problems, "docs/api/core.md: " + "; ".join(problems)


def test_core_page_shows_the_names_the_site_renders():
    """The parse sees the engine's listed members and a module's own functions, not imports."""
    shown = shown_names(CORE_PAGE.read_text(encoding="utf-8"))
    assert "chainrule.tensor.Tensor" in shown and "chainrule.engine.Node" in shown
    assert "chainrule.creation.tensor" in shown and "chainrule.functional.grad" in shown
    assert "chainrule.creation.Tensor" not in shown  # an import, not a name of the module


def test_the_check_sees_wrong_claims():
    page = (
        "# Page\n\nAll is `cr.<name>` except `chainrule.creation.tensor` and "
        "`chainrule.engine.nothing_here`:\n\n::: chainrule.engine\n    options:\n"
        "      members: [no_grad, Node]\n\n::: chainrule.creation\n"
    )
    problems = misplaced_names(page)
    assert "chainrule.engine.Node is not cr.Node: list it by its module path" in problems
    assert "chainrule.creation.tensor is listed as not on cr, but cr.tensor is it" in problems
    assert "chainrule.engine.nothing_here is listed but does not exist" in problems
    assert not any("no_grad" in p for p in problems)
