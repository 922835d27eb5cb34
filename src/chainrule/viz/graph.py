"""Draw a recorded computation graph: each node's op, value and gradient, and every fan-out's sum.

``graph(tensor)`` reads the graph the engine recorded for ``tensor`` (it must still hold its
values: draw before ``backward``, or call ``backward(retain_graph=True)``; and its inputs' values:
draw before an optimizer's step, which changes the weights in place), runs the registered
derivative rules once over it, and keeps what each consumer sends back along each edge. Where a
tensor feeds several consumers, the edges meeting at it carry the contributions whose sum is its
gradient (the engine's ``sum_over_consumers``). Output: DOT text, and SVG through graphviz's
``dot`` when it is installed, else through a simple layered layout drawn here.

>>> import chainrule as cr
>>> y = cr.tensor([0.5], requires_grad=True)
>>> g = graph((y * y + y).sum())
>>> "sum" in g.to_dot()
True
"""

from __future__ import annotations

import bisect
import html
import itertools
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import backend, engine, ops
from chainrule._lazy import ModuleByName
from chainrule.backend import to_numpy
from chainrule.engine import (
    GraphFreedError,
    enable_grad,
    no_grad,
    reverse_topological_order,
    rule_params,
    sum_over_consumers,
)
from chainrule.errors import counted
from chainrule.explainer.notation import weight_index
from chainrule.files import atomic_write_text
from chainrule.ops.shape import shared_constants
from chainrule.tensor import Tensor
from chainrule.viz.style import NEUTRAL, Box, Placer, saved_format, sign_colour, text_box

GRAPHVIZ_HINT = (
    "graphviz's 'dot' is not installed, so chainrule drew the SVG itself; for graphviz's layout "
    "install it (apt-get install graphviz, brew install graphviz, conda install graphviz)"
)


#: The formats a computation graph is written in, by the suffixes of their files.
FORMATS = {"svg": (".svg",), "dot": (".dot", ".gv")}

#: Ops that only move numbers around (a stack of scalars is recorded as reshapes and a
#: concatenate): hidden on request. A square is maths, not implementation: hidden, the loss's
#: sum stood over differences that did not add up to it.
IMPLEMENTATION_OPS = ("reshape", "concatenate")


@dataclass
class GraphNode:
    """A tensor in the graph: the op that made it (or 'leaf'), its value and its gradient.

    ``grad`` is d(output)/d(this tensor) in the one pass :func:`graph` runs, drawn as
    ``dL/da``; ``stored_grad`` is a leaf's own ``.grad`` when it was drawn (what the backward
    calls since its last ``zero_grad`` added up), drawn beside it only where the two differ;
    ``constants`` are the numbers the op holds (``a ** 2``'s exponent, clip's bounds)."""

    id: int
    op: str
    name: str | None
    shape: tuple[int, ...]
    value: np.ndarray
    grad: np.ndarray | None
    requires_grad: bool
    constants: dict[str, Any] = field(default_factory=dict)
    stored_grad: np.ndarray | None = None

    @property
    def title(self) -> str:
        return self.name or self.op


@dataclass
class GraphEdge:
    """Input ``src`` feeds consumer ``dst``; ``contribution`` is what dst sends back to src."""

    src: int
    dst: int
    contribution: np.ndarray | None


@dataclass
class ComputationGraph:
    """Nodes and edges of a recorded graph, with values and the backward contributions."""

    nodes: dict[int, GraphNode]
    edges: list[GraphEdge]
    output: int
    notes: list[str] = field(default_factory=list)

    def consumers(self, node_id: int) -> list[GraphEdge]:
        return [e for e in self.edges if e.src == node_id]

    def is_fan_out(self, node_id: int) -> bool:
        """Whether the node feeds several consumers and has a gradient: the sum over its
        consumers that the drawing shades (a constant read twice has no gradient to sum)."""
        return self.nodes[node_id].requires_grad and len(self.consumers(node_id)) > 1

    def to_dot(self) -> str:
        """The graph in graphviz's DOT language (inputs at the bottom, the output on top)."""
        lines = [
            "digraph chainrule {",
            "  rankdir=BT;",
            '  node [shape=box, style="rounded,filled", fillcolor="#f6f8fa", fontname="Helvetica",'
            " fontsize=10];",
            '  edge [fontname="Helvetica", fontsize=9];',
        ]
        short = {nid: k for k, nid in enumerate(self.nodes)}
        for node in self.nodes.values():
            label = "\\n".join(_escape_dot(line) for line in node_lines(self, node))
            lines.append(f'  n{short[node.id]} [label="{label}", fillcolor="{_fill(self, node)}"];')
        for edge in self.edges:
            attrs = ""
            if edge.contribution is not None:
                colour = sign_colour(_scalar(edge.contribution))
                width = ", penwidth=2" if self.is_fan_out(edge.src) else ""
                attrs = (
                    f' [label="sends back {_escape_dot(summary(edge.contribution))}", '
                    f'color="{colour}", fontcolor="{colour}"{width}]'
                )
            lines.append(f"  n{short[edge.src]} -> n{short[edge.dst]}{attrs};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def without(self, ops: tuple[str, ...] = IMPLEMENTATION_OPS) -> ComputationGraph:
        """The graph with the nodes of ``ops`` taken out (reshape and concatenate by default):
        each input is joined to the node's consumer, carrying what it received. A
        node that feeds several consumers stays, since its gradient is a sum worth seeing."""
        nodes, edges = dict(self.nodes), list(self.edges)
        for nid, node in self.nodes.items():
            outs = [e for e in edges if e.src == nid]
            if node.op not in ops or nid == self.output or len(outs) != 1:
                continue
            ins = [e for e in edges if e.dst == nid]
            edges = [e for e in edges if nid not in (e.src, e.dst)]
            edges += [GraphEdge(e.src, outs[0].dst, e.contribution) for e in ins]
            del nodes[nid]
        return ComputationGraph(nodes, edges, self.output, list(self.notes))

    def to_svg(self, use_graphviz: bool | None = None) -> str:
        """SVG via graphviz's ``dot`` when installed, else drawn here; also drawn here, with a
        note saying why, when ``dot`` fails or takes more than :data:`GRAPHVIZ_SECONDS` (its
        layout of a long unrolled loop takes minutes). ``use_graphviz=True`` insists on ``dot``:
        RuntimeError when it is not installed or fails; ``False`` always draws it here."""
        dot = shutil.which("dot")
        note = None  # use_graphviz=False with dot installed: nothing to say
        if not dot:
            if use_graphviz:
                raise RuntimeError(
                    "to_svg(use_graphviz=True): graphviz's 'dot' is not installed (apt-get "
                    "install graphviz, brew install graphviz, conda install graphviz); "
                    "use_graphviz=False, or the default, draws the SVG without graphviz"
                )
            note = GRAPHVIZ_HINT
        elif use_graphviz is not False:
            svg, why = _graphviz_svg(dot, self.to_dot())
            if svg is not None:
                return svg
            if use_graphviz:
                raise RuntimeError(
                    f"to_svg(use_graphviz=True): {why}; use_graphviz=False, or the default, "
                    "draws the SVG without graphviz"
                )
            note = f"{why}, so chainrule drew the SVG itself"
        if note is not None and note not in self.notes:
            self.notes.append(note)
        return layered_svg(self)

    def __repr__(self) -> str:
        """One line (a console, a log, a notebook's text/plain), not every node's arrays."""
        return f"ComputationGraph({len(self.nodes)} nodes, {len(self.edges)} edges)"

    def _repr_svg_(self) -> str:
        """How a notebook shows the graph: the same SVG as :meth:`to_svg`."""
        return self.to_svg()

    def save(self, path: str | os.PathLike, format: str | None = None) -> str:
        """Write SVG or DOT (``format``, else the file's suffix: .svg, .dot or .gv; no suffix
        is SVG) atomically; returns the path. Another format raises ValueError."""
        path = os.fspath(path)
        format = saved_format("ComputationGraph.save", path, FORMATS, format)
        text = self.to_dot() if format == "dot" else self.to_svg()
        atomic_write_text(path, text)
        return path


#: How long graphviz's ``dot`` may lay a graph out before chainrule draws it itself.
GRAPHVIZ_SECONDS = 10.0


def _graphviz_svg(dot: str, text: str) -> tuple[str | None, str]:
    """graphviz's SVG of DOT ``text``, or None and why not (it failed, or took too long)."""
    try:
        result = subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, text=True,
                                check=False, timeout=GRAPHVIZ_SECONDS)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, f"graphviz's 'dot' took more than {GRAPHVIZ_SECONDS:g} s to lay this graph out"
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[0]
        return None, f"graphviz's 'dot' failed ({reason})"
    return result.stdout, ""


def summary(array: np.ndarray | None, digits: int = 4) -> str:
    """A short text for a value: the numbers when few, else shape and range."""
    if array is None:
        return "-"
    a = np.asarray(array, dtype=np.float64)
    if a.size == 1:
        return f"{a.reshape(()).item():.{digits}g}"
    if a.size <= 4:
        return "[" + ", ".join(f"{v:.{digits}g}" for v in a.ravel()) + "]"
    return f"{a.shape} in [{a.min():.3g}, {a.max():.3g}]"


def node_lines(g: ComputationGraph, node: GraphNode) -> list[str]:
    """The text lines of a node's box: its name and op with the numbers the op holds
    (``power_scalar **2``), its value, its gradient in this pass named as the derivative it is
    (``dL/da 6 (sum of 2)``), and a leaf's ``.grad`` where backward calls left another number
    there (``.grad holds 12``: a ``zero_grad`` forgotten, or a backward of another output)."""
    shape = "x".join(str(s) for s in node.shape) or "scalar"
    op = node.op + "".join(_constant_text(key, value) for key, value in node.constants.items())
    lines = [f"{node.name} ({shape})" if node.name else f"{op} ({shape})"]
    if node.name and node.op != "leaf":
        lines[0] = f"{node.name} = {op} ({shape})"
    lines.append(f"value {summary(node.value)}")
    if node.grad is not None:
        fan = f" (sum of {n})" if (n := len(g.consumers(node.id))) > 1 else ""
        derivative = f"d{_symbol(g, g.nodes[g.output])}/d{_symbol(g, node)}"
        lines.append(f"{derivative} {summary(node.grad)}{fan}")
        stored = node.stored_grad
        if stored is not None and not _same(stored, node.grad):
            lines.append(f".grad holds {summary(stored)}")
    return lines


def _symbol(g: ComputationGraph, node: GraphNode) -> str:
    """A node in a derivative's name: its name, else "out" for the output, else its op."""
    return node.name or ("out" if node.id == g.output else node.op)


def _constant_text(key: str, value: Any) -> str:
    """A number an op holds, as its box shows it: an exponent as micrograd shows it (**2)."""
    return f" **{summary(value)}" if key == "exponent" else f" {key}={summary(value)}"


def _constants(tensor: Tensor) -> dict[str, Any]:
    """The numbers the op that made ``tensor`` holds among its parameters (an exponent, clip's
    bounds, softmax's axis); not its tuples, flags, dtypes or arrays."""
    node = tensor.node
    if node is None:
        return {}
    return {
        key: value
        for key, value in node.params.items()
        if isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
    }


def _stored_grad(tensor: Tensor) -> np.ndarray | None:
    """A leaf's own ``.grad``, if it has one (an op's result keeps none): a tensor, or what a
    hand assigned there (``p.grad = 0``, micrograd's way to zero it; an array); None for what
    holds no numbers."""
    if tensor.node is not None or not tensor.requires_grad:  # an op's result: no .grad to read
        return None
    grad = tensor.grad
    if grad is None:
        return None
    try:
        return np.array(grad.numpy() if isinstance(grad, Tensor) else grad, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _same(stored: np.ndarray, grad: np.ndarray) -> bool:
    """Whether a leaf's ``.grad`` is this pass's gradient, up to rounding.

    The drawing's pass runs the engine's rules on the engine's arrays and saved values in the
    engine's order (:func:`_backward_contributions`), so after one backward the two are equal.
    What it cannot reproduce is a backward that summed a fan-out in another order (anomaly
    mode, ``cr.gradient``'s walk) or a library's non-deterministic reductions: a few units in
    the last place, not of each entry (where a weight's terms over the cases cancel, an entry
    is far smaller than its terms, and its relative error large) but of the array's scale. So
    the rule is ``|stored - grad| <= 64 * eps(dtype) * max|grad|`` everywhere, eps of the
    gradient's own dtype (1.2e-7 in float32, 2.2e-16 in float64): 64 ulps of the largest
    entry absorb any reordering, while a ``.grad`` left from another backward (twice the
    gradient after two calls without ``zero_grad``) differs by a whole gradient and shows."""
    if stored.shape != grad.shape:
        return False
    dtype = grad.dtype if np.issubdtype(grad.dtype, np.floating) else np.dtype(np.float64)
    finite = np.abs(grad[np.isfinite(grad)])
    scale = float(finite.max()) if finite.size else 0.0
    atol = 64 * float(np.finfo(dtype).eps) * scale
    return bool(np.allclose(stored, grad, rtol=0.0, atol=atol, equal_nan=True))


def _escape_dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


#: The most tensors :func:`graph` draws: a 1,000-step chain already takes 25 s to lay out
#: as SVG without graphviz, and no reader follows that many boxes.
MAX_GRAPH_TENSORS = 1000


def graph(
    output: Tensor,
    names: dict[int, str] | None = None,
    gradient: bool = True,
    model: Any = None,
) -> ComputationGraph:
    """The recorded graph ending at ``output``, with values and (by default) gradients.

    ``names`` maps ``id(tensor)`` to a label (a tensor's own ``.name`` is used otherwise).
    ``model``, the module ``output`` was computed with, labels its parameters by their names
    in it (``fc1.weight``, ``fc2.weight``, as ``model.named_parameters()`` and ``chainrule
    graph --model`` name them), where a parameter's own ``.name`` is its attribute's alone
    (two boxes "weight"); ``names`` still wins::

        E = loss(net(x), t)
        graph(E, model=net, names={id(E): "E"}).save("E.svg")
    Gradients are computed by running the registered rules over the graph, as ``backward`` does,
    without touching any ``.grad``; a non-scalar output is seeded with ones. A box shows its
    gradient as the derivative it is, ``dL/da`` (L the output's name, "out" when it has none),
    and a leaf whose ``.grad`` holds another number (two backward calls without ``zero_grad``)
    shows that too, ``.grad holds 12``. Raises
    RuntimeError (``graph: ...``), as ``backward`` does, if an input of a recorded op was
    changed in place after the op ran (an optimizer's step); draw before the step.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"graph: expected a Tensor, got {type(output).__name__}")
    names = {**_parameter_names(model), **(names or {})}
    order = _recorded_order(output)
    if len(order) > MAX_GRAPH_TENSORS:
        raise ValueError(
            f"graph: the graph below this tensor has {len(order)} tensors, and a drawing "
            f"shows at most {MAX_GRAPH_TENSORS} (a larger one takes minutes and cannot be read); "
            "draw a smaller part (a layer's zoom, fewer steps of a loop)"
        )
    _refuse_changed("graph", order, names)
    nodes: dict[int, GraphNode] = {}
    edges: list[GraphEdge] = []
    # a number written in an op (t - 1.0, y * 2) is a cached constant that every equal number
    # shares: each use is drawn as its own node (negative ids), not one node feeding them all
    per_use, uses = shared_constants(), itertools.count(-1, -1)

    def add(t: Tensor) -> int:
        nid = next(uses) if per_use(t) else id(t)
        if nid not in nodes:
            nodes[nid] = GraphNode(
                nid,
                t.op or "leaf",
                names.get(id(t), t.name),
                tuple(t.shape),
                np.array(t.numpy()),
                None,
                t.requires_grad,
                _constants(t),
                _stored_grad(t),
            )
        return nid

    for tensor in order:
        if per_use(tensor) and tensor is not output:
            continue  # drawn once per use, below
        add(tensor)
        node = tensor.node
        if node is None:
            continue
        for parent in node.inputs:
            edges.append(GraphEdge(add(parent), id(tensor), None))
    if gradient and output.requires_grad:
        _backward_contributions(order, output, nodes, edges)
    return ComputationGraph(nodes, edges, id(output))


def _parameter_names(model: Any) -> dict[int, str]:
    """A graph's labels for ``model``'s parameters, by its own names (``fc1.weight``); none
    for no model."""
    if model is None:
        return {}
    if not callable(getattr(model, "named_parameters", None)):
        raise TypeError(
            f"graph: model= takes a chainrule module (nn.Module), got {type(model).__name__}"
        )
    return {id(p): name for name, p in model.named_parameters()}


def _recorded_order(output: Tensor) -> list[Tensor]:
    """The graph below ``output``, outputs first; a graph an earlier pass freed is refused in
    the engine's words, which name the call that freed it (backward(), cr.gradient(), a
    transform, Node.release()), with drawing's own way out."""
    if not output.requires_grad:
        return [output]
    try:
        return reverse_topological_order([output], "graph")
    except GraphFreedError as freed:
        raise GraphFreedError(f"{freed}; or call graph() before that call, to draw it") from None


def _refuse_changed(who: str, tensors: list[Tensor], names: dict[int, str]) -> None:
    """Raise, as backward does, if an input of a recorded op among ``tensors`` was changed in
    place after the op ran (an optimizer's step, ``w -= ...`` under no_grad): the op's output
    holds a value computed from the old numbers, while the input and the rules run here would
    read the new ones, so the drawing would show numbers that belong to no one computation.
    The engine's own check (:func:`chainrule.engine.changed_input`), looked at only for ops
    recorded before the latest such change, as backward looks."""
    changed_after = engine.last_write
    for tensor in tensors:
        if tensor._primitive is None or tensor._seq >= changed_after:
            continue
        index = engine.changed_input(tensor)
        if index is None:
            continue
        node, parent = tensor.node, tensor._inputs[index]
        name = names.get(id(parent), parent.name)
        what = f"{name!r}, shape {tuple(parent.shape)}" if name else f"shape {tuple(parent.shape)}"
        raise RuntimeError(
            f"{who}: input {index} ({what}) of '{node.op}'{node.where()} was changed in place "
            "(an optimizer's step, or -= under no_grad) after the op was recorded, so the "
            "drawing would mix the values the graph computed with the new ones; draw before the "
            "step (after backward(retain_graph=True) is fine), or run the forward again after it"
        )


def _backward_contributions(order: list[Tensor], output: Tensor, nodes: dict, edges: list) -> None:
    """Run each node's derivative rules once, keeping the contribution sent along every edge.

    As the engine's backward runs them, so that its numbers are the ones a leaf's ``.grad``
    holds (:func:`_same`): on the bare arrays, with the values the forward saved (a fused
    loss's y - t; recomputed, it rounds differently in float32), ops visited latest first
    (so a fan-out is summed in the engine's order), each contribution in its input's dtype."""
    totals: dict[int, Any] = {id(output): output.xp.ones_like(output.data)}
    by_pair: dict[tuple[int, int], list[GraphEdge]] = {}
    for edge in edges:
        by_pair.setdefault((edge.src, edge.dst), []).append(edge)
    recorded = sorted((t for t in order if t.node is not None), key=lambda t: -t._seq)
    with no_grad():
        for tensor in recorded:
            total = totals.pop(id(tensor), None)
            if total is None:
                continue
            nodes[id(tensor)].grad = np.array(to_numpy(total))
            node = tensor.node
            pending = {key: list(v) for key, v in by_pair.items() if key[1] == id(tensor)}
            args = (tensor.data, *(parent.data for parent in node.inputs))
            params = rule_params(node, False)
            for index, parent in enumerate(node.inputs):
                if not parent.requires_grad:  # a constant's edge (its own node) carries none
                    continue
                edge = pending[(id(parent), id(tensor))].pop(0)
                contribution = node.primitive.vjp[index](total, *args, **params)
                if contribution.dtype != parent.data.dtype:  # float32 * float64: stays float32
                    contribution = backend.astype(contribution, parent.data.dtype)
                edge.contribution = np.array(to_numpy(contribution))
                sum_over_consumers(totals, parent, contribution)
        for tensor in order:  # the leaves, every consumer's part summed
            total = totals.pop(id(tensor), None)
            if total is not None:
                nodes[id(tensor)].grad = np.array(to_numpy(total))


# ---------------------------------------------------------------------------------------------
# A layered SVG drawn without graphviz
# ---------------------------------------------------------------------------------------------

_BOX_W, _BOX_H, _GAP_X, _GAP_Y = 210, 58, 40, 90
_LABEL_SIZE = 9


def _levels(g: ComputationGraph) -> dict[int, int]:
    """Each op one level above its highest input; each leaf just below its lowest consumer."""
    inputs: dict[int, list[int]] = {}
    for edge in g.edges:
        inputs.setdefault(edge.dst, []).append(edge.src)
    level: dict[int, int] = {}
    remaining = list(g.nodes)
    while remaining:  # longest path from the leaves; the graph is acyclic
        progressed = []
        for nid in remaining:
            parents = inputs.get(nid, [])
            if all(p in level for p in parents):
                level[nid] = 1 + max((level[p] for p in parents), default=-1)
                progressed.append(nid)
        remaining = [n for n in remaining if n not in progressed]
    for nid in g.nodes:
        if nid not in inputs:  # a leaf sits next to what reads it
            consumers = [level[e.dst] for e in g.consumers(nid)]
            if consumers:
                level[nid] = min(consumers) - 1
    return level


def _order(g: ComputationGraph, rows: dict[int, list[int]]) -> None:
    """Order the levels from the top down, each node under the mean position of its consumers
    (a node with none: of its inputs), so that edges cross as little as a quick sweep allows."""
    consumers: dict[int, list[int]] = {nid: [] for nid in g.nodes}
    inputs: dict[int, list[int]] = {nid: [] for nid in g.nodes}
    for edge in g.edges:
        consumers[edge.src].append(edge.dst)
        inputs[edge.dst].append(edge.src)
    place = {nid: (k + 0.5) / len(ids) for ids in rows.values() for k, nid in enumerate(ids)}

    def key(n: int) -> float:
        near = consumers[n] or inputs[n]
        return sum(place[m] for m in near) / len(near) if near else place[n]

    for _ in range(2):
        for lvl in sorted(rows, reverse=True):
            rows[lvl].sort(key=key)
            place.update({n: (k + 0.5) / len(rows[lvl]) for k, n in enumerate(rows[lvl])})


def layered_svg(g: ComputationGraph) -> str:
    """Leaves beside their consumers, each op one level above its inputs. The edges at a box
    leave and arrive side by side, and the k edges of one input read k times by one op (x * x)
    are bent apart: each is a path the chain rule sums, and each carries its own label. An edge
    that skips levels runs up through the gaps between their boxes, never behind one. Each
    label is placed where no other label, box or edge is (those with no free spot are listed
    below the graph, numbered on their edge)."""
    level = _levels(g)
    rows: dict[int, list[int]] = {}
    for nid in g.nodes:
        rows.setdefault(level[nid], []).append(nid)
    _order(g, rows)
    box_w = _box_width(g)
    bottom, top = min(rows), max(rows)
    height = (top - bottom + 1) * (_BOX_H + _GAP_Y) + _GAP_Y
    pos, width = _layout(rows, box_w, _GAP_X, top)
    lanes = _lanes(g, pos, rows, level, box_w)
    gap_x = max([_GAP_X] + [(n + 1) * _lane_step(n) for n in lanes.count.values()])
    if gap_x > _GAP_X:  # more edges up one gap than fit _LANE_STEP apart: every gap widened
        pos, width = _layout(rows, box_w, gap_x, top)
    routes = _routes(g, pos, rows, box_w, gap_x, lanes)
    if gap_x > _GAP_X:  # ... and the canvas cut back to what is drawn, and a gap's margin
        xs = [x for r in routes for x, _ in r.points()] + [x for x, _ in pos.values()]
        cut = max(0.0, min(xs) - _GAP_X)
        width = min(width, max(xs + [x + box_w for x, _ in pos.values()]) + _GAP_X) - cut
        pos = {nid: (x - cut, y) for nid, (x, y) in pos.items()}
        routes = _routes(g, pos, rows, box_w, gap_x, lanes)
    left, right = _overhang(g, routes, width)
    if left or right:  # a canvas wide enough for the outer labels of three bent edges or more
        pos = {nid: (x + left, y) for nid, (x, y) in pos.items()}
        width += left + right
        routes = _routes(g, pos, rows, box_w, gap_x, lanes)
    placer = Placer(Box(0, 0, width, height))  # a label wholly on the canvas, or listed below
    for x, y in pos.values():
        placer.block(Box(x, y, box_w, _BOX_H))
    for edge, route in zip(g.edges, routes):  # every line, before any label is placed
        placer.block_line(route.points())
        placer.block_line(route.arrowhead(_stroke(g, edge)))
    lines, labels, unplaced = [], [], []
    colours: dict[str, None] = {}  # the edges' colours, each an arrowhead's
    for edge, route in zip(g.edges, routes):
        value = _scalar(edge.contribution)
        colour = sign_colour(value) if edge.contribution is not None else NEUTRAL
        colours[colour] = None
        lines.append(
            f'<path d="{route.svg_path()}" fill="none" stroke="{colour}" '
            f'stroke-width="{_stroke(g, edge)}" marker-end="url(#{_arrow(colour)})"/>'
        )
        text = _edge_label(edge)
        if text is None:
            continue
        spot = placer.place(route.label_spots(), text, _LABEL_SIZE)
        if spot is None:
            unplaced.append((edge, text, colour, route))
            continue
        lx, ly, anchor = spot
        labels.append(_svg_text(lx, ly, text, colour, anchor))
    legend_top = height
    for k, (edge, text, colour, route) in enumerate(unplaced, start=1):
        mark = f"[{k}]"
        mx, my, anchor = placer.place_best(list(route.label_spots()), mark, _LABEL_SIZE)
        labels.append(_svg_text(mx, my, mark, colour, anchor))
        src, dst = g.nodes[edge.src].title, g.nodes[edge.dst].title
        line = f"{mark} {dst} -> {src}: {text}"
        labels.append(_svg_text(_GAP_X, legend_top + 14 * k, line, colour))
        # the canvas as wide as the legend's lines (a narrow graph cut them off on the right)
        box = text_box(_GAP_X, 0, line, _LABEL_SIZE)
        width = max(width, box.x + box.w + _GAP_X / 2)
    height += 14 * len(unplaced) + (10 if unplaced else 0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        "<defs>"
        + "".join(
            f'<marker id="{_arrow(colour)}" markerWidth="8" markerHeight="8" refX="8" refY="4" '
            f'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{colour}"/></marker>'
            for colour in colours
        )
        + "</defs>",
        *lines,
    ]
    for nid, node in g.nodes.items():
        x, y = pos[nid]
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{box_w:.0f}" height="{_BOX_H}" rx="6" '
            f'fill="{_fill(g, node)}" stroke="#444"/>'
        )
        texts = node_lines(g, node)
        for k, (line, down) in enumerate(zip(texts, _baselines(len(texts)))):
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(
                f'<text x="{x + 6:.1f}" y="{y + down:.1f}" font-size="10"{weight}>'
                f"{html.escape(line)}</text>"
            )
    out += labels
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _arrow(colour: str) -> str:
    """The id of the arrowhead marker of an edge of ``colour``: each arrowhead has its edge's
    colour (one grey marker for all drew grey heads on orange and blue edges)."""
    return "arrow-" + colour.lstrip("#")


def _baselines(n: int) -> list[float]:
    """How far below a box's top its ``n`` lines sit: 15 px apart, as three lines always were;
    four (a leaf's ``.grad`` under its gradient) closer, all inside the box."""
    if n <= 3:
        return [15.0 + 15 * k for k in range(n)]
    step = (_BOX_H - 18) / (n - 1)  # the first 13 px down, the last 5 px above the bottom
    return [13 + step * k for k in range(n)]


def _overhang(g: ComputationGraph, routes: list[_Route], width: float) -> tuple[float, float]:
    """How far past the canvas's left and right sides the label of a bent edge would reach,
    placed outside its curve (the first place it tries)."""
    left = right = 0.0
    for edge, route in zip(g.edges, routes):
        text = _edge_label(edge)
        if route.bend == 0 or text is None:
            continue
        reach = text_box(0, 0, text, _LABEL_SIZE).w + _LABEL_OFF[0] + 2
        xs = [x for x, _ in route.points()]
        if route.bend < 0:
            left = max(left, reach - min(xs))
        else:
            right = max(right, max(xs) + reach - width)
    return math.ceil(left), math.ceil(right)


def _stroke(g: ComputationGraph, edge: GraphEdge) -> int:
    """An edge's width: 2 where it is one of the consumers whose sum is a gradient."""
    return 2 if g.is_fan_out(edge.src) else 1


#: Where along an edge its label is tried, in this order (the middle first).
_LABEL_AT = (0.5, 0.35, 0.65, 0.2, 0.8, 0.12, 0.88)
#: How far from its edge, sideways (px), and above or below the point, a label is tried, in
#: this order; then farther, before it is numbered and listed under the drawing.
_LABEL_OFF, _LABEL_RISE = (4, 16), (0, -11, 11)
_LABEL_FAR, _LABEL_FAR_RISE = (28, 40), (-22, 22)


@dataclass(frozen=True)
class _Route:
    """An edge's path from ``start`` (on the top of the input's box) to ``end`` (the bottom of
    its consumer's). An edge between adjacent levels is a quadratic Bezier whose control point
    lies ``bend`` px to the right of the chord's middle (left when negative; 0: a straight
    line); one that skips levels runs straight up through a gap of each row of boxes between,
    entering and leaving it at the points ``via``, so that no box hides it."""

    start: tuple[float, float]
    end: tuple[float, float]
    bend: float = 0.0
    via: tuple[tuple[float, float], ...] = ()

    @property
    def control(self) -> tuple[float, float]:
        (sx, sy), (ex, ey) = self.start, self.end
        length = max(((ex - sx) ** 2 + (ey - sy) ** 2) ** 0.5, 1e-9)
        # the chord's normal, pointing right: edges run upwards (ey < sy), so -dy > 0
        nx, ny = (sy - ey) / length, (ex - sx) / length
        return ((sx + ex) / 2 + self.bend * nx, (sy + ey) / 2 + self.bend * ny)

    def points(self) -> list[tuple[float, float]]:
        """The path as a polyline (a straight edge: its two ends), for the label placer; a
        curve within a pixel of its sixteen chords."""
        if self.via:
            return [self.start, *self.via, self.end]
        if self.bend == 0:
            return [self.start, self.end]
        return [self.at(k / 16) for k in range(17)]

    def at(self, t: float) -> tuple[float, float]:
        """The point a fraction ``t`` of the way along the path (of its length, for a path
        through ``via``)."""
        if self.via:
            return _along(self.points(), t)
        (x0, y0), (x1, y1), (x2, y2) = self.start, self.control, self.end
        u = 1 - t
        return (u * u * x0 + 2 * u * t * x1 + t * t * x2, u * u * y0 + 2 * u * t * y1 + t * t * y2)

    def arrowhead(self, stroke: float) -> list[tuple[float, float]]:
        """The outline of the arrowhead drawn at the end (the marker is 8 stroke widths long
        and as wide), so that no label covers it."""
        (cx, cy), (ex, ey) = self.via[-1] if self.via else self.control, self.end
        length = max(((ex - cx) ** 2 + (ey - cy) ** 2) ** 0.5, 1e-9)
        ux, uy = (ex - cx) / length, (ey - cy) / length  # the direction the arrow points
        back, half = 8 * stroke, 4 * stroke
        bx, by = ex - back * ux, ey - back * uy
        left, right = (bx - half * uy, by + half * ux), (bx + half * uy, by - half * ux)
        return [left, (ex, ey), right, left]

    def svg_path(self) -> str:
        if self.via:
            return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in self.points())
        (sx, sy), (cx, cy), (ex, ey) = self.start, self.control, self.end
        return f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}"

    def label_spots(self) -> Iterator[tuple]:
        """Where a label may go, best first: beside points along the path, nearer first; then
        (a path up a gap, most of it in a bundle of others) beside the pieces where it leaves
        its input and meets its consumer; then all of those again, farther off, where no
        other edge runs between it and its own. A path bent left (one of x * x's two) tries
        its left side first, clear of its twin. Made as they are tried (most labels take one
        of the first few)."""
        sides = ((1, "start"), (-1, "end")) if self.bend >= 0 else ((-1, "end"), (1, "start"))
        along = (self.at(f) for f in _LABEL_AT)
        ends: list[tuple[float, float]] = []
        if self.via:
            points = self.points()
            ends = [_middle(points[-2], points[-1]), _middle(points[0], points[1])]
            ends += [points[-2], points[1]]
        tries = (
            (along, _LABEL_OFF, _LABEL_RISE),
            (ends, _LABEL_OFF, _LABEL_RISE),
            (itertools.chain((self.at(f) for f in _LABEL_AT), ends), _LABEL_OFF + _LABEL_FAR,
             _LABEL_RISE + _LABEL_FAR_RISE),
        )  # fmt: skip
        for anchors, offsets, rises in tries:
            for px, py in anchors:
                for off in offsets:
                    for dy in rises:
                        for sign, anchor in sides:
                            yield _spot(px, py, sign * off, dy, anchor)


def _spot(px: float, py: float, off: float, dy: float, anchor: str) -> tuple:
    """A label's place ``off`` px beside the point (px, py) of its edge and ``dy`` below it;
    set off farther than the nearest, with the way from the edge to it, which must meet
    nothing (a label beside a bundle, with another edge between it and its own, names the
    wrong one)."""
    if abs(off) <= _LABEL_OFF[0]:
        return (px + off, py + dy, anchor)
    return (px + off, py + dy, anchor, (px + math.copysign(1, off), py, px + off, py))


def _middle(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
    return ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)


def _along(points: list[tuple[float, float]], t: float) -> tuple[float, float]:
    """The point a fraction ``t`` of the way along a polyline, by length."""
    lengths = [math.dist(p, q) for p, q in zip(points, points[1:])]
    left = t * sum(lengths)
    for (x1, y1), (x2, y2), length in zip(points, points[1:], lengths):
        if left <= length and length > 0:
            f = left / length
            return (x1 + (x2 - x1) * f, y1 + (y2 - y1) * f)
        left -= length
    return points[-1]


#: How far apart (px) the edges at one side of a box start or end, spread about its middle.
_PORT_STEP = 16
#: The bend (px) between the k edges one op draws from one input it reads k times (x * x):
#: each is a path whose contribution the chain rule adds, so each is drawn, apart. Three or
#: more are bent further apart where their labels need it: the middle ones' go between them.
_BEND = 60


def _edge_label(edge: GraphEdge) -> str | None:
    """What an edge says: what its consumer sends back (None: a constant's edge, none)."""
    return None if edge.contribution is None else "sends back " + summary(edge.contribution)


def _layout(
    rows: dict[int, list[int]], box_w: float, gap_x: float, top: int
) -> tuple[dict[int, tuple[float, float]], float]:
    """Each box's top-left corner, every row centred, ``gap_x`` between two boxes and beside
    the widest row; and the canvas's width."""
    width = max(len(r) for r in rows.values()) * (box_w + gap_x) + gap_x
    pos = {}
    for lvl, ids in rows.items():
        offset = (width - len(ids) * (box_w + gap_x) + gap_x) / 2
        for k, nid in enumerate(ids):
            pos[nid] = (offset + k * (box_w + gap_x), _GAP_Y / 2 + (top - lvl) * (_BOX_H + _GAP_Y))
    return pos, width


#: The least distance (px) between two edges running up one gap: 2-5 px apart, a bundle of
#: them read as one line, and a label beside it could not be told from its neighbours'.
_LANE_STEP = 8


def _lane_step(lanes: int) -> float:
    """How far apart ``lanes`` edges run up one gap: spread across it (a 40 px gap holds
    four), or ``_LANE_STEP`` apart in a gap widened for them."""
    return max(_LANE_STEP, _GAP_X / (lanes + 1))


@dataclass
class _Lanes:
    """Where the edges that skip levels run. ``runs[k]``: edge k's stretches up one column of
    gaps, bottom first, as (column, lowest level, highest level, gap index at the lowest, lane);
    ``count[column]``: how many lanes it has. A column is the gaps of the rows at one x (rows
    are centred, so gap j of a row of m boxes is at ``2 j - m`` half-pitches from the middle)."""

    runs: dict[int, list[tuple[int, int, int, int, int]]]
    count: dict[int, int]


def _lanes(
    g: ComputationGraph,
    pos: dict[int, tuple[float, float]],
    rows: dict[int, list[int]],
    level: dict[int, int],
    box_w: float,
) -> _Lanes:
    """For each edge that skips levels, the gap it passes each row of boxes between through:
    the gap (between two boxes, or beside the row) nearest to where it is heading. An edge
    keeps one lane up a column of gaps, so that it is drawn as one straight piece (a lane per
    row, spread by the edges in that row, made a point per row: O(n^2) points for a leaf read
    by n ops), and edges whose stretches overlap get lanes in the order in which they leave
    it, so that they do not cross: the ones turning off lowest nearest their side. A straight
    line from y to y * y + y's sum ran behind y * y's box, hiding one of the three paths y's
    gradient sums."""
    centres = {  # per level, the x of each gap's middle, left to right
        lvl: [pos[ids[0]][0] + j * (box_w + _GAP_X) - _GAP_X / 2 for j in range(len(ids) + 1)]
        for lvl, ids in rows.items()
    }
    centre = {nid: x + box_w / 2 for nid, (x, _) in pos.items()}
    middle = {lvl: pos[ids[0]][1] + _BOX_H / 2 for lvl, ids in rows.items()}
    stretches: dict[int, list[tuple]] = {}  # column -> (order, edge, lowest, highest, gap)
    runs: dict[int, list[list]] = {}
    for k, edge in enumerate(g.edges):
        between = [lvl for lvl in range(level[edge.src] + 1, level[edge.dst]) if lvl in rows]
        if not between:
            continue
        x, y = centre[edge.src], pos[edge.src][1]
        end_x, end_y = centre[edge.dst], pos[edge.dst][1] + _BOX_H
        passes = []
        for lvl in between:
            heading = x + (end_x - x) * (y - middle[lvl]) / (y - end_y)  # on the line to the end
            gap = _nearest(centres[lvl], heading)
            column = 2 * gap - len(rows[lvl])
            if passes and passes[-1][0] == column:
                passes[-1][2] = lvl
            else:
                passes.append([column, lvl, lvl, gap, centres[lvl][gap], 0])  # 0: its lane
            x, y = centres[lvl][gap], middle[lvl]
        runs[k] = passes
        for j, (column, low, high, _, here, _) in enumerate(passes):
            after = passes[j + 1][4] if j + 1 < len(passes) else end_x
            before = passes[j - 1][4] if j else centre[edge.src]
            # left to right: those turning off left, lowest first, then those turning right,
            # highest first; then by where they go and come from
            order = (0, high, after) if after < here else (1, -high, after)
            stretches.setdefault(column, []).append((*order, before, k, j, low, high))
    count = {}
    for column, ones in stretches.items():
        ones.sort()
        placed: list[tuple[int, int, int]] = []  # (lowest, highest, lane)
        for *_, k, j, low, high in ones:
            # the first lane right of every earlier one it overlaps (or meets, a row apart)
            lane = 1 + max((n for a, b, n in placed if a <= high + 1 and low <= b + 1), default=-1)
            placed.append((low, high, lane))
            runs[k][j][5] = lane
        count[column] = 1 + max(n for *_, n in placed)
    return _Lanes({k: [(*p[:4], p[5]) for p in passes] for k, passes in runs.items()}, count)


def _routes(
    g: ComputationGraph,
    pos: dict[int, tuple[float, float]],
    rows: dict[int, list[int]],
    box_w: float,
    gap_x: float,
    lanes: _Lanes,
) -> list[_Route]:
    """Each edge's path, in the order of ``g.edges``: the k edges between one input and one
    consumer bent apart, side by side; an edge that skips levels straight up its lanes, its
    corners only."""
    centre = {nid: x + box_w / 2 for nid, (x, _) in pos.items()}
    xs = {}  # edge -> the x of each of its lanes
    for k, runs in lanes.runs.items():
        xs[k] = []
        for column, low, _, gap, lane in runs:
            n = lanes.count[column]
            middle = pos[rows[low][0]][0] + gap * (box_w + gap_x) - gap_x / 2
            xs[k].append(middle + (lane - (n - 1) / 2) * _lane_step(n))
    starts, ends = _ports(g, centre, box_w, xs)
    twins: dict[tuple[int, int], list[int]] = {}
    for k, edge in enumerate(g.edges):
        twins.setdefault((edge.src, edge.dst), []).append(k)
    routes = []
    for k, edge in enumerate(g.edges):
        start, end = (starts[k], pos[edge.src][1]), (ends[k], pos[edge.dst][1] + _BOX_H)
        if k in xs:
            # it turns near its ends, leaving the middle of the space between two rows to the
            # labels of the edges there (y * y's two, beside y -> y * y + y's sum)
            via = [(xs[k][0], start[1] - _GAP_Y / 3)]
            for (_, low, high, _, _), x in zip(lanes.runs[k], xs[k]):
                via += [(x, pos[rows[low][0]][1] + _BOX_H), (x, pos[rows[high][0]][1])]
            via.append((xs[k][-1], end[1] + _GAP_Y / 3))
            routes.append(_Route(start, end, via=tuple(_corners([start, *via, end])[1:-1])))
            continue
        pair = twins[(edge.src, edge.dst)]
        routes.append(_Route(start, end, (pair.index(k) - (len(pair) - 1) / 2) * _spread(g, pair)))
    return routes


def _corners(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A polyline without the points in the middle of a straight piece."""
    out = points[:1]
    for p, q in zip(points[1:], points[2:]):
        (ax, ay), (bx, by) = out[-1], p
        if abs((bx - ax) * (q[1] - ay) - (by - ay) * (q[0] - ax)) > 1e-6:
            out.append(p)
    return out + points[-1:] if len(points) > 1 else out


def _spread(g: ComputationGraph, pair: list[int]) -> float:
    """How much more the next of the k edges between one pair bends: two take their labels
    outside; three or more put the middle ones' labels between them, so the curves leave
    room for the widest (an edge's middle runs parallel to its chord, and the ports are
    ``_PORT_STEP`` apart already)."""
    if len(pair) < 3:
        return _BEND
    inner = [_edge_label(g.edges[k]) or "" for k in pair[1:-1]]
    widest = max(text_box(0, 0, text, _LABEL_SIZE).w for text in inner)
    room = widest + _LABEL_OFF[0] + 16  # the label's offset, and clear of the next edge
    return max(_BEND, 2 * (room - _PORT_STEP))


def _ports(
    g: ComputationGraph,
    centre: dict[int, float],
    box_w: float,
    through: dict[int, list[float]],
) -> tuple[list[float], list[float]]:
    """The x where each edge leaves its input's box and where it meets its consumer's: the
    edges at one side of a box spread about its middle, ordered by where each heads (its other
    end, or the lane it runs up first, ``through``), so that they do not cross there; the k
    edges between one pair side by side in their order."""
    starts, ends = [0.0] * len(g.edges), [0.0] * len(g.edges)
    for xs, here, there, first in ((starts, "src", "dst", 0), (ends, "dst", "src", -1)):
        at: dict[int, list[int]] = {}
        for k, edge in enumerate(g.edges):
            at.setdefault(getattr(edge, here), []).append(k)
        heading = {
            k: through[k][first] if k in through else centre[getattr(edge, there)]
            for k, edge in enumerate(g.edges)
        }
        for nid, ks in at.items():
            ks.sort(key=lambda k: (heading[k], k))
            step = min(_PORT_STEP, (box_w - 24) / max(len(ks) - 1, 1))  # 12 px in from the corners
            for j, k in enumerate(ks):
                xs[k] = centre[nid] + (j - (len(ks) - 1) / 2) * step
    return starts, ends


def _nearest(centres: list[float], x: float) -> int:
    """The index of the centre nearest ``x`` (the left one of two as near)."""
    k = bisect.bisect_left(centres, x)
    if k == 0:
        return 0
    if k == len(centres) or x - centres[k - 1] <= centres[k] - x:
        return k - 1
    return k


def _box_width(g: ComputationGraph) -> float:
    """Every node's box, as wide as the widest node's longest line needs (four long numbers
    ran past the usual width onto the next box), and never narrower than it."""
    widest = max(
        (text_box(0, 0, line, 10).w for node in g.nodes.values() for line in node_lines(g, node)),
        default=0.0,
    )
    return max(_BOX_W, widest + 12)  # 6 on each side, as the text starts 6 in


def _svg_text(x: float, y: float, text: str, colour: str, anchor: str = "start") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{_LABEL_SIZE}" fill="{colour}" '
        f'text-anchor="{anchor}">{html.escape(text)}</text>'
    )


def _fill(g: ComputationGraph, node: GraphNode) -> str:
    if g.is_fan_out(node.id):
        return "#fff4d6"  # a fan-out: its gradient is a sum
    return "#eef2f6" if node.op == "leaf" and node.requires_grad else "#f6f8fa"


def _scalar(array: np.ndarray | None) -> float | None:
    """The value of a one-number array (its sign colours the edge), else None."""
    if array is None or np.size(array) != 1:
        return None
    return float(np.asarray(array).reshape(()))


def zoom_tensors(n_cases: int, n_in: int, n_out: int, bias: bool) -> int:
    """The tensors :func:`zoom` records for a (n_cases, n_in) @ (n_in, n_out) op: the leaves
    (w_ij, b_j, each case's y_i), per case and j the n_in products and their sums, the z_j
    times its cotangent, and the sum of those. About three per product; it is drawn by
    :func:`graph`, so at most ``MAX_GRAPH_TENSORS`` (a 17 x 17 layer with biases, one case)."""
    products = n_cases * n_in * n_out
    leaves = n_in * n_out + n_cases * n_in + (n_out if bias else 0)
    sums = n_cases * n_out * (n_in - 1 + bias)
    return leaves + products + sums + n_cases * n_out + (n_cases * n_out - 1)


def zoom(output: Tensor, cotangent: Any = None) -> ComputationGraph:
    """A recorded ``linear`` (or 2-d ``matmul``) op expanded into its scalar graph, same numbers.

    Each z[c, j] = b_j + sum_i y[c, i] w_ij is recorded as scalar products and additions, in
    the input's dtype; the top node is sum_cj g[c, j] z[c, j] with ``g`` the cotangent (ones by
    default), so each leaf's gradient is exactly what the tensor op's rule sends that input
    (g W^T to y, y^T g to W, the column sums of g to b), and each y[c, i] is a fan-out whose
    gradient is the sum over j. Nodes are named ``y_i``, ``w_ij``, ``b_j``, ``z_j`` (with the
    case when there are several). Raises RuntimeError (``zoom: ...``), as ``backward`` does, if
    an input of the op was changed in place after it ran (an optimizer's step); draw before the
    step. It is for reading, at small sizes: an op whose scalar graph would have more than
    ``MAX_GRAPH_TENSORS`` tensors (:func:`zoom_tensors`, about three per product: a 17 x 17
    layer of one case fits, 18 x 18 does not) is refused with a ValueError, before anything is
    built.
    """
    node = output.node
    if node is None or node.op not in ("linear", "matmul"):
        op = "a leaf" if node is None else f"'{node.op}'"
        raise ValueError(f"zoom: expected the output of a linear or matmul op, got {op}")
    if node.released:  # said as graph() says it: the engine's words name the call that freed it
        try:
            reverse_topological_order([output], "zoom")
        except GraphFreedError as freed:
            raise GraphFreedError(f"{freed}; or call zoom() before that call") from None
    _refuse_changed("zoom", [output], {})
    x, weight = (np.asarray(t.numpy()) for t in node.inputs[:2])
    bias = np.asarray(node.inputs[2].numpy()) if len(node.inputs) > 2 else None
    if x.ndim != 2 or weight.ndim != 2:
        raise ValueError(
            f"zoom: expected (cases, n_in) @ (n_in, n_out), got {x.shape} @ {weight.shape}"
        )
    (n_cases, n_in), n_out = x.shape, weight.shape[1]
    # refused here, in zoom's words, before anything is built: graph's own refusal would tell
    # the user to draw "a layer's zoom", which is what they are doing
    n_tensors = zoom_tensors(n_cases, n_in, n_out, bias is not None)
    if n_tensors > MAX_GRAPH_TENSORS:
        raise ValueError(
            f"zoom: {counted(n_cases, 'case')} of a {n_in} -> {n_out} layer "
            f"({n_cases * n_in * n_out} products) is too many to draw: its scalar graph has "
            f"{n_tensors} tensors, and a drawing shows at most {MAX_GRAPH_TENSORS}; zoom into "
            "fewer cases (x[:1]) or a smaller layer (17 x 17 with one case fits)"
        )
    g = np.ones(output.shape) if cotangent is None else np.asarray(cotangent, dtype=np.float64)
    if g.shape != output.shape:
        raise ValueError(
            f"zoom: the cotangent's shape {g.shape} is not the output's {output.shape}"
        )

    def leaf(value: Any) -> Tensor:
        return Tensor(np.asarray(value, dtype=x.dtype), requires_grad=True)

    names: dict[int, str] = {}

    def named(t: Tensor, name: str) -> Tensor:
        names[id(t)] = name
        return t

    case = (lambda c: f" (case {c + 1})") if n_cases > 1 else (lambda c: "")
    ws = {
        (i, j): named(leaf(weight[i, j]), f"w_{weight_index(i, j)}")
        for i in range(n_in)
        for j in range(n_out)
    }
    bs = [None if bias is None else named(leaf(bias[j]), f"b_{j + 1}") for j in range(n_out)]
    terms = []
    with enable_grad():
        for c in range(n_cases):
            ys = [named(leaf(x[c, i]), f"y_{i + 1}{case(c)}") for i in range(n_in)]
            for j in range(n_out):
                z = bs[j]
                for i in range(n_in):
                    product = ys[i] * ws[(i, j)]
                    z = product if z is None else z + product
                terms.append(named(z, f"z_{j + 1}{case(c)}") * float(g[c, j]))
        total = terms[0]
        for term in terms[1:]:
            total = total + term
    names[id(total)] = "Σ g·z"
    return graph(total, names=names)


def seed_graph() -> tuple[ComputationGraph, dict[str, Tensor]]:
    """The seed's top layer unit by unit: y_i -> z_j -> y_j -> E, one scalar tensor per unit.

    Each y_i feeds the three products y_i w_ij, so three arrows meet at y_i, carrying
    w_ij dE/dz_j; their sum is dE/dy_i. The numbers are the seed's as :func:`explain` runs it
    (:func:`~chainrule.explainer.seed_model`): the hidden units' y_i, the top layer's weights,
    its activation from the library's table and the seed's own loss object (squared error),
    applied to the row of the y_j, so E is explain()'s.
    """
    from chainrule.explainer.build import explain
    from chainrule.nn.activations import ACTIVATIONS

    d = explain(perturbation=False, check=False)
    conn = d.connections[-1]
    activation = ACTIVATIONS[d.layers[conn.above].activation].op

    def leaf(value: float) -> Tensor:
        return Tensor(np.asarray(value, dtype=d.dtype), requires_grad=True)

    n_i, n_j = conn.weight.shape
    named: dict[str, Tensor] = {}
    ys = []
    for i in range(n_i):
        ys.append(leaf(d.layers[conn.below].y[0, i]))
        named[f"y_{i + 1}"] = ys[-1]
    outputs = []
    for j in range(n_j):
        z = leaf(conn.bias[j])
        named[f"b_{j + 1}"] = z
        for i in range(n_i):
            w = leaf(conn.weight[i, j])
            named[f"w_{weight_index(i, j)}"] = w
            z = z + ys[i] * w
        named[f"z_{j + 1}"] = z
        outputs.append(activation(z))
        named[f"y_j={j + 1}"] = outputs[-1]
    E = d.loss(ops.stack(outputs).reshape((1, n_j)), d.t)
    named["E"] = E
    return graph(E, names={id(t): name for name, t in named.items()}), named


class _GraphModule(ModuleByName):
    """This module, called as micrograd's ``draw_dot(L)`` is (``cr.viz.graph(L)``): a module
    cannot draw, so the call names the function that does, where Python said only "'module'
    object is not callable"."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "cr.viz.graph is a module, not a function: the function that draws a tensor's "
            "graph is in it, cr.viz.graph.graph(L) (or: from chainrule.viz.graph import graph)"
        )


sys.modules[__name__].__class__ = _GraphModule
