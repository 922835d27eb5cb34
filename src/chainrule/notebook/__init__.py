"""chainrule in Jupyter: how its objects show themselves in a notebook.

The classes keep a one-line ``_repr_html_`` / ``_repr_svg_`` / ``_repr_markdown_`` hook; the
markup for those below the explainer (a ``Tensor``, a training ``History``) is built here, the
notebook being a host on top of the library, like the command line and the web explorer. A
``Derivation`` renders itself with the explainer's Markdown renderer, a ``ComputationGraph`` and
a ``NetworkDiagram`` with their own SVG. ``explorer(model, (x, t))`` is the browser explorer as
a widget (:mod:`chainrule.notebook.explorer`).
"""

from chainrule.notebook.display import history_html, history_svg, tensor_html
from chainrule.notebook.explorer import Explorer, explorer

__all__ = ["Explorer", "explorer", "history_html", "history_svg", "tensor_html"]
