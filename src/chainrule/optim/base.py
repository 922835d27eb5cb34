"""The base of every optimizer: its parameters, their buffers, ``step`` and saving.

A subclass (:mod:`chainrule.optim.optimizers`) lists its hyperparameters and per-parameter
buffers and defines the update twice: ``_update(index, w, g)``, in place on the arrays (NumPy,
PyTorch, CuPy), and ``_updated(index, w, g)``, which returns the new values (array-api-strict,
JAX: no ``out=``, no writes into an array). A parameter whose ``.grad`` is None is skipped (its
buffers and step count stay as they were).
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from chainrule import backend, engine
from chainrule.backend import array_module, to_numpy
from chainrule.checks import defined_alike, is_chainrules, is_real, owner_of, shared_arrays
from chainrule.errors import ConfigError, ShapeError, StateDictError, type_name
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor, _set_grad, check_writeable, forget_grad


class Optimizer:
    """The base of every optimizer: the parameters, their buffers, ``step`` and saving.

    A subclass sets ``name`` (its name in ``optim.OPTIMIZERS`` and in saved configs), lists its
    hyperparameters in ``hyperparameters`` (its constructor passes them to ``__init__`` as
    keywords) and its per-parameter buffers in ``buffers``, and defines one step twice, for the
    two kinds of array a parameter can be:

    - ``_update(self, index, w, g) -> None`` changes ``w`` in place: NumPy's arrays and those of
      libraries with ``out=`` and in-place operators (PyTorch, CuPy). Its buffers come from
      ``self._buffer(index, name, w)`` and are changed in place too.
    - ``_updated(self, index, w, g) -> array`` returns the new values without writing into any
      array: the libraries whose arrays cannot be written (array-api-strict, JAX). Its buffers
      come from ``self._state_of(index, name, w)`` and are replaced in ``self.state[index]``.

    ``index`` is the parameter's position in ``params``; ``w`` and ``g`` are its array and its
    gradient's. Both must compute the same step: tests/engine/test_array_api.py's
    ``OPTIMIZERS`` runs each optimizer on every library against the NumPy run (and its coverage
    test asks for every optimizer of ``optim.OPTIMIZERS`` there).

    A subclass checks its own hyperparameters' values by overriding the classmethod
    :meth:`check_hyperparameter` (one value; raise ``ValueError`` saying what it must be, and
    leave the other keys to ``super()``): every way a value arrives runs it. Registered with
    :func:`register_optimizer`, it is rebuilt by name (:func:`chainrule.optim.from_config`,
    :func:`~chainrule.optim.from_name`).

    ``self.steps[index]`` counts parameter ``index``'s steps, this one included: it is 1 in the
    first call of ``_update`` (Adam's bias correction reads it so). ``stepped_buffers`` names
    the buffers every step creates (a saved state of a parameter that has stepped without them
    is refused), ``non_negative_buffers`` those that hold averages of squares (a negative
    saved value is refused).

    ``hyperparameters`` is also what callers read to know which settings an optimizer takes,
    and :meth:`defaults` (its constructor's signature) what it uses for one left out: a
    ``chainrule train`` run forwards ``--momentum`` and ``--weight-decay`` to an optimizer that
    lists them and refuses them for one that does not (``train.runs``), so an optimizer added
    to ``optim.OPTIMIZERS`` needs no list of names changed elsewhere.
    """

    name: ClassVar[str] = ""
    hyperparameters: ClassVar[tuple[str, ...]] = ()
    buffers: ClassVar[tuple[str, ...]] = ()
    #: The buffers every step creates: a parameter that has taken a step holds them (a state
    #: without them would restart Adam's moments under a step count that goes on).
    stepped_buffers: ClassVar[tuple[str, ...]] = ()
    #: The buffers that hold averages of squares (never negative: a square root is taken).
    non_negative_buffers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[Tensor] | Module, **hyper: Any) -> None:
        if isinstance(params, Module):
            params = params.parameters()
        if isinstance(params, Tensor):  # list() would make it its rows, each an op's result
            raise ConfigError(
                f"{type(self).__name__}: params is one tensor; give an iterable of them: "
                f"{type(self).__name__}([p], ...) or model.parameters()"
            )
        if callable(params) and not isinstance(params, Iterable):  # net.parameters, uncalled
            name = getattr(params, "__qualname__", type_name(params))
            raise ConfigError(
                f"{type(self).__name__}: params is the function {name}, not what it returns: "
                "call it (model.parameters(), not model.parameters)"
            )
        if isinstance(params, Mapping):  # list() would give its names
            raise ConfigError(
                f"{type(self).__name__}: params is a mapping of names to parameters "
                "(dict(named_parameters())?); give the parameters: model.parameters(), or the "
                "mapping's .values() (a state_dict holds copies, not the parameters)"
            )
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ConfigError(f"{type(self).__name__}: got an empty list of parameters")
        for index, param in enumerate(self.params):
            if isinstance(param, dict):  # PyTorch's parameter groups
                raise ConfigError(
                    f"{type(self).__name__}: parameter {index} is a dict: parameter groups "
                    "(PyTorch's [{'params': ..., 'lr': ...}]) are not supported; give a list "
                    "of tensors. For settings per group, build one optimizer per group and step "
                    "each in your own loop (loss.backward(); opt1.step(); opt2.step()); fit and "
                    "Trainer take one optimizer, so there every parameter shares its settings"
                )
            if _is_named_pair(param):  # PyTorch's optimizers take named_parameters() too
                raise ConfigError(
                    f"{type(self).__name__}: parameter {index} is a (name, parameter) pair "
                    f"({param[0]!r}, {type_name(param[1])}), as named_parameters() gives them; "
                    "give the parameters alone: net.parameters() (or [p for name, p in "
                    "net.named_parameters() if ...] to choose some by name)"
                )
            if not isinstance(param, Tensor):
                raise ConfigError(
                    f"{type(self).__name__}: parameter {index} is not a tensor requiring a "
                    f"gradient ({_what_it_is(param)})"
                )
            if not param.is_leaf:  # its .grad is never filled: skipped for ever (torch refuses it)
                raise ConfigError(
                    f"{type(self).__name__}: parameter {index} is the result of an op "
                    f"({param.op}), not a leaf: backward fills no .grad there, so it "
                    "would never be updated; make it a leaf: (...).detach().requires_grad_()"
                )
        self._refuse_nothing_to_train()
        # checked as load_state_dict and the schedules check them; a NumPy scalar becomes the
        # Python number it holds (the configuration is saved as JSON)
        self._set(self.check_hyperparameters(hyper))
        # after the settings: whether updates add up depends on them; a later change of them
        # runs it again where they stop adding up (_assign)
        self._refuse_shared_arrays()
        # per-parameter state: buffers by name (created at a parameter's first step), step counts
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self.steps: list[int] = [0 for _ in self.params]
        self._scratch: list[Any] = [None for _ in self.params]
        self._decay_scratch: list[Any] = [None for _ in self.params]

    def _refuse_shared_arrays(
        self, who: str | None = None, error: type[Exception] = ConfigError
    ) -> None:
        """Refuse a parameter listed twice, or, for an optimizer whose updates do not add up
        (:meth:`updates_add_up`), one whose array shares memory with another's (a tensor made
        on its array, ``nn.Parameter(w.data)``; :func:`~chainrule.checks.shared_arrays`, not
        ``id``). Two views of one array are a tie (a decoder's ``W.T`` of the encoder's
        ``W``): where each view's update is linear in its gradient (SGD, with momentum or
        Nesterov), the two updates add up to the tied weight's, exactly; Adam's or RMSprop's,
        or a decay of each view, do not. The constructor runs it, and :meth:`_assign` where a
        change of settings makes the updates stop adding up (``who`` then names the change)."""
        shared = shared_arrays((str(k), param.data) for k, param in enumerate(self.params))
        if not shared:
            return
        name = type(self).__name__
        who = who or name
        for earlier, index in ((int(a), int(b)) for a, b in shared):
            if self.params[earlier] is self.params[index]:
                raise error(
                    f"{who}: parameter {index} is parameter {earlier} again; list each "
                    "parameter once"
                )
        if self.updates_add_up():
            return
        earlier, index = (int(k) for k in shared[0])
        first, second = self.params[earlier].data, self.params[index].data
        # the same view twice (nn.Parameter(w.data)), not a transposed one of a square W
        same_view = first.shape == second.shape and getattr(first, "strides", None) == getattr(
            second, "strides", None
        )
        tie = (
            "tie them as one parameter (l2.weight = l1.weight) and list it once"
            if same_view
            else "use one parameter in both places (a module whose forward reads W and W.T)"
        )
        raise error(
            f"{who}: parameter {index} shares its memory with parameter {earlier} (a tensor "
            "made on the other's array, e.g. nn.Parameter(w.data.T)): each would be updated "
            "with buffers of its own, which is not the update of one tied weight (plain SGD's "
            f"and momentum's add up to it; {name} with these settings does not); {tie}, or "
            "give each its own copy (w.data.copy())"
        )

    def updates_add_up(self) -> bool:
        """Whether two parameters on one array (two views of a tied weight) are updated as the
        one weight would be: each update is linear in its gradient and reads no value of the
        weight (no decay), so the two add up to the update of the summed gradient. False here;
        SGD says True without weight decay or shrink. The constructor asks it, and every later
        change of settings (:meth:`_assign`), which refuses one that turns it False over a tie."""
        return False

    def _refuse_nothing_to_train(self) -> None:
        """Refuse parameters of which none requires a gradient and none is an ``nn.Parameter``:
        a tensor made without ``requires_grad=True`` (the mistake) would never move. A frozen
        tensor among others is taken, as PyTorch takes it (a module's parameter frozen after it
        was registered, ``t.requires_grad = False``), and skipped while it has no gradient; it
        moves again once unfrozen."""
        if any(param.requires_grad or isinstance(param, Parameter) for param in self.params):
            return
        count = len(self.params)
        none = "" if count == 1 else f"; none of the {count} parameters requires one"
        raise ConfigError(
            f"{type(self).__name__}: parameter 0 is not a tensor requiring a gradient "
            f"({_what_it_is(self.params[0])}){none}, so a step would update nothing"
        )

    # -- hyperparameters ----------------------------------------------------------------------
    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The hyperparameters the constructor gives a value of its own when the call leaves
        them out, read from its signature (``AdamW``: ``weight_decay`` 0.01, ``lr`` 0.001;
        ``SGD``: no ``lr``, which it needs)."""
        signature = inspect.signature(cls.__init__)
        return {
            key: parameter.default
            for key, parameter in signature.parameters.items()
            if key in cls.hyperparameters and parameter.default is not inspect.Parameter.empty
        }

    @classmethod
    def check_hyperparameters(
        cls, hyper: Mapping[str, Any], who: str | None = None, error: type[Exception] = ConfigError
    ) -> dict[str, Any]:
        """``hyper`` as the optimizer keeps it, each value checked: the one home of the checks
        the constructor, :meth:`load_state_dict`, :meth:`set_hyperparameters`, the schedules
        and a plain write (``opt.lr = ...``, :meth:`__setattr__`) run. NumPy scalars become
        Python numbers and ``betas`` a tuple; a value the optimizer cannot take raises ``error``
        (``"{who}: lr must be a number >= 0, not -1"``; ``who`` is the class name by default)."""
        checked = {}
        for key, value in hyper.items():
            try:
                checked[key] = cls.check_hyperparameter(key, value)
            except ValueError as refused:  # a subclass's own words, or _Refused
                raise error(
                    f"{who or cls.__name__}: {key} must be {refused}, not {value!r}"
                ) from None
        return checked

    @classmethod
    def check_hyperparameter(cls, key: str, value: Any) -> Any:
        """``value`` as hyperparameter ``key`` is kept, or ``ValueError`` saying what it must be
        (``raise ValueError("a number >= 0")``, which :meth:`check_hyperparameters` makes
        ``"Adagrad: lr_decay must be a number >= 0, not -1"``, raised by the constructor, a
        write, :meth:`load_state_dict` and the schedules alike).

        The hook a subclass overrides to check its own hyperparameters; it hands the keys it
        does not check to ``super().check_hyperparameter(key, value)``, which checks those every
        optimizer shares (lr, eps, weight_decay and shrink finite numbers >= 0, momentum in
        [0, 1]) and makes a NumPy scalar the Python number it holds.

        >>> import chainrule as cr
        >>> class Adagrad(cr.optim.Optimizer):
        ...     name, hyperparameters = "adagrad", ("lr", "lr_decay")
        ...     def __init__(self, params, lr=0.01, lr_decay=0.0):
        ...         super().__init__(params, lr=lr, lr_decay=lr_decay)
        ...     @classmethod
        ...     def check_hyperparameter(cls, key, value):
        ...         value = super().check_hyperparameter(key, value)
        ...         if key == "lr_decay" and not (isinstance(value, float) and value >= 0):
        ...             raise ValueError("a float >= 0")
        ...         return value
        >>> Adagrad([cr.tensor([1.0], requires_grad=True)], lr_decay=-1.0)
        Traceback (most recent call last):
        ...
        chainrule.errors.ConfigError: Adagrad: lr_decay must be a float >= 0, not -1.0
        """
        return cls._checked(key, value)

    @classmethod
    def _checked(cls, key: str, value: Any) -> Any:
        """The checks of chainrule's own optimizers (:meth:`check_hyperparameter` runs them):
        ``value`` as hyperparameter ``key`` is kept, or :class:`_Refused` saying what it must
        be. Each of them checks its own hyperparameters and leaves the rest to this."""
        value = _plain(value)
        if key == "lr" and isinstance(value, Tensor):  # a learning rate to differentiate?
            raise _Refused(
                "a number >= 0 (a step writes p.data in place, which records nothing to "
                "differentiate: to differentiate through training, as a learning rate's "
                "hypergradient does, write the update as a function of lr and the weights with "
                "nn.functional_call and cr.grad, as 'Differentiating through training' in "
                "docs/nn.md shows)"
            )
        if key in _NON_NEGATIVE and not _non_negative(value):
            raise _Refused("a number >= 0")
        if key == "momentum" and value > 1:  # the velocity would grow by that factor each step
            raise _Refused("in [0, 1]")
        return value

    def set_hyperparameters(self, values: Mapping[str, Any], who: str | None = None) -> None:
        """Set hyperparameters (a schedule's writes), all checked before any is set."""
        unknown = [key for key in values if key not in self.hyperparameters]
        if unknown:
            raise ConfigError(
                f"{who or type(self).__name__}: {type(self).__name__} has no hyperparameter "
                f"{unknown[0]!r} (it has {', '.join(self.hyperparameters)})"
            )
        self._assign(self.check_hyperparameters(values, who), who)

    def __setattr__(self, name: str, value: Any) -> None:
        """A write to a hyperparameter (``opt.lr = 0.01``: PyTorch's habit, a decay by hand) is
        checked as the constructor checks it (:meth:`check_hyperparameters`) and kept as it keeps
        it; a refused value raises :class:`ConfigError` and the old one stays. Any other
        attribute is written as usual, and reads are plain attribute reads (the step reads the
        hyperparameters on every call)."""
        if name in type(self).hyperparameters:
            self._assign(self.check_hyperparameters({name: value}))
            return
        if name not in self.__dict__ and _checks_names(type(self), name):
            self._refuse_misspelt_hyperparameter(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        """Refuse deleting a hyperparameter: the next step would fail deep inside on reading it."""
        if name in type(self).hyperparameters:
            raise ConfigError(
                f"{type(self).__name__}: {name} is a hyperparameter every step reads; "
                f"give it a new value (opt.{name} = ...) instead of deleting it"
            )
        object.__delattr__(self, name)

    @classmethod
    def _refuse_misspelt_hyperparameter(cls, name: str) -> None:
        """Refuse a new attribute that looks meant as a hyperparameter (``opt.momentun = 0.9``,
        Keras' ``opt.learning_rate = 0.01``): written as usual, it would change nothing, in
        silence. Other new attributes are written as usual, and so is any attribute of an
        optimizer class of one's own (:func:`_checks_names`)."""
        meant = _OTHER_NAMES.get(name)
        if meant not in cls.hyperparameters:
            # a slip of one or two letters; a name under 4 letters (``lrs``) may be one's own
            close = difflib.get_close_matches(name, cls.hyperparameters, n=1, cutoff=0.8)
            meant = close[0] if close and len(name) >= 4 else None
        if meant is not None:
            raise ConfigError(
                f"{cls.__name__} has no hyperparameter {name!r}; did you mean {meant!r}? "
                f"(it has {', '.join(cls.hyperparameters)})"
            )

    def _assign(
        self,
        checked: Mapping[str, Any],
        who: str | None = None,
        error: type[Exception] = ConfigError,
    ) -> None:
        """Change hyperparameters :meth:`check_hyperparameters` has already checked (not twice):
        the one home of every change after the constructor (a write, :meth:`set_hyperparameters`
        and so the schedules and :func:`~chainrule.optim.from_config`, :meth:`load_state_dict`).

        A change after which the updates no longer add up (:meth:`updates_add_up`: SGD's weight
        decay or shrink turned on) runs the constructor's check of parameters on one array again,
        and where it refuses, ``error`` is raised, named by ``who`` and the change, and the old
        values stay: each view of a tied weight would be decayed apart, the weight twice. Refused
        at the change, not at the next step: the error names the line that made it, and a step
        pays nothing (here two calls of ``updates_add_up``, the O(n) check only on the change)."""
        if "state" not in self.__dict__:  # a subclass's __init__ writing before super()'s:
            self._set(checked)  # the constructor checks the settings it ends with
            return
        old = {key: getattr(self, key) for key in checked}
        added_up = self.updates_add_up()
        self._set(checked)
        if not added_up or self.updates_add_up():
            return
        changed = ", ".join(
            f"{key}={value!r}" for key, value in checked.items() if value != old[key]
        )
        try:
            self._refuse_shared_arrays(f"{who or type(self).__name__}: {changed}", error)
        except Exception:
            self._set(old)
            raise

    def _set(self, checked: Mapping[str, Any]) -> None:
        """Set hyperparameters, checked already, as they are (the constructor's first values)."""
        for key, value in checked.items():
            object.__setattr__(self, key, value)

    # -- stepping -----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``.grad`` accumulates across backward calls): None,
        or zeros with ``set_to_none=False``, which the next step still moves a parameter by
        (momentum, Adam; see :func:`chainrule.tensor.forget_grad`)."""
        if not set_to_none:
            for param in self.params:
                forget_grad(param, set_to_none)
            return
        for param in self.params:  # into the slot: Parameter.__setattr__, which checks a
            _set_grad(param, None)  # write of .data, is a Python call per parameter and step

    def step(self) -> None:
        """Update every parameter that has a gradient, in place (a graph recorded before the
        step and differentiated after it is refused: it would mix old and new values)."""
        stepping = [
            (index, param) for index, param in enumerate(self.params) if param.grad is not None
        ]
        # every parameter is checked before any moves: a refused one must not leave the step
        # half made (the earlier parameters updated, the later ones not)
        grads = [self._checked_gradient(index, param) for index, param in stepping]
        now = engine.note_write()
        for (index, param), grad in zip(stepping, grads):
            self._step_parameter(index, param, grad)
            engine.note_written(param.data, now)  # the array backward will read

    def _checked_gradient(self, index: int, param: Tensor) -> Any:
        """Parameter ``index``'s ``.grad`` (not None) as an array, or raise naming the parameter
        where it or its buffers cannot take a step: a ``.grad`` assigned by hand that is no
        array, of another library or shape, or buffers made for another shape (``.data``
        replaced after a step), or a parameter over a read-only NumPy array (no step count,
        momentum or moment then changes)."""
        who = f"{type(self).__name__}.step: parameter {index}"
        grad = param.grad
        if isinstance(grad, Tensor):
            grad = grad.data
        w = param.data
        check_writeable(w, f"{type(self).__name__}.step", f"parameter {index}")
        if not hasattr(grad, "shape"):  # a .grad assigned by hand: a list, a number
            raise TypeError(
                f"{who}'s .grad is a {type(grad).__name__}, not an array or tensor (a .grad set "
                "by hand, as micrograd's p.grad = 0.0); clear gradients with opt.zero_grad() "
                "or p.grad = None, and let backward fill them"
            )
        if type(grad) is not type(w):  # assigned by hand in another library (a library refuses
            # another device of its own in the update itself)
            backend.check_compatible(who, [w, grad])
        if tuple(grad.shape) != tuple(w.shape):
            raise ShapeError(
                f"{who} has shape {tuple(w.shape)} but its gradient has shape {tuple(grad.shape)}"
            )
        for name, buffer in self.state[index].items():
            if tuple(buffer.shape) != tuple(w.shape):
                raise ShapeError(
                    f"{who} has shape {tuple(w.shape)} but its {name!r} buffer, made at an "
                    f"earlier step, has shape {tuple(buffer.shape)}: its .data was replaced "
                    f"by an array of another shape; make a new {type(self).__name__} for it"
                )
        if grad.dtype != w.dtype:  # the one dtype check a step pays where the two agree
            return _read_in_dtype_of(w, grad)
        return grad

    def _step_parameter(self, index: int, param: Tensor, grad: Any) -> None:
        """Update parameter ``index`` from its gradient ``grad`` (the array
        :meth:`_checked_gradient` gave), in place."""
        w = param.data
        self.steps[index] += 1
        if self.state[index]:  # buffers made before the parameter moved (Module.to) follow
            self._follow(index, w)
        # NumPy first (the fast path decides on one type check); PyTorch and CuPy take the
        # same in-place update with out=; the rest get new arrays written back
        if type(w) is np.ndarray or backend.supports_out(w):
            self._update(index, w, grad)
        else:
            new = self._updated(index, w, grad)
            if new.dtype != w.dtype:  # a wider gradient (float64 for a float32 parameter): keep
                # the parameter's dtype, as the in-place update above does, and its buffers'
                new = backend.astype(new, w.dtype)
                self._follow(index, w)
            backend.write(param, new)

    def _follow(self, index: int, w: Any) -> None:
        """Move parameter ``index``'s buffers to ``w``'s library, device and dtype where they
        differ: :meth:`Module.to` moves a parameter's array, and its momentum or moments must
        go with it (arithmetic between two libraries fails, or silently writes nowhere)."""
        state = self.state[index]
        for name, buffer in state.items():
            if not _placed_like(buffer, w):
                moved = backend.move(buffer, array_module(w), backend.device_of(w))
                state[name] = backend.astype(moved, w.dtype)

    def _update(self, index: int, w: Any, g: Any) -> None:
        """Update ``w`` in place from its gradient ``g``: a NumPy array, or an array of a library
        with ``out=`` and in-place operators (:func:`chainrule.backend.supports_out`)."""
        raise NotImplementedError(
            f"{type(self).__name__} defines no _update(self, index, w, g), the step that changes "
            "w in place (NumPy's, PyTorch's and CuPy's arrays; here w is an array of "
            f"{backend.library_name(w)}): write it beside _updated (see "
            "chainrule.optim.Optimizer's docstring)"
        )

    def _updated(self, index: int, w: Any, g: Any) -> Any:
        """The new values of ``w`` (an array of any library), without writing into any array."""
        raise NotImplementedError(
            f"{type(self).__name__} defines no _updated(self, index, w, g), the step that returns "
            "w's new values without writing into any array (array-api-strict's and JAX's arrays, "
            f"which cannot be written; here w is an array of {backend.library_name(w)}): write "
            "it beside _update (see chainrule.optim.Optimizer's docstring)"
        )

    def _state_of(self, index: int, name: str, like: Any) -> Any:
        """The named buffer for the standard path, zeros (``like``'s dtype, device) if new."""
        state = self.state[index]
        if name not in state:
            state[name] = array_module(like).zeros_like(like)
        return state[name]

    def _buffer(self, index: int, name: str, like: Any) -> Any:
        """The named per-parameter buffer, created as zeros (the parameter's dtype) if new."""
        state = self.state[index]
        if name not in state:
            state[name] = array_module(like).zeros_like(like)
        return state[name]

    def _scratch_for(self, index: int, like: Any) -> Any:
        """A work array shaped like the parameter, reused across steps (never saved)."""
        scratch = self._scratch[index]
        if scratch is None or scratch.shape != like.shape or not _placed_like(scratch, like):
            scratch = self._scratch[index] = array_module(like).empty_like(like)
        return scratch

    def _decayed_gradient(self, index: int, w: Any, g: Any) -> Any:
        """g + weight_decay * w (L2) in a work array of its own; g itself without decay."""
        if not self.weight_decay:
            return g
        out = self._decay_scratch[index]
        if out is None or out.shape != w.shape or not _placed_like(out, w):
            out = self._decay_scratch[index] = array_module(w).empty_like(w)
        array_module(w).multiply(w, self.weight_decay, out=out)
        out += g
        return out

    # -- saving -------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The optimizer's name and hyperparameters, JSON-able."""
        config: dict[str, Any] = {"type": self.name}
        for key in self.hyperparameters:
            # JSON has no NumPy types: a write keeps a NumPy scalar as the Python number it
            # holds (opt.lr = np.float32(0.5)), and what a subclass keeps is written so too
            config[key] = _json_value(getattr(self, key))
        return config

    def state_dict(self) -> dict[str, Any]:
        """``{"config": hyperparameters, "state": {"step.i", "<buffer>.i": arrays}}`` (copies).

        ``i`` is the parameter's position in ``params``; a buffer not yet created (the parameter
        never had a gradient) is absent.
        """
        state: dict[str, np.ndarray] = {}
        for index, buffers in enumerate(self.state):
            state[f"step.{index}"] = np.array(self.steps[index], dtype=np.int64)
            for name, array in buffers.items():
                state[f"{name}.{index}"] = np.array(to_numpy(array), copy=True)
        return {"config": self.config(), "state": state}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters, step counts and buffers from :meth:`state_dict`'s output.

        Everything is checked first (the hyperparameters as the constructor checks them, the
        step counts, the buffers' shapes and dtypes); a mismatch raises :class:`StateDictError`
        naming the field and changes nothing.
        """
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or not isinstance(state_dict.get("config"), Mapping):
            raise StateDictError(f"{who}: expected a dict with 'config' and 'state'")
        config = dict(state_dict["config"])
        if config.get("type") != self.name:
            raise StateDictError(
                f"{who}: the state is for {config.get('type')!r}, not {self.name!r}"
            )
        unknown = [k for k in config if k != "type" and k not in self.hyperparameters]
        if unknown:
            raise StateDictError(f"{who}: unknown hyperparameters {unknown}")
        hyper = self.check_hyperparameters(
            {k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k != "type"},
            who,
            StateDictError,
        )
        state = state_dict.get("state", {})
        if not isinstance(state, Mapping):
            raise StateDictError(
                f"{who}: 'state' must be a dict of arrays, not {type(state).__name__}"
            )
        steps, buffers = self._parse_state(who, state)
        self._assign(hyper, who, StateDictError)
        self.steps = steps
        for index, param in enumerate(self.params):
            self.state[index] = {
                name: (
                    param.xp.asarray(array, dtype=param.dtype).copy()
                    if type(param.data) is np.ndarray
                    else backend.asarray_like(np.array(array), param.data, dtype=param.dtype)
                )
                for name, array in buffers[index].items()
            }

    def _parse_state(self, who: str, state: Mapping[str, Any]):
        steps = [0 for _ in self.params]
        buffers: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        counted = set()  # the parameters whose step count the state holds
        for key, value in state.items():
            name, _, position = str(key).rpartition(".")
            # only the spelling state_dict writes: "velocity.01" or "step.\u0663" (int() reads
            # any digits) would stand for a parameter another key names too, and the later won
            if not _is_position(position) or int(position) >= len(self.params):
                raise StateDictError(
                    f"{who}: key {key!r} does not name one of the {len(self.params)} parameters"
                )
            index = int(position)
            array = np.asarray(to_numpy(value.data) if isinstance(value, Tensor) else value)
            if name == "step":
                steps[index] = _step_count(who, key, array)
                counted.add(index)
            elif name in self.buffers:
                if array.shape != self.params[index].shape:
                    raise StateDictError(
                        f"{who}: {key!r} has shape {tuple(array.shape)} but parameter {index} has "
                        f"shape {tuple(self.params[index].shape)}"
                    )
                if array.dtype.kind not in "fiu":  # complex would lose its imaginary part
                    raise StateDictError(
                        f"{who}: {key!r} holds {array.dtype} values; a buffer holds real numbers"
                    )
                _check_buffer_values(who, key, array, name in self.non_negative_buffers)
                buffers[index][name] = array
            else:
                raise StateDictError(
                    f"{who}: unknown buffer {name!r} in key {key!r}; {self.name} keeps "
                    f"{list(self.buffers)}"
                )
        if state and len(counted) != len(self.params):  # state_dict counts every parameter
            raise self._uncounted_error(who, counted, buffers)
        for index, count in enumerate(steps):
            missing = [name for name in self.stepped_buffers if name not in buffers[index]]
            if count and missing:
                raise StateDictError(
                    f"{who}: parameter {index} has taken {count} step{'s' * (count != 1)} but "
                    f"its {missing[0]!r} buffer ({missing[0]}.{index}) is missing"
                )
        return steps, buffers

    def _uncounted_error(
        self, who: str, counted: set[int], buffers: list[dict[str, np.ndarray]]
    ) -> StateDictError:
        """The error for a state without some ``step.<i>`` keys. Where only the last parameters
        have none, and no buffers either, the state was saved for fewer parameters; otherwise a
        key was lost (a parameter's buffers are there, or a later one's count is), and it is named:
        calling it another set of parameters sent the user to check the model, not the file."""
        missing = [index for index in range(len(self.params)) if index not in counted]
        keys = ", ".join(f"'step.{index}'" for index in missing)
        if missing == list(range(len(counted), len(self.params))) and not any(
            buffers[index] for index in missing
        ):
            return StateDictError(
                f"{who}: the state counts the steps of {len(counted)} parameters but this "
                f"optimizer has {len(self.params)} (no {keys}); it was saved for another set "
                "of parameters"
            )
        held = [f"{name}.{index}" for index in missing for name in buffers[index]]
        beside = f", though it holds {', '.join(held)}" if held else ""
        whose = "parameter" if len(missing) == 1 else "parameters"
        return StateDictError(
            f"{who}: the state has no {keys} (the step count of {whose} "
            f"{', '.join(map(str, missing))}{beside}); state_dict saves one for every parameter, "
            "so the state is incomplete"
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyperparameters)
        return f"{type(self).__name__}({len(self.params)} parameters, {args})"


class _Refused(ValueError):
    """A hyperparameter's value refused; the message says what it must be."""


def register_optimizer(cls: type[Optimizer]) -> type[Optimizer]:
    """Register an :class:`Optimizer` subclass under its ``name`` (lower case), so that
    :func:`~chainrule.optim.from_config` rebuilds it from its ``config()`` and
    :func:`~chainrule.optim.from_name` builds it by name; it joins
    :data:`~chainrule.optim.OPTIMIZERS` and :func:`~chainrule.optim.names`. Use it as a
    decorator; it returns the class.

    A class is registered explicitly, as :func:`chainrule.nn.register_module` registers a
    module: one that merely exists changes nothing. A name that is taken (chainrule's own
    "sgd", "adam" ..., an alias such as "momentum", another class's) raises
    :class:`~chainrule.errors.ConfigError`; registering a class again (a re-run notebook cell:
    the same module and name) is harmless.

    >>> import chainrule as cr
    >>> @cr.optim.register_optimizer
    ... class HalfSGD(cr.optim.Optimizer):
    ...     name, hyperparameters = "half-sgd", ("lr",)
    ...     def __init__(self, params, lr=0.1):
    ...         super().__init__(params, lr=lr)
    ...     def _update(self, index, w, g):
    ...         w -= 0.5 * self.lr * g
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> cr.optim.from_config({"type": "half-sgd", "lr": 0.2}, [w])
    HalfSGD(1 parameters, lr=0.2)
    """
    from chainrule.optim.optimizers import ALIASES, OPTIMIZERS  # (they import this module)

    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise ConfigError(f"register_optimizer: {cls!r} is not an Optimizer subclass")
    name = cls.name
    if not (isinstance(name, str) and name.strip() and name == name.strip().lower()):
        meant = name.strip().lower() if isinstance(name, str) and name.strip() else None
        raise ConfigError(
            f"register_optimizer: {cls.__qualname__}'s name is {name!r}; set the class "
            "attribute name to the lower-case name its config() writes, e.g. "
            f'name = "{meant or cls.__name__.lower()}"'
        )
    known = OPTIMIZERS.get(name)
    if name in ALIASES or (known is not None and not defined_alike(known, cls)):
        owner = (
            f"chainrule's name for {ALIASES[name][0]} with settings of its own"
            if name in ALIASES
            else f"taken by {owner_of(known)}"
        )
        raise ConfigError(
            f"register_optimizer: the name {name!r} is {owner}; give {cls.__qualname__} "
            f'another name (name = "my-{name}")'
        )
    OPTIMIZERS[name] = cls
    return cls


def _checks_names(cls: type, name: str) -> bool:
    """Whether a new attribute ``name`` of a ``cls`` optimizer is checked for a misspelt
    hyperparameter: on chainrule's own optimizers only, and not a name the class defines (a
    property). A subclass of one's own sets its own names in its ``__init__`` (``self.beta1``
    from ``betas``, ``self.momentums``), which are no slips."""
    return is_chainrules(cls) and not hasattr(cls, name)


#: Other libraries' names for a hyperparameter (Keras'), which a write by habit would use.
_OTHER_NAMES = {
    "learning_rate": "lr",
    "epsilon": "eps",
    "rho": "alpha",
    "beta_1": "betas",
    "beta_2": "betas",
    "beta1": "betas",
    "beta2": "betas",
}

#: The hyperparameters every optimizer that has them takes as finite numbers >= 0.
_NON_NEGATIVE = ("lr", "momentum", "weight_decay", "eps", "shrink")


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds (a 0-d array stays one, and is refused
    where a number is wanted, as ``lr=np.array(0.1)`` always was)."""
    return value.item() if isinstance(value, np.generic) else value


def _json_value(value: Any) -> Any:
    """A hyperparameter as JSON holds it: NumPy scalars and 0-d arrays as Python numbers,
    tuples (``betas``) as lists."""
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    return value


def _check_buffer_values(who: str, key: str, array: np.ndarray, non_negative: bool) -> None:
    """Refuse a saved buffer holding NaN or an infinity (the resumed run failed as a divergence
    an epoch later, "try a smaller learning rate"), or, for an average of squares, a negative
    number (its square root is NaN)."""
    bad = ~np.isfinite(array) if array.dtype.kind == "f" else np.zeros(array.shape, bool)
    if non_negative:
        bad |= array < 0
    if bad.any():
        value = array[tuple(np.argwhere(bad)[0])] if array.ndim else array[()]
        must = "finite and >= 0 (an average of squares)" if non_negative else "finite"
        raise StateDictError(f"{who}: {key!r} holds {value}; its numbers must be {must}")


def _is_position(text: str) -> bool:
    """Whether ``text`` is a parameter's position as :meth:`Optimizer.state_dict` writes it:
    ASCII digits without a leading zero ("0", "12")."""
    return text.isascii() and text.isdigit() and text == str(int(text))


def _step_count(who: str, key: str, array: np.ndarray) -> int:
    """A saved step count: one whole number >= 0 (2.0 is 2; 2.7, -1 or [1, 2] are refused)."""
    if array.shape == () and array.dtype.kind in "iuf":
        value = array.item()
        if math.isfinite(value) and value >= 0 and value == int(value):
            return int(value)
    shown = array.tolist() if array.size <= 4 else f"an array of shape {array.shape}"
    raise StateDictError(f"{who}: {key!r} must be a whole number >= 0, not {shown!r}")


def _non_negative(value: Any) -> bool:
    """Whether ``value`` is a finite real number >= 0 (a learning rate, a decay, a floor)."""
    return is_real(value) and math.isfinite(value) and value >= 0


def _read_in_dtype_of(w: Any, grad: Any) -> Any:
    """``grad``, of another dtype than its parameter ``w``, as a step reads it: a narrower one
    (float16 for a float32 parameter) widened to ``w``'s dtype, exactly, so that every product
    of the update is rounded in the parameter's precision (``lr * g``, Adam's ``(1 - beta1) g``
    were rounded to float16). A wider one (float64) is read as it is: its products are
    computed in it and stored in the parameter's dtype (``Optimizer._step_parameter``), as
    NumPy's in-place update stores them."""
    try:
        narrower = array_module(w).result_type(grad, w) == w.dtype
    except TypeError:  # a dtype with no promotion rule (ml_dtypes' floats): the update decides
        return grad
    return backend.astype(grad, w.dtype) if narrower else grad


def _placed_like(buffer: Any, w: Any) -> bool:
    """Whether ``buffer`` is an array of ``w``'s library, dtype and device."""
    if type(buffer) is not type(w) or buffer.dtype != w.dtype:
        return False
    return type(w) is np.ndarray or backend.device_of(buffer) == backend.device_of(w)


def _is_named_pair(item: Any) -> bool:
    """Whether ``item`` is one of ``named_parameters()``'s ``(name, parameter)`` pairs."""
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)


def _what_it_is(param: Any) -> str:
    """What an optimizer was given in place of a parameter, for its refusal: a chainrule tensor
    that needs no gradient (a frozen one: make it an nn.Parameter to keep it listed), or the
    qualified type of anything else (``torch.Tensor``, not a bare ``Tensor``)."""
    if isinstance(param, Tensor):
        return (
            "a chainrule Tensor with requires_grad=False; give requires_grad=True, or register "
            "a frozen parameter as nn.Parameter, which optimizers skip while it has no gradient"
        )
    return type_name(param)
