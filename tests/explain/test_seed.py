""" "The seed network" is one network: README's engine snippet, examples/seed_demo.py,
``chainrule explain`` and the explorer's /api/seed all give the same dE/dy_1."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main

ROOT = Path(__file__).resolve().parents[2]


def readme_engine_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The engine") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_demo_explain_and_explorer_share_one_seed(capsys):
    explained = cr.explain().dE_dy(1, 0).value
    scope: dict = {}
    exec(readme_engine_snippet(), scope)  # noqa: S102  (the README's own snippet)
    assert scope["y"].grad.numpy()[0, 0] == pytest.approx(explained, abs=1e-12)
    runpy.run_path(str(ROOT / "examples" / "seed_demo.py"), run_name="__main__")
    demo = capsys.readouterr().out
    assert f"dE/dy_1: chainrule {explained:+.6f}" in demo
    assert main(["explain"]) == 0
    assert f"{explained:.4f}"[:6] in capsys.readouterr().out
    starlette = pytest.importorskip("starlette.testclient")
    from chainrule.web import create_app

    client = starlette.TestClient(create_app(), base_url="http://127.0.0.1")
    network = client.get("/api/seed").json()
    paths = client.post("/api/paths", json={"network": network, "layer": 1, "unit": 0}).json()
    assert paths["dE_dy"] == pytest.approx(explained, abs=1e-12)
    np.testing.assert_allclose(network["input"], cr.explainer.seed_network().x[0])
