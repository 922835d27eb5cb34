"""``data.split(ds, stratify=True)`` ignored stratify for a multilabel dataset of ONE 0/1 column
(PyTorch-style BCE targets, (n, 1)): 10 positives in 1000 left 0 to 5 in a test part of 200,
by the seed. Such a column is now stratified on as class labels are, and a stratify=True that
cannot be honoured (a regression, several label columns) warns instead of passing silently."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from chainrule import data
from chainrule.data.csvfile import DataWarning

SEEDS = range(20)


def _rare(task: str) -> data.Dataset:
    X = np.random.default_rng(0).normal(size=(1000, 3))
    y = np.zeros(1000, np.int64)
    y[:10] = 1  # 1% positives
    return data.Dataset(X=X, y=y if task == "classification" else y[:, None].astype(float),
                        task=task)  # fmt: skip


def _positives(part: data.Dataset) -> int:
    return int(np.asarray(part.y).sum())


@pytest.mark.parametrize("stratify", [True, None])
def test_one_binary_column_keeps_its_share_in_every_part(stratify):
    ds = _rare("multilabel")
    for seed in SEEDS:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            train, val, test = data.split(ds, val=0.1, test=0.2, seed=seed, stratify=stratify)
        # 1% of 100 and of 200 cases, as the class labels' split gives them
        assert [_positives(p) for p in (train, val, test)] == [7, 1, 2], seed


def test_it_takes_the_rows_the_class_labels_take():
    for seed in SEEDS:
        as_labels = data.split(_rare("classification"), val=0.1, test=0.2, seed=seed)
        as_column = data.split(_rare("multilabel"), val=0.1, test=0.2, seed=seed)
        for a, b in zip(as_labels, as_column):
            np.testing.assert_array_equal(a.meta["indices"], b.meta["indices"])


def test_stratify_false_still_splits_at_random():
    counts = {_positives(data.split(_rare("multilabel"), seed=s, stratify=False)[2])
              for s in SEEDS}  # fmt: skip
    assert len(counts) > 1


def test_a_stratify_true_that_cannot_be_honoured_warns():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2))
    regression = data.Dataset(X=X, y=X.sum(axis=1, keepdims=True), task="regression")
    labels = (rng.random((50, 3)) < 0.5).astype(float)
    several = data.Dataset(X=X, y=labels, task="multilabel")
    soft = data.Dataset(X=X, y=rng.random((50, 1)), task="multilabel")
    for ds, why in [(regression, "a regression's targets have no classes"),
                    (several, "its 3 label columns"),
                    (soft, "its label column holds values other than 0 and 1")]:  # fmt: skip
        with pytest.warns(DataWarning, match=f"split: stratify=True, but {why}"):
            parts = data.split(ds, seed=0, stratify=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the default, and False, say nothing
            same = data.split(ds, seed=0)
            data.split(ds, seed=0, stratify=False)
        for a, b in zip(parts, same):  # at random, as before
            np.testing.assert_array_equal(a.meta["indices"], b.meta["indices"])
