"""Habits a micrograd learner or a user of other arrays brings, each met by one clear message:
a plain tensor's ``.data`` set to a number, ``cr.tensor`` of tensors that need a gradient, a
model saved with a weight of another dtype, a ``.grad`` set to 0.0, micrograd's update."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.errors import ModelFileError


def test_a_number_in_a_plain_tensors_data_is_named_at_its_next_use():
    a = cr.tensor(2.0, requires_grad=True)
    a.data = 5.0
    for use in (repr, lambda t: t.shape, lambda t: t.dtype, lambda t: t.backward()):
        with pytest.raises(TypeError, match=r"\.data that is a float \(5\.0\), not an array"):
            use(a)


def test_cr_tensor_of_a_tensor_that_needs_a_gradient_warns_as_torch_does():
    a = cr.tensor(2.0, requires_grad=True)
    b = cr.tensor(3.0, requires_grad=True)
    with pytest.warns(UserWarning, match=r"cut from the graph.*cr\.stack\(\[a, b\]\)"):
        c = cr.tensor(a * b, requires_grad=True)
    assert c.item() == 6.0
    with pytest.raises(TypeError, match=r"^cr\.tensor of a list of tensors.*cr\.stack\(\[a, b\]\)"):
        cr.tensor([a, b])
    with cr.no_grad():  # nothing to cut: the values, as before
        assert cr.tensor([a, b]).tolist() == [2.0, 3.0]


@pytest.mark.parametrize(
    "dtype", [np.float64, np.float16, np.uint8, np.int8, np.bool_, np.complex64, np.longdouble]
)
def test_save_model_refuses_a_weight_of_another_dtype_and_writes_nothing(tmp_path, dtype):
    net = nn.Sequential(nn.Linear(2, 2, dtype="float32"))
    net[0].weight.data = np.array([[0.1, 2.0], [3.0, -4.0]]).astype(dtype)
    path = tmp_path / "model"
    kind = np.dtype(dtype).name
    with pytest.raises(
        ModelFileError, match=rf"parameter '0\.weight' is {kind} but the model's are float32"
    ):
        io.save_model(path, net)
    assert not path.exists()
    # a layer of each dtype is no such weight: saved, and loaded as it was
    net = nn.Sequential(nn.Linear(2, 2, dtype="float32"), nn.Linear(2, 2, dtype="float64"))
    io.save_model(path, net)
    loaded = io.load_model(path)[0]
    assert [p.dtype for p in loaded.parameters()] == [p.dtype for p in net.parameters()]


def test_a_grad_set_to_a_number_is_met_by_zero_grad():
    p = nn.Parameter(np.ones(2))
    p.grad = 0.0
    with pytest.raises(TypeError, match=r"is a float.*opt\.zero_grad\(\) or p\.grad = None"):
        cr.optim.SGD([p], lr=0.1).step()


def test_micrograds_update_in_data_is_met_by_the_step_under_no_grad():
    p = nn.Parameter(np.ones(2))
    (p * p).sum().backward()
    with pytest.raises(TypeError, match=r"with cr\.no_grad\(\): p -= lr \* p\.grad"):
        p.data += -0.05 * p.grad


def test_a_registered_module_with_parameters_of_two_dtypes_still_saves(tmp_path):
    """A module of one's own is rebuilt by its own constructor, which may make a float64 scale
    beside a float32 layer by design: the one-dtype-per-layer refusal is for chainrule's layers
    (it refused this model, which saved and loaded at a6a0b94). The oracle: the loaded model's
    dtypes and outputs equal the saved one's."""
    from chainrule.nn import module

    class ScaledTwoDtypes(nn.Module):
        def __init__(self, n_in=3, n_out=2):
            super().__init__()
            self.n_in, self.n_out = n_in, n_out
            self.lin = nn.Linear(n_in, n_out, rng=0)
            self.scale = nn.Parameter(np.full((), 1.5, np.float64))
            self.offset = nn.Parameter(np.zeros(n_out, np.float32))  # beside it, float32

        def forward(self, x):
            return self.lin(x) * self.scale + self.offset

        def config(self):
            return {"type": "ScaledTwoDtypes", "n_in": self.n_in, "n_out": self.n_out}

    nn.register_module(ScaledTwoDtypes)
    try:
        net = nn.Sequential(ScaledTwoDtypes())
        net[0].scale.data = np.full((), 2.5, np.float64)
        path = io.save_model(tmp_path / "m", net)
        loaded, _ = io.load_model(path)
        dtypes = {name: p.dtype for name, p in loaded.named_parameters()}
        assert dtypes == {name: p.dtype for name, p in net.named_parameters()}
        x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
        np.testing.assert_array_equal(loaded(x).numpy(), net(x).numpy())
    finally:
        module._REGISTERED.pop("ScaledTwoDtypes", None)
