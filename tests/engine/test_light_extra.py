"""The light test extra: without PyTorch, a browser or LaTeX, their tests skip with a reason."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from hidden_modules import hiding

ROOT = Path(__file__).resolve().parents[2]
#: What the test extra installs and test-light does not (and the oracles some tests import;
#: IPython and yaml come with ipykernel and mkdocs, not with the light extra).
HEAVY = ("torch", "playwright", "jax", "jaxlib", "mpi4py", "nbclient", "nbformat", "ipykernel",
         "anywidget", "mkdocs", "onnx", "onnxruntime", "array_api_strict", "array_api_compat",
         "schemathesis", "autograd", "micrograd", "IPython", "yaml")  # fmt: skip

# The heavy packages made absent (hidden_modules), then pytest run on the files asked for
BLOCK = (
    hiding(HEAVY)
    + f"""
for name in {HEAVY!r}:  # the blocker itself works, or the run below would pass vacuously
    try:
        __import__(name)
    except ModuleNotFoundError:
        continue
    sys.exit(f"the blocker let {{name}} be imported")
# nor are their pytest plugins: pytest would load them by entry point (with assert rewriting,
# through its own import hook, which runs before the blocker and let schemathesis in)
from importlib.metadata import entry_points
import pytest
plugins = entry_points(group="pytest11")
disabled = [arg for ep in plugins if absent(ep.value) for arg in ("-p", "no:" + ep.name)]
sys.exit(pytest.main([*disabled, *sys.argv[1:]]))
"""
)


def test_the_light_extra_installs_no_torch_and_no_browser():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    light = " ".join(extras["optional-dependencies"]["test-light"])
    assert "chainrule[app]" in light and "pytest" in light and "hypothesis" in light
    assert not any(name in light for name in ("torch", "playwright", "jax", "mpi"))


def test_torch_browser_and_latex_tests_skip_with_a_reason_without_them(tmp_path):
    files = [
        "tests/engine/test_torch_reference.py",
        "tests/web/test_web_browser.py",
        "tests/explain/test_explain_render.py",
    ]
    env = {"PATH": str(tmp_path), "PYTHONPATH": str(ROOT / "src")}  # no pdflatex, no chromium
    done = subprocess.run(
        [sys.executable, "-c", BLOCK, "-q", "-rs", "-p", "no:cacheprovider", "-k",
         "torch or browser or pdflatex or latex_compiles or page", *files],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode in (0, 5), done.stdout[-3000:] + done.stderr[-3000:]
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped, done.stdout[-3000:]
    assert any("torch" in line for line in skipped), skipped
    assert any("playwright" in line or "chromium" in line for line in skipped), skipped
    assert any("pdflatex" in line for line in skipped), skipped
    assert "failed" not in done.stdout.splitlines()[-1]


def test_every_test_module_is_collected_without_them():
    """A module that imports torch (or a browser, JAX, MPI...) at its top stops the whole light
    run at collection ("Interrupted: 1 error during collection"): such a test takes the torch
    fixture (tests/conftest.py) or calls pytest.importorskip, so it alone skips."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # --assert=plain: rewriting every module's asserts was half the collection's time, and
    # what fails here is an import, which plain asserts import the same way
    args = ["--collect-only", "-q", "-p", "no:cacheprovider", "--assert=plain", "tests"]
    done = subprocess.run(
        [sys.executable, "-c", BLOCK, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    failed = re.findall(r"^ERROR (\S+)", done.stdout, flags=re.MULTILINE)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-3000:]
    assert done.returncode == 0 and "error" not in summary, (
        f"not collected without the heavy packages: {failed or summary}\n{done.stderr[-3000:]}"
    )
