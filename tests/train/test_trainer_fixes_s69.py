"""QA fixes of the Trainer (s69): a fit that would train nothing is refused before any epoch,
a resume takes the checkpoint's frozen set, a model its checkpoints could not hold is refused
when the Trainer is made, a checkpoint records its training set's task, and the docs' course
weight-decay callback runs on a model with a frozen layer."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn, optim, train
from chainrule.data import Dataset
from chainrule.errors import ModelFileError, UserError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs" / "training.md"


def _classes(n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    return Dataset(X=X, y=rng.integers(0, n_classes, 64), task="classification")


class Count(train.Callback):
    """Counts the epochs that ended."""

    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs += 1


def _weights(model):
    return {name: p.numpy().copy() for name, p in model.named_parameters()}


# -- 1. a fit that would train nothing -----------------------------------------------------------


def test_an_optimizer_of_frozen_and_replaced_parameters_is_refused_before_any_epoch():
    """The optimizer was made, the body frozen, then the head replaced: the optimizer held the
    frozen body and the old head, and every epoch's loss was the same, without a word."""
    net = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    opt = optim.Adam(net.parameters(), lr=0.01)
    for p in net[0].parameters():
        p.requires_grad = False
    net[2] = nn.Linear(6, 5, rng=1)
    before, count = _weights(net), Count()
    with pytest.raises(UserError) as caught:
        train.fit(net, nn.CrossEntropy(), opt, _classes(5), epochs=5, batch_size=16,
                  progress=False, callbacks=[count])  # fmt: skip
    message = str(caught.value)
    assert "'0.weight', '0.bias' are frozen (requires_grad=False)" in message
    assert "2 no longer in the model" in message
    assert "'2.weight', '2.bias' are in no optimizer" in message
    assert "cr.optim.Adam(model.parameters()" in message
    assert count.epochs == 0
    assert all(np.array_equal(before[k], v) for k, v in _weights(net).items())


def test_a_replaced_layer_the_optimizer_misses_is_told_once_naming_its_parameters():
    """Nothing frozen: the optimizer trained the body and the old head, never the new head.
    Told by a warning, once (made and fitted), as tensors not the model's may be the user's."""
    net = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    opt = optim.SGD(net.parameters(), lr=0.1)
    net[2] = nn.Linear(6, 3, rng=1)
    with pytest.warns(UserWarning) as told:
        trainer = train.Trainer(net, nn.CrossEntropy(), opt, progress=False)
        trainer.fit(_classes(), epochs=1)
    notes = [str(w.message) for w in told if "not the model's" in str(w.message)]
    assert len(notes) == 1
    assert re.search(
        r"SGD holds 2 tensors that are not the model's or the loss's, and the model's "
        r"trainable '2\.weight', '2\.bias' are in none of it, so they will not train",
        notes[0],
    )
    assert "cr.optim.SGD(model.parameters()" in notes[0]


def _temperature_run():
    """The review's case: a head-only optimizer that also holds a learnable temperature the
    function loss uses (nothing replaced); the body is left as it is."""
    net = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    log_t = cr.tensor(np.zeros(()), requires_grad=True)
    ce = nn.CrossEntropy()
    opt = optim.Adam([*net[2].parameters(), log_t], lr=0.01)
    return net, log_t, opt, lambda o, t: ce(o * cr.exp(log_t), t)


def test_a_tensor_of_ones_own_in_a_head_only_optimizer_trains_it_and_the_head():
    """It was refused as 'holds 1 parameters no longer in the model (a layer replaced ...)'."""
    net, log_t, opt, loss = _temperature_run()
    before, data = _weights(net), _classes()
    with pytest.warns(UserWarning, match="holds 1 tensor that is not the model's") as told:
        train.fit(net, loss, opt, data, epochs=2, batch_size=16, progress=False)
    assert sum("not the model's" in str(w.message) for w in told) == 1
    after = _weights(net)
    np.testing.assert_array_equal(after["0.weight"], before["0.weight"])
    assert not np.array_equal(after["2.weight"], before["2.weight"])
    # the same run by hand, each step as the trainer's: the temperature moves as it does there
    net2, log_t2, opt2, loss2 = _temperature_run()
    trainer_rng = np.random.default_rng(0)
    from chainrule.data import batches

    X, y = data.X, data.y
    for _ in range(2):
        for rows in batches(len(X), 16, shuffle=True, rng=trainer_rng):
            opt2.zero_grad()
            loss2(net2(cr.tensor(X[rows])), cr.tensor(y[rows])).backward()
            opt2.step()
    np.testing.assert_allclose(log_t.numpy(), log_t2.numpy(), rtol=1e-6)
    assert float(log_t.numpy()) != 0.0


class GradualUnfreeze(train.Callback):
    """ULMFiT's gradual unfreezing: the model starts frozen; each epoch one more layer, from
    the top, is unfrozen."""

    def on_epoch_start(self, trainer, epoch):
        layers = [m for m in trainer.model if m.parameters()]
        for layer in layers[len(layers) - epoch :]:
            layer.requires_grad_(True)


def test_a_model_frozen_at_the_start_and_unfrozen_by_a_callback_trains():
    """It was refused when the Trainer was made, before any callback ran."""
    net = nn.mlp([4, 6, 6, 3], activation="tanh", rng=0)
    net.requires_grad_(False)
    trained = []

    class Changed(train.Callback):
        def on_epoch_start(self, trainer, epoch):
            self.before = _weights(trainer.model)

        def on_epoch_end(self, trainer, epoch, logs):
            after = _weights(trainer.model)
            trained.append(sorted(k for k in after if not np.array_equal(after[k], self.before[k])))

    opt = optim.Adam(net.parameters(), lr=0.01)
    history = train.fit(net, nn.CrossEntropy(), opt, _classes(), epochs=3, batch_size=8,
                        progress=False, callbacks=[GradualUnfreeze(), Changed()])  # fmt: skip
    assert len(history.records) == 3
    assert trained == [
        ["4.bias", "4.weight"],
        ["2.bias", "2.weight", "4.bias", "4.weight"],
        ["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"],
    ]


def test_a_model_with_every_parameter_frozen_is_refused_saying_so():
    """It failed after the first batch with the engine's no_grad/detach RuntimeError; refused
    at the first step (a callback could still unfreeze it before), nothing changed."""
    net = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    for p in net.parameters():
        p.requires_grad = False
    opt = optim.Adam(net.parameters(), lr=0.01)
    before, count = _weights(net), Count()
    with pytest.raises(UserError, match=r"all of the model's 4 parameters are frozen "
                       r"\(requires_grad=False\)"):  # fmt: skip
        train.fit(net, nn.CrossEntropy(), opt, _classes(), epochs=3, progress=False,
                  callbacks=[count])  # fmt: skip
    assert count.epochs == 0
    assert all(np.array_equal(before[k], v) for k, v in _weights(net).items())


def test_a_loss_that_requires_no_gradient_is_refused_saying_so():
    """The model trains, but a function loss computed from the outputs' values: nothing in
    it requires a gradient (the engine refused backward in its own words)."""
    net = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    ce = nn.CrossEntropy()
    opt = optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(UserError, match="this batch.s loss requires no gradient"):
        train.fit(net, lambda o, t: ce(o.detach(), t), opt, _classes(), epochs=1,
                  progress=False)  # fmt: skip


def test_freezing_everything_after_the_trainer_is_made_is_refused_when_the_fit_starts():
    net = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    trainer = train.Trainer(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.1),
                            progress=False)  # fmt: skip
    for p in net.parameters():
        p.requires_grad = False
    count = Count()
    trainer.callbacks.append(count)
    with pytest.raises(UserError, match="all of the model's 4 parameters are frozen"):
        trainer.fit(_classes(), epochs=2)
    assert count.epochs == 0 and trainer.epoch == 0


@pytest.mark.parametrize("how", ["optimizer on the head alone", "body frozen"])
def test_training_some_of_the_parameters_on_purpose_still_runs(how):
    """An optimizer on a subset of the trainable parameters, or on all with some frozen."""
    net = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    if how == "body frozen":
        for p in net[0].parameters():
            p.requires_grad = False
        opt = optim.SGD(net.parameters(), lr=0.1)
    else:
        opt = optim.SGD(net[2].parameters(), lr=0.1)
    before = _weights(net)
    history = train.fit(net, nn.CrossEntropy(), opt, _classes(), epochs=3, progress=False)
    after = _weights(net)
    assert len(history.records) == 3
    for name in ("0.weight", "0.bias"):
        np.testing.assert_array_equal(after[name], before[name])
    assert not np.array_equal(after["2.weight"], before["2.weight"])


# -- 2. a resume takes the checkpoint's frozen set ----------------------------------------------


def _frozen_body():
    net = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    for p in net[0].parameters():
        p.requires_grad = False
    return net, optim.SGD(net.parameters(), lr=0.1, momentum=0.9)


def _trainer(net, opt, directory):
    return train.Trainer(net, nn.CrossEntropy(), opt, batch_size=16, seed=0, progress=False,
                         checkpoint_dir=directory, keep_checkpoints=10)  # fmt: skip


def test_a_resume_after_unfreezing_goes_on_unfrozen_as_the_run_did(tmp_path):
    """Phase 1 with the body frozen, phase 2 unfrozen; the same script, resumed from a phase-2
    checkpoint, builds the model frozen: the resumed run trained the body no more, silently."""
    ds = _classes()
    net, opt = _frozen_body()
    whole = _trainer(net, opt, tmp_path / "ck")
    whole.fit(ds, epochs=3)
    for p in net[0].parameters():
        p.requires_grad = True
    whole.fit(ds, epochs=6)
    saved = json.loads((tmp_path / "ck" / "epoch-000005" / "model.json").read_text())
    assert saved["frozen"] == []
    net2, opt2 = _frozen_body()
    resumed = _trainer(net2, opt2, tmp_path / "ck")
    resumed.resume(tmp_path / "ck" / "epoch-000005")
    assert all(p.requires_grad for p in net2.parameters())
    resumed.fit(ds, epochs=6)
    for name, value in _weights(net).items():  # the uninterrupted run, bit for bit
        np.testing.assert_array_equal(_weights(net2)[name], value)


def test_a_resume_of_a_frozen_run_into_a_model_built_unfrozen_goes_on_frozen(tmp_path):
    ds = _classes()
    net, opt = _frozen_body()
    train.fit(net, nn.CrossEntropy(), opt, ds, epochs=3, batch_size=16, progress=False,
              checkpoint_dir=tmp_path / "ck")  # fmt: skip
    body = net[0].weight.numpy().copy()
    net2 = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    opt2 = optim.SGD(net2.parameters(), lr=0.1, momentum=0.9)
    train.fit(net2, nn.CrossEntropy(), opt2, ds, epochs=6, batch_size=16, progress=False,
              checkpoint_dir=tmp_path / "ck", resume=tmp_path / "ck")  # fmt: skip
    assert [p.requires_grad for p in net2.parameters()] == [False, False, True, True]
    np.testing.assert_array_equal(net2[0].weight.numpy(), body)
    assert not np.array_equal(net2[2].weight.numpy(), net[2].weight.numpy())


class Refusing(train.Callback):
    """A callback whose saved state this trainer cannot take."""

    def state(self):
        return {"n": 1}, {}

    def load_state(self, scalars, arrays):
        raise ValueError("not mine")


def test_a_refused_resume_leaves_the_frozen_flags_as_they_were(tmp_path):
    ds = _classes()
    net, opt = _frozen_body()
    train.fit(net, nn.CrossEntropy(), opt, ds, epochs=2, batch_size=16, progress=False,
              checkpoint_dir=tmp_path / "ck", callbacks=[Refusing()])  # fmt: skip
    net2 = nn.mlp([4, 6, 3], activation="tanh", rng=0)
    opt2 = optim.SGD(net2.parameters(), lr=0.1, momentum=0.9)
    trainer = train.Trainer(net2, nn.CrossEntropy(), opt2, batch_size=16, progress=False,
                            callbacks=[Refusing()])  # fmt: skip
    with pytest.raises(ValueError):
        trainer.resume(tmp_path / "ck")
    assert all(p.requires_grad for p in net2.parameters())
    assert trainer.epoch == 0


# -- 3. a model its checkpoints could not hold: refused before any epoch ------------------------


def _refused_at_once(model, optimizer, tmp_path, data):
    count = Count()
    before = _weights(model)
    with pytest.raises(ModelFileError) as caught:
        train.fit(model, nn.BinaryCrossEntropy(), optimizer, data, epochs=200, progress=False,
                  checkpoint_dir=tmp_path / "ck", checkpoint_every=100,
                  callbacks=[count])  # fmt: skip
    assert count.epochs == 0
    assert all(np.array_equal(before[k], v) for k, v in _weights(model).items())
    assert not (tmp_path / "ck").exists()
    message = str(caught.value)
    assert "\n" not in message
    return message


def _multilabel(n_in, n_out, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(6, n_in))
    return Dataset(X=X, y=(rng.uniform(size=(6, n_out)) > 0.5).astype(float), task="multilabel")


def test_one_linear_in_two_places_is_refused_when_the_trainer_is_made(tmp_path):
    """It trained 100 epochs, then the first checkpoint refused the model."""
    lin = nn.Linear(4, 4, dtype="float64", rng=0)
    model = nn.Sequential(lin, nn.Logistic(), lin)
    message = _refused_at_once(model, optim.SGD(model.parameters(), lr=0.1), tmp_path,
                               _multilabel(4, 4))  # fmt: skip
    assert "'0.weight' is also '2.weight'; '0.bias' is also '2.bias'" in message
    assert "'2.bias' and '2.weight' would be missing" in message
    assert "copy.deepcopy(layer)" in message and "nn.register_module" in message


def test_one_linear_in_two_branches_of_a_parallel_is_refused_when_the_trainer_is_made(tmp_path):
    lin = nn.Linear(3, 2, dtype="float64", rng=0)
    model = nn.Sequential(
        nn.Parallel((3, nn.Sequential(lin, nn.Logistic())), (3, nn.Sequential(lin, nn.Logistic()))),
        nn.Linear(4, 1, dtype="float64", rng=1),
    )
    message = _refused_at_once(model, optim.SGD(model.parameters(), lr=0.1), tmp_path,
                               _multilabel(6, 1))  # fmt: skip
    shared = [name for name, _ in model.named_parameters() if name.endswith(("weight", "bias"))]
    rebuilt = {name for name, _ in nn.Sequential(
        nn.Parallel((3, nn.Sequential(nn.Linear(3, 2), nn.Logistic())),
                    (3, nn.Sequential(nn.Linear(3, 2), nn.Logistic()))),
        nn.Linear(4, 1)).named_parameters()}  # fmt: skip
    lost = sorted(rebuilt - set(shared))  # what a file of this model would lack: every one
    assert len(lost) == 2
    assert all(repr(name) + (" and " if k == 0 else " would be missing") in message
               for k, name in enumerate(lost))  # fmt: skip
    assert "copy.deepcopy(layer)" in message


def test_weights_on_one_array_are_refused_when_the_trainer_is_made_naming_every_pair(tmp_path):
    a, b, c = (nn.Linear(4, 4, dtype="float64", rng=k) for k in range(3))
    b.weight = nn.Parameter(a.weight.data.T)
    c.weight = nn.Parameter(a.weight.data)
    model = nn.Sequential(a, nn.Logistic(), b, nn.Logistic(), c)
    own = [p for name, p in model.named_parameters() if name not in ("2.weight", "4.weight")]
    message = _refused_at_once(model, optim.SGD(own, lr=0.1), tmp_path, _multilabel(4, 4))
    assert "'2.weight' shares its memory with '0.weight'" in message
    assert "'4.weight' shares its memory with '0.weight'" in message
    assert "w.data.copy()" in message


# -- 4. a checkpoint records its training set's task --------------------------------------------


def test_a_multilabel_checkpoint_predicts_the_units_that_are_on(tmp_path, capsys):
    """The checkpoint's meta was {}: `chainrule predict --model CKPT` showed one argmax class."""
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, 4))
    Y = (X[:, :3] > 0.5).astype(float)
    ds = Dataset(X=X, y=Y, task="multilabel")
    net = nn.mlp([4, 8, 3], activation="tanh", dtype="float64", rng=0)
    train.fit(net, nn.BinaryCrossEntropy(), optim.Adam(net.parameters(), lr=0.05), ds,
              epochs=30, batch_size=10, progress=False, checkpoint_dir=tmp_path / "ck")  # fmt: skip
    _, info = io.load_model(tmp_path / "ck")
    assert info["meta"]["task"] == "multilabel"
    rows = X[:4]
    np.savetxt(tmp_path / "in.csv", rows, delimiter=",", fmt="%.17g")
    code, out, err = run(capsys, "predict", "--model", tmp_path / "ck", "--input",
                         tmp_path / "in.csv")  # fmt: skip
    assert code == 0, err
    logits = rows @ net[0].weight.numpy() + net[0].bias.numpy()
    logits = np.tanh(logits) @ net[2].weight.numpy() + net[2].bias.numpy()
    lines = out.strip().splitlines()[1:]
    assert len(lines) == 4
    for line, z in zip(lines, logits):
        on = ";".join(str(k) for k in np.flatnonzero(z > 0))  # a logit above 0: p above 0.5
        assert line.split(",")[1] == on, (line, z)
    assert any(";" in line.split(",")[1] for line in lines)  # several units on: not argmax


def test_a_task_the_meta_records_is_kept_and_the_given_meta_not_changed(tmp_path):
    ds = _classes()
    given = {"run": {"task": "classification"}, "note": "x"}
    net = nn.mlp([4, 6, 3], rng=0)
    train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.1), ds, epochs=1,
              progress=False, checkpoint_dir=tmp_path / "a", meta=given)  # fmt: skip
    assert given == {"run": {"task": "classification"}, "note": "x"}
    assert io.load_model(tmp_path / "a")[1]["meta"] == given
    mine = nn.mlp([4, 6, 1], rng=0)
    regression = Dataset(X=ds.X, y=ds.X[:, :1].sum(axis=1, keepdims=True), task="regression")
    train.fit(mine, nn.MSE(), optim.SGD(mine.parameters(), lr=0.01), regression, epochs=1,
              progress=False, checkpoint_dir=tmp_path / "b")  # fmt: skip
    assert io.load_model(tmp_path / "b")[1]["meta"] == {"task": "regression"}


# -- 5. the docs' CourseDecay callback on a model with a frozen layer ---------------------------


def _course_decay():
    """The CourseDecay class as docs/training.md writes it."""
    text = DOCS.read_text()
    block = re.search(r"```python\n(import numpy as np\n\n\nclass CourseDecay.*?)\n\nnet = ",
                      text, re.S).group(1)  # fmt: skip
    scope = {"cr": cr}
    exec(block, scope)
    return scope["CourseDecay"]


def test_the_docs_course_decay_runs_on_a_model_with_a_frozen_layer():
    """``p.grad.data += ...`` met a frozen weight's None gradient (AttributeError)."""
    wd, lr = 0.01, 0.1
    ds = _classes()
    net = nn.mlp([4, 6, 3], activation="tanh", dtype="float64", rng=0)
    for p in net[0].parameters():
        p.requires_grad = False
    before = _weights(net)
    # the step by hand (one full batch; ds validates too, for val_objective): the loss's
    # gradient of the head's weight plus wd * w, its bias plain
    oracle = nn.mlp([4, 6, 3], activation="tanh", dtype="float64", rng=0)
    nn.CrossEntropy()(oracle(ds.X.astype(np.float64)), ds.y).backward()
    g_w, g_b = oracle[2].weight.grad.numpy(), oracle[2].bias.grad.numpy()
    train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=lr), ds, ds, epochs=1,
              progress=False, callbacks=[_course_decay()(wd)])  # fmt: skip
    after = _weights(net)
    np.testing.assert_array_equal(after["0.weight"], before["0.weight"])
    np.testing.assert_allclose(after["2.weight"],
                               before["2.weight"] - lr * (g_w + wd * before["2.weight"]),
                               rtol=1e-12, atol=1e-14)  # fmt: skip
    np.testing.assert_allclose(after["2.bias"], before["2.bias"] - lr * g_b, rtol=1e-12,
                               atol=1e-14)  # fmt: skip


def test_a_loss_constant_for_one_masked_batch_is_told_how_to_return_one(tmp_path):
    """A function loss returning cr.tensor(0.0) for a batch it masks all of: the refusal names
    that batch and the fix (review of s69: it said the fit would train nothing)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2)).astype(np.float32)
    keep = np.array([1, 1, 1, 1, 0, 1], dtype=np.float32)  # case 4 masked
    ds = Dataset(X=X, y=np.c_[X[:, :1], keep[:, None]], task="regression")
    net = nn.mlp([2, 3, 1], rng=0)

    def masked(out, t):
        mask = t[:, 1:]
        if not mask.numpy().any():
            return cr.tensor(0.0)
        return (((out - t[:, :1]) ** 2) * mask).sum()

    with pytest.raises(UserError, match=r"this batch's loss requires no gradient") as caught:
        train.fit(net, masked, optim.SGD(net.parameters(), lr=0.01), ds, epochs=1,
                  batch_size=1, progress=False, seed=0)  # fmt: skip
    assert "(outputs * 0).sum()" in str(caught.value)


def test_a_pytorch_loss_is_refused_naming_chainrules(torch):
    """fit(torch.nn.MSELoss()) failed with a traceback from inside torch (review of s69)."""
    rng = np.random.default_rng(0)
    ds = Dataset(X=rng.normal(size=(4, 2)), y=rng.normal(size=(4, 1)), task="regression")
    net = nn.mlp([2, 3, 1], rng=0)
    with pytest.raises(UserError, match=r"PyTorch's MSELoss.*nn\.MSE\(\)"):
        train.fit(net, torch.nn.MSELoss(), optim.SGD(net.parameters(), lr=0.1), ds, epochs=1,
                  progress=False)  # fmt: skip
