"""Review 3 of stop 71: once ``named_parameters()`` gave a ``functional_call``'s values (7f073db),
the model's own state read and wrote them too: ``load_state_dict`` in another thread while a call
was under way wrote into the caller's array and left the model's weights as they were, and
``state_dict()`` returned the caller's values. The state (state dict, load, zero_grad, to) is the
registered parameters'; only ``parameters()`` / ``named_parameters()`` read in the forward give
the values given, as in torch.func."""

import threading

import numpy as np

import chainrule as cr
from chainrule import nn


def _model_with_a_paused_forward():
    lin = nn.Linear(2, 1, dtype="float64", rng=0)
    started, go = threading.Event(), threading.Event()

    class Slow(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = lin

        def forward(self, x):
            started.set()
            assert go.wait(10)
            return self.l(x)

    return Slow(), lin, started, go


def test_a_load_in_another_thread_during_a_call_writes_the_model_not_the_callers_array():
    model, lin, started, go = _model_with_a_paused_forward()
    given = np.full((2, 1), 9.0)
    call = threading.Thread(
        target=lambda: nn.functional_call(model, {"l.weight": given}, np.ones((1, 2)))
    )
    call.start()
    assert started.wait(10)
    try:
        state = model.state_dict()
        model.load_state_dict({"l.weight": np.full((2, 1), 3.0), "l.bias": np.zeros(1)})
    finally:
        go.set()
        call.join()
    assert not np.array_equal(state["l.weight"], given)  # the model's own, not the caller's
    np.testing.assert_array_equal(lin.weight.data, np.full((2, 1), 3.0))
    np.testing.assert_array_equal(given, np.full((2, 1), 9.0))  # the caller's array untouched


def test_parameters_read_in_the_forward_still_give_the_values_given():
    class Penalised(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 1, dtype="float64", rng=0)

        def forward(self, x):
            return self.lin(x).sum() + sum((p**2).sum() for p in self.parameters())

    model, x = Penalised(), cr.tensor(np.ones((2, 3)))
    values = {k: p.data.copy() for k, p in model.named_parameters()}
    grads = cr.grad(lambda w: nn.functional_call(model, w, x))(values)
    expected = x.numpy().sum(0)[:, None] + 2 * values["lin.weight"]  # closed form
    np.testing.assert_allclose(grads["lin.weight"].numpy(), expected, rtol=1e-12)
