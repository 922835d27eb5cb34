"""gradcheck of an f that returns integers warns, as it warns for a float32 output: a 1e-6 step
moves no integer, or moves one by a whole unit (a "numeric" 5e5), so the check says nothing."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("x", [[1.2, 2.5], [0.3333333, 1.0]], ids=["no crossing", "crossing"])
def test_an_integer_output_is_named_in_a_warning(x):
    with pytest.warns(UserWarning, match="f returns int64 from float64 inputs"):
        cr.gradcheck(lambda a: cr.astype(a * 3, np.int64), [np.array(x)])


def test_a_float64_output_gives_no_such_warning(recwarn):
    cr.gradcheck(lambda a: a * 3, [np.array([1.2, 2.5])])
    assert not [w for w in recwarn if "f returns" in str(w.message)]
