"""GradientHealth at depth (s69): past ten layers the plot draws the norms against the layer, a
line per epoch coloured on a colour bar, in a figure of bounded size (200 layers made a 1024x6166
image with 400 legend entries, the colours repeating every ten layers); ``falloff`` names how far
the weights' gradient norms fall from the top layer to the bottom. Checked on the figure's
artists (the lines' data), not on pixels."""

from __future__ import annotations

import struct

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from explain_cases import parallel_case  # noqa: E402

from chainrule import data, nn, optim, train  # noqa: E402
from chainrule.explainer.health import GradientHealth  # noqa: E402


def deep_run(layers: int, epochs: int, width: int = 4) -> tuple[GradientHealth, nn.Sequential]:
    """A stack of ``layers`` Linear+Logistic layers trained ``epochs`` full-batch sweeps on 8
    cases, watched by GradientHealth."""
    rng = np.random.default_rng(0)
    modules = [m for k in range(layers) for m in (nn.Linear(width, width, rng=k), nn.Logistic())]
    net = nn.Sequential(*modules)
    ds = data.Dataset(X=rng.standard_normal((8, width)), y=rng.random((8, width)),
                      task="regression")  # fmt: skip
    health = GradientHealth()
    train.fit(net, nn.SquaredError(), optim.SGD(net.parameters(), lr=0.1), ds, epochs=epochs,
              batch_size=8, callbacks=[health], progress=False)  # fmt: skip
    return health, net


def png_size(path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def weight_lines(ax) -> dict[int, object]:
    """The norms panel's weight lines, by the epoch their label names."""
    return {
        int(line.get_label().rsplit(" ", 1)[1]): line
        for line in ax.lines
        if line.get_label().startswith("weights, epoch ")
    }


def test_two_hundred_layers_make_a_bounded_figure_of_the_callbacks_norms(tmp_path, saved_figures):
    import matplotlib

    health, _ = deep_run(200, 2)
    with matplotlib.rc_context({"savefig.dpi": 100}):
        health.plot(tmp_path / "h.png")
    width, height = png_size(tmp_path / "h.png")
    assert width <= 1000 and height <= 750, (width, height)  # 9 x 6.5 inches at 100 dpi
    figure = saved_figures[0]
    top, bottom = figure.axes[:2]
    legend = top.get_legend()
    assert legend is not None and len(legend.get_texts()) <= 2  # not one entry per parameter
    assert bottom.get_legend() is None  # nothing to cover the norms' legend
    assert any(ax.get_ylabel() == "epoch" for ax in figure.axes[2:])  # a colour bar
    lines = weight_lines(top)
    assert sorted(lines) == [1, 2]
    for record in health.history:
        line = lines[record["epoch"]]
        assert list(line.get_xdata()) == list(range(1, 201))  # x: the layer
        # layer L's weight is module 2 (L - 1)'s: the callback's own norms, 0 left to the floor
        want = [record["grad_norms"][f"{2 * k}.weight"] for k in range(200)]
        got = np.asarray(line.get_ydata(), dtype=float)
        positive = np.array(want) > 0
        np.testing.assert_array_equal(got[positive], np.array(want)[positive])
        assert np.isnan(got[~positive]).all()
    assert top.get_yscale() == "log"
    # the saturation panel: each epoch's share per logistic layer, against the same layers
    shares = {int(line.get_label().split()[-1]): line for line in bottom.lines}
    for record in health.history:
        line = shares[record["epoch"]]
        assert list(line.get_xdata()) == list(range(1, 201))
        assert list(line.get_ydata()) == [record["saturation"][str(n)] for n in range(1, 201)]


def test_forty_layers_have_one_colour_per_epoch_not_a_repeating_legend(tmp_path, saved_figures):
    health, _ = deep_run(40, 3)
    health.plot(tmp_path / "h.png")
    top = saved_figures[0].axes[0]
    lines = weight_lines(top)
    assert sorted(lines) == [1, 2, 3]
    colours = {tuple(np.round(matplotlib_rgba(line.get_color()), 6)) for line in lines.values()}
    assert len(colours) == 3
    renderer = saved_figures[0].canvas.get_renderer()
    box, panel = top.get_legend().get_window_extent(renderer), top.get_window_extent(renderer)
    assert panel.x0 <= box.x0 and box.x1 <= panel.x1  # inside its own panel


def matplotlib_rgba(colour):
    from matplotlib.colors import to_rgba

    return to_rgba(colour)


def test_one_epoch_of_several_layers_is_drawn_per_layer(tmp_path, saved_figures):
    """One epoch drew every norm as a point at epoch 1: nothing to see of how they fall."""
    model = nn.mlp([2, 3, 3, 1], output="logistic", dtype=np.float64, rng=0)
    health = GradientHealth()
    train.fit(model, nn.SquaredError(), optim.SGD(model.parameters(), lr=0.5), data.load("xor"),
              epochs=1, callbacks=[health], progress=False)  # fmt: skip
    health.plot(tmp_path / "h.png")
    top = saved_figures[0].axes[0]
    (line,) = weight_lines(top).values()
    norms = health.history[0]["grad_norms"]
    assert list(line.get_xdata()) == [1, 2, 3]
    assert list(line.get_ydata()) == [norms["0.weight"], norms["2.weight"], norms["4.weight"]]


def test_a_long_run_draws_at_most_fifty_epochs_first_and_last_kept(tmp_path, saved_figures):
    health = GradientHealth()
    health.history = [
        {"epoch": e, "grad_norms": {f"{2 * k}.weight": 10.0 ** (k - e / 100) for k in range(12)},
         "saturation": {}}
        for e in range(1, 121)
    ]  # fmt: skip
    health.plot(tmp_path / "h.png")
    lines = weight_lines(saved_figures[0].axes[0])
    assert 2 <= len(lines) <= 50 and min(lines) == 1 and max(lines) == 120
    for epoch, line in lines.items():
        assert list(line.get_xdata()) == list(range(1, 13))
        np.testing.assert_allclose(line.get_ydata(), [10.0 ** (k - epoch / 100) for k in range(12)])


def test_falloff_is_the_top_layers_norm_over_the_bottom_layers():
    health = GradientHealth()
    norms = {"0.weight": 2e-12, "0.bias": 5.0, "2.weight": 1e-9, "4.weight": 3e-6, "6.weight": 0.0}
    health.history = [{"epoch": 7, "grad_norms": norms, "saturation": {}}]
    falloff = health.falloff()
    # the output layer's norm of 0 (at its optimum) is no top: the highest with a norm above 0
    assert falloff == {"epoch": 7, "top": 3, "top_norm": 3e-6, "bottom": 1,
                       "bottom_norm": 2e-12, "ratio": pytest.approx(3e-6 / 2e-12)}  # fmt: skip
    health.history = [{"epoch": 1, "grad_norms": {"0.weight": 1.0, "0.bias": 1.0},
                       "saturation": {}}]  # fmt: skip
    assert health.falloff() is None  # one layer: nothing to fall
    assert GradientHealth().falloff() is None


def test_falloff_of_a_deep_logistic_stack_is_large_and_of_its_own_norms():
    health, _ = deep_run(20, 2)
    falloff = health.falloff()
    norms = health.history[-1]["grad_norms"]
    weights = [norms[f"{2 * k}.weight"] for k in range(20)]
    top = max(k for k, v in enumerate(weights) if 0 < v < np.inf)
    assert falloff["top"] == top + 1 and falloff["bottom"] == 1
    assert falloff["ratio"] == pytest.approx(weights[top] / weights[0])
    assert falloff["ratio"] > 1e4  # 20 logistic layers: a quarter or less each


def test_a_parallel_layers_branches_are_one_layer_their_norms_taken_together():
    model, x, t = parallel_case()
    health = GradientHealth()
    ds = data.Dataset(X=x, y=t, task="regression")
    train.fit(model, nn.SquaredError(), optim.SGD(model.parameters(), lr=0.1), ds, epochs=1,
              callbacks=[health], progress=False)  # fmt: skip
    norms = health.history[-1]["grad_norms"]
    branches = sorted(n for n in norms if n.startswith("2.") and n.endswith("weight"))
    assert len(branches) == 2
    layers = health.layer_norms()
    assert sorted(layers) == [1, 2, 3]
    assert layers[1] == norms["0.weight"] and layers[3] == norms["3.weight"]
    assert layers[2] == pytest.approx(np.sqrt(sum(norms[n] ** 2 for n in branches)))
