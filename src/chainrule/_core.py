"""The core of ``chainrule``'s namespace: tensors, ops, the engine, ``grad`` and ``gradcheck``.

Everything ``import chainrule as cr`` offers as ``cr.<name>`` below the higher layers is imported
here, in one place. The package (``chainrule/__init__.py``) loads this module the first time one
of these names is read, so that ``import chainrule`` alone (the command line's ``--help``, for
one) imports neither NumPy nor the engine.
"""

# ruff: noqa: F401  (each import is a name of the package, re-exported by chainrule/__init__.py)

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
    set_grad_enabled,
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
    cos,
    div,
    exp,
    expand_dims,
    linear,
    log,
    log_softmax,
    logistic,
    logistic_cross_entropy,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    norm,
    power,
    relu,
    reshape,
    sigmoid,
    sign,
    sin,
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
