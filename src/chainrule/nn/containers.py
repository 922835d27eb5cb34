"""ModuleList and ModuleDict: modules held in a list or a dict, registered as submodules.

A plain Python list of layers assigned to a module is not registered (its layers' parameters
would be in no ``parameters()``, optimizer or ``state_dict``), so :class:`Module` refuses it;
these two hold the layers as submodules, with PyTorch's behaviour and names:

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

Neither has a ``forward``: they hold modules for a ``forward`` of one's own to call.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from chainrule.errors import ConfigError, type_name
from chainrule.nn.layers import _config_type, _position
from chainrule.nn.module import Module, from_config, register_module


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
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: a key is a string, not {type_name(key)} ({key!r})")
        if not key or "." in key:
            raise KeyError(
                f"ModuleDict: key {key!r} cannot name a submodule (it must be a non-empty "
                "string without '.', which separates the parts of a parameter's name)"
            )
        if key not in self._modules and hasattr(self, key):
            raise KeyError(
                f"ModuleDict: key {key!r} is an attribute every module has already; choose "
                "another name"
            )

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

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
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = list(modules.items())
        elif isinstance(modules, Iterable) and not isinstance(modules, (str, bytes)):
            pairs = []
            for index, pair in enumerate(modules):
                if not isinstance(pair, Iterable) or isinstance(pair, (str, bytes)):
                    raise TypeError(
                        f"ModuleDict.update: element {index} must be a (key, module) pair, not "
                        f"{type_name(pair)}"
                    )
                pair = tuple(pair)
                if len(pair) != 2:
                    raise ValueError(
                        f"ModuleDict.update: element {index} has {len(pair)} items; a (key, "
                        "module) pair has 2"
                    )
                pairs.append(pair)
        else:
            raise TypeError(
                "ModuleDict.update takes a mapping or an iterable of (key, module) pairs, not "
                f"{type_name(modules)}"
            )
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
