"""Creation functions name a shape or a fill value they cannot use, in their own words (NumPy's
were "'float' object is not iterable" for ``cr.ones(2.0)`` and "could not convert string to float"
for ``cr.full((2, 3), 'a')``)."""

import numpy as np
import pytest

import chainrule as cr

MAKERS = {
    "zeros": cr.zeros,
    "ones": cr.ones,
    "randn": cr.randn,
    "rand": cr.rand,
    "full": lambda shape: cr.full(shape, 1.0),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize(
    ("shape", "shown"),
    [(2.0, "2.0"), ("3", "'3'"), (True, "True"), ((2, 2.5), "2.5"), ((2, None), "None")],
)
def test_a_shape_that_is_not_sizes_is_named(name, shape, shown):
    with pytest.raises(TypeError, match=rf"^{name}: .*got {shown}"):
        MAKERS[name](shape)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_negative_size_is_named(name):
    expected = rf"^{name}: a size must be 0 or more, got -1 in shape \(2, -1\)"
    with pytest.raises(ValueError, match=expected):
        MAKERS[name]((2, -1))


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize(
    "shape", [3, (2, 3), [2, 3], np.array([2, 3]), (np.int64(2), 3), (), np.array(3)]
)
def test_sizes_in_every_form_make_that_shape(name, shape):
    expected = tuple(int(n) for n in np.atleast_1d(np.asarray(shape, dtype=int)))
    assert MAKERS[name](shape).shape == expected


def test_full_names_a_fill_value_that_is_text():
    with pytest.raises(TypeError, match=r"^full: value must be a number, got 'a'"):
        cr.full((2, 3), "a")
