"""HTML and SVG for a Tensor and a training History in a notebook (standard library and NumPy),
and the headings of an output one level below the notebook's own."""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np

#: Largest number of values a tensor's display prints in full; bigger ones are summarised.
MAX_VALUES = 200
#: Epochs listed in a history's table before the middle ones are elided.
MAX_ROWS = 12

_STYLE = "font-family: monospace; font-size: 12px"


def _array_text(values: Any) -> str:
    array = np.asarray(values)
    return np.array2string(array, precision=6, separator=", ", threshold=MAX_VALUES)


def tensor_html(t: Any) -> str:
    """A tensor as HTML: its shape, dtype and role in the graph, its values, and its ``.grad``."""
    from chainrule.backend import to_numpy

    facts = [f"shape {tuple(t.shape)}", str(t.data.dtype)]
    if not t.is_leaf:
        facts.append(f"made by {t.node.op}")
    elif t.requires_grad:
        facts.append("requires_grad")
    parts = [
        f'<div class="chainrule-tensor" style="{_STYLE}">',
        f"<b>Tensor</b> {html.escape(', '.join(facts))}",
        f"<pre>{html.escape(_array_text(to_numpy(t.data)))}</pre>",
    ]
    if t.grad is not None:
        grad = to_numpy(t.grad.data if hasattr(t.grad, "data") else t.grad)
        parts.append(f"<b>.grad</b><pre>{html.escape(_array_text(grad))}</pre>")
    parts.append("</div>")
    return "\n".join(parts)


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return html.escape(str(value))


def history_svg(h: Any, width: int = 360, height: int = 140) -> str:
    """The loss per epoch (and the validation loss when there is one) as a small SVG chart.

    Points stand at the records' own epoch numbers (a run resumed at epoch 5 reads 5 to 8, not
    1 to 4), on a log axis by :func:`chainrule.viz.curves.log_scale`'s rule (as ``plot_history``:
    a loss falling from 1 to 1e-6 is a line, not a corner); a NaN, inf or missing loss breaks
    the line (each run of finite values is its own polyline, a lone value a dot), never joined
    across."""
    from chainrule.viz.curves import log_scale

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    series = [(key, colour) for key, colour in (("loss", "#1f77b4"), ("val_loss", "#ff7f0e"))
              if any(number(v) for v in h[key])]  # fmt: skip
    values = [float(v) for key, _ in series for v in h[key] if number(v) and math.isfinite(v)]
    margin = 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">',
        f'<rect x="{margin}" y="5" width="{width - margin - 5}" height="{height - margin - 5}" '
        'fill="none" stroke="#ccc"/>',
    ]
    if values and len(h) > 0:
        log = log_scale(values)
        scaled = np.log10 if log else float
        low, high = min(values), max(values)
        bottom, top = float(scaled(low)), float(scaled(high))
        span = (top - bottom) or 1.0
        epochs = [r.get("epoch", k + 1) for k, r in enumerate(h)]
        first, last = epochs[0], epochs[-1]
        reach = (last - first) or 1

        def point(epoch: float, v: float) -> tuple[float, float]:
            x = margin + (width - margin - 5) * ((epoch - first) / reach if last > first else 0.5)
            y = 5 + (height - margin - 5) * (1 - (float(scaled(v)) - bottom) / span)
            return x, y

        for key, colour in series:
            runs: list[list[tuple[float, float]]] = [[]]
            for epoch, v in zip(epochs, h[key]):
                if number(v) and math.isfinite(v):
                    runs[-1].append(point(epoch, v))
                elif runs[-1]:
                    runs.append([])
            for run in (r for r in runs if r):
                if len(run) == 1:  # a lone value: a dot (a polyline of one point draws nothing)
                    out.append(f'<circle cx="{run[0][0]:.1f}" cy="{run[0][1]:.1f}" r="2" '
                               f'fill="{colour}"><title>{key}</title></circle>')  # fmt: skip
                    continue
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                           f'points="{pts}"><title>{key}</title></polyline>')  # fmt: skip
        scale = " (log scale)" if log else ""
        out.append(f'<text x="2" y="12">{high:.3g}</text>')
        out.append(f'<text x="2" y="{height - margin}">{low:.3g}</text>')
        out.append(f'<text x="{margin}" y="{height - 12}">epoch {first}</text>')
        out.append(f'<text x="{width - 60}" y="{height - 12}">epoch {last}</text>')
        legend = ", ".join(f'<tspan fill="{c}">{k}</tspan>' for k, c in series)
        out.append(f'<text x="{margin + 60}" y="{height - 12}">{legend}{scale}</text>')
    out.append("</svg>")
    return "\n".join(out)


def history_html(h: Any) -> str:
    """A training history as HTML: the loss curve and a table of the epochs' numbers."""
    if not len(h):
        return "<p>History: no epochs yet</p>"
    keys = [k for k in h.records[0] if k != "time" and any(r.get(k) is not None for r in h)]
    rows = list(enumerate(h.records))
    if len(rows) > MAX_ROWS:
        rows = rows[: MAX_ROWS // 2] + [(None, None)] + rows[-MAX_ROWS // 2 :]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = []
    for index, record in rows:
        if index is None:
            body.append(f'<tr><td colspan="{len(keys)}">...</td></tr>')
            continue
        body.append("<tr>" + "".join(f"<td>{_number(record.get(k))}</td>" for k in keys) + "</tr>")
    return "\n".join(
        [
            f'<div class="chainrule-history" style="{_STYLE}">',
            f"<b>History</b>, {len(h)} epochs",
            history_svg(h),
            f"<table><thead><tr>{head}</tr></thead><tbody>",
            *body,
            "</tbody></table></div>",
        ]
    )


_HTML_HEADING = re.compile(r"<(/?)h([1-6])(?=[\s>])", re.I)
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})(?=[ \t]|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def headings_one_level_down(text: str, *, markdown: bool = False, deepest: int = 5) -> str:
    """``text``'s headings one level down, those of level ``deepest`` or above: an output in a
    notebook is part of the notebook's page, whose title is its own h1, so an output's title is
    an h2 (an h1 per output read as many pages, outranked the lesson's own headings and doubled
    its anchors) and its sections h3. HTML's ``<h1>`` tags, or with ``markdown`` the ATX
    headings (``# Title``), outside fenced code."""

    def down(level: int) -> int:
        return level + 1 if level <= deepest else level

    if not markdown:
        return _HTML_HEADING.sub(lambda m: f"<{m[1]}h{down(int(m[2]))}", text)
    lines, fence = text.split("\n"), None
    for k, line in enumerate(lines):
        opened = _FENCE.match(line)
        if opened and (fence is None or opened[1].startswith(fence)):
            fence = opened[1][0] * 3 if fence is None else None
        elif fence is None:
            heading = _MARKDOWN_HEADING.match(line)
            if heading and len(heading[1]) <= deepest:
                lines[k] = "#" + line
    return "\n".join(lines)


def derivation_markdown(d: Any) -> str:
    """A derivation as a notebook shows it: the explainer's Markdown, its headings one level
    down (:func:`headings_one_level_down`)."""
    from chainrule.explainer.render import render

    return headings_one_level_down(render(d, "markdown"), markdown=True)
