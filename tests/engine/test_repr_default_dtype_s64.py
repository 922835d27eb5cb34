"""A tensor's repr names its dtype unless it is its library's default, as PyTorch's repr does: the
default float (what ``cr.tensor([1.0])`` makes there: NumPy's float64, PyTorch's float32), the
complex of its width, the default integer and bool. On PyTorch a float64 tensor said nothing,
and the default float32 said ``dtype=torch.float32``: the other way round from torch's own."""

import chainrule as cr


def _dtype_clause(text: str) -> str:
    """What a repr says after ``dtype=`` ("" where it names no dtype)."""
    return text.partition(", dtype=")[2].partition(",")[0].rstrip(")")


def test_a_numpy_tensor_names_a_dtype_other_than_numpys_defaults():
    unsaid = [([1.0, 2.0], None), ([1, 2], None), ([True], None), ([1j], None)]  # complex128
    said = [([1.0], "float32"), ([1.0], "float16"), ([1j], "complex64"), ([1], "int32"),
            ([1], "uint8")]  # fmt: skip
    for values, dtype in unsaid + said:
        text = repr(cr.tensor(values, dtype=dtype))
        assert _dtype_clause(text) == (dtype or ""), text
    weight = cr.nn.Linear(2, 1, rng=0).weight
    assert repr(weight).endswith(", dtype=float32, requires_grad=True)")


def test_a_torch_tensor_names_its_dtype_where_torch_does(torch):
    """torch's own repr is the reference, under its default dtype and under one set to
    float64: the same dtype clause, or none, for each dtype."""
    previous = torch.get_default_dtype()
    try:
        for default in (torch.float32, torch.float64):
            torch.set_default_dtype(default)
            for dtype in (torch.float32, torch.float64, torch.float16, torch.int64, torch.int32,
                          torch.bool, torch.complex64, torch.complex128):  # fmt: skip
                theirs = torch.tensor([1, 0], dtype=dtype)
                ours = repr(cr.tensor(theirs))
                assert _dtype_clause(ours) == _dtype_clause(repr(theirs)), (ours, repr(theirs))
    finally:
        torch.set_default_dtype(previous)
    assert repr(cr.tensor(torch.tensor([1.0, 2.0], dtype=torch.float64))) == (
        "tensor([1., 2.], dtype=torch.float64)"
    )
    assert repr(cr.tensor(torch.tensor([1.0, 2.0]))) == "tensor([1., 2.])"
