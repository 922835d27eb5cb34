"""ONNX export: a chainrule network as an ONNX graph that onnxruntime (or any ONNX runtime) runs.

The graph is built node by node with ``onnx.helper`` (no tracing): each ``Linear`` is one ``Gemm``
(``MatMul`` without a bias) whose B input is chainrule's weight w_ij as it is, (n_in, n_out), so no
transpose is needed (``transB=0``); each unit layer is its ONNX operator (Sigmoid, Tanh, Relu,
Softmax, LogSoftmax); Dropout and Identity vanish (inference); a ``Parallel`` (the family-trees
network's encoders) is a ``Split`` of the columns, its branches, and a ``Concat``. The opset is
fixed at 17 (every onnxruntime from 1.13 runs it) and the first dimension of the input and the
output is a named, dynamic ``batch``.

Given the loss a model was trained with, the export adds what the loss applies itself, as
``chainrule predict`` does: softmax after cross-entropy's logits, the logistic after binary
cross-entropy's. Given a run's standardizer, the graph starts with ``(x - mean) / std`` in float64
(the arithmetic of ``predict``, whatever the input's dtype), so the ONNX model takes the raw rows
``predict`` reads. What predict then does with the outputs (the loss's threshold, argmax or
every unit above it) and what the rows must be (feature names, a pixel range) is in the model's
metadata (:data:`METADATA_KEYS`, JSON values) and, in words, its ``doc_string``.

>>> import chainrule as cr                                           # doctest: +SKIP
>>> cr.interop.to_onnx(model, "model.onnx", loss="cross-entropy")    # doctest: +SKIP
>>> cr.interop.saved_to_onnx("runs/digits-.../model", "digits.onnx") # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.errors import ConfigError, ConversionError, DataError, UserError, type_name

#: The opset every exported model declares, and the IR version that goes with it.
OPSET = 17
IR_VERSION = 8
INPUT_NAME = "input"
OUTPUT_NAME = "output"
BATCH_DIM = "batch"
#: protobuf's limit on one serialized message (``onnx.checker.MAXIMUM_PROTOBUF``): an ONNX model
#: holding its weights cannot be larger.
PROTOBUF_LIMIT = 2**31 - 1
#: What the graph holds besides its weights (nodes, names, shapes), allowed for generously so
#: that a model refused by nothing here is never refused by protobuf.
_GRAPH_HEADROOM = 2**20


def _onnx() -> Any:
    """The onnx package, imported on first use; a clear error where it is not installed."""
    try:
        import onnx
    except ImportError:
        raise ConversionError(
            "onnx is not installed; ONNX export needs it: pip install 'chainrule[onnx]'"
        ) from None
    return onnx


#: The ONNX operator of each unit of the activation table (``nn.activation_of``), and of
#: LogSoftmax, which is a layer but no unit of the table.
_UNIT_OPS = {"logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "softmax": "Softmax"}


def _unit_op(module: Any) -> tuple[str, dict] | None:
    """(ONNX operator, attributes) for a unit layer, or None when ``module`` is not one. The
    table's class itself, not a subclass: a subclass may compute something else (a Swish on
    Logistic), which its parent's operator would silently replace."""
    from chainrule import nn
    from chainrule.nn.activations import ACTIVATIONS

    if type(module) is nn.LogSoftmax:
        return "LogSoftmax", {"axis": module.axis}
    unit = nn.activation_of(module)  # None for a subclass that computes its own forward
    if unit not in _UNIT_OPS or type(module) is not ACTIVATIONS[unit].module:
        return None
    return _UNIT_OPS[unit], ({"axis": module.axis} if unit == "softmax" else {})


def _as_loss(loss: Any) -> Any:
    """The loss object for a loss object, name or config; anything else (a number, a PyTorch
    loss) is refused as :func:`chainrule.io.save_model` refuses it, naming what was given, and
    an unknown name or config with the loss table's own words, each as a ConversionError."""
    from chainrule import nn
    from chainrule.nn.losses import check_loss_argument

    if loss is None or isinstance(loss, nn.Loss):
        return loss
    try:
        if isinstance(loss, dict):
            return nn.loss_from_config(loss)
        check_loss_argument(loss, "to_onnx")  # 42 was looked up as the name '42'
        return nn.loss_from_name(loss)
    except ConfigError as error:
        raise _conversion_error(error) from error


def _standardizer_arrays(standardizer: Any, n_in: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The standardizer's mean and std, refused unless each scales the model's ``n_in`` inputs
    (as chainrule's own Standardizer refuses other widths): a shorter one would be broadcast
    silently, or make a graph no runtime loads."""
    from chainrule import io
    from chainrule.data import Standardizer

    if standardizer is None:
        return None
    try:  # a Standardizer, a fitted StandardScaler or a state, read as save_model reads it
        state = io._standardizer_state(standardizer)
        scaler = Standardizer.from_state(state)  # 1-D, finite, std > 0, of one length
    except ConfigError as error:  # a bare array (which is the std?), another type
        raise ConversionError(f"to_onnx: {error}") from error
    except DataError as error:  # an unfitted Standardizer, a state it refuses
        raise _conversion_error(error, "standardizer") from error
    if len(scaler.mean) != n_in:
        raise ConversionError(
            f"to_onnx: the standardizer's width is {len(scaler.mean)} but the model's input "
            f"width is {n_in}"
        )
    return scaler.mean, scaler.std


def _conversion_error(error: UserError, argument: str | None = None) -> ConversionError:
    """Another check's refusal of an argument (a loss, a standardizer, class names) as to_onnx's
    ConversionError, in its own words, prefixed with the function and the argument; the caller
    chains ``error`` as its cause."""
    words = str(error).removeprefix("to_onnx: ")
    return ConversionError(f"to_onnx: {argument + ': ' if argument else ''}{words}")


def _kind_of(value: Any) -> str:
    """What a refused argument is, for its error: "a numpy.ndarray", "the int 0"."""
    if type(value) in (int, float, bool):
        return f"the {type(value).__name__} {value!r}"
    return f"a {type_name(value)}"


def _one_dtype(model: Any) -> np.dtype:
    """The dtype of every parameter: ONNX binds each Gemm to one type, so a graph mixing float32
    and float64 layers is one that onnx.checker and onnxruntime refuse."""
    first: dict[str, str] = {}  # each dtype's first parameter, by its dotted name: a layer's
    for name, p in model.named_parameters():  # (two in one layer were "layer 0 ..., layer 0")
        first.setdefault(backend.dtype_name(p.dtype), name)  # backend: any array library's
    if len(first) > 1:
        found = ", ".join(f"{name!r} is {dtype}" for dtype, name in first.items())
        raise ConversionError(
            f"to_onnx: the model mixes dtypes ({found}); convert it to one first, e.g. "
            "model.to(np.float32)"
        )
    return np.dtype(next(iter(first)))


class _Graph:
    """The nodes and initialisers of one graph, threading the name of the current value."""

    def __init__(self, onnx: Any, current: str) -> None:
        self.onnx, self.current = onnx, current
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.nbytes = 0  # the initialisers' data: what decides whether protobuf can hold them

    def constant(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        self.nbytes += array.nbytes
        return name

    def add(self, op: str, extra_inputs: list[str], name: str, **attributes: Any) -> None:
        out = f"{name}_out"
        node = self.onnx.helper.make_node(
            op, [self.current, *extra_inputs], [out], name=name, **attributes
        )
        self.nodes.append(node)
        self.current = out


def to_onnx(
    model: Any,
    path: str | os.PathLike | None = None,
    *,
    loss: Any = None,
    standardizer: Any = None,
    input_dtype: Any = None,
    class_names: list[str] | None = None,
    meta: dict | None = None,
) -> Any:
    """Export ``model`` (an ``nn.Sequential`` of Linear and unit layers) as an ``onnx.ModelProto``,
    written to ``path`` if given.

    ``loss`` (a loss object, name or config) adds the output activation the loss implies;
    ``standardizer`` (a fitted ``data.Standardizer``, its state, or a fitted scikit-learn
    ``StandardScaler``) puts the run's scaling in front.
    The input ``input`` is ``(batch, n_in)`` of ``input_dtype``: by default float64 where there is
    a standardizer, else the model's dtype. With a standardizer the rows are scaled in float64
    whatever ``input_dtype`` is (an integer or float16 input is cast to float64 first) and then
    cast to the model's dtype, exactly as ``chainrule predict`` does. The output ``output`` is
    ``(batch, n_out)`` in the model's dtype. The graph passes ``onnx.checker``. ``input_dtype``
    is one predict reads as numbers: bool, an integer type, float16, float32 or float64 (a
    complex one made a graph onnxruntime refused to load). ``class_names`` (any sequence of
    names, as :func:`chainrule.io.save_model` takes them: a list, a tuple, a NumPy array such as
    ``LabelEncoder.classes_``; stored as the model property ``class_names``, JSON) must be
    strings that name the outputs: one name per output unit, or two for a single logistic unit;
    other lengths are refused before anything is written.

    ``meta`` is what a model file records of its data (``io.save_model``'s ``meta``): its
    ``task``, ``feature_names``, ``label_column_name`` and ``pixel_range`` are recorded in the
    file's metadata, beside what says how to read the output as ``chainrule predict`` does
    (:data:`METADATA_KEYS`: the loss's ``threshold``, argmax or per unit, probabilities or
    values), and the model's ``doc_string`` says it in words.

    ``path`` names the file to write; a directory (an existing one, or a name ending in ``/``) is
    refused rather than written as a file of that name, and anything but a str or path is a
    ``TypeError`` (a model there: the model comes first, then the path). A model over
    protobuf's 2 GB limit on one message is refused, naming its size, and so is one whose
    weights hold NaN or infinity (its graph would output NaN; :func:`chainrule.io.load_model`
    refuses such weights too), naming the parameter, and a cross-entropy ``loss`` over one
    output unit (softmax of one unit is always 1: use binary cross-entropy). Every other refusal
    is a :class:`ConversionError` and writes nothing, including a ``loss`` that is no loss
    (``42``: named as ``save_model`` names it) or an unknown one, and a standardizer state that
    the Standardizer itself refuses (a std of 0, no ``"std"``): those keep the words of the check
    that refused them, which is their cause.
    """
    from chainrule import io
    from chainrule.interop.torch import refuse_directory, refuse_nonfinite, refuse_torch_module
    from chainrule.nn.losses import check_loss_fits
    from chainrule.train.metrics import predict

    refuse_torch_module(model, "to_onnx")
    if path is not None:
        io.check_path_argument(path, "to_onnx", model_first=True)  # save_model's order is swapped
        refuse_directory(path, "to_onnx", "model.onnx")
    _refuse_no_module(model)  # after the path's check, which names a model and path swapped
    onnx = _onnx()
    n_in = _n_inputs(model)
    if n_in is None or model.dtype is None:
        raise ConversionError("to_onnx: the model has no Linear layer, so no input size")
    dtype = _one_dtype(model)
    refuse_nonfinite(io.model_weights(model), "to_onnx", "the graph would output NaN, so "
                     "nothing was exported")  # fmt: skip
    scaling = _standardizer_arrays(standardizer, n_in)
    in_dtype = _input_dtype(input_dtype, np.float64 if scaling is not None else dtype)
    graph = _Graph(onnx, INPUT_NAME)
    _add_input_steps(graph, scaling, in_dtype, dtype)
    _add_module(graph, model, "")
    # the unit the loss applies to the logits itself, as predict's probabilities do (axis -1)
    loss = _as_loss(loss)
    unit = getattr(loss, "output_activation", None)
    if unit is not None:
        op = _UNIT_OPS[unit]
        graph.add(op, [], f"loss_{op.lower()}", **({"axis": -1} if op == "Softmax" else {}))
    graph.nodes[-1].output[0] = OUTPUT_NAME  # the last value is the graph's output
    _check_protobuf_size(graph.nbytes, dtype)  # make_graph itself fails on a larger one

    helper = onnx.helper
    n_out = int(predict(model, np.zeros((1, n_in), dtype)).shape[1])  # as the model computes it
    try:  # cross-entropy's softmax over one unit: a graph answering 1 for every row
        check_loss_fits(loss, n_out, "to_onnx")
    except ConfigError as error:
        raise _conversion_error(error) from error
    try:  # any sequence of names, as save_model takes them (LabelEncoder.classes_, an array)
        class_names = io.class_name_list(class_names)
    except ConfigError as error:
        raise _conversion_error(error) from error
    _check_class_names(class_names, n_out)  # before anything is written
    properties = _properties(loss, class_names, _data_meta(meta, n_in), scaling is not None, n_out)
    inputs = [helper.make_tensor_value_info(
        INPUT_NAME, helper.np_dtype_to_tensor_dtype(in_dtype), [BATCH_DIM, n_in])]  # fmt: skip
    outputs = [helper.make_tensor_value_info(
        OUTPUT_NAME, helper.np_dtype_to_tensor_dtype(dtype), [BATCH_DIM, n_out])]  # fmt: skip
    doc = f"chainrule network, {_count(n_in, 'input')} -> {_count(n_out, 'output')}" + (
        f" ({unit} of the logits, as the loss implies)" if unit else ""
    )
    from chainrule import __version__

    proto = helper.make_model(
        helper.make_graph(graph.nodes, "chainrule", inputs, outputs, graph.initializers, doc),
        producer_name="chainrule",
        producer_version=__version__,
        doc_string=_how_to_read(properties, n_in, n_out),
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )
    helper.set_model_props(proto, {key: json.dumps(value) for key, value in properties.items()})
    onnx.checker.check_model(proto)
    if path is not None:
        from chainrule.files import atomic_write_bytes

        atomic_write_bytes(path, proto.SerializeToString(), example="model.onnx")
    return proto


def _input_dtype(input_dtype: Any, default: np.dtype) -> np.dtype:
    """The input's dtype: ``input_dtype`` (``default`` where None), a dtype whose rows predict
    reads as numbers: bool (0 and 1), a signed or unsigned integer, float16, float32 or float64.
    Anything else is refused: complex, text, dates and float128 made a graph onnx.checker
    passed and onnxruntime refused to load (a Cast from complex64), or a raw error."""
    if input_dtype is None:
        return np.dtype(default)
    try:
        dtype = np.dtype(input_dtype)
    except (TypeError, ValueError):  # no dtype at all
        dtype = None
    if dtype is None or not (dtype.kind in "biu" or dtype in _FLOAT_INPUTS):
        # a name as given ("U3", not NumPy's "str96"), a type by NumPy's name for it
        shown = repr(input_dtype) if dtype is None or isinstance(input_dtype, str) else dtype.name
        raise ConversionError(
            f"to_onnx: input_dtype {shown} is not a real number type an ONNX model can take; "
            "give bool, an integer type (int64, uint8, ...), float16, float32 or float64"
        )
    return dtype


#: The float input dtypes ONNX and onnxruntime take (not NumPy's float128 or longdouble).
_FLOAT_INPUTS = tuple(np.dtype(name) for name in ("float16", "float32", "float64"))


def _add_input_steps(
    graph: _Graph, scaling: tuple[np.ndarray, np.ndarray] | None, in_dtype: np.dtype,
    dtype: np.dtype,
) -> None:  # fmt: skip
    """The steps from the input to the model's dtype: a standardizer's ``(x - mean) / std`` in
    float64, as ``Standardizer.transform`` computes it for predict whatever the rows' dtype (the
    mean and std cast to an integer input were truncated, a std below 1 became a division by
    0; cast to float16, rounded), then a cast to the model's dtype."""
    to_tensor_dtype = graph.onnx.helper.np_dtype_to_tensor_dtype
    current = in_dtype
    if scaling is not None:
        if current != np.float64:
            graph.add("Cast", [], "cast_input", to=to_tensor_dtype(np.dtype(np.float64)))
            current = np.dtype(np.float64)
        mean, std = scaling  # float64 (Standardizer.from_state)
        graph.add("Sub", [graph.constant("standardizer_mean", mean)], "standardize_sub")
        graph.add("Div", [graph.constant("standardizer_std", std)], "standardize_div")
    if current != dtype:
        graph.add("Cast", [], "cast", to=to_tensor_dtype(dtype))


def _check_protobuf_size(nbytes: int, dtype: np.dtype) -> None:
    """Refuse weights that one protobuf message cannot hold (protobuf's bare EncodeError,
    "Failed to serialize proto", named neither the limit nor the model's size)."""
    if nbytes <= PROTOBUF_LIMIT - _GRAPH_HEADROOM:
        return
    halve = " (as float32 it is half as large: model.to(np.float32))" if dtype == np.float64 else ""
    raise ConversionError(
        f"to_onnx: the model's weights are {nbytes} bytes ({nbytes / 2**30:.2f} GiB), over "
        f"protobuf's 2 GB limit on one ONNX model ({PROTOBUF_LIMIT} bytes), so it cannot be "
        f"exported{halve}; nothing was written"
    )


def _check_class_names(class_names: list | None, n_out: int) -> None:
    """Refuse names (a list: :func:`chainrule.io.class_name_list`) that do not name the
    ``n_out`` outputs: one per output unit, or two (no, yes) for one logistic unit, as a saved
    model's ``class_names`` (``chainrule.io``)."""
    if class_names is None:
        return
    for k, name in enumerate(class_names):  # a name is text: predict writes it per case
        if not isinstance(name, str):
            raise ConversionError(
                f"to_onnx: class_names must be strings, but name {k} is {_kind_of(name)}; "
                f"give text, e.g. class_names={[str(name) for name in class_names]!r}"
            )
    n_names = len(class_names)
    if n_names and n_names != n_out and not (n_out == 1 and n_names == 2):
        raise ConversionError(
            f"to_onnx: class_names has {n_names} names but the model has {n_out} output "
            f"{'unit' if n_out == 1 else 'units'}; give one name per output"
            + (" (or two, no and yes, for its one logistic unit)" if n_out == 1 else "")
        )


#: The model properties (``metadata_props``) an export records, each a JSON value, and what
#: each says; a key that says nothing of a model is left out (docs/interop.md lists them).
METADATA_KEYS = {
    "class_names": "the classes' names, one per output unit (or no and yes for one unit)",
    "task": "classification, multilabel or regression, where the model file records it",
    "outputs": "probabilities (the loss's unit is in the graph) or values (the network's own)",
    "output_activation": "the unit the graph applies for the loss: softmax or logistic",
    "threshold": "where a classifier's unit is on (output above it): the loss's own",
    "prediction": "how chainrule predict reads the output: one of PREDICTIONS",
    "standardized": "true where the graph standardizes the raw rows itself",
    "feature_names": "the input columns, in order, as the training file's header names them",
    "label_column_name": "the training file's label column",
    "pixel_range": "[low, high]: pixels are mapped from it onto [0, 1] before the graph",
}

#: How ``chainrule predict`` reads an output row into its prediction (property ``prediction``).
PREDICTIONS = ("argmax", "above_threshold", "units_above_threshold", "values")


def _count(n: int, thing: str) -> str:
    """ "1 output", "3 outputs"."""
    return f"{n} {thing}{'' if n == 1 else 's'}"


class RecordedMeta(dict):
    """A model file's ``meta`` as :func:`saved_to_onnx` hands it on: free-form (``io.save_model``
    writes what it is given), so an entry that is not what the export reads it as (a ``task``
    of the user's own words, ``"binary"``) is left out of the ONNX file, where a ``meta`` given
    to :func:`to_onnx` directly is refused naming it."""


def _data_meta(meta: Any, n_in: int) -> dict[str, Any]:
    """What ``meta`` (a model file's ``meta``, as ``io.save_model`` takes it) records of the
    data that a deployer needs, by :data:`METADATA_KEYS`' names: the task (``meta["task"]``,
    or its run's ``--task``), the feature names, the label column and the pixel range. Other
    entries are passed over; one of those four that cannot be what it names is refused."""
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise ConversionError(
            "to_onnx: meta must be a dict of what the model records of its data, as "
            f"io.save_model's meta (e.g. {{'task': 'classification'}}), not {_kind_of(meta)}"
        )
    from chainrule.data.dataset import TASKS

    found: dict[str, Any] = {}
    run = meta.get("run")
    task = meta.get("task") or (run.get("task") if isinstance(run, dict) else None)
    names, label, pixels = (meta.get(key) for key in
                            ("feature_names", "label_column_name", "pixel_range"))  # fmt: skip
    problems = {
        "task": task is not None and task not in TASKS,
        "feature_names": names is not None
        and not (
            isinstance(names, (list, tuple))
            and len(names) == n_in
            and all(isinstance(name, str) for name in names)
        ),  # fmt: skip
        "label_column_name": label is not None and not isinstance(label, str),
        "pixel_range": pixels is not None and not _is_range(pixels),
    }
    wanted = {
        "task": f"one of {', '.join(TASKS)}",
        "feature_names": f"{_count(n_in, 'string')}, one per input",
        "label_column_name": "a string",
        "pixel_range": "[low, high], two finite numbers with low < high",
    }
    for key, value in (("task", task), ("feature_names", names),
                       ("label_column_name", label), ("pixel_range", pixels)):  # fmt: skip
        if problems[key] and isinstance(meta, RecordedMeta):  # free-form: not ours to refuse
            continue
        if problems[key]:
            raise ConversionError(f"to_onnx: meta[{key!r}] must be {wanted[key]}, not {value!r}")
        if value is not None:
            found[key] = list(value) if key in ("feature_names", "pixel_range") else value
    return found


def _is_range(pixels: Any) -> bool:
    """Whether ``pixels`` is a pixel range: [low, high], finite numbers, low < high."""
    if not isinstance(pixels, (list, tuple)) or len(pixels) != 2:
        return False
    real = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pixels)
    return real and bool(np.all(np.isfinite(pixels))) and pixels[0] < pixels[1]


def _properties(
    loss: Any, class_names: list | None, data_meta: dict, standardized: bool, n_out: int
) -> dict[str, Any]:
    """The model properties of an export (:data:`METADATA_KEYS`): how ``chainrule predict``
    reads the output (``train.metrics.predicted_classes`` and ``units_on``): a regression's
    values as they are; one unit on above the loss's ``threshold`` (0.5 without one); a
    multilabel model's every unit above it; else the largest output's class. The task is the
    one the model records, else regression for a loss averaged over the cases' squared errors
    without class names (predict's rule, ``cli.train.saved_task``: a model saved from
    scikit-learn's ``MLPRegressor`` is one)."""
    from chainrule.nn.losses import fits_a_regression

    task = data_meta.get("task")
    if task is None and fits_a_regression(loss) and not class_names:
        task = "regression"
    unit = getattr(loss, "output_activation", None)
    if task == "regression":
        prediction = "values"
    elif n_out == 1:
        prediction = "above_threshold"
    elif task == "multilabel":
        prediction = "units_above_threshold"
    else:
        prediction = "argmax"
    properties: dict[str, Any] = {"class_names": class_names} if class_names else {}
    if task is not None:
        properties["task"] = task
    properties["outputs"] = "probabilities" if unit else "values"
    if unit:
        properties["output_activation"] = unit
    if prediction != "values":
        properties["threshold"] = float(getattr(loss, "threshold", 0.5))
    properties["prediction"] = prediction
    properties["standardized"] = standardized
    properties.update((key, value) for key, value in data_meta.items() if key != "task")
    return properties


def _how_to_read(properties: dict[str, Any], n_in: int, n_out: int) -> str:
    """The model's ``doc_string``: what its input must be and how to read its output, in
    words, from its :func:`_properties`."""
    names, pixels = properties.get("feature_names"), properties.get("pixel_range")
    lines = [f"chainrule network: {_count(n_in, 'input')} -> {_count(n_out, 'output')}."]
    given = "raw rows as chainrule predict reads them"
    if names:
        given += f", columns {', '.join(names)}"
    if pixels:
        low, high = (f"{v:g}" for v in pixels)
        given += (
            f"; pixels mapped from {low}..{high} onto [0, 1], (x - {low}) / ({high} - {low}), as "
            "the training images were (predict refuses values outside [0, 1])"
        )
    if properties["standardized"]:
        given += "; the graph standardizes them itself ((x - mean) / std)"
    lines.append(f"Input 'input' (batch, {n_in}): {given}.")
    unit = properties.get("output_activation")
    outputs = f"probabilities ({unit} of the logits, as the loss applies it)" if unit else "values"
    lines.append(f"Output 'output' (batch, {n_out}): {outputs}.")
    threshold, classes = properties.get("threshold"), properties.get("class_names")
    prediction = properties["prediction"]
    if prediction == "values":
        label = properties.get("label_column_name")
        reading = "the outputs are the predicted values" + (f" of {label}" if label else "")
    elif prediction == "above_threshold":
        yes, no = ("1", "0") if not classes else (classes[-1], classes[0])
        if classes and len(classes) == 1:  # its one unit's name is the yes (parity's "odd")
            no = f"not {yes}"
        reading = f"class {yes!r} where the output is above {threshold:g}, else {no!r}"
    elif prediction == "units_above_threshold":
        reading = (
            f"multilabel: every unit whose output is above {threshold:g} is on (the classes "
            "of those units; none when no unit is)"
        )
    else:
        reading = "the class is the unit with the largest output (argmax)"
    lines.append(f"Prediction: {reading}.")
    lines.append(f"Metadata (JSON values): {', '.join(properties)}.")
    return "\n".join(lines)


def _add_module(graph: _Graph, module: Any, name: str) -> None:
    """Append ``module``'s nodes; ``name`` is its dotted name, so initialisers carry the
    parameters' own names ("0.weight", "0.1.0.weight" ...)."""
    from chainrule import nn

    kind, unit = type(module), _unit_op(module)
    prefix = f"{name}." if name else ""
    if kind is nn.Sequential:
        for position, layer in enumerate(module):
            _add_module(graph, layer, f"{prefix}{position}")
    elif kind is nn.Parallel:  # each branch on its block of columns, outputs side by side
        sizes = graph.constant(f"{prefix}widths", np.asarray(module.widths, dtype=np.int64))
        blocks = [f"{prefix}block_{k}" for k in range(len(module.widths))]
        graph.nodes.append(graph.onnx.helper.make_node(
            "Split", [graph.current, sizes], blocks, name=f"{prefix}split", axis=1))  # fmt: skip
        outputs = []
        for k, (block, branch) in enumerate(zip(blocks, module.branches)):
            graph.current = block
            _add_module(graph, branch, f"{prefix}{k}")
            outputs.append(graph.current)
        graph.current = outputs[0]
        graph.add("Concat", outputs[1:], f"{prefix}concat", axis=1)
    elif kind is nn.Linear:
        # chainrule's weight is (n_in, n_out): z = y @ W + b is Gemm with transB = 0
        weight = graph.constant(f"{prefix}weight", module.weight.numpy())
        if module.bias is None:
            graph.add("MatMul", [weight], f"{prefix}matmul")
        else:
            bias = graph.constant(f"{prefix}bias", module.bias.numpy())
            graph.add("Gemm", [weight, bias], f"{prefix}gemm")
    elif unit is not None:
        op, attributes = unit
        graph.add(op, [], f"{prefix}{op.lower()}", **attributes)
    elif kind not in (nn.Dropout, nn.Identity):  # those two are the identity at inference
        raise _no_export(kind, name)


#: The layers an export takes, for its refusals.
_EXPORTED = "Linear, Logistic, Tanh, ReLU, Softmax, LogSoftmax, Dropout, Identity and Parallel"


def _refuse_no_module(model: Any) -> None:
    """Refuse a model that is no chainrule module at all (a function, a number): it is the
    model, not a "layer 0", that has no export."""
    from chainrule import nn

    if not isinstance(model, nn.Module):
        raise ConversionError(
            f"to_onnx: the model is {_kind_of(model)}, not a chainrule model; export an "
            f"nn.Sequential of {_EXPORTED}"
        )


def _no_export(kind: type, name: str) -> ConversionError:
    """The error for a layer of no exported type (by exact type: a subclass may compute
    something else), naming it by its position."""
    return ConversionError(
        f"to_onnx: layer {name or 0} is {kind.__name__}, which has no ONNX export here; "
        f"export a Sequential of {_EXPORTED}"
    )


def _n_inputs(module: Any, name: str = "") -> int | None:
    """How many input columns ``module`` reads (None for a layer that takes any width). A layer
    with no export met before the first width is refused here, by name: it, not a missing
    Linear, is why there is no input size."""
    from chainrule import nn

    kind = type(module)
    if kind is nn.Linear:
        return module.n_in
    if kind is nn.Parallel:
        return int(sum(module.widths))
    if kind is nn.Sequential:
        prefix = f"{name}." if name else ""
        for position, child in enumerate(module):
            width = _n_inputs(child, f"{prefix}{position}")
            if width is not None:
                return width
    elif _unit_op(module) is None and kind not in (nn.Dropout, nn.Identity):
        raise _no_export(kind, name)
    return None


def saved_to_onnx(directory: str | os.PathLike, path: str | os.PathLike | None = None) -> Any:
    """Export a saved model (what :func:`chainrule.io.load_model` reads) with its loss's output
    activation, its standardizer and its class names, so the ONNX model answers what
    ``chainrule predict`` does for the same raw rows."""
    from chainrule import io

    model, info = io.load_model(directory)
    loss = io.output_reader(info, directory)  # as predict reads them (an unknown loss: refused)
    return to_onnx(model, path, loss=loss, standardizer=info.get("standardizer"),
                   class_names=info.get("class_names"),
                   meta=RecordedMeta(info["meta"]) if isinstance(info.get("meta"), dict)
                   else info.get("meta"))  # fmt: skip
