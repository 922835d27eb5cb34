"""chainrule: backpropagation made visible.

A small, transparent reverse-mode autodiff on NumPy whose heart is the multivariate chain rule:
a tensor's gradient is the sum of what each of its consumers sends back,
dE/dy_i = sum_j dE/dz_j dz_j/dy_i.

>>> import chainrule as cr
>>> x = cr.tensor([0.5], requires_grad=True)
>>> y = cr.sigmoid(x) * 2
>>> y.sum().backward()
"""

# ruff: noqa: F405  (the names of __all__ come from chainrule._core, loaded on first use)

from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule import launcher as _launcher
from chainrule._lazy import lazy_package

if TYPE_CHECKING:  # what a first read loads (the core's names, the layers), for type checkers
    from collections.abc import Iterable

    from chainrule import backend as backend
    from chainrule import checks as checks
    from chainrule import cli as cli
    from chainrule import creation as creation
    from chainrule import data as data
    from chainrule import distributed as distributed
    from chainrule import engine as engine
    from chainrule import errors as errors
    from chainrule import explainer as explainer
    from chainrule import file_schemas as file_schemas
    from chainrule import files as files
    from chainrule import functional as functional
    from chainrule import interop as interop
    from chainrule import io as io
    from chainrule import launcher as launcher
    from chainrule import nn as nn
    from chainrule import notebook as notebook
    from chainrule import ops as ops
    from chainrule import optim as optim
    from chainrule import sklearn as sklearn
    from chainrule import terminal as terminal
    from chainrule import train as train
    from chainrule import viz as viz
    from chainrule import web as web
    from chainrule._core import *  # noqa: F403
    from chainrule.explainer import explain as explain
    from chainrule.notebook import explorer as explorer
    from chainrule.tensor import Tensor

__version__ = "0.2.0"

# Under mpiexec or srun, mark this process as the launcher's rank, so processes it starts
# (joblib's workers, a multiprocessing pool) know they are none: see chainrule.launcher.
_launcher.mark_rank()

# Nothing loads at import: the core's names (those of __all__, from chainrule._core, NumPy with
# them) on the first read of any of them, the layers above the engine (nn, optim, data, train,
# io, viz, explainer ...) each on its first use. So ``import chainrule`` costs next to nothing
# and ``chainrule --help`` imports no NumPy; ``dir(chainrule)`` lists everything. (Type checkers
# see the imports above instead: without a module ``__getattr__`` they flag a misspelt name.)
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_package(
        __name__,
        __path__,
        {"explain": "chainrule.explainer", "explorer": "chainrule.notebook"},
        core="chainrule._core",
        light=("cli", "errors", "__main__", "launcher"),  # ``chainrule --help`` imports: no NumPy
    )
# what set the package up, not part of it (dir(chainrule) is what tab completion offers)
del annotations, TYPE_CHECKING, lazy_package


def zero_grad(*tensors: Tensor | Iterable[Tensor] | nn.Module, set_to_none: bool = True) -> None:
    """Forget the accumulated ``.grad`` of each tensor (``.grad`` adds up across backward calls):
    None, or zeros with ``set_to_none=False`` (see :func:`chainrule.tensor.forget_grad`).

    Each argument is a tensor, a collection of them (a list, ``model.parameters()``) or a
    module, whose parameters it clears, as the optimizers and ``optim.clip_grad_norm_`` take one
    (a module as an argument of its own, not inside a list).
    """
    from collections.abc import Iterable

    from chainrule.nn.module import Module  # the core loads lazily: ``chainrule --help`` needs none
    from chainrule.tensor import Tensor, forget_grad

    for item in tensors:
        if isinstance(item, Module):
            group = item.parameters()
        elif isinstance(item, Tensor) or not isinstance(item, Iterable):
            group = (item,)
        else:
            group = item
        for t in group:
            if isinstance(t, Module):
                raise TypeError(
                    f"zero_grad: a module is taken as an argument of its own "
                    f"(cr.zero_grad(model)), not inside a collection: got {t!r} in a "
                    f"{type(item).__name__}"
                )
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"zero_grad: takes tensors or collections of them, or modules, not {t!r}"
                )
            forget_grad(t, set_to_none)


__all__ = [
    "REGISTRY", "AnomalyError", "ArrayLibraryError", "GradcheckError", "GradcheckReport",
    "GraphFreedError", "ShapeError", "Tensor", "abs", "add", "arange", "array_module", "astype",
    "broadcast_to", "clip", "concatenate", "cos", "detect_anomaly", "div", "enable_grad", "exp",
    "expand_dims", "full", "grad", "gradcheck", "gradient", "hessian", "hvp", "is_grad_enabled",
    "jacobian", "jvp", "linear", "linspace", "log", "log_softmax", "logistic",
    "logistic_cross_entropy", "logsumexp", "manual_seed", "matmul", "max", "maximum", "mean",
    "min", "minimum", "mul", "neg", "no_grad", "norm", "ones", "ones_like", "power", "rand",
    "randn", "register_array_module", "relu", "reshape", "set_grad_enabled", "sigmoid", "sign",
    "sin", "softmax", "softmax_cross_entropy", "softplus", "split", "sqrt", "squeeze", "stack",
    "sub", "sum", "swapaxes", "tanh", "tensor", "transpose", "unsqueeze", "value_and_grad", "var",
    "vjp", "where", "zero_grad", "zeros", "zeros_like",
]  # fmt: skip
