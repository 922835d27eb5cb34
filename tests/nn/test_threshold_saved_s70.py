"""A decision threshold set on a loss (``bce.threshold = 0.1``: the cut fit, evaluate, accuracy
and class_report read) was dropped by every model file: the loss was written
``{'type': 'binary-cross-entropy'}``, so the reloaded model, ``chainrule predict`` and
``evaluate`` cut at 0.5 (accuracy 0.10 in the session, 0.82 after reload). A loss's config now
records a threshold other than its class's, for chainrule's losses and registered ones alike,
and ``loss_from_config`` sets it again."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.module import ConfigError

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_run import run  # noqa: E402


def _data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] > 1.2).astype(np.int64)
    return cr.data.Dataset(X=X, y=y, task="classification", n_classes=2)


def _thresholded():
    bce = nn.BinaryCrossEntropy()
    bce.threshold = 0.1
    return bce


def _fitted(checkpoint_dir=None):
    ds, bce = _data(), _thresholded()
    net = nn.mlp([3, 1], dtype="float64", rng=0)
    cr.train.fit(net, bce, cr.optim.SGD(net.parameters(), lr=0.1), ds, epochs=2,
                 progress=False, checkpoint_dir=checkpoint_dir)  # fmt: skip
    return net, bce, ds


def _cut_at(net, ds, threshold):
    """The 0/1 predictions of the one logistic unit cut at ``threshold``, by hand."""
    p = 1 / (1 + np.exp(-net(cr.tensor(ds.X)).numpy()[:, 0]))
    return (p > threshold).astype(np.int64)


def test_config_records_a_threshold_and_rebuilds_it():
    bce = _thresholded()
    assert bce.config() == {"type": "binary-cross-entropy", "threshold": 0.1}
    rebuilt = nn.loss_from_config(bce.config())
    assert type(rebuilt) is nn.BinaryCrossEntropy and rebuilt.threshold == 0.1
    assert "threshold=0.1" in repr(bce)
    # the default writes nothing, so such files read as those of older versions
    assert nn.BinaryCrossEntropy().config() == {"type": "binary-cross-entropy"}
    other = nn.BinaryCrossEntropy(per_unit=False)
    other.threshold = np.float32(0.25)
    assert nn.loss_from_config(other.config()).threshold == pytest.approx(0.25)
    assert nn.loss_from_config(other.config()).per_unit is False
    ce = nn.CrossEntropy()
    ce.threshold = 0.3
    assert nn.loss_from_config(ce.config()).threshold == 0.3


def test_a_registered_loss_keeps_its_threshold_through_with_threshold(request):
    """A config of one's own is one's own (review 4: wrapping it broke user losses); it keeps a
    threshold set on the loss by passing its dict through nn.losses.with_threshold."""
    request.addfinalizer(lambda: nn.losses.LOSSES.pop("half-squared-s70", None))

    @nn.register_loss
    class HalfSquaredS70(nn.Loss):
        name = "half-squared-s70"

        def __init__(self, scale=1.0):
            self.scale = scale

        def forward(self, output, target):
            error = output - target
            return self.scale * (error * error).sum()

        def config(self):
            return nn.losses.with_threshold(self, {"type": self.config_type(), "scale": self.scale})

    loss = HalfSquaredS70(2.0)
    assert loss.config() == {"type": "half-squared-s70", "scale": 2.0}  # the default: nothing
    loss.threshold = 0.7
    assert loss.config() == {"type": "half-squared-s70", "scale": 2.0, "threshold": 0.7}
    rebuilt = nn.loss_from_config(loss.config())
    assert (rebuilt.scale, rebuilt.threshold) == (2.0, 0.7)


@pytest.mark.parametrize("bad", [1.5, 0.0, "0.1", True, float("nan"), None])
def test_a_threshold_no_probability_is_refused_on_rebuild(bad):
    with pytest.raises(ConfigError, match="threshold"):
        nn.loss_from_config({"type": "binary-cross-entropy", "threshold": bad})


def test_save_and_load_keep_the_cut(tmp_path):
    net, bce, ds = _fitted()
    in_session = cr.train.evaluate(net, bce, ds)["accuracy"]
    assert in_session == pytest.approx(np.mean(_cut_at(net, ds, 0.1) == ds.y))
    assert in_session != pytest.approx(np.mean(_cut_at(net, ds, 0.5) == ds.y))
    cr.io.save_model(tmp_path / "m", net, loss=bce)
    model, info = cr.io.load_model(tmp_path / "m")
    assert info["loss"] == {"type": "binary-cross-entropy", "threshold": 0.1}
    loss = nn.loss_from_config(info["loss"])
    assert cr.train.evaluate(model, loss, ds)["accuracy"] == pytest.approx(in_session)


def test_checkpoint_keeps_the_cut_and_resumes(tmp_path):
    net, bce, ds = _fitted(tmp_path / "ck")
    saved = json.loads((tmp_path / "ck" / "epoch-000002" / "model.json").read_text())
    assert saved["loss"] == {"type": "binary-cross-entropy", "threshold": 0.1}
    again = nn.mlp([3, 1], dtype="float64", rng=5)
    history = cr.train.fit(again, _thresholded(), cr.optim.SGD(again.parameters(), lr=0.1), ds,
                           epochs=3, progress=False, checkpoint_dir=tmp_path / "ck",
                           resume=tmp_path / "ck" / "epoch-000002")  # fmt: skip
    assert len(history) == 3
    assert history[-1]["accuracy"] == pytest.approx(np.mean(_cut_at(again, ds, 0.1) == ds.y))


def test_predict_and_evaluate_of_the_saved_model_cut_at_the_threshold(tmp_path, capsys):
    net, bce, ds = _fitted()
    cr.io.save_model(tmp_path / "m", net, loss=bce)
    rows = tmp_path / "rows.csv"
    rows.write_text("\n".join(",".join(repr(v) for v in row) for row in ds.X.tolist()) + "\n")
    code, text, err = run(capsys, "predict", tmp_path / "m", "-i", rows, "--json")
    assert code == 0, err
    predicted = [int(case["prediction"]) for case in json.loads(text)["predictions"]]
    wanted = _cut_at(net, ds, 0.1)
    assert predicted == wanted.tolist() and wanted.tolist() != _cut_at(net, ds, 0.5).tolist()
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(
        "\n".join(",".join(repr(v) for v in row) + f",{t}" for row, t in zip(ds.X.tolist(), ds.y))
        + "\n"
    )
    code, text, err = run(capsys, "evaluate", tmp_path / "m", "--data", labelled, "--json")
    assert code == 0, err
    assert json.loads(text)["accuracy"] == pytest.approx(np.mean(wanted == ds.y))
