"""Reading a CSV file of numbers takes memory of the order of the file, not ~100 bytes a
cell (a str for every cell), and reads it in blocks whose messages and class numbers are the
whole file's."""

import tracemalloc

import numpy as np
import pytest

from chainrule.data import csvfile
from chainrule.data.csvfile import read_csv, read_table
from chainrule.errors import DataError

#: peak allocation over the file's size: the old reader's was ~10, this one's ~3.1
K = 5


def test_reading_numbers_allocates_a_few_times_the_file_size(tmp_path):
    rng = np.random.default_rng(0)
    values = np.hstack([rng.normal(size=(5000, 99)), rng.integers(0, 3, size=(5000, 1))])
    path = tmp_path / "numbers.csv"
    np.savetxt(path, values, delimiter=",", fmt=["%.6f"] * 99 + ["%d"])
    size = path.stat().st_size
    tracemalloc.start()
    try:
        ds = read_csv(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ds.X.shape == (5000, 99) and ds.y.tolist() == values[:, -1].astype(int).tolist()
    assert peak < K * size, f"peak {peak / size:.1f} x the file's {size} bytes"


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(csvfile, "_BLOCK_CELLS", 8)  # blocks of 2 rows of 3 or 4 cells


def test_a_bad_cell_in_a_later_block_is_named_as_in_one(tmp_path, small_blocks):
    lines = [f"{i}.5,{i},{i % 2}" for i in range(40)]
    lines[33] = "1.5,x7,1"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(["a,b,label", *lines]) + "\n")
    with pytest.raises(DataError) as error:
        read_csv(path)
    assert str(error.value) == f"{path}, line 35, column 2 ('b'): 'x7' is not a number"
    lines[33] = "1.5,1e999,1"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 34, column 2: '1e999' is not a finite number"):
        read_csv(path)
    lines[33] = "1.5,1,1,"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 34: 4 fields, expected 3$"):
        read_table(path)


def test_class_names_across_blocks_are_numbered_once(tmp_path, small_blocks):
    names = ["virginica", "setosa", "versicolor"]
    rows = [(i * 0.5, i % 7, names[i % 3]) for i in range(30)]
    path = tmp_path / "iris.csv"
    path.write_text("".join(f"{a},{b},{c}\n" for a, b, c in rows))
    ds = read_csv(path)
    assert ds.class_names == sorted(names)
    assert ds.y.tolist() == [sorted(names).index(c) for _, _, c in rows]
    assert ds.X.tolist() == [[a, b] for a, b, _ in rows]
    assert ds.meta["lines"] == list(range(1, 31))
    table = read_table(path, text_column=-1)
    assert table.texts == [c for _, _, c in rows] and table.body[29] == (
        30,
        ["14.5", "1", rows[29][2]],
    )
