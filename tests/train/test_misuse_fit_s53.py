"""fit refuses, before any weight changes, a validation set whose labels the model's outputs
cannot score (it failed after a whole epoch, deep in evaluate, never naming the validation set),
and a loss given by its name (``'str' object is not callable`` in the first step)."""

import numpy as np
import pytest

from chainrule import data, nn, optim, train
from chainrule.errors import DataError, LabelError, UserError


def _sets(bad_label: int = 5):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    y = (X[:, 0] > 0).astype(int)
    bad = y.copy()
    bad[3] = bad_label
    train_ds = data.Dataset(X=X, y=y, task="classification", name="train")
    val_ds = data.Dataset(X=X[:10], y=bad[:10], task="classification", name="val")
    return train_ds, val_ds


@pytest.mark.parametrize(
    "loss, error, said",
    [(nn.CrossEntropy(), LabelError, r"label 5 is out of range for 2 classes"),
     (nn.SquaredError(), DataError, r"val: label 5 but the network has 2 output units")],
)  # fmt: skip
def test_a_validation_label_out_of_range_is_refused_before_training(loss, error, said):
    train_ds, val_ds = _sets()
    net = nn.mlp([3, 4, 2], rng=0)
    before = {k: v.copy() for k, v in net.state_dict().items()}
    seen = []

    class Watch(train.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(epoch)

    with pytest.raises(error, match=rf"^fit: the validation set \(val_ds\): .*{said}"):
        train.fit(net, loss, optim.SGD(net.parameters(), lr=0.1), train_ds, val_ds, epochs=2,
                  callbacks=[Watch()], progress=False)  # fmt: skip
    assert seen == []
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_the_training_sets_label_is_named_as_the_training_set():
    train_ds, _ = _sets()
    bad_train, _ = _sets()
    y = bad_train.y.copy()
    y[0] = 7
    bad_train = data.Dataset(X=train_ds.X, y=y, task="classification")
    net = nn.mlp([3, 4, 2], rng=0)
    with pytest.raises(LabelError, match=r"^fit: the training set \(train_ds\): .*label 7"):
        train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.1), bad_train,
                  epochs=1, progress=False)  # fmt: skip


def test_in_range_validation_labels_still_train():
    """A validation set whose labels stop short of the last class is fine."""
    train_ds, val_ds = _sets(bad_label=0)
    net = nn.mlp([3, 4, 2], rng=0)
    history = train.fit(net, nn.CrossEntropy(), optim.SGD(net.parameters(), lr=0.1), train_ds,
                        val_ds, epochs=1, progress=False)  # fmt: skip
    assert np.isfinite(history.last["val_loss"])


@pytest.mark.parametrize("loss", ["cross-entropy", 42, None])
def test_a_loss_that_cannot_be_called_is_refused_naming_the_fix(loss):
    train_ds, _ = _sets()
    net = nn.mlp([3, 4, 2], rng=0)
    said = r"nn\.loss_from_name\('cross-entropy'\)" if isinstance(loss, str) else r"not a loss"
    with pytest.raises(UserError, match=rf"^loss is .*{said}"):
        train.fit(net, loss, optim.SGD(net.parameters(), lr=0.1), train_ds, progress=False)
    with pytest.raises(UserError, match=rf"^loss is .*{said}"):
        train.Trainer(net, loss, optim.SGD(net.parameters(), lr=0.1), progress=False)
