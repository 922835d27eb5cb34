"""The API reference leaves nothing public out: every name ``import chainrule as cr`` offers, the
``__all__`` of every public module, every name the guides tell readers to use, and every member
of ``Tensor`` has an entry on some page of docs/api/.

"An entry" is what the built site shows, not what a page asks for: mkdocstrings hides a member
without a docstring (``show_if_no_docstring: false``) and can miss an alias, so the API pages are
built (into a temporary folder) and their anchors read. An object counts wherever it is shown:
``cr.exp`` is covered by the entry ``chainrule.ops.elementwise.exp``, since that is the same
function.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from test_api_pages import misplaced_names

import chainrule as cr

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "docs" / "api"

# The submodules of chainrule that are not API, each with where its users are served instead.
# A new submodule must be documented or added here: that choice is the point of the check.
NOT_API = {
    "cli": "the command line; its commands are documented in the guides (chainrule --help)",
    "checks": "predicates that check arguments, shared by the layers",
    "files": "atomic writes; the public ones are chainrule.io's",
    "file_schemas": "the JSON schemas of model.json and trainer.json, read by chainrule.io",
    "launcher": "whether mpiexec or srun started the process (chainrule.distributed uses it)",
    "terminal": "rich's console for what chainrule prints",
}

ANCHOR = re.compile(r'id="(chainrule(?:\.\w+)+)"')
# Where the guides name something: chainrule.a.b or cr.a.b, and from chainrule.a import b, c
DOTTED = re.compile(r"(?<![\w.])(?:chainrule|cr)((?:\.[A-Za-z_]\w*)+)")
FROM_IMPORT = re.compile(r"\bfrom (chainrule(?:\.\w+)*) import \(?\s*(\w+(?:\s*,\s*\w+)*)")

_MISSING = object()

pytest.importorskip("mkdocs", reason="the [docs] extra is not installed (pip install -e '.[docs]')")

# Builds only the API pages: the site's own mkdocs.yml (so its plugins and options), not strict
# (the guides they link to are left out), no notebooks.
_BUILD = """
import sys
from mkdocs.commands.build import build
from mkdocs.config import load_config

config_file, site, *pages = sys.argv[1:]
others = "/*.md\\n/*.png\\n/tutorials/\\n/_ext/\\n"
build(load_config(config_file, site_dir=site, strict=False, nav=pages, exclude_docs=others))
"""


@pytest.fixture(scope="module")
def anchors(tmp_path_factory) -> set[str]:
    """The dotted path of every entry the built API pages show."""
    pytest.importorskip("mkdocstrings")
    site = tmp_path_factory.mktemp("api-site")
    pages = [f"api/{page.name}" for page in sorted(API.glob("*.md"))]
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT / "src"))
    env.pop("CHAINRULE_DOCS_EXECUTE", None)
    done = subprocess.run(
        [sys.executable, "-c", _BUILD, str(ROOT / "mkdocs.yml"), str(site), *pages],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return {
        anchor
        for page in (site / "api").glob("*/index.html")
        for anchor in ANCHOR.findall(page.read_text(encoding="utf-8"))
    }


def lookup(path: str):
    """The object a dotted path names, reading attributes as Python does (``chainrule.explainer
    .render`` is the function the package binds, not its module), else importing the submodule
    (one not loaded yet, or one a function of its name hides: ``chainrule.tensor.Tensor``);
    ``_MISSING`` where the path names nothing readable (a dataclass field without a default)."""
    parts = path.split(".")
    obj = importlib.import_module(parts[0])
    for i in range(1, len(parts)):
        with contextlib.suppress(AttributeError):
            obj = getattr(obj, parts[i])
            continue
        with contextlib.suppress(ImportError):
            obj = importlib.import_module(".".join(parts[: i + 1]))
            continue
        try:
            obj = getattr(importlib.import_module(".".join(parts[:i])), parts[i])
        except (ImportError, AttributeError):
            return _MISSING
    return obj


@pytest.fixture(scope="module")
def shown(anchors) -> list:
    """The objects the API pages show (an object shown twice is one entry for the check)."""
    return [obj for obj in map(lookup, anchors) if obj is not _MISSING]


def has_entry(obj, shown) -> bool:
    """Whether ``obj`` is shown: the same object, or for a classmethod (a new bound method at
    every read of it) one bound alike (``Standardizer.from_state``)."""
    if inspect.ismethod(obj):
        return any(obj == other for other in shown)
    return any(obj is other for other in shown)


def has_pages(module: str, anchors: set[str]) -> bool:
    """Whether some entry is the module or one of its names."""
    return any(a == module or a.startswith(module + ".") for a in anchors)


def cr_names() -> list[str]:
    """What ``cr.<TAB>`` offers besides submodules: __all__, ``explain``, ``explorer``."""
    modules = {m.name for m in pkgutil.iter_modules(cr.__path__)}
    return [
        name
        for name in dir(cr)
        if not name.startswith("_") and (name in cr.__all__ or name not in modules)
    ]


def cr_submodules() -> list[str]:
    core = set(cr.__all__)  # cr.tensor and cr.gradcheck are functions
    return [
        m.name
        for m in pkgutil.iter_modules(cr.__path__)
        if not m.name.startswith("_") and m.name not in core
    ]


def public_modules() -> list[ModuleType]:
    """chainrule's modules below the package (whose names the first check covers), but the
    private ones and those of NOT_API."""
    found = []
    for info in pkgutil.walk_packages(cr.__path__, "chainrule."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or parts[1] in NOT_API:
            continue
        found.append(importlib.import_module(info.name))
    return found


def guide_texts() -> dict[str, str]:
    """The guides (docs/ but the API pages, the tutorials' cells) and the README."""
    texts = {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
        if API not in path.parents
    }
    for path in sorted((ROOT / "docs" / "tutorials").glob("*.ipynb")):  # notebooks/, linked
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[str(path.relative_to(ROOT))] = "\n".join("".join(c["source"]) for c in cells)
    return texts


def promised_names(text: str) -> set[str]:
    """The dotted paths a guide names: ``chainrule.x.y``, ``cr.x.y``, ``from chainrule.x import
    y, z`` (each may name a module, a function, or nothing: the caller looks)."""
    paths = {"chainrule" + rest for rest in DOTTED.findall(text)}
    for module, names in FROM_IMPORT.findall(text):
        paths |= {f"{module}.{name.strip()}" for name in names.split(",")}
    return paths


# -- the checks ------------------------------------------------------------------------------


def test_every_name_of_cr_has_an_entry(shown):
    missing = [name for name in cr_names() if not has_entry(getattr(cr, name), shown)]
    assert not missing, f"no API entry for cr.{', cr.'.join(missing)}"


def test_every_submodule_of_cr_has_pages_or_is_not_api(anchors):
    modules = cr_submodules()
    missing = [m for m in modules if m not in NOT_API and not has_pages(f"chainrule.{m}", anchors)]
    assert not missing, f"no API page shows chainrule.{', chainrule.'.join(missing)}"
    assert not set(NOT_API) - set(modules), "NOT_API names a submodule that is gone"


def test_every_name_of_each_modules_all_has_an_entry(shown, anchors):
    missing = []
    for module in public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            ok = (
                has_pages(obj.__name__, anchors) if inspect.ismodule(obj) else has_entry(obj, shown)
            )
            if not ok:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, "no API entry for " + ", ".join(missing)


def test_every_name_the_guides_use_has_an_entry(shown):
    missing = []
    for where, text in guide_texts().items():
        for path in sorted(promised_names(text)):
            obj = lookup(path)
            if obj is not _MISSING and not inspect.ismodule(obj) and not has_entry(obj, shown):
                missing.append(f"{path} ({where})")
    assert not missing, "the guides use names with no API entry: " + ", ".join(missing)


def test_every_member_of_tensor_has_an_entry(anchors):
    """Tensor's methods, properties and attributes, docstring or not (t.item(), t.grad, t.T)."""
    from chainrule.tensor import Tensor

    homes = [a for a in anchors if lookup(a) is Tensor]
    assert homes, "no API entry for Tensor"
    members = [name for name in vars(Tensor) if not name.startswith("_")]
    missing = [m for m in members if not any(f"{home}.{m}" in anchors for home in homes)]
    assert not missing, f"no API entry for Tensor.{', Tensor.'.join(missing)}"


def test_the_ops_page_says_where_each_name_is():
    """The ops page makes core.md's claim (cr.<name>, except the paths it lists): the same check."""
    problems = misplaced_names((API / "ops.md").read_text(encoding="utf-8"))
    assert not problems, "docs/api/ops.md: " + "; ".join(problems)


def test_the_checks_see_what_is_missing():
    """lookup follows Python's attribute reads; the guides' scan finds each way of naming."""
    from chainrule import explainer

    assert lookup("chainrule.explainer.render") is explainer.render  # the function
    assert inspect.ismodule(lookup("chainrule.explainer.health"))
    assert lookup("chainrule.tensor.Tensor.no_such_member") is _MISSING
    exp_shown = [lookup("chainrule.ops.elementwise.exp")]
    assert has_entry(cr.exp, exp_shown) and not has_entry(cr.log, exp_shown)
    text = (
        "Use `chainrule.explainer.quiz.make_quiz(seed)` or `cr.viz.paths.plot_path_costs`;\n"
        "from chainrule.explainer.health import (\n    GradientHealth,\n    saturation)\n"
    )
    assert promised_names(text) == {
        "chainrule.explainer.health",
        "chainrule.explainer.quiz.make_quiz",
        "chainrule.viz.paths.plot_path_costs",
        "chainrule.explainer.health.GradientHealth",
        "chainrule.explainer.health.saturation",
    }
    assert not has_pages("chainrule.web", {"chainrule.webby.x", "chainrule.io"})
