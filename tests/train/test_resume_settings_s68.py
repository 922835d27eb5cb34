"""A resume refuses the optimizer's hyperparameters and the seed where the user gave other
values than the checkpoint's run had (they were silently replaced by the checkpoint's), naming
the field and both values, as another batch size or loss is; the values compared are the ones
the run was set up with, not those a schedule moved them to, so an ordinary resume of the same
code goes on. A model of another size is named as the trainer's difference, not as a damaged
checkpoint file."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import io
from chainrule.data import Dataset
from chainrule.errors import ModelFileError
from chainrule.train import EarlyStopping, Trainer


def _data(n: int = 24, seed: int = 0) -> Dataset:
    X = np.random.default_rng(seed).normal(size=(n, 2))
    return Dataset(X=X, y=(X[:, 0] > 0).astype(int), task="classification")


def _net(hidden: int = 3):
    return cr.nn.mlp([2, hidden, 2], activation="tanh", rng=0)


def _trained(tmp_path, make_optimizer, epochs: int = 2, **options):
    """A checkpoint of ``epochs`` epochs trained with ``make_optimizer(net)``."""
    net = _net()
    cr.train.fit(net, cr.nn.CrossEntropy(), make_optimizer(net), _data(), epochs=epochs,
                 progress=False, checkpoint_dir=tmp_path / "ck", **options)  # fmt: skip
    return tmp_path / "ck"


def _refusal(ck, make_optimizer, **options) -> tuple[str, object]:
    net = _net()
    opt = make_optimizer(net)
    kept = opt.config()
    with pytest.raises(ModelFileError) as caught:
        cr.train.fit(net, cr.nn.CrossEntropy(), opt, _data(), epochs=3, progress=False,
                     resume=ck, **options)  # fmt: skip
    assert opt.config() == kept  # refused before anything changed
    return str(caught.value), opt


# -- 1. the optimizer's hyperparameters and the seed ----------------------------------------------

CHANGES = [  # (optimizer, the run's settings, a change, the field, the run's value, the change's)
    (cr.optim.SGD, {"lr": 0.1}, {"lr": 0.5}, "lr", "0.1", "0.5"),
    (cr.optim.SGD, {"lr": 0.1}, {"momentum": 0.5}, "momentum", "0.0", "0.5"),
    (cr.optim.SGD, {"lr": 0.1, "momentum": 0.5}, {"nesterov": True}, "nesterov", "False",
     "True"),
    (cr.optim.SGD, {"lr": 0.1}, {"weight_decay": 0.3}, "weight_decay", "0.0", "0.3"),
    (cr.optim.Adam, {}, {"betas": (0.8, 0.999)}, "betas[0]", "0.9", "0.8"),
    (cr.optim.Adam, {}, {"eps": 1e-6}, "eps", "1e-08", "1e-06"),
    (cr.optim.AdamW, {}, {"weight_decay": 0.5}, "weight_decay", "0.01", "0.5"),
    (cr.optim.RMSprop, {"lr": 0.01}, {"alpha": 0.99}, "alpha", "0.9", "0.99"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "run", "change", "field", "theirs", "ours"), CHANGES)
def test_another_hyperparameter_is_refused_naming_it(tmp_path, kind, run, change, field, theirs,
                                                     ours):  # fmt: skip
    ck = _trained(tmp_path, lambda net: kind(net.parameters(), **run))
    message, _ = _refusal(ck, lambda net: kind(net.parameters(), **{**run, **change}))
    said = f"trainer.json: field 'optimizer.initial.{field}' is {theirs} in the checkpoint but "
    assert said + f"{ours} in this trainer" in message
    assert "\n" not in message


def test_the_auditors_case_is_refused_and_the_optimizer_keeps_its_values(tmp_path):
    ck = _trained(tmp_path, lambda net: cr.optim.SGD(net.parameters(), lr=0.1))
    message, opt = _refusal(
        ck, lambda net: cr.optim.SGD(net.parameters(), lr=0.5, momentum=0.5, weight_decay=0.3)
    )
    assert "'optimizer.initial.lr' is 0.1 in the checkpoint but 0.5 in this trainer" in message
    assert (opt.lr, opt.momentum, opt.weight_decay) == (0.5, 0.5, 0.3)


def test_another_seed_is_refused(tmp_path):
    ck = _trained(tmp_path, lambda net: cr.optim.SGD(net.parameters(), lr=0.1), seed=3)
    message, _ = _refusal(ck, lambda net: cr.optim.SGD(net.parameters(), lr=0.1), seed=4)
    assert "field 'seed' is 3 in the checkpoint but 4 in this trainer" in message


def test_the_advice_for_another_learning_rate_works(tmp_path):
    """The refusal says how to train on from the checkpoint's weights with another lr: a new
    run whose model is given the checkpoint's weights. Doing what it says trains, from them."""
    ck = _trained(tmp_path, lambda net: cr.optim.SGD(net.parameters(), lr=0.1))
    message, _ = _refusal(ck, lambda net: cr.optim.SGD(net.parameters(), lr=0.5))
    epoch_dir = io.find_checkpoint(ck)
    advice = f"model.load_state_dict(cr.io.load_model({str(epoch_dir)!r})[0].state_dict())"
    assert advice in message
    model = _net()
    exec(advice, {"cr": cr, "model": model})
    saved = io.load_model(epoch_dir)[0].state_dict()
    assert all(np.array_equal(v, saved[k]) for k, v in model.state_dict().items())
    opt = cr.optim.SGD(model.parameters(), lr=0.5)
    cr.train.fit(model, cr.nn.CrossEntropy(), opt, _data(), epochs=1, progress=False,
                 checkpoint_dir=tmp_path / "new")  # fmt: skip
    assert opt.lr == 0.5


# -- the ordinary resume goes on: the values the run was set up with are compared ------------------


def _initial(ck) -> dict:
    """The hyperparameters the latest checkpoint under ``ck`` records its run was set up with."""
    return io.load_checkpoint(ck)["state"]["optimizer"]["initial"]


def _same_as_uninterrupted(tmp_path, make, initial, **options):
    """``make(net) -> (optimizer, schedule)``: a run of 4 epochs resumed after 2, each part
    built afresh as a new process would, gives the weights of one uninterrupted run; its
    checkpoints record the hyperparameters it was set up with: ``initial`` (a dict's part)."""

    def run(epochs, **more):
        net = _net()
        opt, schedule = make(net)
        cr.train.fit(net, cr.nn.CrossEntropy(), opt, _data(), epochs=epochs, progress=False,
                     schedule=schedule, batch_size=6, seed=5, **options, **more)  # fmt: skip
        return net, opt

    whole, _ = run(4)
    run(2, checkpoint_dir=tmp_path / "ck")
    assert initial.items() <= _initial(tmp_path / "ck").items()
    resumed, opt = run(4, resume=tmp_path / "ck", checkpoint_dir=tmp_path / "ck")
    assert initial.items() <= _initial(tmp_path / "ck").items()
    for (name, a), (_, b) in zip(whole.named_parameters(), resumed.named_parameters()):
        assert np.array_equal(a.data, b.data), name
    return opt


def test_a_schedule_that_moved_the_learning_rate_resumes(tmp_path):
    opt = _same_as_uninterrupted(tmp_path, lambda net: (
        opt := cr.optim.SGD(net.parameters(), lr=0.2, momentum=0.9),
        cr.optim.StepLR(opt, step_size=1, gamma=0.5)), {"lr": 0.2, "momentum": 0.9})  # fmt: skip
    assert opt.lr == pytest.approx(0.2 * 0.5**4)


def test_a_piecewise_schedule_of_lr_and_momentum_resumes(tmp_path):
    milestones = {0: {"lr": 0.05, "momentum": 0.5}, 1: {"lr": 0.1, "momentum": 0.9}}
    opt = _same_as_uninterrupted(tmp_path, lambda net: (
        opt := cr.optim.SGD(net.parameters(), lr=0.3),
        cr.optim.PiecewiseSchedule(opt, milestones)), {"lr": 0.3})  # fmt: skip
    assert (opt.lr, opt.momentum) == (0.1, 0.9)
    assert "momentum" not in _initial(tmp_path / "ck")  # the schedule's: not compared


def test_adamw_with_early_stopping_resumes(tmp_path):
    _same_as_uninterrupted(
        tmp_path,
        lambda net: (cr.optim.AdamW(net.parameters(), lr=0.01, weight_decay=0.1), None),
        {"lr": 0.01, "weight_decay": 0.1, "betas": [0.9, 0.999]},
        early_stopping=EarlyStopping(patience=50, monitor="loss"),
    )


def test_the_same_optimizer_and_schedule_objects_resume(tmp_path):
    """A notebook's second fit with the optimizer and schedule of the first, whose learning rate
    the schedule moved: the run's own settings, accepted."""
    net = _net()
    opt = cr.optim.SGD(net.parameters(), lr=0.2)
    schedule = cr.optim.ExponentialLR(opt, gamma=0.5)
    options = {"schedule": schedule, "progress": False}
    cr.train.fit(net, cr.nn.CrossEntropy(), opt, _data(), epochs=2,
                 checkpoint_dir=tmp_path / "ck", **options)  # fmt: skip
    assert opt.lr == pytest.approx(0.05)
    cr.train.fit(net, cr.nn.CrossEntropy(), opt, _data(), epochs=3, resume=tmp_path / "ck",
                 **options)  # fmt: skip
    assert opt.lr == pytest.approx(0.2 * 0.5**3)
    assert _initial(tmp_path / "ck")["lr"] == 0.2


def test_a_trainers_own_schedule_with_another_base_lr_is_refused(tmp_path):
    """A schedule's base learning rate is the run's lr: a StepLR on an optimizer of another lr
    had the checkpoint's silently put in its place."""
    ck = _trained(tmp_path, lambda net: cr.optim.SGD(net.parameters(), lr=0.1),
                  schedule=None)  # fmt: skip
    net = _net()
    opt = cr.optim.SGD(net.parameters(), lr=0.4)
    with pytest.raises(ModelFileError, match="'optimizer.initial.lr' is 0.1 in the checkpoint "
                                             "but 0.4 in this trainer"):  # fmt: skip
        cr.train.fit(net, cr.nn.CrossEntropy(), opt, _data(), epochs=3, progress=False,
                     schedule=cr.optim.StepLR(opt, step_size=1), resume=ck)  # fmt: skip


def test_a_trainer_resumed_and_saved_again_resumes(tmp_path):
    """The settings a resumed run records are the run's: its checkpoint resumes again."""
    ck = _trained(tmp_path, lambda net: cr.optim.SGD(net.parameters(), lr=0.1, momentum=0.5))
    for epochs in (3, 4):
        net = _net()
        trainer = Trainer(net, cr.nn.CrossEntropy(),
                          cr.optim.SGD(net.parameters(), lr=0.1, momentum=0.5), progress=False,
                          checkpoint_dir=ck)  # fmt: skip
        trainer.resume(ck)
        trainer.fit(_data(), epochs=epochs)
    assert io.load_checkpoint(ck)["state"]["epoch"] == 4
    assert _initial(ck)["momentum"] == 0.5


# -- 2. a model of another size: the trainer's difference --------------------------------------


def test_a_model_of_another_size_names_the_field(tmp_path):
    ck = _trained(tmp_path, lambda net: cr.optim.SGD(net.parameters(), lr=0.1))
    net = _net(hidden=5)
    with pytest.raises(ModelFileError) as caught:
        cr.train.fit(net, cr.nn.CrossEntropy(), cr.optim.SGD(net.parameters(), lr=0.1), _data(),
                     epochs=3, progress=False, resume=ck)  # fmt: skip
    message = str(caught.value)
    assert "model.json: field 'architecture.layers[0].n_out' is 3 in the checkpoint but 5 in " in (
        message
    )
    assert "has shape" not in message
    # weights that are not what the checkpoint's own architecture describes (a checkpoint put
    # together by hand) are still refused as the checkpoint's, naming the parameter
    checkpoint = io.load_checkpoint(ck)
    checkpoint["model"] = _net(hidden=5)
    net = _net()
    trainer = Trainer(net, cr.nn.CrossEntropy(), cr.optim.SGD(net.parameters(), lr=0.1),
                      progress=False)  # fmt: skip
    with pytest.raises(ModelFileError, match=r"parameter '0\.weight' has shape \(2, 5\) but the "
                                             r"architecture needs \(2, 3\)"):  # fmt: skip
        trainer.load_state(checkpoint)


def test_a_learning_rate_set_after_the_trainer_was_made_is_the_runs(tmp_path):
    """Review: the settings were taken when the Trainer was made, so a run whose opt.lr was
    set before its first fit (it trained at 0.05) recorded 0.1, and the resume with 0.05 was
    refused while one with 0.1 was taken."""
    net = _net()
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    trainer = Trainer(net, cr.nn.CrossEntropy(), opt, progress=False,
                      checkpoint_dir=tmp_path / "ck")  # fmt: skip
    opt.lr = 0.05
    trainer.fit(_data(), epochs=2)
    again = _net()
    resumed = Trainer(again, cr.nn.CrossEntropy(), cr.optim.SGD(again.parameters(), lr=0.1),
                      progress=False)  # fmt: skip
    resumed.optimizer.lr = 0.05  # set after the Trainer, as the run's was
    resumed.resume(tmp_path / "ck")
    message, _ = _refusal(tmp_path / "ck", lambda n: cr.optim.SGD(n.parameters(), lr=0.1))
    assert "'optimizer.initial.lr' is 0.05 in the checkpoint but 0.1" in message
