"""Each view of one explorer widget trains its own run (docs/web.md: "each view has its own state").

widget.js numbers each view's requests "VIEW:N"; the kernel kept one training run per widget, so
a second view starting another dataset replaced the first view's run, and the first view's next
Step trained the second's network. The kernel now keeps a run per view, found by the id's VIEW,
as the server keeps one per browser. Through the Python message API (no browser).
"""

from __future__ import annotations

import pytest

from chainrule.notebook.explorer import Explorer

pytest.importorskip("starlette", reason="the [app] extra is not installed")

XOR = {"dataset": "xor", "hidden": [3], "optimizer": "sgd", "lr": 0.5, "batch_size": 4}
CIRCLE = {"dataset": "circle", "hidden": [5], "optimizer": "sgd", "lr": 0.01}


def ask(host: Explorer, request_id: str, path: str, body=None) -> dict:
    reply = host.answer({"id": request_id, "path": path, "body": body})
    assert reply["id"] == request_id
    return reply


def test_a_views_step_trains_its_own_network_after_another_view_starts_another_run():
    host = Explorer()
    a = ask(host, "1.abc123:1", "/api/train/start", XOR)
    assert a["ok"], a
    b = ask(host, "2.def456:1", "/api/train/start", CIRCLE)  # view B: another dataset
    assert b["ok"], b
    assert b["data"]["network"]["sizes"] == [2, 5, 1]

    stepped = ask(host, "1.abc123:2", "/api/train/step", {"steps": 3})  # view A's Step
    assert stepped["ok"], stepped
    assert stepped["data"]["dataset"] == "xor"
    assert stepped["data"]["network"]["sizes"] == a["data"]["network"]["sizes"] == [2, 3, 1]
    assert stepped["data"]["step"] == 3

    # view B's run is untouched by A's steps, and goes on from its own start
    state_b = ask(host, "2.def456:2", "/api/train/state")
    assert state_b["ok"] and state_b["data"]["dataset"] == "circle"
    assert state_b["data"]["step"] == 0
    stepped_b = ask(host, "2.def456:3", "/api/train/step", {"steps": 1})
    assert stepped_b["data"]["dataset"] == "circle" and stepped_b["data"]["step"] == 1


def test_a_view_without_a_run_has_none_and_a_reset_is_one_views():
    host = Explorer()
    assert ask(host, "1.aaaaaa:1", "/api/train/start", XOR)["ok"]
    other = ask(host, "2.bbbbbb:1", "/api/train/step", {"steps": 1})  # never started one
    assert not other["ok"] and "no training run" in other["error"]
    assert ask(host, "2.bbbbbb:2", "/api/train/start", CIRCLE)["ok"]
    assert ask(host, "2.bbbbbb:3", "/api/train/reset")["ok"]
    assert not ask(host, "2.bbbbbb:4", "/api/train/state")["ok"]  # B's run is gone
    kept = ask(host, "1.aaaaaa:2", "/api/train/state")  # A's stays
    assert kept["ok"] and kept["data"]["dataset"] == "xor"


def test_the_runs_kept_are_bounded_least_recently_used_first():
    from chainrule.notebook.explorer import MAX_VIEWS

    host = Explorer()
    for v in range(MAX_VIEWS + 1):
        assert ask(host, f"{v}.view:1", "/api/train/start", XOR)["ok"]
    assert len(host.sessions) == MAX_VIEWS
    assert not ask(host, "0.view:2", "/api/train/state")["ok"]  # the oldest, forgotten
    assert ask(host, f"{MAX_VIEWS}.view:2", "/api/train/state")["ok"]
