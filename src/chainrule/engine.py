"""The recorded graph and the backward pass: the multivariate chain rule, run in reverse.

Every op a Tensor goes through is recorded on its output tensor (the primitive, its input
tensors, its parameters, its number in the order ops ran), which :class:`Node` reads.
:func:`backward_pass` then visits the nodes from the output down, in reverse topological order,
iteratively (the training step's case by those numbers, latest first: no separate sort). Each
node asks its primitive's rule for the contribution it sends to each input, and
:func:`sum_over_consumers` adds that contribution to the input's running total. Because a
tensor is visited only after *every* consumer has sent its part, its total is complete when it
is used: that total is exactly

    dE/dy_i = sum_j dE/dz_j * dz_j/dy_i

the sum over the units j that y_i feeds. Nothing else in chainrule adds gradients together
(the training step's loop, :func:`_propagate_arrays`, runs its three lines inline).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import heapq
import inspect
import itertools
import operator
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy

from chainrule import backend
from chainrule.backend import array_module
from chainrule.errors import (
    AnomalyError,
    GraphFreedError,
    ShapeError,
    UserError,
    is_about_shapes,
    mark_in_process,
    type_name,
)
from chainrule.tensor import Tensor, array_of, not_an_array

if TYPE_CHECKING:
    from chainrule.ops.registry import Primitive


class _Mode(threading.local):
    """Per-thread switches (a web server runs requests on several threads)."""

    grad_enabled: bool = True
    detect_anomaly: bool = False
    #: Under detect_anomaly, while a rule runs (its checks off): where the ops it records
    #: (with create_graph) come from, the user's line of the op whose rule it is
    rule_origin: str | None = None
    #: While a create_graph pass runs the rules on tensors: a rule's ``g.T`` means what it
    #: means on the arrays of a plain pass (every axis reversed), so Tensor.T does not warn
    in_rules: bool = False


mode = _Mode()

#: How many threads have recording off now. ``apply`` reads this plain global first and the
#: per-thread switch only when it is not 0: a thread-local read costs a small op about a
#: fiftieth of its time. Every change of ``mode.grad_enabled`` goes through
#: :func:`_set_recording`, which keeps the count.
_threads_not_recording = 0
_count_lock = threading.Lock()


def _set_recording(enabled: bool) -> bool:
    """Turn recording on or off for this thread; return what it was."""
    global _threads_not_recording
    previous = mode.grad_enabled
    if previous != enabled:
        # In the order that leaves a consistent state if Ctrl-C lands between the two steps:
        # ``apply`` records whenever the count is 0, whatever this thread's switch says, so the
        # count goes up before the switch goes off, and down after it is back on (interrupted,
        # it stays too high, which only sends ops to the slower per-thread read).
        if enabled:
            mode.grad_enabled = True
        with _count_lock:
            _threads_not_recording += -1 if enabled else 1
        if not enabled:
            mode.grad_enabled = False
    return previous


_entries_lock = threading.Lock()


class _GradMode:
    """A context manager that sets recording on or off for this thread, and restores it after;
    also a decorator (``@no_grad()``). Each entry remembers the setting it found, on the object
    with its thread, and its exit restores that one, as PyTorch's blocks do: blocks that do not
    nest (a generator paused inside its own ``with enable_grad()`` while its caller opens and
    closes one) each restore their own, where one stack per thread handed each the other's.
    One object entered again inside itself (a module-level ``NO_GRAD`` reused by nested
    functions) exits its innermost entry on this thread first; a generator finished on another
    thread exits the entry its block made."""

    __slots__ = ("enabled", "_entries")

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._entries: list[tuple[int, bool]] = []  # (thread, the setting found), in order

    def __enter__(self) -> None:
        found = _set_recording(self.enabled)
        with _entries_lock:  # one object may be entered on several threads at once
            self._entries.append((threading.get_ident(), found))

    def __exit__(self, *exc: Any) -> None:
        thread = threading.get_ident()
        with _entries_lock:
            entries = self._entries
            mine = [k for k, (owner, _) in enumerate(entries) if owner == thread]
            _, found = entries.pop(mine[-1] if mine else -1)
        _set_recording(found)

    def __call__(self, function: Callable) -> Callable:
        if inspect.isgeneratorfunction(function):
            return self._each_resume(function)

        @functools.wraps(function)
        def recording_as_set(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(self.enabled):
                return function(*args, **kwargs)

        return recording_as_set

    def _each_resume(self, function: Callable) -> Callable:
        """A generator function whose body runs with recording as set, one resume at a time.
        Calling a generator function only makes the generator, so the block around that call
        ended before the body ran, which recorded every op of it; and between resumes the
        caller's own setting holds, as in PyTorch."""
        enabled = self.enabled

        @functools.wraps(function)
        def recording_as_set(*args: Any, **kwargs: Any) -> Any:
            generator = function(*args, **kwargs)
            resume, argument = generator.send, None
            while True:
                try:
                    value = _recording_as(enabled, resume, argument)
                except StopIteration as stop:
                    return stop.value
                try:
                    argument = yield value
                    resume = generator.send
                except GeneratorExit:  # closed, or collected, unfinished
                    _recording_as(enabled, generator.close)
                    raise
                except BaseException as error:  # thrown in: the body may handle it
                    resume, argument = generator.throw, error

        return recording_as_set


def _recording_as(enabled: bool, call: Callable, *args: Any) -> Any:
    """``call(*args)`` with recording set to ``enabled``, and the caller's setting back after
    (a decorated generator's resume: no block object to keep an entry on)."""
    previous = _set_recording(enabled)
    try:
        return call(*args)
    finally:
        _set_recording(previous)


_Function = TypeVar("_Function", bound=Callable)


@overload
def no_grad() -> _GradMode: ...
@overload
def no_grad(function: _Function) -> _Function: ...
def no_grad(function: Callable | None = None) -> Any:
    """Run without recording: results need no gradient and keep no graph. Also a decorator,
    with brackets or without (``@no_grad()`` or ``@no_grad``, as PyTorch takes both); of a
    generator function, each resume of its body runs without recording.

    >>> with no_grad():
    ...     y = model(x)          # doctest: +SKIP
    """
    return _grad_mode(False, function, "no_grad")


@overload
def enable_grad() -> _GradMode: ...
@overload
def enable_grad(function: _Function) -> _Function: ...
def enable_grad(function: Callable | None = None) -> Any:
    """Record again inside a :func:`no_grad` block; a decorator too, as :func:`no_grad` is."""
    return _grad_mode(True, function, "enable_grad")


def _grad_mode(enabled: bool, function: Callable | None, name: str) -> Any:
    """The block of :func:`no_grad` or :func:`enable_grad`, or ``function`` decorated by it
    (the decorator written without brackets hands the function to this call)."""
    if function is None:
        return _GradMode(enabled)
    if not callable(function):
        raise TypeError(
            f"{name}: takes a function to decorate (@cr.{name}) or nothing (with "
            f"cr.{name}():), not {type_name(function)}"
        )
    return _GradMode(enabled)(function)


class _SetGradEnabled(_GradMode):
    """:func:`set_grad_enabled`'s object: the call has set recording already, and remembers the
    setting it found, which the block's exit restores (or the decorator, at once)."""

    __slots__ = ("_found_by_call",)

    def __init__(self, enabled: bool) -> None:
        super().__init__(enabled)
        self._found_by_call: tuple[int, bool] | None = (
            threading.get_ident(),
            _set_recording(enabled),
        )

    def __enter__(self) -> None:
        found, self._found_by_call = self._found_by_call, None
        if found is None or found[0] != threading.get_ident():  # entered again, or elsewhere
            super().__enter__()
            return
        _set_recording(self.enabled)
        with _entries_lock:
            self._entries.append(found)

    def __call__(self, function: Callable) -> Callable:
        found, self._found_by_call = self._found_by_call, None
        if found is not None and found[0] == threading.get_ident():
            _set_recording(found[1])  # a decorator sets recording for the calls, not from now
        return super().__call__(function)


def set_grad_enabled(mode: bool) -> _GradMode:
    """Set recording on (``True``) or off (``False``) for this thread, as PyTorch's
    ``torch.set_grad_enabled``: called alone it sets it from then on; as a block, ``with
    set_grad_enabled(training):``, the setting found before the call is back after the block
    (an exception too); as a decorator, ``@set_grad_enabled(False)``, each call of the function
    runs with it and the setting around the decoration is left as it was.

    >>> with set_grad_enabled(False):
    ...     y = model(x)          # doctest: +SKIP
    """
    if not isinstance(mode, (bool, numpy.bool_)):
        raise TypeError(
            f"set_grad_enabled: mode must be True or False, not {type_name(mode)} "
            f"({mode!r:.40}); to decorate a function, write @cr.set_grad_enabled(False)"
        )
    return _SetGradEnabled(bool(mode))


def is_grad_enabled() -> bool:
    """Whether ops are being recorded on this thread."""
    return mode.grad_enabled


#: How many threads are inside :func:`detect_anomaly` now. The hot path reads this plain global
#: first and the per-thread flag only when it is not 0 (a thread-local read costs as much as a
#: small op's bookkeeping).
_anomaly_threads = 0
_anomaly_lock = threading.Lock()


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise at the first op whose forward value or backward contribution is NaN or Inf.

    Only a NaN or Inf the op produced counts: one it was given and passed on (a causal mask's
    ``-inf`` copied by ``cr.where`` or added to the scores) is no anomaly, while the NaN that
    softmax makes of a fully masked row, or mul's rule of ``0 * -inf``, is.

    The error names the op and the line of user code that created it. Recording the line costs a
    stack walk per op, so the mode is off by default.
    """
    global _anomaly_threads
    previous, mode.detect_anomaly = mode.detect_anomaly, True
    with _anomaly_lock:
        _anomaly_threads += 1
    try:
        yield
    finally:
        mode.detect_anomaly = previous
        with _anomaly_lock:
            _anomaly_threads -= 1


def _anomaly_mode() -> bool:
    """Whether :func:`detect_anomaly` is on for this thread."""
    return _anomaly_threads > 0 and mode.detect_anomaly


class Node:
    """One recorded application of a primitive: what backward needs, and what tools display.

    ``inputs`` are the tensors the op read (its parents in the graph); ``params`` its non-tensor
    arguments (an axis, an exponent). ``op`` outlives :meth:`release`; the inputs, and so their
    shapes, do not (keeping the shapes cost a small op's backward a twentieth).

    The fields live on the op's output tensor (as PyTorch keeps ``grad_fn`` on its tensor): one
    object per op instead of two is a tenth of a small op's cost, and a graph of a million ops
    is a million fewer objects for Python's garbage collector to scan. A Node is a view of
    them, ``tensor.node``; two views of one tensor are equal.
    """

    __slots__ = ("output",)

    def __init__(self, output: Tensor) -> None:
        if output._primitive is None:
            raise ValueError("Node: this tensor is a leaf; no op produced it")
        self.output = output

    @property
    def primitive(self) -> Primitive:
        return self.output._primitive

    @property
    def inputs(self) -> tuple[Tensor, ...] | None:
        """The tensors the op read; None once :meth:`release` has run."""
        return self.output._inputs

    @property
    def params(self) -> dict:
        return self.output._params

    @property
    def saved(self) -> Any:
        """What the forward kept for the rules (primitives that save); None once released."""
        output = self.output
        return None if output._inputs is None else output._saved

    @property
    def origin(self) -> str | None:
        """'file:line' of the user code that ran the op, where :func:`detect_anomaly` was on."""
        return getattr(self.output, "_origin", None)

    @property
    def input_shapes(self) -> tuple[tuple[int, ...], ...] | None:
        """The shapes of the op's inputs; None once :meth:`release` has run."""
        inputs = self.output._inputs
        return None if inputs is None else tuple(map(_shape, inputs))

    @property
    def op(self) -> str:
        return self.output._primitive.name

    @property
    def released(self) -> bool:
        return self.output._inputs is None

    def release(self) -> None:
        """Drop the references to the inputs, the saved values and the parameters (a loss's
        targets, a mask), so their arrays can be freed: a released output kept by the user
        (``losses.append(loss)``) holds only its own value and its op's name."""
        _release(self.output, "Node.release()")

    def where(self) -> str:
        """' (created at file:line)' when anomaly mode recorded it, else ''."""
        origin = self.origin
        return f" (created at {origin})" if origin else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other.output is self.output

    def __hash__(self) -> int:
        return id(self.output)

    def __repr__(self) -> str:
        shapes = self.input_shapes
        if shapes is None:
            return f"<Node {self.op} (released)>"
        return f"<Node {self.op}({', '.join(map(str, shapes))})>"


#: A released node's parameters: none (read-only, shared). Its op's name stays.
_RELEASED_PARAMS: Mapping[str, Any] = MappingProxyType({})


def _release(output: Tensor, by: str | list[str]) -> None:
    """:meth:`Node.release` on the output tensor that holds the node's fields (the backward
    loops call it per node). ``by`` names the call that released it, so that a later pass
    that meets the node can say which call to give ``retain_graph=True``: the one that freed
    it, not the one that failed. A backward loop passes its pass's record, one list for all
    the nodes it releases: ``[op]`` (``backward``, ``gradient``, a transform's name), to which
    the loop appends the name of the error that stopped it part-way, if one did (a changed
    input, a rule's error): then every node it had released says so at once, at no cost per
    node, and a later call is not told that retain_graph=True would have helped a call that
    failed (:func:`_freed_error`). The record takes the place of the saved values
    (``_saved``), which nothing reads once ``_inputs`` is None: one store per node instead of
    two, on every backward pass."""
    output._inputs = None
    output._saved = by
    if output._params:  # a loss's targets, a where's mask: nothing reads them after this
        output._params = _RELEASED_PARAMS


def _user_frame() -> str:
    """'file:line' of the innermost stack frame outside chainrule's own modules."""
    package_dir = __file__.rsplit("/", 1)[0]
    for frame in reversed(traceback.extract_stack()):
        if not frame.filename.startswith(package_dir):
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


# ---------------------------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------------------------


def apply(primitive: Primitive, inputs: tuple[Tensor, ...], params: dict[str, Any]) -> Tensor:
    """Run ``primitive`` forward on the inputs' arrays; record the op on the output tensor if
    an input needs a grad.

    This is the hot path of every op: keep it free of anything that is not needed every time
    (``params`` comes as the caller's own dict, kept on the output: no second copy per op).

    A 0-d result is a 0-d NumPy array, as ``cr.tensor(3.0).data`` is: NumPy gives a scalar
    (``numpy.float64``) for a reduction over every axis and for an elementwise op on 0-d
    arrays, and as a tensor's ``data`` it refused ``t.data[...] = v``, made ``t.numpy()`` a new
    array at each call (writing it changed nothing) and was refused by ``torch.from_numpy``.
    The check costs an array result one type comparison, under half a percent of a small op's
    instructions (forward and backward).
    """
    n_inputs = len(inputs)
    if _other_libraries and n_inputs > 1:  # one library, one device per op (a NumPy-only
        _check_operands(primitive, inputs)  # process never pays for the look)
    forward = primitive.forward
    try:
        # one, two or three inputs are passed as they are: a call built from ``*map(...)``
        # runs a tuple's and an iterator's C code per op that a training step pays at cold caches
        if params:
            data = forward(*map(_array, inputs), **params)
        elif n_inputs == 1:
            data = forward(inputs[0].data)
        elif n_inputs == 2:
            data = forward(inputs[0].data, inputs[1].data)
        elif n_inputs == 3:
            data = forward(inputs[0].data, inputs[1].data, inputs[2].data)
        else:
            data = forward(*map(_array, inputs))
    except (ValueError, RuntimeError) as error:
        if _other_libraries and n_inputs > 1:  # two devices of one library
            backend.check_compatible(primitive.name, [t.data for t in inputs])
        if isinstance(error, ValueError) and not isinstance(error, UserError):
            raise primitive.forward_error(inputs, params, error) from None
        if isinstance(error, RuntimeError) and is_about_shapes(error):  # PyTorch's refusal
            raise primitive.forward_error(inputs, params, error) from None
        if type(error) in _LIBRARY_REFUSALS and type(inputs[0].data) is not _ndarray:
            # PyTorch's other refusals (a kernel missing for bool): named, of their own class
            raise primitive.library_error(inputs, params, error) from error
        raise  # the forward's own error about the user's input (a class label) names it
    except TypeError as error:  # a library that will not mix the dtypes: name the op
        if isinstance(error, backend.ArrayLibraryError):  # a dtype the device lacks: named
            raise
        # JAX refuses shapes that do not broadcast with a TypeError ("add got incompatible
        # shapes for broadcasting"); a call's own TypeError names an argument ("unexpected
        # keyword argument 'axis'"), not the operands' shapes
        if is_about_shapes(error) and "argument" not in str(error).split("\n")[0]:
            raise primitive.forward_error(inputs, params, error) from None
        for index, t in enumerate(inputs):
            if isinstance(t.data, Tensor):  # NumPy refused it: name the .data, not the ufunc
                raise TypeError(_tensor_in_data(t, f"{primitive.name}: input {index}")) from None
        _refuse_non_arrays(inputs, primitive.name)  # -t of t.data = [5.0]
        raise primitive.type_error(inputs, params, error) from error
    except AttributeError:  # a.data = 5.0 on a plain tensor: 'float' has no attribute 'dtype'
        _refuse_non_arrays(inputs, primitive.name)
        raise
    saved = None
    if primitive.saves:
        data, saved = data
    # the output tensor: Tensor._wrap's fields, set here (a call per op is dear on this path)
    out = _new(Tensor)
    if type(data) is not _ndarray:  # (another library's array pays one isinstance more)
        if isinstance(data, _numpy_scalar):
            data = _ndarray_of(data)  # a 0-d result as NumPy gave it: an array, as above
        elif isinstance(data, _PYTHON_NUMBERS):  # -a of a.data = 5.0: the float's own -5.0
            _refuse_non_arrays(inputs, primitive.name)
            raise TypeError(f"{primitive.name}: the forward gave {type_name(data)}, no array")
    out.data = data
    out._grad = out.name = None  # the slot: Tensor.grad is a property for reading
    out.requires_grad = False
    if not _threads_not_recording or mode.grad_enabled:
        for t in inputs:
            if t.requires_grad:
                out.requires_grad = True
                out._primitive = primitive
                out._inputs = inputs
                out._params = params
                out._saved = saved
                out._seq = _next_seq()  # consumers run later: their numbers are larger
                break
        else:
            out._primitive = None
    else:
        out._primitive = None
    if _anomaly_threads:
        if mode.detect_anomaly:
            if out._primitive is not None:
                out._origin = _user_frame()
            what = f"{primitive.name}: forward produced"  # its inputs: those given, the leaves
            # in the forward, a NaN is named where it enters from a parameter (a leaf that needs
            # a gradient); one in the data or a constant (NaN padding masked by where, a NaN
            # target) is named in backward, where it reaches a gradient, as torch names it
            learned = [t if t.requires_grad else None for t in inputs]  # numbered as given
            _check_finite(data, what, out.node, inputs, params, learned, None)
        elif mode.rule_origin is not None and out._primitive is not None:
            out._origin = mode.rule_origin  # a second derivative's NaN names the user's line
    return out


#: What an op's forward gives where an input's ``.data`` is a number, not an array
_PYTHON_NUMBERS = (int, float, complex)


def _refuse_non_arrays(
    inputs: Sequence[Tensor], op: str, of: str = "", output: Tensor | None = None
) -> None:
    """Raise the refusal of the first of ``inputs`` (or ``output``, the op's result in backward)
    whose ``.data`` is no array, as ``a.data = 5.0`` stores on a plain tensor (a bare field,
    unchecked: :func:`~chainrule.tensor.not_an_array`), naming ``op`` (the op, or the pass and
    ``of`` the op: "backward", " of 'mul'") and the input; return where each holds an array.
    Asked only where an op failed or gave no array (a forward, a rule), so an op that works
    pays nothing."""
    for index, t in enumerate(inputs):
        if not hasattr(t.data, "shape"):
            raise TypeError(not_an_array(t, f"{op}: input {index}{of}")) from None
    if output is not None and not hasattr(output.data, "shape"):
        raise TypeError(not_an_array(output, f"{op}: the output{of}")) from None


def _check_operands(primitive: Primitive, inputs: tuple[Tensor, ...]) -> None:
    """Raise naming both when the inputs' arrays are of two libraries (the device is checked
    when the library itself refuses, as array-api-strict and torch do)."""
    kind = type(inputs[0].data)
    for t in inputs:
        if type(t.data) is not kind:
            backend.check_compatible(primitive.name, [t.data for t in inputs])
            return


_other_libraries = backend.other_libraries
#: The errors of another library's forward that :func:`apply` names with the op and inputs, as
#: they are: exactly these classes (an ``OutOfMemoryError`` or a ``RecursionError`` is none)
_LIBRARY_REFUSALS = (RuntimeError, NotImplementedError)
#: Numbers the recorded ops in the order they ran, in every thread (a C call, atomic under the
#: GIL). An op runs after the ops that made its inputs, so its number is larger than theirs:
#: the array-mode backward visits the largest first (:func:`_propagate_arrays`).
_next_seq = itertools.count().__next__
#: When chainrule last changed a tensor's array in place (an optimizer's step, ``w -= ...``
#: under no_grad), by the ``id`` of the array the tensor holds after the change: a number from
#: the counter that numbers the recorded ops (:func:`note_write`). An op recorded with a smaller
#: number read the values from before the change, which its rules would mix with the new ones,
#: so backward refuses it (as PyTorch's version counter does). Keyed by the array, the change is
#: seen through every tensor that shares it (``w.detach()``) or views it (a NumPy view's base).
#: A dead array's entry is harmless: an array given its id later is made, and so read by ops,
#: after that write.
written_at: dict[int, int] = {}
#: When a parameter's ``.data`` was replaced by another array (``p.data = p.data * 0.5``), by the
#: ``id`` of the parameter: a node recorded before that reads the new values at backward, so it
#: is refused as for :data:`written_at`; by the tensor, not the array, as the array it was given
#: may be another tensor's, unchanged (``b.weight.data = a.weight.data``: a's graph stays good).
replaced_at: dict[int, int] = {}
#: The number of the latest such change, of any tensor: a node recorded after it read nothing
#: changed since, so the walk looks its leaves up in :data:`written_at` only for nodes recorded
#: before it (none, in a training loop's forward-backward-step).
last_write = -1


def note_write() -> int:
    """The number of an in-place change about to be made (one serves a whole optimizer step),
    made :data:`last_write`: store it in :data:`written_at` for each tensor changed."""
    global last_write
    last_write = _next_seq()
    return last_write


def note_written(array: Any, number: int) -> None:
    """Record in :data:`written_at` that ``array`` was changed by the write ``number``
    (:func:`note_write`), and so the array it views: every view of that array reads the change."""
    written_at[id(array)] = number
    owner = backend.memory_owner(array)
    if owner is not array:
        written_at[id(owner)] = number


def changed_input(output: Tensor) -> int | None:
    """The index of the first input of ``output``'s op changed in place after the op ran (its
    array, or the array it views, written through any view of it), else None. Every input is
    checked, not only those differentiated: a rule for one input reads the others (dE/dx of
    w * x is w). Only a node recorded before :data:`last_write` can have one; the callers look
    only there (backward through :func:`refuse_changed_inputs`, and the graph drawings, which
    name it their way)."""
    seq = output._seq
    for index, parent in enumerate(output._inputs):
        data = parent.data
        owner = backend.memory_owner(data)
        if (
            written_at.get(id(data), -1) > seq
            or (owner is not data and written_at.get(id(owner), -1) > seq)
            or replaced_at.get(id(parent), -1) > seq
        ):
            return index
    return None


def refuse_changed_inputs(output: Tensor, op: str = "backward") -> None:
    """Raise if an input of ``output``'s op was changed in place after the op ran
    (:func:`changed_input`): the op's rules would read the new values beside the ones it
    computed with. ``op`` names the call refused (``backward``, ``gradient``, a transform)."""
    index = changed_input(output)
    if index is not None:
        raise _written_error(output, index, op)


def _written_error(output: Tensor, index: int, op: str = "backward") -> RuntimeError:
    node = Node(output)
    call = _RETAIN_GRAPH_CALLS.get(op, op)
    return RuntimeError(
        f"{op}: input {index} of '{node.op}'{node.where()} was changed in place (an "
        "optimizer's step, -= under no_grad, a parameter's .data assigned, or "
        "load_state_dict or nn.vector_to_parameters, which write into the parameters' arrays) "
        "after the op was recorded, so its gradient would mix the old values with the new; "
        f"run {call} before the step (or the load), or the forward again after it"
        f"{CARRIED_STATE}"
    )


#: The likely case behind a freed graph or an input a step changed, in truncated
#: backpropagation through time: the hidden state carried from the last batch's graph
CARRIED_STATE = (
    "; if a value from an earlier step is carried into this one (an RNN's hidden state), cut "
    "it with h = h.detach()"
)


_wrap = Tensor._wrap
_new = object.__new__
_ndarray = numpy.ndarray
_numpy_scalar = numpy.generic
_ndarray_of = numpy.asarray
#: The classes of NumPy's real floating dtypes (float16, 32, 64, longdouble): the array lanes
#: check a seed and each leaf's total against them, once per backward and per leaf (a set
#: look-up of the dtype's class costs two thirds of reading ``dtype.kind``, a new string).
_NUMPY_REAL_FLOATS = frozenset(type(numpy.dtype(code)) for code in "efdg")
# C-level getters for the hot loops (a comprehension is a Python frame of its own in 3.11)
_array = operator.attrgetter("data")
_shape = operator.attrgetter("data.shape")


def _check_finite(
    data: Any,
    what: str,
    node: Node | None,
    given: Sequence = (),
    params: Mapping | None = None,
    inputs: Sequence = (),
    constants: Mapping | None = None,
) -> None:
    """Raise :class:`AnomalyError` where ``data``, an op's forward value or a rule's
    contribution, holds a NaN or Inf that the op produced rather than passed on: a NaN where no
    array it was ``given`` (its input tensors, the cotangent) or array or number in ``params``
    held one, an Inf where none held a NaN or Inf. A causal mask's ``-inf``, copied by ``where``
    or added by ``add``, is then no anomaly (torch's detect_anomaly does not check forward
    values at all), while softmax of a fully masked row (NaN from -inf) still is.

    A NaN passed on from a leaf among the op's ``inputs`` (the forward gives those that need a
    gradient, its parameters; the backward every leaf, the data too: no op's output, which was
    checked at its own op) or from one of its ``constants`` (the backward's: its arrays and
    numbers among the op's parameters, a target) is reported too, naming that input: the NaN
    entered the graph there (torch raises in backward). NaN padding masked away by ``where``
    reaches no gradient and is not reported. The inputs are read only
    once the output is found non-finite: a finite op pays what it paid before."""
    xp = array_module(data)
    if bool(xp.all(xp.isfinite(data))):
        return
    nan = bool(xp.any(xp.isnan(data)))
    where = node.where() if node is not None else f" (at {_user_frame()})"
    entered = _nan_leaf(inputs, constants) if nan else None
    if entered is not None:
        op, _, stage = what.partition(": ")
        raise AnomalyError(
            f"{op}: {stage.removesuffix(' produced')} got NaN from {entered}: a parameter, the "
            f"data or a constant, which no op made, so the NaN entered the graph there{where}; "
            "find it with np.isnan(array).any()"
        )
    if _any_non_finite((*given, *(params or {}).values()), nan_only=nan):
        return
    kind = "NaN" if nan else "Inf"
    raise AnomalyError(f"{what} {kind}{where}")


def _nan_leaf(inputs: Sequence, constants: Mapping | None) -> str | None:
    """The first of an op's ``inputs`` that is a leaf holding a NaN, or of its ``constants``
    (its parameters: arrays, numbers and leaf tensors count) holding one, in words ("its input
    0, a leaf of shape (5, 3)"); None for none."""
    for index, value in enumerate(inputs):  # None: an input not looked at
        if value is None or value._primitive is not None:
            continue
        if _any_non_finite((value,), nan_only=True):
            named = f" ({value.name})" if value.name else ""
            return f"its input {index}{named}, a leaf of shape {tuple(value.data.shape)}"
    for key, value in (constants or {}).items():
        if isinstance(value, Tensor) and value._primitive is not None:
            continue  # an op's output: checked at its op
        if _any_non_finite((value,), nan_only=True):
            shape = tuple(getattr(array_of(value), "shape", ()))
            return f"its argument {key!r}, a constant of shape {shape}"
    return None


def _any_non_finite(values: Sequence, nan_only: bool) -> bool:
    """Whether a tensor, array or number among ``values`` holds a NaN (``nan_only``) or any
    non-finite value; other values (an axis, a slice, a mask of bools) hold none."""
    for value in values:
        value = value.data if isinstance(value, Tensor) else value
        if isinstance(value, (float, complex)):
            value = numpy.asarray(value)
        if not hasattr(value, "dtype") or not backend.holds_floats(value):
            continue
        xp = array_module(value)
        if bool(xp.any(xp.isnan(value) if nan_only else ~xp.isfinite(value))):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# The backward pass
# ---------------------------------------------------------------------------------------------


def reverse_topological_order(
    roots: Sequence[Tensor], op: str = "backward", constants_before: int = -1
) -> list[Tensor]:
    """Every tensor that needs a gradient and feeds ``roots``, each after all of its consumers.

    Iterative depth-first search (no recursion: a chain of a million ops is fine). A node that
    an earlier pass released raises :class:`GraphFreedError`, its message led by ``op`` (the
    call walking the graph: ``backward``, ``gradient``, a transform), unless it was recorded
    before ``constants_before`` (:func:`_oldest_target`: every target of the pass was made
    after it, so none can be among the inputs it no longer lists). Such a node is a constant
    to the pass, as a tensor that requires no gradient is: it is left out, with all below it.
    A released node that is the oldest target itself is kept, without what lies below it:
    its gradient needs nothing below it (``cr.gradient(loss, [h])`` with ``h``'s own graph
    freed, which ``torch.autograd.grad`` answers too).
    """
    finished: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(t, False) for t in reversed(roots)]
    pop, push, finish, mark = stack.pop, stack.append, finished.append, seen.add
    while stack:
        tensor, children_done = pop()
        if children_done:
            finish(tensor)
            continue
        key = id(tensor)
        if key in seen:
            continue
        mark(key)
        if tensor._primitive is None:
            finish(tensor)  # a leaf: nothing below it
            continue
        inputs = tensor._inputs
        if inputs is None:
            if tensor._seq < constants_before:  # it cannot lead to a target: it sends nothing
                continue
            if tensor._seq == constants_before:  # the oldest target: none lies below it
                finish(tensor)
                continue
            raise _freed_error(tensor, op)
        push((tensor, True))
        for parent in inputs:
            if parent.requires_grad and id(parent) not in seen:
                if parent._primitive is None:  # a leaf is finished at once: nothing below it
                    mark(id(parent))
                    finish(parent)
                else:
                    push((parent, False))
    finished.reverse()
    return finished


def _freed_error(tensor: Tensor, op: str) -> GraphFreedError:
    """The refusal of ``op`` (the call that met it: ``backward``, ``gradient``, a transform)
    to go through a node an earlier call released, naming that call where it is known: it is
    the one that needed ``retain_graph=True`` (``cr.gradient`` releases too, as
    ``torch.autograd.grad`` does, though the user never called backward). A call that an
    error stopped part-way had released the nodes it went through: it is named as the one
    that failed, whose error says what to fix (retain_graph=True would only have kept the
    graph for the same refusal)."""
    node = Node(tensor)
    freed = f"{op}: the graph through '{node.op}'{node.where()} was freed"
    by = tensor._saved  # the record of the call that released it (:func:`_release`)
    if type(by) is list:  # a backward loop's: [its call's name] and what stopped it, if any
        if len(by) > 1:
            call = _RETAIN_GRAPH_CALLS.get(by[0], f"{by[0]} call")
            return GraphFreedError(
                f"{freed} by an earlier {call}, which a {by[1]} stopped part-way after it had "
                "released the nodes it went through (retain_graph=True would not have let it "
                "through): fix what that error said, then compute the forward again to go "
                "through it"
            )
        by = by[0]
    if by in _RETAIN_GRAPH_CALLS:
        call = _RETAIN_GRAPH_CALLS[by]
        return GraphFreedError(
            f"{freed} by an earlier {call}; pass retain_graph=True to that {call} to go "
            f"through it twice{_DIFFERENTIATE_THE_RESULT if by == 'gradient' else ''}"
            f"{CARRIED_STATE}"
        )
    if by == "Node.release()":
        return GraphFreedError(f"{freed} by Node.release(); compute it again to go through it")
    if by is not None:  # a transform, which keeps no graph of its function's past its call
        return GraphFreedError(
            f"{freed} by an earlier {by} call, which releases the graph its function recorded "
            "as it differentiates it; compute the tensor again to go through it"
        )
    return GraphFreedError(
        f"{freed} by an earlier pass; pass retain_graph=True to the first backward() or "
        f"cr.gradient() to go through it twice{CARRIED_STATE}"
    )


#: The calls that release a graph and take ``retain_graph``, by the name a pass records
_RETAIN_GRAPH_CALLS = {"backward": "backward()", "gradient": "cr.gradient()"}
#: The other fix of a graph ``cr.gradient`` freed: its result differentiated again (a PINN's
#: residual ``du`` in a loss), which retain_graph alone leaves a constant, its part lost
_DIFFERENTIATE_THE_RESULT = (
    ", or create_graph=True if you meant to differentiate its result (a gradient used in a "
    "loss: with retain_graph alone it is a constant, and its part of the loss's gradient is "
    "silently lost)"
)


def number_new_leaf(leaf: Tensor) -> Tensor:
    """Give ``leaf``, a tensor object made just now that no op has read yet, a number in the
    order the ops ran, as an op's output gets one. No node recorded before it can have it among
    its inputs, however far down, so a pass differentiating with respect to it passes by such a
    node where an earlier pass released it (:func:`_oldest_target`). ``Tensor()``, ``detach``
    and the transforms' variables number theirs; only a tensor made just now may be numbered
    so: an op may have read an older one (the unnumbered ``Tensor._wrap`` of an op's output
    under ``no_grad``, say), however late it was given ``requires_grad_()``."""
    leaf._seq = _next_seq()
    return leaf


def _oldest_target(targets: Sequence[Tensor] | None) -> int:
    """The number before which a released node cannot lead to any of ``targets``: the smallest
    of theirs (a node's, or a leaf's from :func:`number_new_leaf`), since an op's inputs, and
    theirs in turn, were all made before it. -1 (no node) where there are no targets (every
    leaf is one) or one has no number (a leaf made unnumbered, which any op may have read)."""
    oldest = -1
    for target in targets or ():
        number = getattr(target, "_seq", None)  # a leaf's slot is unset unless numbered
        if number is None:
            return -1
        oldest = number if oldest < 0 else min(oldest, number)
    return oldest


def sum_over_consumers(totals: dict[int, Any], tensor: Tensor, contribution: Any) -> None:
    """Add what one consumer sends back to ``tensor``'s running gradient total.

    This is the sum over j in dE/dy_i = sum_j dE/dz_j dz_j/dy_i, and the only place in chainrule
    where fan-out is resolved: ``a + a``, ``x * x`` and a hidden unit feeding three units above it
    all arrive here once per path.
    """
    key = id(tensor)
    total = totals.get(key)
    totals[key] = contribution if total is None else total + contribution


def backward_pass(
    outputs: Sequence[Tensor],
    cotangents: Sequence[Tensor],
    targets: Sequence[Tensor] | None = None,
    *,
    retain_graph: bool = False,
    create_graph: bool = False,
    op: str = "backward",
) -> dict[int, tuple[Tensor, Tensor]]:
    """Propagate ``cotangents`` from ``outputs`` back through the recorded graph.

    Returns ``{id(tensor): (tensor, complete gradient total)}`` for every leaf (``targets=None``)
    or for the given ``targets``; only nodes that lead to a target are visited. Unless
    ``retain_graph``, each node's inputs are released as soon as its rule has run.

    With ``create_graph`` the rules run on tensors and are recorded (recording is on for the
    pass), so the gradients can be differentiated again. Otherwise they run on the bare arrays:
    the same rules, nothing to record, and the recording switch is left as the caller set it
    (as in :meth:`Tensor.backward`'s lane, so every pass on arrays reports the same
    :func:`is_grad_enabled`).

    ``op`` names the call running the pass (``backward``, ``gradient``, a transform): a node an
    earlier pass freed is refused in its name, and a node this pass frees remembers it, so a
    later pass's refusal can name the call that needed ``retain_graph=True``. With ``targets``
    all made after such a node (a transform's fresh variables, a tensor computed after the
    free), the node cannot lead to one: it is a constant to the pass, as torch.func takes it
    (:func:`reverse_topological_order`). Where a target might lie below it (one older than
    the node, or a leaf whose making is not numbered) it is refused: its path would be dropped
    silently.

    Python's cyclic garbage collector is paused for the pass: the pass creates no reference
    cycles, but it allocates enough short-lived objects to set the collector off again and again,
    and each run rescans the whole recorded graph (about an eighth of the time at 100,000 nodes).
    """
    return _as_a_pass(
        create_graph, _backward_pass, outputs, cotangents, targets, retain_graph, create_graph, op
    )


def _as_a_pass(create_graph: bool, run: Any, *args: Any) -> Any:
    """``run(*args)`` as a backward pass runs: with ``create_graph`` recording is on for the
    pass (as enable_grad would set it); otherwise the rules get bare arrays, cannot record, and
    the switch stays as the caller set it. The collector is paused either way: for the whole
    process (gc has no per-thread switch), so other threads collect no cycles until the pass
    ends, and a ``gc.disable()`` another thread makes during the pass is undone at its end."""
    collecting = gc.isenabled()
    try:
        gc.disable()  # inside the try: a Ctrl-C right after it must not leave it off for good
        if not create_graph:
            return run(*args)
        was_recording = _set_recording(True)
        was_in_rules, mode.in_rules = mode.in_rules, True
        try:
            return run(*args)
        finally:
            _set_recording(was_recording)
            mode.in_rules = was_in_rules
    finally:
        if collecting:
            gc.enable()


def _backward_pass(
    outputs: Sequence[Tensor],
    cotangents: Sequence[Tensor],
    targets: Sequence[Tensor] | None,
    retain_graph: bool,
    create_graph: bool,
    op: str,
) -> dict[int, tuple[Tensor, Tensor]]:
    seeds = cotangents if create_graph else list(map(_array, cotangents))
    totals: dict[int, Any] = {}
    for output, seed in zip(outputs, seeds):
        _refuse_not_floating_output(output)
        sum_over_consumers(totals, output, seed)
    if targets is None and not create_graph and not _anomaly_mode():
        results = _propagate_arrays(outputs, totals, retain_graph, op)
    else:
        order = reverse_topological_order(outputs, op, _oldest_target(targets))
        results = _propagate(order, totals, targets, retain_graph, create_graph, op)
    return _as_owned(results, seeds, create_graph, op)


def backward_to_leaves(output: Tensor, seed: Any, retain_graph: bool) -> list[tuple[Tensor, Any]]:
    """Every leaf's gradient total from one output and its seed array: ``Tensor.backward``'s
    common case (no ``gradient=`` tensor, no ``create_graph``), as :func:`backward_pass` runs it,
    in one call. A training step pays for every call and container of its backward at cold
    caches (the step's matrix products have just evicted them), so this lane builds no seeds
    list and wraps no seed; the work is the same (the walk, then the owned totals). Returns
    ``(leaf, total)`` pairs, the totals wrapped as tensors.
    """
    if type(seed) is not numpy.ndarray or (_anomaly_threads and mode.detect_anomaly):
        totals = backward_pass([output], [_wrap(seed)], retain_graph=retain_graph)
        return list(totals.values())
    if type(seed.dtype) not in _NUMPY_REAL_FLOATS:  # an integer output (of integer leaves)
        _refuse_not_floating_output(output)
    results = _as_a_pass(
        False, _propagate_arrays, (output,), {id(output): seed}, retain_graph, "backward"
    )
    return _owned_arrays(results.values(), (seed,))


def _propagate_arrays(outputs: Sequence[Tensor], totals: dict, retain_graph: bool, op: str) -> dict:
    """:func:`_propagate` for every training step's case: rules on bare arrays, every leaf a
    target, no anomaly checks; ``totals`` holds the outputs' seeds. Returns ``{id(leaf): (leaf,
    total)}``.

    No separate topological sort: the ops are visited latest first (a heap on the number each
    got when it ran). Every consumer of a tensor ran after it, and each consumer the pass
    reaches is queued before the tensor can come first, so a tensor's total is complete when
    its turn comes: the same order :func:`reverse_topological_order` guarantees, found in the
    same walk that sends the totals down, which saves a training step a sixth of its Python.
    A chain (one tensor waiting at a time, as in a layer stack) skips the heap: the tensor
    waiting alone is the next. The sum over consumers is inline (it is
    :func:`sum_over_consumers`, whose call would cost as much as its work); a leaf's total is
    summed in the results.
    """
    results: dict[int, tuple[Tensor, Any]] = {}
    queue: list[tuple[int, Tensor]] = []  # a heap of the tensors waiting, when more than one
    alone = None  # the tensor waiting, when it is the only one (then the queue is empty)
    push, pop, running_total = heapq.heappush, heapq.heappop, totals.get
    changed_after = last_write  # a node recorded before it may have read changed values
    starts: dict[int, Tensor] = {}  # the outputs to visit, each once
    for output in outputs:
        key = id(output)
        if output._primitive is None:  # a leaf differentiated by itself
            if key in totals:
                results[key] = (output, totals.pop(key))
        else:
            starts[key] = output
    if len(starts) == 1:
        (alone,) = starts.values()
    else:
        for output in starts.values():
            push(queue, (-output._seq, output))
    released_by = [op]  # this pass's record in each node it releases (_release)
    try:
        while alone is not None or queue:
            if alone is not None:
                tensor, alone = alone, None
            else:
                tensor = pop(queue)[1]
            total = totals.pop(id(tensor))
            inputs = tensor._inputs
            if inputs is None:
                raise _freed_error(tensor, op)
            if tensor._seq < changed_after:  # a parameter changed in place after this op ran?
                refuse_changed_inputs(tensor, op)
            primitive = tensor._primitive
            rules = primitive.vjp
            params = (
                {**tensor._params, "saved": tensor._saved} if primitive.saves else tensor._params
            )
            # the rules' arguments, built once per node (one to three inputs without ``*map``)
            n_inputs = len(inputs)
            if n_inputs == 1:
                args = (total, tensor.data, inputs[0].data)
            elif n_inputs == 2:
                args = (total, tensor.data, inputs[0].data, inputs[1].data)
            elif n_inputs == 3:
                args = (total, tensor.data, inputs[0].data, inputs[1].data, inputs[2].data)
            else:
                args = (total, tensor.data, *map(_array, inputs))
            index = -1
            for parent in inputs:
                index += 1
                if not parent.requires_grad:
                    continue
                # most ops have no parameters: a call without ** is cheaper (the try blocks cost
                # nothing in 3.11 where nothing is raised)
                try:
                    contribution = rules[index](*args, **params) if params else rules[index](*args)
                except IndexError:
                    raise _no_rule(tensor, index, rules) from None
                except ValueError as error:
                    raise _wrote_in_place(tensor, index, error) from None
                except AttributeError:  # a.data = 5.0 on a plain tensor: named
                    _refuse_non_arrays(inputs, op, f" of '{primitive.name}'", tensor)
                    raise
                data = parent.data
                try:
                    if contribution.shape != data.shape:
                        raise _wrong_shape(tensor, index, contribution, data)
                except AttributeError:
                    raise _not_a_gradient(tensor, index, contribution, data) from None
                dtype = data.dtype
                if contribution.dtype is not dtype and contribution.dtype != dtype:
                    contribution = _as_dtype(contribution, dtype, parent)
                key = id(parent)  # sum_over_consumers, inline
                if parent._primitive is None:  # a leaf: nothing below it to visit
                    entry = results.get(key)
                    results[key] = (
                        parent,
                        contribution if entry is None else entry[1] + contribution,
                    )
                    continue
                previous = running_total(key)
                if previous is not None:
                    totals[key] = previous + contribution
                    continue
                totals[key] = contribution  # the first consumer to send anything: it now waits
                if alone is None and not queue:
                    alone = parent
                else:
                    if alone is not None:
                        push(queue, (-alone._seq, alone))
                        alone = None
                    push(queue, (-parent._seq, parent))
            if not retain_graph:
                _release(tensor, released_by)
    except BaseException as error:  # a refusal, a rule's error, Ctrl-C: the nodes
        released_by.append(type(error).__name__)  # released so far say so (_release)
        raise
    return results


def _propagate(
    order: list[Tensor],
    totals: dict,
    targets: Sequence[Tensor] | None,
    retain_graph: bool,
    create_graph: bool,
    op: str,
) -> dict:
    """Send each tensor's complete total through its node's rules, in ``order``; return the
    totals of the leaves, or of ``targets`` (then only the nodes leading to one are visited)."""
    target_ids = None if targets is None else {id(t) for t in targets}
    on_path = None if target_ids is None else _ids_leading_to(order, target_ids)
    results: dict[int, tuple[Tensor, Any]] = {}
    checking = _anomaly_mode()
    take = totals.pop
    released_by = [op]  # this pass's record in each node it releases (_release)
    try:
        for tensor in order:
            key = id(tensor)
            if on_path is not None and key not in on_path:
                continue
            total = take(key, None)
            if total is None:
                continue
            leaf = tensor._primitive is None
            if leaf if target_ids is None else (key in target_ids):
                results[key] = (tensor, total)
            if leaf or tensor._inputs is None:  # a released target: no target lies below it
                continue
            if on_path is not None and not any(id(parent) in on_path for parent in tensor._inputs):
                # a target with no other target below it: its op sends nothing, so it neither
                # checks nor releases its node (``cr.gradient(loss, [h])`` leaves h's graph whole,
                # as torch.autograd.grad does)
                continue
            if tensor._seq < last_write:
                refuse_changed_inputs(tensor, op)
            node = Node(tensor)
            # Each input's rule turns this tensor's complete total into that input's contribution,
            # and the sum over consumers adds it to the input's running total. (Inline, not a
            # function per node: a call costs a training step more than its work here.)
            inputs = tensor._inputs
            rules = tensor._primitive.vjp
            params = rule_params(node, create_graph)
            args = (tensor, *inputs) if create_graph else (tensor.data, *map(_array, inputs))
            for index, parent in enumerate(inputs):
                if not parent.requires_grad or (on_path is not None and id(parent) not in on_path):
                    continue
                try:
                    rule = rules[index]
                except IndexError:
                    raise _no_rule(tensor, index, rules) from None
                try:
                    if checking:
                        contribution = _rule_checked(rule, node, total, args, params)
                        if not create_graph and isinstance(contribution, Tensor):
                            raise _tensor_from_rule(tensor, index, op)
                    else:
                        contribution = rule(total, *args, **params)
                except ValueError as error:
                    raise _wrote_in_place(tensor, index, error) from None
                except AttributeError:  # a.data = 5.0 on a plain tensor: named
                    _refuse_non_arrays(inputs, op, f" of '{node.op}'", tensor)
                    raise
                except TypeError as error:  # NumPy refusing the tensors a rule gets in tensor mode?
                    if create_graph and _numpy_refused_tensors(error):
                        refusal = _numpy_in_tensor_mode(tensor, index, error, op)
                        refusal.rule_refused_in_tensor_mode = True  # gradcheck reports it
                        raise refusal from error
                    raise
                data = parent.data
                try:
                    if contribution.shape != data.shape:
                        raise _wrong_shape(tensor, index, contribution, data)
                except AttributeError:
                    raise _not_a_gradient(tensor, index, contribution, data) from None
                if create_graph and not isinstance(contribution, Tensor):
                    refusal = _array_in_tensor_mode(tensor, index, contribution, op)
                    refusal.rule_refused_in_tensor_mode = True  # gradcheck reports it
                    raise refusal
                dtype = data.dtype
                if contribution.dtype is not dtype and contribution.dtype != dtype:
                    contribution = _as_dtype(contribution, dtype, parent)
                sum_over_consumers(totals, parent, contribution)
            if not retain_graph:
                _release(tensor, released_by)
    except BaseException as error:  # a refusal, a rule's error, Ctrl-C: the nodes
        released_by.append(type(error).__name__)  # released so far say so (_release)
        raise
    return results


def _no_rule(output: Tensor, index: int, rules: Any) -> BaseException:
    """The error for input ``index`` of ``output``'s op needing a gradient where the primitive
    has no rule for it (fewer rules than inputs); an IndexError the rule itself raised is
    re-raised as it was."""
    if not isinstance(rules, tuple) or index < len(rules):
        return sys.exc_info()[1]  # the rule's own IndexError
    node = Node(output)
    return TypeError(
        f"backward: '{node.op}'{node.where()} has {len(rules)} derivative rule"
        f"{'' if len(rules) == 1 else 's'} but input {index} needs a gradient: give the "
        "primitive one rule per input, or pass a value that is not differentiated by keyword"
    )


def _wrote_in_place(output: Tensor, index: int, error: ValueError) -> BaseException:
    """The error for a rule that wrote into a read-only array it was given (``g *= 2``): a
    cotangent may be shared (the seed of a one-element output, a broadcast view of another
    rule's), so it is read-only there and NumPy refuses the write with "output array is
    read-only", which names no op (marked ``rule_wrote_in_place``: gradcheck reports it as
    a failed check of that rule). Any other ValueError of a rule is re-raised as it was,
    marked with the rule that raised it (``raised_by_rule``: its node and input index), which
    gradcheck reports as a failed check of that rule; a pickle of the error leaves the mark
    out (a node holds the graph, which does not pickle: a worker process's error arrived as
    another error)."""
    if getattr(error, "rule_wrote_in_place", False):  # an inner pass's, already worded
        return error
    if "read-only" not in str(error):
        if not hasattr(error, "raised_by_rule"):  # the innermost rule: the one that raised
            mark_in_process(error, raised_by_rule=(Node(output), index))
        return error
    node = Node(output)
    refusal = ValueError(
        f"backward: the rule of '{node.op}'{node.where()} for input {index} wrote into an array "
        f"it was given ({error}): a cotangent may be shared with other rules, and a rule must "
        "not change the arrays it is given; return a new array (g * 2, not g *= 2)"
    )
    refusal.rule_wrote_in_place = True  # so gradcheck reports it as a failed check
    return refusal


def _not_a_gradient(output: Tensor, index: int, contribution: Any, data: Any) -> BaseException:
    """The error for a rule that returned no array for input ``index`` of ``output``'s op (None,
    from a missing ``return``, or a number). The engine asks a rule only for an input that needs
    a gradient, so None is not read as "no gradient": a rule with nothing to send sends zeros.
    An AttributeError of an array (another library's) is re-raised as it was."""
    if not hasattr(data, "shape"):  # the input's .data set to a number after the forward
        _refuse_non_arrays(output._inputs, "backward", f" of '{output._primitive.name}'")
    if hasattr(contribution, "shape"):
        return sys.exc_info()[1]
    node = Node(output)
    got = "None" if contribution is None else f"a {type(contribution).__name__}"
    refusal = TypeError(
        f"backward: the rule of '{node.op}'{node.where()} for input {index} returned {got}, "
        f"not a gradient: a rule returns its input's gradient, shaped like the input "
        f"{tuple(data.shape)} (zeros where the output does not depend on it); is a return "
        "missing?"
    )
    refusal.rule_sent_no_gradient = True  # so gradcheck reports it as a failed check
    return refusal


def _wrong_shape(output: Tensor, index: int, contribution: Any, data: Any) -> ShapeError:
    """The error for a rule that sent input ``index`` of ``output``'s op a gradient of another
    shape than the input's (a sum over a broadcast axis left out, or a kept axis dropped): added
    in, it would broadcast into a wrong total, or give a ``.grad`` of the wrong shape."""
    node = Node(output)
    refusal = ShapeError(
        f"backward: the rule of '{node.op}'{node.where()} for input {index} sent a gradient of "
        f"shape {tuple(contribution.shape)} for an input of shape {tuple(data.shape)}"
    )
    refusal.rule_sent_wrong_shape = True  # so gradcheck reports it as a failed check
    return refusal


def _array_in_tensor_mode(output: Tensor, index: int, contribution: Any, op: str) -> TypeError:
    """The error for a rule that returned a bare array for input ``index`` of ``output``'s op in
    tensor mode (``create_graph``: the gradients are differentiated again, by ``hessian``,
    ``jvp`` or ``gradcheck(order=2)``). An array records nothing, so the derivative through it
    would be silently 0 (added to a tensor, it joins as a constant), or it surfaced where a
    tensor was due, far from the rule ("the function must return tensors")."""
    node = Node(output)
    return TypeError(
        f"{op}: the rule of '{node.op}'{node.where()} for input {index} returned a "
        f"{type_name(contribution)} in tensor mode {_TENSOR_MODE_RULES}"
    )


def _tensor_in_data(tensor: Tensor, what: str) -> str:
    """The refusal of ``tensor``, whose ``.data`` holds a Tensor (``w.data = w.data - lr *
    w.grad`` on a plain tensor stores one: ``.grad`` is a tensor); ``what`` names it."""
    return (
        f"{what} (shape {tuple(tensor.shape)}{name_clause(tensor)}) holds a Tensor in its .data, "
        "not an array, as w.data = w.data - lr * w.grad stores one (.grad is a tensor): update "
        "it in place under no_grad (with cr.no_grad(): w -= lr * w.grad), or assign an array "
        "(w.data = w.data - lr * w.grad.data)"
    )


#: What a rule must return in the array mode, said by both refusals of a tensor there
_ARRAY_MODE_RULES = (
    "in the array mode (backward, and any gradient not differentiated again) a rule gets "
    "arrays and must return one: build it with operators and primitives, which compute on "
    "arrays and record on tensors (cr.REGISTRY['sigmoid'](x) for cr.sigmoid(x)), not with "
    "chainrule's public functions (cr.sigmoid, cr.exp), which always return tensors"
)


def _tensor_from_rule(output: Tensor, index: int, op: str) -> TypeError:
    """The refusal of a rule that returned a Tensor in the array mode (a custom primitive's
    rule calling ``cr.sigmoid``), found under anomaly mode, where each rule's result is
    checked; elsewhere :func:`_tensor_reached` finds it where the total reaches a leaf."""
    node = Node(output)
    for position, parent in enumerate(output._inputs or ()):
        if isinstance(parent.data, Tensor):  # the rule read a Tensor, not an array
            return TypeError(_tensor_in_data(parent, f"{op}: input {position} of '{node.op}'"))
    return TypeError(
        f"{op}: the rule of '{node.op}'{node.where()} for input {index} returned a Tensor, not "
        f"an array: {_ARRAY_MODE_RULES}"
    )


def _tensor_reached(leaf: Tensor, op: str) -> TypeError:
    """The refusal of a gradient total that is a Tensor where an array was due (it met no
    check before: an attribute of arrays it lacked, ``.base``). The error path alone: either
    the leaf's ``.data`` holds a Tensor, or a rule returned one."""
    if isinstance(leaf.data, Tensor):
        return TypeError(_tensor_in_data(leaf, f"{op}: a leaf"))
    return TypeError(
        f"{op}: the gradient of a leaf (shape {tuple(leaf.shape)}{name_clause(leaf)}) came "
        f"back as a Tensor, not an array: a derivative rule returned a Tensor. A rule of a "
        f"primitive of one's own is the likely one: {_ARRAY_MODE_RULES}. Run the backward "
        "under cr.detect_anomaly() to name the rule"
    )


#: What tensor mode is and what a rule must do in it, said by each refusal of a rule there
_TENSOR_MODE_RULES = (
    "(create_graph: its result is differentiated again, as hessian, jvp and gradcheck(order=2) "
    "do); in tensor mode a rule must build its result from tensors (g, out, inputs) with "
    "chainrule's ops, not from their arrays (array_of(g), g.data, NumPy functions)"
)


def _numpy_refused_tensors(error: TypeError) -> bool:
    """Whether ``error`` is NumPy refusing a tensor: a ufunc's (``np.exp(z)``: a Tensor sets
    ``__array_ufunc__ = None``) or ``Tensor.__array__``'s, which marks its refusal."""
    return hasattr(error, "refused_tensor") or "does not support ufuncs" in str(error)


def _numpy_in_tensor_mode(output: Tensor, index: int, error: TypeError, op: str) -> TypeError:
    """The error for a rule that called a NumPy function on the tensors it gets in tensor mode
    (``g * np.exp(-z)``): right on arrays, so gradcheck passed it, it failed in hessian, jvp
    and gradcheck(order=2) with NumPy's words alone, which name neither the rule nor the op."""
    node = Node(output)
    return TypeError(
        f"{op}: the rule of '{node.op}'{node.where()} for input {index} called a NumPy function "
        f"on tensors in tensor mode {_TENSOR_MODE_RULES}: cr.exp(z) for np.exp(z), g @ b for "
        f"np.dot(g, b). NumPy said: {error}"
    )


#: Why complex numbers may pass through a forward pass but never carry a gradient: the rules
#: are written for real inputs (``mul`` sends ``g * b``, not ``g * conj(b)``), so a complex
#: gradient would mix conventions and come out silently wrong.
COMPLEX_FORWARD_ONLY = (
    "complex numbers are forward-only in chainrule (a complex step works; gradients through "
    "complex values do not)"
)


def _as_dtype(contribution: Any, dtype: Any, parent: Tensor) -> Any:
    """A contribution in its input's dtype: float32 * float64 sends a float32 input float64,
    and its gradient stays float32. A complex one for a real input (a real tensor made complex
    on the way to the loss) is refused: see :data:`COMPLEX_FORWARD_ONLY`; so is any for an
    input that is not floating (cast, it would be truncated, 0.3 -> 0, silently)."""
    data = array_of(contribution)
    xp = array_module(data)
    if backend.is_complex(data.dtype, xp):
        raise TypeError(
            f"backward: a {contribution.dtype} gradient reached a {dtype} tensor: "
            f"{COMPLEX_FORWARD_ONLY}"
        )
    if not backend.is_floating(dtype, xp):
        raise _not_floating(parent, contribution.dtype)
    if hasattr(contribution, "astype"):
        return contribution.astype(dtype)
    return backend.astype(contribution, dtype)


def _not_floating(tensor: Tensor, gradient_dtype: Any) -> TypeError:
    """The refusal of a gradient for ``tensor``, whose dtype is not real floating point: the
    one way there is ``.data`` set to other values after ``requires_grad_`` (which refuses
    them), as ``w.data = np.array([[1, -1]])``. PyTorch refuses that assignment itself; here
    ``data`` is a plain field (a property would cost every op), so backward refuses."""
    data = tensor.data
    which = f"shape {tuple(data.shape)}{name_clause(tensor)}"
    return TypeError(
        f"backward: a {backend.dtype_name(gradient_dtype)} gradient reached a tensor of "
        f"{backend.dtype_name(data.dtype)} that requires a gradient ({which}): "
        f"only real floating-point tensors have one ({_give_floats(data, 'its')})"
    )


def _give_floats(data: Any, whose: str) -> str:
    """What to do about a tensor of ``data`` that needs a gradient but is not real floating
    (``whose`` .data to look at: "its", or "an input's")."""
    xp = array_module(data)
    if backend.is_complex(data.dtype, xp):
        return COMPLEX_FORWARD_ONLY
    floats = backend.dtype_name(backend.default_float(xp, data))  # JAX without x64: float32
    return (
        f"was {whose} .data set to {backend.dtype_name(data.dtype)} values, as "
        "w.data = np.array([[1, -1]])? give floats: np.array(..., dtype=float), or "
        f".astype('{floats}')"
    )


def _refuse_not_floating_output(output: Tensor) -> None:
    """Refuse to seed a backward from ``output`` unless its dtype is real floating point: its
    seed, and so every gradient below it, would be in that dtype (integers from integer
    leaves: ``x @ w`` of integer arrays gave an integer ``w.grad`` that no optimizer could
    apply). Once per output, not per op; the error names the leaf whose values are to blame."""
    data = output.data
    if backend.is_real_floating(data.dtype, array_module(data)):
        return
    dtype = backend.dtype_name(data.dtype)
    refusal = (
        f"backward: the output differentiated is {dtype} (shape {tuple(data.shape)}"
        f"{name_clause(output)}), so every gradient below it would be {dtype}: only real "
        "floating-point tensors have one"
    )
    leaf = _first_not_floating_leaf(output)
    if leaf is None:  # the output's own values, as a complex one of real leaves
        advice = _give_floats(data, "an input's")
        raise TypeError(f"{refusal} ({advice})")
    raise TypeError(
        f"{refusal}. A leaf of {backend.dtype_name(leaf.data.dtype)} (shape "
        f"{tuple(leaf.data.shape)}{name_clause(leaf)}) requires a gradient "
        f"({_give_floats(leaf.data, 'its')})"
    )


def name_clause(tensor: Tensor) -> str:
    """``, named 'w'`` where the tensor has a name (a parameter's), else nothing."""
    return f", named '{tensor.name}'" if tensor.name else ""


def constant_output_error(out: Tensor, op: str, what: str, to: str = "the inputs") -> RuntimeError:
    """The refusal to differentiate ``out``, which does not require a gradient: no recorded
    path leads from it to ``to`` (what is differentiated), so how it depends on them is
    unknown. Zeros would be right only where it does not (a loss computed under ``no_grad``
    depends on them all the same). The one wording of ``backward`` (``what`` "this tensor",
    ``to`` "any leaf") and of ``cr.gradient`` (``what`` "output 0").

    A derivative taken without ``create_graph=True`` and differentiated again (``g, =
    cr.gradient(u.sum(), [X]); cr.gradient(g[:, 0].sum(), [X])``, a PINN's second derivative)
    is among the causes named, not told apart: ``g`` is a constant, and so is every op's
    output computed from it, which records nothing that leads back to ``g`` (marking it would
    cost every op a look)."""
    why = (
        f"{op}: {what} (shape {out.shape}{name_clause(out)}) does not require a gradient: it "
        "was computed under no_grad, from detached tensors (.detach(), .data), from no "
        "tensor that requires a gradient, or from a derivative taken without "
        "create_graph=True (a result of cr.gradient or cr.grad, or a .grad, is then a "
        "constant: pass create_graph=True to the first derivative to differentiate it again), "
        "or it is a derivative that came out constant (the gradient of a linear function), so "
        f"the engine recorded no path from it to {to} and zeros would be a silent wrong answer "
        "where it depends on them"
    )
    if not is_grad_enabled():  # the likeliest cause, seen from here
        why += f" (recording is off where {op} is called: inside no_grad?)"
    if not backend.is_real_floating(out.dtype, out.xp):  # a count, a label, an argmax
        return RuntimeError(
            f"{why}; and it is {backend.dtype_name(out.dtype)}, which has no gradient: only "
            "real floating-point outputs do"
        )
    return RuntimeError(
        f"{why}; compute it outside no_grad, from tensors created with requires_grad=True (the "
        "inputs, or the leaves they are computed from); a constant derivative's own derivative "
        "is 0, as cr.hessian and cr.jacobian give it"
    )


def _first_not_floating_leaf(output: Tensor) -> Tensor | None:
    """A leaf below ``output`` that requires a gradient but is not real floating (for the
    error only: the walk is not done on the way to a gradient)."""
    for tensor in reverse_topological_order([output]):
        data = tensor.data
        if tensor._primitive is None and not backend.is_real_floating(
            data.dtype, array_module(data)
        ):
            return tensor
    return None


def _refuse_not_floating_totals(entries: Any) -> None:
    """Refuse the ``(tensor, total)`` entries of a pass where a total is not real floating
    (an integer leaf's, whose contributions were integers too, so no cast met it). Once per
    leaf at the end of the pass, not per op."""
    for tensor, total in entries:
        data = array_of(total)
        if not backend.is_real_floating(data.dtype, array_module(data)):
            raise _not_floating(tensor, data.dtype)


def rule_params(node: Node, recording: bool) -> dict:
    """The keyword arguments of ``node``'s rules: its parameters, and its saved value if the
    primitive saves one (an array: on tensors, ``recording``, the rule gets None and recomputes)."""
    if not node.primitive.saves:
        return node.params
    return {**node.params, "saved": None if recording else node.saved}


def _rule_checked(rule: Any, node: Node, cotangent: Any, args: tuple, params: dict) -> Any:
    """Run a rule with the per-op forward check off, then check its result as ``node``'s backward.

    The ops inside a rule (the ``div`` in sqrt's ``g / (2 * out)``) would otherwise report the
    NaN under their own name and the line of ``backward()``, not the op the user wrote. The
    rule gets read-only views of its arrays, so a write into one is named too. NumPy's
    floating-point warnings (``divide by zero encountered in divide``) are silenced while it
    runs: the check of its result is the report, and NumPy's line, printed before it, named
    chainrule's rule, not the user's op.
    """
    mode.detect_anomaly = False
    outer_origin = mode.rule_origin
    origin = node.origin
    mode.rule_origin = f"{origin}, in the backward of {node.op}" if origin else None
    try:
        # every array read-only: a rule writing into one it shares (the array add's rule sends
        # both inputs) changed another gradient unseen; here _wrote_in_place names it
        params = {key: _read_only(value) for key, value in params.items()}  # saved= too
        with numpy.errstate(divide="ignore", over="ignore", invalid="ignore"):
            contribution = rule(_read_only(cotangent), *map(_read_only, args), **params)
    finally:
        mode.detect_anomaly = True
        mode.rule_origin = outer_origin
    if hasattr(contribution, "shape"):  # not an array: the caller names it (_not_a_gradient)
        # a NaN (Inf) that came in with the cotangent, the op's output, inputs (args) or saved
        # values is passed on, not produced; 0 * -inf (mul's rule at a masked entry) is produced
        given = (cotangent, *args)
        what, leaves = f"{node.op}: backward produced", node.inputs or ()
        # its leaves and constants: the node's own inputs and parameters (not its saved values)
        _check_finite(array_of(contribution), what, node, given, params, leaves, node.params)
    return contribution


def _read_only(array: Any) -> Any:
    """A writable NumPy array as a read-only view of it (a view: its memory is not copied);
    anything else (a tensor, another library's array) as it is."""
    if type(array) is numpy.ndarray and array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


def _as_owned(
    results: dict, seeds: list, create_graph: bool, op: str = "backward"
) -> dict[int, tuple[Tensor, Tensor]]:
    """The totals as tensors, each owning its memory (wrapped, for the array mode).

    A rule may pass its cotangent straight through (``a + b`` sends the same array to both), and
    broadcasting backward can give a read-only view (of a seed, or of a shared constant): an
    optimizer updating one ``.grad`` in place must not change another, nor the caller's
    ``gradient=`` array, and must be able to write at all. Only such totals are copied, in both
    modes; with ``create_graph`` the copy of a recorded total is recorded too (``total * 1``,
    bit for bit the same values), so it can still be differentiated.
    """
    if create_graph:
        return _as_owned_recorded(results, seeds)
    first = seeds[0] if seeds else None
    if type(first) is not numpy.ndarray and array_module(first) is not numpy:
        return _as_owned_copies(results)
    return dict(zip(results, _owned_arrays(results.values(), seeds, op)))


def _owned_arrays(
    entries: Any, seeds: Sequence[Any], op: str = "backward"
) -> list[tuple[Tensor, Tensor]]:
    """:func:`_as_owned` for the array mode, every training step's: ``(tensor, total)`` entries
    in, ``(tensor, total wrapped)`` out, a total copied where it shares a seed's memory or
    another total's, or is read-only. Inline, no call per leaf beyond a copy: this runs right
    after the step's last matrix product, at cold caches. ``op`` names the pass in a refusal."""
    owners = set()
    for seed in seeds:
        owners.add(id(_owner(seed)))
    owned = []
    for tensor, total in entries:
        if type(total.dtype) not in _NUMPY_REAL_FLOATS:  # an integer leaf's: refused
            raise _not_floating(tensor, total.dtype)
        try:
            base = total.base
        except AttributeError:  # a Tensor, where every rule gives an array (free in 3.11)
            raise _tensor_reached(tensor, op) from None
        owner = id(total if base is None else base)
        if owner in owners or not total.flags.writeable:
            total = array_module(total).array(total)
            owner = id(total)
        owners.add(owner)
        wrapped = _new(Tensor)  # Tensor._wrap's fields, set here
        wrapped.data = total
        wrapped.requires_grad = False
        wrapped._grad = wrapped._primitive = wrapped.name = None
        owned.append((tensor, wrapped))
    return owned


def _as_owned_recorded(results: dict, seeds: list) -> dict[int, tuple[Tensor, Tensor]]:
    """:func:`_as_owned` for ``create_graph``: the totals are tensors, each must be its own."""
    _refuse_not_floating_totals(results.values())
    owners = {id(_owner(seed.data)) for seed in seeds}
    claimed = {id(seed) for seed in seeds}
    owned = {}
    for key, (tensor, total) in results.items():
        data = total.data
        flags = getattr(data, "flags", None)
        shared = id(_owner(data)) in owners or id(total) in claimed
        if shared or (flags is not None and not flags.writeable):
            # a recorded copy (``* 1``, the same bits) keeps a differentiable gradient so
            total = total * 1 if total.requires_grad else _wrap(_copy(data))
        owners.add(id(_owner(total.data)))
        claimed.add(id(total))
        owned[key] = (tensor, total)
    return owned


def _copy(array: Any) -> Any:
    """A copy of ``array`` that owns its memory, in its own library and device."""
    return array_module(array).asarray(array, copy=True)


def _owner(array: Any) -> Any:
    """The array that owns ``array``'s memory: itself, or the one it is a view of."""
    base = getattr(array, "base", None)
    return array if base is None else base


def _as_owned_copies(results: dict) -> dict[int, tuple[Tensor, Tensor]]:
    """The totals of another array library, each copied: the standard has no ``.base`` to tell
    a view or a shared array from a fresh one (a copy on the device is cheap beside the step)."""
    _refuse_not_floating_totals(results.values())
    wrapped = {}
    for key, (tensor, total) in results.items():
        xp = array_module(total)
        wrapped[key] = (tensor, _wrap(xp.asarray(total, copy=True)))
    return wrapped


def _ids_leading_to(order: list[Tensor], target_ids: set[int]) -> set[int]:
    """The ids of the tensors in ``order`` that lie on a path to one of the targets."""
    on_path: set[int] = set()
    for tensor in reversed(order):  # inputs before their consumers
        if id(tensor) in target_ids or (
            tensor._primitive is not None and any(id(p) in on_path for p in tensor._inputs)
        ):
            on_path.add(id(tensor))
    return on_path
