"""``fit(..., resume=True)`` (Keras's and Lightning's habit) is refused naming ``resume`` and
the path it takes.

It raised pathlib's TypeError ("expected str, bytes or os.PathLike object, not bool") from
``io.find_checkpoint``, naming neither ``resume`` nor what it wants. Now the
refusal comes before anything is trained and names the run's own ``checkpoint_dir``; followed
as written, the run goes on from its checkpoint to the weights of one uninterrupted run.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Dataset
from chainrule.train import Trainer


def _data() -> Dataset:
    X = np.random.default_rng(0).normal(size=(24, 2))
    return Dataset(X=X, y=(X[:, 0] > 0).astype(int), task="classification")


def _fit(epochs: int, **options):
    net = cr.nn.mlp([2, 3, 2], activation="tanh", rng=0)
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    cr.train.fit(net, cr.nn.CrossEntropy(), opt, _data(), epochs=epochs, progress=False,
                 **options)  # fmt: skip
    return net


def test_resume_true_names_the_checkpoint_dir_and_following_it_goes_on(tmp_path) -> None:
    ck = tmp_path / "ck"
    _fit(2, checkpoint_dir=ck)
    with pytest.raises(TypeError) as caught:
        _fit(3, checkpoint_dir=ck, resume=True)
    text = str(caught.value)
    assert text.startswith("fit: resume=True: resume takes the path of the checkpoint"), text
    suggested = f"resume={str(ck)!r}"
    assert text.endswith(suggested), text
    resumed = _fit(3, checkpoint_dir=ck, resume=str(ck))  # the suggestion, as written
    whole = _fit(3)
    for a, b in zip(resumed.parameters(), whole.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_fit_takes_resume_false_as_none_and_trainer_resume_refuses_a_non_path(tmp_path) -> None:
    """``resume=args.resume`` with the flag off (Keras's habit) trains from the start, as
    resume=None does."""
    afresh = _fit(1, checkpoint_dir=tmp_path / "ck", resume=False)
    for a, b in zip(afresh.parameters(), _fit(1).parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    net = cr.nn.mlp([2, 3, 2], activation="tanh", rng=0)
    trainer = Trainer(net, cr.nn.CrossEntropy(), cr.optim.SGD(net.parameters(), lr=0.1))
    with pytest.raises(TypeError, match=r"Trainer.resume: resume=1: .*not int; e.g. resume="):
        trainer.resume(1)
    with pytest.raises(TypeError, match=r"Trainer.resume: resume=False: .*leave the call out"):
        trainer.resume(False)
