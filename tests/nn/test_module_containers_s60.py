"""nn.ModuleList and nn.ModuleDict, against torch 2.13's; and a plain list of modules refused.

A plain Python list of layers assigned to a module was silently unregistered: its layers got
``.grad`` from backward but were never stepped, zeroed or saved. The oracle for the containers
is PyTorch's own (names, positions after insert/del, reprs, the errors' types, one SGD step).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.interop import state_dict_from_torch

X = np.array([[0.5, -1.0], [2.0, 0.3], [-0.4, -0.9]])


class Tower(nn.Module):
    """A stack of tanh layers held in a ModuleList, and two heads in a ModuleDict."""

    def __init__(self, depth: int = 3, seed: int = 0) -> None:
        super().__init__()
        self.depth, self.seed = depth, seed
        self.layers = nn.ModuleList(
            [nn.Linear(2, 2, dtype="float64", rng=seed + i) for i in range(depth)]
        )
        self.heads = nn.ModuleDict({"a": nn.Linear(2, 1, dtype="float64", rng=seed + 10)})
        self.heads["b"] = nn.Linear(2, 1, dtype="float64", rng=seed + 11)

    def forward(self, x):
        for layer in self.layers:
            x = cr.tanh(layer(x))
        return self.heads["a"](x) + self.heads["b"](x)

    def config(self):
        return {"type": "Tower", "depth": self.depth, "seed": self.seed}


def torch_tower(torch, depth: int = 3):
    class TorchTower(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(depth)])
            self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(2, 1)})
            self.heads["b"] = torch.nn.Linear(2, 1)

        def forward(self, x):
            for layer in self.layers:
                x = torch.tanh(layer(x))
            return self.heads["a"](x) + self.heads["b"](x)

    return TorchTower().double()


def test_a_model_holding_containers_names_saves_and_steps_its_layers_as_torch(torch) -> None:
    ours, theirs = Tower(), torch_tower(torch)
    names = [name for name, _ in ours.named_parameters()]
    assert names == [name for name, _ in theirs.named_parameters()]
    assert names[:2] == ["layers.0.weight", "layers.0.bias"] and names[-1] == "heads.b.bias"
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(state_dict_from_torch(theirs.state_dict()))
    # one SGD step in each: every layer of the list and the dict is stepped
    opt = optim.SGD(ours.parameters(), lr=0.1)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    ours(X).sum().backward()
    theirs(torch.tensor(X)).sum().backward()
    opt.step()
    topt.step()
    stepped = state_dict_from_torch(theirs.state_dict())
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(value, stepped[name], rtol=1e-12, atol=1e-14, err_msg=name)
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_train_eval_and_to_reach_every_layer_of_the_containers() -> None:
    model = Tower()
    model.layers.append(nn.Dropout(0.5, rng=0))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.to("float32")
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}


def test_module_list_edits_number_the_layers_as_torch(torch) -> None:
    def edited(nn_, make):
        ml = nn_.ModuleList([make(i) for i in range(3)])
        ml.append(make(3))
        ml.extend([make(4), make(5)])
        ml.insert(1, make(6))
        ml.insert(len(ml) - 1, make(7))  # torch's insert takes no negative index
        del ml[0]
        popped = ml.pop(2)
        ml[0] = make(8)
        ml += [make(9)]
        return ml, popped

    ours, popped = edited(nn, lambda i: nn.Linear(1, i + 1, rng=i))
    theirs, tpopped = edited(torch.nn, lambda i: torch.nn.Linear(1, i + 1))
    assert [m.n_out for m in ours] == [m.out_features for m in theirs]
    assert popped.n_out == tpopped.out_features
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert len(ours) == len(theirs) and ours[-1].n_out == theirs[-1].out_features
    assert isinstance(ours[1:3], nn.ModuleList) and [m.n_out for m in ours[1:3]] == [
        m.out_features for m in theirs[1:3]
    ]
    listed = list(ours)
    listed.insert(-1, nn.Tanh())
    ours.insert(-1, listed[-2])  # as list.insert: before the last
    assert list(ours) == listed
    both = ours + nn.ModuleList([nn.Tanh()])
    assert len(both) == len(ours) + 1 and both[0] is ours[0]
    with pytest.raises(IndexError, match="out of range"):
        ours[len(ours)]


def test_the_reprs_are_torchs(torch) -> None:
    ours = nn.ModuleList([nn.Tanh(), nn.Tanh(), nn.ReLU(), nn.Tanh()])
    theirs = torch.nn.ModuleList(
        [torch.nn.Tanh(), torch.nn.Tanh(), torch.nn.ReLU(), torch.nn.Tanh()]
    )
    assert repr(ours) == repr(theirs)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())
    ours_d = nn.ModuleDict({"x": nn.Tanh(), "y": nn.ModuleList([nn.ReLU(), nn.ReLU()])})
    theirs_d = torch.nn.ModuleDict(
        {"x": torch.nn.Tanh(), "y": torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.ReLU()])}
    )
    assert repr(ours_d) == repr(theirs_d)


def test_module_dict_behaves_as_torchs(torch) -> None:
    def run(nn_, make):
        md = nn_.ModuleDict({"b": make(1), "a": make(2)})
        md.update([("c", make(3)), ("a", make(4))])
        md.update(nn_.ModuleDict({"d": make(5)}))
        del md["b"]
        popped = md.pop("c")
        return md, popped

    ours, popped = run(nn, lambda i: nn.Linear(1, i, rng=i))
    theirs, tpopped = run(torch.nn, lambda i: torch.nn.Linear(1, i))
    assert list(ours.keys()) == list(theirs.keys()) == ["a", "d"]
    assert list(ours) == list(theirs)
    assert [m.n_out for m in ours.values()] == [m.out_features for m in theirs.values()]
    assert [(k, m.n_out) for k, m in ours.items()] == [
        (k, m.out_features) for k, m in theirs.items()
    ]
    assert popped.n_out == tpopped.out_features and "a" in ours and "c" not in ours
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.clear()
    theirs.clear()
    assert len(ours) == len(theirs) == 0


@pytest.mark.parametrize("key", ["a.b", "", "train", "training", 3])
def test_module_dict_refuses_the_keys_torch_refuses(torch, key) -> None:
    with pytest.raises((KeyError, TypeError)) as theirs:
        torch.nn.ModuleDict({key: torch.nn.Tanh()})
    with pytest.raises(theirs.type):
        nn.ModuleDict({key: nn.Tanh()})


def test_the_containers_refuse_what_is_not_a_module(torch) -> None:
    for make in (
        lambda: nn.ModuleList([nn.Tanh(), np.tanh]),
        lambda: nn.ModuleList().append(None),
        lambda: nn.ModuleDict({"f": np.tanh}),
    ):
        with pytest.raises(TypeError, match="must be a Module"):
            make()
    with pytest.raises(TypeError):
        torch.nn.ModuleList([torch.nn.Tanh(), np.tanh])
    ml = nn.ModuleList([nn.Tanh()])
    with pytest.raises(TypeError, match=r"\.append\(module\)"):
        ml.extend(nn.Linear(2, 2))
    with pytest.raises(nn.ConfigError, match="named by its position"):
        ml.head = nn.Tanh()
    assert len(ml) == 1


def test_a_model_with_containers_saves_and_loads(tmp_path) -> None:
    nn.register_module(Tower)
    model = Tower(depth=2, seed=3)
    cr.io.save_model(tmp_path / "tower", model)
    loaded, _ = cr.io.load_model(tmp_path / "tower")
    np.testing.assert_array_equal(loaded(X).numpy(), model(X).numpy())
    # the containers' own configs rebuild them too
    again = nn.from_config(model.layers.config())
    assert isinstance(again, nn.ModuleList) and len(again) == 2
    heads = nn.from_config(model.heads.config())
    assert isinstance(heads, nn.ModuleDict) and heads.keys() == ["a", "b"]


@pytest.mark.parametrize(
    "value, container",
    [
        (lambda: [nn.Linear(2, 2), nn.Tanh()], "nn.ModuleList"),
        (lambda: (nn.Linear(2, 2),), "nn.ModuleList"),
        (lambda: {"head": nn.Linear(2, 1)}, "nn.ModuleDict"),
    ],
)
def test_a_plain_container_of_modules_is_refused_naming_the_registered_one(value, container):
    class Net(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.layers = layers

    with pytest.raises(TypeError, match=rf"Net\.layers: .*{container}") as error:
        Net(value())
    assert "not be registered" in str(error.value)
    # a list, tuple or dict of anything else is kept as before
    for kept in ([2, 3, 1], ("a", "b"), {"lr": 0.1, "arrays": [np.ones(2)]}):
        assert Net(kept).layers is kept
