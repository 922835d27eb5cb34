"""The light test extra: without PyTorch, a browser or LaTeX, their tests skip with a reason."""

import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "playwright", "jax", "mpi4py", "nbclient", "mkdocs")

BLOCK = f"""
import sys
for name in {HEAVY!r}:
    sys.modules[name] = None  # 'import torch' raises ImportError, as where it is not installed
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


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
