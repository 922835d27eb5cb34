"""A loss that is a sum over the cases (the lecture's E, SquaredError's default) is a bigger number
for a bigger set: the epoch lines put a 1258-case training sum beside a 180-case validation sum,
and curves.png drew the validation curve 6.5x below the training one when it was worse per case.
The lines now add each sum per case, and the curves draw it per case."""

from __future__ import annotations

import io
import re

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train.callbacks import EpochPrinter, format_logs


def _sets(n_train: int = 40, n_val: int = 10):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_train + n_val, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    ds = data.Dataset(X=X, y=y, task="classification")
    return ds.subset(np.arange(n_train)), ds.subset(np.arange(n_train, n_train + n_val))


def _printed(loss) -> tuple[str, list[dict]]:
    train, val = _sets()
    net = nn.mlp([3, 4, 2], output="logistic", dtype=np.float64, rng=0)
    stream = io.StringIO()
    history = cr.train.fit(net, loss, optim.SGD(net.parameters(), lr=0.1), train, val, epochs=2,
                           batch_size=8, progress=False,
                           callbacks=[EpochPrinter(stream=stream)])  # fmt: skip
    return stream.getvalue(), history.records


def test_a_summed_loss_is_printed_with_its_value_per_case():
    text, records = _printed(nn.SquaredError())  # reduction "sum"
    last = text.strip().splitlines()[-1]
    shown = dict(re.findall(r"(\w+) [\d.e+-]+ \(([\d.e+-]+) per case\)", last))
    assert set(shown) == {"loss", "val_loss"}, last
    assert float(shown["loss"]) == float(f"{records[-1]['loss'] / 40:.4g}")
    assert float(shown["val_loss"]) == float(f"{records[-1]['val_loss'] / 10:.4g}")


def test_a_mean_loss_is_printed_as_it_is():
    text, _ = _printed(nn.MSE())
    assert "per case" not in text and "loss" in text


def test_format_logs_says_per_case_only_for_the_sums_named():
    logs = {"loss": 134.7, "accuracy": 0.8871, "val_loss": 20.73}
    assert format_logs(logs) == "loss 134.7  acc 88.71%  val_loss 20.73"
    line = format_logs(logs, {"loss": 1258, "val_loss": 180})
    assert line == "loss 134.7 (0.1071 per case)  acc 88.71%  val_loss 20.73 (0.1152 per case)"


def test_the_curves_draw_a_summed_loss_per_case(tmp_path, saved_figures):
    from chainrule.viz import curves

    records = [{"epoch": 1, "loss": 200.0, "val_loss": 30.0},
               {"epoch": 2, "loss": 120.0, "val_loss": 24.0}]  # fmt: skip
    curves.plot_history(records, tmp_path / "c.png", cases={"loss": 1000, "val_loss": 100})
    ax = saved_figures[-1].axes[0]
    drawn = {line.get_label(): list(line.get_ydata()) for line in ax.lines}
    assert drawn["train loss per case (E / cases)"] == [0.2, 0.12]
    assert drawn["validation loss per case (E / cases)"] == [0.3, 0.24]
    assert "per case" in ax.get_ylabel()
    curves.plot_history(records, tmp_path / "d.png")  # a mean: drawn as it is
    assert [list(line.get_ydata()) for line in saved_figures[-1].axes[0].lines][0] == [200.0, 120.0]
