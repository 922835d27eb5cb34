"""A user's optimizer defines its step twice: ``_update`` (in place: NumPy, PyTorch, CuPy) and
``_updated`` (new arrays: array-api-strict, JAX). The base's docstring named only ``_update``,
and an optimizer written from it failed on array-api-strict with a bare NotImplementedError;
the error now names the class and the method to write, and the docstring says both."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.backend import to_numpy


class InPlaceOnly(optim.Optimizer):
    """Plain SGD written from the old docstring: ``_update`` alone."""

    name = "in-place-only"
    hyperparameters = ("lr",)

    def __init__(self, params, lr=0.1):
        super().__init__(params, lr=lr)

    def _update(self, index, w, g):
        w -= self.lr * g


class NewArraysOnly(optim.Optimizer):
    """``_updated`` alone."""

    name = "new-arrays-only"
    hyperparameters = ("lr",)

    def __init__(self, params, lr=0.1):
        super().__init__(params, lr=lr)

    def _updated(self, index, w, g):
        return w - self.lr * g


class Both(InPlaceOnly, NewArraysOnly):
    """Both steps, as the docstring asks."""

    name = "both"


def _stepped(make, xp=None):
    """One step of ``make``'s optimizer on w = [1, 2] with E = sum(w^2): w - 0.1 * 2w."""
    values = np.array([1.0, 2.0])
    w = cr.tensor(values if xp is None else xp.asarray(values), requires_grad=True)
    (w * w).sum().backward()
    make([w]).step()
    return to_numpy(w.data)


def test_an_optimizer_without_updated_names_it_on_array_api_strict():
    strict = pytest.importorskip("array_api_strict")
    pytest.importorskip("array_api_compat")
    with pytest.raises(
        NotImplementedError,
        match=r"^InPlaceOnly defines no _updated\(self, index, w, g\), the step that returns "
        r"w's new values .*array-api-strict's and JAX's arrays.*here w is an array of "
        r"array_api_strict.*write it beside _update \(see chainrule.optim.Optimizer's docstring\)",
    ):
        _stepped(InPlaceOnly, strict)
    np.testing.assert_allclose(_stepped(InPlaceOnly), [0.8, 1.6])  # NumPy takes _update
    np.testing.assert_allclose(_stepped(Both, strict), [0.8, 1.6])  # written as it says


def test_an_optimizer_without_update_names_it_on_numpy():
    with pytest.raises(
        NotImplementedError,
        match=r"^NewArraysOnly defines no _update\(self, index, w, g\), the step that changes "
        r"w in place .*here w is an array of numpy\): write it beside _updated",
    ):
        _stepped(NewArraysOnly)


def test_the_base_docstring_says_both_steps():
    doc = optim.Optimizer.__doc__
    assert "_update(self, index, w, g)" in doc and "_updated(self, index, w, g)" in doc
