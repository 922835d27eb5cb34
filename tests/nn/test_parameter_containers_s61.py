"""nn.ParameterList and nn.ParameterDict, against torch 2.13's; a plain list of parameters refused.

A plain Python list of ``nn.Parameter`` assigned to a module was silently unregistered: in no
``parameters()``, optimizer or ``state_dict``, so never stepped or saved. The oracle for the
containers is PyTorch's own (names, state dict keys, reprs, one SGD step). And a frozen
parameter over a read-only NumPy array, updated in place, says so in one line.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

X = np.array([[0.5, -1.0], [2.0, 0.3], [-0.4, -0.9]])
SCALES = [np.array([1.5, -0.5]), np.array([0.25, 2.0])]
SHIFTS = {"low": np.array([0.1, -0.2]), "high": np.array([-0.3, 0.4])}


class Scaled(nn.Module):
    """Per-layer scales in a ParameterList and shifts in a ParameterDict."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2, dtype="float64", rng=0)
        self.scales = nn.ParameterList([nn.Parameter(s.copy()) for s in SCALES])
        self.shifts = nn.ParameterDict({k: nn.Parameter(v.copy()) for k, v in SHIFTS.items()})

    def forward(self, x):
        h = self.lin(x)
        for scale in self.scales:
            h = cr.tanh(h * scale)
        return h + self.shifts["low"] - self.shifts["high"]


def torch_scaled(torch, model):
    class TorchScaled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(2, 2, dtype=torch.float64)
            P = torch.nn.Parameter
            self.scales = torch.nn.ParameterList([P(torch.tensor(s)) for s in SCALES])
            self.shifts = torch.nn.ParameterDict({k: P(torch.tensor(v)) for k, v in SHIFTS.items()})

        def forward(self, x):
            h = self.lin(x)
            for scale in self.scales:
                h = torch.tanh(h * scale)
            return h + self.shifts["low"] - self.shifts["high"]

    net = TorchScaled()
    with torch.no_grad():
        net.lin.weight.copy_(torch.tensor(model.lin.weight.numpy().T))
        net.lin.bias.copy_(torch.tensor(model.lin.bias.numpy()))
    return net


def test_registered_named_and_stepped_as_in_torch(torch):
    model = Scaled()
    net = torch_scaled(torch, model)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in net.named_parameters()]
    assert list(model.state_dict()) == list(net.state_dict())
    assert list(model.state_dict())[2:] == ["scales.0", "scales.1", "shifts.high", "shifts.low"]
    opt = optim.SGD(model.parameters(), lr=0.5)
    (model(X) ** 2).sum().backward()
    (net(torch.tensor(X)) ** 2).sum().backward()
    opt.step()
    with torch.no_grad():  # SGD's step in PyTorch, by hand (torch.optim's first use is slow)
        for param in net.parameters():
            param -= 0.5 * param.grad
    ours = model.state_dict()
    for name, value in net.state_dict().items():
        theirs = value.numpy().T if name == "lin.weight" else value.numpy()
        np.testing.assert_allclose(ours[name], theirs, rtol=1e-12, atol=1e-12, err_msg=name)
    assert not np.array_equal(ours["scales.1"], SCALES[1])  # they were stepped
    again = Scaled()
    again.load_state_dict(ours)
    np.testing.assert_array_equal(again(X).numpy(), model(X).numpy())


def test_parameter_list_behaves_as_torchs(torch):
    P = nn.Parameter
    pl = nn.ParameterList([P(np.zeros((3, 2), dtype="float32")), P(np.zeros(3))])
    tl = torch.nn.ParameterList(
        [
            torch.nn.Parameter(torch.zeros(3, 2)),
            torch.nn.Parameter(torch.zeros(3, dtype=torch.float64)),
        ]
    )
    assert repr(pl) == repr(tl).replace("torch.", "")
    assert repr(nn.ParameterList()) == repr(torch.nn.ParameterList()) == "ParameterList()"
    assert len(pl) == 2 and pl[-1] is pl[1] and list(pl) == [pl[0], pl[1]]
    part = pl[1:]
    assert type(part) is nn.ParameterList and len(part) == 1 and part[0] is pl[1]
    plain = cr.Tensor(np.ones(2))  # a tensor becomes a parameter, trained, as in PyTorch
    pl.append(plain)
    assert type(pl[2]) is nn.Parameter and pl[2].requires_grad
    assert type(torch.nn.ParameterList([torch.ones(2)])[0]) is torch.nn.Parameter
    pl += [P(np.ones(1))]
    pl[0] = P(np.ones((3, 2)))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2", "3"]
    with pytest.raises(IndexError):
        pl[4]
    with pytest.raises(TypeError, match="ParameterList: item 4 must be a tensor"):
        pl.append([1.0, 2.0])
    with pytest.raises(cr.nn.ConfigError, match="position"):
        pl.head = P(np.ones(1))
    with pytest.raises(TypeError, match="cannot delete item 0"):
        del pl[0]
    assert len(pl) == 4


def test_parameter_dict_behaves_as_torchs(torch):
    P = nn.Parameter
    pd = nn.ParameterDict({"a": P(np.zeros(2)), "b": P(np.zeros((2, 2), dtype="float32"))})
    assert repr(pd) == (
        "ParameterDict(\n"
        "    (a): Parameter containing: [float64 of size 2]\n"
        "    (b): Parameter containing: [float32 of size 2x2]\n)"
    )
    assert repr(nn.ParameterDict()) == repr(torch.nn.ParameterDict()) == "ParameterDict()"
    tpd = torch.nn.ParameterDict()
    pd["c"] = cr.Tensor(np.ones(1))
    assert type(pd["c"]) is nn.Parameter and list(pd) == pd.keys() == ["a", "b", "c"]
    assert "a" in pd and len(pd) == 3 and pd.get("zz") is None
    assert pd.pop("a").shape == (2,) and pd.keys() == ["b", "c"]
    pd.update([("d", P(np.ones(3)))])
    pd.update({"f": P(np.ones(1)), "e": P(np.ones(1))})  # a dict's keys sorted, as PyTorch's
    tpd.update({"f": torch.nn.Parameter(torch.ones(1)), "e": torch.nn.Parameter(torch.ones(1))})
    assert list(tpd) == ["e", "f"]
    assert [n for n, _ in pd.named_parameters()] == ["b", "c", "d", "e", "f"]
    for key, error in [(1, TypeError), ("a.b", KeyError), ("train", KeyError)]:
        with pytest.raises(error):
            tpd[key] = torch.nn.Parameter(torch.zeros(1))
        with pytest.raises(error):
            pd[key] = P(np.zeros(1))
    with pytest.raises(TypeError, match="must be a tensor"):
        pd["e"] = "weights"
    pd.clear()
    assert len(pd) == 0 and pd.parameters() == []


@pytest.mark.parametrize(
    ("value", "container"),
    [
        ([nn.Parameter(np.ones(2))], r"nn\.ParameterList\(\[\.\.\.\]\)"),
        ((np.ones(2), nn.Parameter(np.ones(2))), r"nn\.ParameterList\(\[\.\.\.\]\)"),
        ({"w": nn.Parameter(np.ones(2))}, r"nn\.ParameterDict\(\{\.\.\.\}\)"),
    ],
)
def test_a_plain_list_or_dict_of_parameters_is_refused(value, container):
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=rf"^Linear\.extra: a \w+ holding parameters .*{container}"):
        model.extra = value
    assert [n for n, _ in model.named_parameters()] == ["weight", "bias"]
    model.sizes = [2, 3]  # a list of anything else is kept
    model.arrays = [np.ones(2)]


@pytest.mark.parametrize("frozen", [True, False])
def test_a_read_only_parameter_updated_in_place_says_so(frozen):
    """A frozen parameter (or a trained one under no_grad) whose array is a read-only NumPy
    array failed in NumPy's words, "assignment destination is read-only"."""
    array = np.ones((2, 3))
    array.setflags(write=False)
    p = nn.Parameter(array, requires_grad=not frozen)
    with cr.no_grad():
        with pytest.raises(
            ValueError, match=r"\(2, 3\).*read-only.*p\.data = p\.data\.copy\(\)"
        ) as err:
            p *= 2
        assert "\n" not in str(err.value)
        np.testing.assert_array_equal(p.data, 1.0)  # nothing changed
        p.data = p.data.copy()
        p *= 2
    np.testing.assert_array_equal(p.data, 2.0)


class Decaying(nn.Module):
    """Second references, in plain containers, to what the module registered already."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2, rng=0)
        self.head = nn.Linear(2, 1, rng=1)
        self.decayed = [self.fc.weight]
        self.pair = (self.fc.weight, self.head.weight)
        self.by_name = {"fc": self.fc.bias}
        self.blocks = [self.fc, self.head]


def test_a_plain_list_of_already_registered_parameters_or_modules_is_kept():
    net = Decaying()
    assert net.decayed[0] is net.fc.weight and net.blocks[1] is net.head
    assert [name for name, _ in net.named_parameters()] == [
        "fc.weight",
        "fc.bias",
        "head.weight",
        "head.bias",
    ]


def test_a_list_mixing_a_registered_and_an_unregistered_parameter_is_refused():
    net = Decaying()
    stray = nn.Parameter(np.ones(2))
    with pytest.raises(
        TypeError, match=r"Decaying\.decayed: a list holding parameters \(list\[1\]"
    ):
        net.decayed = [net.fc.weight, stray]
    with pytest.raises(TypeError, match=r"a list holding modules \(list\[0\] is Linear\)"):
        net.blocks = [nn.Linear(2, 2, rng=0)]
