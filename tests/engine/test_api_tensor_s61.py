"""Tensor's public API before 1.0: its constructor's ``requires_grad`` (second, where
``cr.tensor`` takes ``dtype`` second) must be a bool, every public member has a docstring (a
method form has its op's), a cotangent or tangent of the wrong shape is a ``ShapeError`` as every
other shape mistake is, and ``chainrule.functional`` and ``chainrule.errors`` star-import their
public names alone."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import errors, functional, nn
from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

DOCS = Path(__file__).resolve().parents[2] / "docs"


# -- requires_grad is a bool ------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Tensor, nn.Parameter], ids=["Tensor", "Parameter"])
@pytest.mark.parametrize("dtype", ["float32", np.float32, np.dtype("float32"), "f4"])
def test_a_dtype_in_requires_grads_place_is_refused_naming_the_fix(cls, dtype):
    # cr.tensor([1.], "float32") is float32; Tensor([1.], "float32") was float64 needing a grad
    name = cls.__name__
    with pytest.raises(TypeError, match=r"requires_grad must be True or False") as caught:
        cls([1.0], dtype)
    message = str(caught.value)
    assert message.startswith(f"{name}: ")
    assert f"dtype is {name}'s third argument" in message
    assert "pass dtype='float32'" in message
    assert "\n" not in message
    # as asked: requires_grad second, dtype third (Parameter's default flag is True)
    made = cls([1.0], dtype=dtype)
    assert made.dtype == np.float32 and made.requires_grad is (cls is nn.Parameter)


def test_a_python_type_as_dtype_is_named_too():
    with pytest.raises(TypeError, match=r"pass dtype='float64'"):
        cr.Tensor([1.0], float)


def test_another_librarys_dtype_is_named(torch):
    with pytest.raises(TypeError, match=r"third argument.*pass dtype='float32'"):
        cr.Tensor([1.0], torch.float32)


@pytest.mark.parametrize("cls", [Tensor, nn.Parameter], ids=["Tensor", "Parameter"])
@pytest.mark.parametrize(
    "flag, shown",
    [("no", "'no' (str)"), (1, "1 (int)"), (0.0, "0.0 (float)"), (None, "None (NoneType)")],
)
def test_a_flag_that_is_not_a_bool_is_refused_naming_it(cls, flag, shown):
    # requires_grad="no" required a gradient; None and 0 were read by their truth
    with pytest.raises(TypeError) as caught:
        cls([1.0], requires_grad=flag)
    message = str(caught.value)
    assert message == f"{cls.__name__}: requires_grad must be True or False, not {shown}"


def test_an_array_as_the_flag_is_refused_not_asked_its_truth():
    with pytest.raises(TypeError, match=r"not array\(\[ True, False\]\) \(ndarray\)"):
        cr.Tensor([1.0, 2.0], np.array([True, False]))


@pytest.mark.parametrize("cls", [Tensor, nn.Parameter], ids=["Tensor", "Parameter"])
def test_bools_and_numpys_bools_are_taken_and_nothing_else(cls):
    for flag in (True, False, np.True_, np.False_):
        t = cls([1.0, 2.0], flag, "float32")
        assert t.requires_grad is bool(flag)  # a Python bool, whatever was given
        assert t.dtype == np.float32
        keywords = cls([1.0], requires_grad=flag, dtype=np.float32)
        assert keywords.requires_grad is bool(flag) and keywords.dtype == np.float32
    with pytest.raises(TypeError, match=r"requires_grad must be True or False, not 'yes'"):
        cls([1.0], "yes")


def test_the_ops_and_backward_never_run_the_check(monkeypatch):
    """The check is the public constructor's: tensors the engine makes (``_wrap``), a
    detach, the transforms' variables, a layer's forward and backward, and a constructor given
    a bool never reach it."""
    tensor_module = importlib.import_module("chainrule.tensor")  # cr.tensor is the function

    def refuse(*args):
        raise AssertionError("the requires_grad check ran on an internal path")

    monkeypatch.setattr(tensor_module, "_grad_flag", refuse)
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    loss = (cr.sigmoid(x * 2.0 + 1.0).sum(axis=1) ** 2).mean()
    loss.backward()
    assert x.grad is not None and x.detach().requires_grad is False
    layer = nn.Linear(3, 2, rng=0)
    nn.MSE()(layer(x), np.zeros((2, 2))).backward()
    assert cr.grad(lambda a: (a * a).sum())(np.ones(3)).shape == (3,)
    assert cr.Tensor([1.0], True).requires_grad and nn.Parameter([1.0], False) is not None


# -- docstrings -------------------------------------------------------------------------------


def _public_members() -> list[str]:
    return [name for name in dir(Tensor) if not name.startswith("_")]


def test_every_public_member_of_tensor_has_a_docstring():
    # help(t.sum), help(Tensor.shape), help(Tensor.grad) showed nothing
    members = _public_members()
    assert {"sum", "shape", "dtype", "item", "tolist", "T", "data", "grad"} <= set(members)
    missing = [n for n in members if not (inspect.getdoc(getattr(Tensor, n)) or "").strip()]
    assert not missing, f"no docstring: Tensor.{', Tensor.'.join(missing)}"


@pytest.mark.parametrize(
    "method, op",
    [
        ("sum", cr.sum),
        ("mean", cr.mean),
        ("max", cr.max),
        ("exp", cr.exp),
        ("reshape", cr.reshape),
        ("softmax", cr.softmax),
        ("transpose", cr.transpose),
        ("expand_dims", cr.unsqueeze),
        ("logistic", cr.sigmoid),
        ("astype", cr.astype),
    ],
)
def test_a_method_form_has_its_ops_docstring(method, op):
    doc = inspect.getdoc(getattr(Tensor, method))
    assert doc.startswith(f"The method form of :func:`chainrule.{op.__name__}`")
    assert doc.endswith(inspect.cleandoc(op.__doc__))  # the op's own words, not a copy


def test_every_method_named_after_an_op_has_its_ops_docstring():
    from chainrule import ops

    for name in _public_members():
        method = getattr(Tensor, name)
        op = getattr(ops, name, None)
        if callable(method) and inspect.isfunction(op) and op.__doc__:
            assert inspect.getdoc(method).endswith(inspect.cleandoc(op.__doc__)), name


def test_the_sum_methods_docstring_names_the_op():
    assert "chainrule.sum" in Tensor.sum.__doc__
    assert "np.sum(t)" in Tensor.sum.__doc__  # its own note kept, before the op's


# -- a cotangent of the wrong shape -----------------------------------------------------------


def _x():
    return cr.tensor([1.0, 2.0], requires_grad=True)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: (_x() * 2).backward(np.ones(3)), "backward: gradient"),
        (lambda: (_x() * 2).backward(cr.tensor(np.ones(3))), "backward: gradient"),
        (lambda: (_x() * 2).backward(np.ones(3), create_graph=True), "backward: gradient"),
        (lambda: cr.gradient([(x := _x()) * 2], [x], [np.ones(3)]), "gradient: cotangent 0"),
        (lambda: cr.vjp(lambda a: a * 2, np.array([1.0, 2.0]))[1](np.ones(3)), "vjp: cotangent 0"),
        (lambda: cr.jvp(lambda a: a * 2, (np.array([1.0, 2.0]),), (np.ones(3),)), "jvp: tangent 0"),
        (
            lambda: cr.hvp(lambda a: (a * a).sum(), (np.array([1.0, 2.0]),), (np.ones(3),)),
            "hvp: tangent 0",
        ),
    ],
    ids=["backward", "backward-tensor", "backward-create-graph", "gradient", "vjp", "jvp", "hvp"],
)
def test_a_seed_of_the_wrong_shape_is_a_shape_error(call, words):
    with pytest.raises(ShapeError) as caught:
        call()
    assert isinstance(caught.value, ValueError)  # except ValueError still catches it
    assert cr.ShapeError is ShapeError
    message = str(caught.value)
    assert message.startswith(words), message
    assert "(3,)" in message and "(2,)" in message


def test_a_jvp_tangent_of_the_wrong_shape_for_a_vector_output_too():
    f = lambda a, b: a * b  # noqa: E731
    with pytest.raises(ShapeError, match=r"jvp: tangent 1 has shape \(2, 1\).*\(2,\)"):
        cr.jvp(f, (np.ones(2), np.ones(2)), (np.ones(2), np.ones((2, 1))))


# -- __all__ ----------------------------------------------------------------------------------


def _star(module) -> set[str]:
    names: dict = {}
    exec(f"from {module.__name__} import *", names)  # noqa: S102
    return set(names) - {"__builtins__"}


def _documented(module, name: str) -> bool:
    obj = getattr(module, name)
    if (inspect.getdoc(obj) or "").strip() and not isinstance(obj, (dict, list, tuple, str)):
        return True
    path = f"{module.__name__}.{name}"
    return any(path in page.read_text(encoding="utf-8") for page in DOCS.rglob("*.md"))


@pytest.mark.parametrize("module", [functional, errors], ids=["functional", "errors"])
def test_star_import_brings_the_public_names_alone(module):
    # it brought np, threading, weakref, Any, annotations and the engine's helpers
    assert hasattr(module, "__all__")
    assert _star(module) == set(module.__all__)
    assert len(module.__all__) == len(set(module.__all__))
    assert not {"np", "threading", "weakref", "Any", "annotations", "re", "sys"} & _star(module)
    for name in module.__all__:
        assert not name.startswith("_") and _documented(module, name), name


def test_functional_lists_its_transforms_and_documented_helpers():
    transforms = {"grad", "gradient", "hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp"}
    assert transforms <= set(functional.__all__)
    assert all(getattr(cr, name) is getattr(functional, name) for name in transforms)
    own = {
        name
        for name, obj in vars(functional).items()
        if not name.startswith("_")
        and inspect.isfunction(obj)
        and obj.__module__ == functional.__name__
    }
    assert set(functional.__all__) == own  # every function of its own, nothing it imports


def test_errors_lists_every_error_type():
    types = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException)
    }
    assert set(errors.__all__) == types
    assert "ShapeError" in errors.__all__ and "type_name" not in errors.__all__
