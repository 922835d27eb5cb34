"""What a Keras user types: its argument names, its loss names, its history keys, a loaded
model's scaling, and the epoch early stopping stops at, each told in chainrule's words."""

from __future__ import annotations

import inspect
import io as text_io
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ConfigError, UserError
from chainrule.train import trainer as trainer_module
from chainrule.train.history import KEYS, History

ROOT = Path(__file__).resolve().parents[2]


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    return cr.data.Dataset(X=X, y=(X[:, 0] > 0).astype(np.int64), task="classification")


def _parts():
    net = cr.nn.mlp([3, 4, 2], rng=0)
    return net, cr.nn.CrossEntropy(), cr.optim.SGD(net.parameters(), lr=0.1)


# -- 1. a loaded model's standardizer ----------------------------------------------------------

SCALE_RECIPE = 'cr.data.Standardizer.from_state(info["standardizer"]).transform('


def test_load_model_docstring_says_to_scale_the_rows_with_the_saved_standardizer():
    doc = cr.io.load_model.__doc__
    assert SCALE_RECIPE in doc
    assert "wrong answers" in doc


def test_training_md_says_to_scale_the_rows_where_load_model_is_described():
    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    paragraph = text[text.index("`io.load_model` takes what the commands take") :]
    paragraph = paragraph[: paragraph.index("\n\n")]
    assert 'info["standardizer"]' in paragraph
    assert "Standardizer.from_state" in paragraph
    assert 'rows = cr.data.Standardizer.from_state(info["standardizer"]).transform(' in text


def test_the_documented_recipe_gives_the_trained_networks_outputs(tmp_path):
    # oracle: the network as trained, given the rows its standardizer scaled
    rng = np.random.default_rng(1)
    X = rng.normal(50.0, 10.0, size=(60, 3)).astype(np.float32)
    y = (X[:, 0] > 50).astype(np.int64)
    std = cr.data.Standardizer().fit(X)
    net, loss, opt = _parts()
    train = cr.data.Dataset(X=std.transform(X), y=y, task="classification")
    cr.train.fit(net, loss, opt, train, epochs=3, progress=False, standardizer=std)
    cr.io.save_model(tmp_path / "m", net, loss=loss, standardizer=std)
    net2, info = cr.io.load_model(tmp_path / "m")
    rows = cr.data.Standardizer.from_state(info["standardizer"]).transform(X, info["dtype"])
    np.testing.assert_array_equal(
        cr.train.predict(net2, rows), cr.train.predict(net, std.transform(X))
    )
    assert not np.allclose(cr.train.predict(net2, X), cr.train.predict(net2, rows))


# -- 2. Keras's argument names -----------------------------------------------------------------

FIT_NAMES = {
    "validation_split": (0.2, r"cr\.data\.split\(ds, val=0\.2, test=0\).*val_ds"),
    "validation_data": (None, r"val_ds"),
    "verbose": (0, r"progress=False"),
    "shuffle": (False, r"always shuffles"),
    "class_weight": ({0: 1.0, 1: 2.0}, r"no class weights"),
    "sample_weight": (np.ones(3), r"no case weights.*sample_weight="),
}


def _callers():
    """Each way into a fit, as a function of the keyword arguments given."""
    ds = _data()

    def fit(**kw):
        net, loss, opt = _parts()
        return cr.train.fit(net, loss, opt, ds, epochs=1, progress=False, **kw)

    def trainer(**kw):
        net, loss, opt = _parts()
        return cr.train.Trainer(net, loss, opt, progress=False, **kw)

    def trainer_fit(**kw):
        net, loss, opt = _parts()
        return cr.train.Trainer(net, loss, opt, progress=False).fit(ds, epochs=1, **kw)

    return {"fit": fit, "Trainer": trainer, "Trainer.fit": trainer_fit}


@pytest.mark.parametrize("who", ["fit", "Trainer", "Trainer.fit"])
@pytest.mark.parametrize("name", sorted(FIT_NAMES))
def test_a_keras_fit_keyword_is_a_type_error_naming_chainrules_way(who, name):
    value, says = FIT_NAMES[name]
    with pytest.raises(TypeError) as refusal:
        _callers()[who](**{name: value})
    message = str(refusal.value)
    assert message.startswith(f"{who}() got an unexpected keyword argument {name!r}, Keras's")
    assert re.search(says, message), message


def test_the_validation_split_the_message_names_is_a_call_that_works():
    message = str(pytest.raises(TypeError, _callers()["fit"], validation_split=0.2).value)
    call = re.search(r"cr\.data\.split\([^)]*\)", message).group(0)
    ds = _data(50)
    train, val, rest = eval(call, {"cr": cr, "ds": ds})
    assert (len(train), len(val), len(rest)) == (40, 10, 0)
    net, loss, opt = _parts()
    history = cr.train.fit(net, loss, opt, train, val, epochs=1, progress=False)
    assert history.last["val_loss"] is not None


def test_an_unknown_keyword_not_keras_names_the_parameter_it_is_close_to():
    with pytest.raises(TypeError, match=r"'early_stoping'; did you mean 'early_stopping'\?"):
        _callers()["fit"](early_stoping=3)
    with pytest.raises(TypeError, match=r"^Trainer\(\) got an unexpected keyword argument 'zz'$"):
        _callers()["Trainer"](zz=1)


def test_the_did_you_mean_lists_are_the_signatures_parameters():
    fit_takes = set(inspect.signature(cr.train.fit).parameters) - {
        "model", "loss", "optimizer", "keras_names"
    }  # fmt: skip
    assert set(trainer_module._FIT_ARGUMENTS) == fit_takes
    trainer_takes = set(inspect.signature(cr.train.Trainer).parameters) - {
        "model", "loss", "optimizer", "keras_names"
    }  # fmt: skip
    assert set(trainer_module._TRAINER_ARGUMENTS) == trainer_takes


def test_keras_early_stopping_restore_best_weights_names_restore_best():
    with pytest.raises(
        TypeError,
        match=r"^EarlyStopping\(\) got an unexpected keyword argument 'restore_best_weights', "
        r"Keras's name: chainrule's is restore_best=, True by default",
    ):
        cr.train.EarlyStopping(patience=2, restore_best_weights=True)
    assert cr.train.EarlyStopping(patience=2).restore_best is True  # what the message says
    with pytest.raises(TypeError, match=r"'patiense'; did you mean 'patience'\?"):
        cr.train.EarlyStopping(patiense=2)


def test_early_stopping_on_keras_val_acc_says_did_you_mean_val_accuracy():
    net, loss, opt = _parts()
    stopping = cr.train.EarlyStopping(patience=2, monitor="val_acc")
    with pytest.raises(ConfigError, match=r"no 'val_acc' .*did you mean monitor='val_accuracy'\?"):
        cr.train.fit(net, loss, opt, _data(), _data(seed=1), epochs=2, early_stopping=stopping,
                     progress=False)  # fmt: skip


# -- 3. Keras's loss names ---------------------------------------------------------------------

KERAS_LOSSES = {
    "categorical_crossentropy": cr.nn.CrossEntropy,
    "sparse_categorical_crossentropy": cr.nn.CrossEntropy,
    "binary_crossentropy": cr.nn.BinaryCrossEntropy,
    "mean_squared_error": cr.nn.MSE,
}


@pytest.mark.parametrize("name", sorted(KERAS_LOSSES))
def test_a_keras_loss_name_suggests_a_name_loss_from_name_takes(name):
    net, _, opt = _parts()
    with pytest.raises(UserError) as refusal:
        cr.train.fit(net, name, opt, _data(), epochs=1, progress=False)
    suggested = re.findall(r"loss_from_name\('([^']+)'\)", str(refusal.value))
    assert suggested, str(refusal.value)
    for chainrule_name in suggested:
        assert isinstance(cr.nn.loss_from_name(chainrule_name), KERAS_LOSSES[name])


def test_the_cross_entropy_suggested_for_keras_trains_on_integer_labels():
    net, _, opt = _parts()
    message = str(pytest.raises(UserError, cr.train.fit, net, "categorical_crossentropy", opt,
                                _data(), epochs=1, progress=False).value)  # fmt: skip
    name = re.search(r"loss_from_name\('([^']+)'\)", message).group(1)
    history = cr.train.fit(net, cr.nn.loss_from_name(name), opt, _data(), epochs=1, progress=False)
    assert history.last["accuracy"] is not None


def test_an_unknown_loss_name_lists_only_names_loss_from_name_takes():
    net, _, opt = _parts()
    with pytest.raises(UserError) as refusal:
        cr.train.fit(net, "hinge", opt, _data(), epochs=1, progress=False)
    message = str(refusal.value)
    assert "loss_from_name('hinge')" not in message
    listed = re.findall(r"'([a-z-]+)'", message.split("a name it takes:")[1])
    assert listed and set(listed) == set(cr.nn.losses.LOSSES)
    for name in listed:
        cr.nn.loss_from_name(name)


# -- 4. a History key no epoch logged ----------------------------------------------------------


def _history():
    records = [{k: 0.5 for k in KEYS} | {"epoch": e} for e in (1, 2, 3)]
    records[2]["val_f1"] = 0.7  # one epoch's own key
    return History(records)


@pytest.mark.parametrize(("key", "meant"), [("acc", "accuracy"), ("val_acc", "val_accuracy")])
def test_a_key_no_epoch_logged_is_a_key_error_with_did_you_mean(key, meant):
    h = _history()
    for look in (lambda: h[key], lambda: h.best(key)):
        with pytest.raises(KeyError) as refusal:
            look()
        message = refusal.value.args[0]
        assert f"logged {key!r}" in message and "'val_accuracy'" in message
        assert message.endswith(f"did you mean {meant!r}?")


def test_a_key_some_epochs_logged_keeps_none_for_the_others():
    h = _history()
    assert h["val_f1"] == [None, None, 0.7]
    assert h.best("val_f1", mode="max")["epoch"] == 3


def test_a_callback_reads_its_own_column_before_its_first_write():
    """A running average kept in the History reads its column at epoch 1, before it wrote it;
    another callback's occasional key is read before it is first logged (review 4 of s69: both
    were a KeyError that ended the fit)."""

    class Smooth(cr.train.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            before = [v for v in trainer.history["loss_ema"] if v is not None]
            logs["loss_ema"] = logs["loss"] if not before else 0.9 * before[-1] + 0.1 * logs["loss"]

    class Occasional(cr.train.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch % 3 == 0:
                logs["val_f1"] = 0.5

    class Reader(cr.train.Callback):
        seen: list = []

        def on_epoch_end(self, trainer, epoch, logs):
            self.seen.append(list(trainer.history["val_f1"]))

    net, loss, opt = _parts()
    reader = Reader()
    history = cr.train.fit(net, loss, opt, _data(), epochs=4, progress=False,
                           callbacks=[Smooth(), reader, Occasional()])  # fmt: skip
    losses = history["loss"]
    expected = losses[0]
    for value in losses[1:]:
        expected = 0.9 * expected + 0.1 * value
    assert history["loss_ema"][-1] == pytest.approx(expected, rel=1e-12)
    assert reader.seen[0] == [None]  # before Occasional's first write
    assert history["val_f1"] == [None, None, 0.5, None]


def test_the_trainers_own_columns_stay_columns_of_none_where_not_logged():
    h = History([{"epoch": 1, "loss": 0.5}])
    assert h["val_loss"] == [None]
    assert h.best("val_loss") is None
    assert History()["acc"] == []  # nothing logged yet: nothing to tell


# -- 5. the epoch early stopping stops at is printed -------------------------------------------


def _printed_epochs(epochs, every=4, patience=4):
    out = text_io.StringIO()
    net, loss, opt = _parts()
    # "lr" never improves after epoch 1: the run stops at epoch 1 + patience
    stopping = cr.train.EarlyStopping(patience=patience, monitor="lr")
    trainer = cr.train.Trainer(net, loss, opt, callbacks=[cr.train.EpochPrinter(every=every,
                               stream=out)], early_stopping=stopping, progress=False)  # fmt: skip
    trainer.fit(_data(), epochs=epochs)
    lines = out.getvalue().splitlines()
    return trainer, [int(line.split()[1]) for line in lines], lines


def test_epoch_printer_prints_the_epoch_early_stopping_stopped_at():
    trainer, printed, lines = _printed_epochs(epochs=20)
    assert trainer.stopped_early and trainer.epoch == 5
    assert printed == [4, 5]
    assert f"loss {trainer.history.last['loss']:.4g}" in lines[-1]


def test_epoch_printer_prints_each_epoch_once_when_nothing_stops_the_run():
    _, printed, _ = _printed_epochs(epochs=6, patience=100)
    assert printed == [4, 6]
    _, printed, _ = _printed_epochs(epochs=8, patience=3)  # stops at 4, printed already
    assert printed == [4]
