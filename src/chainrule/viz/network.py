"""A unit-level network diagram: layers of circles, each edge labelled w_ij and w_ij dE/dz_j.

``network_svg(derivation)`` draws the input layer at the bottom and the output layer on top, as the
lecture does. Each circle shows the unit's y and dE/dy; each edge its weight w_ij and the share
w_ij dE/dz_j that it carries back to unit i (the terms of dE/dy_i = sum_j w_ij dE/dz_j).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chainrule.files import atomic_write_text

if TYPE_CHECKING:
    from chainrule.explainer.derivation import Derivation

_R, _GAP_X, _GAP_Y, _MARGIN = 30, 150, 170, 70
MAX_UNITS = 12
MAX_LABELLED_EDGES = 40


def network_svg(d: Derivation, case: int = 0) -> str:
    """The diagram as an SVG document (case ``case`` of the derivation's batch)."""
    sizes = [min(r.size, MAX_UNITS) for r in d.layers]
    width = max(sizes) * _GAP_X + 2 * _MARGIN
    height = (len(sizes) - 1) * _GAP_Y + 2 * _MARGIN + 40
    pos = {}
    for layer, n in enumerate(sizes):
        offset = (width - (n - 1) * _GAP_X) / 2
        y = height - _MARGIN - layer * _GAP_Y
        for unit in range(n):
            pos[(layer, unit)] = (offset + unit * _GAP_X, y)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        f'<text x="10" y="20" font-size="13" font-weight="bold">'
        f"{html.escape(d.description)}: E = {d.error:.4g}</text>",
    ]
    n_edges = sum(a * b for a, b in zip(sizes, sizes[1:]))
    for conn in d.connections:
        dE_dz = d.layers[conn.above].dE_dz[case]
        for i in range(sizes[conn.below]):
            for j in range(sizes[conn.above]):
                (x1, y1), (x2, y2) = pos[(conn.below, i)], pos[(conn.above, j)]
                w = conn.weight[i, j]
                colour = "#1f5fbf" if w >= 0 else "#c0392b"
                out.append(
                    f'<line x1="{x1:.1f}" y1="{y1 - _R:.1f}" x2="{x2:.1f}" '
                    f'y2="{y2 + _R:.1f}" stroke="{colour}" '
                    f'stroke-width="{0.6 + 2.5 * min(abs(w), 1):.2f}" opacity="0.7"/>'
                )
                if n_edges <= MAX_LABELLED_EDGES:
                    # labels sit a third of the way down from the upper unit, so they spread out
                    lx, ly = x2 + (x1 - x2) * 0.3, y2 + _R + (y1 - y2 - 2 * _R) * 0.3
                    out.append(
                        f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="9" fill="{colour}" '
                        f'text-anchor="middle">w_{i + 1}{j + 1}={w:.3g}</text>'
                    )
                    out.append(
                        f'<text x="{lx:.1f}" y="{ly + 10:.1f}" font-size="9" fill="#555" '
                        f'text-anchor="middle">w·∂E/∂z={w * dE_dz[j]:.3g}</text>'
                    )
    for (layer, unit), (x, y) in pos.items():
        record = d.layers[layer]
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{_R}" fill="#f6f8fa" stroke="#333"/>')
        out.append(
            f'<text x="{x:.1f}" y="{y - 4:.1f}" font-size="10" text-anchor="middle">'
            f"y={record.y[case, unit]:.3g}</text>"
        )
        if record.dE_dy is not None:
            out.append(
                f'<text x="{x:.1f}" y="{y + 9:.1f}" font-size="8" text-anchor="middle">'
                f"∂E/∂y={record.dE_dy[case, unit]:.3g}</text>"
            )
        elif record.dE_dz is not None:
            out.append(
                f'<text x="{x:.1f}" y="{y + 9:.1f}" font-size="8" text-anchor="middle">'
                f"∂E/∂z={record.dE_dz[case, unit]:.3g}</text>"
            )
    for layer, record in enumerate(d.layers):
        y = height - _MARGIN - layer * _GAP_Y
        more = f" (first {MAX_UNITS} of {record.size})" if record.size > MAX_UNITS else ""
        out.append(
            f'<text x="8" y="{y + 4:.1f}" font-size="11" fill="#444">layer {layer} '
            f"({html.escape(record.letter)}){more}</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def save_network_svg(d: Derivation, path: str | os.PathLike, case: int = 0) -> str:
    """Write :func:`network_svg` to ``path`` atomically; returns the path."""
    path = os.fspath(path)
    atomic_write_text(path, network_svg(d, case))
    return path


@dataclass(frozen=True)
class NetworkDiagram:
    """The network of a derivation as a diagram; a notebook shows it as SVG."""

    svg: str

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | os.PathLike) -> str:
        """Write the SVG to ``path`` atomically; returns the path."""
        path = os.fspath(path)
        atomic_write_text(path, self.svg)
        return path


def diagram(d: Derivation, case: int = 0) -> NetworkDiagram:
    """The diagram of :func:`network_svg` as an object that displays itself in a notebook.

    >>> import chainrule as cr
    >>> from chainrule.viz.network import diagram
    >>> diagram(cr.explain())                                   # doctest: +SKIP
    """
    return NetworkDiagram(network_svg(d, case))
