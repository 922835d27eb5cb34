"""The documentation site (mkdocs.yml) builds in strict mode: a broken link, a page missing from
the nav's files, or a docstring reference that resolves to nothing fails the build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("mkdocs", reason="the [docs] extra is not installed (pip install -e '.[docs]')")


def _mkdocs(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT / "src"))
    env.pop("CHAINRULE_DOCS_EXECUTE", None)  # the notebooks run in tests/notebook
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("mkdocs_jupyter")
    site = tmp_path / "site"
    done = _mkdocs(["build", "--strict", "--site-dir", str(site)], ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    # The pages a reader comes for are there, with their content.
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "pip install -e" in index
    api = (site / "api" / "nn" / "index.html").read_text(encoding="utf-8")
    assert 'id="chainrule.nn.Linear"' in api and 'id="chainrule.nn.mlp"' in api
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert (site / "tutorials" / notebook.stem / "index.html").is_file(), notebook.name


def test_strict_mode_fails_on_a_broken_link(tmp_path):
    """The check can fail: the same strictness on a one-page site with a link to nowhere."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\nSee [the guide](missing.md).\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\nstrict: true\nnav:\n  - index.md\n")
    done = _mkdocs(["build", "--site-dir", str(tmp_path / "site")], tmp_path)
    assert done.returncode != 0
    assert "missing.md" in done.stderr
