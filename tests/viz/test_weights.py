"""Hinton diagrams and RHW 1986's Figure 4 (the person-encoding units of the family trees)."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from chainrule.viz.weights import hinton, plot_person_units  # noqa: E402


def test_hinton_draws_one_square_per_weight_white_positive_black_negative():
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    hinton(ax, np.array([[1.0, -0.25], [0.0, -1.0]]))
    patches = ax.patches
    assert len(patches) == 4
    colours = [tuple(p.get_facecolor()[:3]) for p in patches]
    assert colours == [(1, 1, 1), (0, 0, 0), (0, 0, 0), (0, 0, 0)]
    sides = [p.get_width() for p in patches]
    # area proportional to |w|: a quarter of the weight, half the side
    assert sides[1] == pytest.approx(sides[0] / 2) and sides[2] == 0 and sides[3] == sides[0]


def test_plot_person_units_writes_a_png_with_english_above_italian(tmp_path):
    weights = np.random.default_rng(0).uniform(-2, 2, (24, 6))
    path = plot_person_units(weights, tmp_path / "fig4.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"got shape \(12, 6\)"):
        plot_person_units(weights[:12], tmp_path / "bad.png")
