"""ModuleList and ModuleDict: modules held in a list or a dict, registered as submodules;
ParameterList and ParameterDict: parameters held in a list or a dict, registered as parameters.

A plain Python list of layers (or of parameters) assigned to a module is not registered (the
parameters would be in no ``parameters()``, optimizer or ``state_dict``), so :class:`Module`
refuses it; these hold them, with PyTorch's behaviour and names:

>>> import chainrule as cr
>>> class Tower(cr.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.layers = cr.nn.ModuleList([cr.nn.Linear(2, 2, rng=i) for i in range(3)])
...     def forward(self, x):
...         for layer in self.layers:
...             x = cr.tanh(layer(x))
...         return x
>>> [name for name, _ in Tower().named_parameters()][:3]
['layers.0.weight', 'layers.0.bias', 'layers.1.weight']

None has a ``forward``: they hold modules (or parameters) for a ``forward`` of one's own.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from chainrule import backend
from chainrule.errors import ConfigError, type_name
from chainrule.nn.layers import _config_type, _position
from chainrule.nn.module import (
    Module,
    Parameter,
    _parameters_in_use,
    from_config,
    register_module,
)
from chainrule.tensor import Tensor


def _missing_key(owner: str, key: Any, held: Mapping[str, Any]) -> str:
    """The words of a ``KeyError`` for ``key``, which the ModuleDict or ParameterDict ``owner``
    does not hold: the keys it does (a KeyError still, for ``in`` and ``get``)."""
    keys = ", ".join(map(repr, held)) if held else None
    return f"{owner} has no key {key!r}; " + (f"its keys: {keys}" if keys else "it holds none")


def _check_module(owner: str, where: str, module: Any) -> None:
    """Refuse what is not a Module, as PyTorch's ``add_module`` does (a TypeError)."""
    if not isinstance(module, Module):
        raise TypeError(f"{owner}: {where} must be a Module, not {type_name(module)}")


@register_module
class ModuleList(Module):
    """Modules in a list, registered as submodules named by position (``"0"``, ``"1"`` ...), as
    PyTorch's ``nn.ModuleList``: a model's ``self.layers = ModuleList([...])`` names their
    parameters ``layers.0.weight`` ..., and ``parameters()``, the ``state_dict``, ``train()``,
    ``eval()`` and ``to()`` reach them.

    Indexing (``ml[0]``, ``ml[-1]``, ``ml[1:]``: a ModuleList), ``len``, iteration,
    ``ml[i] = m``, ``del ml[i]`` (the rest are numbered again, as in PyTorch), ``append``,
    ``extend``, ``insert``, ``pop``, ``+`` and ``+=``. Every item is a Module (anything else is
    a TypeError); a module under another name than the next position (``ml.head = m``) is
    refused, as it would have no position. It has no ``forward``.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Module) and name not in self._modules:
            position = str(len(self._modules))
            if name != position:
                raise ConfigError(
                    f"ModuleList: a module is named by its position ({position} comes next), "
                    f"not {name!r}: add it with .append(module), replace one with ml[i] = module"
                )
        if value is None and name in self._modules:  # a gap in the positions
            raise ConfigError(
                f"ModuleList: cannot set item {name} to None; remove it with del ml[{name}]"
            )
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._modules:  # an item: the rest are numbered again, as del ml[i] does
            del self[list(self._modules).index(name)]
        else:
            super().__delattr__(name)

    def _renumber(self, modules: list[Module]) -> None:
        """Hold ``modules`` as the items 0, 1, ... (after an insertion or a deletion)."""
        for name in list(self._modules):
            Module.__delattr__(self, name)
        for position, module in enumerate(modules):
            Module.__setattr__(self, str(position), module)

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return type(self)(items[index])
        return items[_position("ModuleList", index, len(items), "modules")]

    def __setitem__(self, index: int, module: Module) -> None:
        """Replace the module at ``index`` (its parameters keep the names ``"<index>.weight"``)."""
        position = _position("ModuleList", index, len(self), "modules")
        _check_module("ModuleList", f"item {position}", module)
        setattr(self, str(position), module)

    def __delitem__(self, index: int | slice) -> None:
        """Remove the module(s) at ``index`` and number the rest 0, 1, ... again, as PyTorch
        does (``"2.weight"`` becomes ``"1.weight"``)."""
        kept = list(self._modules.values())
        if not isinstance(index, slice):
            index = _position("ModuleList", index, len(kept), "modules")
        del kept[index]
        self._renumber(kept)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        """A new ModuleList of this one's modules, then ``other``'s (the same modules)."""
        return ModuleList([*self, *other])

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns ``self``."""
        _check_module("ModuleList", f"item {len(self)}", module)
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add each of ``modules`` at the end, in order; returns ``self``. Every one is checked
        before any is added."""
        if not isinstance(modules, Iterable) or isinstance(modules, (str, bytes, Mapping)):
            hint = "; add one module with .append(module)" if isinstance(modules, Module) else ""
            raise TypeError(
                f"ModuleList: expected an iterable of modules (a list), not "
                f"{type_name(modules)}{hint}"
            )
        modules = list(modules)
        for offset, module in enumerate(modules):
            _check_module("ModuleList", f"item {len(self) + offset}", module)
        for module in modules:
            setattr(self, str(len(self)), module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (as ``list.insert``: a negative index
        counts from the end, one past the end appends); the ones after it are numbered again."""
        index = operator.index(index)
        _check_module("ModuleList", f"the module inserted at {index}", module)
        items = list(self._modules.values())
        items.insert(index, module)
        self._renumber(items)

    def pop(self, index: int = -1) -> Module:
        """Remove the module at ``index`` (the last by default) and return it."""
        module = self[index]
        del self[index]
        return module

    def config(self) -> dict[str, Any]:
        modules = [module.config() for module in self]
        return {"type": _config_type(self, ModuleList), "modules": modules}

    @classmethod
    def from_config(cls, config: Any) -> ModuleList:
        modules = config.get("modules")
        if not isinstance(modules, list):
            raise ConfigError("from_config: a ModuleList config needs a 'modules' list")
        return cls([from_config(module) for module in modules])

    def __repr__(self) -> str:
        """PyTorch's: one line per item, a run of equal ones as ``(0-2): 3 x Linear(...)``."""
        if not self._modules:
            return f"{type(self).__name__}()"
        runs: list[list[Any]] = []  # [first, last, repr]
        for position, module in enumerate(self):
            text = repr(module)
            if runs and runs[-1][2] == text:
                runs[-1][1] = position
            else:
                runs.append([position, position, text])
        lines = [
            f"({first}): {text}"
            if first == last
            else f"({first}-{last}): {last - first + 1} x {text}"
            for first, last, text in runs
        ]
        body = "\n".join(lines).replace("\n", "\n  ")
        return f"{type(self).__name__}(\n  {body}\n)"


@register_module
class ModuleDict(Module):
    """Modules by name, registered as submodules under their keys, as PyTorch's
    ``nn.ModuleDict``: ``self.heads = ModuleDict({"age": Linear(4, 1)})`` names a parameter
    ``heads.age.weight``.

    ``md[key]``, ``md[key] = m``, ``del md[key]``, ``len``, ``in``, iteration over the keys (in
    the order they were added), ``keys()``, ``values()``, ``items()``, ``update(mapping or
    pairs)``, ``pop(key)``, ``clear()``. A key is a string that is not empty, holds no ``"."``
    and is not an attribute a module has already (``"train"``, ``"keys"``): a ``KeyError`` as
    in PyTorch; a value that is not a Module is a TypeError. It has no ``forward``.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _check_key(self, key: Any) -> None:
        _check_key(self, key, self._modules, "a submodule")

    def __getitem__(self, key: str) -> Module:
        try:
            return self._modules[key]
        except KeyError:  # a bare KeyError 'b' named neither the container nor its keys
            raise KeyError(_missing_key("ModuleDict", key, self._modules)) from None

    def __setitem__(self, key: str, module: Module) -> None:
        self._check_key(key)
        _check_module("ModuleDict", f"the value of key {key!r}", module)
        setattr(self, key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        Module.__delattr__(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        """The keys, in the order they were added."""
        return list(self._modules)

    def values(self) -> list[Module]:
        """The modules, in the order of :meth:`keys`."""
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        """``(key, module)`` pairs, in the order of :meth:`keys`."""
        return list(self._modules.items())

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Remove every module."""
        for key in list(self._modules):
            del self[key]

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add (or replace) the modules of a mapping (a dict, a ModuleDict), or of an iterable of
        ``(key, module)`` pairs, in their order. Every pair is checked before any is added."""
        pairs = _pairs("ModuleDict.update", modules, "module")
        for key, module in pairs:
            self._check_key(key)
            _check_module("ModuleDict", f"the value of key {key!r}", module)
        for key, module in pairs:
            setattr(self, key, module)

    def config(self) -> dict[str, Any]:
        modules = {key: module.config() for key, module in self._modules.items()}
        return {"type": _config_type(self, ModuleDict), "modules": modules}

    @classmethod
    def from_config(cls, config: Any) -> ModuleDict:
        modules = config.get("modules")
        if not isinstance(modules, dict):
            raise ConfigError("from_config: a ModuleDict config needs a 'modules' dict")
        return cls({key: from_config(module) for key, module in modules.items()})


def _check_key(container: Module, key: Any, held: Mapping[str, Any], what: str) -> None:
    """Refuse a key a ModuleDict or ParameterDict cannot hold, as PyTorch's do: not a string (a
    TypeError), empty or holding a ``"."`` (which separates the parts of a parameter's name), or
    an attribute the container has already (``"train"``, ``"keys"``) (KeyErrors). ``held`` is
    what it holds by key; ``what`` the thing a key names (``"a submodule"``)."""
    owner = type(container).__name__
    if not isinstance(key, str):
        raise TypeError(f"{owner}: a key is a string, not {type_name(key)} ({key!r})")
    if not key or "." in key:
        raise KeyError(
            f"{owner}: key {key!r} cannot name {what} (it must be a non-empty string without "
            "'.', which separates the parts of a parameter's name)"
        )
    if key not in held and hasattr(container, key):
        raise KeyError(
            f"{owner}: key {key!r} is an attribute every module has already; choose another name"
        )


def _pairs(function: str, given: Any, what: str) -> list[tuple[Any, Any]]:
    """The ``(key, value)`` pairs of a mapping (a dict, a ModuleDict, a ParameterDict) or of an
    iterable of pairs, in their order, for ``function`` (``"ModuleDict.update"``) to add; ``what``
    names a value (``"module"``)."""
    if isinstance(given, (Mapping, ModuleDict, ParameterDict)):
        return list(given.items())
    if not isinstance(given, Iterable) or isinstance(given, (str, bytes)):
        raise TypeError(
            f"{function} takes a mapping or an iterable of (key, {what}) pairs, not "
            f"{type_name(given)}"
        )
    pairs = []
    for index, pair in enumerate(given):
        if not isinstance(pair, Iterable) or isinstance(pair, (str, bytes)):
            raise TypeError(
                f"{function}: element {index} must be a (key, {what}) pair, not {type_name(pair)}"
            )
        pair = tuple(pair)
        if len(pair) != 2:
            raise ValueError(
                f"{function}: element {index} has {len(pair)} items; a (key, {what}) pair has 2"
            )
        pairs.append(pair)
    return pairs


def _as_parameter(owner: str, where: str, value: Any) -> Parameter:
    """``value`` as a ParameterList's or ParameterDict's item: a Parameter as it is, another
    tensor made one that is trained (sharing its array), as PyTorch's ``Parameter(tensor)``
    is; anything else is a TypeError (PyTorch keeps it as a plain attribute, in no
    ``parameters()``)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(
        f"{owner}: {where} must be a tensor (nn.Parameter(values)), not {type_name(value)}"
    )


def _parameters_repr(container: Module) -> str:
    """PyTorch's repr of a ParameterList or ParameterDict: a line per parameter, its key, dtype
    and shape, ``(0): Parameter containing: [float32 of size 3x2]`` (PyTorch writes one
    parameter on the first line; here it has its line as well)."""
    name = type(container).__name__
    if not container._parameters:
        return f"{name}()"
    lines = [
        f"({key}): Parameter containing: [{backend.dtype_name(p.dtype)} of size "
        f"{'x'.join(str(size) for size in p.shape)}]"
        for key, p in container._parameters.items()
    ]
    body = "\n    ".join(lines)
    return f"{name}(\n    {body}\n)"


class ParameterList(Module):
    """Parameters in a list, registered as parameters named by position (``"0"``, ``"1"`` ...),
    as PyTorch's ``nn.ParameterList``: a model's ``self.scales = ParameterList([...])`` names
    them ``scales.0``, ``scales.1`` ... in ``named_parameters()`` and the ``state_dict``, so an
    optimizer steps them and ``to()`` moves them.

    Indexing (``pl[0]``, ``pl[-1]``, ``pl[1:]``: a ParameterList of the same parameters),
    ``len``, iteration, ``pl[i] = p``, ``append``, ``extend`` and ``+=``, as in PyTorch. An item
    that is a tensor but not a Parameter is made one (trained, as PyTorch's ``Parameter(t)``);
    anything else is a TypeError. A parameter under another name than the next position
    (``pl.head = p``) is refused, as it would have no position, and so is an item set to None
    or deleted (PyTorch's has no deletion). It has no ``forward``.
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Tensor) and name not in self._parameters:
            position = str(len(self._parameters))
            if name != position:
                raise ConfigError(
                    f"ParameterList: a parameter is named by its position ({position} comes "
                    f"next), not {name!r}: add it with .append(parameter), replace one with "
                    "pl[i] = parameter"
                )
        if value is None and name in self._parameters:  # a gap in the positions
            raise ConfigError(f"ParameterList: cannot set item {name} to None")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self[int(name)]
        super().__delattr__(name)

    def __delitem__(self, index: Any) -> None:
        raise TypeError(
            f"ParameterList: cannot delete item {index}, as PyTorch's cannot (the others keep "
            "their positions); build a new one without it, e.g. nn.ParameterList([*pl[:i], "
            "*pl[i + 1:]])"
        )

    def __getitem__(self, index: int | slice) -> Any:
        """The parameter at ``index``, or a ParameterList of those of a slice. Inside
        :func:`~chainrule.nn.functional_call` an item is the value given for it, and a slice
        holds the same parameters but shows the values given (a slice made there keeps them)."""
        items = list(_parameters_in_use(self).values())
        if not isinstance(index, slice):
            return items[_position("ParameterList", index, len(items), "parameters")]
        registered = list(self._parameters.values())[index]
        part = type(self)(registered)
        for position, (item, own) in enumerate(zip(items[index], registered)):
            if item is not own:  # a value swapped in, not its copy: Parameter(value) would
                part.__dict__[str(position)] = item  # cut its gradient
        return part

    def __setitem__(self, index: int, value: Any) -> None:
        """Replace the parameter at ``index`` (the new one keeps the name ``"<index>"``)."""
        position = _position("ParameterList", index, len(self), "parameters")
        setattr(self, str(position), _as_parameter("ParameterList", f"item {position}", value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(list(_parameters_in_use(self).values()))

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` at the end; returns ``self``."""
        setattr(self, str(len(self)), _as_parameter("ParameterList", f"item {len(self)}", value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Add each of ``values`` at the end, in order; returns ``self``. Every one is checked
        before any is added."""
        if not isinstance(values, Iterable) or isinstance(values, (str, bytes, Mapping, Tensor)):
            hint = (
                "; add one parameter with .append(parameter)" if isinstance(values, Tensor) else ""
            )
            raise TypeError(
                f"ParameterList: expected an iterable of parameters (a list), not "
                f"{type_name(values)}{hint}"
            )
        values = list(values)
        params = [
            _as_parameter("ParameterList", f"item {len(self) + offset}", value)
            for offset, value in enumerate(values)
        ]
        for param in params:
            setattr(self, str(len(self)), param)
        return self

    def __repr__(self) -> str:
        return _parameters_repr(self)


class ParameterDict(Module):
    """Parameters by name, registered as parameters under their keys, as PyTorch's
    ``nn.ParameterDict``: ``self.shifts = ParameterDict({"low": Parameter(b)})`` names it
    ``shifts.low`` in ``named_parameters()`` and the ``state_dict``.

    ``pd[key]``, ``pd[key] = p``, ``del pd[key]``, ``len``, ``in``, iteration over the keys (in
    the order they were added; a plain dict given to the constructor or ``update`` is added in
    the order of its sorted keys, as PyTorch adds it), ``keys()``, ``values()``, ``items()``,
    ``get(key, default)``, ``update(mapping or pairs)``, ``pop(key)``, ``clear()``. A key is
    checked as a ModuleDict's (a string, not empty, without ``"."``, not an attribute a module
    has already); a value that is a tensor but not a Parameter is made one (trained, as in
    PyTorch), anything else is a TypeError. It has no ``forward``.
    """

    def __init__(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        """The parameter of ``key`` (inside :func:`~chainrule.nn.functional_call`, the value
        given for it)."""
        try:
            return _parameters_in_use(self)[key]
        except KeyError:  # a bare KeyError 'b' named neither the container nor its keys
            raise KeyError(_missing_key("ParameterDict", key, self._parameters)) from None

    def __setitem__(self, key: str, value: Any) -> None:
        _check_key(self, key, self._parameters, "a parameter")
        setattr(self, key, _as_parameter("ParameterDict", f"the value of key {key!r}", value))

    def __delitem__(self, key: str) -> None:
        if key not in self._parameters:
            raise KeyError(key)
        Module.__delattr__(self, key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> list[str]:
        """The keys, in the order they were added."""
        return list(self._parameters)

    def values(self) -> list[Parameter]:
        """The parameters, in the order of :meth:`keys`."""
        return list(_parameters_in_use(self).values())

    def items(self) -> list[tuple[str, Parameter]]:
        """``(key, parameter)`` pairs, in the order of :meth:`keys`."""
        return list(_parameters_in_use(self).items())

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter of ``key``, or ``default`` where there is none."""
        return _parameters_in_use(self).get(key, default)

    def pop(self, key: str) -> Parameter:
        """Remove ``key`` and return its parameter."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        """Remove every parameter."""
        for key in list(self._parameters):
            del self[key]

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add (or replace) the parameters of a mapping (a dict, a ParameterDict), or of an
        iterable of ``(key, parameter)`` pairs. Every pair is checked before any is added. They
        are added in PyTorch's order: a ParameterDict's, an ``OrderedDict``'s and the pairs' own
        order, and a plain dict's keys sorted (``{"b": p, "a": q}`` gives ``a`` then ``b``), so a
        model's parameters and ``state_dict`` are in the order of the same PyTorch model's."""
        pairs = _pairs("ParameterDict.update", parameters, "parameter")
        for key, _ in pairs:
            _check_key(self, key, self._parameters, "a parameter")
        if isinstance(parameters, Mapping) and not isinstance(parameters, OrderedDict):
            pairs.sort(key=operator.itemgetter(0))  # PyTorch's order: a dict's keys sorted
        checked = []
        for key, value in pairs:
            _check_key(self, key, self._parameters, "a parameter")
            checked.append(
                (key, _as_parameter("ParameterDict", f"the value of key {key!r}", value))
            )
        for key, value in checked:
            setattr(self, key, value)

    def __repr__(self) -> str:
        return _parameters_repr(self)
