"""``@cr.no_grad`` and ``@cr.enable_grad`` written without brackets decorate the function, as
``@torch.no_grad`` does: "no_grad() takes 0 positional arguments but 1 was given" was all a
torch user got. Each behaviour is checked against torch's own decorator."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


class _Library:
    """The grad-mode API of one library, so one test body runs on chainrule and on torch."""

    def __init__(self, name: str) -> None:
        self.name = name
        lib = cr if name == "chainrule" else torch
        self.no_grad, self.enable_grad = lib.no_grad, lib.enable_grad
        self.is_grad_enabled = lib.is_grad_enabled

    def leaf(self) -> object:
        if self.name == "chainrule":
            return cr.tensor([1.0, 2.0], requires_grad=True)
        return torch.tensor([1.0, 2.0], requires_grad=True)


@pytest.fixture(params=["chainrule", "torch"])
def lib(request) -> _Library:
    return _Library(request.param)


def test_bare_no_grad_decorates_a_function(lib) -> None:
    @lib.no_grad
    def doubled(x):
        """Twice x."""
        assert not lib.is_grad_enabled()
        return x * 2

    out = doubled(lib.leaf())
    assert not out.requires_grad
    assert lib.is_grad_enabled()  # recording is back on after the call
    assert doubled.__name__ == "doubled" and doubled.__doc__ == "Twice x."


def test_bare_no_grad_restores_recording_after_an_exception(lib) -> None:
    @lib.no_grad
    def fails(x):
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        fails(lib.leaf())
    assert lib.is_grad_enabled()


def test_bare_enable_grad_records_inside_no_grad(lib) -> None:
    @lib.enable_grad
    def recorded(x):
        return x * 2

    x = lib.leaf()
    with lib.no_grad():
        out = recorded(x)
        assert not lib.is_grad_enabled()  # the block's setting is back after the call
    assert out.requires_grad


def test_bare_enable_grad_restores_after_an_exception(lib) -> None:
    @lib.enable_grad
    def fails():
        raise KeyError("inside")

    with lib.no_grad():
        with pytest.raises(KeyError):
            fails()
        assert not lib.is_grad_enabled()


def test_bare_no_grad_on_a_method_and_a_generator(lib) -> None:
    class Attack:
        @lib.no_grad
        def step(self, x):
            return x * 3

    @lib.no_grad
    def steps(x):
        for k in range(2):
            yield x * k, lib.is_grad_enabled()

    x = lib.leaf()
    assert not Attack().step(x).requires_grad
    for out, recording in steps(x):
        assert not out.requires_grad and not recording
        assert lib.is_grad_enabled()  # between resumes the caller's setting holds
    assert lib.is_grad_enabled()


def test_bracketed_forms_still_work() -> None:
    @cr.no_grad()
    def doubled(x):
        return x * 2

    x = cr.tensor([1.0], requires_grad=True)
    assert not doubled(x).requires_grad
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        with cr.enable_grad():
            assert (x * 2).requires_grad
    assert cr.is_grad_enabled()


def test_bare_no_grad_gives_the_same_values_as_recorded() -> None:
    @cr.no_grad
    def square(x):
        return x * x

    x = cr.tensor([1.5, -2.0], requires_grad=True)
    np.testing.assert_array_equal(square(x).numpy(), (x * x).numpy())


@pytest.mark.parametrize("name", ["no_grad", "enable_grad"])
def test_something_not_callable_is_refused_naming_the_uses(name) -> None:
    with pytest.raises(TypeError, match=rf"{name}: takes a function to decorate \(@cr\.{name}\)"):
        getattr(cr, name)(3)
