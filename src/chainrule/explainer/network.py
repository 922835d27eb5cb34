"""What the explainer explains: an ``nn.Sequential`` of fully connected layers, a loss, the seed.

A :class:`Network` is a *view* of an ``nn.Sequential``: a list of :class:`Layer` s, each one of the
model's ``Linear`` modules (``z = y_below @ weight + bias``), or an ``nn.Parallel``'s ``Linear``
modules as one layer of several ``parts`` (:attr:`Layer.connected` says where a weight exists;
:meth:`Layer.weight_array` joins them with 0 between the blocks), with the activation that
follows it, found in the one table of units (:mod:`chainrule.nn.activations`). The layers hold
the model's own weight tensors and call the model's own modules, so the forward and backward
passes the explainer reads are the ones the engine records for that model. :func:`as_network`
makes the view from an ``nn.Sequential``, from a :class:`Network`, or from a list of ``(weight,
bias, activation)`` triples, which first become an ``nn.Sequential`` (:func:`sequential`). The
explainer reads its numbers on the host: a model whose weights live in another array library
(PyTorch, CuPy, JAX, array-api-strict) or on a device is explained through a NumPy copy of it
(:func:`on_host`), and its inputs and targets are copied to the host; the user's model is left
as it was.

A loss is an ``nn`` loss object (:func:`as_loss` reads names and model-file configs too); the
explainer asks it for its reduction, the unit it applies to logits and how it reads targets.
The formulas of chainrule's losses (:data:`LOSSES`) are written out; a loss of the user's own
(:func:`formula_written` False) enters through its numbers alone, E from its forward and the
output layer's dE/dy (or dE/dz, for a loss that reads the logits) from the engine's backward
through it, and every step below them is written out as for chainrule's.
"""

from __future__ import annotations

import copy
import inspect
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.checks import computes_as, first_non_finite, shared_arrays
from chainrule.errors import UserError, counted, type_name
from chainrule.nn.activations import ACTIVATIONS, activation_of
from chainrule.nn.init import draws_kept
from chainrule.nn.layers import Dropout, Identity, Linear, Parallel, Sequential
from chainrule.nn.losses import LOSSES as LIBRARY_LOSSES
from chainrule.nn.losses import Loss, as_rows, loss_from_config, loss_from_name
from chainrule.ops.registry import ShapeError
from chainrule.tensor import Tensor, sparse_refusal

#: The losses the explainer writes out (the names of ``nn.loss_from_name``).
LOSSES = ("squared-error", "mse", "cross-entropy", "binary-cross-entropy", "margin-squared-error")

#: The units the explainer writes out, of the table's (:mod:`chainrule.nn.activations`): each has
#: its y = f(z) in ``sections_forward.FORMULAS`` and its dE/dz = f'(z) dE/dy in
#: ``sections_backward``, and schema.json's "activation" lists these names. A unit of the table
#: that is not here (one added to it) is refused by name as the model is read
#: (:func:`writable_unit`), not written out as if it were another.
UNITS = ("logistic", "tanh", "relu", "identity", "softmax")


class ExplainError(UserError, ValueError):
    """A model, input or option the explainer cannot use; the message says what and why."""


@dataclass
class Part:
    """One of the model's ``Linear`` modules in a layer: its weight joins units ``rows`` of the
    layer below to units ``cols`` of this one. A layer of one Linear has one part joining all of
    both; a ``Parallel`` layer (the family-trees network's encoders) has one per branch, and the
    weights between two parts' blocks do not exist."""

    weight: Tensor
    bias: Tensor | None
    weight_name: str
    bias_name: str | None
    rows: slice
    cols: slice
    #: its parameters' names within the layer's ``linear`` (for ``functional_call``): "" for a
    #: layer of one Linear, "1." for a Parallel layer's branch 1
    key: str = ""


@dataclass
class Layer:
    """One layer of units: ``z = y_below @ weight + bias`` (the lecture's z_j), then ``y = f(z)``.

    The weight has shape (units below, units here): row i, column j is w_ij. It is the model's
    own tensors, one per :class:`Part`; :meth:`weight_array` joins them, with 0 where a
    ``Parallel`` layer has no connection (:attr:`connected` says where it has one).
    """

    parts: list[Part]
    activation: str
    #: z from the layer below, on the model's own modules (a Linear, or a Parallel of the
    #: Linears of the model's Parallel branches, without their units)
    linear: Callable[[Tensor], Tensor]
    #: the activation module's name in the ``nn.Sequential`` ("3", or "0.1" in a Sequential
    #: inside it: :func:`layers_of`); None: no activation module
    unit_position: str | None = None

    @property
    def n_in(self) -> int:
        return int(self.parts[-1].rows.stop)

    @property
    def n_out(self) -> int:
        return int(self.parts[-1].cols.stop)

    @property
    def is_blocks(self) -> bool:
        """Whether the layer joins its units in blocks (a Parallel layer of several branches)."""
        return len(self.parts) > 1

    @property
    def weight(self) -> Tensor:
        """The one weight tensor of a layer of one Linear."""
        return self._one_part("weight").weight

    @property
    def bias(self) -> Tensor | None:
        """The bias tensor of a layer of one Linear (None: it has none)."""
        return self._one_part("bias").bias

    @property
    def has_bias(self) -> bool:
        return self.parts[0].bias is not None

    @property
    def connected(self) -> np.ndarray | None:
        """Where unit i below connects to unit j here (n_in, n_out); None: everywhere."""
        if not self.is_blocks:
            return None
        mask = np.zeros((self.n_in, self.n_out), dtype=bool)
        for part in self.parts:
            mask[part.rows, part.cols] = True
        return mask

    def parameters(self) -> list[tuple[str, Tensor]]:
        """Each part's weight and bias with its name in ``linear`` (``"weight"``, ``"1.bias"``)."""
        named = []
        for part in self.parts:
            named.append((f"{part.key}weight", part.weight))
            if part.bias is not None:
                named.append((f"{part.key}bias", part.bias))
        return named

    def model_names(self) -> dict[str, str]:
        """Each name of :meth:`parameters` to the parameter's name in the model."""
        names = {}
        for part in self.parts:
            names[f"{part.key}weight"] = part.weight_name
            if part.bias is not None:
                names[f"{part.key}bias"] = part.bias_name
        return names

    def weight_array(self, blocks: list[np.ndarray] | None = None) -> np.ndarray:
        """float64 (n_in, n_out): the parts' weights (or ``blocks``, one array per part, such as
        their gradients) in their places, 0 where there is no connection."""
        out = np.zeros((self.n_in, self.n_out))
        for part, block in zip(self.parts, blocks or [p.weight for p in self.parts]):
            out[part.rows, part.cols] = _host64(block)
        return out

    def bias_array(self, blocks: list[np.ndarray] | None = None) -> np.ndarray | None:
        """float64 (n_out,): the parts' biases (or ``blocks``) in their places; None: no bias."""
        if not self.has_bias:
            return None
        out = np.zeros(self.n_out)
        for part, block in zip(self.parts, blocks or [p.bias for p in self.parts]):
            out[part.cols] = _host64(block)
        return out

    @property
    def weight_name(self) -> str:
        """The model's name of the weight, or of each part's ("0.0.0.weight and 0.1.0.weight")."""
        return " and ".join(part.weight_name for part in self.parts)

    @property
    def bias_name(self) -> str | None:
        if not self.has_bias:
            return None
        return " and ".join(str(part.bias_name) for part in self.parts)

    def activate(self, z: Tensor) -> Tensor:
        """y = f(z) with the engine's op for this layer's activation."""
        return ACTIVATIONS[self.activation].op(z)

    def _one_part(self, what: str) -> Part:
        if self.is_blocks:
            raise ExplainError(
                f"explain: this layer joins its units in {len(self.parts)} blocks (a Parallel), "
                f"so it has no one {what} tensor; use parts, or weight_array()"
            )
        return self.parts[0]


def diagonal_blocks(mask: Any) -> list[tuple[slice, slice]]:
    """The blocks (rows below, columns above) of a layer whose weights exist where ``mask``
    (n_in, n_out) is True, joined as an ``nn.Parallel`` joins them: rectangles along the
    diagonal, one after another, each unit below joined to every unit of its block above and
    to none other. Any other pattern raises ValueError saying where it breaks."""
    mask = np.asarray(mask, dtype=bool)
    n_in, n_out = mask.shape
    blocks, r, c = [], 0, 0
    while r < n_in:
        row = mask[r]
        end = c
        while end < n_out and row[end]:
            end += 1
        wanted = np.zeros(n_out, dtype=bool)
        wanted[c:end] = True
        if end == c or not np.array_equal(row, wanted):
            raise ValueError(
                f"row {r} is not: it has weights to units "
                f"{np.nonzero(row)[0].tolist() or 'none'} of the layer above"
            )
        bottom = r
        while bottom < n_in and np.array_equal(mask[bottom], wanted):
            bottom += 1
        blocks.append((slice(r, bottom), slice(c, end)))
        r, c = bottom, end
    if c != n_out:
        raise ValueError(f"units {c} to {n_out - 1} of the layer above have no weight from below")
    return blocks


def _host64(value: Any) -> np.ndarray:
    """A tensor's or array's values as a float64 NumPy array."""
    if isinstance(value, Tensor):
        value = value.data
    return np.asarray(backend.to_numpy(value), dtype=np.float64)


@dataclass
class Network:
    """A stack of layers; ``sizes`` counts the units of the input layer and of each layer above.

    ``model`` is the ``nn.Sequential`` the layers belong to.
    """

    layers: list[Layer]
    model: Any = None

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.layers[0].parts[0].weight.dtype)

    @property
    def n_parameters(self) -> int:
        return sum(p.size for layer in self.layers for _, p in layer.parameters())

    def describe(self) -> str:
        """``"2 inputs -> 2 logistic -> 3 logistic"``."""
        parts = [f"{self.sizes[0]} inputs"]
        parts += [f"{layer.n_out} {layer.activation}" for layer in self.layers]
        return " -> ".join(parts)


def sequential(triples: Any, dtype: Any = None) -> Sequential:
    """An ``nn.Sequential`` from ``(weight, bias, activation)`` triples (weight (n_in, n_out)).

    Its dtype is ``dtype``, else float32 where every weight and bias given as an array or
    tensor is float32 (explained in float32, as a float32 ``nn`` model is), else float64
    (lists, numbers, other dtypes or a mix of them: no rounding to a dtype no one chose).
    The weights and biases (arrays, lists, tensors: an ``nn.Parameter`` too) are copied; a
    weight array or tensor given in two places (the same one, a view of it: a recurrent net
    unrolled, meant tied) is refused as a Sequential using one Linear twice is
    (:func:`_check_not_shared`): each copy's dE/dw would be one use's share. Biases (one zero
    bias for every layer) and lists or tuples (equal tuple literals are one object to Python)
    are values, not compared.

    >>> sequential([([[0.1, 0.2]], [0.0, 0.0], "logistic")])[0].weight.shape
    (1, 2)
    """
    layers = []
    given: list[tuple[str, Any]] = []  # each weight and bias as given, for _check_not_shared
    typed: set[np.dtype] = set()  # the dtypes of the weights and biases given with one
    given_dtype = np.float64 if dtype is None else dtype  # float32's values are exact in it
    for index, (weight, bias, name) in enumerate(triples):
        if name not in ACTIVATIONS or ACTIVATIONS[name].name not in UNITS:
            known = ", ".join(sorted(n for n, unit in ACTIVATIONS.items() if unit.name in UNITS))
            raise ExplainError(f"activation {name!r} is not known; use one of {known}")
        if isinstance(weight, (np.ndarray, Tensor)):  # a tuple literal Python may share
            given.append((f"layer {index + 1}'s weight", weight))
        # the values (a parameter's too: np.asarray refuses a tensor that needs a gradient)
        values = [host_values(v) for v in (weight, bias) if v is not None]
        typed.update(np.dtype(v.dtype) for v in values if hasattr(v, "dtype"))
        w = np.asarray(values[0], dtype=given_dtype)
        b = None if bias is None else np.asarray(values[1], dtype=given_dtype)
        if w.ndim != 2 or (b is not None and b.shape != (w.shape[1],)):
            raise ExplainError(
                f"layer {index + 1}: weight must be (n_in, n_out) and bias (n_out,), got "
                f"{w.shape} and {None if b is None else b.shape}"
            )
        layers.append((w, b, name))
    if dtype is None and typed == {np.dtype(np.float32)}:
        f32 = np.float32
        layers = [(w.astype(f32), b if b is None else b.astype(f32), n) for w, b, n in layers]
    modules = []
    for w, b, name in layers:
        with draws_kept():  # the given weights replace its draws: the user's generators stay
            linear = Linear(w.shape[0], w.shape[1], bias=b is not None, dtype=w.dtype)
        linear.weight.data[...] = w
        if b is not None:
            linear.bias.data[...] = b
        modules.append(linear)
        if ACTIVATIONS[name].module is not None:
            modules.append(ACTIVATIONS[name].module())
    _check_not_shared(given, SEPARATE_COPIES)
    return Sequential(*modules)


#: The way out of the refusal of triples sharing a weight: separate weights that start
#: equal given as one array
SEPARATE_COPIES = (
    "; where the layers' weights only start equal, give each layer its own copy "
    "(np.array(...) of it)"
)


def as_network(model: Any) -> Network:
    """The explainer's view of ``model``: a Network, an ``nn.Sequential``, or (W, b, act) triples.

    >>> net = as_network([([[0.1, 0.2]], [0.0, 0.0], "logistic")])
    >>> net.describe()
    '1 inputs -> 2 logistic'
    """
    if isinstance(model, Network):
        return model
    if isinstance(model, (list, tuple)) and all(isinstance(s, (list, tuple)) for s in model):
        return _from_sequential(sequential(model))
    if isinstance(model, (Sequential, Linear)):
        return _from_sequential(on_host(model))
    _refuse_a_torch_module(model)
    refuse_a_path(model, "explain")
    raise ExplainError(
        f"explain: cannot read a network from {type(model).__name__}; give an nn.Sequential of "
        f"Linear and activation layers, or a list of (weight, bias, activation) triples{DRAWN}"
    )


def refuse_a_path(model: Any, who: str) -> None:
    """Refuse a str or path given as the model (``explain("runs/x")``, ``explorer(...)``),
    naming ``who`` and pointing to :func:`chainrule.io.load_model`, which reads a saved model
    (a run directory of ``chainrule train`` too): "cannot read a network from str" said what
    was wrong, not how to give the model. Anything else passes."""
    if not isinstance(model, (str, os.PathLike)):
        return
    path = os.fspath(model)
    load = f"model, info = cr.io.load_model({path!r})"
    if os.path.exists(path):
        raise ExplainError(
            f"{who}: {path!r} is a path, not a network; read the model saved there first, "
            f"{load}, and give {who} the model (its loss: "
            "cr.nn.loss_from_config(info['loss']))"
        )
    raise ExplainError(
        f"{who}: cannot read a network from {type(model).__name__} {path!r}, and there is no "
        f"file or directory {path!r} either; give an nn.Sequential (a model saved by chainrule "
        f"train is read with {load.replace(repr(path), 'PATH')})"
    )


#: The Python API's way to any model's backward pass, ending the refusal of a model the
#: explainer cannot read (a command's line, which names ``chainrule graph``, can remove it)
DRAWN = (
    ". For any other model (a recurrent one, a layer of your own), chainrule.viz.graph.graph(E) "
    "draws the computation graph of E = loss(model(x), t) op by op"
)


def _refuse_a_torch_module(model: Any) -> None:
    """Refuse a PyTorch module naming its class and the converter: the general refusal ("cannot
    read a network from Sequential; give an nn.Sequential") read as if a torch.nn.Sequential
    were chainrule's. The converter is named only where it converts the module (tried here,
    on the refusal's path alone): a ``torch.nn.RNN`` was sent to ``from_torch``, which refuses
    it; its refusal says why. An ExplainError, as for every model the explainer cannot read
    (its callers catch that)."""
    from chainrule.errors import ConversionError
    from chainrule.interop.torch import from_torch, refuse_torch_module

    try:
        refuse_torch_module(model, "explain")
    except ConversionError as error:
        try:
            with warnings.catch_warnings():  # a probe: a warning of its would name no call
                warnings.simplefilter("ignore")
                from_torch(model)
        except ConversionError as unconverted:
            why = str(unconverted).removeprefix("from_torch: ")
            raise ExplainError(
                f"explain: the model is a PyTorch module ({type(model).__module__}."
                f"{type(model).__qualname__}), not a chainrule one, and "
                f"chainrule.interop.from_torch cannot convert it ({why}); the explainer reads "
                "chainrule networks of Linear and activation layers"
            ) from None
        raise ExplainError(str(error)) from None


def on_host(model: Any) -> Any:
    """``model`` itself when its weights are NumPy arrays, else a copy of it on NumPy (copied
    from the library's device through :func:`chainrule.backend.move`)."""
    if all(type(p.data) is np.ndarray for p in model.parameters()):
        return model
    host = copy.deepcopy(model)
    host.to(xp=np)
    return host


def host_values(value: Any) -> Any:
    """A tensor's or array's values as a NumPy array (any library, any device); others as is.
    A tensor that needs a gradient is read too (an input made to require one, a teacher's
    output as the target): the explainer records its own passes from these values. A scipy
    sparse matrix, which NumPy would read as one object, is refused saying how to make it
    dense."""
    if isinstance(value, Tensor):
        value = value.data
    refusal = sparse_refusal(value, "explain")
    if refusal is not None:
        raise ExplainError(refusal)
    return backend.to_numpy(value) if hasattr(value, "shape") else value


def _from_sequential(model: Any) -> Network:
    """Walk ``Sequential(Linear, act, Linear, act, ...)`` keeping the model's own tensors."""
    if isinstance(model, Sequential) and not computes_as(model, Sequential):
        raise ExplainError(
            f"explain: the model is a {type(model).__name__}, which computes its own forward "
            "instead of Sequential's (one layer after another); the explainer writes out that "
            "chain, which would not be this model's numbers"
        )
    layers: list[Layer] = []
    named: list[tuple[str, Tensor]] = []  # each parameter with its name, in order
    for position, module in layers_of(model):
        unit = activation_of(module)
        if computes_as(module, Linear):
            part = _part(module, f"{position}.", named)
            layers.append(Layer([part], "identity", module))
        elif computes_as(module, Parallel):
            layers.append(_parallel_layer(module, position, named))
        elif unit is not None:
            if layers and layers[-1].is_blocks and layers[-1].activation != "identity":
                raise ExplainError(
                    f"explain: layer {position} ({unit}) follows a Parallel whose branches "
                    f"already end in {layers[-1].activation}, so it would apply a second unit; "
                    "the explainer reads layers each followed by at most one activation (end "
                    "the branches in their Linears, or remove this layer)"
                )
            if not layers or layers[-1].activation != "identity":
                raise ExplainError(
                    f"explain: layer {position} ({unit}) must follow a Linear layer; the "
                    "explainer reads networks made of Linear layers each followed by at most one "
                    "activation"
                )
            _check_axis(module, position)
            writable_unit(unit, f"layer {position}")
            layers[-1].activation, layers[-1].unit_position = unit, position
        elif computes_as(module, Dropout) or computes_as(module, Identity):
            continue  # the explainer runs the network as in evaluation: dropout is the identity
        else:
            # the Python API's way on (a command's line names chainrule graph instead)
            raise ExplainError(f"explain: layer {position} is {_unreadable(module)}{DRAWN}")
    _check_not_shared(named)
    if not layers:
        raise ExplainError("explain: the model has no Linear layer")
    network = Network(layers, model)
    _check_chain(network)
    _check_dtype(network)
    return network


def _part(
    linear: Linear, prefix: str, named: list[tuple[str, Tensor]], rows: slice | None = None,
    cols: slice | None = None, key: str = "",
) -> Part:  # fmt: skip
    """The :class:`Part` of the model's ``linear``, named ``prefix`` + weight/bias in the model
    (each parameter added to ``named``, for :func:`_check_not_shared`)."""
    weight, bias = linear.weight, linear.bias
    named.append((f"{prefix}weight", weight))
    if bias is not None:
        named.append((f"{prefix}bias", bias))
    return Part(
        weight, bias, f"{prefix}weight", None if bias is None else f"{prefix}bias",
        rows or slice(0, linear.n_in), cols or slice(0, linear.n_out), key,
    )  # fmt: skip


def _parallel_layer(module: Parallel, position: str, named: list[tuple[str, Tensor]]) -> Layer:
    """A ``Parallel`` whose branches are each a Linear, or a Sequential of a Linear and at most
    one unit, the same unit in every branch: one layer whose weight joins each branch's block
    of inputs to its block of units (RHW 1986's family-trees encoders). Its ``linear`` is a
    Parallel of the model's own Linears, which gives the layer's z; the branches' unit, applied
    to z after it, computes what the model's branches do, unit by unit."""
    parts, units, linears = [], set(), []
    rows = cols = 0
    for index, (width, branch) in enumerate(zip(module.widths, module.branches)):
        prefix = f"{position}.{index}."
        linear, name, unit = _branch(branch, position, index)
        if linear.n_in != width:
            raise ExplainError(
                f"explain: layer {position} (Parallel), branch {index}: its Linear takes "
                f"{linear.n_in} inputs but the branch is given {width} columns"
            )
        span = (slice(rows, rows + width), slice(cols, cols + linear.n_out))
        parts.append(_part(linear, f"{prefix}{name}", named, *span, key=f"{index}."))
        units.add(unit)
        linears.append((width, linear))
        rows, cols = rows + width, cols + linear.n_out
    if len(units) > 1:
        shown = ", ".join(sorted(u or "none" for u in units))
        raise ExplainError(
            f"explain: layer {position} (Parallel) has branches with different units ({shown}); "
            "the explainer writes out layers whose units are all of one kind"
        )
    if len({part.bias is None for part in parts}) > 1:
        raise ExplainError(
            f"explain: layer {position} (Parallel) has branches with and without biases; the "
            "explainer writes out layers whose units all have a bias, or none"
        )
    unit = units.pop()
    if unit is not None:
        writable_unit(unit, f"layer {position} (Parallel)")
    layer = Layer(parts, unit or "identity", Parallel(*linears))
    layer.unit_position = position if layer.activation != "identity" else None
    return layer


def _branch(branch: Any, position: str, index: int) -> tuple[Linear, str, str | None]:
    """A Parallel branch's Linear, the Linear's name in the branch ("" for a bare Linear, "0."
    or "0.1." in a Sequential of blocks, :func:`layers_of`) and its unit (None: none): a Linear,
    or a Sequential of a Linear and at most one unit (Dropout and Identity pass, as in
    evaluation)."""
    if computes_as(branch, Linear):
        return branch, "", None
    named = layers_of(branch) if computes_as(branch, Sequential) else [("", branch)]
    named = [(n, m) for n, m in named if not (computes_as(m, Dropout) or computes_as(m, Identity))]
    modules = [module for _, module in named]
    unit = activation_of(modules[-1]) if len(modules) == 2 else None
    linear_first = bool(modules) and computes_as(modules[0], Linear)
    if not (linear_first and (len(modules) == 1 or unit is not None)):
        raise ExplainError(
            f"explain: layer {position} (Parallel), branch {index} is "
            f"{type(branch).__name__}; the explainer reads branches that are a Linear, or a "
            "Sequential of a Linear and one unit"
        )
    if unit == "softmax":  # over the branch's units: the layer's z would be normalised whole
        raise ExplainError(
            f"explain: layer {position} (Parallel), branch {index} ends in softmax, which "
            "normalises over that branch's units alone; the explainer writes out a layer's "
            "units as one kind applied to each unit (logistic, tanh, relu)"
        )
    return modules[0], f"{named[0][0]}.", unit


def writable_unit(unit: str, where: str) -> str:
    """``unit`` where the explainer writes it out (:data:`UNITS`); else an ExplainError naming
    it: a unit of the table the explainer has no formulas for (one added to the table) would be
    written out as another's, its arithmetic false beside engine numbers marked as checked."""
    if unit not in UNITS:
        raise ExplainError(
            f"explain: {where} has {unit} units, which the explainer cannot write out: it knows "
            f"the formulas (y = f(z), dE/dz = f'(z) dE/dy) of {', '.join(UNITS)} units only"
        )
    return unit


def _check_dtype(network: Network) -> None:
    """Refuse a model of more than one dtype, or of a dtype other than float32 and float64: the
    checks' tolerances, the JSON's schema and the views are for one of those two (float16's
    rounding would fail a right gradient)."""
    dtype = network.dtype
    for part in (part for layer in network.layers for part in layer.parts):
        for name, tensor in ((part.weight_name, part.weight), (part.bias_name, part.bias)):
            if tensor is not None and tensor.dtype != dtype:
                # the model computes what follows in the wider dtype: one dtype's numbers and
                # tolerances would not be the model's
                first = network.layers[0].parts[0].weight_name
                raise ExplainError(
                    f"explain: the model mixes dtypes: '{first}' is {dtype}, '{name}' is "
                    f"{np.dtype(tensor.dtype)}; explain a copy converted to one dtype, "
                    "e.g. model.to('float64')"
                )
    if dtype not in (np.float32, np.float64):
        raise ExplainError(
            f"explain: the model is {dtype}; the explainer works in float32 or float64: "
            "explain a copy converted with model.to('float32')"
        )


def _check_not_shared(named: list[tuple[str, Any]], way_out: str = "") -> None:
    """Refuse a parameter met before under another name (a Linear used twice, or tied weights),
    or one whose array shares memory with another's (``nn.Parameter(w.data)``): the views
    write each layer's weights out as their own, so each would show one use's share of dE/dw
    beside the model's total, and train the uses apart. ``named`` holds a model's tensors, or
    the weights and biases of triples as given (tensors, arrays, lists: a list is compared by
    identity); ``way_out`` ends the refusal (triples' values that only start equal are
    separate weights given as one object: copy them)."""
    shared = shared_arrays(
        (name, value.data if isinstance(value, Tensor) else value) for name, value in named
    )
    if not shared:
        return
    first, name = shared[0]
    tensors = dict(named)
    if tensors[first] is tensors[name]:
        kind = "tensor" if isinstance(tensors[name], Tensor) else "array"
        what = f"is the same {kind} as {first} (a layer used twice, or tied weights)"
    else:
        what = (
            f"shares its memory with {first} (a view of the other's array, or a tensor made on "
            "it, e.g. nn.Parameter(w.data): tied weights)"
        )
    raise ExplainError(
        f"explain: {name} {what}; the explainer writes out each layer's weights as its own, so "
        f"its dE/dw would be one use's share, not the model's total{way_out}"
    )


def _unreadable(module: Any) -> str:
    """Why the explainer cannot read ``module``, after "layer N is"."""
    name = type(module).__name__
    if isinstance(module, Sequential):  # a pure one is read as its layers (:func:`layers_of`)
        return (
            f"a {name}, which computes its own forward instead of Sequential's (one layer after "
            "another); the explainer writes out that chain, which would not be this model's "
            "numbers"
        )
    units = {unit.module for unit in ACTIVATIONS.values() if unit.module is not None}
    library_kinds = (Linear, Dropout, Identity, *units)
    parent = next((kind for kind in library_kinds if isinstance(module, kind)), None)
    if parent is not None:  # a subclass (or an instance) with a forward of its own
        return (
            f"a {name}, which computes its own forward instead of {parent.__name__}'s; the "
            f"explainer writes out {parent.__name__}'s formulas, which would not be this model's "
            "numbers"
        )
    written = ", ".join(unit for unit in UNITS if unit != "identity")
    return f"a {name}; the explainer reads Linear layers with {written} units"


def dropout_note(network: Network) -> str | None:
    """What to tell a user whose model has dropout switched on (training mode, p > 0): the
    explainer runs it as in evaluation (dropout the identity), not with a random mask."""
    active = [
        f"module {name} (p={module.p:g})"
        for name, module in _dropouts(network.model)
        if module.training and module.p > 0
    ]
    if not active:
        return None
    return (
        f"The model is in training mode, with dropout at {', '.join(active)}: these numbers are "
        "the network's in evaluation (model.eval(): dropout passes every unit), not a training "
        "step's, which drops units at random."
    )


def evaluation_dropout_note(network: Network) -> str | None:
    """What to tell a user whose model is in evaluation mode with dropout layers (p > 0): they
    are the identity there, so the derivation skips them and reads as a network without any;
    the note names them. None where :func:`dropout_note` speaks (a layer in training mode):
    one note on a model's dropout."""
    dropouts = [(name, m) for name, m in _dropouts(network.model) if m.p > 0]
    if not dropouts or any(module.training for _, module in dropouts):
        return None
    where = ", ".join(f"module {name} (p={module.p:g})" for name, module in dropouts)
    return (
        f"The model is in evaluation mode, with dropout at {where}: in evaluation dropout is "
        "the identity (inverted dropout scales the kept units by 1/(1-p) in training, so "
        "evaluation needs no rescaling), so these numbers, the model's, skip it."
    )


def _dropouts(model: Any) -> list[tuple[str, Dropout]]:
    """The model's Dropout layers by their names in it ("2", or "0.1.1" in a Parallel's
    branch)."""
    if model is None:
        return []
    return [(name, m) for name, m in model.named_modules() if isinstance(m, Dropout)]


def layers_of(model: Any) -> list[tuple[str, Any]]:
    """The modules ``model`` runs, in order, each with its name in the model: a Sequential's
    layers ("0", "1", ...), a Sequential among them read as its own layers, named as its state
    dict names them ("0.1" is layer 1 of layer 0), anything else as one layer "0" (a bare
    Linear). The one place the views flatten a network built of blocks (an encoder
    ``nn.Sequential`` inside the model, torch-style) into the chain it computes: the modules
    are the model's own, not copies, so a derivation's dE/dw are its parameters' and an edit to
    them is the model's. A nested Sequential with a forward of its own stays one layer (the
    caller refuses it: the chain would not be its numbers).

    >>> from chainrule import nn
    >>> [name for name, _ in layers_of(nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.Tanh())))]
    ['0.0', '0.1']
    """
    if model is None:
        return []
    if not isinstance(model, Sequential):
        return [("0", model)]
    flat = []
    for position, module in enumerate(model):
        if computes_as(module, Sequential):
            flat += [(f"{position}.{name}", inner) for name, inner in layers_of(module)]
        else:
            flat.append((str(position), module))
    return flat


def _check_axis(module: Any, position: str) -> None:
    """A softmax layer must normalise each case's units (its last axis), as the derivation's
    units do; one across the cases (``axis=0``) couples them, which no per-case view shows."""
    axis = getattr(module, "axis", -1)
    if axis not in (-1, 1):
        raise ExplainError(
            f"explain: layer {position} is {type(module).__name__}(axis={axis}); the explainer "
            f"shows softmax over each case's units (axis=-1), and axis={axis} normalises along "
            f"another axis (axis=0: across the cases). Use {type(module).__name__}(axis=-1)"
        )


def _check_chain(network: Network) -> None:
    for k, (below, above) in enumerate(zip(network.layers, network.layers[1:])):
        if below.n_out != above.n_in:
            raise ExplainError(
                f"explain: layer {k + 1} has {below.n_out} units but layer {k + 2}'s weight "
                f"expects {above.n_in} inputs"
            )


def as_loss(loss: Any) -> Loss:
    """An ``nn`` loss from a loss object, a name (``"squared-error"``...) or a model file's config.

    A bare name means the lecture's summed squared error, or the loss's own default reduction.
    A name or config of a loss registered with :func:`chainrule.nn.register_loss`, and any
    loss object of the user's own, is taken too: its formula is not written out
    (:func:`formula_written`), its numbers are the loss's own. One that takes a library loss's
    name but computes its own forward is refused (that loss's formulas would be shown).
    """
    if not isinstance(loss, Loss):
        loss = _named_loss(loss)
    if not formula_written(loss):  # a loss of the user's own: its numbers, not a formula
        own = loss.output_activation
        if own is not None and own not in UNITS:
            raise ExplainError(
                f"explain: the loss {loss_shown(loss)} applies {own!r} to the logits itself, a "
                f"unit the explainer cannot write out ({', '.join(UNITS)})"
            )
        return loss
    library_loss = LIBRARY_LOSSES[loss.name]
    if not computes_as(loss, library_loss):  # the name is known, the computation is its own
        raise ExplainError(
            f"explain: the loss is a {type(loss).__name__}, which computes its own forward "
            f"instead of {library_loss.__name__}'s; the explainer writes out "
            f"{library_loss.__name__}'s formulas, which would not be this loss's numbers"
        )
    return loss


def formula_written(loss: Loss) -> bool:
    """Whether the explainer writes out ``loss``'s formulas (E, the output layer's dE/dy, the
    symbolic proof's E): one of chainrule's :data:`LOSSES`. Else the loss is one of the user's
    own, whose E is its forward's number and whose output dE/dy (dE/dz, for a loss that reads
    the logits) is the engine's backward through it: the one place a loss's formula enters the
    derivation, so nothing of another loss's formulas is shown for it."""
    return loss.name in LOSSES


def loss_shown(loss: Loss) -> str:
    """A loss's name as the write-ups show it: the name it is known by, else its class's."""
    return loss.name or type(loss).__name__


def own_loss_note(loss: Loss) -> str | None:
    """What a derivation says of a loss of the user's own (None for chainrule's): its formula
    is not written out, its numbers are its own."""
    if formula_written(loss):
        return None
    top = "dE/dz (it reads the logits)" if loss.output_activation is not None else "dE/dy"
    return (
        f"The loss, {loss_shown(loss)} ({type(loss).__name__}), is a loss of your own: the "
        f"explainer cannot write out its formula, so E and the output layer's {top} are its "
        "numbers, from the loss's own forward and the engine's backward through it (each "
        "checked by finite differences of that forward); every step below them is written out "
        "as for chainrule's losses."
    )


def _named_loss(loss: Any) -> Loss:
    """The library's loss for a name or a model file's config."""
    try:
        if isinstance(loss, dict):
            return loss_from_config(loss)
        if isinstance(loss, str):  # the library's names, as train --loss and the page take
            return loss_from_name(loss)
    except UserError as error:
        raise ExplainError(f"explain: {error}") from None
    takes = f"an nn.Loss object, a loss name ({', '.join(LOSSES)}) or a loss's config"
    if isinstance(loss, type) and issubclass(loss, Loss):
        name = loss.__name__
        raise ExplainError(f"explain: loss {name} is a class; give an instance, {name}()")
    if isinstance(loss, type):  # torch.nn.MSELoss, the class
        raise ExplainError(
            f"explain: loss {loss.__name__} is a class, not a chainrule loss; explain takes {takes}"
        )
    if not (inspect.isfunction(loss) or inspect.ismethod(loss)):  # torch's MSELoss(), np.square
        raise ExplainError(
            f"explain: loss {type_name(loss)} is not a chainrule loss; explain takes {takes}"
        )
    # a Python function, which train.fit takes
    name = getattr(loss, "__qualname__", type(loss).__name__)
    raise ExplainError(
        f"explain: loss {name} is a plain function, which fit takes but explain does not: "
        f"explain takes {takes}, and asks it what it reads and how it reduces. Write it as "
        "an nn.Loss subclass whose forward(output, target) returns E (docs/extending.md, "
        "'A loss of your own'); a penalty on the model's weights in it is refused there "
        "as the loss reading a parameter itself: explain the model with the loss of its "
        "outputs alone (and add the penalty's gradient, which E.backward() includes, apart)"
    )


def output_activation(network: Network, loss: Loss) -> str:
    """The output units' activation as the loss sees it: a loss that reads logits applies its
    own unit (softmax for cross-entropy, logistic for binary cross-entropy) to the last Linear
    layer's outputs. A model that already ends in that unit would have it applied twice by
    ``loss(model(x), t)``, which no view can show as the lecture's units: it is refused."""
    top = network.layers[-1]
    act, own = top.activation, loss.output_activation
    if own == "softmax" and top.n_out == 1:
        raise ExplainError(
            f"explain: {loss.name} over 1 output: a softmax of one unit is always 1, so E is 0 "
            "and every gradient 0 whatever the target; use binary-cross-entropy for one output"
        )
    if own is None or act == "identity":
        return act if own is None else own
    # the module by the model's own name (its print's "(3): Logistic()"), not a layer number:
    # the explainer numbers layers of units (--unit 2:1), a Sequential its modules
    where = "the output layer" if top.unit_position is None else f"module {top.unit_position}"
    if act == own:
        raise ExplainError(
            f"explain: {where} ({act}) is the model's last layer, and "
            f"{type(loss).__name__} applies {own} itself, so loss(model(x), t) would apply {own} "
            f"twice. Remove the final {act} layer ({type(loss).__name__} takes the logits of the "
            "last Linear layer, as nn.mlp(..., output=None) and chainrule train build it), or "
            "use a loss that compares the outputs as they are (squared-error, mse)"
        )
    raise ExplainError(
        f"explain: {loss.name} needs the logits of the last Linear layer (it applies {own} "
        f"itself), but {where} is {act}; remove it or use squared-error or mse"
    )


@dataclass
class Problem:
    """A network with one batch of inputs and targets: everything :func:`explain` needs."""

    network: Network
    x: np.ndarray
    t: np.ndarray
    loss: Loss
    #: the class labels (int64, one per case) the loss is given, for a loss of one's own that
    #: says it reads labels (:func:`own_labels`): ``t`` holds them as one-hot rows
    labels: np.ndarray | None = None

    @property
    def loss_targets(self) -> np.ndarray:
        """The targets as the loss takes them: its class labels, else the rows ``t``."""
        return self.t if self.labels is None else self.labels


#: The seed network, the one every tool shows first (README, examples, ``chainrule explain``,
#: the explorer): (weight, bias, activation) per layer, one input case and its target.
SEED_LAYERS = (
    ([[0.15, -0.25], [0.40, 0.30]], [0.10, -0.20], "logistic"),
    ([[0.50, -0.30, 0.20], [-0.40, 0.60, 0.35]], [0.05, -0.10, 0.00], "logistic"),
)
SEED_INPUT = ((1.0, 0.5),)
SEED_TARGET = ((1.0, 0.0, 1.0),)


def seed_model() -> tuple[Sequential, Tensor, Tensor]:
    """The seed as ``(model, x, t)``: an ``nn.Sequential`` in float64 and its one case.

    2 inputs -> hidden layer i of 2 logistic units -> top layer j of 3 logistic units.

    >>> net, x, t = seed_model()
    >>> net(x).shape
    (1, 3)
    """
    return sequential(SEED_LAYERS), Tensor(np.array(SEED_INPUT)), Tensor(np.array(SEED_TARGET))


def seed_network() -> Problem:
    """The lecture's picture (:func:`seed_model`) as a problem: squared error, summed, float64."""
    model, x, t = seed_model()
    return Problem(as_network(model), x.numpy().copy(), t.numpy().copy(), as_loss("squared-error"))


#: What a refused target adds where no loss was given: the loss that read it is the default
_DEFAULT_LOSS_NOTE = (
    "; no loss was given, so the target is read for squared error, the default: for class "
    "labels give loss=nn.CrossEntropy() (or 'cross-entropy')"
)


def as_cases(values: Any, width: int, what: str) -> np.ndarray:
    """``values`` as a (cases, width) float64 array of finite numbers (one case may be flat)."""
    try:
        array = as_rows(values, width, f"explain: the {what}")
    except (ShapeError, ValueError, TypeError) as error:
        raise ExplainError(str(error)) from None
    where = first_non_finite(array)
    if where is not None:
        case, entry = where
        raise ExplainError(
            f"explain: the {what} holds {array[case, entry]} at case {case}, entry {entry} "
            "(counted from 0): every value must be a finite number"
        )
    return array


def in_model_dtype(rows: np.ndarray, network: Network) -> np.ndarray:
    """The input ``rows`` as ``network`` computes with them: rounded to its dtype, held as
    float64. A float32 model given float64 rows computes with their float32 roundings, layer
    0's y; the one home of the inputs every view shows (explain's JSON ``inputs``, the
    explorer's ``input``, /api/derivation's ``inputs``), which showed the float64 rows while
    every gradient was computed from the rounded ones."""
    return np.asarray(rows).astype(network.dtype).astype(np.float64)


def targets_for(
    t: Any, n_out: int, loss: Loss, n_cases: int, loss_given: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Targets as (cases, n_out) float rows, read the way ``loss`` reads them (labels become
    one-hot rows for a loss that reads class labels; a loss of one's own takes rows wider than
    the outputs as given, its forward's to read), and the class labels the loss itself is
    given, or None where it is given the rows (:func:`own_labels`). A loss of one's own whose
    rows refuse class labels, and which does not say that it reads them, is refused naming the
    class and the attribute to set. Where no loss was given (``loss_given`` False: ``loss`` is
    the default, squared error), a target of class labels it cannot read says so: the user
    never chose the loss the message names, and class labels want cross-entropy."""
    try:
        rows = loss.target_rows(t, n_out, n_cases)
        labels = own_labels(t, n_out, loss, n_cases)
    except (ValueError, TypeError) as error:
        default = "" if loss_given or not _read_as_labels(t, n_out, n_cases) else _DEFAULT_LOSS_NOTE
        note = default or _undeclared_labels_note(t, n_out, loss, n_cases)
        raise ExplainError(f"explain: {error}{note}") from None
    # wider rows only for a loss of one's own (target_rows refuses them otherwise)
    target = as_cases(rows, rows.shape[1], "target")
    if target.shape[0] != n_cases:
        raise ExplainError(
            f"explain: {counted(target.shape[0], 'target row')} for "
            f"{counted(n_cases, 'input row')}; give one per case"
            + _labels_read_per_case(t, target.shape[0], loss)
            + _undeclared_labels_note(t, n_out, loss, n_cases)
        )
    return target, labels


def own_labels(t: Any, n_out: int, loss: Loss, n_cases: int) -> np.ndarray | None:
    """The class labels (int64, one per case) a loss of one's own is given ``t`` as, or None
    where it is given rows: those its :meth:`~chainrule.nn.Loss.target_labels` reads, for a
    loss that says it reads labels (:attr:`~chainrule.nn.Loss.reads_labels`), as
    ``loss(model(x), labels)`` gives them. The declaration is the answer; the loss's forward is
    not called to find out (a probe on zero logits was: it took whole numbers of another
    meaning for labels, refused a loss undefined at zero, and ran a slow or counting forward
    for nothing). chainrule's losses are given the rows their formulas are written with."""
    if formula_written(loss):
        return None
    return loss.target_labels(t, n_out, n_cases)


def loss_target(targets: np.ndarray, dtype: Any) -> Any:
    """``targets`` (a problem's :attr:`Problem.loss_targets`) as the explainer hands them to
    the loss: class labels as they are (int64), rows as a tensor of ``dtype``."""
    if np.asarray(targets).dtype.kind in "iu":
        return targets
    return Tensor(np.asarray(targets, dtype=dtype))


def _read_as_labels(t: Any, n_out: int, n_cases: int) -> bool:
    """Whether cross-entropy reads ``t`` as class labels for ``n_out`` outputs: the library's
    own reading (a label out of range, half a class or a row of numbers is none), so the note
    that names it is given only where it would read the target."""
    try:
        return as_loss("cross-entropy").target_labels(t, n_out, n_cases) is not None
    except (ValueError, TypeError):
        return False


def _undeclared_labels_note(t: Any, n_out: int, loss: Loss, n_cases: int) -> str:
    """How to declare class labels, for a loss of one's own given ``t`` that reads as one class
    label per case (the library's reading) but which does not say that it reads labels, so its
    rows refused them; else nothing."""
    if formula_written(loss) or loss.reads_labels or not _read_as_labels(t, n_out, n_cases):
        return ""
    name = type(loss).__name__
    return (
        f"; {name} does not say that it reads class labels: if its forward takes one class "
        f"label per case, set reads_labels = True in class {name}"
    )


def _labels_read_per_case(t: Any, n_rows: int, loss: Loss) -> str:
    """Why a flat list of whole numbers gave one row per number: the loss reads it as one class
    label per case (an integer one-hot row for one case, ``[0, 0, 1]``, is three labels)."""
    values = np.asarray(host_values(t))
    if values.ndim != 1 or values.dtype.kind not in "iub" or values.size != n_rows:
        return ""
    row = ", ".join(map(str, values.astype(int).tolist()))
    return (
        f" (a flat list of whole numbers is one class label per case, as {type(loss).__name__} "
        f"reads it: write one case's one-hot row as [[{row}]], or as floats)"
    )
