"""What ``dir(chainrule)`` offers (tab completion on ``cr.``) is the package's own: its core
names, its submodules and its functions, not the imports that set the package up."""

import importlib.util

import chainrule as cr

OWN_FUNCTIONS = {"explain", "explorer", "zero_grad"}


def test_every_public_name_in_dir_is_the_packages_own():
    public = [name for name in dir(cr) if not name.startswith("_")]
    strays = [
        name
        for name in public
        if name not in cr.__all__
        and name not in OWN_FUNCTIONS
        and importlib.util.find_spec(f"chainrule.{name}") is None
    ]
    assert strays == [], strays


def test_zero_grad_still_takes_collections():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    (a * b).sum().backward()
    cr.zero_grad([a], b)
    assert a.grad is None and b.grad is None
