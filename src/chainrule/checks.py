"""Predicates for checking what a user passes, shared by every layer of the package.

It imports nothing of chainrule's, so the lowest layers (tensor creation) and the highest (the
explainer, the trainer) can use the same checks; each caller raises its own error, naming its
own call and argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from numpy.lib.array_utils import byte_bounds


def first_non_finite(values: np.ndarray) -> tuple[int, ...] | None:
    """The position of the first NaN or infinity in ``values`` (row-major), or None: what a
    reader or a fit names when it refuses the array."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    return tuple(int(k) for k in np.argwhere(bad)[0])


def first_too_large(values: np.ndarray, dtype: Any) -> tuple[int, ...] | None:
    """The position of the first value of ``values`` too large in magnitude for the float
    ``dtype`` (1e300 is finite in float64, infinity in float32), or None; None for a dtype
    that is not a float."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        return None
    too_big = np.abs(values) > np.finfo(dtype).max
    if not too_big.any():
        return None
    return tuple(int(k) for k in np.argwhere(too_big)[0])


def is_integer(value: Any) -> bool:
    """A Python or NumPy integer, not a bool (a count, a size or a seed given as ``2.5`` or
    ``True`` is a slip, not 2 or 1)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """A Python or NumPy integer or float, not a bool (NaN and infinities included: callers
    bound what they take)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def computes_as(obj: Any, cls: type) -> bool:
    """Whether ``obj`` is a ``cls`` that computes what ``cls`` computes: its class replaces
    neither ``forward`` nor ``__call__``, and the instance was given no ``forward`` of its own.

    A view that writes out a layer's or a loss's formulas (the explainer, an exporter) must not
    take a subclass that computes something else (a scaled tanh on ``Tanh``, half the squared
    error on ``SquaredError``) for its parent: it would show the parent's numbers as the model's.
    """
    kind = type(obj)
    return (
        isinstance(obj, cls)
        and getattr(kind, "forward", None) is getattr(cls, "forward", None)
        and kind.__call__ is cls.__call__
        and "forward" not in getattr(obj, "__dict__", {})
    )


def whole_number(text: str) -> int | None:
    """ASCII digits (spaces around them allowed) as an integer, else None: a size or count as
    the CSV reader reads numbers (``int`` also takes "1_0", "+4" and other scripts' digits)."""
    text = text.strip()
    return int(text) if re.fullmatch(r"[0-9]+", text) else None


def defined_alike(known: type | None, cls: type) -> bool:
    """Whether a registry's ``known`` class is ``cls`` or one defined at the same place (its
    module and qualified name): a notebook cell defining and registering a class, run again,
    registers it again, where another class under a taken name is refused."""
    return known is not None and (
        known is cls or (known.__module__, known.__qualname__) == (cls.__module__, cls.__qualname__)
    )


def is_chainrules(cls: type) -> bool:
    """Whether ``cls`` is one of chainrule's own classes (defined in its package), not a user's."""
    return cls.__module__.split(".")[0] == "chainrule"


def owner_of(cls: type) -> str:
    """Whose a registered class is, for a refusal: "chainrule's own SGD", "mylib.opt's Mine"."""
    whose = "chainrule's own" if is_chainrules(cls) else f"{cls.__module__}'s"
    return f"{whose} {cls.__qualname__}"


def shared_arrays(named: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Which of the ``(name, array)`` pairs hold arrays sharing memory: for each array that
    shares some of its memory with one listed before it (the same array again, a view of it,
    a parameter made on another's array, ``nn.Parameter(w.data)``), the pair (the first such
    earlier array's name, its own name), in the order given; [] where none do. A parameter's
    checks go by this, not by ``id``: two parameters on one array are written twice by an
    optimizer's step and trained apart by everything that counts them as two.

    The arrays are grouped by the array owning their memory (a view's ``base``, followed to
    its end), and only those of one group whose bytes' bounds overlap are compared, by
    ``np.shares_memory``: a network's n parameters cost n look-ups, not n^2 comparisons, even
    where all are views of one buffer. An array that is not NumPy's (another library's) is
    compared by identity alone."""
    groups: dict[int, list[tuple[int, str, Any]]] = {}
    for order, (name, array) in enumerate(named):
        owner = array
        while isinstance(owner, np.ndarray) and owner.base is not None:
            owner = owner.base
        # each member holds its array, and so its owner: no id is reused while grouping
        groups.setdefault(id(owner), []).append((order, name, array))
    first_partner: dict[int, tuple[int, str, str]] = {}  # a later array's earliest partner
    for members in groups.values():
        if len(members) > 1:
            for (i, first), (j, second) in _sharing_pairs(members):
                if j not in first_partner or i < first_partner[j][0]:
                    first_partner[j] = (i, first, second)
    return [(first, second) for _, (_, first, second) in sorted(first_partner.items())]


def _sharing_pairs(
    members: list[tuple[int, str, Any]],
) -> Iterator[tuple[tuple[int, str], tuple[int, str]]]:
    """The pairs ((order, name), (order, name)), earlier first, of ``members`` (one owner's
    arrays) that share memory: the same object twice, or NumPy arrays whose bytes overlap."""
    seen: dict[int, tuple[int, str]] = {}
    spans = []
    for order, name, array in members:
        earlier = seen.setdefault(id(array), (order, name))
        if earlier[0] != order:
            yield earlier, (order, name)
        elif isinstance(array, np.ndarray) and array.size:
            spans.append((*byte_bounds(array), order, name, array))
    spans.sort(key=lambda span: (span[0], span[2]))
    active: list[tuple[int, int, str, np.ndarray]] = []  # spans reaching past the next start
    for low, high, order, name, array in spans:
        active = [span for span in active if span[0] > low]
        for _, other_order, other_name, other in active:
            if np.shares_memory(other, array):
                pair = sorted([(other_order, other_name), (order, name)])
                yield pair[0], pair[1]
        active.append((high, order, name, array))
