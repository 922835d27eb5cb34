"""chainrule: backpropagation made visible.

A small, transparent reverse-mode autodiff on NumPy whose heart is the multivariate chain rule:
a tensor's gradient is the sum of what each of its consumers sends back,
dE/dy_i = sum_j dE/dz_j dz_j/dy_i.

>>> import chainrule as cr
>>> x = cr.tensor([0.5], requires_grad=True)
>>> y = cr.sigmoid(x) * 2
>>> y.sum().backward()
"""

from chainrule._lazy import lazy_package
from chainrule.backend import ArrayLibraryError, array_module, register_array_module
from chainrule.creation import (
    arange,
    full,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.engine import (
    AnomalyError,
    GraphFreedError,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
)
from chainrule.functional import grad, gradient, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from chainrule.gradcheck import GradcheckError, GradcheckReport, gradcheck
from chainrule.ops import (
    REGISTRY,
    ShapeError,
    abs,
    add,
    astype,
    broadcast_to,
    clip,
    concatenate,
    div,
    exp,
    expand_dims,
    linear,
    log,
    log_softmax,
    logistic,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    power,
    relu,
    reshape,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    softplus,
    split,
    sqrt,
    squeeze,
    stack,
    sub,
    sum,
    swapaxes,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from chainrule.tensor import Tensor

__version__ = "0.1.0"

# The layers above the engine (nn, optim, data, train, io, viz, explainer, sklearn ...) load on
# first use, so ``import chainrule`` needs NumPy alone; ``dir(chainrule)`` lists them all.
__getattr__, __dir__ = lazy_package(
    __name__, __path__, {"explain": "chainrule.explainer", "explorer": "chainrule.notebook"}
)


def zero_grad(*tensors: Tensor) -> None:
    """Forget the accumulated ``.grad`` of each tensor (``.grad`` adds up across backward calls)."""
    for t in tensors:
        t.grad = None


__all__ = [
    "REGISTRY", "AnomalyError", "ArrayLibraryError", "GradcheckError", "GradcheckReport",
    "GraphFreedError", "ShapeError", "Tensor", "abs", "add", "arange", "array_module", "astype",
    "broadcast_to", "clip", "concatenate", "detect_anomaly", "div", "enable_grad", "exp",
    "expand_dims", "full", "grad", "gradcheck", "gradient", "hessian", "hvp", "is_grad_enabled",
    "jacobian", "jvp", "linear", "linspace", "log", "log_softmax", "logistic", "logsumexp",
    "manual_seed", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg", "no_grad",
    "ones", "ones_like", "power", "rand", "randn", "register_array_module", "relu", "reshape",
    "sigmoid", "softmax", "softmax_cross_entropy", "softplus", "split", "sqrt", "squeeze", "stack",
    "sub", "sum", "swapaxes", "tanh", "tensor", "transpose", "unsqueeze", "value_and_grad", "var",
    "vjp", "where", "zero_grad", "zeros", "zeros_like",
]  # fmt: skip
