"""``explain --target`` with a class name typed in Unicode's decomposed form (``cafe`` and a
combining accent, as macOS pastes it) was refused as "not numbers", listing a name that looks
the same: the CSV reader stores names composed (NFC), and --target was compared as typed."""

from __future__ import annotations

import unicodedata

from cli_run import run


def test_a_decomposed_class_name_is_the_composed_class(tmp_path, capsys):
    rows = ["a,b,drink", *[f"{i % 3},{i % 2},{'café' if i % 2 else 'tea'}" for i in range(12)]]
    (tmp_path / "drinks.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--data", tmp_path / "drinks.csv", "--epochs", "1",
                       "--out", out, "-q")  # fmt: skip
    assert code == 0, err
    typed = unicodedata.normalize("NFD", "café")
    assert typed != "café"
    outputs = []
    for target in (typed, "café"):
        code, text, err = run(capsys, "explain", "--model", out, "--input", "1,1",
                              "--target", target, "--format", "json", "--no-symbolic")  # fmt: skip
        assert code == 0, err
        outputs.append(text)
    assert outputs[0] == outputs[1]
