"""``cr.tensor(2**70, dtype="int64")`` failed in NumPy's words ("OverflowError: Python int too
large to convert to C long"), naming neither the value nor the dtype, where ``cr.tensor(2**70)``
names both: with a dtype asked for, an integer past int64 is refused in that one line too (an
OverflowError, as NumPy's). The oracle: the message ``cr.tensor`` gives without the dtype, and
NumPy's premise (no integer dtype holds it). The range quoted is the dtype's asked for (session 62:
it was int64's for ``dtype="uint64"``)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr

CASES = [2**70, -(2**70), [1, 2**64], [[3], [-(2**63) - 1]], 2**1100]


@pytest.mark.parametrize("data", CASES, ids=["2**70", "-2**70", "2**64", "-2**63-1", "2**1100"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "uint64", np.int16])
def test_an_integer_past_int64_with_an_integer_dtype_is_named_in_one_line(data, dtype):
    with pytest.raises(OverflowError):  # the premise: NumPy cannot make it
        np.array(data, dtype=dtype)
    with pytest.raises(TypeError) as unasked:
        cr.tensor(data)
    with pytest.raises(OverflowError) as refused:
        cr.tensor(data, dtype=dtype)
    message = str(refused.value)
    named = np.dtype(dtype)
    # the same words, from the same home, with the range of the dtype asked for (session 62:
    # it quoted int64's for uint64 and uint8); the range is checked against NumPy's
    words = re.fullmatch(rf"(.*) does not fit in {named} \(([^)]+) to ([^)]+)\); (.*)", message)
    assert words is not None, message
    low, high = (eval(bound, {}) for bound in words.group(2, 3))  # "-2**63", "2**64 - 1"
    assert (low, high) == (np.iinfo(named).min, np.iinfo(named).max)
    assert str(unasked.value).startswith(words.group(1) + " does not fit in int64 (")
    assert str(unasked.value).endswith(words.group(4))
    assert message.startswith("tensor: ") and "C long" not in message and "\n" not in message


def test_full_names_it_too_and_numbers_int64_holds_are_made_as_before():
    """Within int64 nothing changes: the tensor is made, and a number past a narrower dtype is
    NumPy's own refusal, which names the number and the dtype already."""
    with pytest.raises(OverflowError, match=r"^full: the integer 1180591620717411303424 does "):
        cr.full((2,), 2**70, dtype="int64")
    assert cr.full((2,), 2**62, dtype="int64").numpy().tolist() == [2**62, 2**62]
    assert cr.tensor(2**62, dtype="int64").item() == 2**62
    assert cr.tensor([2**63], dtype="uint64").numpy().tolist() == [2**63]
    with pytest.raises(OverflowError, match="1099511627776 out of bounds for int32"):
        cr.tensor(2**40, dtype="int32")
