"""``cr.train.fit`` takes every keyword argument a :class:`Trainer` takes.

``fit`` is the one-call form of ``Trainer(...).fit(...)``, but it lacked ``keep_checkpoints``,
``checkpoint_seconds``, ``meta``, ``standardizer`` and ``class_names``: a run started with
``fit`` could not keep a single checkpoint, nor write the class names and standardizer that
``chainrule predict`` of its checkpoints needs.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ConfigError, ModelFileError, UserError
from chainrule.train import Trainer, fit


def test_every_trainer_keyword_is_a_fit_keyword_with_the_same_default() -> None:
    trainer = inspect.signature(Trainer.__init__).parameters
    fitting = inspect.signature(fit).parameters
    keywords = [p for p in trainer.values() if p.kind is p.KEYWORD_ONLY]
    missing = [p.name for p in keywords if p.name not in fitting]
    assert not missing, f"fit lacks Trainer's {missing}"
    for p in keywords:
        assert fitting[p.name].default == p.default, p.name


def _xor():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return cr.data.Dataset(X=X, y=np.array([0, 1, 1, 0]), task="classification")


def _xor_run(tmp_path, **options):
    net = cr.nn.mlp([2, 3, 2], output=None, rng=0)
    opt = cr.optim.SGD(net.parameters(), lr=0.5)
    fit(net, cr.nn.CrossEntropy(), opt, _xor(), epochs=3, progress=False,
        checkpoint_dir=tmp_path / "ckpt", **options)  # fmt: skip
    return sorted(p for p in (tmp_path / "ckpt").iterdir() if p.is_dir())


def test_keep_checkpoints_reaches_the_trainer(tmp_path) -> None:
    assert len(_xor_run(tmp_path, keep_checkpoints=1)) == 1
    assert len(_xor_run(tmp_path / "all", keep_checkpoints=0)) == 3


def test_class_names_and_meta_reach_the_checkpoints_model_json(tmp_path) -> None:
    newest = _xor_run(tmp_path, class_names=["even", "odd"], meta={"note": "xor"})[-1]
    described = json.loads((newest / "model.json").read_text())
    assert described["class_names"] == ["even", "odd"]
    assert described["meta"]["note"] == "xor"


@pytest.mark.parametrize(
    ("option", "error", "says"),
    [
        ({"class_names": ["a"]}, ModelFileError, r"class_names"),
        ({"standardizer": "bogus"}, ConfigError, r"standardizer must be a fitted .*not str"),
        ({"meta": {"x": {1, 2}}}, TypeError, r"set"),
    ],
)
def test_what_a_checkpoint_would_refuse_is_refused_before_the_first_epoch(
    tmp_path, option, error, says
) -> None:
    """They failed at the first checkpoint, after an epoch of training (a bare AttributeError
    for the standardizer)."""
    net = cr.nn.mlp([2, 3, 2], output=None, rng=0)
    before = [p.data.copy() for p in net.parameters()]
    with pytest.raises(error, match=says):
        fit(net, cr.nn.CrossEntropy(), cr.optim.SGD(net.parameters(), lr=0.5), _xor(), epochs=2,
            progress=False, checkpoint_dir=tmp_path / "ckpt", **option)  # fmt: skip
    assert all(np.array_equal(a, p.data) for a, p in zip(before, net.parameters()))
    assert not (tmp_path / "ckpt").exists() or not any((tmp_path / "ckpt").iterdir())


def test_a_loss_class_for_an_instance_is_refused() -> None:
    net = cr.nn.mlp([2, 3, 2], output=None, rng=0)
    with pytest.raises(UserError, match=r"loss is the class CrossEntropy.*loss=CrossEntropy\(\)"):
        Trainer(net, cr.nn.CrossEntropy, cr.optim.SGD(net.parameters(), lr=0.5))
