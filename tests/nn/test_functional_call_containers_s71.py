"""``nn.functional_call`` on parameters held in an ``nn.ParameterList`` or ``nn.ParameterDict``
(QA: a silent wrong number). The call swaps the value given into the attribute; the containers
read their registered parameters, so ``pl[0]`` and ``pd["a"]`` in a forward used the model's
own, the value given was ignored and ``cr.grad`` gave zeros. Every read path (index, negative
index, slice, iteration, ``values``, ``items``, ``get``) must see the value given, and the module
must hold its own parameters afterwards, also when the forward raises. PyTorch
(``torch.func.functional_call`` and ``torch.func.grad``) is the oracle, and central finite
differences where PyTorch's slice cuts the gradient (its ``Parameter(t)`` detaches).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

X = np.array([[1.0, 2.0], [-0.5, 0.3]])
OWN = {
    "Ws.0": np.array([[0.3, -0.2], [0.5, 0.1]]),
    "Ws.1": np.array([[-0.4, 0.7], [0.2, 0.6]]),
    "Ws.2": np.array([[0.9, 0.05], [-0.3, 0.2]]),
    "pd.a": np.array([0.2, -0.1]),
    "pd.b": np.array([-0.6, 0.4]),
}
GIVEN = {
    "Ws.0": np.array([[1.1, 0.4], [-0.2, 0.8]]),
    "Ws.1": np.array([[0.0, -0.5], [0.3, 1.2]]),
    "Ws.2": np.array([[-0.7, 0.6], [0.25, -0.1]]),
    "pd.a": np.array([0.5, 0.9]),
    "pd.b": np.array([1.3, -0.2]),
}


def _build(module, params, parameter_list, parameter_dict):
    module.Ws = parameter_list([params(OWN[f"Ws.{i}"]) for i in range(3)])
    module.pd = parameter_dict({"a": params(OWN["pd.a"]), "b": params(OWN["pd.b"])})


class Indexed(nn.Module):
    """Reads the containers by index and key only, as the torch twin does."""

    def __init__(self):
        super().__init__()
        _build(self, nn.Parameter, nn.ParameterList, nn.ParameterDict)

    def forward(self, x):
        h = cr.tanh(x @ self.Ws[0] + self.pd["a"])
        h = cr.tanh(h @ self.Ws[1])
        return ((h @ self.Ws[-1]) * self.pd["b"]).sum()


def _torch_indexed(torch):
    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()

            def param(a):
                return torch.nn.Parameter(torch.from_numpy(a.copy()))

            _build(self, param, torch.nn.ParameterList, torch.nn.ParameterDict)

        def forward(self, x):
            h = torch.tanh(x @ self.Ws[0] + self.pd["a"])
            h = torch.tanh(h @ self.Ws[1])
            return ((h @ self.Ws[-1]) * self.pd["b"]).sum()

    return Twin()


class EveryPath(nn.Module):
    """Reads every item through a different path of its container."""

    def __init__(self):
        super().__init__()
        _build(self, nn.Parameter, nn.ParameterList, nn.ParameterDict)

    def forward(self, x):
        h = x
        for W in self.Ws[1:]:  # a slice, then iteration over it
            h = cr.tanh(h @ W)
        first = next(iter(self.Ws))  # iteration over the list itself
        values = self.pd.values()
        b = dict(self.pd.items())["b"]
        a = self.pd.get("a")
        return ((h @ first) * values[0] * b).sum() + (a * self.Ws[-3][0]).sum()


def _every_path_by_hand(p):
    """EveryPath's forward written out on a dict of arrays (NumPy): the closed form."""
    h = np.tanh(np.tanh(X @ p["Ws.1"]) @ p["Ws.2"])
    return float(((h @ p["Ws.0"]) * p["pd.a"] * p["pd.b"]).sum() + (p["pd.a"] * p["Ws.0"][0]).sum())


def _numeric_gradient(f, point, step=1e-6):
    grads = {}
    for name, value in point.items():
        g = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            up = {k: v.copy() for k, v in point.items()}
            down = {k: v.copy() for k, v in point.items()}
            up[name][i] += step
            down[name][i] -= step
            g[i] = (f(up) - f(down)) / (2 * step)
        grads[name] = g
    return grads


def _own_held(model):
    return [*model.Ws, *model.pd.values()]


def test_the_qa_repro_uses_the_values_given():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.Ws = nn.ParameterList([nn.Parameter(np.ones((2, 2)))])
            self.pd = nn.ParameterDict({"a": nn.Parameter(np.ones(2))})

        def forward(self, x):
            return (x @ self.Ws[0]).sum() + (x * self.pd["a"]).sum()

    m, x = M(), cr.tensor(np.ones((1, 2)))
    out = nn.functional_call(m, {"Ws.0": np.zeros((2, 2)), "pd.a": np.zeros(2)}, x)
    assert out.item() == 0.0  # torch.func.functional_call gives 0.0; the old code gave 6.0


def test_values_and_gradients_match_torch_func():
    torch = pytest.importorskip("torch")
    model, twin = Indexed(), _torch_indexed(torch)
    value = nn.functional_call(model, GIVEN, cr.tensor(X)).item()
    given_t = {k: torch.from_numpy(v) for k, v in GIVEN.items()}
    x_t = torch.from_numpy(X)
    expected = torch.func.functional_call(twin, given_t, (x_t,)).item()
    assert value == pytest.approx(expected, rel=1e-12)
    grads = cr.grad(lambda p: nn.functional_call(model, p, cr.tensor(X)))(GIVEN)
    oracle = torch.func.grad(lambda p: torch.func.functional_call(twin, p, (x_t,)))(given_t)
    for name in GIVEN:
        assert np.abs(oracle[name].detach().numpy()).max() > 0.05  # a gradient of zeros would pass
        np.testing.assert_allclose(grads[name].numpy(), oracle[name].detach().numpy(), rtol=1e-10)


def test_every_read_path_sees_the_values_given():
    model = EveryPath()
    assert nn.functional_call(model, GIVEN, cr.tensor(X)).item() == pytest.approx(
        _every_path_by_hand(GIVEN), rel=1e-12
    )
    assert model(cr.tensor(X)).item() == pytest.approx(_every_path_by_hand(OWN), rel=1e-12)
    grads = cr.grad(lambda p: nn.functional_call(model, p, cr.tensor(X)))(GIVEN)
    numeric = _numeric_gradient(_every_path_by_hand, GIVEN)
    for name in GIVEN:  # the slice's items too (a torch slice makes Parameters: zeros there)
        np.testing.assert_allclose(grads[name].numpy(), numeric[name], rtol=1e-6, atol=1e-8)


def test_keys_len_and_in_are_unchanged_inside_the_call():
    seen = {}

    class Looks(nn.Module):
        def __init__(self):
            super().__init__()
            _build(self, nn.Parameter, nn.ParameterList, nn.ParameterDict)

        def forward(self, x):
            seen.update(
                n=len(self.Ws), keys=self.pd.keys(), has_a="a" in self.pd, listed=list(self.pd)
            )
            seen["named"] = [name for name, _ in self.named_parameters()]
            return (x @ self.Ws[0]).sum()

    model = Looks()
    nn.functional_call(model, {"Ws.0": GIVEN["Ws.0"]}, cr.tensor(X))
    assert seen == {
        "n": 3,
        "keys": ["a", "b"],
        "has_a": True,
        "listed": ["a", "b"],
        "named": list(OWN),
    }


def test_the_module_is_restored_after_the_call_and_after_a_raise():
    model = EveryPath()
    own = _own_held(model)
    nn.functional_call(model, GIVEN, cr.tensor(X))
    assert all(a is b for a, b in zip(_own_held(model), own, strict=True))

    class Fails(EveryPath):
        def forward(self, x):
            assert np.array_equal(self.Ws[0].numpy(), GIVEN["Ws.0"])  # swapped in
            raise RuntimeError("forward failed")

    failing = Fails()
    own = _own_held(failing)
    with pytest.raises(RuntimeError, match="forward failed"):
        nn.functional_call(failing, GIVEN, cr.tensor(X))
    assert all(a is b for a, b in zip(_own_held(failing), own, strict=True))
    assert failing.Ws[-1] is own[2] and failing.pd["b"] is own[4]
    assert failing.pd.get("a") is own[3] and failing.pd.items()[1][1] is own[4]
    assert all(a is b for a, b in zip(failing.Ws[1:], own[1:3], strict=True))


def test_a_parameter_tied_between_a_list_and_an_attribute():
    torch = pytest.importorskip("torch")

    class Tied(Indexed):
        def __init__(self):
            super().__init__()
            self.w = self.Ws[0]  # one Parameter, two names: "Ws.0" and "w"

        def forward(self, x):
            return super().forward(x) + (x @ self.w).sum()

    twin = _torch_indexed(torch)
    twin.w = twin.Ws[0]
    twin.forward = lambda x: type(twin).forward(twin, x) + (x @ twin.w).sum()
    model = Tied()
    own = model.w
    x_t = torch.from_numpy(X)
    for name in ("Ws.0", "w"):  # a value under either name is used at both uses
        given = {name: GIVEN["Ws.0"]}
        value = nn.functional_call(model, given, cr.tensor(X)).item()
        given_t = {name: torch.from_numpy(GIVEN["Ws.0"])}
        expected = torch.func.functional_call(twin, given_t, (x_t,)).item()
        assert value == pytest.approx(expected, rel=1e-12)
        grad = cr.grad(lambda p: nn.functional_call(model, p, cr.tensor(X)))(given)[name]
        oracle = torch.func.grad(lambda p: torch.func.functional_call(twin, p, (x_t,)))(given_t)
        np.testing.assert_allclose(grad.numpy(), oracle[name].detach().numpy(), rtol=1e-10)
    assert model.w is own and model.Ws[0] is own  # both places hold it again


def test_the_vector_recipe_gives_torchs_gradient():
    """docs/nn.md's L-BFGS recipe: the loss a function of one vector (unflatten_parameters)."""
    torch = pytest.importorskip("torch")
    model, twin = Indexed(), _torch_indexed(torch)
    names = [name for name, _ in model.named_parameters()]
    theta = np.concatenate([GIVEN[name].ravel() for name in names])

    def loss(vector):
        return nn.functional_call(model, nn.unflatten_parameters(vector, model), cr.tensor(X))

    gradient = cr.grad(loss)(theta).numpy()
    given_t = {k: torch.from_numpy(v) for k, v in GIVEN.items()}
    x_t = torch.from_numpy(X)
    oracle = torch.func.grad(lambda p: torch.func.functional_call(twin, p, (x_t,)))(given_t)
    expected = np.concatenate([oracle[name].detach().numpy().ravel() for name in names])
    np.testing.assert_allclose(gradient, expected, rtol=1e-10)
    assert loss(theta).item() == pytest.approx(
        torch.func.functional_call(twin, given_t, (x_t,)).item(), rel=1e-12
    )
