"""PyTorch <-> chainrule: the same network, with each Linear weight transposed on purpose.

chainrule's ``Linear.weight`` is (n_in, n_out), the lecture's w_ij (row i the unit below, column
j the unit above), so ``z = y @ W + b``; PyTorch's is (n_out, n_in) and computes ``y @ W.T + b``.
The names ("0.weight", "0.bias", "2.weight" ...) are the same, and so is the shape of a square
layer, which is why a silent copy computes wrong numbers. Here every copy goes through one pair
of functions, :func:`weight_from_torch` and :func:`weight_to_torch`, and every file says its layout
(``weight_layout`` in the safetensors metadata, checked by :func:`chainrule.io.check_layout`).

Supported layers, both ways: Linear (with or without bias), Sigmoid (chainrule's Logistic), Tanh,
ReLU, Softmax, LogSoftmax, Dropout and Identity, in a ``Sequential``. Anything else is refused
with a :class:`~chainrule.errors.ConversionError` naming the layer. PyTorch is imported only when a
converter runs, so ``import chainrule`` never needs it.

>>> import torch, chainrule as cr                                    # doctest: +SKIP
>>> layers = torch.nn.Linear(4, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2)  # doctest: +SKIP
>>> net = torch.nn.Sequential(*layers)                                # doctest: +SKIP
>>> model = cr.interop.from_torch(net)                                # doctest: +SKIP
>>> again = cr.interop.to_torch(model)                                # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import math
import numbers
import os
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.checks import whole_number
from chainrule.data.csvfile import is_number
from chainrule.errors import ConversionError, ModelFileError, UserError

#: The metadata key under which :func:`save_torch` records the architecture (a chainrule config).
ARCHITECTURE_KEY = "chainrule_architecture"
#: The metadata key under which :func:`save_torch` records the frozen parameters' names (a JSON
#: list of the file's tensor names), which :func:`load_torch` freezes again.
FROZEN_KEY = "chainrule_frozen"
_FLOATS = (np.dtype("float32"), np.dtype("float64"))


def _torch() -> Any:
    """PyTorch, imported on first use; a clear error where it is not installed."""
    try:
        import torch
    except ImportError:
        raise ConversionError(
            "PyTorch is not installed; the converters need it: pip install torch"
        ) from None
    return torch


def _is_torch_module(value: Any) -> bool:
    """Whether ``value`` is a PyTorch module. PyTorch is not imported: a module of it exists
    only where it was."""
    torch = sys.modules.get("torch")
    module_class = getattr(getattr(torch, "nn", None), "Module", None)
    return isinstance(module_class, type) and isinstance(value, module_class)


def refuse_torch_module(model: Any, function: str) -> None:
    """Raise ConversionError where ``model`` is a PyTorch module, not a chainrule one, saying
    to convert it first: the converters and savers of chainrule models (``to_torch``,
    ``to_onnx``, ``save_torch``, ``io.save_model``) otherwise met it as a layer "with no
    counterpart"."""
    if _is_torch_module(model):
        raise ConversionError(
            f"{function}: the model is a PyTorch module ({type(model).__module__}."
            f"{type(model).__qualname__}), not a chainrule one; convert it first with "
            "chainrule.interop.from_torch(net)"
        )


def refuse_directory(path: str | os.PathLike, function: str, example: str) -> None:
    """Raise ConversionError where ``path``, the file a converter writes, names a directory
    (``exports/``, ``.``, an existing directory: :func:`chainrule.files.file_path_problem`, the
    rule of every writer of a file), suggesting ``example`` inside it; checked before any work,
    so nothing is written (``Path("exports/")`` was written as a file named ``exports``)."""
    from chainrule.files import file_path_problem

    problem = file_path_problem(path, example)
    if problem is not None:
        raise ConversionError(f"{function}: {problem}")


def refuse_nonfinite(weights: Mapping[str, Any], where: str, why: str) -> None:
    """Raise ConversionError, before anything is written, where one of ``weights`` (host arrays
    by name) holds NaN or infinity: io's check, the one load_model and load_torch make.
    ``where`` starts the message (the function, the file); ``why`` says what refusing spares."""
    from chainrule import io

    try:
        io._check_finite(weights, where)
    except ModelFileError as error:
        raise ConversionError(f"{error}; {why}") from None


# -- the transpose, in one place ------------------------------------------------------------------


def weight_from_torch(weight: Any) -> np.ndarray:
    """A PyTorch Linear weight (n_out, n_in) as chainrule's w_ij (n_in, n_out): a C-ordered copy."""
    array = _host_array(weight, "weight_from_torch: the weight")
    return np.array(array.T, order="C", copy=True)


def weight_to_torch(weight: Any) -> np.ndarray:
    """chainrule's w_ij (n_in, n_out) as a PyTorch Linear weight (n_out, n_in): a C-ordered copy."""
    return np.array(np.asarray(weight).T, order="C", copy=True)


def _beside_its_bias(name: str, shape: tuple, arrays: Mapping[str, Any], n_out_axis: int) -> bool:
    """Whether the 2-D ``name`` (a ``*.weight``) has a 1-D ``*.bias`` of its n_out beside it (axis
    ``n_out_axis`` of the weight: 0 in PyTorch's layout, 1 in chainrule's): a Linear layer's, by
    all a bare state dict can say."""
    prefix = name.rpartition(".")[0]
    bias = arrays.get(f"{prefix}.bias" if prefix else "bias")
    return bias is not None and np.shape(bias) == (shape[n_out_axis],)


#: What each converter's refusal of a 2-D weight it cannot place asks for (_unknown_2d_weight).
_GIVE_THE_MODULE = {
    "state_dict_from_torch": "pass the PyTorch module, state_dict_from_torch(net), or the "
    "chainrule model it loads into, state_dict_from_torch(state, model=model)",
    "state_dict_to_torch": "pass the chainrule model itself, state_dict_to_torch(model)",
}


#: Per converter: the layout it converts to, the axis of n_out and a Linear weight's shape in
#: it, and what loads a dict in that layout.
_CONVERTED_LAYOUT = {
    "state_dict_from_torch": ("chainrule's", "second", "(n_in, n_out)", "model.load_state_dict"),
    "state_dict_to_torch": ("PyTorch's", "first", "(n_out, n_in)", "net.load_state_dict"),
}


def _unknown_2d_weight(
    function: str, name: str, shape: tuple, converted: bool = False
) -> ConversionError:
    """The refusal of a bare state dict's 2-D ``*.weight`` that may not be a Linear's: a Linear
    weight is transposed, an Embedding's table (or any other 2-D weight) is not, and the names
    alone cannot tell them apart; a guess loaded a square table transposed without a word.
    Where its bias fits the weight's other axis (``converted``), the dict is most likely in the
    layout the converter makes already (model.state_dict() given to state_dict_from_torch), and
    the refusal says so, where "no 1-D bias beside it" pointed away from the bias that was."""
    if converted:
        layout, axis, weight, load = _CONVERTED_LAYOUT[function]
        bias = f"{name.rpartition('.')[0]}.bias".lstrip(".")
        return ConversionError(
            f"{function}: {name!r} {tuple(shape)} has its bias {bias!r} beside it on its "
            f"{axis} axis, n_out in {layout} layout {weight}: the state dict looks to be in "
            f"{layout} layout already, which needs no conversion; load it as it is, "
            f"{load}(state)"
        )
    return ConversionError(
        f"{function}: {name!r} {tuple(shape)} has no 1-D bias of its n_out beside it, so a bare "
        "state dict cannot say whether it is a Linear weight (transposed: PyTorch's is "
        "(n_out, n_in), chainrule's (n_in, n_out)) or another layer's, such as an Embedding's "
        f"table (copied as it is); {_GIVE_THE_MODULE[function]}, which says which keys are "
        "Linear weights"
    )


def _linear_weight_names(model: Any) -> set[str]:
    """Every name (a tied one under each path) of a chainrule ``nn.Linear``'s weight in
    ``model``: the only parameters whose layout differs from PyTorch's."""
    from chainrule import nn

    return _weight_names_of(model, nn.Linear)


def _torch_linear_weight_names(net: Any) -> set[str]:
    """Every key of ``net.state_dict()`` that is a ``torch.nn.Linear``'s weight."""
    return _weight_names_of(net, _torch().nn.Linear)


def _weight_names_of(model: Any, layer: type) -> set[str]:
    """The ``weight`` name of every module of ``model`` that is a ``layer``, under each path a
    module shared in two places has (chainrule's and PyTorch's ``named_modules`` alike)."""
    return {f"{prefix}.weight" if prefix else "weight"
            for prefix, module in model.named_modules(remove_duplicate=False)
            if isinstance(module, layer)}  # fmt: skip


def state_dict_from_torch(state: Any, model: Any = None) -> dict[str, np.ndarray]:
    """A PyTorch ``state_dict`` (tensors or arrays), or a PyTorch module's, in chainrule's
    layout, as NumPy arrays: the Linear weights transposed, everything else copied.

    Which keys are Linear weights is asked of a module: the PyTorch module itself
    (``state_dict_from_torch(net)``: its ``torch.nn.Linear`` layers' weights) or the chainrule
    ``model`` the dict loads into (``state_dict_from_torch(sd, model=model)``: its ``nn.Linear``
    layers'); given both, they must agree. A bare dict says only names and shapes, so there a
    2-D ``*.weight`` is a Linear's where its 1-D ``*.bias`` of n_out (the weight's first axis) is
    beside it, and any other 2-D ``*.weight`` (a Linear without bias, an Embedding's table) is
    refused with a ConversionError asking for the module or the model: a guess either way loads
    a square table (or layer) transposed without a word. Tensors are detached
    (``dict(net.named_parameters())`` is taken too); one of a dtype NumPy has no name for
    (bfloat16, the float8s) is refused naming its key, as :func:`from_torch` refuses it, with the
    conversion to make first (``net.float()``).
    """
    from chainrule import nn
    from chainrule.nn.module import _state_names

    linear = _torch_linear_weight_names(state) if _is_torch_module(state) else None
    if linear is not None:
        state = state.state_dict()
    elif isinstance(state, nn.Module):  # a chainrule model where PyTorch's belongs
        raise ConversionError(
            f"state_dict_from_torch: this is a chainrule model ({type(state).__name__}), not a "
            "PyTorch state dict or module; its state is in chainrule's layout already. Pass "
            "the PyTorch state dict or module first and the chainrule model it loads into as "
            "model=: state_dict_from_torch(torch_net.state_dict(), model=model); to go the "
            "other way, state_dict_to_torch(model)"
        )
    elif not isinstance(state, Mapping):
        raise ConversionError(
            f"state_dict_from_torch: expected a PyTorch state dict or module, not "
            f"{type(state).__name__}"
        )
    if model is not None:
        if not isinstance(model, nn.Module):
            raise ConversionError(
                "state_dict_from_torch: model= is the chainrule model the state dict loads into, "
                f"not {type(model).__module__}.{type(model).__qualname__}"
            )
        ours, known = _linear_weight_names(model), _state_names(model)[1]
        for name in state if linear is not None else ():
            if name in known and (name in linear) != (name in ours):
                raise ConversionError(
                    f"state_dict_from_torch: {name!r} is a Linear weight in "
                    f"{'the PyTorch module' if name in linear else 'the chainrule model'} but "
                    "not in the other; the two networks differ there"
                )
        linear = ours if linear is None else linear | ours
    return _converted(_host_arrays(state), linear, "state_dict_from_torch", weight_from_torch)


def _host_arrays(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A PyTorch state dict's entries as host arrays (:func:`_host_array`), named as
    :func:`state_dict_from_torch`'s."""
    return {name: _host_array(value, f"state_dict_from_torch: {name!r}")
            for name, value in state.items()}  # fmt: skip


def _converted(
    arrays: Mapping[str, np.ndarray],
    linear: set[str] | None,
    function: str,
    transpose: Callable[[Any], np.ndarray],
) -> dict[str, np.ndarray]:
    """Copies of ``arrays``, each name in ``linear`` through ``transpose``. With ``linear`` None
    (a bare dict) a 2-D ``*.weight`` beside its bias is a Linear's (n_out is the weight's first
    axis in PyTorch's layout, going from it, and its second in chainrule's), and any other is
    refused (:func:`_unknown_2d_weight`)."""
    n_out_axis = 0 if transpose is weight_from_torch else 1
    out = {}
    for name, array in arrays.items():
        if linear is None and name.rpartition(".")[2] == "weight" and array.ndim == 2:
            if not _beside_its_bias(name, array.shape, arrays, n_out_axis):
                # its bias fits the other axis: a dict in the layout it would be converted to
                converted = _beside_its_bias(name, array.shape, arrays, 1 - n_out_axis)
                raise _unknown_2d_weight(function, name, array.shape, converted)
            out[name] = transpose(array)
        else:
            linear_weight = linear is not None and name in linear
            out[name] = transpose(array) if linear_weight else np.array(array)
    return out


def state_dict_to_torch(state: Any, tensors: bool = True) -> dict[str, Any]:
    """A chainrule model's ``state_dict``, or the model itself, in PyTorch's layout, as torch
    tensors (NumPy arrays if not ``tensors``): the Linear weights transposed, everything else
    copied.

    Given the model, its ``nn.Linear`` layers' weights are transposed and no other array (an
    embedding table of a module of one's own stays as it is), and the keys are those PyTorch's
    ``state_dict()`` of the same network has: a tied parameter (a layer used twice,
    ``Sequential(lin, Tanh(), lin)``, or one Parameter set on two layers) under each of its names
    (``0.weight`` and ``2.weight``, one tensor), which ``net.load_state_dict(..., strict=True)``
    needs. A bare state dict names a tied parameter once (``0.weight``) and is converted key for
    key; there a 2-D ``*.weight`` is a Linear's where its 1-D ``*.bias`` of n_out (the weight's
    second axis) is beside it, and any other is refused asking for the model, as
    :func:`state_dict_from_torch` refuses it.
    """
    from chainrule import nn

    refuse_torch_module(state, "state_dict_to_torch")
    model = state if isinstance(state, nn.Module) else None
    if model is not None:
        state = model.state_dict()
    arrays = {name: np.asarray(value.data if hasattr(value, "requires_grad") else value)
              for name, value in state.items()}  # fmt: skip
    if model is None:
        out = _converted(arrays, None, "state_dict_to_torch", weight_to_torch)
    else:  # every name of a tied array, in PyTorch's order, in the layout of its module there
        names, linear = _torch_names(model), _linear_weight_names(model)
        plain = {key: np.array(array) for key, array in arrays.items()}
        transposed = {key: weight_to_torch(plain[key]) for name, key in names.items()
                      if name in linear}  # fmt: skip
        out = {name: (transposed if name in linear else plain)[key]
               for name, key in names.items()}  # fmt: skip
    if tensors:  # one tensor per array, so a tied parameter stays one tensor
        torch = _torch()
        made = {id(array): torch.from_numpy(array) for array in out.values()}
        out = {name: made[id(array)] for name, array in out.items()}
    return out


def _torch_names(model: Any) -> dict[str, str]:
    """Every key of PyTorch's ``state_dict()`` of ``model``'s network, in its order (module by
    module, each one's parameters then its buffers, a shared module under each path), and the
    key of ``model.state_dict()`` holding its array: for a tied parameter, its first name."""
    from chainrule.nn.module import _state_names

    groups, tensors = _state_names(model)
    first = {name: group[0] for group in groups for name in group}
    return {name: first[name]
            for prefix, owner in model.named_modules(remove_duplicate=False)
            for attr in (*owner._parameters, *owner._buffers)
            if (name := f"{prefix}.{attr}" if prefix else attr) in tensors}  # fmt: skip


# -- modules --------------------------------------------------------------------------------------


def _host_array(value: Any, where: str) -> np.ndarray:
    """``value`` (a PyTorch tensor, or anything ``np.asarray`` takes) as a NumPy array on the
    host, detached from PyTorch's graph. A tensor of a dtype NumPy cannot take from PyTorch
    (bfloat16, the float8s) is refused as :func:`from_torch` refuses it, ``where`` naming the
    tensor: ``.numpy()``'s bare "Got unsupported ScalarType BFloat16" named neither the tensor
    nor the fix."""
    if not hasattr(value, "detach"):
        return np.asarray(value)
    if getattr(value, "is_meta", False):  # torch's own words: "Cannot copy out of meta tensor"
        raise ConversionError(
            f"{where} is on PyTorch's meta device, which holds shapes and no values; load or "
            "initialise the weights first (net.to_empty(device='cpu'), then its state dict)"
        )
    try:
        return value.detach().cpu().numpy()
    except TypeError:  # found by trying: ml_dtypes (imported by onnx) names bfloat16 in NumPy
        raise _not_a_float(value.dtype, where) from None


def _not_a_float(dtype: Any, where: str, fix: str | None = None) -> ConversionError:
    """The refusal of a tensor of a dtype chainrule does not compute in, with the fix: the
    conversion of the network it comes from (PyTorch's by default)."""
    return ConversionError(
        f"{where} is {backend.dtype_name(dtype)}; chainrule computes in float32 or float64 "
        f"(convert first, e.g. {fix or _TORCH_ONE_DTYPE})"
    )


def _check_dtype(dtype: Any, where: str, fix: str | None = None) -> np.dtype:
    """NumPy's dtype for ``dtype`` (NumPy's, PyTorch's or any array library's), refused unless
    it is float32 or float64, with ``fix`` (:func:`_not_a_float`)."""
    try:
        result = np.dtype(backend.dtype_name(dtype))
    except TypeError:  # bfloat16, the float8s: NumPy has no name for them
        raise _not_a_float(dtype, where, fix) from None
    if result not in _FLOATS:
        raise _not_a_float(dtype, where, fix)
    return result


#: How a PyTorch network is brought to one float dtype chainrule computes in.
_TORCH_ONE_DTYPE = "net.float() or net.double()"


def _same_dtype(
    found: Any, expected: Any, where: str, other: str, fix: str = _TORCH_ONE_DTYPE
) -> None:
    """Refuse ``where`` (of dtype ``found``, a dtype or its name) unless it is of ``other``'s
    dtype, ``expected``."""
    found, expected = backend.dtype_name(found), backend.dtype_name(expected)
    if found != expected:
        raise ConversionError(
            f"{where} is {found} but {other} is {expected}; chainrule computes in one "
            f"dtype (convert first, e.g. {fix})"
        )


def _unit_table() -> dict[type, tuple[str, Callable[[Any], dict], Callable[[Any], Any]]]:
    """The one table of unit layers: chainrule class -> (PyTorch class name, the PyTorch layer's
    arguments from chainrule's, a builder of chainrule's layer from PyTorch's). Classes match
    exactly: a subclass may compute something else, so it is refused rather than guessed."""
    from chainrule import nn

    def axis(m: Any) -> int:
        if m.dim is None:  # PyTorch picks the axis at each call, from the input's rank
            warnings.warn(
                f"from_torch: {type(m).__name__}(dim=None) is converted with axis=-1, the axis "
                "PyTorch picks for 1-D and 2-D inputs (a row, a batch of rows); for 3-D inputs "
                "it picks axis 0 and for 4-D axis 1: give dim explicitly",
                UserWarning,
                stacklevel=4,
            )
            return -1
        return m.dim

    return {
        nn.Logistic: ("Sigmoid", lambda m: {}, lambda m: nn.Logistic()),
        nn.Tanh: ("Tanh", lambda m: {}, lambda m: nn.Tanh()),
        nn.ReLU: ("ReLU", lambda m: {}, lambda m: nn.ReLU()),
        nn.Identity: ("Identity", lambda m: {}, lambda m: nn.Identity()),
        nn.Softmax: ("Softmax", lambda m: {"dim": m.axis}, lambda m: nn.Softmax(axis(m))),
        nn.LogSoftmax: ("LogSoftmax", lambda m: {"dim": m.axis}, lambda m: nn.LogSoftmax(axis(m))),
        nn.Dropout: ("Dropout", lambda m: {"p": m.p}, lambda m: nn.Dropout(p=m.p)),
    }


_SUPPORTED = "Linear, Sigmoid, Tanh, ReLU, Softmax, LogSoftmax, Dropout and Identity"


def _linear_from_torch(layer: Any, position: int, converted: dict[int, Any]) -> Any:
    """chainrule's Linear of PyTorch's ``layer``; a parameter already converted (tied to an
    earlier layer's, in ``converted`` by id) is that same parameter, so the tie survives."""
    from chainrule import nn

    where = f"from_torch: layer {position} (Linear)"
    dtype = _check_dtype(layer.weight.dtype, f"{where}'s weight")
    if layer.bias is not None:
        bias = _check_dtype(layer.bias.dtype, f"{where}'s bias")
        _same_dtype(bias, dtype, f"{where}'s bias", "its weight")
    from chainrule.nn.init import draws_kept

    with draws_kept():  # its drawn weights are replaced: the user's generators stay as they were
        linear = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None,
                           init="glorot", dtype=dtype)  # fmt: skip
    linear.weight.data = weight_from_torch(layer.weight)
    if layer.bias is not None:
        linear.bias.data = np.array(layer.bias.detach().cpu().numpy(), copy=True)
    _keep_ties_and_frozen(layer, linear, converted)
    return linear


def _keep_ties_and_frozen(source: Any, target: Any, converted: dict[int, Any]) -> None:
    """Give the Linear ``target`` the parameters converted before from ``source``'s (a tied
    weight stays one parameter, whose gradient is the sum over its uses, not one use's share),
    and each of its own the ``requires_grad`` of ``source``'s (a frozen layer stays frozen)."""
    for name in ("weight", "bias"):
        theirs = getattr(source, name)
        if theirs is None:
            continue
        if id(theirs) in converted:
            setattr(target, name, converted[id(theirs)])
        else:
            converted[id(theirs)] = getattr(target, name)
            getattr(target, name).requires_grad_(bool(theirs.requires_grad))


def from_torch(net: Any, arch: Any = None) -> Any:
    """The chainrule ``nn.Sequential`` computing what the PyTorch network ``net`` computes.

    ``net`` is a ``torch.nn.Sequential`` of Linear, Sigmoid, Tanh, ReLU, Softmax, LogSoftmax,
    Dropout and Identity layers (any other layer, or a Sequential inside it: a ConversionError
    naming it, for the latter with the flattening that converts), one such layer, or a PyTorch
    ``state_dict`` together with ``arch`` (a chainrule ``nn.Sequential``, its config, or a spec such
    as ``"4,3,2"``, see :func:`build_arch`), since a state dict does not record its activations.
    Weights are copied (transposed, bit for bit, in their own dtype), and the model is in training
    or evaluation mode as ``net`` is. A layer (or parameter) used in two places is one in the
    model too, and a frozen parameter (``requires_grad=False``) stays frozen.
    """
    if isinstance(net, Mapping):
        if arch is None:
            raise ConversionError(
                "from_torch: a state dict does not say which units follow each Linear layer; "
                "pass arch= (e.g. '4,3,2' or a chainrule model with the same layers)"
            )
        # the entries first: a BatchNorm's int64 num_batches_tracked was refused for its dtype,
        # with a conversion (net.float()) that never casts it
        _check_arch(arch, _shapes(net), "", ordered=True)  # before anything is built
        dtype = _state_dtype(net)
        from chainrule.nn.init import draws_kept

        with draws_kept():  # the state dict replaces the weights it draws
            model = build_arch(arch, dtype)
        return load_state_dict_from_torch(model, net)
    torch = _torch()
    from chainrule import nn

    if not isinstance(net, torch.nn.Module):
        raise ConversionError(
            f"from_torch: expected a torch.nn.Sequential or a state dict, got {type(net).__name__}"
        )
    builders = {getattr(torch.nn, name): build for name, _, build in _unit_table().values()}
    if type(net) not in (torch.nn.Sequential, torch.nn.Linear, *builders):
        raise _not_a_sequential(net, torch)
    layers_in = list(net) if type(net) is torch.nn.Sequential else [net]
    converted: dict[int, Any] = {}  # id of a PyTorch layer or parameter -> chainrule's
    layers = []
    for position, layer in enumerate(layers_in):
        if id(layer) not in converted:  # a layer used twice is one layer, its weights shared
            if type(layer) is torch.nn.Linear:
                converted[id(layer)] = _linear_from_torch(layer, position, converted)
            elif type(layer) in builders:
                try:  # here, not in a helper: Softmax(dim=None)'s warning points at the caller
                    converted[id(layer)] = builders[type(layer)](layer)
                except UserError as error:  # a setting PyTorch takes and chainrule's refuses
                    raise _unconvertible(layer, position, error) from error
            elif type(layer) is torch.nn.Sequential:  # its layers one level up compute the same
                flatten = _flatten_hint("from_torch", position, "torch.nn", "net")
                raise ConversionError(
                    f"from_torch: layer {position} is Sequential, a torch.nn.Sequential inside "
                    f"the Sequential, and {flatten}"
                )
            else:
                raise ConversionError(
                    f"from_torch: layer {position} is {type(layer).__name__}, which chainrule "
                    f"cannot convert; it converts a Sequential of {_SUPPORTED}"
                )
        layers.append(converted[id(layer)])
    model = nn.Sequential(*layers)
    _copy_modes(layers_in, layers, net, model)
    return model


def _copy_modes(sources: Sequence[Any], targets: Sequence[Any], whole: Any, into: Any) -> None:
    """Put each converted layer (and the network ``into``) in the training or evaluation mode
    of its source (and of ``whole``), each module's own flag: the top-level flag alone put a
    PyTorch network in training with its dropout in evaluation into a model whose dropout
    drew masks (``train()`` sets every layer's). A layer used twice is one module, so one
    flag."""
    into.train(bool(getattr(whole, "training", False)))
    for source, target in zip(sources, targets):
        target.train(bool(getattr(source, "training", False)))


def _flatten_hint(function: str, position: int, nn_module: str, variable: str) -> str:
    """What to do with a Sequential nested at ``position`` of the Sequential ``variable``: the
    converters and savers (``function``) take one level of layers, and the same layers one
    level up compute the same; ``nn_module`` is where the Sequential to write lives."""
    return (
        f"{function} takes one level of layers; flatten it first, e.g. {nn_module}.Sequential("
        f"*{variable}[:{position}], *{variable}[{position}], *{variable}[{position + 1}:])"
    )


def _not_a_sequential(net: Any, torch: Any) -> ConversionError:
    """The refusal of a PyTorch ``net`` that is neither a Sequential nor one layer from_torch
    converts, naming it as the whole network (it was called "layer 0", as if it were inside
    one), with what from_torch takes and, for the containers met most, the way there."""
    name = type(net).__name__
    if isinstance(net, torch.jit.ScriptModule):  # its children are script modules too
        what = f"a TorchScript module ({name} of {net.original_name}), not a Python network"
        way = (
            "; convert the Python network it was scripted or traced from, or pass its "
            "state_dict() with arch= (e.g. '4,3,2')"
        )
    elif isinstance(net, torch.nn.ModuleList):
        what = "a torch.nn.ModuleList, which holds layers but does not say how they run"
        way = "; if they run one after another, convert torch.nn.Sequential(*net)"
    elif isinstance(net, torch.nn.Sequential):
        what = f"{name}, a subclass of torch.nn.Sequential (its forward may differ)"
        way = "; if it runs its layers one after another, convert torch.nn.Sequential(*net)"
    else:
        what = f"{name}, a torch.nn.Module that is not a Sequential"
        way = "; pass its state_dict() with arch= (e.g. '4,3,2') if it is a chain of those layers"
    return ConversionError(
        f"from_torch: the network is {what}; from_torch takes a torch.nn.Sequential of "
        f"{_SUPPORTED}, one such layer, or a state dict with arch={way}"
    )


def _unconvertible(layer: Any, position: int, error: UserError) -> ConversionError:
    """The ConversionError for a unit layer whose settings chainrule's layer refuses, naming it
    and its position (as every layer from_torch cannot convert is named), with the reason."""
    hint = ""
    if type(layer) is _torch().nn.Dropout and layer.p == 1.0:
        hint = (
            "; PyTorch's Dropout(p=1.0) outputs zeros in training, so no layer before it "
            "learns, and passes its input unchanged in evaluation: for the network evaluation "
            "computes, replace it with torch.nn.Identity() before converting"
        )
    return ConversionError(
        f"from_torch: layer {position} ({layer!r}) cannot be converted: {error}{hint}"
    )


#: How a chainrule model is brought to one dtype chainrule and PyTorch share, for to_torch's
#: refusal of a mixed one or of another float.
_ONE_DTYPE = "model.to('float32') or model.to('float64')"


def to_torch(model: Any) -> Any:
    """The ``torch.nn.Sequential`` computing what the chainrule ``model`` computes.

    ``model`` is an ``nn.Sequential`` (or one layer) of Linear, Logistic/Sigmoid, Tanh, ReLU,
    Softmax, LogSoftmax, Dropout and Identity. Each weight is transposed to PyTorch's
    (n_out, n_in) and copied bit for bit in its dtype; the training mode is carried over, a
    layer (or parameter) used in two places is one in the network too, and a frozen parameter
    stays frozen. Two parameters on one array (a weight tied by aliasing,
    ``nn.Parameter(w.data.T)``) are refused: a PyTorch Linear owns its weight, so the network
    would train them apart (:func:`refuse_memory_sharing`).
    """
    refuse_torch_module(model, "to_torch")
    torch = _torch()
    from chainrule import nn

    layers_in = list(model) if type(model) is nn.Sequential else [model]
    units = _unit_table()
    converted: dict[int, Any] = {}  # id of a chainrule layer or parameter -> PyTorch's
    layers = []
    first = None  # the first Linear's dtype and where it is: every layer computes in it
    for position, layer in enumerate(layers_in):
        if id(layer) in converted:  # a layer used twice is one layer, its weights shared
            layers.append(converted[id(layer)])
            continue
        if type(layer) is nn.Linear:
            first = _linear_dtype(layer, position, first)
            converted[id(layer)] = _linear_to_torch(layer, first[0], converted)
        elif type(layer) in units:
            name, arguments, _ = units[type(layer)]
            converted[id(layer)] = getattr(torch.nn, name)(**arguments(layer))
        else:
            raise _no_torch_counterpart(layer, position, "to_torch", layer is model)
        layers.append(converted[id(layer)])
    refuse_memory_sharing(model, "to_torch", _TO_TORCH_UNTIES)  # a model of known layers
    net = torch.nn.Sequential(*layers)
    _copy_modes(layers_in, layers, model, net)
    return net


#: What :func:`to_torch` would do with two parameters on one array (after "which")
_TO_TORCH_UNTIES = (
    "a PyTorch Linear cannot keep: each owns its weight, so the network would hold two "
    "separate parameters and train them apart"
)


def refuse_memory_sharing(model: Any, where: str, consequence: str, tie: bool = True) -> None:
    """Raise ConversionError where two of ``model``'s parameters are separate tensors on one
    array (one made on the other's array, ``nn.Parameter(w.data.T)``: weights tied by
    aliasing), found by :func:`~chainrule.checks.shared_arrays`, the detection
    ``io.save_model``, the explainer and the optimizers refuse it by. ``where`` starts the
    message, ``consequence`` says what the conversion would make of them (after "which");
    ``tie``: the conversion keeps one parameter in two places (``l2.weight = l1.weight``), so
    that is offered where the two hold the same values. One parameter in two places is not
    refused here: it is one tensor, listed once by ``named_parameters``."""
    from chainrule.checks import shared_arrays

    named = dict(model.named_parameters())
    shared = shared_arrays((name, parameter.data) for name, parameter in named.items())
    if not shared:
        return
    first, second = shared[0]
    copy_fix = "give each its own copy (nn.Parameter(w.data.copy())) for separate weights"
    a, b = (np.asarray(named[name].numpy()) for name in (first, second))
    if tie and a.shape == b.shape and np.array_equal(a, b):
        fix = f"tie them as one parameter (layer.weight = other.weight), which {where} keeps, "
        fix += f"or {copy_fix}"
    elif tie and a.ndim == 2 and a.shape == b.shape[::-1] and np.array_equal(a, b.T):
        fix = f"{copy_fix}; a weight tied to another's transpose needs a PyTorch module of "
        fix += "your own whose forward reads W and W.T"
    else:
        fix = copy_fix
    raise ConversionError(
        f"{where}: {second} shares its memory with {first} (a tensor made on the other's array, "
        f"e.g. nn.Parameter(w.data.T): weights tied by aliasing), which {consequence}; {fix}"
    )


def _no_torch_counterpart(
    layer: Any, position: int, function: str, whole: bool = False
) -> ConversionError:
    """The refusal of chainrule's ``layer``, at ``position`` of the model, that ``function``
    (to_torch, save_torch) cannot turn into a PyTorch layer: a nested Sequential with the
    flattening that converts (PyTorch has a Sequential: "no counterpart" was wrong), else its
    name and the layers that convert. ``whole``: ``layer`` is the model itself, no Sequential
    (a Module of one's own), which is said so, not called "layer 0"."""
    from chainrule import nn

    if whole:
        return ConversionError(
            f"{function} converts an nn.Sequential of {_SUPPORTED} (or one such layer); "
            f"{type(layer).__name__} is neither (a module with a forward of its own has no "
            "PyTorch counterpart here): write the model as an nn.Sequential of those layers"
        )
    if type(layer) is nn.Sequential:
        return ConversionError(
            f"{function}: layer {position} is a Sequential inside the Sequential, and "
            f"{_flatten_hint(function, position, 'nn', 'model')}"
        )
    return ConversionError(
        f"{function}: layer {position} is {type(layer).__name__}, which has no PyTorch "
        f"counterpart here; chainrule converts a Sequential of {_SUPPORTED}"
    )


def _linear_dtype(
    layer: Any, position: int, first: tuple[np.dtype, str] | None
) -> tuple[np.dtype, str]:
    """The dtype of chainrule's Linear ``layer``, checked to be the dtype of its bias and of the
    ``first`` Linear (every layer of a PyTorch network computes in one); returns ``first``."""
    where = f"to_torch: layer {position} (Linear)"
    dtype = _check_dtype(layer.weight.dtype, f"{where}'s weight", _ONE_DTYPE)
    if layer.bias is not None:
        bias = _check_dtype(layer.bias.dtype, f"{where}'s bias", _ONE_DTYPE)
        _same_dtype(bias, dtype, f"{where}'s bias", "its weight", _ONE_DTYPE)
    first = first or (dtype, f"layer {position}'s weight")
    _same_dtype(dtype, first[0], f"{where}'s weight", first[1], _ONE_DTYPE)
    return first


def _linear_to_torch(layer: Any, dtype: np.dtype, converted: dict[int, Any]) -> Any:
    """PyTorch's Linear of chainrule's ``layer``, its weights copied (transposed) in ``dtype``;
    a parameter already converted (tied to an earlier layer's) is that same parameter."""
    torch = _torch()
    linear = torch.nn.Linear(layer.n_in, layer.n_out, bias=layer.bias is not None,
                             dtype=getattr(torch, dtype.name))  # fmt: skip
    with torch.no_grad():
        # np.array copies: a host view of another library's array may be read-only
        weight = np.array(weight_to_torch(layer.weight.numpy()))
        linear.weight.copy_(torch.from_numpy(weight))
        if layer.bias is not None:
            linear.bias.copy_(torch.from_numpy(np.array(layer.bias.numpy())))
    _keep_ties_and_frozen(layer, linear, converted)
    return linear


# -- architectures for state dicts ----------------------------------------------------------------


def build_arch(arch: Any, dtype: Any = "float32") -> Any:
    """A fresh chainrule ``nn.Sequential`` from ``arch``, in ``dtype``: a model (copied), its
    config (a dict), or a spec of layer sizes and unit names: a string, or a list or tuple of
    the same items (``[4, 3, 2]`` is ``"4,3,2"``; ``[4, 8, "relu", 2]``). Any other type is
    refused.

    In a spec, numbers are layer sizes and a name (logistic/sigmoid, tanh, relu, softmax) is the
    unit of the layer just before it; a hidden layer with no name gets logistic units, the output
    layer none (its raw values, as PyTorch's ``Linear`` gives). So ``"4,3,2"`` is Linear(4, 3),
    Logistic, Linear(3, 2), and ``"4,8,relu,2,softmax"`` is Linear(4, 8), ReLU, Linear(8, 2),
    Softmax. ``nobias`` after a size makes that layer's Linear one without biases
    (``"4,3,nobias,2"``: PyTorch's ``Linear(4, 3, bias=False)``).
    """
    from chainrule import nn

    if isinstance(arch, nn.Module):  # a copy to load into: the user's model stays as it is;
        # in ``dtype``, as a config's and a spec's (the weights it takes keep their own dtype)
        return copy.deepcopy(arch).to(dtype)
    if isinstance(arch, Mapping):
        return nn.from_config(arch).to(dtype)
    sizes, units, no_bias = _parse_spec(arch)
    layers: list[Any] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        layers.append(nn.Linear(n_in, n_out, bias=k not in no_bias, init="glorot", dtype=dtype))
        name = units.get(k, "logistic" if k < len(sizes) - 1 else None)
        if name is not None:
            layers.append(nn.activation(name))
    return nn.Sequential(*layers)


def _parse_spec(arch: Any) -> tuple[list[int], dict[int, str], set[int]]:
    """A spec's layer sizes, its unit names by layer (1 = the first above the inputs) and the
    layers marked ``nobias``, checked and nothing built."""
    from chainrule import nn

    tokens = _spec_tokens(arch)
    sizes: list[int] = []
    units: dict[int, str] = {}
    no_bias: set[int] = set()
    for token in tokens:
        layer = len(sizes) - 1  # the layer a name after its size describes
        size = whole_number(token)
        if size is not None and size > 0:
            sizes.append(size)
            continue
        if is_number(token):
            raise UserError(
                f"arch {arch!r}: {token!r} is not a layer size; a size is a positive whole number "
                "(write e.g. '4,3,2')"
            )
        marks = no_bias if token.lower() == "nobias" else units
        if layer < 1 or layer in marks:
            raise UserError(
                f"arch {arch!r}: {token!r} must follow a layer size above the inputs, once "
                "(write e.g. '4,3,tanh,2' or '4,3,nobias,2')"
            )
        if marks is no_bias:
            no_bias.add(layer)
        else:
            nn.activation(token)  # an unknown name: an error listing the known ones
            units[layer] = token
    if len(sizes) < 2:
        raise UserError(f"arch {arch!r}: give at least two positive layer sizes, like 4,3,2")
    return sizes, units, no_bias


def _spec_tokens(arch: Any) -> list[str]:
    """A spec's sizes and names as text: a string's comma-separated parts, or the items of a
    list or tuple (``[4, 3, 2]``, ``[4, 8, "relu", 2]``); anything else is refused."""
    if isinstance(arch, (list, tuple)):
        for item in arch:
            if isinstance(item, bool) or not isinstance(item, (numbers.Integral, str)):
                raise UserError(
                    f"arch {arch!r}: {item!r} is neither a layer size (a whole number) nor a "
                    "unit name; write e.g. [4, 3, 2] or [4, 8, 'relu', 2]"
                )
        return [str(item).strip() for item in arch if str(item).strip()]
    if not isinstance(arch, str):
        raise UserError(
            f"arch: expected a chainrule model, its config (a dict), a spec such as '4,3,2' or "
            f"a list of sizes such as [4, 3, 2], not {type(arch).__name__}"
        )
    return [part.strip() for part in arch.split(",") if part.strip()]


def _declared_linears(arch: Any, where: str) -> list[tuple[int, int, bool]] | None:
    """The Linear layers ``(n_in, n_out, bias)`` that ``arch`` declares, in order, read without
    building (or allocating) anything: the layers :func:`load_state_dict_from_torch` fills. None
    where that cannot be read off a config (then it is built, after a bound on its size)."""
    from chainrule import nn

    if isinstance(arch, nn.Module):
        return [(m.n_in, m.n_out, m.bias is not None) for m in _linear_layers(arch, where)]
    if not isinstance(arch, Mapping):
        sizes, _, no_bias = _parse_spec(arch)
        pairs = zip(sizes[:-1], sizes[1:])
        return [(n_in, n_out, k not in no_bias) for k, (n_in, n_out) in enumerate(pairs, start=1)]
    layers = arch.get("layers") if arch.get("type") == "Sequential" else [arch]
    if arch.get("type") not in ("Sequential", "Linear") or not isinstance(layers, list):
        return None
    declared = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or not isinstance(layer.get("type"), str):
            return None
        if layer["type"] != "Linear":
            if _holds_linear(layer):  # a nested Sequential's or a Parallel's
                raise _nested_linear_error(str(index), where)
            continue  # no weights from the state dict
        n_in, n_out, bias = layer.get("n_in"), layer.get("n_out"), layer.get("bias", True)
        if not (type(n_in) is int and type(n_out) is int and n_in > 0 and n_out > 0
                and type(bias) is bool):  # fmt: skip
            return None
        declared.append((n_in, n_out, bias))
    return declared


def _linear_layers(model: Any, where: str) -> list[Any]:
    """The Linear layers a state dict fills: a Sequential's own (or the model itself). One
    inside another layer is refused: it would keep its initial weights without a word."""
    return [layer for _, layer in _named_linear_layers(model, where)]


def _named_linear_layers(model: Any, where: str) -> list[tuple[str, Any]]:
    """:func:`_linear_layers`, each with the prefix of its parameters' names in ``model``
    (``"2"`` for ``2.weight``; ``""`` for the model itself)."""
    from chainrule import nn

    if isinstance(model, nn.Sequential):
        named = [(str(k), layer) for k, layer in enumerate(model) if type(layer) is nn.Linear]
    else:
        named = [("", model)] if type(model) is nn.Linear else []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and not any(module is layer for _, layer in named):
            layer = name.split(".")[0] if isinstance(model, nn.Sequential) else name
            raise _nested_linear_error(layer, where)
    return named


def _holds_linear(config: Any) -> bool:
    """Whether a layer's config has a Linear anywhere inside it."""
    from chainrule.io import config_objects

    return any(item.get("type") == "Linear" for item in config_objects(config))


def _nested_linear_error(name: str, where: str) -> ModelFileError:
    return ModelFileError(
        f"{where}the architecture has a Linear inside layer {name!r}: a PyTorch state dict "
        "fills the Linear layers of one Sequential, so give the architecture as one flat "
        "Sequential (a Linear inside a Sequential or a Parallel would keep its initial weights)"
    )


def _state_dtype(state: Mapping[str, Any]) -> np.dtype:
    """The one float dtype of every entry (float32 or float64): another dtype, or a mix, is
    refused naming the entry."""
    first: tuple[str, np.dtype] | None = None
    for name, value in state.items():
        found = _check_dtype(value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype,
                             f"{name!r}")  # fmt: skip
        if first is None:
            first = (name, found)
        _same_dtype(found, first[1], f"{name!r}", repr(first[0]))
    return np.dtype("float32") if first is None else first[1]


def load_state_dict_from_torch(
    model: Any, state: Mapping[str, Any], source: str = "", ordered: bool = True
) -> Any:
    """Copy a PyTorch ``state_dict`` into the chainrule ``model``'s Linear layers, transposed.

    The state dict's Linear layers are matched to the model's in order (PyTorch's positions may
    differ: a Dropout shifts them), and every shape is checked before anything is written. The
    order is the layers' numbers where their names differ only in numbers (a Sequential's ``0``,
    ``2``, ``4``; ``fc1`` ... ``fc10``), otherwise the dict's own order (PyTorch's registration
    order); with ``ordered=False`` (a dict read from a file, whose order is the file's, not the
    network's) names that are not numbered are refused. Returns ``model``.

    The arrays, converted and named as the model names them, are loaded by the model's own
    ``load_state_dict``, so its rules hold here too: an array of another dtype than the
    model's entry (a float16 state dict into a float32 model, one float64 bias) is a
    :class:`~chainrule.errors.StateDictError` naming the key and both dtypes, and nothing is
    written (they were written as they came, leaving a float16 or mixed model). PyTorch's own
    ``load_state_dict`` casts into the module's dtype instead; convert the network first
    (``net.float()``), or the model (``model.to("float64")``).
    """
    where = f"{source}: " if source else ""
    linears, shapes = _named_linear_layers(model, where), _shapes(state)
    groups = _torch_linear_groups(shapes, where, ordered)
    declared = [(m.n_in, m.n_out, m.bias is not None) for _, m in linears]
    _check_layers(declared, groups, shapes, where)
    weights = {keys["weight"] for _, keys in groups}  # the groups' weights are Linear ones
    arrays = _converted(_host_arrays(state), weights, "state_dict_from_torch", weight_from_torch)
    ours = {f"{prefix}.{leaf}" if prefix else leaf: arrays[key]
            for (_, keys), (prefix, _) in zip(groups, linears)
            for leaf, key in keys.items()}  # fmt: skip
    model.load_state_dict(ours, strict=False)  # its other layers hold no Linear weights
    return model


def _shapes(state: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
            for name, value in state.items()}  # fmt: skip


def _check_layers(declared: list[tuple[int, int, bool]], groups: list[tuple[str, dict]],
                  shapes: Mapping[str, tuple], where: str) -> None:  # fmt: skip
    """Raise ModelFileError unless the state dict's Linear layers (``groups``, in order, with
    their ``shapes``) are the ``declared`` ones: shapes only, so nothing need be built first."""
    if len(groups) != len(declared):
        raise ModelFileError(
            f"{where}the state dict has {len(groups)} Linear layer(s) "
            f"({', '.join(prefix for prefix, _ in groups) or 'none'}) but the architecture has "
            f"{len(declared)}"
        )
    for index, ((prefix, keys), (n_in, n_out, bias)) in enumerate(zip(groups, declared)):
        n_out_found, n_in_found = shapes[keys["weight"]]
        if (n_in_found, n_out_found) != (n_in, n_out):
            raise ModelFileError(
                f"{where}{keys['weight']!r} is PyTorch's ({n_out_found}, {n_in_found}) "
                f"(n_out, n_in), a Linear({n_in_found}, {n_out_found}), but the "
                f"architecture has Linear({n_in}, {n_out}) there"
            )
        if ("bias" in keys) != bias:
            raise ModelFileError(f"{where}layer {prefix!r}: {_bias_mismatch(declared, index)}")
        if bias and shapes[keys["bias"]] != (n_out,):
            raise ModelFileError(
                f"{where}{keys['bias']!r} has shape {shapes[keys['bias']]} but the "
                f"architecture's Linear({n_in}, {n_out}) needs ({n_out},)"
            )


def _bias_mismatch(declared: list[tuple[int, int, bool]], index: int) -> str:
    """Why a state dict's Linear and the architecture's ``declared[index]`` differ in a bias,
    and the fix."""
    n_in, n_out, bias = declared[index]
    if bias:
        return (
            f"the state dict has no bias but the architecture's Linear({n_in}, {n_out}) has one; "
            f"in a spec write nobias right after that layer's output size, {n_out} "
            f"('{_spec_without_bias(declared, index)}', with your unit names where they were), "
            f"or pass a model or config with Linear({n_in}, {n_out}, bias=False) there"
        )
    return (
        f"the state dict has a bias but the architecture's Linear({n_in}, {n_out}, bias=False) "
        "has none"
    )


def _spec_without_bias(declared: list[tuple[int, int, bool]], index: int) -> str:
    """The sizes spec of the ``declared`` Linear layers with ``nobias`` after each one without
    a bias and after layer ``index`` (a spec marks a layer after its output size: the first
    layer's is the spec's second number)."""
    tokens = [str(declared[0][0])]
    for k, (_, n_out, bias) in enumerate(declared):
        tokens.append(str(n_out))
        if not bias or k == index:
            tokens.append("nobias")
    return ",".join(tokens)


def _check_arch(arch: Any, shapes: Mapping[str, tuple], where: str, ordered: bool) -> None:
    """Check ``arch`` against the state dict's ``shapes`` before it is built: its Linear layers
    where they can be read off it, else its size."""
    groups = _torch_linear_groups(shapes, where, ordered)
    declared = _declared_linears(arch, where)
    if declared is None:
        _check_size(arch, shapes, where)
    else:
        _check_layers(declared, groups, shapes, where)


def _check_size(arch: Any, shapes: Mapping[str, tuple], where: str) -> None:
    """An architecture whose Linear layers cannot be read off without building it may at least
    not need more numbers than the state dict holds (io.load_model's bound), so that building it
    allocates no more than is there."""
    from chainrule import io

    held = sum(math.prod(shape) for shape in shapes.values())
    needed = io.claimed_weights(arch)
    if needed > held:
        raise ModelFileError(
            f"{where}the architecture needs {needed} weights but the state dict holds {held}"
        )


def _pruned_hint(leaf: str) -> str:
    """Where ``leaf`` is one torch.nn.utils.prune leaves (``weight_orig``, ``weight_mask``), how
    to make the state dict a plain one: the pruned weight is their product, which PyTorch's
    ``prune.remove`` writes back as ``weight``."""
    if leaf.removesuffix("_orig").removesuffix("_mask") not in ("weight", "bias") or leaf in (
        "weight",
        "bias",
    ):
        return ""
    return (
        " (torch.nn.utils.prune's: make the pruning permanent first, "
        "torch.nn.utils.prune.remove(module, 'weight') on each pruned layer, then save its "
        "state_dict, or convert the live module with from_torch(net))"
    )


def _torch_linear_groups(
    shapes: Mapping[str, tuple], where: str, ordered: bool = True
) -> list[tuple[str, dict]]:
    """``[(prefix, {"weight": key, "bias": key}), ...]`` in the order of the layers: by their
    numbers where the names differ only in numbers, else the dict's order if it is ``ordered``
    (refused otherwise, where there is more than one layer)."""
    _refuse_batch_norm(shapes, where)
    groups: dict[str, dict[str, str]] = {}
    for name, shape in shapes.items():
        prefix, _, leaf = name.rpartition(".")
        if leaf not in ("weight", "bias"):
            raise ModelFileError(
                f"{where}unexpected entry {name!r}: not a Linear weight or bias{_pruned_hint(leaf)}"
            )
        if leaf == "weight" and len(shape) != 2:
            raise ModelFileError(
                f"{where}{name!r} has shape {tuple(shape)}; a Linear weight is 2-D"
            )
        groups.setdefault(prefix, {})[leaf] = name
    for keys in groups.values():
        if "weight" not in keys:
            raise ModelFileError(f"{where}{keys['bias']!r} has no weight beside it")
    items = list(groups.items())
    numbered = _numbered_order(items)
    if numbered is not None:
        return numbered
    if ordered or len(items) < 2:
        return items
    raise ModelFileError(
        f"{where}the Linear layers' names ({', '.join(prefix for prefix, _ in items)}) do not "
        "say their order, and a safetensors file does not keep the network's; number them (0, 1, "
        "2 ... as a Sequential does, or fc1, fc2 ...), or load the file into the PyTorch network "
        "(net.load_state_dict) and convert that with from_torch(net)"
    )


#: What PyTorch's BatchNorm layers hold beside their weight and bias
_BATCH_NORM_ENTRIES = ("running_mean", "running_var", "num_batches_tracked")


def _refuse_batch_norm(shapes: Mapping[str, tuple], where: str) -> None:
    """Refuse a state dict holding a BatchNorm layer's running statistics, naming the layer as
    one chainrule cannot convert: its 1-D ``weight`` was refused as "a Linear weight is 2-D",
    and its int64 ``num_batches_tracked`` for a dtype no ``net.float()`` converts."""
    for name in shapes:
        prefix, _, leaf = name.rpartition(".")
        if leaf in _BATCH_NORM_ENTRIES:
            layer = f"layer {prefix!r}" if prefix else "the layer"
            raise ModelFileError(
                f"{where}unexpected entry {name!r}: a BatchNorm layer's running statistic; "
                f"{layer} is a BatchNorm, which chainrule cannot convert (it converts Linear "
                "layers' weights and biases); docs/extending.md writes a BatchNorm1d of your "
                "own ('A layer of your own with running statistics')"
            )


def _numbered_order(items: list[tuple[str, dict]]) -> list[tuple[str, dict]] | None:
    """``items`` sorted by the numbers in their names, where the names differ only in those
    numbers (``0``, ``2``, ``10``; ``fc1`` ... ``fc10``; ``layers.0`` ...); else None."""
    keys = []
    for prefix, _ in items:
        parts = re.split(r"([0-9]+)", prefix)
        keys.append((tuple(parts[0::2]), tuple(int(number) for number in parts[1::2])))
    if len({text for text, _ in keys}) > 1 or len({numbers for _, numbers in keys}) < len(keys):
        return None
    return [item for _, item in sorted(zip(keys, items), key=lambda pair: pair[0][1])]


# -- files ----------------------------------------------------------------------------------------


def save_torch(model: Any, path: str | os.PathLike) -> Path:
    """Write ``model``'s weights as PyTorch's ``state_dict`` (names and (n_out, n_in) layout) in
    one safetensors file, marked ``weight_layout: torch`` and carrying the architecture.

    PyTorch reads it with ``net.load_state_dict(safetensors.torch.load_file(path))`` into the
    network :func:`to_torch` builds; :func:`load_torch` reads it back into chainrule. A single
    layer is written as the one-layer Sequential :func:`to_torch` builds of it (``0.weight``, not
    ``weight``, which that network would not take), and so comes back as one. The frozen
    parameters' names are recorded too (``chainrule_frozen``). A model that shares a parameter
    between two layers is refused, and nothing is written: the state dict would hold it once;
    so is one with two parameters on one array (``nn.Parameter(w.data.T)``), which it would
    hold as two, loaded as two parameters trained apart (:func:`refuse_memory_sharing`);
    so is one whose weights hold NaN or infinity, which :func:`load_torch` would refuse.
    So is a ``path`` that names a directory (an existing one, or a name ending in ``/``: give
    the file, ``exports/model.safetensors``), with a :class:`ConversionError` naming it. A
    ``path`` that is not a str or path is a ``TypeError``; a model there says that the model
    comes first (``io.save_model`` takes the path first).
    """
    from chainrule import io, nn

    io.check_path_argument(path, "save_torch", model_first=True)  # save_model's order is swapped
    refuse_torch_module(model, "save_torch")
    refuse_directory(path, "save_torch", "model.safetensors")
    given = model
    if type(model) is not nn.Sequential:
        model = nn.Sequential(model)
    supported = (nn.Linear, *_unit_table())
    for position, layer in enumerate(model):
        if type(layer) not in supported:  # PyTorch itself is not needed to write the file
            raise _no_torch_counterpart(layer, position, "save_torch", layer is given)
    dtypes = sorted({backend.dtype_name(p.dtype) for p in model.parameters()})
    if len(dtypes) > 1:  # load_torch would refuse the file: write none
        raise ConversionError(
            f"save_torch: the model mixes {' and '.join(dtypes)} layers, and a PyTorch network "
            f"computes in one dtype (load_torch refuses such a file); convert it with {_ONE_DTYPE}"
        )
    where = f"save_torch: {path}: cannot save this model"
    refuse_memory_sharing(model, where, _SAVE_TORCH_UNTIES, tie=False)
    # key for key (a tie is refused below), the model's Linear weights transposed
    state = _converted(model.state_dict(), _linear_weight_names(model), "", weight_to_torch)
    refuse_nonfinite(state, f"save_torch: {path}", "load_torch would refuse the file, so "
                     "nothing was written")  # fmt: skip
    _check_unshared(model, state, Path(path))
    metadata = {"format": "pt", io.LAYOUT_KEY: io.TORCH_LAYOUT,
                ARCHITECTURE_KEY: json.dumps(model.config())}  # fmt: skip
    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    if frozen:  # a file with nothing frozen is what it was before the key existed
        metadata[FROZEN_KEY] = json.dumps(frozen)
    return io.write_arrays(path, state, metadata)


#: What :func:`save_torch` would do with two parameters on one array (after "which")
_SAVE_TORCH_UNTIES = (
    "the file would hold as two tensors, loaded (by load_torch, or by PyTorch) as two separate "
    "parameters and trained apart, so nothing was written"
)


def _check_unshared(model: Any, state: Mapping[str, Any], path: Path) -> None:
    """Refuse, before anything is written, a model that uses one Linear (or one parameter) in
    two places: the state dict holds it once, under its first name, and the recorded
    architecture has a layer in each place, so :func:`load_torch` could not read the file.
    io.save_model's check decides (a shared layer without parameters is harmless); parameters
    on one array are refused before (:func:`refuse_memory_sharing`), and any other refusal of
    it is passed on in its own words."""
    from chainrule import io

    try:
        io._check_sharing_survives(model, {"architecture": model.config()}, state, path)
    except ModelFileError as error:
        if not io.shares_parameters(model):
            raise ConversionError(f"save_torch: {error}") from None
        raise ConversionError(
            f"save_torch: {path}: cannot save this model: it uses one parameter in two places "
            f"({io.shared_places(model)}), which a state dict holds once but the recorded "
            "architecture builds as separate layers, so load_torch could not read the file; "
            "nothing was written (use copy.deepcopy(layer) in the second place for two separate "
            "layers)"
        ) from None


def load_torch(path: str | os.PathLike, arch: Any = None) -> Any:
    """A chainrule model from a PyTorch ``state_dict`` saved as safetensors.

    The file must be in PyTorch's layout: one marked ``weight_layout: chainrule`` (a chainrule
    model file) is refused with a message saying so. ``arch`` (see :func:`build_arch`) gives the
    layers; a file written by :func:`save_torch` records them itself. Both are checked against
    the tensors' shapes (read from the file's header) before anything is built. A safetensors file
    does not keep the order of its tensors, so the Linear layers are taken in the order of the
    numbers in their names (``0``, ``2`` ... ``10``; ``fc1`` ... ``fc10``); other names are
    refused where there is more than one layer. The parameters the file records as frozen
    (:func:`save_torch`'s ``chainrule_frozen``) are frozen again. A tensor that
    ``safetensors.torch.save_model`` left out as tied to another (its name a metadata key whose
    value is the kept tensor's name, ``{"2.weight": "0.weight"}``: a Linear used twice) counts
    as the layer it belongs to and is loaded as that same parameter, as :func:`from_torch`
    converts the tied network itself. Returns the model in evaluation mode.
    """
    from chainrule import io

    path = Path(path)
    where = f"{path}: "
    io.check_layout(path, io.TORCH_LAYOUT, default=io.TORCH_LAYOUT)
    # the header alone: checked before anything is built
    shapes, stored = io._array_shapes_and_dtypes(path)
    ties = _recorded_ties(path, shapes)
    shapes = {**shapes, **{name: shapes[kept] for name, kept in ties.items()}}
    recorded = arch is None
    if recorded:
        arch = _recorded_architecture(path, shapes, _tied_clause(ties))
    frozen = _recorded_frozen(path, shapes)
    try:
        _check_arch(arch, shapes, where, ordered=False)
    except ModelFileError as error:
        if not ties:
            raise
        raise ModelFileError(f"{error}{_tied_clause(ties)}") from None
    except UserError as error:  # a spec that does not parse
        raise ModelFileError(f"{where}{error}") from None
    state = io.read_arrays(path, layout=io.TORCH_LAYOUT)
    io._check_finite(state, path)  # what load_model refuses, refused here alike
    try:
        state = _widened_halves(state, stored)
        dtype = _state_dtype(state)
    except UserError as error:
        raise ModelFileError(f"{where}{error}") from None
    state.update({name: state[kept] for name, kept in ties.items()})
    if recorded:  # what the file says: any failure to build it is the file's (io's one guard)
        model = io.build_model({"architecture": arch, "dtype": dtype.name}, path)
    else:
        try:
            from chainrule.nn.init import draws_kept

            with draws_kept():  # the file's weights replace the ones it draws, as load_model's
                model = build_arch(arch, dtype)
        except UserError as error:
            raise ModelFileError(f"{where}{error}") from None
    load_state_dict_from_torch(model, state, str(path), ordered=False)
    _tie(model, shapes, ties, where)
    _freeze(model, shapes, frozen, where)
    model.eval()
    return model


def _widened_halves(
    state: dict[str, np.ndarray], stored: Mapping[str, str]
) -> dict[str, np.ndarray]:
    """A PyTorch file's arrays ``state`` with the float16 ones widened to float32, exactly
    (every float16 is a float32), as reading widens a bfloat16 one: a file holds no network to
    convert first (``net.float()``), and chainrule computes in float32 or float64. The file's
    tensors must share one dtype as it ``stored`` them (by name, from its header), as a state
    dict's must (:func:`_state_dtype`): a float16 or bfloat16 bias beside float32 weights is
    refused naming it, where widening would have hidden the mix."""
    first = next(iter(stored.items()), None)
    for name, kind in stored.items():
        _same_dtype(kind, first[1], f"{name!r}", repr(first[0]))
    return {name: array.astype(np.float32) if array.dtype == np.float16 else array
            for name, array in state.items()}  # fmt: skip


def _recorded_ties(path: Path, shapes: Mapping[str, tuple]) -> dict[str, str]:
    """The tensors ``safetensors.torch.save_model`` left out of the file as tied to another,
    ``{dropped name: kept name}``: it writes a tensor shared by two names once and records the
    other name as a metadata key whose value is the kept tensor's name (what its
    ``load_model`` relies on). A metadata value that names no tensor of the file ties nothing
    (``"format": "pt"``, :func:`save_torch`'s own keys), nor does an entry whose key is not
    the name of a tensor of the same kind (``"head": "2.weight"``, a note of the user's own:
    a tie's key is a module path ending as the kept name does, ``2.weight`` for ``0.weight``)."""
    from chainrule import io

    own = {io.LAYOUT_KEY, ARCHITECTURE_KEY, FROZEN_KEY}
    return {name: kept for name, kept in io.read_metadata(path).items()
            if name not in shapes and name not in own and kept in shapes
            and _same_kind(name, kept)}  # fmt: skip


def _same_kind(name: str, kept: str) -> bool:
    """Whether metadata key ``name`` reads as a tensor of the kind ``kept`` is: a dotted module
    path whose last part is ``kept``'s (``weight``, ``bias``)."""
    return "." in name and name.rsplit(".", 1)[1] == kept.rsplit(".", 1)[-1]


def _tied_clause(ties: Mapping[str, str]) -> str:
    """How an error names the file's ties: "; 2.weight is tied to 0.weight in the file (one
    tensor, loaded as one parameter in both places)"; "" where there are none."""
    if not ties:
        return ""
    pairs = ", ".join(f"{name} is tied to {kept}" for name, kept in ties.items())
    return f"; {pairs} in the file (one tensor, loaded as one parameter in both places)"


def _arch_example(shapes: Mapping[str, tuple]) -> str:
    """An --arch for the file's own layer sizes, where its Linear weights chain (each one's
    inputs the outputs of the one before): "e.g. 3,2,1 (logistic units between the layers by
    default; 3,2,relu,1 names them)"; else a general example."""
    try:
        groups = _torch_linear_groups(shapes, "", ordered=False)
    except ModelFileError:
        groups = []
    weights = [shapes[keys["weight"]] for _, keys in groups]  # PyTorch's (out, in)
    if not weights or any(w[1] != before[0] for before, w in zip(weights, weights[1:])):
        return "e.g. 4,3,2"
    sizes = [weights[0][1], *(w[0] for w in weights)]
    given = ",".join(map(str, sizes))
    if len(sizes) == 2:  # one layer: no units between layers to name
        return f"here {given}"
    named = ",".join([*map(str, sizes[:2]), "relu", *map(str, sizes[2:])])
    return f"here {given} (logistic units between the layers by default; {named} names them)"


def _recorded_frozen(path: Path, shapes: Mapping[str, tuple]) -> list[str]:
    """The tensor names :func:`save_torch` recorded as frozen (none in a file without the key),
    each checked to be one of the file's tensors before anything is built."""
    from chainrule import io

    recorded = io.read_metadata(path).get(FROZEN_KEY)
    if recorded is None:
        return []
    try:
        names = json.loads(recorded)
    except (json.JSONDecodeError, RecursionError):
        names = None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ModelFileError(
            f"{path}: the recorded frozen parameters ({FROZEN_KEY}) are not a JSON list of "
            "parameter names"
        )
    for name in names:
        if name not in shapes:
            raise ModelFileError(f"{path}: {FROZEN_KEY}: {name!r} is not a parameter in the file")
    return names


def _filled(model: Any, shapes: Mapping[str, tuple], where: str) -> dict[str, tuple[Any, str]]:
    """``{tensor name: (layer, "weight" or "bias")}``: where each of the file's tensors went,
    matched as :func:`load_state_dict_from_torch` matched them, since an ``arch`` may number
    its layers otherwise than the file."""
    groups = _torch_linear_groups(shapes, where, ordered=False)
    return {key: (layer, leaf)
            for (_, keys), layer in zip(groups, _linear_layers(model, where))
            for leaf, key in keys.items()}  # fmt: skip


def _tie(model: Any, shapes: Mapping[str, tuple], ties: Mapping[str, str], where: str) -> None:
    """Give each tied place (:func:`_recorded_ties`) the parameter of the tensor it is tied
    to: one parameter, whose gradient is the sum over its uses, as PyTorch's."""
    if not ties:
        return
    filled = _filled(model, shapes, where)
    for name, kept in ties.items():
        layer, leaf = filled[name]
        setattr(layer, leaf, getattr(*filled[kept]))


def _freeze(model: Any, shapes: Mapping[str, tuple], names: list[str], where: str) -> None:
    """Freeze (``requires_grad=False``) the parameters filled from the file's tensors ``names``
    (:func:`_filled`: fine-tuning must not train a layer saved frozen)."""
    if not names:
        return
    filled = _filled(model, shapes, where)
    for name in names:
        layer, leaf = filled[name]
        getattr(layer, leaf).requires_grad_(False)


def _recorded_architecture(path: Path, shapes: Mapping[str, tuple], tied: str = "") -> Any:
    """The architecture :func:`save_torch` recorded in the file's metadata, parsed; ``tied``
    ends the message of a file that records none (:func:`_tied_clause`)."""
    from chainrule import io

    recorded = io.read_metadata(path).get(ARCHITECTURE_KEY)
    if recorded is None:
        raise ModelFileError(
            f"{path}: a PyTorch state dict does not record which units follow each Linear "
            f"layer; give the architecture (arch=, --arch), {_arch_example(shapes)}{tied}"
        )
    try:
        arch = json.loads(recorded)
    except json.JSONDecodeError:
        raise ModelFileError(f"{path}: the recorded architecture is not JSON") from None
    except RecursionError:
        raise ModelFileError(
            f"{path}: the recorded architecture ({ARCHITECTURE_KEY}) is JSON nested too deeply to "
            "be a chainrule model"
        ) from None
    if not isinstance(arch, Mapping):
        raise ModelFileError(
            f"{path}: the recorded architecture ({ARCHITECTURE_KEY}) is not a chainrule model "
            "config (a JSON object)"
        )
    return arch
