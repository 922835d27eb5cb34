"""The small problems backpropagation was first shown on (Rumelhart, Hinton & Williams 1986).

Each enumerates every input pattern, so the "training set" is the whole problem and a network
that gets all of them right has solved it. Targets are 0/1 values for logistic output units
(task ``"multilabel"``), ready for the squared error E = 1/2 sum (t - y)^2. ``dtype`` must be a
floating-point type, as for every builder.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.checks import is_integer
from chainrule.data.dataset import Dataset, check_float_dtype
from chainrule.errors import DataError


def binary_vectors(n: int) -> np.ndarray:
    """All ``2**n`` binary vectors of length ``n``, in counting order, shape ``(2**n, n)``."""
    if n < 1:
        raise DataError(f"binary_vectors: n must be >= 1, got {n}")
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int64)


def xor(dtype: Any = np.float32) -> Dataset:
    """Exclusive or: the four cases (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0."""
    check_float_dtype("xor", dtype)
    ds = parity(2, dtype=dtype)
    ds.name = "xor"
    return ds


def parity(n: int = 4, dtype: Any = np.float32) -> Dataset:
    """All ``2**n`` binary vectors; the target is 1 iff the vector holds an odd number of ones."""
    _check_size("parity", n, minimum=1)
    check_float_dtype("parity", dtype)
    X = binary_vectors(n)
    y = (X.sum(axis=1) % 2).reshape(-1, 1)
    return Dataset(
        X=X.astype(dtype),
        y=y.astype(dtype),
        task="multilabel",
        name=f"parity-{n}",
        n_classes=1,
        feature_names=[f"x{i}" for i in range(n)],
        class_names=["odd"],
        meta={"n_bits": n},
    )


def symmetry(n: int = 6, dtype: Any = np.float32) -> Dataset:
    """All ``2**n`` binary vectors; the target is 1 iff the vector reads the same reversed.

    RHW 1986 (Fig. 1) use n = 6: 64 vectors of which 8 are mirror symmetric.
    """
    _check_size("symmetry", n, minimum=2)
    check_float_dtype("symmetry", dtype)
    X = binary_vectors(n)
    mirrored = X[:, ::-1]
    y = np.all(mirrored == X, axis=1).reshape(-1, 1)
    return Dataset(
        X=X.astype(dtype),
        y=y.astype(dtype),
        task="multilabel",
        name=f"symmetry-{n}",
        n_classes=1,
        feature_names=[f"x{i}" for i in range(n)],
        class_names=["symmetric"],
        meta={"n_bits": n},
    )


def encoder(
    n: int = 8, hidden: int | Sequence[int] | None = None, dtype: Any = np.float32
) -> Dataset:
    """The ``n``-``hidden``-``n`` encoder: ``n`` one-hot patterns whose targets are themselves.

    A network must squeeze the patterns through a narrow hidden layer; ``hidden`` defaults to
    ceil(log2 n) (3 for the classic 8-3-8 problem). It names the dataset after that network
    (``encoder-8-3-8``; layer sizes ``[4, 2]`` give ``encoder-8-4-2-8``) and is kept in
    ``meta["hidden"]`` (as given: a size, or a list of them) for the program that builds the
    network.
    """
    _check_size("encoder", n, minimum=2, enumerates=False)
    check_float_dtype("encoder", dtype)
    if hidden is None:
        hidden = max(1, int(np.ceil(np.log2(n))))
    sizes = [hidden] if is_integer(hidden) else list(hidden)
    if not sizes or any(not is_integer(h) or h < 1 for h in sizes):
        raise DataError(f"encoder: hidden must be layer sizes >= 1, got {hidden}")
    patterns = np.eye(n, dtype=dtype)
    return Dataset(
        X=patterns,
        y=patterns.copy(),
        task="multilabel",
        name="-".join(str(size) for size in ["encoder", n, *sizes, n]),
        n_classes=n,
        feature_names=[f"in{i}" for i in range(n)],
        class_names=[f"out{i}" for i in range(n)],
        meta={"hidden": int(hidden) if is_integer(hidden) else [int(h) for h in sizes]},
    )


def _check_size(name: str, n: int, minimum: int, enumerates: bool = True) -> None:
    if not is_integer(n) or n < minimum:
        raise DataError(f"{name}: n must be an integer >= {minimum}, got {n!r}")
    if enumerates and n > 24:
        raise DataError(f"{name}: n = {n} would enumerate 2**{n} vectors; use n <= 24")
