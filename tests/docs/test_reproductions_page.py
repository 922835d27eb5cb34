"""docs/reproductions.md says in which dtype each example script's network computes: what its
section names (float32 or float64), else what the page's first paragraph names. This builds
each script's first network, as the script does, and compares."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reproductions.md"
DTYPE = re.compile(r"\bfloat(?:32|64)\b")

#: How each script is started as its section's command starts it, cut short (the network is
#: recorded as it is built, then the run stops): (builder to record, the call).
SCRIPTS = {
    "symmetry": ("chainrule.nn.mlp", lambda m: m.train(0)),
    "classics": ("chainrule.nn.mlp", lambda m: m.learn("xor", 0)),
    "digits": ("chainrule.nn.mlp", lambda m: m.run(seed=0, verbose=False)),
    "family_trees": (
        "chainrule.train.family_trees.family_tree_net",
        lambda m: m.run_all("default", 1, 1, verbose=False),
    ),
}


class _Built(Exception):
    """Raised by the recording builder: the network is made, the rest of the run is not needed."""


def _load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def stated_dtypes(text: str) -> dict[str, set[str]]:
    """For each ``python examples/<name>.py`` section, the dtypes it names (else the intro's)."""
    intro = text.split("\n\n## ", 1)[0].split("\n\n", 1)[-1]
    stated = {}
    for section in text.split("\n## ")[1:]:
        for name in re.findall(r"`python examples/(\w+)\.py", section):
            stated.setdefault(name, set(DTYPE.findall(section)) or set(DTYPE.findall(intro)))
    return stated


def built_dtype(name: str, monkeypatch) -> str:
    """The dtype of the parameters of the first network the script builds."""
    builder, call = SCRIPTS[name]
    module_name, attribute = builder.rsplit(".", 1)
    module = importlib.import_module(module_name)
    original = getattr(module, attribute)
    built = []

    def recording(*args, **kwargs):
        built.append(original(*args, **kwargs))
        raise _Built

    monkeypatch.setattr(module, attribute, recording)
    with pytest.raises(_Built):
        call(_load_example(name))
    return str(built[0].parameters()[0].dtype)


def test_every_example_section_is_checked():
    assert set(stated_dtypes(PAGE.read_text(encoding="utf-8"))) == set(SCRIPTS)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_page_names_the_dtype_the_script_computes_in(name, monkeypatch):
    pytest.importorskip("sklearn")  # the digits
    stated = stated_dtypes(PAGE.read_text(encoding="utf-8"))[name]
    actual = built_dtype(name, monkeypatch)
    assert stated == {actual}, (
        f"docs/reproductions.md says {sorted(stated)} for examples/{name}.py, whose network "
        f"computes in {actual}"
    )


def test_a_section_without_a_dtype_takes_the_intros():
    text = (
        "# T\n\nScripts here.\n\nRun on NumPy, float64.\n\n## A\n\n`python examples/a.py` net.\n"
        "\n## B\n\n`python examples/b.py` in float32.\n"
    )
    assert stated_dtypes(text) == {"a": {"float64"}, "b": {"float32"}}
