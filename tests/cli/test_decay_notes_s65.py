"""What QA found reproducing Hinton's course assignment with weight decay (session 65):

3. ``chainrule serve --model RUN`` showed a run trained with weight decay with no word of it,
   while ``chainrule explain --model RUN`` says each training step also added the decay;
4. run.json recorded ``test_cases`` but not how many cases the run trained and validated on,
   nor how many weight updates an epoch made.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from cli_run import run, small_table, train_small

from chainrule.train import runs as run_files


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Small runs on one CSV file of 40 cases: plain SGD, and SGD with weight decay 0.5 in
    mini-batches of 8; each run's directory by name."""
    root = tmp_path_factory.mktemp("decay")
    table = small_table(root / "d.csv", seed=1)
    return {
        name: train_small(root / name, data, *options)
        for name, (data, options) in {
            "plain": (table, ["--optimizer", "sgd", "--lr", "0.1"]),
            "decay": (table, ["--optimizer", "sgd", "--lr", "0.1", "--weight-decay", "0.5",
                              "--batch-size", "8"]),
            "xor": ("xor", []),
        }.items()
    }  # fmt: skip


def _explain_notes(capsys, run_dir) -> list[str]:
    code, out, err = run(capsys, "explain", "--model", run_dir, "--json", "--no-symbolic",
                         "--no-perturbation")  # fmt: skip
    assert code == 0, err
    return json.loads(out)["notes"]


def _page(run_dir):
    """The explorer opened on case 0 of the run, as ``serve --model RUN`` opens it: the network
    the page is sent, the derivation's notes for it, and its Markdown export."""
    pytest.importorskip("starlette")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
        from starlette.testclient import TestClient

    from chainrule.cli.serve import trained_case
    from chainrule.web import create_app

    client = TestClient(create_app(start=trained_case(run_dir, 0)), base_url="http://127.0.0.1")
    network = client.get("/api/seed").json()
    derivation = client.post("/api/derivation", json={"network": network})
    assert derivation.status_code == 200, derivation.text
    export = client.post("/api/export", json={"network": network, "format": "markdown"})
    assert export.status_code == 200, export.text
    return network, derivation.json()["notes"], " ".join(export.json()["text"].split())


# -- 3. the page of a run trained with weight decay says so, in explain's words -------------------
def test_the_page_of_a_run_trained_with_weight_decay_carries_explains_note(runs, capsys):
    recorded = json.loads((runs["decay"] / "run.json").read_text())["config"]
    assert (recorded["optimizer"], recorded["weight_decay"]) == ("sgd", 0.5)
    said = [note for note in _explain_notes(capsys, runs["decay"]) if "decay" in note]
    assert len(said) == 1 and "weight decay 0.5 (--optimizer sgd, L2)" in said[0]
    network, notes, markdown = _page(runs["decay"])
    assert [note for note in network.get("notes", []) if "decay" in note] == said
    assert [note for note in notes if "decay" in note] == said  # once, as explain's
    assert " ".join(said[0].split()) in markdown


def test_the_page_of_a_run_without_weight_decay_says_nothing_of_it(runs, capsys):
    assert json.loads((runs["plain"] / "run.json").read_text())["config"]["weight_decay"] == 0
    assert not any("decay" in note for note in _explain_notes(capsys, runs["plain"]))
    network, notes, markdown = _page(runs["plain"])
    assert not any("decay" in note for note in network.get("notes", []) + notes)
    assert "decay" not in markdown.lower()


# -- 4. run.json counts the cases of each part and the weight updates per epoch -----------------
@pytest.mark.parametrize("name, batch", [("decay", 8), ("xor", None)])
def test_run_json_counts_each_parts_cases_and_the_steps_of_an_epoch(runs, name, batch):
    summary = json.loads((runs[name] / "run.json").read_text())
    assert summary["config"]["batch_size"] == batch
    prepared = run_files.load_data(run_files.RunConfig.from_json(summary["config"]))
    train, val = len(prepared.train), 0 if prepared.val is None else len(prepared.val)
    assert summary["train_cases"] == train
    assert summary["validation_cases"] == val
    assert summary["test_cases"] == len(prepared.test)
    if name == "decay":  # 40 cases split 0.1/0.2 by default: every case in one part
        assert val > 0 and train + val + summary["test_cases"] == 40
        assert summary["steps_per_epoch"] == math.ceil(train / 8) > 1
    else:  # xor trains and is judged on its 4 cases, in one sweep an epoch
        assert (train, val, summary["test_cases"]) == (4, 0, 4)
        assert summary["steps_per_epoch"] == 1


# -- 1./2. docs/training.md's example decays the weights alone and logs the course's objective ---
def _course_decay_class():
    """The callback class of docs/training.md's example, as written there (tests/docs runs the
    whole example)."""
    import re
    from pathlib import Path

    import chainrule as cr

    text = (Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text()
    block = re.search(r"```python\n(import numpy as np\n\n\nclass CourseDecay.*?)\n```", text, re.S)
    assert block is not None, "docs/training.md: the CourseDecay example is gone"
    code = block.group(1).split("\nnet = ")[0]
    namespace = {"cr": cr}
    exec(code, namespace)
    return namespace["CourseDecay"]


def test_the_documented_course_callback_decays_the_weights_alone_and_logs_the_objective():
    import chainrule as cr

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    data = cr.data.Dataset(X=X, y=y, task="classification", n_classes=2)
    wd, lr = 0.3, 0.5

    def trained(callbacks):
        net = cr.nn.mlp([3, 2, 2], activation="logistic", rng=0, dtype=np.float64)
        start = {k: np.array(v) for k, v in net.state_dict().items()}
        opt = cr.optim.SGD(net.parameters(), lr=lr)
        trainer = cr.train.Trainer(net, cr.nn.CrossEntropy(), opt, callbacks=callbacks,
                                   progress=False)  # fmt: skip
        history = trainer.fit(data, data, epochs=1)  # one full-batch step
        return start, {k: np.array(v) for k, v in net.state_dict().items()}, history

    start, plain, _ = trained([])
    same, decayed, history = trained([_course_decay_class()(wd)])
    assert all(np.array_equal(start[k], same[k]) for k in start)
    for key in start:
        # a weight's step took lr * wd * w more (the course's decay), a bias's none
        expected = plain[key] - lr * wd * start[key] if key.endswith("weight") else plain[key]
        np.testing.assert_allclose(decayed[key], expected, rtol=1e-12, atol=1e-15)
    squares = sum(float(np.sum(decayed[k] ** 2)) for k in decayed if k.endswith("weight"))
    record = history.last
    assert record["val_objective"] == pytest.approx(record["val_loss"] + wd / 2 * squares)
    assert record["val_objective"] > record["val_loss"]  # the History's own loss has no decay
