"""A pandas Series or DataFrame beside a tensor (an index, a mask, a comparison's side, a
where's condition, a backward's seed) is taken as the bare array it converts to, on every
library, as a model's inputs and a loss's targets take it (one home: ``backend.bare_array``).
It failed in pandas' words, "'Series' object has no attribute 'device'", and on a torch-backed
tensor was refused as "one of numpy", though no NumPy tensor was given. The oracle is the same
call with the Series' ``to_numpy()``."""

import numpy as np
import pytest

import chainrule as cr

pd = pytest.importorskip("pandas")

CALLS = {
    "index": lambda t, S: t[S([2, 0])],
    "mask": lambda t, S: t[S([True, False, True])],
    "less": lambda t, S: t < S([15.0, 25.0, 25.0]),
    "where": lambda t, S: cr.where(S([True, False, True]), t, 0.0),
    "frame-mask": lambda t, S: cr.where(S([[True, False, True]], frame=True), t, 0.0),
    "clip": lambda t, S: cr.clip(t, S([15.0, 15.0, 15.0]), None),
    "add": lambda t, S: t + S([1.0, 2.0, 3.0]),
    "frame-add": lambda t, S: t + S([[1.0, 2.0, 3.0]], frame=True),
}


def _make(xp, torch):
    if xp == "torch":
        return cr.tensor(torch.tensor([10.0, 20.0, 30.0]))
    return cr.tensor(np.array([10.0, 20.0, 30.0], dtype=np.float32))


def _values(got):
    return np.asarray(got.numpy() if isinstance(got, cr.Tensor) else cr.tensor(got).numpy())


def _series(values, frame=False):
    return pd.DataFrame(values) if frame else pd.Series(values)


def _array(values, frame=False):
    return np.asarray(values)


#: (library, call)
CASES = [(xp, name) for xp in ("numpy", "torch") for name in CALLS]


@pytest.mark.parametrize(("xp", "name"), CASES, ids=[f"{x}-{n}" for x, n in CASES])
def test_a_series_is_taken_as_its_values(request, xp, name):
    torch = request.getfixturevalue("torch") if xp == "torch" else None
    t, call = _make(xp, torch), CALLS[name]
    got, expected = call(t, _series), call(t, _array)
    np.testing.assert_array_equal(_values(got), _values(expected))
    assert type(getattr(got, "data", got)) is type(getattr(expected, "data", expected))


def test_a_series_seed_on_a_torch_tensor(torch):
    seeds = [pd.Series([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0], dtype=np.float32)]
    grads = []
    for seed in seeds:
        x = cr.tensor(torch.tensor([1.0, 2.0, 3.0]), requires_grad=True)
        (x * 2).backward(seed)
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[0], [2.0, 4.0, 6.0])
