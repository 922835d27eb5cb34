"""A 0-d op result holds a 0-d NumPy array, as a 0-d tensor the user makes does.

NumPy gives a scalar (``numpy.float64``), not an array, for a reduction over every axis and for
an elementwise op on 0-d arrays, and the engine kept it as the result's ``data``: ``t.data[...]
= v`` raised, ``t.numpy()`` was a new array at every call (writing it changed nothing, where it
shares the tensor's memory for every other tensor), and ``torch.from_numpy(t.data)`` refused it.
The reference is ``cr.tensor(3.0)``, a 0-d array.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

ZERO_D_OPS = {
    "sum over every axis": lambda x, s: x.sum(),
    "mean": lambda x, s: x.mean(),
    "max": lambda x, s: x.max(),
    "an element": lambda x, s: x[1],
    "vector @ vector": lambda x, s: x @ x,
    "0-d times 0-d": lambda x, s: s * s,
    "exp of 0-d": lambda x, s: cr.exp(s),
    "0-d plus a number": lambda x, s: s + 1.0,
}


def _result(op: str, recording: bool) -> cr.Tensor:
    x = cr.tensor([1.0, 2.0, 4.0], requires_grad=recording)
    s = cr.tensor(3.0, requires_grad=recording)
    return ZERO_D_OPS[op](x, s)


@pytest.mark.parametrize("recording", [True, False], ids=["recorded", "constant"])
@pytest.mark.parametrize("op", ZERO_D_OPS)
def test_a_0d_result_holds_an_array_like_a_0d_tensor_made_by_the_user(op, recording):
    made = cr.tensor(3.0)
    result = _result(op, recording)
    assert result.shape == () and type(result.data) is type(made.data), type(result.data)


@pytest.mark.parametrize("op", ZERO_D_OPS)
def test_a_0d_results_values_are_written_in_place_and_shared_by_numpy(op):
    """What a user does with ``.data`` and ``.numpy()``, as on ``cr.tensor(3.0)``."""
    with cr.no_grad():
        result = _result(op, recording=False)
    result.data[...] = 7.0
    assert result.item() == 7.0
    view = result.numpy()
    assert np.shares_memory(view, result.data)
    view[...] = 5.0
    assert result.item() == 5.0


def test_a_0d_result_goes_to_torch_without_a_copy(torch):
    with cr.no_grad():
        result = cr.tensor([1.0, 2.0]).sum()
    shared = torch.from_numpy(result.data)
    shared.add_(1.0)
    assert result.item() == 4.0


@pytest.mark.parametrize("op", ZERO_D_OPS)
def test_a_0d_result_still_differentiates_as_before(op):
    """The gradient through the 0-d results, against central differences."""
    x = cr.tensor([1.0, 2.0, 4.0], requires_grad=True)
    s = cr.tensor(3.0, requires_grad=True)
    (ZERO_D_OPS[op](x, s) * 2.0).backward()
    h = 1e-6
    for leaf in (x, s):
        base = leaf.numpy().copy()
        for i in np.ndindex(base.shape):
            values = []
            for step in (h, -h):
                shifted = base.copy()
                shifted[i] += step
                args = {"x": cr.tensor(shifted) if leaf is x else cr.tensor(x.numpy())}
                args["s"] = cr.tensor(shifted) if leaf is s else cr.tensor(s.numpy())
                values.append(float((ZERO_D_OPS[op](args["x"], args["s"]) * 2.0).item()))
            expected = (values[0] - values[1]) / (2 * h)
            got = 0.0 if leaf.grad is None else float(np.asarray(leaf.grad.numpy())[i])
            assert got == pytest.approx(expected, rel=1e-6, abs=1e-6), (op, i)
