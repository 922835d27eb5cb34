"""``chainrule explain --model RUN --case N`` names the raw row a case's standardised inputs came
from. The row was rebuilt from the float32 inputs (x * std + mean), so a CSV's -0.0409 read
-0.0409001: the words now show the data file's own numbers (the row the split took the case
from), and where that row is not at hand the rebuilt value rounded to the precision it carries.
Tested with a CSV whose values have four decimals, some near 0 on a feature of spread ~1.5."""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest
from cli_run import run

from chainrule.cli import main


@pytest.fixture(scope="module")
def few_digits_run(tmp_path_factory):
    """A run on a CSV of 40 rows of two features with 4 decimals: each near 0 or near 3 (5, 10),
    so many raw values are small against the feature's std; the rows as written, the run."""
    root = tmp_path_factory.mktemp("raw-row")
    rng = np.random.default_rng(3)
    rows = [
        (
            f"{rng.uniform(-0.05, 0.05) + 3 * (k % 2):.4f}",
            f"{rng.uniform(-0.05, 0.05) + 5 * (k % 3):.4f}",
        )
        for k in range(40)
    ]
    data = root / "few.csv"
    lines = ["a,b,label"] + [f"{a},{b},{'xy'[k % 2]}" for k, (a, b) in enumerate(rows)]
    data.write_text("\n".join(lines) + "\n")
    out = root / "run"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--data", str(data), "--hidden", "3", "--epochs", "2",
                     "--out", str(out), "--quiet"]) == 0  # fmt: skip
    return rows, out


def _shown(source: str) -> list[str]:
    found = re.search(r"from the raw row \(([^)]*)\)", source)
    assert found, source
    return [v.strip() for v in found[1].split(",")]


def _as_written(rows: list[tuple[str, str]], shown: list[str]) -> tuple[str, str]:
    """The CSV row whose numbers are ``shown``'s (to the last bit: the words are the file's)."""
    matches = [row for row in rows if [float(v) for v in row] == [float(v) for v in shown]]
    assert len(matches) == 1, (shown, matches)
    return matches[0]


def test_every_case_shows_the_raw_row_as_the_csv_has_it(few_digits_run, capsys):
    """Each of the 8 test cases' raw row is a CSV row's numbers exactly, in no more digits
    than the file gave them (-0.0409, not -0.0409001)."""
    rows, out = few_digits_run
    for case in range(8):
        code, text, err = run(capsys, "explain", "--model", out, "--case", case, "--format",
                              "json")  # fmt: skip
        assert code == 0, err
        shown = _shown(json.loads(text)["case_source"])
        written = _as_written(rows, shown)
        for value, as_written in zip(shown, written):
            assert len(value.lstrip("-")) <= len(as_written.lstrip("-")), (shown, written)


def test_without_the_data_row_the_rebuilt_row_is_rounded_to_the_precision_it_carries(
    few_digits_run,
):
    """Where the row the case came from is not at hand (an IDX directory's own test part), the
    value is x * std + mean: rounded to what float32's x carries, it is the CSV's number too."""
    from chainrule.cli.train import _case_source, load_trained, trained_data

    rows, out = few_digits_run
    _, info, _ = load_trained(out)
    prepared = trained_data(out, info)
    for case in range(len(prepared.test)):
        x = prepared.test.X[case : case + 1]
        assert x.dtype == np.float32  # the oracle: the rebuilt row carries float32's rounding
        rebuilt = _shown(_case_source(prepared.test, case, "test", x, info))
        read = _shown(_case_source(prepared.test, case, "test", x, info, prepared.full))
        assert rebuilt == read
        _as_written(rows, rebuilt)


@pytest.mark.parametrize(
    ("value", "rounding", "shown"),
    [
        (300.00001, 0.01, "300"),
        (250.00002, 0.01, "250"),
        (-0.0130999, 1e-6, "-0.0131"),
        (1e-9, 1e-8, "0"),
    ],
)
def test_a_rounded_raw_value_is_written_as_a_number_reads(value, rounding, shown) -> None:
    """(review) The shortest text within the rounding was taken in %g's form: 300 read 3e+02."""
    from chainrule.cli.train import _within

    assert _within(value, rounding) == shown
