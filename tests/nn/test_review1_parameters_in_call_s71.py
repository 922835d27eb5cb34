"""Review 1 of s71: under functional_call, ``self.parameters()`` and ``named_parameters()`` read
in a forward gave the model's own weights (torch.func gives the values given), so a weight
penalty summed over them was a constant: cr.grad missed its 2w, silently. They read each
module's parameters as its attributes hold them now (``_parameters_in_use``)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

X = np.random.default_rng(0).standard_normal((4, 3))


class Penalised(nn.Module):
    """A loss with an L2 penalty over ``self.parameters()``, as a regulariser is written."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 1, dtype="float64", rng=0)

    def forward(self, x):
        return self.lin(x).sum() + sum((p**2).sum() for p in self.parameters())


def test_a_penalty_over_parameters_is_differentiated_as_torch_func_does():
    torch = pytest.importorskip("torch")
    from torch.func import functional_call as torch_call
    from torch.func import grad as torch_grad

    model = Penalised()
    params = {k: p.data for k, p in model.named_parameters()}
    got = cr.grad(lambda w: nn.functional_call(model, w, cr.tensor(X)))(params)

    class TorchPenalised(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 1).double()

        def forward(self, x):
            return self.lin(x).sum() + sum((p**2).sum() for p in self.parameters())

    theirs = {  # torch's Linear weight is (n_out, n_in): chainrule's transposed
        "lin.weight": torch.tensor(params["lin.weight"].T.copy()),
        "lin.bias": torch.tensor(params["lin.bias"].copy()),
    }
    twin = TorchPenalised()
    wanted = torch_grad(lambda w: torch_call(twin, w, (torch.tensor(X),)))(theirs)
    np.testing.assert_allclose(np.asarray(got["lin.weight"]), wanted["lin.weight"].numpy().T)
    np.testing.assert_allclose(np.asarray(got["lin.bias"]), wanted["lin.bias"].numpy())
    # the closed form: sum over cases of x, plus the penalty's 2w
    np.testing.assert_allclose(
        np.asarray(got["lin.weight"]), X.sum(0)[:, None] + 2 * params["lin.weight"]
    )


def test_named_parameters_in_a_call_are_the_values_given_and_the_models_own_after():
    model = Penalised()
    own = model.named_parameters()
    seen = {}

    class Peek(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, x):
            seen.update(self.named_parameters())
            return self.inner(x)

    peek = Peek()
    state = model.state_dict()
    given = cr.tensor(np.full((3, 1), 5.0))
    nn.functional_call(peek, {"inner.lin.weight": given}, X)
    assert seen["inner.lin.weight"] is given
    assert seen["inner.lin.bias"] is model.lin.bias  # not given: its own
    after = model.named_parameters()
    assert [n for n, _ in after] == [n for n, _ in own]
    assert all(a is b for (_, a), (_, b) in zip(after, own))  # the registered objects again
    assert all(np.array_equal(state[k], v) for k, v in model.state_dict().items())


def test_a_tied_parameter_is_listed_once_with_the_value_given_under_its_second_name():
    lin = nn.Linear(2, 2, dtype="float64", rng=0)
    net = nn.Sequential(lin, nn.Tanh(), lin)
    listed = []

    class Peek(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            listed.extend(self.named_parameters())
            return self.net(x)

    W = cr.tensor(np.eye(2))
    nn.functional_call(Peek(), {"net.2.weight": W}, np.ones((1, 2)))
    assert [name for name, _ in listed] == ["net.0.weight", "net.0.bias"]
    assert listed[0][1] is W


def test_one_value_given_for_two_parameters_lists_both():
    """Listed once per parameter, not per value: two layers given one array both appear."""
    net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Linear(2, 2, rng=1))
    names = []

    class Peek(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            names.extend(n for n, _ in self.named_parameters())
            return self.net(x)

    W = cr.tensor(np.eye(2, dtype=np.float32))
    nn.functional_call(Peek(), {"net.0.weight": W, "net.1.weight": W}, np.ones((1, 2)))
    assert names == ["net.0.weight", "net.0.bias", "net.1.weight", "net.1.bias"]
