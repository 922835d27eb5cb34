"""Function transforms: ``gradient``, ``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacobian``,
``hessian`` and ``hvp``.

They never touch ``.grad``. Arguments may be tensors, arrays, numbers, or nested tuples, lists and
dicts of them (a dict keeps its keys' order, as torch.func keeps it: ``grad(f)(params)``
returns the gradients in ``params``' order, so ``.values()`` of both pair up; tangents and
cotangents pair with primals and outputs by key, whatever their order);
``None`` holds nothing (it reaches the function as None, and its gradient is None, as in JAX).
An integer or boolean array or tensor to differentiate is refused (an index or a label cast to
floats would compute something else); a Python number is read as a float, and a list is a
container like a tuple (``grad(f)([1.0, 2.0])`` passes two numbers: a vector is an array or
``cr.tensor``; an op given such a list whole, ``x @ W``, raises a ``TypeError`` saying that the
list was taken as scalars, also where the op runs in the function's helpers and one of them wraps
the refusal in an error of its own; so does the ``AttributeError`` of a list of its items used as
a tensor, ``(x * 2).sum()``, where Python's ``*`` repeats the list).
:func:`~chainrule.gradcheck` differs: one array, or nested list of numbers, per argument. An
argument to differentiate that is not numbers (a string, an object) raises a ``TypeError`` naming
the transform and the argument (``grad: argument 0 is str 'abc', not numbers``): close over it
instead. ``argnums`` names at least one argument, each once, by
integer: ``argnums=()`` (nothing to differentiate) and ``argnums=True`` (a bool, though
``True == 1``) are refused when the transformed function is called. A function that returns no
tensor (None, from a missing ``return``, or ``()``) is refused, naming the transform; None beside
a tensor in an output, ``(y, None)``, is kept. Errors name the transform called
(``value_and_grad: ...``).
The variable a transform makes for an argument it differentiates owns its array, as
``cr.tensor(a)`` does: an array or tensor is copied once per call (not per row of a Jacobian),
so ``f`` writing ``x.data[...]``, an update in place under ``no_grad``, or a write into a
variable, output or aux kept after the call never changes the caller's array or its tensor's
(JAX never changes an argument either). An argument not differentiated reaches ``f`` as it is,
as in a plain call.
Results are differentiable whenever they depend on a tensor that requires a gradient from outside
the transform: an argument, one the function closes over (an outer transform's variable), a
tangent or a cotangent. So transforms nest: ``hessian(f)`` is ``jacobian(grad(f))``, and
``grad(lambda x: x * grad(lambda y: x * y)(1.0))`` is 2x. Under ``no_grad`` a transform still
computes its derivative, but its results are constants, as torch.func's are under
``torch.no_grad``. A function whose output depends on none of the variables a transform made
but on the very tensors given as the argument is refused, naming ``nn.functional_call``: its
derivative would be all zeros, where torch.func gives them silently, and the cause is a module's
own parameters, ``grad(lambda p: loss(net(X)))(dict(net.named_parameters()))`` (``net(X)``
reads them whatever ``p`` holds); one that depends on other tensors that require a gradient
gets a ``ZeroDerivativeWarning`` (the same slip, or an argument entering through comparisons,
masks or ``detach`` alone, whose zeros are right). Tensors given as arguments not
differentiated, an outer transform's variables, and a function that differentiates inside (a
Hessian of a function linear in x with parameters as its coefficients) give zeros silently.

Forward mode (``jvp``) is computed by transposition rather than by a second set of rules: the
reverse pass ``u -> J^T u`` is linear in ``u``, so differentiating it with respect to ``u`` along
``v`` gives ``J v``. It costs about two reverse passes and needs no jvp rule per primitive.
"""

from __future__ import annotations

import numbers
import operator
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, overload

import numpy as np

from chainrule import backend
from chainrule.creation import own_copy
from chainrule.engine import (
    backward_pass,
    constant_output_error,
    enable_grad,
    is_grad_enabled,
    name_clause,
    number_new_leaf,
)
from chainrule.errors import (
    ShapeError,
    ZeroDerivativeWarning,
    counted,
    type_name,
    user_stacklevel,
)
from chainrule.ops.shape import _reshape
from chainrule.tensor import ArrayLike, Tensor

__all__ = [
    "grad",
    "gradient",
    "hessian",
    "hvp",
    "is_ended_transform_variable",
    "is_transform_variable",
    "jacobian",
    "jvp",
    "numbers_like",
    "other_library_array",
    "tree_flatten",
    "tree_unflatten",
    "value_and_grad",
    "vjp",
]

#: The types the transforms' annotations keep (a type checker sees ``grad(f)`` take ``f``'s
#: arguments): ``f``'s other parameters, its output, its ``has_aux`` auxiliary output.
_Params = ParamSpec("_Params")
_Out = TypeVar("_Out")
_Aux = TypeVar("_Aux")
#: What a transform takes for an argument that ``f`` takes as one tensor (a tensor, an array or
#: a number: ``f`` gets it as a tensor, and its derivative is one); an argument ``f`` takes
#: nested (a tuple, list or dict) has its derivatives nested alike, which the annotations leave
#: Any.
_Variable = Tensor | ArrayLike

# ---------------------------------------------------------------------------------------------
# Nested containers of tensors ("pytrees")
# ---------------------------------------------------------------------------------------------


#: The description of ``None`` in a tree: a subtree with no leaves (as in JAX), so an optional
#: argument left None reaches ``f`` as None and its gradient is None.
_NO_LEAVES = ("None",)


def tree_flatten(tree: Any) -> tuple[list[Any], Any]:
    """The leaves of nested tuples/lists/dicts, and a description to rebuild the nesting.
    ``None`` holds no leaves: it is rebuilt as None."""
    if tree is None:
        return [], _NO_LEAVES
    if isinstance(tree, (tuple, list)):
        leaves, shapes = [], []
        for item in tree:
            sub_leaves, sub_def = tree_flatten(item)
            leaves.extend(sub_leaves)
            shapes.append((len(sub_leaves), sub_def))
        return leaves, (type(tree), shapes)
    if isinstance(tree, dict):  # in its own key order, which tree_unflatten rebuilds
        keys = list(tree)
        leaves, treedef = tree_flatten([tree[k] for k in keys])
        return leaves, (dict, keys, treedef)
    return [tree], None


def _in_order_of(tree: Any, treedef: Any) -> Any:
    """``tree`` with each dict's items put in the key order of the dict that ``treedef`` has
    there (one with other keys kept as it is, for the nesting check to name): a tangent or
    cotangent dict pairs with its primal or output dict by key, whatever order its keys were
    inserted in."""
    if treedef is None or treedef is _NO_LEAVES:
        return tree
    if treedef[0] is dict:
        _, keys, (_, shapes) = treedef
        if not isinstance(tree, dict) or tree.keys() != set(keys):
            return tree
        return {k: _in_order_of(tree[k], sub) for k, (_, sub) in zip(keys, shapes)}
    if not isinstance(tree, (tuple, list)) or len(tree) != len(treedef[1]):
        return tree
    return [_in_order_of(item, sub) for item, (_, sub) in zip(tree, treedef[1])]


def tree_unflatten(treedef: Any, leaves: Sequence[Any]) -> Any:
    """Rebuild the nesting that :func:`tree_flatten` described, with new leaves."""
    if treedef is None:
        return leaves[0]
    if treedef is _NO_LEAVES:
        return None
    if treedef[0] is dict:
        _, keys, inner = treedef
        return dict(zip(keys, tree_unflatten(inner, leaves)))
    kind, shapes = treedef
    items, start = [], 0
    for count, sub_def in shapes:
        items.append(tree_unflatten(sub_def, leaves[start : start + count]))
        start += count
    return kind(*items) if hasattr(kind, "_fields") else kind(items)  # a namedtuple by fields


# ---------------------------------------------------------------------------------------------
# The core: gradients of outputs with respect to chosen inputs
# ---------------------------------------------------------------------------------------------


def gradient(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    cotangents: Any = None,
    *,
    retain_graph: bool | None = None,
    create_graph: bool | None = None,
    op: str = "gradient",
) -> list[Tensor]:
    """sum_k cotangent_k . d(output_k)/d(input) for each input, without touching ``.grad``.

    Each output must require a gradient: one that does not (a loss computed under ``no_grad``,
    from a detached tensor, or from no tensor that requires a gradient; a derivative taken
    without ``create_graph=True``, or the gradient of a linear function, differentiated again)
    is refused with a ``RuntimeError`` naming it, as
    ``torch.autograd.grad`` refuses it: the engine recorded no path from it to the inputs, so
    zeros would be a silent wrong answer where it depends on them. The transforms differ, as
    torch.func's do: ``jacobian(lambda x: c)`` and ``hessian`` of a linear function are zeros,
    since there the output is constant in the variables the transform made.

    Each input must require a gradient: one that does not (a tensor made without
    ``requires_grad=True``, or computed only from such tensors or under ``no_grad``) is refused
    with a ``RuntimeError`` naming it, as ``torch.autograd.grad`` refuses it, since the engine
    recorded no path through it and cannot say how the outputs depend on it (zeros would be a
    silent wrong answer where they do). Make it, or the leaves it is computed from, with
    ``requires_grad=True`` before computing the outputs. An input that requires a gradient but
    that the outputs were not computed from gets zeros (torch's ``materialize_grads=True``; its
    default refuses such an input unless ``allow_unused=True``, then gives None), with a
    :class:`~chainrule.errors.ZeroDerivativeWarning` naming it (position and shape) where it
    is most likely a slip: any input made after the outputs, and, where no input is reached
    (every gradient zeros: the rule of ``cr.grad``), every input. A slice taken after the
    forward is a new tensor (``x = X[:, 0:1]`` after ``u = net(X)``:
    ``cr.gradient(u.sum(), [x])``); slice before the forward and compute the outputs from the
    slice, or take the gradient with respect to ``X`` and slice it
    (``cr.gradient(u.sum(), [X])[0][:, 0:1]``). So is a tensor whose numbers, not the tensor
    itself, were fed to the computation. An input made before the outputs and not reached
    while another input is (a parameter this forward did not use, an activation that a loss
    from logits does not read) gets its zeros silently, as in ``cr.grad``; so does an input of
    an output computed from a derivative taken with ``create_graph=True`` (``u_xx`` of a
    function linear in ``x``, or piecewise linear as a relu network is, is rightly 0, as
    ``cr.hessian`` gives it), unless it was made from a tensor the output read (that slice of
    ``X``). The zeros are right too where the input enters only through comparisons, masks or
    ``detach``: filter the warning there.

    Without ``cotangents`` each output must be a scalar; with them, one cotangent per output,
    shaped like it. With ``create_graph`` the results are themselves differentiable (and the
    graph is kept, since the results point into it). Left None, it is on only where a transform
    running now differentiates through the results (``grad(lambda x: cr.gradient(f(x),
    [x])[0].sum())``: as constants, the outer derivative through them would be silently 0; a
    ``cr.gradcheck`` of such a function too);
    ``False`` gives constants, as ``torch.autograd.grad`` does. ``op`` names the transform in
    error messages.
    """
    return _gradient(
        outputs,
        inputs,
        cotangents,
        retain_graph,
        create_graph,
        op,
        constants_give_zeros=False,
        warn_unreached=True,
    )


def _gradient(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    cotangents: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool | None = None,
    op: str = "gradient",
    *,
    constants_give_zeros: bool = True,
    unread: Callable[[list[Tensor]], None] | None = None,
    warn_unreached: bool = False,
) -> list[Tensor]:
    """:func:`gradient`, and the transforms' way in: with ``constants_give_zeros`` an output
    that does not require a gradient sends nothing back (every input gets zeros where no output
    does) rather than being refused. A transform's output that does not require a gradient
    is constant in the variables the transform made for it (``jacobian(lambda x: c)``, an
    ``f`` computing under ``no_grad``, the constant J^T u of a linear ``f`` differentiated
    again): its derivative is 0, as torch.func gives, not a slip to refuse. ``unread`` is
    called with the outputs where they require a gradient but the pass reached no input (every
    gradient is zeros, though the outputs depend on some other tensor that requires one): a
    transform's :meth:`_Traced.refuse_unread`, at no cost where any input is reached.
    ``warn_unreached`` (:func:`gradient`'s) warns of the inputs no output reaches that are
    surely a slip (:func:`_warn_unreached`)."""
    _running.passes += 1  # a transform's f that differentiates inside (_Traced)
    if isinstance(outputs, Tensor) or hasattr(outputs, "shape") or not _iterable(outputs):
        # one output: a tensor, or an array or a number taken out of the graph (refused, named)
        outputs = [outputs]
    outputs = list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for k, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{op}: input {k} is a {type(x).__name__}, not a Tensor; a gradient is taken "
                "with respect to the tensors the outputs were computed from"
            )
        if not x.requires_grad:
            raise _untracked_input(x, op, k)
    for k, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(
                f"{op}: output {k} is not a Tensor but {type_name(out)}; differentiate the "
                "tensor it was taken from (.item() and float() leave the graph)"
            )
        if not (out.requires_grad or constants_give_zeros):
            raise constant_output_error(out, op, f"output {k}")
    if cotangents is None:
        cotangents = [_scalar_seed(out, op, k) for k, out in enumerate(outputs)]
    elif isinstance(cotangents, Tensor) or not isinstance(cotangents, (list, tuple)):
        cotangents = [cotangents]
    if len(cotangents) != len(outputs):
        raise ValueError(f"{op}: got {len(cotangents)} cotangents for {len(outputs)} outputs")
    seeds = [_as_cotangent(c, out, op, k) for k, (c, out) in enumerate(zip(cotangents, outputs))]
    if create_graph is None:
        create_graph = _reaches_running(outputs + seeds)
    live = [(out, seed) for out, seed in zip(outputs, seeds) if out.requires_grad]
    totals = {}
    if live:
        totals = backward_pass(
            [out for out, _ in live],
            [seed for _, seed in live],
            targets=inputs,
            retain_graph=create_graph if retain_graph is None else retain_graph,
            create_graph=create_graph,
            op=op,
        )
        if unread is not None and not any(id(x) in totals for x in inputs):
            unread([out for out, _ in live])
    results, given, unreached = [], set(), []
    for k, x in enumerate(inputs):
        if id(x) in totals:
            total = totals[id(x)][1]
        else:
            total = _zeros_like(x)
            unreached.append(k)
        if id(x) in given:  # the same input twice: two gradients, not one object twice
            total = total * 1
        given.add(id(x))
        if create_graph and total.requires_grad:  # a derivative: _graph_read
            _DERIVATIVES[id(total)] = total
        results.append(total)
    if warn_unreached and unreached and live:
        _warn_unreached(inputs, unreached, [out for out, _ in live], op)
    return results


def _warn_unreached(
    inputs: Sequence[Tensor], unreached: list[int], outputs: Sequence[Tensor], op: str
) -> None:
    """Warn (:class:`~chainrule.errors.ZeroDerivativeWarning`) of the inputs of a ``gradient``
    call that ``outputs`` do not reach, whose gradients are zeros. Where some input is reached,
    only those made after every output (numbered later in the order ops ran), which no output
    can have been computed from: a leaf made before them and not reached, a parameter this
    forward did not use, is left silent, as ``cr.grad`` leaves it, and so is a tensor computed
    beside the outputs (an activation a loss from logits does not read). Where none is
    reached (``cr.grad``'s rule, :meth:`_Traced.refuse_unread`), every input, save those of
    outputs computed from a derivative (``u_xx`` of a function linear in ``x`` is rightly 0,
    as a transform's ``f`` that differentiates inside) or from a released graph (what they
    read is unknown), unless the input was made from a tensor the outputs read (a slice of
    ``X`` taken after ``u = net(X)``). Runs only where an input is unreached."""
    newest = max((out._seq for out in outputs if out._seq is not None), default=None)
    apart = [  # made after every output: none can have been computed from them
        k
        for k in unreached
        if newest is not None and inputs[k]._seq is not None and inputs[k]._seq > newest
    ]
    unread = []  # the outputs depend on none of these, nor on what they were made from
    if len(unreached) == len(inputs):
        read, from_derivative = _graph_read(outputs)
        apart += [  # made from a tensor the outputs read, beside them (a slice of X)
            k for k in unreached if k not in apart and _made_from(inputs[k], read) is not None
        ]
        if not from_derivative:
            unread = [k for k in unreached if k not in apart]
    if not (apart or unread):
        return
    slices = [k for k in apart if _made_by(inputs[k]) == "getitem"]
    made = [k for k in apart if k not in slices and inputs[k]._primitive is not None]
    leaves = [k for k in apart if inputs[k]._primitive is None]
    causes = []
    if slices:
        causes.append(
            f"{_inputs_named(inputs, slices)} {_is(slices)} a slice the outputs were not "
            "computed from (a slice taken after the forward, or beside it, is a new tensor); "
            "slice the input before the forward and compute the outputs from the slice, or "
            "slice the gradient: cr.gradient(u.sum(), [X])[0][:, 0:1]"
        )
    if made:
        ops = ", ".join(sorted({f"'{_made_by(inputs[k])}'" for k in made}))
        causes.append(
            f"{_inputs_named(inputs, made)}, made by {ops} apart from the computation of the "
            f"outputs, {_is(made)} new: the outputs were not computed from it; make it before "
            "them and compute the outputs from it, or take the gradient with respect to the "
            "tensor it was made from"
        )
    if leaves:
        causes.append(
            f"{_inputs_named(inputs, leaves)} {_is(leaves)} made after the outputs, a new "
            "tensor; compute the outputs from it"
        )
    if unread:
        causes.append(
            f"the outputs do not depend differentiably on {_inputs_named(inputs, unread)}: a "
            "tensor whose numbers (not the tensor itself) were fed to the computation, through "
            ".numpy(), .data, np.asarray or a new cr.tensor, is a new tensor; compute the "
            "outputs from the tensor itself. Where an input enters only through comparisons, "
            "masks or detach, the zeros are right: filter ZeroDerivativeWarning"
        )
    warnings.warn(
        f"{op}: the gradient is all zeros for {counted(len(apart) + len(unread), 'input')} "
        f"that no output reaches: {'; '.join(causes)}",
        ZeroDerivativeWarning,
        stacklevel=user_stacklevel(),
    )


def _inputs_named(inputs: Sequence[Tensor], indices: list[int]) -> str:
    """``input 0 (shape (5, 1))`` or ``inputs 0 (shape (2, 3)) and 1 (shape (3,))``."""
    shown = [f"{k} (shape {inputs[k].shape}{name_clause(inputs[k])})" for k in indices]
    if len(shown) == 1:
        return f"input {shown[0]}"
    return f"inputs {', '.join(shown[:-1])} and {shown[-1]}"


def _is(indices: list[int]) -> str:
    return "is" if len(indices) == 1 else "are"


def _made_by(tensor: Tensor) -> str | None:
    """The name of the op that made ``tensor`` (None for a leaf)."""
    return None if tensor._primitive is None else tensor._primitive.name


#: The results of the gradient passes that recorded their own graph (``create_graph``), by id:
#: an output computed from one is a derivative, whose own derivative may rightly be zero
#: everywhere (:func:`_graph_read`). Weak: it keeps no result alive.
_DERIVATIVES: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()


def _graph_read(outputs: Sequence[Tensor]) -> tuple[set[int], bool]:
    """The ids of the tensors requiring a gradient that ``outputs`` were computed from, and
    whether among them is a recorded derivative (:data:`_DERIVATIVES`) or a node a pass
    released (below which what they read is unknown): the counterpart, for ``gradient``, of a
    transform's ``f`` that differentiated inside (:meth:`_Traced.refuse_unread`). One walk of
    the graph, on the path where no input was reached."""
    seen: set[int] = set()
    from_derivative = False
    stack = [out for out in outputs if out.requires_grad]
    while stack:
        tensor = stack.pop()
        key = id(tensor)
        if key in seen:
            continue
        seen.add(key)
        if _DERIVATIVES.get(key) is tensor:
            from_derivative = True
        if tensor._primitive is None:
            continue
        if tensor._inputs is None:  # released: what it was computed from is unknown
            from_derivative = True
            continue
        stack.extend(parent for parent in tensor._inputs if parent.requires_grad)
    return seen, from_derivative


def _made_from(tensor: Tensor, read: set[int]) -> Tensor | None:
    """The tensor in ``read`` (:func:`_graph_read`) that ``tensor`` was computed from, found
    first along its recorded graph (a slice's source), else None."""
    seen: set[int] = set()
    stack = [tensor]
    while stack:
        made = stack.pop()
        if made is not tensor and id(made) in read:
            return made
        if id(made) in seen or made._primitive is None or made._inputs is None:
            continue  # a leaf, or released: nothing below it is known
        seen.add(id(made))
        stack.extend(parent for parent in made._inputs if parent.requires_grad)
    return None


def _untracked_input(x: Tensor, op: str, index: int) -> RuntimeError:
    """The refusal of input ``index``, which does not require a gradient: the engine recorded
    nothing through it, so whether and how the outputs depend on it is unknown (``a * 3`` of
    an untracked ``a`` is a constant to it). Zeros would be right only where they do not."""
    why = (
        f"{op}: input {index} (shape {x.shape}{name_clause(x)}) does not require a gradient, so "
        "the engine recorded nothing through it and cannot tell how the outputs depend on it"
    )
    if not backend.is_real_floating(x.dtype, x.xp):  # no requires_grad for it to be given
        return RuntimeError(
            f"{why}; and it is {backend.dtype_name(x.dtype)}, which has no gradient: only real "
            "floating-point tensors do (differentiate with respect to a float tensor instead)"
        )
    return RuntimeError(
        f"{why}; create it, or the leaves it is computed from, with requires_grad=True (or "
        "call .requires_grad_() on the leaf) before computing the outputs, outside no_grad"
    )


def _iterable(value: Any) -> bool:
    """Whether ``value`` is a collection of outputs rather than one (a tensor, or a number
    taken out of the graph, which is refused naming it)."""
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _scalar_seed(out: Tensor, op: str, index: int | None = None) -> Tensor:
    """dE/dE = 1 for a one-number output: ``op``'s function's value, or output ``index`` of a
    ``gradient`` call (which has no function: its outputs are given)."""
    if out.size != 1 and index is not None:
        raise ValueError(
            f"{op}: output {index} has shape {out.shape}; without cotangents each output must "
            "be a scalar: pass cotangents (one per output, shaped like it)"
        )
    if out.size != 1:
        raise ValueError(
            f"{op}: the function must return a scalar, got shape {out.shape}; "
            "use vjp (with a cotangent) or jacobian for non-scalar outputs"
        )
    return Tensor._wrap(out.xp.ones_like(out.data))


#: Why a function differentiated returns a plain number: the number left the graph, or was
#: never on it. Neither has a gradient to give, and zeros would hide the first.
_NUMBER_RETURNED = (
    ": a number the engine did not record, taken out of a tensor (.item(), float()) or "
    "computed without the differentiated arguments (then its gradient is 0); return the tensor"
)


def _check_scalar_output(value: Any, op: str) -> None:
    """Refuse a value of ``op``'s function that is not one number: not a tensor (None: a
    missing ``return``?), or a tensor of more than one element."""
    if not isinstance(value, Tensor):
        hint = "; is a return missing?" if value is None else ""
        if isinstance(value, (numbers.Number, np.generic)):
            hint = _NUMBER_RETURNED
        raise TypeError(
            f"{op}: the function must return a tensor, got {type(value).__name__}{hint}"
        )
    _scalar_seed(value, op)


#: What the seeds of ``gradient`` are to the transforms that pass other things than
#: cotangents (forward mode seeds the transposed pass with the tangents), and what they pair with.
_SEEDS = {"jvp": ("tangent", "input"), "hvp": ("tangent", "primal")}


def _as_cotangent(value: Any, out: Tensor, op: str, index: int) -> Tensor:
    """``value`` as a seed for output ``index`` (see :meth:`Tensor._seed`, its one home)."""
    seed, pairs_with = _SEEDS.get(op, ("cotangent", "output"))
    what = f"{op}: {seed} {index}"
    return out._seed(value, what, f"{pairs_with} {index}", op=what)


def _zeros_like(x: Tensor) -> Tensor:
    return Tensor._wrap(x.xp.zeros_like(x.data))


# ---------------------------------------------------------------------------------------------
# Variables: the arguments a transform differentiates with respect to
# ---------------------------------------------------------------------------------------------


#: The transforms that take ``argnums``: an argument they cannot differentiate can be left out.
_TAKE_ARGNUMS = ("grad", "value_and_grad", "jacobian", "hessian")


def _variable(value: Any, op: str, argument: int, like: Any = None, numbers: Any = None) -> Tensor:
    """A tensor to differentiate with respect to (a leaf of argument ``argument`` of ``op``'s
    function). One that already requires grad (an outer
    transform or the user differentiates through it) becomes an alias recorded from it: the
    derivative is then with respect to this argument alone, not to every other place the same
    tensor reaches ``f`` (``f(x, x)`` gives each argument its own partial derivative), and the
    outer derivative still flows through the alias. Numbers and lists become arrays of
    ``like``'s library, device and float dtype where the call has an array of another library
    than NumPy (``grad(f, argnums=1)(torch_x, 2.0)``), else NumPy's, of the dtype ``numbers``
    (the call's NumPy floats', so ``grad(f, argnums=1)(x32, 2.0)`` computes in float32, as
    ``f(x32, 2.0)`` does: a number never upcasts) or, where the call has none, the default.

    The variable, alias or leaf, owns its array: ``f`` may write into ``x.data`` (as a
    tensor's refusal of ``x[i] = v`` advises) or keep ``x`` and write later, and the caller's
    array, or its tensor's, is unchanged, as ``cr.tensor(a)`` leaves ``a`` and JAX its
    arguments. A number or list is made into a new array anyway; an array or tensor is copied
    here, once per call of the transform (a Jacobian's rows and columns reuse the variable)."""
    if isinstance(value, Tensor) and value.requires_grad:
        with enable_grad():
            alias = _reshape(value, shape=value.shape)
        alias.data = own_copy(alias.data)  # its own values: the reshape's rule reads only shapes
        return alias
    if isinstance(value, Tensor):
        data = value.data
    elif like is not None and not hasattr(value, "shape"):  # numbers and lists: like's
        data = numbers_like(value, like, like.dtype)
    elif numbers is not None and not hasattr(value, "shape"):
        data = np.asarray(value)  # a complex number keeps its own, for the refusal below
        data = data.astype(numbers) if data.dtype.kind in "biuf" else data
    else:  # an array keeps its library and device; numbers and lists become NumPy's
        xp = backend.array_module(value)
        # a torch tensor that requires grad is refused, as cr.tensor refuses it: torch's graph
        # would end here, silently
        data = np.asarray(value) if xp is np else xp.asarray(backend.detached(value))
    xp = backend.array_module(data)
    if xp is np and data.dtype.kind not in "biufc":  # a string, an object: nothing to cast
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
        raise TypeError(
            f"{op}: argument {argument} is {type(value).__name__} {shown}, not numbers; "
            "differentiate with respect to numbers, or close over it (lambda x: f(x, s))"
        )
    if not backend.is_floating(data.dtype, xp):
        if _is_typed(value):  # an index or a label array: cast to floats it would compute wrong
            leave_out = "leave it out of argnums" if op in _TAKE_ARGNUMS else "close over it"
            raise TypeError(
                f"{op}: argument {argument} is an array of {backend.dtype_name(data.dtype)}, "
                f"which has no derivative; pass it as floats, or {leave_out} "
                "(lambda x: f(x, i))"
            )
        data = backend.astype(data, backend.default_float(xp, data))  # numbers and lists
    elif _is_typed(value):  # the caller's array, or its tensor's: the variable owns a copy
        data = own_copy(data)
    return _private(Tensor._wrap(data).requires_grad_())


def other_library_array(values: Any) -> Any:
    """The first floating array among ``values`` (tensors' arrays included, nested in lists,
    tuples and dicts) of a library other than NumPy, or None: the library, device and float
    dtype that the call's numbers join (an integer array, an index, sets no float dtype, and
    numbers beside it alone stay NumPy's float64)."""
    for leaf in tree_flatten(list(values))[0]:
        data = leaf.data if isinstance(leaf, Tensor) else leaf
        if not hasattr(data, "shape"):
            continue
        xp = backend.array_module(data)
        if xp is not np and backend.is_floating(data.dtype, xp):
            return data
    return None


def _numpy_float_dtype(values: Any) -> Any:
    """The dtype the real floating NumPy arrays among ``values`` (tensors' arrays included,
    nested) compute in together, or None where there are none: the dtype a Python number
    beside them takes, as in an op."""
    dtypes = [
        data.dtype
        for leaf in tree_flatten(list(values))[0]
        for data in (leaf.data if isinstance(leaf, Tensor) else leaf,)
        if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind == "f"
    ]
    return np.result_type(*dtypes) if dtypes else None


def numbers_like(value: Any, like: Any, dtype: Any) -> Any:
    """A Python number or list as an array of ``like``'s library and device: whole numbers as
    the library's integers where ``dtype`` is None, else everything in ``dtype``."""
    if dtype is None and np.asarray(value).dtype.kind not in "biu":
        dtype = like.dtype
    return backend.asarray_like(value, like, dtype=dtype)


def _is_typed(value: Any) -> bool:
    """Whether ``value`` is an array or tensor, whose dtype the user chose (not a Python
    number or list, which a transform reads as floats: ``grad(f)(3)``)."""
    return isinstance(value, Tensor) or (hasattr(value, "dtype") and hasattr(value, "shape"))


#: The leaves the transforms create for themselves (their variables, forward mode's dummy
#: cotangents), by id, while they live. Once its transform has returned, such a leaf is one
#: nothing else can differentiate with respect to: a walk from a result that reaches it has
#: not reached anything outside (:func:`_reaches_outside`).
_PRIVATE: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()


class _Running(threading.local):
    """The ids of the variables of the transforms running now on this thread: an inner
    transform's function may close over an outer one's variable, which is outside it, and
    ``gradient`` records its results where they depend on one (:func:`_reaches_running`)."""

    def __init__(self) -> None:
        self.variables: set[int] = set()
        self.passes = 0  # the gradient passes run so far (:func:`_gradient` counts them)


_running = _Running()


class _differentiated_through:
    """``variables`` taken, while the block runs, as a running transform's: something outside
    differentiates through what is computed from them, so a ``gradient`` in the block with
    ``create_graph`` left None records its results where they depend on one
    (:func:`_reaches_running`), as inside ``cr.grad``. :func:`~chainrule.gradcheck` calls its
    ``f`` so: an ``f`` that takes ``cr.gradient(net(x).sum(), [x])`` of its own input (a
    physics-informed residual) is checked as ``cr.grad`` differentiates it. Variables running
    already (an enclosing block's, a transform's) are left to their owner."""

    def __init__(self, variables: Sequence[Tensor]) -> None:
        self._variables = variables

    def __enter__(self) -> None:
        self._own = {id(v) for v in self._variables} - _running.variables
        _running.variables |= self._own

    def __exit__(self, *exc: Any) -> None:
        _running.variables -= self._own


def _private(leaf: Tensor) -> Tensor:
    """Register ``leaf``, made just now by a transform, as its own, and number it in the order
    ops ran: a graph an earlier pass released before it was made cannot lead to it, so the
    transform's passes take such a graph as a constant (``h`` computed and freed by
    ``backward()``, then ``grad(lambda y: (h * y).sum())``), as torch.func does."""
    _PRIVATE[id(leaf)] = leaf
    return number_new_leaf(leaf)


def is_transform_variable(t: Tensor) -> bool:
    """Whether ``t`` is a variable a transform made for the argument it differentiates."""
    return _PRIVATE.get(id(t)) is t


def is_ended_transform_variable(t: Tensor) -> bool:
    """Whether ``t`` is a variable a transform made whose transform has returned (none running
    on this thread has it): a reference kept from inside ``f``. Nothing differentiates with
    respect to it any more (a ``vjp_fn`` may still read it), so it stands for the argument it
    was made from, which required no gradient."""
    return is_transform_variable(t) and id(t) not in _running.variables


def _is_single(argnums: Any) -> bool:
    """Whether ``argnums`` is one integer (any: a NumPy integer too) rather than a sequence."""
    try:
        operator.index(argnums)
    except TypeError:
        return False
    return True


def _argnums_tuple(argnums: int | Sequence[int], n_args: int, op: str) -> tuple[int, ...]:
    """``argnums`` as a tuple of argument indices in range(n_args). A repeated index is refused:
    the same argument differentiated twice would get its gradient once and zeros once."""
    try:
        nums = (argnums,) if _is_single(argnums) else tuple(argnums)
        for n in nums:
            operator.index(n)
            if isinstance(n, (bool, np.bool_)):  # True == 1, but it is a slip
                raise TypeError
    except TypeError:
        raise TypeError(
            f"{op}: argnums must be an integer or a sequence of integers, got {argnums!r}"
        ) from None
    if not nums:  # nothing differentiated: the call would return () and say nothing
        raise ValueError(f"{op}: argnums must name at least one argument, got {argnums!r}")
    for n in nums:
        if not -n_args <= operator.index(n) < n_args:
            raise ValueError(f"{op}: argnums {n} is out of range for {n_args} arguments")
    normalised = tuple(operator.index(n) % n_args for n in nums)
    if len(set(normalised)) != len(normalised):
        raise ValueError(
            f"{op}: argnums elements must be unique, got {argnums!r} (arguments {normalised})"
        )
    return normalised


class _Traced:
    """The arguments of one call with the differentiated ones replaced by variables; a context
    manager, inside which its variables are running (outside any inner transform)."""

    def __init__(self, args: tuple, argnums: tuple[int, ...], op: str) -> None:
        self.given, self.args = args, list(args)
        self.argnums, self.op = argnums, op
        self.nested = False  # an outer transform or the user is differentiating through us
        self.differentiated_inside = False  # f ran a gradient pass itself (__exit__ sets it)
        self.treedefs, self.variables = [], []
        like = other_library_array(args)
        numbers = None if like is not None else _numpy_float_dtype(args)
        for n in argnums:
            leaves, treedef = tree_flatten(args[n])
            self.nested |= any(isinstance(v, Tensor) and v.requires_grad for v in leaves)
            variables = [_variable(v, op, n, like, numbers) for v in leaves]
            self.args[n] = tree_unflatten(treedef, variables)
            self.treedefs.append(treedef)
            self.variables.append(variables)

    @classmethod
    def of_variables(
        cls, args: tuple, argnums: tuple[int, ...], op: str, variables: Sequence[Tensor]
    ) -> _Traced:
        """One whose variables the caller made, one per array argument in ``argnums`` (gradcheck
        makes float64 copies of its own): its :meth:`refuse_unread` judges them, with ``args``
        as the call was given them, as a transform's."""
        traced = cls.__new__(cls)
        traced.given, traced.args, traced.argnums, traced.op = args, list(args), argnums, op
        traced.nested = traced.differentiated_inside = False
        traced.treedefs = [tree_flatten(variable)[1] for variable in variables]
        traced.variables = [[variable] for variable in variables]
        for n, variable in zip(argnums, variables):
            traced.args[n] = variable
        return traced

    def __enter__(self) -> _Traced:
        fresh = {id(v) for v in self.flat_variables}  # leaves, and aliases of outer tensors
        self._own = fresh - _running.variables
        _running.variables |= self._own
        self._passes = _running.passes
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        _running.variables -= self._own
        # f differentiated something itself (an inner transform, cr.gradient): its output is
        # a derivative, which may rightly be constant in the variables (:meth:`refuse_unread`)
        self.differentiated_inside = _running.passes != self._passes
        if isinstance(error, TypeError):
            self._explain_a_container_made_one_array(error)
        elif isinstance(error, AttributeError):
            self._explain_a_container_used_as_a_tensor(error)

    def _explain_a_container_made_one_array(self, error: TypeError) -> None:
        """A list (or tuple) argument is a container of variables, one per number: an op given
        it whole (``x @ W``) makes it one NumPy array, which a tensor needing a gradient
        refuses, and the bare refusal never said the list was read as scalars."""
        refused = _refused_item(error)
        for n, group in zip(self.argnums, self.variables):
            if self._is_container(n) and any(v is refused for v in group):
                raise TypeError(
                    f"{self._taken_as_items(n)}, and an op given the {self._kind(n)} whole "
                    "cannot turn tensors that need a gradient into one NumPy array. "
                    f"{_PASS_AN_ARRAY}"
                ) from error

    def _explain_a_container_used_as_a_tensor(self, error: AttributeError) -> None:
        """The same slip where Python's own operators met the list first: ``x * 2`` repeats a
        list argument and ``x.sum()`` then finds no such method. Explained only where the object
        is a list or tuple of nothing but the argument's variables and the attribute is a
        tensor's (``.sum``, ``.shape``): a list the function built for itself, or an
        ``.append`` on a tuple argument, keeps Python's message."""
        container, name = getattr(error, "obj", None), getattr(error, "name", None)
        if not (isinstance(container, (list, tuple)) and container and isinstance(name, str)):
            return
        if not hasattr(Tensor, name):
            return
        for n, group in zip(self.argnums, self.variables):
            own = {id(v) for v in group}
            if self._is_container(n) and all(id(item) in own for item in container):
                made = type(container).__name__
                raise AttributeError(
                    f"{self._taken_as_items(n)}, and the function used a {made} of them as a "
                    f"tensor: a {made} has no .{name} (Python's * and + repeat and join a "
                    f"{made} rather than compute). {_PASS_AN_ARRAY}"
                ) from error

    def _is_container(self, argument: int) -> bool:
        return isinstance(self.given[argument], (list, tuple))

    def _kind(self, argument: int) -> str:
        return type(self.given[argument]).__name__

    def _taken_as_items(self, argument: int) -> str:
        """The head of both explanations: what a transform made of list argument ``argument``."""
        group = self.variables[self.argnums.index(argument)]
        what = "scalar tensors" if all(v.ndim == 0 for v in group) else "tensors"
        return (
            f"{self.op}: argument {argument} is a {self._kind(argument)}, which a transform "
            f"takes as a structure of {len(group)} {what} (lists and tuples are containers), "
            "not as one array"
        )

    def reaches_outside(self, outputs: Sequence[Tensor]) -> bool:
        """Whether an outer derivative flows through ``outputs``: recording is on where the
        transform was called (``no_grad`` around it gives constants, as torch.func's does), and
        an argument of ours already required a gradient, or ``outputs`` depend on another
        tensor that does."""
        if not is_grad_enabled():
            return False
        return self.nested or _reaches_outside(outputs, self.flat_variables)

    @property
    def flat_variables(self) -> list[Tensor]:
        return [v for group in self.variables for v in group]

    def refuse_unread(self, outputs: Sequence[Tensor]) -> None:
        """Refuse ``outputs`` of ``f``, which the pass found depend on none of the variables (the
        derivative would be all zeros) though they require a gradient, where they read the very
        tensors given as the argument rather than the transform's copies of them: the slip
        ``grad(lambda p: loss(net(X)))(dict(net.named_parameters()))`` runs ``net`` on its
        parameters whatever ``p`` holds (torch.func gives zeros); ``nn.functional_call(net, p,
        X)`` runs it on ``p``. Outputs computed from other tensors that require a gradient get a
        :class:`~chainrule.errors.ZeroDerivativeWarning`: the same slip, or an argument that
        enters through comparisons, masks or ``detach`` alone, whose zeros are right. One walk
        of the graph, on this path alone (every gradient zeros). Neither: tensors read that
        ``f`` was given as arguments not differentiated or that an outer transform running now
        differentiates (the derivative is rightly 0 there), a graph an earlier pass released
        (what it read is unknown), and an ``f`` that differentiated inside (a Hessian of a
        function linear in x whose coefficients are parameters is rightly 0)."""
        if self.differentiated_inside:
            return
        given, read = _leaves_read_instead(outputs, self)
        if not (given or read):
            return
        if given:  # the argument's own tensors read directly, by the argument's names
            tensor, label = given[0]
            shown = f"shape {tensor.shape}" + (
                f", named '{label}'" if label is not None else name_clause(tensor)
            )
            more = len(given) - 1
        else:
            shown, more = f"shape {read[0].shape}{name_clause(read[0])}", len(read) - 1
        if more:
            shown += f", and {more} more"
        nums = ", ".join(map(str, self.argnums))
        which = f"argument{'s' if len(self.argnums) > 1 else ''} {nums}"
        fix = (
            "compute the output from the function's argument: nn.functional_call(net, p, X) "
            "runs net with the tensors p holds, where net(X) reads net's own parameters "
            "whatever p holds"
        )
        if given:
            raise RuntimeError(
                f"{self.op}: the function's output does not depend on the variables {self.op} "
                f"passes it for {which} (the derivative would be all zeros): it reads the "
                f"tensors given as that argument directly ({shown}), not the copies it "
                f"receives; {fix}"
            )
        # a warning, not a refusal: the zeros are right where the argument enters through
        # comparisons, masks, integer indexing or detach alone (torch.func gives them silently)
        warnings.warn(
            f"{self.op}: the function's output does not depend differentiably on {which} (its "
            "derivative is all zeros) but on other tensors that require a gradient, which it "
            f"reads from outside ({shown}). Where these are a module's parameters read by "
            f"net(X): {fix}. Where the argument enters only through comparisons, masks or "
            "detach, the zeros are right: pass the tensors read as an argument not "
            "differentiated (argnums leaves it out), or filter ZeroDerivativeWarning",
            ZeroDerivativeWarning,
            stacklevel=user_stacklevel(),
        )

    def rebuild(self, flat: list[Any]) -> Any:
        """Per-argnum pytrees of ``flat`` (a value per variable); a tuple if argnums was."""
        trees, start = [], 0
        for treedef, group in zip(self.treedefs, self.variables):
            trees.append(tree_unflatten(treedef, flat[start : start + len(group)]))
            start += len(group)
        return trees


#: How to pass a list argument that was meant as one array, or keep it a structure.
_PASS_AN_ARRAY = (
    "To differentiate it as one array pass np.array(...) or cr.tensor(...); to keep the "
    "structure, use its items"
)


def _refused_item(error: BaseException | None) -> Tensor | None:
    """The tensor whose refusal to become a NumPy array (``Tensor.__array__``) ``error`` is, or
    is raised from: along the chain Python prints (``raise ... from refusal``, or an error raised
    while handling it), as a helper that wraps the refusal in an error of its own leaves it."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        item = getattr(error, "refused_tensor", None)
        if item is not None:
            return item
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return None


def _reaches_outside(outputs: Sequence[Tensor], variables: Sequence[Tensor]) -> bool:
    """Whether ``outputs`` depend on a tensor requiring a gradient besides ``variables``: an
    argument not differentiated here, a tensor ``f`` closed over, an outer transform's
    variable. Then an outer derivative flows through this transform's results, which must be
    recorded (``create_graph``) rather than computed on bare arrays (they would be constants,
    and the outer derivative through them silently 0). One walk of the recorded graph, lean:
    it runs on every transform's call."""
    seen = {id(v) for v in variables}  # the walk stops at the variables, and at what it saw
    stack = [out for out in outputs if out.requires_grad]
    push, pop, see = stack.append, stack.pop, seen.add
    running, private = _running.variables, _PRIVATE
    while stack:
        tensor = pop()
        key = id(tensor)
        if key in seen:
            continue
        see(key)
        if tensor._primitive is None:  # a leaf requiring a gradient: the user's, or a running
            if private.get(key) is not tensor or key in running:  # transform's variable
                return True
            continue  # a finished inner transform's own variable: nothing outside
        inputs = tensor._inputs
        if inputs is None:  # released: what it came from is unknown, maybe an outer variable,
            return True  # and an outer pass through the results decides (or refuses) there
        for parent in inputs:
            if parent.requires_grad:
                push(parent)
    return False


def _leaves_read_instead(
    outputs: Sequence[Tensor], traced: _Traced
) -> tuple[list[tuple[Tensor, str | None]], list[Tensor]]:
    """The tensors requiring a gradient that ``outputs`` were computed from in place of
    ``traced``'s variables (:meth:`_Traced.refuse_unread`): the tensors given as a
    differentiated argument itself (not the variables made for them) that they read, each with
    its name in the argument (a dict's key, ``'0.weight'`` of ``dict(net.named_parameters())``;
    None outside a dict), and the other leaves found, in the order met. Neither where the walk
    meets a released node (what lay below it is unknown: nothing is refused). The walk stops at
    the arguments not differentiated, an outer transform's running variables and an ended
    transform's own."""
    argnums = set(traced.argnums)
    given: dict[int, str | None] = {}
    for n in argnums:
        leaves, treedef = tree_flatten(traced.given[n])
        for v, label in zip(leaves, _leaf_labels(treedef)):
            # an outer transform's variable given here stands for what it aliases (hessian's
            # grad gets jacobian's variables, made from the caller's tensors), and so on out
            while isinstance(v, Tensor):
                given[id(v)] = label
                inputs = v._inputs if id(v) in _running.variables else None
                v = inputs[0] if inputs else None
    passed = {
        id(v)
        for n, arg in enumerate(traced.given)
        if n not in argnums
        for v in tree_flatten(arg)[0]
        if isinstance(v, Tensor)
    }
    seen = passed | _running.variables | {id(v) for v in traced.flat_variables}
    stack = [out for out in outputs if out.requires_grad]
    read: list[Tensor] = []
    read_given: list[tuple[Tensor, str | None]] = []
    while stack:
        tensor = stack.pop()
        key = id(tensor)
        if key in seen:
            continue
        seen.add(key)
        if key in given:  # the argument itself, read where its variable was due
            read_given.append((tensor, given[key]))
            continue
        if tensor._primitive is None:
            if _PRIVATE.get(key) is not tensor:  # not an ended transform's own variable
                read.append(tensor)
            continue
        inputs = tensor._inputs
        if inputs is None:  # released: what it was computed from is unknown
            return [], []
        stack.extend(parent for parent in inputs if parent.requires_grad)
    return read_given, read


def _leaf_labels(treedef: Any, prefix: str | None = None) -> list[str | None]:
    """A name per leaf of the tree :func:`tree_flatten` described by ``treedef``, in its
    order: the dict keys on the way to it joined by dots (``'0.weight'``, or ``'enc.w'`` of
    ``{'enc': {'w': ...}}``), ``prefix`` where no dict lies on the way (None at the top)."""
    if treedef is None:
        return [prefix]
    if treedef is _NO_LEAVES:
        return []
    if treedef[0] is dict:
        _, keys, (_, shapes) = treedef
        labels = []
        for key, (_, sub) in zip(keys, shapes):
            labels += _leaf_labels(sub, f"{prefix}.{key}" if prefix is not None else str(key))
        return labels
    return [label for _, sub in treedef[1] for label in _leaf_labels(sub, prefix)]


def _reaches_running(tensors: Sequence[Tensor]) -> bool:
    """Whether ``tensors`` depend on a variable of a transform running now on this thread: that
    transform differentiates through whatever is computed from them. One walk of the recorded
    graph, and none outside every transform."""
    running = _running.variables
    if not running or not is_grad_enabled():
        return False
    seen: set[int] = set()
    stack = [t for t in tensors if t.requires_grad]
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        if id(tensor) in running:  # a leaf, or an alias of a tensor from outside the transform
            return True
        seen.add(id(tensor))
        if tensor._primitive is None:  # another leaf (the user's): nothing below it
            continue
        inputs = tensor._inputs
        if inputs is None:  # released: it may come from a running variable (_reaches_outside)
            return True
        stack.extend(parent for parent in inputs if parent.requires_grad)
    return False


def _any_requires_grad(values: Sequence[Any]) -> bool:
    """Whether a tangent or cotangent requires a gradient (an outer transform's variable) and
    recording is on, so that an outer derivative flows through what it seeds."""
    return is_grad_enabled() and any(isinstance(v, Tensor) and v.requires_grad for v in values)


def _call_recorded(f: Callable[..., Any], args: list, kwargs: dict | None = None) -> Any:
    """Call ``f`` with recording on: a transform differentiates even inside ``no_grad``.
    Keyword arguments are passed as they are, never differentiated (as torch.func and JAX)."""
    with enable_grad():
        return f(*args, **(kwargs or {}))


def _output_tensors(out: Any, op: str) -> tuple[list[Tensor], Any]:
    """The tensors ``f`` returned (nested as tuples, lists, dicts) and their nesting. An output
    with none (None, ``()``: usually a missing ``return``) is refused: its derivative would be
    an empty result that hides the slip."""
    leaves, treedef = tree_flatten(out)
    if not leaves:
        shown = repr(out) if len(repr(out)) <= 40 else type(out).__name__
        raise TypeError(
            f"{op}: the function returned no tensor (it returned {shown}); is a return missing?"
        )
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise TypeError(f"{op}: the function must return tensors, got {type(leaf).__name__}")
    return leaves, treedef


def _pick(trees: list[Any], argnums: int | Sequence[int]) -> Any:
    return trees[0] if _is_single(argnums) else tuple(trees)


# ---------------------------------------------------------------------------------------------
# The transforms
# ---------------------------------------------------------------------------------------------


@overload
def value_and_grad(
    f: Callable[Concatenate[Tensor, _Params], Tensor],
    argnums: Literal[0] = 0,
    has_aux: Literal[False] = False,
) -> Callable[Concatenate[_Variable, _Params], tuple[Tensor, Tensor]]: ...
@overload
def value_and_grad(
    f: Callable[Concatenate[Tensor, _Params], tuple[Tensor, _Aux]],
    argnums: Literal[0] = 0,
    *,
    has_aux: Literal[True],
) -> Callable[Concatenate[_Variable, _Params], tuple[tuple[Tensor, _Aux], Tensor]]: ...
@overload
def value_and_grad(
    f: Callable[_Params, Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[_Params, tuple[Any, Any]]: ...
def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., tuple[Any, Any]]:
    """``f``'s value and its gradient with respect to argument(s) ``argnums`` (``f`` returns
    one number, as for :func:`grad`).

    With ``has_aux``, ``f`` returns ``(value, aux)`` and the call gives ``((value, aux),
    gradient)``, as ``jax.value_and_grad``'s: ``aux`` is returned as it is, not differentiated
    (detached), e.g. the predictions beside the loss.

    >>> import chainrule as cr
    >>> value, g = cr.value_and_grad(lambda x: (x * x).sum())(cr.tensor([1.0, 2.0]))
    >>> g
    tensor([2., 4.])

    A type checker sees the call take ``f``'s arguments (the first a tensor, an array or a
    number) and, where ``f`` is annotated to take a tensor first and return one and
    ``argnums`` is 0, give ``(Tensor, Tensor)`` (``((Tensor, aux), Tensor)`` with ``has_aux``);
    otherwise the result is Any.
    """

    return _value_and_grad(f, argnums, has_aux, "value_and_grad")


def _value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool, op: str
) -> Callable[..., tuple[Any, Any]]:
    """:func:`value_and_grad`, its errors named after ``op`` (``hessian`` is built on it)."""

    def wrapped(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        with _Traced(args, _argnums_tuple(argnums, len(args), op), op) as traced:
            value, aux = _output_and_aux(_call_recorded(f, traced.args, kwargs), has_aux, op)
            _check_scalar_output(value, op)
            nested = traced.reaches_outside([value])
            aux = _aux_as_returned(aux, traced)
        grads = _gradient(
            value, traced.flat_variables, create_graph=nested, op=op, unread=traced.refuse_unread
        )
        if not nested:  # nothing outside differentiates through them: no graph kept alive
            value = value.detach()
        grads_tree = _pick(traced.rebuild(grads), argnums)
        return ((value, aux), grads_tree) if has_aux else (value, grads_tree)

    return wrapped


def _output_and_aux(result: Any, has_aux: bool, op: str) -> tuple[Any, Any]:
    """What ``op``'s function returned, split into its output and, with ``has_aux``, the
    auxiliary data it returned beside it (``(output, aux)``, as in JAX and torch.func)."""
    if not has_aux:
        return result, None
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError(
            f"{op}: with has_aux=True the function must return a tuple (output, aux), "
            f"got {type(result).__name__}"
        )
    output, aux = result
    return output, aux


def _aux_as_returned(aux: Any, traced: _Traced) -> Any:
    """``has_aux``'s auxiliary data as the transform returns it: an output of its own, recorded
    where an outer derivative flows through it alone, else detached (it is never
    differentiated here)."""
    return aux if traced.reaches_outside(_tensors_in(aux)) else _detached(aux)


def _tensors_in(tree: Any) -> list[Tensor]:
    leaves, _ = tree_flatten(tree)
    return [leaf for leaf in leaves if isinstance(leaf, Tensor)]


def _detached(tree: Any) -> Any:
    """``tree`` with each tensor detached (``has_aux``'s auxiliary output); other leaves kept."""
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [v.detach() if isinstance(v, Tensor) else v for v in leaves])


@overload
def grad(
    f: Callable[Concatenate[Tensor, _Params], Tensor],
    argnums: Literal[0] = 0,
    has_aux: Literal[False] = False,
) -> Callable[Concatenate[_Variable, _Params], Tensor]: ...
@overload
def grad(
    f: Callable[Concatenate[Tensor, _Params], tuple[Tensor, _Aux]],
    argnums: Literal[0] = 0,
    *,
    has_aux: Literal[True],
) -> Callable[Concatenate[_Variable, _Params], tuple[Tensor, _Aux]]: ...
@overload
def grad(
    f: Callable[_Params, Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[_Params, Any]: ...
def grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    **unknown: Any,
) -> Callable[..., Any]:
    """The gradient of scalar-valued ``f`` with respect to argument(s) ``argnums``.

    ``f`` returns one number: a tensor with one element, of any shape. A ``(1,)`` or ``(1, 1)``
    output counts as a scalar, as it does for ``backward()`` (and ``torch.Tensor.backward``);
    ``torch.func.grad`` and ``jax.grad`` refuse it. The gradients are shaped like the
    arguments whatever the output's shape; ``value_and_grad``'s value keeps its shape.
    With ``has_aux``, ``f`` returns ``(value, aux)`` and the call gives ``(gradient, aux)``, as
    ``jax.grad`` and ``torch.func.grad`` do: ``aux`` is returned as it is, not differentiated
    (detached).

    >>> import chainrule as cr
    >>> cr.grad(lambda x: (x ** 3).sum())(cr.tensor([2.0]))
    tensor([12.])

    A type checker sees ``grad(f)`` take ``f``'s arguments (the first a tensor, an array or a
    number) and, where ``f`` is annotated to take a tensor first and return one and
    ``argnums`` is 0, give a ``Tensor`` (``(Tensor, aux)`` with ``has_aux``); a gradient nested
    as its argument (a tuple, list or dict), or of several arguments, is Any.

    ``grad`` takes a function, as ``jax.grad`` does, not ``torch.autograd.grad``'s
    ``(outputs, inputs)``: for those, :func:`gradient` (``create_graph=`` and all).
    """
    if unknown:
        raise TypeError(
            f"grad: unexpected keyword argument(s) {', '.join(map(repr, unknown))}; it takes "
            f"(f, argnums=0, has_aux=False) and gives the function of f's gradient (JAX style: "
            f"cr.grad(f)(x)){_TORCH_GRAD_HINT}"
        )
    return _grad(f, argnums, has_aux, "grad")


#: How torch.autograd.grad's call is written here, for a transform handed its arguments.
_TORCH_GRAD_HINT = (
    "; for torch.autograd.grad's (outputs, inputs), use cr.gradient(outputs, inputs, "
    "create_graph=...)"
)


def _grad(
    f: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool, op: str
) -> Callable[..., Any]:
    if not callable(f):  # refused here: at the call, the error would come from far inside
        raise TypeError(
            f"{op}: takes a function and gives the function of its "
            f"{'gradient' if op == 'grad' else 'Hessian'} (JAX style: cr.{op}(f)(x)), not "
            f"{type_name(f)}{_TORCH_GRAD_HINT if isinstance(f, Tensor) else ''}"
        )
    both = _value_and_grad(f, argnums, has_aux, op)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        (value, grads) = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapped


@overload
def vjp(
    f: Callable[[Tensor], _Out], primal: _Variable, /, *, has_aux: Literal[False] = False
) -> tuple[_Out, Callable[[Any], tuple[Tensor]]]: ...
@overload
def vjp(
    f: Callable[[Tensor, Tensor], _Out],
    primal: _Variable,
    primal2: _Variable,
    /,
    *,
    has_aux: Literal[False] = False,
) -> tuple[_Out, Callable[[Any], tuple[Tensor, Tensor]]]: ...
@overload
def vjp(
    f: Callable[..., _Out], *primals: Any, has_aux: Literal[False] = False
) -> tuple[_Out, Callable[[Any], tuple[Any, ...]]]: ...
@overload
def vjp(
    f: Callable[..., tuple[_Out, _Aux]], *primals: Any, has_aux: Literal[True]
) -> tuple[_Out, Callable[[Any], tuple[Any, ...]], _Aux]: ...
def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` gives cotangent^T J for every primal.

    With ``has_aux`` (by keyword), ``f`` returns ``(output, aux)`` and the call gives ``(output,
    vjp_fn, aux)``, as ``torch.func.vjp`` and ``jax.vjp`` do: ``aux`` is returned as it is, not
    differentiated (detached), e.g. the logits beside a loss.

    ``vjp_fn`` may be called many times (the graph is kept while it lives). A type checker sees
    the output typed as ``f``'s, and ``vjp_fn`` give a tuple of one tensor per primal where the
    primals (one or two) are tensors, arrays or numbers.
    """
    with _Traced(primals, tuple(range(len(primals))), "vjp") as traced:
        out, aux = _output_and_aux(_call_recorded(f, traced.args), has_aux, "vjp")
        outs, out_def = _output_tensors(out, "vjp")
        nested = traced.reaches_outside(outs)
        aux = _aux_as_returned(aux, traced)
    variables = traced.flat_variables

    def vjp_fn(cotangent: Any) -> tuple:
        cotangents = _flatten_like(cotangent, out_def, "vjp", "cotangent", "output")
        grads = _gradient(
            outs,
            variables,
            cotangents,
            retain_graph=True,
            create_graph=nested or _any_requires_grad(cotangents),
            op="vjp",
            unread=traced.refuse_unread,
        )
        return tuple(traced.rebuild(grads))

    shown = out if nested else tree_unflatten(out_def, [o.detach() for o in outs])
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def _flatten_like(tree: Any, treedef: Any, op: str, what: str, of: str) -> list[Any]:
    """The leaves of ``tree`` (tangents or cotangents), which must be nested as the primals or
    outputs ``treedef`` describes: dicts are paired by key, never by their order."""
    leaves, given = tree_flatten(_in_order_of(tree, treedef))
    expected = _n_leaves(treedef)
    if len(leaves) != expected:
        raise ValueError(f"{op}: got {len(leaves)} {what}s for {expected} {of}s")
    if _nesting(given) != _nesting(treedef):
        raise ValueError(
            f"{op}: the {what}s are nested as {_nesting(given)} but the {of}s as "
            f"{_nesting(treedef)}"
        )
    return leaves


def _check_tangent_shapes(op: str, tangents: list[Any], variables: list[Tensor], of: str) -> None:
    """Each tangent shaped like its variable, or a ShapeError naming ``op``, the index and both
    shapes."""
    for k, (tangent, variable) in enumerate(zip(tangents, variables)):
        shape = tuple(tangent.shape) if hasattr(tangent, "shape") else np.shape(tangent)
        if shape != variable.shape:
            raise ShapeError(
                f"{op}: tangent {k} has shape {shape} but {of} {k} has shape {variable.shape}"
            )


def _n_leaves(treedef: Any) -> int:
    if treedef is None:
        return 1
    if treedef is _NO_LEAVES:
        return 0
    if treedef[0] is dict:
        return _n_leaves(treedef[2])
    return sum(count for count, _ in treedef[1])


def _nesting(treedef: Any) -> str:
    """A :func:`tree_flatten` description as a user reads it; tuples and lists alike."""
    if treedef is None:
        return "x"
    if treedef is _NO_LEAVES:
        return "None"
    if treedef[0] is dict:
        inner = [_nesting(sub) for _, sub in treedef[2][1]]
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(treedef[1], inner)) + "}"
    return "(" + ", ".join(_nesting(sub) for _, sub in treedef[1]) + ")"


def _forward_mode(
    outs: list[Tensor],
    variables: list[Tensor],
    nested: bool,
    op: str,
    unread: Callable[[list[Tensor]], None] | None = None,
) -> Callable[[list[Any]], list[Tensor]]:
    """A function ``v -> J v`` for ``outs`` as functions of ``variables``: the reverse pass
    ``u -> J^T u`` is linear in the dummy ``u``, so differentiating it along ``v`` gives ``J v``.
    ``op`` (``jvp``, ``jacobian``) names the transform in the engine's errors; ``unread`` (a
    transform's :meth:`_Traced.refuse_unread`) is told where no output reaches a variable."""
    # an output that depends on nothing (a constant, an integer tensor) needs no dummy: its
    # tangent is zeros of its shape and dtype (an integer dummy could not require a gradient)
    dummies = [
        _private(_zeros_like(o).requires_grad_()) if o.requires_grad else _zeros_like(o)
        for o in outs
    ]
    transposed = _gradient(outs, variables, dummies, create_graph=True, op=op, unread=unread)
    tracked = [u for u in dummies if u.requires_grad]

    def push_forward(tangents: list[Any]) -> list[Tensor]:
        # one tangent per variable: jvp's come through _flatten_like, jacobian's are built so
        _check_tangent_shapes("jvp", tangents, variables, "input")
        pushed = iter(
            _gradient(
                transposed,
                tracked,
                tangents,
                retain_graph=True,
                create_graph=nested or _any_requires_grad(tangents),
                op=op,
            )
        )
        # an untracked dummy's output depends on nothing: J v is zeros there, not asked of
        # gradient (which refuses an input the engine recorded nothing through)
        return [next(pushed) if u.requires_grad else _zeros_like(u) for u in dummies]

    return push_forward


def _linearize(f: Callable[..., Any], primals: tuple) -> tuple[Any, Callable[[Any], Any], Any]:
    """``f``'s output and a function ``v -> J v``, by transposing the reverse pass."""
    with _Traced(primals, tuple(range(len(primals))), "jvp") as traced:
        out = _call_recorded(f, traced.args)
        outs, out_def = _output_tensors(out, "jvp")
        nested = traced.reaches_outside(outs)
    push = _forward_mode(outs, traced.flat_variables, nested, "jvp", traced.refuse_unread)
    primal_def = tree_flatten(primals)[1]

    def push_forward(tangents: Any) -> Any:
        flat = _flatten_like(tangents, primal_def, "jvp", "tangent", "primal")
        return tree_unflatten(out_def, push(flat))

    shown = out if nested else tree_unflatten(out_def, [o.detach() for o in outs])
    return shown, push_forward, traced


def jvp(
    f: Callable[..., _Out], primals: Sequence[Any], tangents: Sequence[Any]
) -> tuple[_Out, _Out]:
    """``(f(*primals), J @ tangents)``: the directional derivative of ``f`` along ``tangents``,
    nested as ``f``'s output (so typed as it).

    >>> import chainrule as cr
    >>> cr.jvp(lambda x: x * x, (cr.tensor([3.0]),), (cr.tensor([1.0]),))[1]
    tensor([6.])
    """
    out, push_forward, _ = _linearize(f, _arguments(primals, "jvp", "primals"))
    return out, push_forward(_arguments(tangents, "jvp", "tangents"))


def _arguments(values: Any, op: str, what: str) -> tuple:
    """``primals`` or ``tangents`` as a tuple, one per argument of ``f``. A bare tensor or array
    is refused rather than iterated: its rows would silently become the arguments."""
    if not isinstance(values, (tuple, list)):
        raise TypeError(
            f"{op}: {what} must be a tuple or list of inputs, one per argument of f "
            f"(e.g. (x,)), got {type(values).__name__}"
        )
    return tuple(values)


@overload
def jacobian(
    f: Callable[Concatenate[Tensor, _Params], Tensor],
    argnums: Literal[0] = 0,
    mode: str = "reverse",
    has_aux: Literal[False] = False,
) -> Callable[Concatenate[_Variable, _Params], Tensor]: ...
@overload
def jacobian(
    f: Callable[Concatenate[Tensor, _Params], tuple[Tensor, _Aux]],
    argnums: Literal[0] = 0,
    mode: str = "reverse",
    *,
    has_aux: Literal[True],
) -> Callable[Concatenate[_Variable, _Params], tuple[Tensor, _Aux]]: ...
@overload
def jacobian(
    f: Callable[_Params, Any],
    argnums: int | Sequence[int] = 0,
    mode: str = "reverse",
    has_aux: bool = False,
) -> Callable[_Params, Any]: ...
def jacobian(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    mode: str = "reverse",
    has_aux: bool = False,
) -> Callable[..., Any]:
    """The Jacobian of ``f``, shaped ``output.shape + input.shape`` for each differentiated input.

    An output that is a nested tuple, list or dict of tensors gives the same nesting, with the
    blocks for the inputs at each leaf (as ``torch.func.jacrev``): ``hessian`` of a function of
    several arguments is the Jacobian of ``grad``'s tuple. ``mode="reverse"`` builds it a row per
    output element (vjp); ``"forward"`` a column per input element (jvp): choose the smaller side.
    Per-example gradients as a Jacobian of a batch's per-case losses (``loss.per_case``): in
    reverse mode each row runs a backward pass through the whole batch's graph, about N^2 work
    for N cases, where a loop of :func:`grad` over single cases (with ``nn.functional_call``)
    does N cases' work, so it falls behind the loop as N grows; forward mode, of the weights as
    one vector (``nn.unflatten_parameters``), runs a pass per weight and wins where the weights
    are few beside the cases (see docs/nn.md, "Per-example gradients").
    With ``has_aux``, ``f`` returns ``(output, aux)`` and the call gives ``(jacobian, aux)``:
    ``aux`` is returned as it is, not differentiated (detached, as :func:`grad`'s), as
    ``jax.jacobian`` and ``torch.func.jacrev`` take it.

    >>> import chainrule as cr
    >>> jac, aux = cr.jacobian(lambda x: (x * x, x.sum()), has_aux=True)(cr.tensor([1.0, 2.0]))
    >>> jac
    tensor([[2., 0.],
            [0., 4.]])
    >>> aux
    tensor(3.)

    A type checker sees the call typed as :func:`grad`'s: a ``Tensor`` (``(Tensor, aux)`` with
    ``has_aux``) where ``f`` is annotated to take a tensor first and return one and ``argnums``
    is 0; other nestings are Any.
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', not {mode!r}")
    return _jacobian(f, argnums, mode, "jacobian", has_aux)


def _jacobian(
    f: Callable[..., Any],
    argnums: int | Sequence[int],
    mode: str,
    op: str,
    has_aux: bool,
) -> Callable[..., Any]:
    """:func:`jacobian`, its errors named after ``op`` (``hessian`` is built on it)."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args), op)
        with _Traced(args, nums, op) as traced:
            out, aux = _output_and_aux(_call_recorded(f, traced.args, kwargs), has_aux, op)
            outs, out_def = _output_tensors(out, op)
            nested = traced.reaches_outside(outs)
            aux = _aux_as_returned(aux, traced)
        build = _jacobian_rows if mode == "reverse" else _jacobian_columns
        # per output, per variable
        blocks = build(outs, traced.flat_variables, nested, op, traced.refuse_unread)
        jac = tree_unflatten(out_def, [_pick(traced.rebuild(b), argnums) for b in blocks])
        return (jac, aux) if has_aux else jac

    return wrapped


def _basis(like: Tensor) -> Iterator[Tensor]:
    """The unit vectors e_0, e_1, ... shaped like ``like``, in its library, dtype and device."""
    for flat in range(like.size):
        yield Tensor._wrap(backend.unit_vector(like.data, flat))


def _stack_rows(rows: list[Tensor], shape: tuple[int, ...], like: Tensor) -> Tensor:
    from chainrule.ops import reshape, stack

    if not rows:  # an empty output or input: zeros of the library on ``like``'s device
        xp = like.xp
        return Tensor._wrap(xp.zeros(shape, dtype=like.dtype, device=backend.device_of(like.data)))
    return reshape(stack(rows), shape)


def _jacobian_rows(
    outs: list[Tensor],
    variables: list[Tensor],
    nested: bool,
    op: str,
    unread: Callable[[list[Tensor]], None],
) -> list[list[Tensor]]:
    blocks = []
    missed: list[Tensor] = []  # the outputs that reach no variable, seen at their first row
    for out in outs:
        rows: list[list[Tensor]] = [[] for _ in variables]
        for k, cotangent in enumerate(_basis(out)):
            grads = _gradient(
                out,
                variables,
                cotangent,
                retain_graph=True,
                create_graph=nested,
                op=op,
                unread=None if k else missed.extend,
            )
            for row, g in zip(rows, grads):
                row.append(g)
        blocks.append([_stack_rows(row, out.shape + v.shape, v) for row, v in zip(rows, variables)])
    if missed and len(missed) == sum(1 for out in outs if out.requires_grad and out.size):
        unread(missed)  # no output reaches a variable, though one requires a gradient
    return blocks


def _jacobian_columns(
    outs: list[Tensor],
    variables: list[Tensor],
    nested: bool,
    op: str,
    unread: Callable[[list[Tensor]], None],
) -> list[list[Tensor]]:
    from chainrule.ops import transpose

    push_forward = _forward_mode(outs, variables, nested, op, unread)
    blocks: list[list[Tensor]] = [[] for _ in outs]
    for index, v in enumerate(variables):
        columns: list[list[Tensor]] = [[] for _ in outs]  # per output, a column per element of v
        for e in _basis(v):
            tangents = [_zeros_like(w) for w in variables]
            tangents[index] = e
            for column, pushed in zip(columns, push_forward(tangents)):
                column.append(pushed)
        for block, column, out in zip(blocks, columns, outs):
            stacked = _stack_rows(column, v.shape + out.shape, out)
            output_axes = tuple(range(v.ndim, v.ndim + out.ndim))
            block.append(transpose(stacked, output_axes + tuple(range(v.ndim))))
    return blocks


@overload
def hessian(
    f: Callable[Concatenate[Tensor, _Params], Tensor],
    argnums: Literal[0] = 0,
    has_aux: Literal[False] = False,
) -> Callable[Concatenate[_Variable, _Params], Tensor]: ...
@overload
def hessian(
    f: Callable[Concatenate[Tensor, _Params], tuple[Tensor, _Aux]],
    argnums: Literal[0] = 0,
    *,
    has_aux: Literal[True],
) -> Callable[Concatenate[_Variable, _Params], tuple[Tensor, _Aux]]: ...
@overload
def hessian(
    f: Callable[_Params, Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[_Params, Any]: ...
def hessian(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The matrix of second derivatives of scalar ``f``: ``jacobian(grad(f))``, shaped x.shape*2.

    For several argnums, or an argument that is a nested tuple, list or dict, the blocks nest
    twice, as ``torch.func.hessian``'s: ``hessian(f, (0, 1))(x, y)[0][1]`` is d2f / dx dy.
    With ``has_aux``, ``f`` returns ``(value, aux)`` and the call gives ``(hessian, aux)``, as
    ``jax.hessian``'s (``aux`` is not differentiated: detached, as :func:`grad`'s). A type
    checker sees it typed as :func:`grad` is.
    """
    inner = _grad(f, argnums, has_aux, "hessian")  # (gradient, aux) with has_aux
    return _jacobian(inner, argnums, "reverse", "hessian", has_aux)


@overload
def hvp(
    f: Callable[[Tensor], Tensor], primals: tuple[_Variable], tangents: Sequence[Any]
) -> Tensor: ...
@overload
def hvp(f: Callable[..., Tensor], primals: Sequence[Any], tangents: Sequence[Any]) -> Any: ...
def hvp(f: Callable[..., Tensor], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """The Hessian of scalar ``f`` at ``primals`` times ``tangents``, without forming the Hessian:
    one result shaped as the one primal (a type checker sees a ``Tensor`` for a 1-tuple of a
    tensor, an array or a number), else a tuple, one per primal.

    Reverse over reverse: d/dx <grad f(x), v>.
    """
    primals = _arguments(primals, "hvp", "primals")
    tangents = _arguments(tangents, "hvp", "tangents")
    with _Traced(primals, tuple(range(len(primals))), "hvp") as traced:
        value = _call_recorded(f, traced.args)
        _check_scalar_output(value, "hvp")
        nested = traced.reaches_outside([value])
    variables = traced.flat_variables
    grads = _gradient(value, variables, create_graph=True, op="hvp", unread=traced.refuse_unread)
    flat_tangents = _flatten_like(tuple(tangents), tree_flatten(primals)[1], "hvp", "tangent",
                                  "primal")  # fmt: skip
    _check_tangent_shapes("hvp", flat_tangents, variables, "primal")
    live = [(g, t) for g, t in zip(grads, flat_tangents) if g.requires_grad]
    products = (
        _gradient(
            [g for g, _ in live],
            variables,
            [t for _, t in live],
            create_graph=nested or _any_requires_grad(flat_tangents),
            op="hvp",
        )
        if live
        else [_zeros_like(v) for v in variables]
    )
    result = traced.rebuild(products)
    return result[0] if len(primals) == 1 else tuple(result)
