"""Train/validation/test splits, standardisation and mini-batches, all seeded.

Randomness comes only from a NumPy ``Generator`` built from the seed the caller gives, so a run
with the same seed sees the same split and the same batches in the same order.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule.checks import first_non_finite, first_too_large, is_integer
from chainrule.creation import as_generator
from chainrule.data.csvfile import DataWarning
from chainrule.data.dataset import Dataset, cell_error, cell_name, check_array
from chainrule.errors import DataError, user_stacklevel


def _count(part: float | int, n: int, what: str) -> int:
    """A split size given as a fraction of ``n`` (float in [0, 1)) or a number of cases (int)."""
    if isinstance(part, (bool, np.bool_)) or not isinstance(part, (int, float, np.number)):
        raise DataError(f"split: {what} must be a fraction or a count, got {part!r}")
    if isinstance(part, (int, np.integer)):
        if not 0 <= part <= n:
            raise DataError(f"split: {what} = {part} cases is out of range for {n} cases")
        return int(part)
    if not 0.0 <= part < 1.0:  # NaN too
        raise DataError(f"split: {what} fraction must be in [0, 1), got {part}")
    return int(round(part * n))


def _apportion(sizes: np.ndarray, total: int, room: np.ndarray, rng: np.random.Generator):
    """Whole numbers of cases per class that add up to ``total``: each class gets its share of
    ``total`` (in proportion to ``sizes``) rounded down, then the largest remainders get one case
    more (ties in random order), never more than a class's ``room``. So each count is within one
    case of the class's exact share."""
    ideal = sizes * (total / sizes.sum())
    counts = np.minimum(np.floor(ideal).astype(np.int64), room)
    shuffled = rng.permutation(len(sizes))
    order = shuffled[np.argsort(-(ideal - counts)[shuffled], kind="stable")]
    while counts.sum() < total:  # total <= room.sum(), so this ends
        for c in order:
            if counts.sum() == total:
                break
            if counts[c] < room[c]:
                counts[c] += 1
    return counts


def _stratified_rows(labels: np.ndarray, n_test: int, n_val: int, rng: np.random.Generator):
    """(test, val, train) rows with every class in each part within one or two cases of its
    share of the whole: the test and validation parts within one case each, train (the rest)
    within two."""
    _, classes = np.unique(labels, return_inverse=True)
    sizes = np.bincount(classes)
    test_counts = _apportion(sizes, n_test, sizes, rng)
    val_counts = _apportion(sizes, n_val, sizes - test_counts, rng)
    parts: tuple[list, list, list] = ([], [], [])
    for c in range(len(sizes)):
        members = rng.permutation(np.flatnonzero(classes == c))
        cut = (test_counts[c], test_counts[c] + val_counts[c])
        for part, rows in zip(parts, np.split(members, cut)):
            part.append(rows)
    return tuple(np.sort(np.concatenate(part)) for part in parts)


def _strata(ds: Dataset) -> tuple[np.ndarray | None, str | None]:
    """(the class of each case a stratified split keeps the proportions of, None), or (None,
    why ``ds`` has none): a classification's labels; a multilabel dataset's one 0/1 column (a
    single logistic unit's targets, as PyTorch's BCE takes them, (n, 1))."""
    if ds.task == "classification":
        return np.asarray(ds.y), None
    if ds.task != "multilabel":
        return None, f"a {ds.task}'s targets have no classes"
    y = np.asarray(ds.y)
    columns = y.shape[1] if y.ndim == 2 else 1
    if columns != 1:
        return None, f"its {columns} label columns give no one class per case"
    column = y.reshape(-1)
    if not np.isin(column, (0, 1)).all():
        return None, "its label column holds values other than 0 and 1"
    return column, None


def split(
    ds: Dataset,
    val: float | int = 0.1,
    test: float | int = 0.2,
    seed: int = 0,
    stratify: bool | None = None,
) -> tuple[Dataset, Dataset, Dataset]:
    """Split ``ds`` into (train, val, test) at random, reproducibly for a given ``seed``.

    ``val`` and ``test`` are fractions of the cases (floats) or numbers of cases (ints).
    Stratified, each part keeps the class proportions of the whole: a classification's, and a
    multilabel dataset's of one 0/1 column (PyTorch-style (n, 1) targets for one logistic
    unit), by that column. ``stratify`` None (the default) stratifies where there are such
    classes and splits any other dataset (a regression, several label columns) at random;
    True does the same, but warns (:class:`~chainrule.data.csvfile.DataWarning`) where it
    cannot stratify; False never stratifies. Each part's ``meta["indices"]`` lists its rows in
    the dataset as loaded.

    >>> from chainrule import data
    >>> train, val, test = data.split(data.digits(), val=0.1, test=0.2, seed=0)
    >>> len(train), len(val), len(test)
    (1258, 180, 359)
    """
    if not (is_integer(seed) and seed >= 0):
        raise DataError(f"split: seed must be a non-negative integer, got {seed!r}")
    n = len(ds)
    n_val, n_test = _count(val, n, "val"), _count(test, n, "test")
    if n_val + n_test >= n:
        raise DataError(
            f"split: val ({n_val}) + test ({n_test}) leave no training cases out of {n}"
        )
    rng = np.random.default_rng(seed)
    labels, why_not = _strata(ds) if stratify is not False else (None, None)
    if stratify is True and labels is None:
        warnings.warn(
            f"split: stratify=True, but {why_not}, so the split is at random; pass "
            "stratify=False to say so",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
    if labels is not None:
        test_rows, val_rows, train_rows = _stratified_rows(labels, n_test, n_val, rng)
    else:
        order = rng.permutation(n)
        test_rows = np.sort(order[:n_test])
        val_rows = np.sort(order[n_test : n_test + n_val])
        train_rows = np.sort(order[n_test + n_val :])
    return ds.subset(train_rows), ds.subset(val_rows), ds.subset(test_rows)


class Standardizer:
    """Shift and scale each feature to mean 0, standard deviation 1 (fitted on training data).

    A constant feature (standard deviation 0) is only centred: its scale is taken as 1.

    >>> s = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.transform(np.array([[2.0, 5.0]]))
    array([[0., 0.]])
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        """Learn each column's mean and standard deviation (in float64); a value that is NaN or
        infinite raises :class:`~chainrule.errors.DataError` naming it as ``X[row, column]``
        (0-based, as a Dataset names its cells), and so does a Dataset (pass ``ds.X``), a
        sparse matrix, a generator and a masked array with entries masked
        (:func:`~chainrule.data.dataset.check_array`)."""
        check_array(X, "Standardizer.fit")
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as error:  # text, objects, ragged rows
            raise DataError(f"Standardizer.fit: X is not an array of numbers ({error})") from None
        if X.ndim != 2 or len(X) == 0:
            raise DataError(f"Standardizer.fit: need a non-empty 2-D array, got shape {X.shape}")
        found = first_non_finite(X)
        if found is not None:
            raise DataError(f"Standardizer.fit: {cell_name('X', found)} is {X[found]} (not finite)")
        self.mean, std = _mean_and_std(X)
        # A constant column (every value the same, or the same up to rounding relative to its
        # mean) keeps a scale of 1. The test is relative to the column's own size only: a
        # column of tiny values that vary (1e-13 units) is scaled like any other, as
        # scikit-learn's StandardScaler scales it (an absolute floor took it for constant).
        spread = X.max(axis=0) - X.min(axis=0)
        rounding = 64 * np.finfo(np.float64).eps * np.abs(self.mean)
        constant = (spread == 0) | (std <= rounding)
        self.std = np.where(constant, 1.0, std)
        return self

    def _check(self, X: np.ndarray, what: str) -> np.ndarray:
        if self.mean is None:
            raise DataError(f"Standardizer.{what}: call fit first")
        check_array(X, f"Standardizer.{what}")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(self.mean):
            raise DataError(
                f"Standardizer.{what}: fitted on {len(self.mean)} features, got shape {X.shape}"
            )
        return X

    def transform(self, X: np.ndarray, dtype: Any = None) -> np.ndarray:
        """``(X - mean) / std``, computed in float64 and given in ``dtype`` (None: ``X``'s float
        dtype, float32 stays float32). A scaled value beyond that dtype's range (3.4e38 over a
        std below 1 is infinity in float32) raises :class:`~chainrule.errors.DataError` naming
        it as ``X[row, column]`` (0-based, as :meth:`fit` and a Dataset name cells): the
        network's outputs would be NaN. The error's ``cell`` holds those indices and its
        ``detail`` the words after them, for a caller that names a file's case instead
        (:func:`~chainrule.data.dataset.cell_error`)."""
        X = self._check(X, "transform")
        if dtype is None:
            dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
        scaled = (X - self.mean) / self.std
        found = first_too_large(scaled, dtype)
        if found is not None:
            detail = (
                f"{X[found]:g} standardised by the training data's mean and std is "
                f"{scaled[found]:g}, beyond {np.dtype(dtype).name}'s range; rescale that "
                "column, or use float64"
            )
            raise cell_error("X", found, detail)
        return scaled.astype(dtype)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: ``Z * std + mean``."""
        Z = self._check(Z, "inverse_transform")
        dtype = Z.dtype if np.issubdtype(Z.dtype, np.floating) else np.float64
        return (Z * self.std + self.mean).astype(dtype)

    def state(self) -> dict[str, Any]:
        """A JSON-able dict from which :meth:`from_state` rebuilds this standardizer."""
        if self.mean is None:
            raise DataError("Standardizer.state: call fit first")
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Standardizer:
        """The standardizer :meth:`state` described (as read back from JSON)."""
        try:
            mean = np.asarray(state["mean"], dtype=np.float64)
            std = np.asarray(state["std"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(f"Standardizer.from_state: malformed state ({error})") from error
        if mean.ndim != 1 or mean.shape != std.shape:
            raise DataError(
                f"Standardizer.from_state: mean {mean.shape} and std {std.shape} must be "
                "1-D of equal length"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise DataError("Standardizer.from_state: mean must be finite and std finite and > 0")
        out = cls()
        out.mean, out.std = mean, std
        return out


def _mean_and_std(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation, finite for any finite values: a column whose
    sum or squares overflow float64 (values of 1e200: their std was infinity, and the column
    was standardised to zeros; 1.7e308 and 1.6e308: the mean overflowed and the loss became
    NaN) is computed over its values divided by its largest |value|, then scaled back."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = X.mean(axis=0), X.std(axis=0)
    overflowed = ~(np.isfinite(mean) & np.isfinite(std))
    if overflowed.any():
        largest = np.abs(X[:, overflowed]).max(axis=0)
        shrunk = X[:, overflowed] / largest
        mean[overflowed] = shrunk.mean(axis=0) * largest
        std[overflowed] = shrunk.std(axis=0) * largest
    return mean, std


def batches(
    n: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
    drop_last: bool = False,
) -> Iterator[np.ndarray]:
    """Index arrays that cover ``range(n)`` once: one epoch's mini-batches.

    ``batch_size=None`` (or >= n) gives one full batch, ``np.arange(n)`` in order: a "sweep" in
    RHW 1986's words; order does not change a summed gradient, and skipping the shuffle keeps the
    arithmetic identical from epoch to epoch. Otherwise the cases are shuffled with ``rng`` (a
    ``np.random.Generator``, or an int seed) when ``shuffle`` is true. Pass the same Generator
    every epoch so each epoch gets a fresh, reproducible order; ``rng=None`` draws an
    unpredictable one.

    >>> [b.tolist() for b in batches(5, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    if not (is_integer(n) and n >= 0):
        raise DataError(f"batches: n must be an integer >= 0, got {n!r}")
    if batch_size is not None and not (is_integer(batch_size) and batch_size >= 1):
        raise DataError(
            f"batches: batch_size must be a positive integer or None, got {batch_size!r}"
        )
    if batch_size is None or batch_size >= n:
        if n:
            yield np.arange(n)
        return
    if shuffle:
        generator = as_generator(rng, "batches", DataError)
        order = generator.permutation(n)
    else:
        order = np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]
