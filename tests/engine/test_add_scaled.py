"""backend.add_scaled: ``y += alpha * x`` in one pass, through BLAS axpy of NumPy's own OpenBLAS
for large arrays, and NumPy's two passes for everything else."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import types

import numpy as np
import pytest

from chainrule import backend

BIG = (300, 300)  # 90,000 elements: past backend._AXPY_MIN_SIZE
assert BIG[0] * BIG[1] >= backend._AXPY_MIN_SIZE


@pytest.fixture
def calls(monkeypatch):
    """Count the BLAS calls: the real axpy table, each function wrapped by a spy."""
    table = backend._find_axpy()
    if not table:
        pytest.skip("this NumPy bundles no scipy-openblas (MKL, Accelerate or a system BLAS)")
    seen: list[object] = []

    def spy(axpy):
        def call(*args):
            seen.append(args[0])
            return axpy(*args)

        return call

    monkeypatch.setattr(backend, "_axpy_by_dtype", {k: spy(f) for k, f in table.items()})
    return seen


def _within_one_rounding(result: np.ndarray, exact: np.ndarray) -> bool:
    """Every element within one unit in the last place of the exact value, in result's dtype."""
    ulp = np.spacing(np.abs(exact).astype(result.dtype))
    return bool(np.all(np.abs(result.astype(exact.dtype) - exact) <= ulp))


# the oracle is exact in ``wide`` before its one rounding: a float32 product fits a float64, and a
# float64 times a power of two is exact
@pytest.mark.parametrize(
    "dtype, wide, alpha", [(np.float32, np.float64, -0.1), (np.float64, np.longdouble, -0.5)]
)
def test_a_large_array_takes_one_blas_call_and_is_right_to_its_last_bit(calls, dtype, wide, alpha):
    rng = np.random.default_rng(0)
    y, x = rng.standard_normal(BIG).astype(dtype), rng.standard_normal(BIG).astype(dtype)
    exact = y.astype(wide) + wide(dtype(alpha)) * x.astype(wide)
    backend.add_scaled(y, alpha, x)
    assert calls == [y.size]
    assert y.dtype == dtype
    assert _within_one_rounding(y, exact)


def test_x_may_be_y_itself(calls):
    y = np.random.default_rng(1).standard_normal(BIG).astype(np.float32)
    exact = y.astype(np.float64) * (1 + np.float64(np.float32(0.5)))
    backend.add_scaled(y, 0.5, y)
    assert calls == [y.size]
    assert _within_one_rounding(y, exact)


def _cases():
    rng = np.random.default_rng(2)
    big = rng.standard_normal(BIG).astype(np.float32)
    flat = rng.standard_normal(BIG[0] * BIG[1] + 1).astype(np.float32)
    return {
        "small": (big[:10, :10].copy(), big[10:20, :10].copy()),
        "y transposed": (big.T.copy().T, big.copy()),
        "x transposed": (big.copy(), big.T),
        "overlapping views": (flat[1:], flat[:-1]),
        "x float64, y float32": (big.copy(), big.astype(np.float64)),
        "integers": (np.arange(BIG[0] * BIG[1]), np.ones(BIG[0] * BIG[1], np.int64)),
        "byte-swapped": (big.astype(">f4"), big.astype(">f4")),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_every_other_array_gets_numpys_own_bits(calls, case):
    y, x = _cases()[case]
    expected = np.array(y, copy=True)
    expected += 3 * np.asarray(x)
    backend.add_scaled(y, 3, x)
    assert calls == []
    np.testing.assert_array_equal(y, expected)


def test_a_read_only_array_is_refused_as_numpy_refuses_it_and_stays_unchanged(calls):
    y = np.ones(BIG, np.float32)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        backend.add_scaled(y, 1.0, np.ones(BIG, np.float32))
    assert calls == []
    assert np.all(y == 1)


def test_threads_update_their_own_arrays_at_once(calls):
    rng = np.random.default_rng(3)
    pairs = [(rng.standard_normal(BIG), rng.standard_normal(BIG)) for _ in range(4)]
    exact = [y.astype(np.longdouble) - np.longdouble(0.25) * x for y, x in pairs]

    def work(y, x):
        for _ in range(20):
            backend.add_scaled(y, -0.25 / 20, x)

    threads = [threading.Thread(target=work, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 80
    for (y, _), want in zip(pairs, exact):
        np.testing.assert_allclose(y, want.astype(np.float64), rtol=0, atol=1e-13)


def test_a_library_whose_axpy_gives_wrong_numbers_is_not_used():
    def does_nothing(*args):
        return None

    library = types.SimpleNamespace(
        scipy_cblas_saxpy64_=does_nothing, scipy_cblas_daxpy64_=does_nothing
    )
    assert backend._bind_axpy(library) == {}


def _table_size(env: dict[str, str]) -> str:
    code = "import chainrule.backend as b; print(len(b._find_axpy()))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def test_chainrule_blas_numpy_switches_the_blas_path_off():
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_AXPY"}
    assert _table_size(dict(env, CHAINRULE_AXPY="numpy")) == "0"
    if backend._find_axpy():  # where this NumPy bundles its OpenBLAS, a fresh process finds it
        assert _table_size(env) == "2"


@pytest.mark.parametrize("alpha", [0.0, -0.0, -1e-46, 2.0**-150, -(2.0**-150)])  # 0 in float32
def test_alpha_zero_still_propagates_nan_and_inf_as_numpy_does(calls, alpha):
    """OpenBLAS's axpy returns at once for alpha 0, which would drop 0 * nan = nan: a learning
    rate annealed to 0 must not hide a NaN gradient in a large weight only."""
    y = np.ones(BIG, np.float32)
    x = np.zeros(BIG, np.float32)
    x[0, 0], x[0, 1] = np.nan, np.inf
    with np.errstate(invalid="ignore"):
        backend.add_scaled(y, alpha, x)
    assert calls == []
    assert np.isnan(y[0, 0]) and np.isnan(y[0, 1]) and y[0, 2] == 1


@pytest.mark.parametrize(
    "setting", [{"over": "raise"}, {"invalid": "raise", "over": "ignore"}, {"all": "call"}]
)
def test_numpys_loud_error_handling_is_honoured_for_large_arrays_too(calls, setting):
    """BLAS reports no floating-point errors, so a call made while NumPy raises (or calls or
    logs) on them goes through NumPy, whatever the size."""
    y, x = np.ones(BIG, np.float32), np.ones(BIG, np.float32)
    y[0, 0] = x[0, 0] = np.inf  # inf - 10 inf: invalid
    y[0, 1] = x[0, 1] = 3e38  # 3e38 - 3e39: overflow
    seen = []
    with np.errstate(**setting, call=lambda kind, flag: seen.append(kind)):
        if "call" in setting.values():
            backend.add_scaled(y, -10.0, x)
            assert seen
        else:
            with pytest.raises(FloatingPointError):
                backend.add_scaled(y, -10.0, x)
    assert calls == []


@pytest.mark.parametrize("alpha", [2, np.float64(-0.5), np.float32(-0.5)])
def test_an_alpha_other_than_a_python_float_keeps_numpys_promotion(calls, alpha):
    rng = np.random.default_rng(4)
    y, x = rng.standard_normal(BIG).astype(np.float32), rng.standard_normal(BIG).astype(np.float32)
    expected = y.copy()
    expected += alpha * x
    backend.add_scaled(y, alpha, x)
    assert calls == []
    np.testing.assert_array_equal(y, expected)


def test_a_read_only_x_takes_the_blas_path_through_its_address(calls):
    """The data address is read through a ctypes view of the buffer, which a read-only array
    cannot give: x is read-only here (a gradient broadcast from a shared constant may be) and is
    still read from its own memory, not a copy or another array's."""
    rng = np.random.default_rng(5)
    y = rng.standard_normal(BIG).astype(np.float32)
    x = rng.standard_normal(BIG).astype(np.float32)
    x.flags.writeable = False
    exact = y.astype(np.float64) + np.float64(np.float32(-0.25)) * x.astype(np.float64)
    backend.add_scaled(y, -0.25, x)
    assert calls == [y.size]
    assert _within_one_rounding(y, exact)
    assert backend._address(x) == x.ctypes.data
    assert backend._address(y) == y.ctypes.data
    assert backend._address(y[1:]) == y[1:].ctypes.data


@pytest.mark.parametrize("alpha", [2.0**-150 * 1.0000001, -1e-45, 1e-40])
def test_an_alpha_just_above_zero_in_the_dtype_takes_blas(calls, alpha):
    """alpha rounds to float32's smallest subnormal, not 0: axpy multiplies, as NumPy would."""
    assert np.float32(alpha) != 0
    y = np.ones(BIG, np.float32)
    x = np.zeros(BIG, np.float32)
    x[0, 0] = np.nan
    backend.add_scaled(y, alpha, x)
    assert calls == [y.size]
    assert np.isnan(y[0, 0]) and y[0, 1] == 1


def test_the_error_handling_is_looked_at_again_whenever_it_changes(calls):
    """The silent-or-loud answer is kept per NumPy error-handling object: every errstate and
    seterr makes a new one, so a change between two updates is seen by the second."""
    y, x = np.ones(BIG, np.float32), np.ones(BIG, np.float32)
    backend.add_scaled(y, -1.0, x)  # the default: BLAS
    with np.errstate(over="raise"):
        backend.add_scaled(y, -1.0, x)  # NumPy's own update
    backend.add_scaled(y, -1.0, x)  # BLAS again
    previous = np.seterr(invalid="log")
    try:
        backend.add_scaled(y, -1.0, x)  # NumPy's
    finally:
        np.seterr(**previous)
    backend.add_scaled(y, -1.0, x)
    assert calls == [y.size, y.size, y.size]
    assert np.all(y == -4)


def test_the_error_handling_of_each_thread_is_its_own(calls):
    """errstate is per thread (a context variable): a loud thread does not make a silent one
    take NumPy's path, nor the other way round."""
    y = [np.ones(BIG, np.float32) for _ in range(2)]
    x = np.ones(BIG, np.float32)
    loud_ready, silent_done = threading.Event(), threading.Event()
    loud_calls = []

    def loud():
        with np.errstate(over="raise"):
            loud_ready.set()
            silent_done.wait(5)
            before = len(calls)
            backend.add_scaled(y[0], -1.0, x)
            loud_calls.append(len(calls) - before)

    thread = threading.Thread(target=loud)
    thread.start()
    loud_ready.wait(5)
    backend.add_scaled(y[1], -1.0, x)
    silent_done.set()
    thread.join(5)
    assert calls == [y[1].size] and loud_calls == [0]


@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_overlapping_buffers_take_numpys_update(calls, shift):
    """Two views of one buffer that overlap (by all but one element, or exactly: another view
    object of the same memory) are NumPy's: axpy would read elements it has already written."""
    size = BIG[0] * BIG[1]
    flat = np.random.default_rng(5).standard_normal(size + 2).astype(np.float32)
    y, x = flat[1 : size + 1], flat[1 + shift : size + 1 + shift]
    expected = np.array(y, copy=True)
    expected += 0.5 * np.array(x, copy=True)
    backend.add_scaled(y, 0.5, x)
    assert calls == []
    np.testing.assert_array_equal(y, expected)


def test_adjacent_buffers_that_do_not_overlap_take_axpy(calls):
    """One buffer's halves touch end to start without sharing an element: BLAS's."""
    size = BIG[0] * BIG[1]
    flat = np.random.default_rng(6).standard_normal(2 * size).astype(np.float32)
    y, x = flat[:size], flat[size:]
    exact = y.astype(np.float64) + np.float64(np.float32(0.5)) * x.astype(np.float64)
    backend.add_scaled(y, 0.5, x)
    assert calls == [size]
    assert _within_one_rounding(y, exact)
