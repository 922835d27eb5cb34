"""The page's export is what ``chainrule explain`` writes (docs/web.md): focused on the selected
unit it is ``chainrule explain --unit L:I``'s focused document, unfocused the whole one."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason="the [app] extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from chainrule.cli import main  # noqa: E402
from chainrule.cli.serve import trained_case  # noqa: E402
from chainrule.web import create_app  # noqa: E402


def _cli(capsys, *args: str) -> str:
    capsys.readouterr()
    main(["explain", "--format", "markdown", "--no-symbolic", *args])
    return capsys.readouterr().out


def _page(client: TestClient, focus: tuple[int, int] | None) -> str:
    body = {"network": client.get("/api/seed").json(), "format": "markdown"}
    if focus is not None:
        body.update(layer=focus[0], unit=focus[1])
    response = client.post("/api/export", json=body)
    assert response.status_code == 200, response.text
    return response.json()["text"]


@pytest.mark.parametrize("focus", [None, (1, 0), (0, 1)])
def test_the_seed_networks_export_is_the_commands(capsys, focus):
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    args = [] if focus is None else ["--unit", f"{focus[0]}:{focus[1] + 1}"]
    assert _page(client, focus) == _cli(capsys, *args)


def test_a_trained_models_focused_export_is_the_commands(capsys, trained_run):
    """The same document but for the command's line on where its case comes from, which the
    page leaves out: its network can be edited, and the line would outlive its numbers."""
    run = trained_run("csv mse")
    client = TestClient(create_app(start=trained_case(run, 2)), base_url="http://127.0.0.1")
    cli = _cli(capsys, "--model", str(run), "--case", "2", "--unit", "1:1")
    paragraphs = cli.split("\n\n")
    said = "Where the case comes from: row 2 (counted from 0) of"
    source = [p for p in paragraphs if p.startswith(said)]
    assert len(source) == 1, cli
    assert _page(client, (1, 0)) == "\n\n".join(p for p in paragraphs if p not in source)


def test_the_docs_name_the_command_the_export_equals(capsys):
    """The page's export is ``chainrule explain --no-symbolic``'s, not plain ``chainrule
    explain``'s (which adds the sympy proof for the seed network): docs/web.md says so."""
    from pathlib import Path

    client = TestClient(create_app(), base_url="http://127.0.0.1")
    capsys.readouterr()
    main(["explain", "--format", "markdown"])
    plain = capsys.readouterr().out
    assert "symbolically" in plain and _page(client, None) != plain
    docs = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text(encoding="utf-8")
    export = docs[docs.index("- **Export**") :].split("\n- ")[0].split("\n\n")[0]
    said = " ".join(export.split())
    assert "`chainrule explain --format markdown --no-symbolic`" in said, said
    assert "`chainrule explain --no-symbolic --unit L:I`" in said, said
