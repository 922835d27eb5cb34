"""chainrule.nn: networks of logistic units (and others), losses and initialisers.

>>> import chainrule as cr
>>> net = cr.nn.mlp([2, 2, 1], output="logistic", rng=0)       # a 2-2-1 logistic net
>>> loss = cr.nn.SquaredError()                                # E = 1/2 sum (t - y)^2
>>> E = loss(net([[0.0, 1.0]]), [[1.0]])
>>> E.backward()
"""

import typing as _typing

from chainrule._lazy import lazy_package
from chainrule.nn import init
from chainrule.nn.activations import ACTIVATIONS, Activation, activation, activation_of, mlp
from chainrule.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList
from chainrule.nn.layers import (
    Dropout,
    Identity,
    Linear,
    Logistic,
    LogSoftmax,
    Parallel,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from chainrule.nn.losses import (
    MSE,
    BinaryCrossEntropy,
    CrossEntropy,
    Loss,
    MarginSquaredError,
    SquaredError,
    loss_from_config,
    loss_from_name,
    register_loss,
)
from chainrule.nn.module import (
    ConfigError,
    Module,
    Parameter,
    StateDictError,
    from_config,
    functional_call,
    outputs_of,
    register_module,
    registered_modules,
)
from chainrule.nn.vector import parameters_to_vector, unflatten_parameters, vector_to_parameters

__all__ = [
    "ACTIVATIONS", "MSE", "Activation", "BinaryCrossEntropy", "ConfigError", "CrossEntropy",
    "Dropout", "Identity", "Linear", "LogSoftmax", "Logistic", "Loss", "MarginSquaredError",
    "Module", "ModuleDict", "ModuleList", "Parallel", "Parameter", "ParameterDict",
    "ParameterList", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "SquaredError", "StateDictError", "Tanh", "activation",
    "activation_of", "from_config", "functional_call", "init", "loss_from_config",
    "loss_from_name", "mlp", "outputs_of", "parameters_to_vector", "register_loss",
    "register_module", "registered_modules", "unflatten_parameters", "vector_to_parameters",
]  # fmt: skip

# submodules not imported above load on first use, and show in dir()
if not _typing.TYPE_CHECKING:  # checkers then flag a misspelt name
    __getattr__, __dir__ = lazy_package(__name__, __path__)
# what set the package up, not part of it (dir() is what tab completion offers)
del lazy_package, _typing
