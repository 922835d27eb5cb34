"""Batch sizes the trainer takes for one: a resume with an equivalent batch size, and a batch
size larger than the training set.

- A run trained with ``batch_size=None`` on 10 cases, resumed with ``batch_size=10`` (or 50
  resumed with 100 on 23 cases) was refused ("field 'batch_size' is None in the checkpoint but
  10 in this trainer"), though ``data.batches`` batches the set alike: one batch of them all.
  It now resumes, and goes on as the uninterrupted run does, bit for bit; a size that batches
  the set otherwise is refused as before.
- A batch size larger than the training set trains as None, without a warning (documented in
  docs/training.md; the scikit-learn estimators warn, as scikit-learn's do).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ModelFileError


def regression(n: int) -> cr.data.Dataset:
    rng = np.random.default_rng(1)
    return cr.data.Dataset(X=rng.normal(size=(n, 3)), y=rng.normal(size=(n, 2)), task="regression")


def net_and_optimizer():
    net = cr.nn.mlp([3, 4, 2], rng=0, dtype=np.float64)
    return net, cr.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)


def fit(ds, batch_size, epochs, **options):
    net, opt = net_and_optimizer()
    cr.train.fit(
        net, cr.nn.MSE(), opt, ds, epochs=epochs, batch_size=batch_size, progress=False,
        **options,
    )  # fmt: skip
    return [p.data.copy() for p in net.parameters()]


@pytest.mark.parametrize(
    ("n", "trained_with", "resumed_with"),
    [(10, None, 10), (10, 10, None), (10, None, 50), (23, 50, 100), (23, 23, None)],
)
def test_a_resume_with_a_size_that_batches_alike_goes_on_as_the_run(
    tmp_path, n, trained_with, resumed_with
):
    ds = regression(n)
    whole = fit(ds, trained_with, epochs=4)  # the run uninterrupted
    fit(ds, trained_with, epochs=2, checkpoint_dir=tmp_path)
    resumed = fit(ds, resumed_with, epochs=4, checkpoint_dir=tmp_path, resume=tmp_path)
    for got, want in zip(resumed, whole, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("n", "trained_with", "resumed_with"), [(10, None, 5), (10, 9, 10), (23, 50, 22)]
)
def test_a_resume_with_a_size_that_batches_otherwise_is_refused(
    tmp_path, n, trained_with, resumed_with
):
    ds = regression(n)
    fit(ds, trained_with, epochs=2, checkpoint_dir=tmp_path)
    with pytest.raises(ModelFileError, match="field 'batch_size' is") as refused:
        fit(ds, resumed_with, epochs=4, checkpoint_dir=tmp_path, resume=tmp_path)
    assert f"is {trained_with} in the checkpoint but {resumed_with} in this trainer" in str(
        refused.value
    )


def test_a_batch_larger_than_the_set_trains_as_one_batch_without_a_warning():
    ds = regression(5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        larger = fit(ds, 50, epochs=3)
    assert [str(w.message) for w in caught if "batch" in str(w.message)] == []
    for got, want in zip(larger, fit(ds, None, epochs=3), strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_last_smaller_batch_is_kept_and_stepped_on_its_own():
    """5 cases in batches of 2: three steps an epoch, of 2, 2 and 1 cases, every case once
    (docs/training.md: no drop_last in the trainer)."""
    ds = regression(5)
    net, opt = net_and_optimizer()
    trainer = cr.train.Trainer(net, cr.nn.MSE(), opt, batch_size=2, progress=False)
    stepped, step = [], trainer.step

    def counted(x, t):
        stepped.append([int(np.flatnonzero((row == ds.X).all(axis=1))[0]) for row in x])
        return step(x, t)

    trainer.step = counted
    trainer.fit(ds, epochs=2)
    for epoch in (stepped[:3], stepped[3:]):
        assert [len(rows) for rows in epoch] == [2, 2, 1]
        assert sorted(sum(epoch, [])) == list(range(5))
