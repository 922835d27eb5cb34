"""``x[0] = v`` is refused; its message pointed to writing ``x.data`` "outside the graph", which a
fuzzer read as "after the forward", where it silently changes a pending backward (as torch's
``.data`` does). The message says where such a write is safe (session 62)."""

import pytest

import chainrule as cr


def test_item_assignment_names_where_a_data_write_is_safe():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"tensor\.data where no recorded graph still reads it"):
        x[0] = 10.0


def test_the_hazard_the_message_names_is_real():
    """A write to .data between the forward and the backward is not checked: the backward of
    x * x then uses the new value (20, not the 2 of the recorded graph)."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    x.data[0] = 10.0
    y.sum().backward()
    assert x.grad.numpy().tolist() == [20.0, 4.0]
