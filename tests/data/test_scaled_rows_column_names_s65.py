"""check_rows_scaled names a cell as the CSV reader's messages do: its line, and its column by
number and, where the file has a header, by name."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data.idx import check_rows_scaled
from chainrule.errors import DataError

ROWS = np.array([[0.0, 0.5], [12.0, 1.0], [0.25, 0.75]])


@pytest.mark.parametrize(
    ("lines", "names", "where"),
    [
        ([2, 3, 4], ["id", "p1"], "f.csv: line 3, column 1 ('id'): 12 is outside [0, 1]"),
        ([2, 3, 4], None, "f.csv: line 3, column 1: 12 is outside [0, 1]"),
        (None, None, "f.csv: row 2, column 1: 12 is outside [0, 1]"),
    ],
)
def test_a_value_outside_the_range_is_named_by_line_and_header(lines, names, where):
    with pytest.raises(DataError) as raised:
        check_rows_scaled(ROWS, (0, 255), "f.csv", lines, names)
    assert str(raised.value).startswith(where)
    assert "mapped from 0..255 onto [0, 1]; give each input as (pixel - 0) / 255" in str(
        raised.value
    )
    check_rows_scaled(ROWS / 12, (0, 255), "f.csv", lines, names)  # scaled: nothing to say
