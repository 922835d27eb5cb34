"""Every tutorial notebook under notebooks/ runs top to bottom in a real Jupyter kernel.

nbclient starts an IPython kernel (ipykernel), runs each cell in order in an empty temporary
directory, and fails on the first cell that raises; the notebooks' own asserts check their
numbers. The notebooks are committed without outputs (the site renders them by executing them),
which the last test checks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

WIDGET = "application/vnd.jupyter.widget-view+json"
# What each tutorial must show besides text: its rich displays came through the kernel.
RICH = {
    "01": {"text/markdown", "image/svg+xml", WIDGET},  # a Derivation, a diagram, the explorer
    "02": {"image/svg+xml", "text/html"},  # a ComputationGraph, a Tensor
    "03": {"image/png"},  # matplotlib's figures
    "04": {"image/png"},
    "05": {"text/html", "image/png"},  # a History, the health plots
}

nbformat = pytest.importorskip("nbformat", reason="the [notebook] extra is not installed")


def test_the_five_tutorials_are_there():
    names = [p.stem for p in NOTEBOOKS]
    assert [n[:3] for n in names] == ["01-", "02-", "03-", "04-", "05-"], names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    nbclient = pytest.importorskip("nbclient", reason="the [notebook] extra is not installed")
    pytest.importorskip("ipykernel", reason="the [notebook] extra is not installed")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    src = str(ROOT / "src")  # this checkout's chainrule, whatever is installed
    path_list = [src, *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path_list))
    env.pop("MPLBACKEND", None)  # the kernel's inline backend draws the figures into the notebook
    client.execute(env=env)  # raises CellExecutionError naming the cell on any error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert outputs, "the notebook ran but showed nothing"
    assert not [o for o in outputs if o.output_type == "error"]
    shown = {mime for o in outputs for mime in o.get("data", {})}
    assert RICH[path.stem[:2]] <= shown, f"{path.name} showed only {sorted(shown)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]  # fmt: skip
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"
