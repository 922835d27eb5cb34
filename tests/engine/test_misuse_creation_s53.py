"""Creation functions refuse what NumPy would turn silently into other numbers: random samples in
a dtype that is not floating point (truncated: mostly 0, all True), and None as a value (NaN)."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("make", [cr.randn, cr.rand])
@pytest.mark.parametrize("dtype", [np.int64, "int32", bool, np.uint8, np.complex128])
def test_random_samples_in_a_dtype_that_is_not_floating_are_refused(torch, make, dtype):
    """randn(10, dtype=int64) was mostly 0, rand all 0, randn(dtype=bool) all True. Oracle:
    PyTorch refuses the same requests."""
    if dtype is not np.complex128:  # torch draws complex normals; NumPy's cast would not
        torch_make = torch.randn if make is cr.randn else torch.rand
        torch_dtype = {np.int64: torch.int64, "int32": torch.int32, bool: torch.bool,
                       np.uint8: torch.uint8}[dtype]  # fmt: skip
        with pytest.raises(RuntimeError):
            torch_make(10, dtype=torch_dtype)
    name = np.dtype(dtype).name
    with pytest.raises(TypeError, match=rf"^{make.__name__}: dtype {name} is not a real float"):
        make(10, dtype=dtype, rng=0)


@pytest.mark.parametrize("make", [cr.randn, cr.rand])
def test_a_refused_dtype_draws_nothing_from_the_generator(make):
    """The refusal comes before the draw: the generator passed is where it was."""
    rng, fresh = np.random.default_rng(7), np.random.default_rng(7)
    with pytest.raises(TypeError):
        make(3, dtype="int64", rng=rng)
    assert rng.bit_generator.state == fresh.bit_generator.state


def _samples_are_the_seeds_draw(dtype) -> None:
    """Oracle: the seed's own standard normal draw, cast to the dtype."""
    expected = np.random.default_rng(3).standard_normal(5)
    out = cr.randn(5, dtype=dtype, rng=3)
    assert out.dtype.kind == "f"
    np.testing.assert_array_equal(out.numpy(), expected.astype(out.dtype))


@pytest.mark.parametrize("dtype", ["float16", "float32", np.float64])
def test_floating_dtypes_still_make_samples(dtype):
    _samples_are_the_seeds_draw(dtype)


def test_a_torch_floating_dtype_still_makes_samples(torch):
    _samples_are_the_seeds_draw(torch.float32)


def test_full_refuses_none_as_its_value(torch):
    """cr.full((2,), None) was [nan, nan]; torch.full refuses None too (oracle)."""
    with pytest.raises(TypeError):
        torch.full((2,), None)
    with pytest.raises(TypeError, match=r"^full: value is None, not a number"):
        cr.full((2,), None)
    np.testing.assert_array_equal(cr.full((2,), 3.0).numpy(), [3.0, 3.0])


@pytest.mark.parametrize("data", [None, [1.0, None], [[1.0], [None]]])
def test_tensor_with_a_dtype_refuses_none(data):
    """Without a dtype None was already refused (NumPy's object dtype); with one NumPy made it
    NaN: cr.tensor([1.0, None], dtype="float64") was [1, nan]."""
    with pytest.raises(TypeError, match=r"^tensor: data (is|holds) None"):
        cr.tensor(data, dtype="float64")
    with pytest.raises(TypeError):
        cr.tensor(data)


@pytest.mark.parametrize("sample", [cr.randn, cr.rand])
def test_bfloat16_samples_are_still_taken_on_jax(sample) -> None:
    """bfloat16's NumPy kind is "V": a test for kind "f" refused it (NumPy's own tensors hold
    no bfloat16; JAX's do)."""
    jnp = pytest.importorskip("jax.numpy")
    out = sample(3, rng=0, dtype=jnp.bfloat16, xp=jnp)
    assert out.data.dtype == jnp.bfloat16
    want = sample(3, rng=0, dtype=np.float64).numpy()
    np.testing.assert_allclose(np.asarray(out.data, dtype=np.float64), want, rtol=1e-2)
