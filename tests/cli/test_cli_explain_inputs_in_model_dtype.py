"""``chainrule explain --model RUN --format json``: the JSON's ``inputs`` are the numbers the model
computed with. For a float32 model they were the float64 standardised row, while ``layers[0]``'s y
were its float32 values (2e-8 apart); ``cr.explain`` on a float32 array writes the float32 ones.
The oracle: the row standardised by hand from the model file's mean and std, in float64, then
cast to the model's dtype (as ``chainrule predict`` computes with it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule.cli import main

ROW = [0.5, -1.0, 2.0, 0.3]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("dtype")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4)) * [1, 2, 3, 0.5] + [0, 1, -1, 2]
    labels = rng.integers(0, 3, 30)
    lines = ["a,b,c,d,label"] + [
        ",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(X, labels)
    ]
    (root / "d.csv").write_text("\n".join(lines) + "\n")
    return root


def _explained(root, dtype: str, capsys) -> tuple[dict, np.ndarray]:
    run = root / dtype
    args = ["train", "--data", root / "d.csv", "--hidden", "5", "--epochs", "3", "--dtype", dtype]
    assert main([str(a) for a in [*args, "--out", run, "-q"]]) == 0
    out = root / f"{dtype}.json"
    given = ",".join(map(str, ROW))
    assert main(["explain", "--model", str(run), "--input", given, "--target", "2",
                 "--format", "json", "--out", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    standardizer = json.loads((run / "model" / "model.json").read_text())["standardizer"]
    scaled = (np.array(ROW) - standardizer["mean"]) / np.array(standardizer["std"])
    return json.loads(out.read_text()), scaled.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_json_inputs_are_what_the_model_computed_with(data_file, capsys, dtype):
    document, expected = _explained(data_file, dtype, capsys)
    assert document["network"]["dtype"] == dtype
    inputs = np.array(document["inputs"][0])
    y0 = np.array([unit["y"][0] for unit in document["layers"][0]["units"]])
    assert np.array_equal(inputs, expected.astype(np.float64))
    assert np.array_equal(inputs, y0)
