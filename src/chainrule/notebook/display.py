"""HTML and SVG for a Tensor and a training History in a notebook (standard library and NumPy)."""

from __future__ import annotations

import html
import math
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
    """The loss per epoch (and the validation loss when there is one) as a small SVG chart."""
    series = [(key, colour) for key, colour in (("loss", "#1f77b4"), ("val_loss", "#ff7f0e"))
              if any(isinstance(v, (int, float)) for v in h[key])]  # fmt: skip
    values = [v for key, _ in series for v in h[key] if isinstance(v, (int, float))]
    values = [v for v in values if math.isfinite(v)]
    margin = 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">',
        f'<rect x="{margin}" y="5" width="{width - margin - 5}" height="{height - margin - 5}" '
        'fill="none" stroke="#ccc"/>',
    ]
    if values and len(h) > 0:
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        epochs = len(h)

        def point(k: int, v: float) -> str:
            x = margin + (width - margin - 5) * (k / max(epochs - 1, 1))
            y = 5 + (height - margin - 5) * (1 - (v - low) / span)
            return f"{x:.1f},{y:.1f}"

        for key, colour in series:
            pts = [point(k, v) for k, v in enumerate(h[key])
                   if isinstance(v, (int, float)) and math.isfinite(v)]  # fmt: skip
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                       f'points="{" ".join(pts)}"><title>{key}</title></polyline>')  # fmt: skip
        out.append(f'<text x="2" y="12">{high:.3g}</text>')
        out.append(f'<text x="2" y="{height - margin}">{low:.3g}</text>')
        out.append(f'<text x="{margin}" y="{height - 12}">epoch 1</text>')
        out.append(f'<text x="{width - 60}" y="{height - 12}">epoch {epochs}</text>')
        legend = ", ".join(f'<tspan fill="{c}">{k}</tspan>' for k, c in series)
        out.append(f'<text x="{margin + 60}" y="{height - 12}">{legend}</text>')
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
