"""A network's parameters as one flat vector and back, for optimisers that take a vector
(``scipy.optimize.minimize``, a line search, a Hessian of the loss in the weights).

The order is :meth:`Module.named_parameters`' (a tied parameter once), as in
``torch.nn.utils``: ``0.weight`` row by row, then ``0.bias``, ``2.weight`` ... Each parameter
is flattened in chainrule's layout, not torch's: a ``Linear`` weight is (n_in, n_out) where
torch's is (n_out, n_in), so torch's vector for the same network has the same length and other
numbers in another order (written here, it loads scrambled weights without an error). Convert
through :mod:`chainrule.interop`: ``torch.nn.utils.parameters_to_vector(
cr.interop.to_torch(net).parameters())`` is torch's vector; torch's
``vector_to_parameters`` into that torch network and ``cr.interop.from_torch`` bring one back.

- :func:`parameters_to_vector` (torch's name): the parameters' values as one NumPy vector, a
  copy (it also flattens ``cr.grad``'s dict of gradients, which keeps its argument's order);
- :func:`vector_to_parameters` (torch's name): write a vector's values into the parameters, in
  place, as ``load_state_dict`` writes them;
- :func:`unflatten_parameters`: a vector as ``{name: tensor}`` for
  :func:`~chainrule.nn.functional_call`, made with chainrule's ops (slices and reshapes), so a
  transform differentiates through it: ``cr.grad(lambda v: loss(functional_call(net,
  unflatten_parameters(v, net), x)))(theta)`` is the gradient as one vector. It is the inverse
  of the first, named like :func:`~chainrule.functional.tree_unflatten`, which does the same
  for nested containers; torch has no such function (its ``vector_to_parameters`` writes).

A vector of another length than the parameters hold, or of numbers that are not real floats,
is refused naming the length expected and how many parameters hold it: never cut short.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.creation import tensor
from chainrule.errors import type_name
from chainrule.nn.module import Module
from chainrule.tensor import Tensor

__all__ = ["parameters_to_vector", "unflatten_parameters", "vector_to_parameters"]


def parameters_to_vector(parameters: Module | Mapping[str, Any] | Iterable[Any]) -> np.ndarray:
    """The values of ``parameters`` as one flat NumPy vector (a copy, on the host), each
    flattened row by row: a module's in the order of its ``named_parameters()``, a dict's in
    its own order (``cr.grad(f)(params)`` keeps the order of ``params``), a list's in its.
    The dtype is the parameters' (float64 for a float64 network). A tensor that needs a
    gradient gives its values: the vector carries no derivative (it is for NumPy and scipy).
    A ``Linear`` weight is flattened as chainrule holds it, (n_in, n_out): not torch's vector
    for the same network (see the module's docstring for the conversion).

    >>> import chainrule as cr
    >>> net = cr.nn.Linear(2, 3, dtype="float64", rng=0)
    >>> cr.nn.parameters_to_vector(net).shape
    (9,)
    """
    if isinstance(parameters, Module):
        named = parameters.named_parameters()
    elif isinstance(parameters, Mapping):
        named = list(parameters.items())
    elif isinstance(parameters, Tensor) or not isinstance(parameters, Iterable):
        raise TypeError(
            "parameters_to_vector takes a module, a dict of name -> tensor or a list of "
            f"tensors, not {type_name(parameters)}"
        )
    else:
        named = list(enumerate(parameters))
    arrays = []
    for name, value in named:
        if value is None:
            raise TypeError(f"parameters_to_vector: {name!r} is None, not a tensor or an array")
        array = backend.to_numpy(value.data if isinstance(value, Tensor) else value)
        arrays.append(np.ravel(array))
    if not arrays:
        return np.zeros(0)
    return np.concatenate(arrays)  # a copy, never the parameters' memory


def vector_to_parameters(vector: Any, module: Module) -> None:
    """Write ``vector``'s values into ``module``'s parameters, in place and in the order of
    ``named_parameters()``, as ``torch.nn.utils.vector_to_parameters`` does: the parameter
    objects stay (an optimizer holding them steps the new values), each keeps its dtype
    (scipy's float64 result is rounded into a float32 network), library and device. The
    write is ``load_state_dict``'s, so a graph recorded before it is refused by backward.
    The vector is read in chainrule's layout (a ``Linear`` weight (n_in, n_out), row by row):
    a vector from ``torch.nn.utils.parameters_to_vector`` has the same length and is loaded
    scrambled; write it into ``cr.interop.to_torch(module)`` with torch's function and
    convert back with ``cr.interop.from_torch`` instead.
    """
    values = _numbers(vector, module, "vector_to_parameters")
    values = backend.to_numpy(values.data)
    state, start = {}, 0
    for name, param in module.named_parameters():
        stop = start + param.size
        dtype = np.dtype(backend.dtype_name(param.dtype))
        state[name] = values[start:stop].reshape(param.shape).astype(dtype)
        start = stop
    module.load_state_dict(state, strict=False)


def unflatten_parameters(vector: Any, module: Module) -> dict[str, Tensor]:
    """``vector`` as ``{name: tensor}`` in the shapes of ``module``'s parameters, in the order
    of ``named_parameters()``: the dict :func:`~chainrule.nn.functional_call` takes. Each
    value is a slice of ``vector`` reshaped by chainrule's ops, so a transform differentiates
    through it and ``cr.grad`` of a function of the vector is one vector. The values keep
    the vector's dtype (scipy's float64 computes a float32 network in float64).

    >>> import chainrule as cr, numpy as np
    >>> net = cr.nn.Linear(2, 1, dtype="float64", rng=0)
    >>> x, t = np.array([[1.0, 2.0]]), np.array([[0.5]])
    >>> def loss(theta):
    ...     params = cr.nn.unflatten_parameters(theta, net)
    ...     return cr.nn.MSE()(cr.nn.functional_call(net, params, x), t)
    >>> cr.grad(loss)(cr.nn.parameters_to_vector(net)).shape
    (3,)
    """
    values = _numbers(vector, module, "unflatten_parameters")
    params, start = {}, 0
    for name, param in module.named_parameters():
        stop = start + param.size
        params[name] = values[start:stop].reshape(param.shape)
        start = stop
    return params


def _numbers(vector: Any, module: Module, who: str) -> Tensor:
    """``vector`` as a tensor, checked: a module, one axis of real floats, as many as the
    module's parameters hold."""
    if not isinstance(module, Module):
        torch = ""
        if isinstance(module, Iterable) and not isinstance(module, (str, bytes, Tensor)):
            # a module's parameters, as PyTorch's vector_to_parameters takes them
            torch = (
                f"; PyTorch's {who} takes model.parameters(), chainrule's the model itself, "
                f"whose parameters it writes in the order of named_parameters(): "
                f"{who}(vector, model)"
                if who == "vector_to_parameters"
                else f": {who}(vector, model)"
            )
        raise TypeError(f"{who}: the second argument is the module, not {type_name(module)}{torch}")
    values = vector if isinstance(vector, Tensor) else tensor(vector)
    params = module.parameters()
    expected = sum(param.size for param in params)
    holding = (
        f"{type(module).__name__}'s {len(params)} parameter{'s' if len(params) != 1 else ''} "
        f"hold {expected} numbers"
    )
    if values.ndim != 1:
        raise ValueError(
            f"{who}: the vector must have one axis, not shape {tuple(values.shape)}; "
            f"{holding} (ravel it first)"
        )
    if not backend.is_real_floating(values.dtype, backend.array_module(values.data)):
        raise TypeError(f"{who}: the vector must hold real floats, not {values.dtype}; {holding}")
    if values.shape[0] != expected:
        raise ValueError(
            f"{who}: the vector has {values.shape[0]} numbers, but {holding} "
            "(in the order of named_parameters())"
        )
    return values
