"""QA of the figures (s63): gradient_health.png shows dead, diverged and one-epoch runs, names
and styles its parameters as a reader can follow; the notebook's loss chart reads the epochs'
own numbers, a log scale and gaps; Figure 4's title counts its units. Checked on the figures'
artists (and the SVG's text), not on pixels."""

from __future__ import annotations

import struct
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from chainrule import data, nn, optim, train  # noqa: E402
from chainrule.explainer.health import GradientHealth  # noqa: E402

NAN, INF = float("nan"), float("inf")


@pytest.fixture
def drawn(saved_figures):
    """The figures a plot draws, kept as it writes them (tests/conftest.py's saved_figures)."""
    return saved_figures


def health_of(norms: dict, shares: dict | None = None, first: int = 1) -> GradientHealth:
    health = GradientHealth()
    count = len(next(iter(norms.values())))
    health.history = [
        {
            "epoch": first + k,
            "grad_norms": {name: vs[k] for name, vs in norms.items()},
            "saturation": {layer: vs[k] for layer, vs in (shares or {}).items()},
        }
        for k in range(count)
    ]
    return health


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_a_dead_layers_zero_norms_are_drawn_and_named(tmp_path, drawn):
    health_of({"0.weight": [2.0, 0.0, 0.0], "2.weight": [1.0, 0.5, 0.25]}).plot(tmp_path / "h.png")
    top, bottom = drawn[0].axes[:2]
    assert top.get_yscale() == "log"
    floor_marks = [ln for ln in top.lines if ln.get_marker() == "v"]
    assert len(floor_marks) == 1
    assert list(floor_marks[0].get_xdata()) == [2, 3]
    floor = floor_marks[0].get_ydata()[0]
    assert 0 < floor < 1.0 and top.get_ylim()[0] < floor  # inside the panel, under every norm
    assert "0.weight (norm 0 from epoch 2)" in legend_texts(top)
    # the one finite norm before the zeros has no neighbour: a marker, not an invisible line
    first = next(ln for ln in top.lines if ln.get_label().startswith("0.weight"))
    assert first.get_marker() == "o"
    assert any(t.get_text().strip() == "norm 0" for t in top.texts)


def test_nan_and_inf_norms_leave_a_gap_that_is_shaded_and_named(tmp_path, drawn):
    health = health_of(
        {"0.weight": [0.5, NAN, INF, 0.0], "2.weight": [1.0] * 4},
        {"1": [0.0, 0.5, 1.0, 1.0]},
    )
    health.plot(tmp_path / "h.png")
    top, bottom = drawn[0].axes[:2]
    texts = legend_texts(top)
    assert "0.weight not finite at epochs 2, 3" in texts
    line = next(ln for ln in top.lines if ln.get_label().startswith("0.weight"))
    assert line.get_marker() == "o"  # 0.5 at epoch 1 stands alone
    assert len(top.patches) == 2  # epochs 2 and 3 shaded
    # shares of 0 and 1 lie inside the panel, not on its spines
    low, high = bottom.get_ylim()
    assert low < 0 and high > 1
    assert all(float(t).is_integer() for t in bottom.get_xticks() if 1 <= t <= 4)


def test_one_epoch_draws_markers_and_a_whole_number_tick(tmp_path, drawn):
    health_of({"0.weight": [0.3], "0.bias": [0.1]}, {"1": [0.2]}).plot(tmp_path / "h.png")
    top, bottom = drawn[0].axes[:2]
    assert all(ln.get_marker() == "o" for ln in top.lines + bottom.lines)
    assert list(bottom.get_xticks()) == [1]


def test_epoch_ticks_are_whole_numbers(tmp_path, drawn):
    health_of({"w": [1.0, 0.5, 0.3, 0.2]}, {"1": [0.1, 0.2, 0.3, 0.4]}).plot(tmp_path / "h.png")
    drawn[0].canvas.draw()
    bottom = drawn[0].axes[1]
    ticks = [t for t in bottom.get_xticks() if 1 <= t <= 4]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_many_parameters_are_told_apart_sorted_numerically_legend_outside_titled(tmp_path, drawn):
    names = [f"{m}.{p}" for m in range(0, 12, 2) for p in ("weight", "bias")]
    health = health_of({name: [1.0, 0.5, 0.2] for name in names})
    health.plot(tmp_path / "h.png")
    figure = drawn[0]
    top = figure.axes[0]
    styles = [(ln.get_color(), ln.get_linestyle()) for ln in top.lines]
    assert len(styles) == 12 and len(set(styles)) == 12
    solid = {ln.get_label() for ln in top.lines if ln.get_linestyle() == "-"}
    assert solid and all(label.endswith("weight") for label in solid), solid  # as documented
    order = [t.split(".")[0] for t in legend_texts(top)]
    assert order == sorted(order, key=int)
    renderer = figure.canvas.get_renderer()
    assert top.get_legend().get_window_extent(renderer).x0 >= top.get_window_extent(renderer).x1
    assert figure.get_suptitle()


def test_parameters_are_named_by_the_saturation_panels_layer_numbers(tmp_path, drawn):
    model = nn.mlp([2, 3, 1], output="logistic", dtype=np.float64, rng=0)
    health = GradientHealth()
    train.fit(model, nn.SquaredError(), optim.SGD(model.parameters(), lr=0.5), data.load("xor"),
              epochs=2, callbacks=[health], progress=False)  # fmt: skip
    health.plot(tmp_path / "h.png")
    top, bottom = drawn[0].axes[:2]
    assert legend_texts(top) == ["layer 1 weight", "layer 1 bias", "layer 2 weight", "layer 2 bias"]
    assert legend_texts(bottom) == ["logistic layer 1", "logistic layer 2"]


def png_width(path) -> int:
    return struct.unpack(">I", path.read_bytes()[16:20])[0]


def test_the_health_plot_honours_savefig_dpi(tmp_path):
    import matplotlib

    health = health_of({"w": [1.0, 0.5]}, {"1": [0.1, 0.2]})
    with matplotlib.rc_context({"savefig.dpi": 50}):
        health.plot(tmp_path / "small.png")
    with matplotlib.rc_context({"savefig.dpi": 100}):
        health.plot(tmp_path / "big.png")
    assert png_width(tmp_path / "small.png") * 2 == pytest.approx(
        png_width(tmp_path / "big.png"), abs=2
    )


# history_svg


def history(records):
    from chainrule.train.history import History

    return History(records)


def svg_of(h) -> ET.Element:
    from chainrule.notebook.display import history_svg

    return ET.fromstring(history_svg(h))


def tag(element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def texts(root) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter() if tag(t) == "text"]


def test_history_svg_labels_the_records_own_epochs():
    root = svg_of(history([{"epoch": e, "loss": 1.0 / e} for e in (5, 6, 7, 8)]))
    assert "epoch 5" in texts(root) and "epoch 8" in texts(root)
    assert "epoch 1" not in texts(root) and "epoch 4" not in texts(root)


def test_history_svg_uses_a_log_scale_for_losses_spanning_decades():
    root = svg_of(
        history([{"epoch": e, "loss": 10.0**-k} for e, k in zip(range(1, 5), (0, 2, 4, 6))])
    )
    (line,) = [e for e in root.iter() if tag(e) == "polyline"]
    ys = [float(p.split(",")[1]) for p in line.get("points").split()]
    gaps = np.diff(ys)
    assert np.allclose(gaps, gaps[0])  # evenly spaced: log, not three points in the floor
    assert any("log" in t for t in texts(root))


def test_history_svg_breaks_the_line_at_a_non_finite_loss():
    records = [{"epoch": e, "loss": v} for e, v in zip(range(1, 6), (1.0, 0.8, NAN, 0.6, 0.5))]
    root = svg_of(history(records))
    lines = [e for e in root.iter() if tag(e) == "polyline"]
    assert [len(ln.get("points").split()) for ln in lines] == [2, 2]


# plot_person_units


def test_person_units_title_counts_the_units_drawn(tmp_path, drawn):
    from chainrule.viz.weights import plot_person_units

    plot_person_units(np.random.default_rng(0).normal(size=(24, 1)), tmp_path / "one.png")
    plot_person_units(np.random.default_rng(0).normal(size=(24, 3)), tmp_path / "three.png")
    titles = [figure.get_suptitle() for figure in drawn]
    assert titles == [
        "weights from the 24 people to the 1 person-encoding unit",
        "weights from the 24 people to the 3 person-encoding units",
    ]


def test_person_units_with_long_names_warn_nothing(tmp_path):
    from chainrule.viz.weights import plot_person_units

    people = [f"a person with a very long name number {k} " * 3 for k in range(24)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_person_units(np.ones((24, 1)), tmp_path / "long.png", people=people)
    assert (tmp_path / "long.png").read_bytes()[:4] == b"\x89PNG"
