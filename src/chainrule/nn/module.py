"""Module: the base of every layer and network, owning parameters and their dotted names.

A module's parameters are its attributes that are :class:`Parameter` s (or leaf tensors
requiring a gradient, ``cr.tensor(w, requires_grad=True)``; a tensor an op computed, such as a
recurrent forward's hidden state ``self.h = h``, is a plain attribute, as in PyTorch, except one
set while the module is built, in ``__init__``, registered for the optimizer to refuse), each
named by its attribute where it has no name (a graph's label); its submodules are its
attributes that are modules; its buffers are the state it declares with
:meth:`Module.register_buffer` (running statistics, a dropout layer's generator).
``named_parameters`` walks them in the order they were set, so a
``Sequential(Linear(2, 3), Logistic(), Linear(3, 1))`` names its parameters ``0.weight``,
``0.bias``, ``2.weight``, ``2.bias``. Attributes live in the instance's ``__dict__``, so reading
``self.weight`` in ``forward`` costs no more than any Python attribute.

A module class that can be saved and loaded is registered by name, explicitly
(:func:`register_module`): a class that merely exists changes nothing that loads.
"""

from __future__ import annotations

import contextlib
import copy
import sys
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple, ParamSpec, Protocol, Self, SupportsIndex, TypeVar

import numpy as np

from chainrule import backend, engine
from chainrule.backend import to_numpy
from chainrule.checks import defined_alike, owner_of
from chainrule.errors import ConfigError, ShapeError, StateDictError, type_name
from chainrule.nn.init import parameter_dtype
from chainrule.tensor import Tensor, _grad_flag, check_writeable, forget_grad, replaced_data


class Parameter(Tensor):
    """A tensor that a module owns as a parameter wherever it is assigned, like PyTorch's.

    It requires a gradient unless created with ``requires_grad=False`` (a frozen weight): frozen
    or not, it is listed by ``named_parameters``, kept in the ``state_dict`` and saved with the
    model; an optimizer skips it while it has no gradient.

    >>> import chainrule as cr
    >>> layer = cr.nn.Linear(2, 1, rng=0)
    >>> layer.weight = cr.nn.Parameter(layer.weight.data, requires_grad=False)
    >>> [name for name, _ in layer.named_parameters()]
    ['weight', 'bias']
    """

    __slots__ = ()
    _updated_in_place = True  # frozen too: ``p *= 0.9`` keeps the object the module holds
    #: A parameter is a leaf, so its ``.grad`` needs no property (a tensor's warns for a
    #: non-leaf's): read and written through the slot itself, at a slot's cost, by every
    #: optimizer step
    grad = Tensor.__dict__["_grad"]

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __setattr__(self, name: str, value: Any) -> None:
        """``p.data = values`` (and ``p.data *= 0.5``) is checked and made known to backward
        (:func:`~chainrule.tensor.replaced_data`): a graph recorded before it is refused, as
        after an optimizer's step. Only a parameter pays for this hook (its writes: ``.grad``
        twice a step), never an op's output."""
        if name == "data":
            value = replaced_data(self, value)
        elif name == "requires_grad" and value is not True and value is not False:
            value = _parameter_flag(value)  # "no" was stored, and trained, unchecked
        _set_attribute(self, name, value)


_set_attribute = object.__setattr__


def _parameter_flag(value: Any) -> bool:
    """``p.requires_grad = value`` as a bool (NumPy's bool is one), or a TypeError naming the
    value, as ``requires_grad_`` refuses it: a string or a number was taken for its truth."""
    if isinstance(value, np.bool_):
        return bool(value)
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise TypeError(
        f"Parameter.requires_grad = {shown}: requires_grad must be True or False (False "
        f"freezes the parameter), not {type(value).__name__}"
    )


#: The serialisable module classes by the name their ``config()`` writes as "type".
_REGISTERED: dict[str, type[Module]] = {}


def register_module(cls: type | None = None, *, name: str | None = None) -> Any:
    """Register a Module subclass under ``name`` (its class name by default) for loading.

    :func:`from_config` (and so :func:`chainrule.io.load_model`) rebuilds only registered
    classes: a user class is registered explicitly, as Keras' ``register_keras_serializable``
    does, and a class that merely exists changes nothing. chainrule's own names ("Linear",
    "Sequential" ...) are reserved: registering another class under one raises ConfigError.
    Registering a class again under its own name is harmless (a re-run notebook cell).

    >>> import chainrule as cr
    >>> @cr.nn.register_module
    ... class Scale(cr.nn.Module):
    ...     def forward(self, x):
    ...         return x * 2
    ...     def config(self):
    ...         return {"type": "Scale"}
    >>> type(cr.nn.from_config({"type": "Scale"})).__name__
    'Scale'
    """

    def register(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, Module)):
            raise ConfigError(f"register_module: {cls!r} is not a Module subclass")
        key = cls.__name__ if name is None else str(name)
        known = _REGISTERED.get(key)
        # the same place is the same class reloaded (a notebook cell run again)
        if known is not None and not defined_alike(known, cls):
            raise ConfigError(
                f"register_module: the name {key!r} is taken by {owner_of(known)}; "
                f"register {cls.__qualname__} under another name, "
                f"e.g. @register_module(name='My{key}'), and write that name as its "
                "config()'s 'type'"
            )
        _REGISTERED[key] = cls
        return cls

    return register if cls is None else register(cls)


def registered_modules() -> dict[str, type[Module]]:
    """A copy of the registry: every name :func:`from_config` can rebuild, and its class."""
    return dict(_REGISTERED)


def _dtype_fix(loaded: np.dtype, kept: Any) -> str:
    """What to do about a state dict's array of another dtype, only what would make the load
    work: convert the array to the model's dtype, or, where the model's entry is floating and
    the array float32 or float64, the model to the array's (``model.to`` keeps an integer
    buffer integer, and takes no other float)."""
    floats = ("float32", "float64")
    array = f"the array first (.astype(np.{backend.dtype_name(kept)}))"
    if loaded.name in floats and backend.dtype_name(kept) in floats:
        return f"convert the model first with model.to({loaded.name!r}), or {array}"
    return f"convert {array}"


_Args = ParamSpec("_Args")
_Output = TypeVar("_Output", covariant=True)


class _Forward(Protocol[_Args, _Output]):
    """What calling a module runs: its ``forward``, whose arguments and output a type checker
    gives ``module(x)`` (:meth:`Module.__call__`)."""

    def forward(self, *args: _Args.args, **kwargs: _Args.kwargs) -> _Output: ...


class Module:
    """A piece of a network: call it on a batch to run ``forward``.

    Subclasses call ``super().__init__()`` first, then assign parameters (:class:`Parameter`,
    or any leaf tensor with ``requires_grad=True``) and submodules as attributes, declare other
    state with :meth:`register_buffer`, and define ``forward`` and ``config`` (and register the
    class with :func:`register_module` to load it from a file).
    Calling a module calls ``self.forward``: a mixin's ``__call__`` and a ``forward`` assigned to
    an instance are honoured. (:class:`~chainrule.nn.Sequential` skips the extra call frame for
    layers that keep this plain ``__call__``; that is the one speed trick, and it runs the same
    ``forward``.)

    >>> import chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(2, 3, rng=0), cr.nn.Logistic(), cr.nn.Linear(3, 1))
    >>> [name for name, _ in net.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    #: The registered (loadable) module classes by name: see :func:`register_module`.
    registry: ClassVar[dict[str, type[Module]]] = _REGISTERED

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_persistent", set())
        # the places of parameters that are None (Linear(bias=False)'s bias, a weight set to
        # None): they take a tensor or None only, as PyTorch's None parameter does
        object.__setattr__(self, "_empty_parameters", set())
        object.__setattr__(self, "training", True)

    def __deepcopy__(self, memo: dict) -> Self:
        """A deep copy, in which chainrule's default generator stays itself: a layer drawing from
        it (``Dropout()`` built without ``rng=``) still draws from it in the copy, and a fit
        seeds it from its ``seed`` (a plain copy of the default was a frozen generator of the
        copy's own, which a fit took for the user's and never seeded: a template network
        copied per trial drew masks from the default's state at the copy). Every other
        generator, a layer's own, is copied as it is."""
        from chainrule.creation import as_generator

        default = as_generator(None)
        memo.setdefault(id(default), default)
        # the deep copy Python makes without this method (a subclass's __slots__, its
        # __getstate__ and __setstate__ honoured), given the memo that keeps the default
        return copy._reconstruct(self, memo, *self.__reduce_ex__(4))

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        """Python's own (for pickle and a deep copy), after refusing a gradient that carries a
        graph by its name: a tensor's own refusal named no parameter and no way out. A layer
        drawing from chainrule's default generator (``Dropout()``) holds a marker in its place
        that unpickles as the receiving process's default (a pickle of the generator alone is
        NumPy's, its state): in a worker, a fit seeds it from the trainer's ``seed``, where a
        frozen copy of the sender's state was taken for the layer's own generator."""
        from chainrule.creation import THE_DEFAULT_GENERATOR, as_generator

        for name, param in self._named_parameters(in_use=False):
            grad = param._grad
            if grad is not None and grad._primitive is not None:
                raise RuntimeError(
                    f"{type(self).__name__}: {name}.grad was made by backward(create_graph=True) "
                    "and carries its graph, which copy.deepcopy and pickle do not take; clear "
                    "the gradients first (model.zero_grad() or cr.zero_grad(model))"
                )
        self._refuse_stored_graph()
        reduced = super().__reduce_ex__(protocol)
        default = as_generator(None)
        attributes = reduced[2] if isinstance(reduced, tuple) and len(reduced) > 2 else None
        if isinstance(attributes, tuple):  # (__dict__, a subclass's __slots__)
            attributes = attributes[0]
        if not isinstance(attributes, dict) or not any(
            value is default for value in (*attributes.values(), *self._buffers.values())
        ):
            return reduced

        def marked(fields: dict[str, Any]) -> dict[str, Any]:
            return {k: THE_DEFAULT_GENERATOR if v is default else v for k, v in fields.items()}

        attributes = {**marked(attributes), "_buffers": marked(self._buffers)}
        state = reduced[2]
        state = (attributes, state[1]) if isinstance(state, tuple) else attributes
        return (*reduced[:2], state, *reduced[3:])

    def _refuse_stored_graph(self) -> None:
        """Refuse, by its name, an attribute holding a tensor an op made (a forward that kept
        its hidden state, ``self.h = h``): the tensor's own refusal named no attribute."""
        for prefix, module in self.named_modules():
            for name, value in (*vars(module).items(), *module._buffers.items()):
                if isinstance(value, Tensor) and value._primitive is not None:
                    path = f"{prefix}.{name}" if prefix else name
                    raise RuntimeError(
                        f"{type(self).__name__}: copy.deepcopy and pickle take leaf tensors, "
                        f"and its attribute {path} was made by an op ({value._primitive.name}) "
                        f"and carries its graph: store it detached (self.{name} = "
                        f"{name}.detach()) or set it to None before copying"
                    )

    def __copy__(self) -> Self:
        """``copy.copy``: Python's own shallow copy (the same parameters, submodules and
        generator), which takes a gradient that carries a graph too: only a deep copy and
        pickle refuse it (:meth:`__reduce_ex__`)."""
        return copy._reconstruct(self, None, *object.__reduce_ex__(self, 4))

    def __setstate__(self, state: Any) -> None:
        """Python's own unpickling (and a deep copy's), which also reads a module pickled by an
        older chainrule: the fields added since are filled in from what it has. Before buffers
        (``_buffers``, ``_persistent``), its parameters were plain tensors, made
        :class:`Parameter` in place (the objects its optimizer holds too); before
        ``_empty_parameters``, no parameter was None but by the layer's own doing (a subclass
        fills its own fields in: :class:`~chainrule.nn.Linear`'s, ``Dropout``'s)."""
        attributes, slots = state if isinstance(state, tuple) else (state, None)
        fields = self.__dict__
        fields.update(attributes or {})
        if "_buffers" not in fields:
            for param in fields.get("_parameters", {}).values():
                if type(param) is Tensor:  # the same layout (Parameter has no slot of its own)
                    param.__class__ = Parameter
            fields["_buffers"], fields["_persistent"] = {}, set()
        fields.setdefault("_empty_parameters", set())
        for name, value in (slots or {}).items():  # a subclass's __slots__
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        _refuse_replacing_by_another_kind(self, name, value)
        if name == "requires_grad" and _freezes_nothing(self):
            raise AttributeError(_NO_MODULE_FLAG.format(type(self).__name__, value))
        if name == "training":  # read as truth by dropout: "no" was true
            value = _mode_flag(value, f"{type(self).__name__}.training", " (or call .train(mode))")
        if isinstance(value, (list, tuple, dict)):
            _refuse_unregistered_modules(self, name, value)
        if name in self._buffers:  # a declared buffer stays one (a new generator, new stats)
            _refuse_a_recorded_buffer(self, name, value, name in self._persistent)
            self._buffers[name] = value
            object.__setattr__(self, name, value)
            return
        parameters, empty = self._parameters, self._empty_parameters
        if not isinstance(value, Module):  # a submodule replaced by one keeps its place (and
            self._modules.pop(name, None)  # a Sequential's layer its position)
        was_parameter = name in parameters or name in empty
        if isinstance(value, Tensor) and (
            isinstance(value, Parameter)
            or (value.requires_grad and (value._primitive is None or _set_while_built()))
            or was_parameter
        ):
            # a parameter replaced (by a frozen tensor too) stays one, in its place in the order.
            # A tensor an op computed is a plain attribute, as in PyTorch: a recurrent forward's
            # hidden state ``self.h = h`` (an op's output in a parameter's place is refused),
            # unless set while the module is built (__init__), a weight: the optimizer names it
            parameters[name] = value
            if value.name is None and name.isidentifier():  # a graph's label, as Linear's
                value.name = name  # (not a ParameterList's "0", which reads as a constant)
            empty.discard(name)
        else:
            parameters.pop(name, None)
            if was_parameter:  # set to None (anything else was refused above): its place stays
                empty.add(name)
            elif isinstance(value, Module):
                self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._empty_parameters.discard(name)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        self._persistent.discard(name)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        """Declare ``param`` (any tensor, frozen too) as parameter ``name``, ``self.<name>``; with
        None, declare the place of a parameter that is absent, as PyTorch's
        ``Linear(bias=False)`` does: ``self.<name>`` is None, in no ``parameters()``, and takes
        only a tensor or None later (``layer.bias = nn.Parameter(b)`` registers one).
        Assigning None over a parameter leaves its place the same way.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"register_parameter: {name!r} is not a valid attribute name")
        if name in self._buffers or name in self._modules:
            raise ConfigError(
                f"register_parameter: {type(self).__name__}.{name} is already a buffer or module"
            )
        if param is not None and not isinstance(param, Tensor):
            raise TypeError(
                f"register_parameter: {type(self).__name__}.{name} must be a tensor or None, "
                f"not a value of type {type(param).__name__}"
            )
        self._empty_parameters.add(name)  # a parameter's place: assigning registers any tensor
        setattr(self, name, param)

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Declare ``value`` as this module's state that is not a parameter, as ``self.<name>``.

        An array (or tensor) buffer, such as running statistics, is kept in the ``state_dict``
        and saved with the model unless ``persistent=False``. Any other state, such as a dropout
        layer's ``numpy.random.Generator``, is never in the ``state_dict``; a trainer's
        checkpoint saves every generator buffer's state, so a resumed run draws the same
        numbers. Assigning ``self.<name>`` later replaces the buffer (an array buffer only by
        an array or tensor, or None, as PyTorch's only by a tensor: ``self.count = 5`` is a
        TypeError).
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"register_buffer: {name!r} is not a valid attribute name")
        if name in self._parameters or name in self._empty_parameters or name in self._modules:
            raise ConfigError(
                f"register_buffer: {type(self).__name__}.{name} is already a parameter or module"
            )
        _refuse_a_recorded_buffer(self, name, value, persistent)
        self._buffers[name] = value
        if persistent:
            self._persistent.add(name)
        else:
            self._persistent.discard(name)
        object.__setattr__(self, name, value)

    # -- running ------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(
        self: _Forward[_Args, _Output], *args: _Args.args, **kwargs: _Args.kwargs
    ) -> _Output:
        """Run ``forward`` (the instance's own, if one was assigned to it). A type checker reads
        the subclass's ``forward``: ``model(x)`` takes its arguments and has its return type
        (Any only where ``forward`` does not say)."""
        return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> Self:
        """Training mode (dropout active) for this module and all below it; returns ``self``.
        ``mode`` is a bool: anything else (``train('no')``, truthy) is a ``ValueError``, as in
        PyTorch, not stored as ``training`` for dropout to read as true."""
        mode = _mode_flag(mode, "train: mode")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Self:
        """Evaluation mode (dropout is the identity); returns ``self``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        """Set every parameter's ``requires_grad`` (this module's and all below it), as
        PyTorch's: ``requires_grad_(False)`` freezes the module (backward gives its parameters
        no gradient, so an optimizer holding them skips them), ``True`` unfreezes it. Returns
        ``self``. ``requires_grad`` is True or False (anything else is a ``TypeError``, as
        :meth:`Tensor.requires_grad_ <chainrule.Tensor.requires_grad_>` refuses it); a module
        has no flag of its own, so ``module.requires_grad = False`` is refused, naming this.

        >>> import chainrule as cr
        >>> net = cr.nn.mlp([2, 3, 1], rng=0)
        >>> [p.requires_grad for p in net[0].requires_grad_(False).parameters()]
        [False, False]
        """
        if requires_grad is not True and requires_grad is not False:
            requires_grad = _grad_flag(requires_grad, f"{type(self).__name__}.requires_grad_")
        for _, param in self._named_parameters(in_use=False):
            param.requires_grad_(requires_grad)
        return self

    # -- parameters ---------------------------------------------------------------------------
    def named_modules(
        self, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module ("") and every module below it. A module
        reached by two paths (shared) is listed once, where it is first met, as
        :meth:`named_parameters` names a shared parameter and as PyTorch does;
        ``remove_duplicate=False`` lists every path."""
        return self._named_modules(prefix, set() if remove_duplicate else None)

    def _named_modules(self, prefix: str, seen: set[int] | None) -> Iterator[tuple[str, Module]]:
        if seen is not None:
            if id(self) in seen:
                return
            seen.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            yield from module._named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self) -> list[Module]:
        """This module and every module below it, each once (:meth:`named_modules`)."""
        return [module for _, module in self.named_modules()]

    def children(self) -> list[Module]:
        """The direct submodules, in the order they were set."""
        return list(self._modules.values())

    def named_buffers(self) -> list[tuple[str, Any]]:
        """``(dotted name, buffer)`` for every buffer, e.g. ``("2.rng", generator)``."""
        return [
            (f"{prefix}.{name}" if prefix else name, value)
            for prefix, module in self.named_modules()
            for name, value in module._buffers.items()
        ]

    def buffers(self) -> list[Any]:
        """The buffers, in the order of :meth:`named_buffers`."""
        return [value for _, value in self.named_buffers()]

    def named_state(self) -> list[tuple[str, Tensor]]:
        """What the state dict and a model file hold, uncopied: every parameter (frozen ones
        too), then every persistent array buffer (as a tensor sharing the buffer's memory)."""
        pairs: list[tuple[str, Tensor]] = self._named_parameters(in_use=False)
        # a shared module's buffers under every path, as PyTorch's state_dict lists them (and
        # as every model file written so far holds them)
        for prefix, module in self.named_modules(remove_duplicate=False):
            for name in module._buffers:
                value = module._buffers[name]
                if name in module._persistent and _is_array(value):
                    tensor = value if isinstance(value, Tensor) else Tensor._wrap(value)
                    pairs.append((f"{prefix}.{name}" if prefix else name, tensor))
        return pairs

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """``(dotted name, parameter)`` pairs, e.g. ``("0.weight", W)``; shared ones listed once.
        In a :func:`functional_call`'s forward each is the value given in its place, as
        ``self.weight`` is there (and as in ``torch.func``): a weight penalty summed over
        ``self.parameters()`` reads the values being differentiated, not the model's own."""
        return self._named_parameters(in_use=True)

    def _named_parameters(self, in_use: bool) -> list[tuple[str, Tensor]]:
        """:meth:`named_parameters`, each as in use (``in_use``: a :func:`functional_call`'s
        value) or as registered: what the model's own state reads and writes (the state dict,
        ``load_state_dict``, ``zero_grad``, ``to``, pickling), which a call under way in another
        thread, or a load inside a forward, must not turn to the caller's arrays."""
        seen: set[int] = set()  # by the registered parameter: a tie is one, whatever its value
        pairs = []
        for prefix, module in self.named_modules():
            if not module._parameters:  # an activation: nothing to read
                continue
            values = _parameters_in_use(module).values() if in_use else module._parameters.values()
            for (name, param), value in zip(module._parameters.items(), values):
                if id(param) not in seen:
                    seen.add(id(param))
                    pairs.append((f"{prefix}.{name}" if prefix else name, value))
        return pairs

    def parameters(self) -> list[Tensor]:
        """The parameters, in the order of :meth:`named_parameters` (give these to an optimizer)."""
        return [param for _, param in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many numbers the parameters hold."""
        return sum(param.size for param in self.parameters())

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's accumulated gradient (``.grad`` adds up across backwards):
        None, or zeros with ``set_to_none=False`` (see :func:`chainrule.tensor.forget_grad`)."""
        for _, param in self._named_parameters(in_use=False):
            forget_grad(param, set_to_none)

    def to(self, dtype: Any = None, *, xp: Any = None, device: Any = None) -> Self:
        """Move every parameter and array buffer to another dtype, array library or device, in
        place.

        ``dtype`` is float32 or float64 (e.g. float64 for exact checks): the parameters and the
        floating-point array buffers (running statistics) take it, other buffers (integer
        counts) keep theirs, as in PyTorch. ``xp`` is an array library (``torch``, ``cupy``,
        ``jax.numpy``, ``array_api_strict``, ``numpy``) and ``device`` one of its devices
        (``"cuda"``, a ``jax.Device``); every array buffer moves with the parameters. The
        parameter tensors stay the same objects (an optimizer built before still holds them);
        their arrays are replaced, and so are their gradients' (``.grad`` is converted and
        moved with its parameter, as PyTorch's ``to`` does: backward, ``to``, then
        ``opt.step()`` steps by the gradient backward gave). ``dtype`` is checked as ``Linear``
        and ``mlp`` check theirs (:func:`chainrule.nn.init.parameter_dtype`: float16, bfloat16
        and longdouble are refused). Returns ``self``.

        >>> model = cr.nn.mlp([784, 256, 10]).to(xp=torch, device="cuda")  # doctest: +SKIP
        """
        target = None if dtype is None else parameter_dtype(dtype)
        for _, param in self._named_parameters(in_use=False):
            array = _converted(param.data, target, xp, device)
            if array is not param.data:  # a parameter's write is a change backward refuses
                param.data = array
            grad = param.grad
            if isinstance(grad, Tensor):  # the same gradient object, as PyTorch's ``to`` keeps
                grad.data = _converted(grad.data, target, xp, device)
        for module in self.modules():
            for name, value in list(module._buffers.items()):
                if not _is_array(value):  # a generator stays as it is
                    continue
                array = value.data if isinstance(value, Tensor) else value
                real = backend.is_real_floating(array.dtype, backend.array_module(array))
                buffer_dtype = target if real else None
                array = _converted(array, buffer_dtype, xp, device)
                if isinstance(value, Tensor):
                    value.data = array
                else:
                    setattr(module, name, array)
        return self

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype of the first parameter (None for a module without parameters)."""
        params = self.parameters()
        return None if not params else params[0].dtype

    # -- saving -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter (frozen ones too) and persistent array buffer as a NumPy
        array, keyed by dotted name."""
        return {
            name: np.array(to_numpy(value.data), copy=True) for name, value in self.named_state()
        }

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy ``state``'s arrays into the parameters, in place; returns the keys that did not
        match, ``(missing_keys, unexpected_keys)``, as PyTorch's does.

        Every key, shape and dtype is checked before anything is written: a mismatch raises
        :class:`StateDictError` naming the key and both shapes (or dtypes), and leaves the model
        as it was. So is a PyTorch module's own ``state_dict()``: its Linear weights are
        (n_out, n_in), chainrule's (n_in, n_out), and a square layer's would load without a
        shape error and compute other numbers (convert it with
        ``chainrule.interop.state_dict_from_torch`` first). With ``strict=False``, keys missing
        from ``state`` or not in the model are allowed (the parameters ``state`` names are
        loaded, the others kept); the shapes and dtypes of those loaded are checked all the
        same, as in PyTorch. Anything but a mapping (None, a list of pairs) is a ``TypeError``.

        A tied parameter (a module used twice, ``Sequential(lin, act, lin)``, or one Parameter
        set on two modules) is loaded from any one of its names: the state dict names it once
        (``0.weight``), PyTorch's under every name (``0.weight`` and ``2.weight``), and both
        load strictly. Values given under two of its names must be equal (the one array is
        loaded once); different values are a :class:`StateDictError` naming the tie, and a
        shared module's buffer, listed under every path, is checked the same way.
        """
        # None said "argument of type 'NoneType' is not iterable"
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict expects a dict of name -> array (model.state_dict()), not "
                f"{type_name(state)}"
            )
        if _is_torch_modules_state(state):
            raise StateDictError(
                f"load_state_dict: this is a PyTorch module's state_dict, whose Linear weights "
                f"are (n_out, n_in) where {type(self).__name__}'s are (n_in, n_out) (w_ij); a "
                "square layer would load and compute other numbers. Convert it first: "
                "model.load_state_dict(chainrule.interop.state_dict_from_torch(state, "
                "model=model)), or build "
                "the model with chainrule.interop.from_torch(module)"
            )
        listed = [name for name, _ in self.named_state()]  # the keys state_dict writes
        groups, tensors = _state_names(self)
        group_of = {name: group for group in groups for name in group}
        missing = [name for name in listed if not any(n in state for n in group_of[name])]
        unexpected = [name for name in state if name not in tensors]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise StateDictError(
                f"load_state_dict: {type(self).__name__} {' and '.join(parts)} "
                f"(the model has {listed})"
            )
        arrays = {}
        for name in (name for name in tensors if name in state):
            param = tensors[name]
            array = _incoming_array(name, state[name], param.dtype)
            if array.shape != param.shape:
                raise StateDictError(
                    f"load_state_dict: {name!r} has shape {tuple(param.shape)} in the model but "
                    f"{tuple(array.shape)} in the state dict{_transposed_hint(array, param)}"
                )
            if array.dtype.name != backend.dtype_name(param.dtype):
                raise StateDictError(
                    f"load_state_dict: {name!r} is {param.dtype} in the model but {array.dtype} "
                    f"in the state dict; {_dtype_fix(array.dtype, param.dtype)}"
                )
            # written in place below: a read-only one named now, before anything is written
            check_writeable(param.data, "load_state_dict", repr(name))
            arrays[name] = array
        # one array under several names (a tied parameter, a shared module's buffer) is loaded
        # once, from the first name given; the others must give the same values
        loads = []
        for group in groups:
            given = [name for name in group if name in arrays]
            if given:
                _refuse_two_values_for_one_array(self, group, given, arrays)
                loads.append((tensors[given[0]], arrays[given[0]]))
        # an in-place change, as an optimizer's step: a graph recorded before the load and
        # differentiated after it is refused (it would mix the old weights with the new)
        now = engine.note_write()
        for param, array in loads:
            backend.write(param, backend.asarray_like(array, param.data))
            engine.note_written(param.data, now)  # the array backward will read
        return IncompatibleKeys(missing, unexpected)

    def config(self) -> dict[str, Any]:
        """A JSON-able description of the architecture; :func:`from_config` rebuilds it."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define config(); define it (returning a dict with "
            "'type' and the constructor's arguments) to save this module"
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        """Build a fresh module (new weights) from ``config()``'s output."""
        kwargs = {key: value for key, value in config.items() if key != "type"}
        try:
            return cls(**kwargs)
        except TypeError as error:
            raise ConfigError(f"from_config: cannot build {cls.__name__}: {error}") from None

    # -- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown inside this module's repr."""
        return ""

    def __repr__(self) -> str:
        """``Linear(2, 3)``; a module with children gets a line for its own arguments (if
        any), then one per child, as PyTorch prints them."""
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, module in self._modules.items():
            lines.append(f"({name}): {repr(module)}")
        body = "\n".join(lines).replace("\n", "\n  ")
        return f"{type(self).__name__}(\n  {body}\n)"


def _refuse_unregistered_modules(module: Module, name: str, value: Any) -> None:
    """Refuse a plain list, tuple or dict holding modules or parameters: PyTorch keeps it as a
    plain attribute without a word, so its layers' parameters (or the parameters themselves)
    are in no ``parameters()``, optimizer or ``state_dict`` (they get gradients that nothing
    steps, zeroes or saves), and ``train()``, ``eval()`` and ``to()`` miss them.
    ``nn.ModuleList`` / ``nn.ModuleDict`` register modules, ``nn.ParameterList`` /
    ``nn.ParameterDict`` parameters. A list of anything else (sizes, names, arrays, tensors
    that are not parameters) is kept as before, and so is a list of modules or parameters this
    module has registered already (``self.decayed = [self.fc.weight]``: a second reference, as
    in PyTorch; compared by identity)."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    registered: set[int] | None = None  # ids of this module's modules and parameters, if asked
    for key, item in items:
        if isinstance(item, Module):
            held, theirs, containers = "modules", "their parameters", ("ModuleDict", "ModuleList")
        elif isinstance(item, Parameter):
            held, theirs, containers = "parameters", "they", ("ParameterDict", "ParameterList")
        else:
            continue
        if registered is None:
            registered = {id(m) for m in module.modules()} | {
                id(p) for _, p in module._named_parameters(in_use=False)
            }
        if id(item) in registered:
            continue
        kind = type(value).__name__
        container = (
            f"nn.{containers[0]}({{...}})"
            if isinstance(value, dict)
            else f"nn.{containers[1]}([...])"
        )
        raise TypeError(
            f"{type(module).__name__}.{name}: a {kind} holding {held} ({kind}[{key!r}] is "
            f"{type(item).__name__}) would not be registered: {theirs} would be in no "
            "parameters(), optimizer or state_dict, and train(), eval() and to() would miss "
            f"them; hold them in {container}, as in PyTorch (or keep the reference "
            "unregistered on purpose with object.__setattr__)"
        )


#: The refusal of ``module.requires_grad = flag``, which stored a plain attribute that froze
#: nothing (PyTorch's does the same, silently): the flag is each parameter's
_NO_MODULE_FLAG = (
    "{0}.requires_grad = {1!r}: a module has no requires_grad flag of its own (its parameters "
    "each have one), so this would freeze nothing; set every parameter's with "
    "module.requires_grad_({1!r}), or one parameter's, e.g. module.weight.requires_grad = {1!r}"
)


def _freezes_nothing(module: Module) -> bool:
    """Whether ``module.requires_grad = flag`` is the slip :data:`_NO_MODULE_FLAG` names: not
    where the class defines the attribute (a property, a class default), nor where the module
    keeps a flag of its own, set while it is built (its ``__init__``: a config flag)."""
    if hasattr(type(module), "requires_grad") or "requires_grad" in module.__dict__:
        return False
    return not _set_while_built(module)


def _mode_flag(mode: Any, what: str, advice: str = "") -> bool:
    """``mode``, a module's ``training`` flag, as a bool; anything else (``"no"``, truthy, and
    ``0``) is a ``ValueError`` naming ``what`` was given it, as PyTorch's ``train`` refuses."""
    if not isinstance(mode, (bool, np.bool_)):
        raise ValueError(f"{what} must be True or False, not {mode!r}{advice}")
    return bool(mode)


def _set_while_built(module: Module | None = None) -> bool:
    """Whether the attribute :meth:`Module.__setattr__` sets is set while a module is built:
    in its ``__init__`` or a ``reset_parameters`` (called from it, as PyTorch's layers do),
    found before any ``forward`` among the calls that led here. A tensor an op computed there
    (``self.w = cr.randn(3, requires_grad=True) * 0.01``) was meant as a weight: it is
    registered, and the optimizer refuses it naming it (make it a leaf), where as a plain
    attribute it was silently never trained. Anywhere else (a forward, a hidden state kept by
    a ``step`` or a sampling loop, an output kept by a training loop) it is a plain
    attribute, as in PyTorch. Asked only of a computed tensor that needs a gradient, and of
    a module's ``requires_grad`` written (:func:`_freezes_nothing`): with ``module`` given, only
    that module's own building counts (a parent's ``__init__`` writing
    ``self.encoder.requires_grad = False`` is the slip, not a flag of the parent's)."""
    frame = sys._getframe(2)  # past this function and Module.__setattr__
    while frame is not None:
        name = frame.f_code.co_name
        if name == "forward":
            return False
        if name in ("__init__", "reset_parameters"):
            owner = frame.f_locals.get("self")
            if owner is module if module is not None else isinstance(owner, Module):
                return True
        frame = frame.f_back
    return False


def _refuse_a_recorded_buffer(module: Module, name: str, value: Any, persistent: bool) -> None:
    """Refuse a persistent buffer set to a tensor the graph recorded (running statistics updated
    without ``cr.no_grad()``: ``self.running_mean = 0.9 * self.running_mean + 0.1 *
    cr.mean(x, 0)``): each step's graph then reached back through the last one's, so memory
    grew step by step and a later backward raised GraphFreedError far from the line at fault.
    A non-persistent buffer (``persistent=False``) may hold one, as PyTorch's may: a cache of
    this step's keys and values (``self.kv_cache = k``) that the step's loss backpropagates
    through, replaced each step. A parameter computed from others is refused alike
    (:func:`_refuse_replacing_by_another_kind`)."""
    if not persistent or not isinstance(value, Tensor) or value.is_leaf:
        return
    held = module._buffers.get(name)  # an array (not a tensor) is written in place
    in_place = _is_array(held) and not isinstance(held, Tensor)
    update = f"module.{name}[...] = ... (in place)" if in_place else f"module.{name} = ..."
    raise TypeError(
        f"{type(module).__name__}.{name} is a buffer: cannot set it to the output of "
        f"'{value.op}', a tensor recorded in the graph (every step's graph would reach back "
        f"into the last one's: memory grows, and a later backward fails); update it without "
        f"a graph, with cr.no_grad(): {update}, or assign value.detach()"
    )


def _refuse_replacing_by_another_kind(module: Module, name: str, value: Any) -> None:
    """Refuse, as PyTorch does, a parameter replaced by what is not a tensor, a submodule by
    what is not a module, or an array buffer by what is not an array (None takes any away):
    ``lin.weight = np.eye(2)`` dropped the weight from ``parameters()`` and ``state_dict()``
    without a word, and forward then failed on the array's ``.data``, a memoryview; a running
    count set to ``5`` or statistics to a list left the ``state_dict`` as silently. A
    parameter's place that holds None (``Linear(bias=False)``'s bias) takes a tensor only:
    ``lb.bias = np.ones(2)`` was kept as a plain attribute that forward then failed on."""
    if value is None:
        return
    if _is_array(module._buffers.get(name)) and not _is_array(value):
        raise TypeError(
            f"{type(module).__name__}.{name} is an array buffer: cannot replace it by a value of "
            f"type {type(value).__name__} (an array, a tensor, or None expected); assign "
            f"np.asarray(value), or write the values in place: module.{name}[...] = values"
        )
    current = module._parameters.get(name)
    places_leaf = name in module._empty_parameters or (current is not None and current.is_leaf)
    if places_leaf and isinstance(value, Tensor) and not value.is_leaf:
        # kept, it was a "parameter" with no .grad that no optimizer takes: the update
        # ``lin.weight = lin.weight - lr * lin.weight.grad`` failed on None at the next step.
        # A computed tensor under a new name is a plain attribute, as in PyTorch (a recurrent
        # forward's ``self.h = h``), which a later one replaces
        raise TypeError(
            f"{type(module).__name__}.{name} is a parameter: cannot replace it by the output of "
            f"'{value.op}', a tensor computed from others (nn.Parameter, a leaf tensor, or None "
            f"expected: backward gives a computed one no .grad and no optimizer steps it); to "
            f"update the parameter, change it in place: with cr.no_grad(): "
            f"module.{name} -= lr * module.{name}.grad; or give a new one: "
            f"module.{name} = nn.Parameter(values.detach())"
        )
    if name in module._parameters and not isinstance(value, Tensor):
        raise TypeError(
            f"{type(module).__name__}.{name} is a parameter: cannot replace it by a value of type "
            f"{type(value).__name__} (a tensor, nn.Parameter(...), or None expected); to set "
            f"its values, write them in place: module.{name}.data[...] = values"
        )
    if name in module._empty_parameters and not isinstance(value, Tensor):
        raise TypeError(
            f"{type(module).__name__}.{name} is a parameter, None for now: cannot set it to a "
            f"value of type {type(value).__name__} (a tensor, nn.Parameter(...), or None "
            f"expected); to give it values: module.{name} = nn.Parameter(values)"
        )
    if name in module._modules and not isinstance(value, Module):
        raise TypeError(
            f"{type(module).__name__}.{name} is a submodule: cannot replace it by a value of type "
            f"{type(value).__name__} (a Module or None expected)"
        )


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """Run ``model`` in evaluation mode (dropout the identity) inside the block, and leave it in
    the mode it was in: a probe or a prediction made in training mode would draw dropout masks
    from the run's own generators. Each module is left in its own mode, as a user may have put
    one dropout layer alone in evaluation mode (``model.train(mode)`` would set all of them). A
    model without modes (a plain callable) runs as it is."""
    modules = model.modules() if isinstance(model, Module) else [model]
    modes = [(module, getattr(module, "training", False)) for module in modules]
    if hasattr(model, "eval"):
        model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            if isinstance(module, Module):  # this module alone, not the ones below it
                object.__setattr__(module, "training", training)
            elif hasattr(module, "train"):
                module.train(training)


@contextlib.contextmanager
def outputs_of(modules: Sequence[Module]) -> Iterator[list[tuple[Module, Any]]]:
    """Record what ``modules`` return while the block runs the model they belong to: a list of
    ``(module, output)``, one per call, in the order the calls were made (a module used at two
    places of a Sequential twice). A call made while another of ``modules`` runs (a unit inside
    a recorded Parallel's branch) is part of that one's output and is not listed.

    A forward hook: each module is given, for the block, an instance ``forward`` calling its own
    (which both ``module(x)`` and a Sequential's ``layer.forward(x)`` run), taken off after,
    whatever the block raised, so the module computes and compares (``computes_as``) as before.
    """
    calls: list[tuple[Module, Any]] = []
    running = [0]  # how many recorded calls are under way: only the outermost are listed

    def recording(module: Module, forward: Any) -> Any:
        def forward_and_record(*args: Any, **kwargs: Any) -> Any:
            running[0] += 1
            try:
                output = forward(*args, **kwargs)
            finally:
                running[0] -= 1
            if not running[0]:
                calls.append((module, output))
            return output

        return forward_and_record

    hooked = list({id(module): module for module in modules}.values())  # each once
    own = [{k: v for k, v in module.__dict__.items() if k == "forward"} for module in hooked]
    try:
        for module in hooked:
            module.__dict__["forward"] = recording(module, module.forward)
        yield calls
    finally:
        for module, kept in zip(hooked, own):
            module.__dict__.pop("forward", None)
            module.__dict__.update(kept)  # an instance forward of the user's own, put back


#: How the command line, a process of its own, learns a class of the user's that a file names:
#: the end of every refusal of an unregistered class at load (a module, a loss)
ON_THE_COMMAND_LINE = (
    "on the command line, chainrule --import MODULE imports the module that registers it"
)


def from_config(config: Mapping[str, Any]) -> Module:
    """Rebuild a module (with fresh weights) from ``module.config()``; load weights after.

    >>> import chainrule as cr
    >>> net = cr.nn.mlp([2, 3, 1], output="logistic", rng=0)
    >>> again = cr.nn.from_config(net.config())
    >>> again.load_state_dict(net.state_dict())
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    """
    if not isinstance(config, Mapping) or "type" not in config:
        raise ConfigError(f"from_config: expected a dict with a 'type' key, got {config!r}")
    kind = config["type"]
    cls = _REGISTERED.get(kind)
    if cls is None:
        known = ", ".join(sorted(_REGISTERED))
        raise ConfigError(
            f"from_config: unknown module type {kind!r}; known types: {known} (a class of your "
            f"own loads once registered with @chainrule.nn.register_module; {ON_THE_COMMAND_LINE})"
        )
    return cls.from_config(config)


def _state_names(module: Module) -> tuple[list[list[str]], dict[str, Tensor]]:
    """Every array of the state under each name that reaches it, the state dict's key first
    (a tied parameter: ``Sequential(lin, act, lin)``'s ``0.weight`` then ``2.weight``, as
    PyTorch's ``state_dict`` lists both; a shared module's buffer, which the state dict lists
    under each path), and the tensor behind every name."""
    tensors = dict(module.named_state())
    _, tied = _parameter_places(module)
    groups: dict[int, list[str]] = {}  # by the identity of the parameter or buffer
    for name, param in module._named_parameters(in_use=False):
        groups[id(param)] = tied[name]
        for alias in tied[name]:
            tensors.setdefault(alias, param)
    for prefix, owner in module.named_modules(remove_duplicate=False):
        for attr, value in owner._buffers.items():
            name = f"{prefix}.{attr}" if prefix else attr
            if name in tensors and name not in tied:  # a persistent array buffer
                groups.setdefault(id(value), []).append(name)
    return list(groups.values()), tensors


def _refuse_two_values_for_one_array(
    module: Module, group: list[str], given: list[str], arrays: Mapping[str, np.ndarray]
) -> None:
    """Refuse a state dict that gives one tied parameter (or shared buffer) two different
    values under two of its names: the module holds one array there, so one of them would be
    dropped without a word. Equal values (what PyTorch's ``state_dict`` of a tied module
    holds) are one value, loaded once."""
    first = arrays[given[0]]
    for other in given[1:]:
        if not _same_values(first, arrays[other]):
            raise StateDictError(
                f"load_state_dict: {given[0]!r} and {other!r} name one array of "
                f"{type(module).__name__}, tied (the same parameter or buffer under the names "
                f"{group}: a module used twice, or one Parameter set on two modules), which "
                "holds one value, but the state dict gives them different values; give equal "
                f"values (or only {group[0]!r}), or build separate layers where the weights "
                "should differ"
            )


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays of one shape and dtype hold the same values (NaN equal to NaN)."""
    try:
        return bool(np.array_equal(a, b, equal_nan=True))
    except TypeError:  # a dtype without NaN that isnan refuses
        return bool(np.array_equal(a, b))


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` did not match: the model's keys ``state`` lacks, and
    ``state``'s keys the model has not (both empty after a strict load)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _converted(array: Any, dtype: np.dtype | None, xp: Any, device: Any) -> Any:
    """``array`` in library ``xp`` on ``device`` and in ``dtype``, each where given: moved,
    then cast; cast first where the destination cannot hold the dtype it has now (float64
    made float32 for array-api-strict's ``no_float64`` device)."""
    if xp is None and device is None:
        return array if dtype is None else backend.astype(array, dtype)
    try:
        array = backend.move(array, xp, device)
    except backend.ArrayLibraryError:
        if dtype is None:
            raise
        return backend.move(backend.astype(array, dtype), xp, device)
    return array if dtype is None else backend.astype(array, dtype)


def _is_torch_modules_state(state: Mapping[str, Any]) -> bool:
    """Whether ``state`` is what a PyTorch module's ``state_dict()`` returns: an OrderedDict
    carrying PyTorch's ``_metadata`` (module versions), with torch tensors in it. A state dict
    converted by ``interop.state_dict_from_torch`` is a plain dict of NumPy arrays."""
    return getattr(state, "_metadata", None) is not None and any(
        _is_torch(value) for value in state.values()
    )


def _incoming_array(name: str, value: Any, kept: Any) -> np.ndarray:
    """A state dict's entry as a host array: a Tensor's array, any library's array (a PyTorch
    tensor on a GPU too, through ``backend.to_numpy``), a list. A PyTorch tensor that requires
    grad is a PyTorch module's parameter (``dict(net.named_parameters())``), laid out (n_out,
    n_in): refused naming the conversion, where ``.numpy()``'s bare "Can't call numpy() on
    Tensor that requires grad" was raised (and a square layer's, detached, would load
    transposed). A list, a tuple or a Python number has no dtype (a state dict read back from
    JSON): it is read in the dtype ``kept`` of the entry it loads (:func:`_listed_array`)."""
    if isinstance(value, (list, tuple, int, float, complex)):
        return _listed_array(value, kept)
    if isinstance(value, Tensor):
        return to_numpy(value.data)
    if _is_torch(value) and getattr(value, "requires_grad", False):
        raise StateDictError(
            f"load_state_dict: {name!r} is a PyTorch parameter (a tensor that requires grad), "
            "so the state dict is a PyTorch module's, whose Linear weights are (n_out, n_in) "
            "where chainrule's are (n_in, n_out) (w_ij); convert it first: "
            "model.load_state_dict(chainrule.interop.state_dict_from_torch(state, "
            "model=model)), which detaches and transposes them"
        )
    return to_numpy(value)


def _listed_array(value: Any, kept: Any) -> np.ndarray:
    """Numbers listed in a state dict, in the dtype ``kept`` of the entry they load: beside a
    floating entry as an op reads a list beside a floating tensor
    (:func:`~chainrule.backend.list_operand`: float32 stays float32, where NumPy reads the
    floats as float64 and the load refused them), beside an integer or boolean one where
    each number is held exactly. Other numbers (a float for an integer buffer, a complex one
    for a float, an integer past the range) keep NumPy's reading, which the dtype check
    refuses, naming both."""
    try:
        like = np.empty(0, np.dtype(backend.dtype_name(kept)))
    except TypeError:  # a dtype NumPy lacks (torch's bfloat16): NumPy's reading, checked
        return np.asarray(value)
    if _holds_typed(value):  # arrays listed have a dtype: as one array of them would
        return np.asarray(value)
    with np.errstate(over="ignore"):  # a number past the dtype's range: refused below
        read = backend.list_operand(value, like)
    if like.dtype.kind == "f" and not np.isfinite(read).all():
        wide = np.asarray(value)  # 1e300 for a float32 entry was cast to inf: refused
        if np.isfinite(wide).sum() > np.isfinite(read).sum():
            return wide
    if like.dtype.kind in "biu" and read.dtype.kind in "biu" and read.dtype != like.dtype:
        held = read.astype(like.dtype)
        return held if np.array_equal(held, read) else read
    return read


def _holds_typed(value: Any) -> bool:
    """Whether numbers listed in ``value`` (nested lists and tuples) include arrays, tensors or
    NumPy numbers of their own dtype (a Python float, NumPy's float64 too, has none)."""
    if isinstance(value, (list, tuple)):
        return any(_holds_typed(item) for item in value)
    return isinstance(value, (np.ndarray, Tensor)) or (
        isinstance(value, np.generic) and not isinstance(value, (int, float, complex))
    )


def _is_torch(value: Any) -> bool:
    """Whether ``value`` is of PyTorch (found by its module: nn never imports torch)."""
    return type(value).__module__.partition(".")[0] == "torch"


def _transposed_hint(array: np.ndarray, param: Any) -> str:
    """For a 2-D entry whose shape is the model's transposed, the likely reason: PyTorch's
    (n_out, n_in) layout of a Linear weight, and the conversion that transposes it."""
    if array.ndim != 2 or array.shape != tuple(param.shape)[::-1]:
        return ""
    return (
        "; that is the model's shape transposed: PyTorch's (n_out, n_in) layout of a Linear "
        "weight, where chainrule's is (n_in, n_out). Convert a PyTorch state dict with "
        "chainrule.interop.state_dict_from_torch(state, model=model), which transposes the "
        "model's Linear weights and no other array (an embedding table keeps its layout)"
    )


def _is_array(value: Any) -> bool:
    return isinstance(value, Tensor) or (hasattr(value, "shape") and hasattr(value, "dtype"))


def functional_call(module: Module, params: Mapping[str, Tensor], *args: Any, **kwargs: Any):
    """Call ``module`` with some parameters replaced by the tensors in ``params`` (by dotted name;
    an array stands in as a tensor that needs no gradient). The arguments after ``params`` are
    the forward's, one by one, as ``module(*args, **kwargs)`` takes them:
    ``functional_call(net, params, x)``, not ``torch.func.functional_call``'s tuple ``(x,)``
    (a layer refuses a tuple of one array, and of arrays of different shapes). In the forward,
    ``self.weight``, ``self.parameters()`` and ``named_parameters()`` give the values given,
    as in ``torch.func``. A NumPy array or a list joins the
    library and device of the parameter it replaces, as it joins an op's other operand, so
    ``functional_call(model, model.state_dict(), x)`` runs on a PyTorch or JAX model too (its
    ``state_dict`` holds NumPy copies). A tensor never moves, as in any op: where the forward
    meets a tensor (or an array of a third library) of another library or device than the
    parameter it replaces beside the model's own arrays, the op's
    :class:`~chainrule.backend.ArrayLibraryError` names that parameter too (a forward that
    meets no such mix, every parameter and the input given on one library, runs there).
    Where a value of another shape than the parameter it replaces is refused in the forward
    (a ``Linear`` refuses any but its own), the :class:`ShapeError` names that parameter too.

    The module is restored afterwards. This turns a network into a function of its weights, for
    :func:`chainrule.gradcheck` or :func:`chainrule.grad`:

    >>> import chainrule as cr
    >>> net = cr.nn.Linear(2, 1, dtype="float64", rng=0)
    >>> x = cr.tensor([[1.0, 2.0]])
    >>> f = lambda W: functional_call(net, {"weight": W}, x).sum()
    >>> bool(cr.gradcheck(f, [net.weight.data]))
    True

    Differentiate with respect to the model's own arrays. On a NumPy model the state dict
    does as well (``cr.grad(f)(net.state_dict())``), but on another library it does not: a
    transform makes its NumPy copies tensors of NumPy, which are refused beside a PyTorch or
    JAX model; pass ``{k: p.data for k, p in model.named_parameters()}`` instead, whose
    gradients come back in the model's library.

    A tied parameter (a module used twice, ``Sequential(lin, act, lin)``, or one Parameter
    set on two modules) is one parameter under several names (``"0.weight"`` and
    ``"2.weight"``): a value given under any one of them is used at every use, and its
    gradient is the whole gradient, the sum over the uses, as ``torch.func.functional_call``
    and ``torch.func.grad`` give. Values under two of its names are a ``ValueError`` naming
    them, as in PyTorch, unless they are one object; equal values are refused too (under
    :func:`chainrule.grad` each is a variable of its own). :meth:`Module.named_parameters`
    and the state dict name it once.

    Threads: calls on one module from several threads (L-BFGS from several starts in a
    ``ThreadPoolExecutor``, each through ``functional_call``) take turns, by a lock on that
    module (the one passed, re-entrant), so each gets its own values' result and the module
    holds its own parameters after every call. Calls on different modules that share a
    submodule (a call on the network and one on its first layer) do not take turns: each
    may see the other's values, or the submodule's own, there while both are under way, and
    the shared submodule holds its own parameters once both are done. A plain ``module(x)``
    (or any other use of the module) in another thread while a call is under way takes no
    turn: it sees the values swapped in, as with ``torch.func.functional_call``; so does a
    forward that hands a submodule's work to a worker thread (an ensemble evaluating its
    members in a thread pool, by calling them or by ``functional_call`` on them). A call
    nested in another's forward, in the same thread, sees the outer call's values wherever
    it swaps none of its own.
    """
    places, tied = _parameter_places(module)
    for name in params:
        if name not in places:
            raise KeyError(f"functional_call: {type(module).__name__} has no parameter {name!r}")
    _refuse_two_values_for_one_parameter(module, params, tied)
    # one lock, the root's (re-entrant): a lock on every module of the tree made a forward
    # that hands a submodule's call to another thread wait for itself
    with _call_lock(module):
        return _swapped_call(module, params, places, tied, args, kwargs)


def _swapped_call(
    module: Module,
    params: Mapping[str, Any],
    places: dict[str, tuple[Module, str]],
    tied: dict[str, list[str]],
    args: tuple,
    kwargs: dict[str, Any],
) -> Any:
    """functional_call's work, its turn on the module taken: swap, call, put back."""
    placed = _placed_by_this_thread()
    swapped, moved = [], []  # moved: parameters given on another library or device
    resized = []  # parameters given in another shape, named if the forward refuses one
    done = set()  # tied parameters replaced: by the first of their names
    try:
        for name, value in params.items():
            if tied[name][0] in done:  # the same object again, under another of its names
                continue
            done.add(tied[name][0])
            owner, attr = places[name]
            replaced = owner.__dict__[attr]
            given = value if isinstance(value, Tensor) else _stand_in(value, replaced)
            if _elsewhere(given, replaced):
                moved.append((name, value, given, replaced))
            if isinstance(replaced, Tensor) and tuple(given.shape) != tuple(replaced.shape):
                resized.append((name, tuple(given.shape), tuple(replaced.shape)))
            # a tied parameter is replaced wherever it is used, whichever name gave it: one
            # parameter, one value, and its gradient the sum over every use
            for holder, slot in (places[each] for each in tied[name]):
                swapped.append((holder, slot))
                placed.setdefault((id(holder), slot), []).append(given)
                holder.__dict__[slot] = given  # bypass registration: a temporary stand-in
        return module(*args, **kwargs)
    except backend.ArrayLibraryError as error:
        if not moved:
            raise
        raise _naming_the_parameter(error, *moved[0]) from error
    except ShapeError as error:  # a layer names its part ("Linear(3, 4).bias"), not its path
        if not resized:
            raise
        shapes = "; ".join(
            f"{name!r} was given shape {given}, but the parameter it replaces has {own}"
            for name, given, own in resized
        )
        raise ShapeError(f"{error}. functional_call: {shapes}") from error
    finally:
        # put back the value of a call of this thread under way around this one (a nested
        # call), else the module's own registered parameter: never a value found in the slot,
        # which may be a stand-in another call left there
        for owner, attr in reversed(swapped):
            stack = placed[(id(owner), attr)]
            stack.pop()
            if stack:
                owner.__dict__[attr] = stack[-1]
                continue
            del placed[(id(owner), attr)]
            if attr in owner._parameters:
                owner.__dict__[attr] = owner._parameters[attr]


#: Per module (by id, dropped with the module): the lock functional_call takes its turn by
_call_locks: dict[int, threading.RLock] = {}
_call_locks_guard = threading.Lock()
#: Per thread: the stand-ins its functional_calls under way have put in each (module, slot)
_placed = threading.local()


def _call_lock(module: Module) -> threading.RLock:
    """``module``'s functional_call lock, made at its first call (an RLock: a call nested in a
    forward, in the same thread, takes its turn again). Kept outside the module, which a
    deep copy or pickle copies whole."""
    key = id(module)
    lock = _call_locks.get(key)  # made already: no guard needed to read it
    if lock is None:
        with _call_locks_guard:
            lock = _call_locks.get(key)
            if lock is None:
                lock = _call_locks[key] = threading.RLock()
                weakref.finalize(module, _call_locks.pop, key, None).atexit = False
    return lock


def _parameters_in_use(module: Module) -> dict[str, Any]:
    """``module``'s own parameters by name, each as its attribute holds it now: the registered
    parameter, or the value a :func:`functional_call` under way has put in its place (the call
    swaps the attribute, never the registration). A container of parameters reads its items
    here, so ``pl[0]`` or ``pd["a"]`` in a forward sees the value given, as ``self.weight``
    does, where reading ``_parameters`` used the model's own and gave a gradient of zeros."""
    held = module.__dict__
    return {name: held.get(name, param) for name, param in module._parameters.items()}


def _placed_by_this_thread() -> dict[tuple[int, str], list[Any]]:
    placed = getattr(_placed, "slots", None)
    if placed is None:
        placed = _placed.slots = {}
    return placed


def _parameter_places(
    module: Module,
) -> tuple[dict[str, tuple[Module, str]], dict[str, list[str]]]:
    """Where each parameter name points, ``name -> (owner, attribute)``, for every path to it
    (a shared module's second path too), and ``name -> every name of that parameter``: a
    parameter reached by several names (a module used twice, or one Parameter set on two
    modules) is tied, one parameter, as PyTorch's ``named_parameters(remove_duplicate=False)``
    groups them by identity."""
    places: dict[str, tuple[Module, str]] = {}
    names_of: dict[int, list[str]] = {}  # by id of the parameter: its names, first met first
    for prefix, owner in module.named_modules(remove_duplicate=False):
        for attr, param in owner._parameters.items():
            name = f"{prefix}.{attr}" if prefix else attr
            places[name] = (owner, attr)
            names_of.setdefault(id(param), []).append(name)
    return places, {name: names for names in names_of.values() for name in names}


def _refuse_two_values_for_one_parameter(
    module: Module, params: Mapping[str, Any], tied: dict[str, list[str]]
) -> None:
    """Refuse values given under two names of one tied parameter unless they are one object,
    as ``torch.func.functional_call`` does: the module has one array there, so one value
    would be silently dropped (equal values are refused too: two tensors are two variables,
    each of which would get only its part of the gradient)."""
    for name, value in params.items():
        given = [other for other in tied[name] if other in params]
        if given[0] != name:  # checked once, at the first given name of the parameter
            continue
        if any(params[other] is not value for other in given[1:]):
            raise ValueError(
                f"functional_call: {type(module).__name__} got values for {given}, which are "
                f"tied: they name one parameter (its names: {tied[name]}), which takes one "
                "value. Give it once, under any one of its names (that value is used wherever "
                "the parameter is, and its gradient is the whole gradient), or build separate "
                "layers where the values should differ. Equal values are refused too, as by "
                "torch.func: cr.grad makes each its own variable"
            )


def _elsewhere(given: Tensor, replaced: Any) -> bool:
    """Whether ``given`` is on another library or device than the parameter ``replaced``."""
    if not isinstance(replaced, Tensor):
        return False
    ours, theirs = given.data, replaced.data
    if type(ours) is not type(theirs):
        return True
    return type(ours) is not np.ndarray and backend.device_of(ours) != backend.device_of(theirs)


def _naming_the_parameter(
    error: backend.ArrayLibraryError, name: str, value: Any, given: Tensor, replaced: Tensor
) -> backend.ArrayLibraryError:
    """The op's refusal of a mix of libraries, naming the parameter given on another library
    than the model's (the op names neither: a state dict's NumPy copies, made tensors by
    ``cr.grad(f)(model.state_dict())``, met a PyTorch model's weights there, a mix the caller
    never wrote). It keeps the op's ``libraries``, which gradcheck reads."""
    what = "a tensor" if isinstance(value, Tensor) else "an array"
    ours, theirs = backend.library_name(given.data), backend.library_name(replaced.data)
    return error.saying_more(
        f". functional_call: {name!r} is {what} of {ours}, but the parameter it replaces is "
        f"of {theirs}, and tensors do not move between libraries; pass the model's own arrays "
        "({k: p.data for k, p in model.named_parameters()}, also to cr.grad), or move the "
        f"values to {theirs} first (cr.tensor(v, xp=..., device=...))"
    )


def _stand_in(value: Any, replaced: Any) -> Tensor:
    """An array or a nested list as a constant tensor in place of parameter ``replaced``: a
    NumPy array or a list on ``replaced``'s library and device (a tensor of NumPy would meet
    the model's other arrays in the first op and be refused), anything else as it is."""
    if isinstance(replaced, Tensor) and isinstance(value, backend.JOINING_TYPES):
        return Tensor(backend.asarray_like(value, replaced.data))
    return Tensor(value)
