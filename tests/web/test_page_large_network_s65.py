"""The diagram's connections on a large network (session 65): the page drew every line anew at
each render (a step, Run all, a unit selected), which on the largest network it allows (8 layers
of 64 units, 28,672 lines) took seconds each time, and the current units' pulse (their outline's
width) painted the whole diagram again at every frame. The lines are now kept while the network
and the layout are the same, restyled in place where the selected unit changes; a diagram of many
lines pulses in opacity. These tests pin what is drawn, not how fast."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

#: Each connection as drawn: its place, its look, and whether it is the element marked before.
LINES = """() => [...document.querySelectorAll('#diagram line.edge')].map((e) => ({
  l: +e.dataset.layer, i: +e.dataset.i, j: +e.dataset.j, kept: e.kept === true,
  cls: e.getAttribute('class'), stroke: e.getAttribute('stroke'),
  width: +e.getAttribute('stroke-width'), opacity: +e.getAttribute('stroke-opacity'),
  dash: e.getAttribute('stroke-dasharray'), colour: getComputedStyle(e).stroke,
}))"""
#: The colour of each path's swatch in the paths table, by j.
SWATCHES = """() => Object.fromEntries([...document.querySelectorAll('#paths-table tbody tr')]
  .map((r) => [r.dataset.j, getComputedStyle(r.querySelector('.swatch')).backgroundColor]))"""
MARK = "() => document.querySelectorAll('#diagram line.edge').forEach((e) => { e.kept = true; })"


def check_lines(page, kept: bool) -> None:
    """Every connection of the network shown is drawn once, looking as its weight and the unit
    selected say (a path of the selected unit in its swatch's colour, the other lines of its
    layer dimmed, every other line as wide as its weight and dashed where negative); each is the
    element marked before (``kept``) or none is."""
    net, sel = page.evaluate("S.net"), page.evaluate("S.selected")
    swatches = page.evaluate(SWATCHES) if sel else {}
    lines = page.evaluate(LINES)
    weights = net["weights"]
    assert sorted((d["l"], d["i"], d["j"]) for d in lines) == [
        (l, i, j) for l, w in enumerate(weights) for i in range(len(w)) for j in range(len(w[i]))
    ]
    largest = max(abs(v) for w in weights for row in w for v in row)
    for d in lines:
        v = weights[d["l"]][d["i"]][d["j"]]
        path = sel is not None and sel["layer"] == d["l"] and sel["unit"] == d["i"]
        dim = sel is not None and sel["layer"] == d["l"] and not path
        assert d["kept"] == kept, d
        assert d["cls"] == "edge" + (" dim" if dim else "") + (" path" if path else ""), d
        assert (d["dash"] is not None) == (v < 0), d
        if path:
            assert d["colour"] == swatches[str(d["j"])], (d, swatches)
            assert (d["width"], d["opacity"]) == (3.5, 1), d
        else:
            assert d["stroke"] == ("var(--pos)" if v >= 0 else "var(--neg)"), d
            assert d["width"] == pytest.approx(0.6 + 2.4 * abs(v) / largest, abs=0.051), d
            assert d["opacity"] == 0.85, d


def select(page, layer: int, unit: int, paths: int) -> None:
    page.click(f"g.unit[data-layer='{layer}'][data-unit='{unit}']")
    drawn = f"#diagram line.edge.path[data-layer='{layer}'][data-i='{unit}']"
    page.wait_for_function(
        f'document.querySelectorAll("{drawn}").length === {paths}'
        f" && document.querySelectorAll('#paths-table tbody tr').length === {paths}"
    )


def test_steps_and_selections_keep_the_lines_and_restyle_them(open_page, seed_url):
    page = open_page(seed_url, tab="edit")
    page.fill("#edit-sizes", "3,4,2")
    page.click("#btn-new")
    page.wait_for_function("S.net.sizes.join() === '3,4,2'")
    check_lines(page, kept=False)
    page.evaluate(MARK)
    page.click("#btn-all")  # every step at once: the same lines
    page.wait_for_function("document.querySelector('#btn-step').disabled")
    check_lines(page, kept=True)
    for layer, unit, paths in [(1, 2, 2), (0, 1, 4), (1, 0, 2), (0, 1, 4)]:
        select(page, layer, unit, paths)  # the paths move; the other layer's lines undimmed
        check_lines(page, kept=True)
    page.click("#btn-back")
    page.wait_for_function("!document.querySelector('#btn-step').disabled")
    check_lines(page, kept=True)
    page.click("#btn-new")  # another network: its own lines, none selected
    page.wait_for_function("!document.querySelector('#diagram line.edge').kept")
    check_lines(page, kept=False)


#: The properties each current unit's animations change (camelCase, as getKeyframes names them).
ANIMATED = """() => [...document.querySelectorAll('#diagram g.unit.current circle')].map((c) =>
  [...new Set(c.getAnimations().flatMap((a) => a.effect.getKeyframes().flatMap(Object.keys)))]
    .filter((p) => !['offset', 'computedOffset', 'easing', 'composite'].includes(p)).sort())"""


def test_a_diagram_of_many_lines_pulses_in_opacity(open_page, seed_url):
    page = open_page(seed_url, tab="edit")
    page.click("#btn-step")  # the seed network's few lines: the pulse in the outline's width
    assert page.evaluate(ANIMATED) == [["strokeWidth"]] * page.evaluate("S.net.sizes[1]")
    page.fill("#edit-sizes", "32,32,32")  # 2,048 lines
    page.click("#btn-new")
    page.wait_for_function("S.net.sizes.join() === '32,32,32'")
    page.click("#btn-step")
    assert page.evaluate(ANIMATED) == [["opacity"]] * 32
    stroke = page.eval_on_selector(
        "#diagram g.unit.current circle", "(c) => getComputedStyle(c).strokeWidth"
    )
    assert stroke == "3px"  # marked all the while, as under reduced motion
    page.emulate_media(reduced_motion="reduce")  # and under reduced motion, no pulse at all
    page.click("#btn-step")
    names = page.eval_on_selector_all(
        "g.unit.current circle", "(cs) => cs.map((c) => getComputedStyle(c).animationName)"
    )
    assert len(names) == 32 and set(names) == {"none"}, names
