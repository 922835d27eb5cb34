"""A parameter over a read-only NumPy array (pandas 3's ``to_numpy``, ``np.frombuffer``, a memory
map opened "r", a broadcast view) is refused by the optimizer's step before it changes anything,
in the words ``p -= ...`` refuses it with. The step failed deep inside with NumPy's "output array
is read-only" after advancing its step count (and its momentum, moments), so a retry after
``p.data = p.data.copy()`` computed other numbers than a first step would have."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

X = np.array([[1.0, 2.0, 3.0], [-0.5, 0.25, 1.5]])

OPTIMIZERS = {
    "SGD": lambda params: optim.SGD(params, lr=0.1),
    "SGD-momentum": lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
    "Adam": lambda params: optim.Adam(params, lr=0.1),
    "AdamW": lambda params: optim.AdamW(params, lr=0.1),
    "RMSprop": lambda params: optim.RMSprop(params, lr=0.1),
}
KINDS = ["frombuffer", "broadcast", "memmap", "pandas"]


def _read_only(kind, tmp_path):
    ones = np.ones((3, 1))
    if kind == "frombuffer":
        return np.frombuffer(ones.tobytes()).reshape(3, 1)
    if kind == "broadcast":
        return np.broadcast_to(np.ones(1), (3, 1))
    if kind == "memmap":
        path = tmp_path / "w.dat"
        ones.tofile(path)
        return np.memmap(path, dtype="float64", mode="r", shape=(3, 1))
    pd = pytest.importorskip("pandas")
    array = pd.DataFrame(ones).to_numpy()
    if array.flags.writeable:  # pandas before 3 returns a writable view
        array.setflags(write=False)
    return array


def _stepped(make, weight):
    lin = nn.Linear(3, 1, dtype="float64", rng=0)
    lin.weight.data = weight
    opt = make(lin.parameters())
    (lin(X) ** 2).sum().backward()
    return lin, opt


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_a_read_only_weight_is_refused_before_the_step_changes_anything(make, kind, tmp_path):
    lin, opt = _stepped(make, _read_only(kind, tmp_path))
    bias, before = lin.bias.numpy().copy(), opt.state_dict()
    name = type(opt).__name__
    with pytest.raises(
        ValueError,
        match=rf"^{name}\.step: parameter 0 of shape \(3, 1\) holds a read-only NumPy array .*"
        r"copy it first: p\.data = p\.data\.copy\(\)$",
    ):
        opt.step()
    np.testing.assert_array_equal(lin.bias.numpy(), bias)  # no parameter moved
    after = opt.state_dict()
    assert after["state"].keys() == before["state"].keys()
    for key, value in before["state"].items():
        np.testing.assert_array_equal(after["state"][key], value, err_msg=key)
    # the fix the message names, then the step a fresh optimizer on a writable copy makes
    lin.weight.data = lin.weight.data.copy()
    opt.step()
    fresh, fresh_opt = _stepped(make, np.ones((3, 1)))
    fresh_opt.step()
    np.testing.assert_array_equal(lin.weight.numpy(), fresh.weight.numpy())
    np.testing.assert_array_equal(lin.bias.numpy(), fresh.bias.numpy())


def test_the_in_place_update_and_the_step_share_their_words():
    array = np.ones((3, 1))
    array.setflags(write=False)
    p = nn.Parameter(array)
    with cr.no_grad(), pytest.raises(ValueError) as by_hand:
        p -= 0.1
    p.grad = np.ones((3, 1))
    with pytest.raises(ValueError) as by_step:
        optim.SGD([p], lr=0.1).step()
    assert str(by_step.value) == str(by_hand.value).replace("-=:", "SGD.step:").replace(
        "the parameter", "parameter 0"
    )
