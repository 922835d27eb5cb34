"""The primitives and the functions built from them; :data:`REGISTRY` lists every primitive.

Importing this package registers every rule. Functions that are not primitives (``mean``,
``var``, ``stack``, ``split`` ...) are compositions and need no rule of their own.
"""

from chainrule.ops.elementwise import (
    abs,
    add,
    astype,
    clip,
    cos,
    div,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    power,
    sign,
    sin,
    sqrt,
    sub,
    where,
)
from chainrule.ops.linalg import linear, matmul
from chainrule.ops.nn import (
    log_softmax,
    logistic,
    logistic_cross_entropy,
    logsumexp,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    softplus,
    tanh,
)
from chainrule.ops.reduce import max, mean, min, norm, sum, var
from chainrule.ops.registry import REGISTRY, EachInput, Primitive, ShapeError, primitive
from chainrule.ops.shape import (
    as_tensor,
    broadcast_to,
    concatenate,
    expand_dims,
    getitem,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unbroadcast,
    unsqueeze,
)

__all__ = [
    "REGISTRY", "EachInput", "Primitive", "ShapeError", "abs", "add", "as_tensor", "astype",
    "broadcast_to", "clip", "concatenate", "cos", "div", "exp", "expand_dims", "getitem", "linear",
    "log", "log_softmax", "logistic", "logistic_cross_entropy", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "neg", "norm", "power", "primitive", "relu",
    "reshape", "sigmoid", "sign", "sin", "softmax", "softplus", "softmax_cross_entropy", "split",
    "sqrt", "squeeze", "stack", "sub", "sum", "swapaxes", "tanh", "transpose", "unbroadcast",
    "unsqueeze", "var", "where",
]  # fmt: skip
