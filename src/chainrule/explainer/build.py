"""Building a derivation: run the model forward and backward, read every number, check each.

:func:`explain` runs the network's forward pass on the model's own modules, asks the engine for
dE/d of every layer's y and z and of every weight and bias (one backward pass over the recorded
graph, with those tensors as targets), and stores the numbers in a
:class:`~chainrule.explainer.derivation.Derivation`. Each number is then checked against a central
finite difference of E computed independently in float64 (:mod:`chainrule.explainer.numeric`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from chainrule.checks import is_integer
from chainrule.engine import enable_grad, reverse_topological_order
from chainrule.errors import type_name
from chainrule.explainer import margin, numeric
from chainrule.explainer.derivation import (
    KINK_MARK,
    SUM_SECTIONS,
    ConnectionRecord,
    Derivation,
    LayerRecord,
    Quantity,
    smallest_normal,
)
from chainrule.explainer.network import (
    ACTIVATIONS,
    ExplainError,
    Network,
    Problem,
    as_cases,
    as_loss,
    as_network,
    dropout_note,
    evaluation_dropout_note,
    formula_written,
    host_values,
    in_model_dtype,
    loss_shown,
    loss_target,
    output_activation,
    own_loss_note,
    seed_network,
    targets_for,
)
from chainrule.explainer.notation import Notation, get_notation
from chainrule.explainer.paths import path_table
from chainrule.explainer.perturbation import perturbation_view
from chainrule.explainer.symbolic import symbolic_view
from chainrule.explainer.views import three_views
from chainrule.functional import gradient
from chainrule.gradcheck import difference_rounding
from chainrule.nn.activations import max_slope
from chainrule.nn.losses import Loss
from chainrule.nn.module import functional_call
from chainrule.ops.shape import _reshape
from chainrule.tensor import Tensor

#: Letters for the layers, from the top down: the top layer is j, the one below it i (lecture).
_LETTERS_FROM_TOP = "jihgfedcba"


def explain(
    model: Any = None,
    x: Any = None,
    t: Any = None,
    loss: Any = None,
    *,
    notation: str = "hinton",
    unit: Any = None,
    check: bool = True,
    eps: float = 1e-6,
    perturbation: bool = True,
    symbolic: bool = False,
    max_checks: int = 20000,
    bug: str | None = None,
    views: bool = True,
    paths: bool = True,
    case_source: str | None = None,
) -> Derivation:
    """Run ``model`` forward and backward on inputs ``x`` and targets ``t``; lay out every number.

    ``model`` is an ``nn.Sequential`` of Linear (or ``nn.Parallel`` of Linear) and activation layers
    (or a :class:`~chainrule.explainer.network.Network`, or a list of ``(weight, bias,
    activation)``); with no model, the seed network (:func:`seed_network`). ``x`` is (cases, inputs)
    or one case; ``t`` is (cases, outputs), or class labels for cross-entropy (a loss of one's own
    is given rows wider than that as they are). ``loss`` defaults to
    squared error; the seed network has its own (squared error) and refuses another. ``unit``
    focuses on one unit: ``"L:i"`` or ``(L, i)`` with layer L (0 = input) and unit i counted from 1.
    Every gradient is checked against a central finite difference (step ``eps``) unless
    ``check=False`` (one that would straddle a relu unit's kink, z = 0, is left out and marked
    ``kink``); with ``perturbation`` the derivation also carries the perturbation view of the
    focused unit, and with ``symbolic`` the sympy proof (or why it was skipped: a network too
    large, or no sympy, whose message names the [app] extra that installs it). ``bug`` names a
    teaching bug (:data:`~chainrule.explainer.bugs.BUGS`) whose wrong gradients are set beside the
    right ones (a bug that would be refused, ``no-toposort`` past its budget, is refused before
    any check runs); ``views`` adds the focused dE/dy_i as Hinton's sum, a row of the matrix
    form and the graph's fan-out node; ``paths`` the count of paths to E against backprop's
    cost, layer by layer. ``case_source`` says in plain words where the cases come from (which
    case of which data, how its inputs were scaled, which class its target is); every format
    shows it beside the inputs and the JSON holds it, since ``x`` and ``t`` are the numbers the
    model computes with, which need not be the data file's (standardised inputs, one-hot
    targets).

    >>> d = explain()                      # the seed network
    >>> round(d.sum_over_j(1, 0) - d.dE_dy(1, 0).value, 12)
    0.0
    """
    _check_checks(eps, max_checks)
    if case_source is not None and not isinstance(case_source, str):
        raise ExplainError(
            "explain: case_source, where the cases come from, must be a string or None, not "
            f"{type_name(case_source)}"
        )
    problem = problem_of(model, x, t, loss)
    derivation = _run(problem, eps=eps, notation=notation)
    bug_graph = None  # no-toposort's unit graph, built once: counted here, walked below
    if bug is not None:  # a bug that will be refused is refused before the checks run
        from chainrule.explainer.bugs import refuse_before_checks  # teaching code, as below

        bug_graph = refuse_before_checks(derivation, bug)
    derivation.case_source = (case_source or "").strip() or None  # blank says nothing
    network = problem.network
    notes = (dropout_note(network), evaluation_dropout_note(network), frozen_note(network))
    for note in (own_loss_note(problem.loss), *notes):
        if note is not None:
            derivation.notes.append(note)
    if check:
        _finite_differences(derivation, problem, eps, max_checks)
    derivation.focus = _focus(derivation, unit)
    derivation.focus_asked = unit is not None
    top, (layer, _) = derivation.n_layers, derivation.focus
    if layer == top and (perturbation or views or symbolic):  # the sections left out, said once
        asked = {"perturbation": perturbation, "views": views, "symbolic": symbolic}
        derivation.sums_left_out = tuple(name for name in SUM_SECTIONS if asked[name])
        derivation.notes.append(derivation.sum_left_out)
    if perturbation and derivation.focus[0] < derivation.n_layers:
        derivation.perturbation = perturbation_view(derivation, *derivation.focus)
    if symbolic:
        derivation.symbolic = symbolic_view(derivation, problem.network, *derivation.focus)
    if views and derivation.focus[0] < derivation.n_layers:
        derivation.views = three_views(derivation, *derivation.focus)
    if paths:
        derivation.paths = path_table(derivation)
    if bug is not None:
        from chainrule.explainer.bugs import run_bug  # teaching code, loaded only when asked

        derivation.bug = run_bug(derivation, bug, problem.network, graph=bug_graph)
    return derivation


def _check_checks(eps: Any, max_checks: Any) -> None:
    """The finite differences' step, a finite number > 0, and how many gradients they may check
    (a whole number >= 1; past it a sample is checked)."""
    real = is_integer(eps) or isinstance(eps, (float, np.floating))
    if not (real and np.isfinite(eps) and eps > 0):
        raise ExplainError(
            f"explain: eps, the finite differences' step, must be a finite number > 0, not {eps!r}"
        )
    if not (is_integer(max_checks) and max_checks >= 1):
        raise ExplainError(
            "explain: max_checks, the most gradients checked by finite differences, must be a "
            f"whole number >= 1, not {max_checks!r} (check=False checks none)"
        )


def problem_of(model: Any, x: Any, t: Any, loss: Any) -> Problem:
    """What :func:`explain` explains: the network's view, input rows, target rows and loss."""
    if model is None:
        seed = seed_network()
        if x is None and t is None:
            if loss is not None and as_loss(loss).name != seed.loss.name:
                raise ExplainError(
                    f"explain: loss {as_loss(loss).name!r}: the seed network is explained with "
                    f"its own loss, {seed.loss.name}; give the input x and the target t to use "
                    "another"
                )
            return seed
        model = seed.network
    if isinstance(model, Problem):
        return model
    network = as_network(model)
    _refuse_misplaced_arguments(x, t)
    if x is None or t is None:
        raise ExplainError("explain: give both the input x and the target t for this model")
    spec = as_loss("squared-error" if loss is None else loss)
    inputs = as_cases(host_values(x), network.sizes[0], "input")  # finite: refused otherwise
    if inputs.shape[0] == 0:
        raise ExplainError(
            f"explain: the input has no cases (shape {np.shape(host_values(x))}); give at least "
            "one row"
        )
    targets, labels = targets_for(
        host_values(t), network.sizes[-1], spec, inputs.shape[0], loss_given=loss is not None
    )
    # the numbers the model computes with (layer 0's y), which every view shows as its inputs
    return Problem(network, in_model_dtype(inputs, network), targets, spec, labels)


def _refuse_misplaced_arguments(x: Any, t: Any) -> None:
    """Refuse the explorer's signature given to explain (``explain(net, (x, t), loss)``: the
    explorer takes one case as a pair, explain takes x and t apart) and a loss given as the
    target, naming what went where; NumPy's words for a pair ("an inhomogeneous shape") and
    a loss read as rows name neither."""
    taken = "explain takes the input x and the target t as separate arguments"
    if t is None or isinstance(t, Loss):
        shapes = _pair_shapes(x)
        if shapes is not None:
            raise ExplainError(
                f"explain: x is a pair of arrays of shapes {shapes[0]} and {shapes[1]}, a case "
                f"(x, t) as cr.explorer takes it: {taken}, cr.explain(model, x, t, loss)"
            )
    if isinstance(t, Loss):
        raise ExplainError(
            f"explain: t, the target, is a loss ({type_name(t)}): {taken}, then the loss, "
            "cr.explain(model, x, t, loss)"
        )


def _pair_shapes(x: Any) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """The shapes of ``x``'s two entries where it is a tuple or list of two of different
    shapes (no rows of one width: a case ``(x, t)``), else None."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        return None
    try:
        shapes = tuple(tuple(np.shape(host_values(entry))) for entry in x)
    except (ValueError, TypeError, ExplainError):  # an entry that is itself ragged
        return None
    return shapes if shapes[0] != shapes[1] else None


def engine_error(z_out: Tensor, y_out: Tensor, t: Any, loss: Loss) -> Tensor:
    """E as the model's own loss computes it: from the logits z when the loss applies its own
    unit (stable), else from the outputs y."""
    return loss(z_out if loss.output_activation is not None else y_out, t)


def forward(
    problem: Problem, stand_ins: list[dict[str, Tensor]] | None = None
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """The problem's forward pass on the model's own modules, recorded: every layer's y (from
    the input layer up), every layer's z, and E by the model's own loss. ``stand_ins`` gives,
    per layer, tensors to use for some of its parameters (:func:`frozen_stand_ins`)."""
    network, loss = problem.network, problem.loss
    dtype = network.dtype
    out_act = output_activation(network, loss)
    x = Tensor(problem.x.astype(dtype)).requires_grad_()
    t = loss_target(problem.loss_targets, dtype)  # class labels as they are, rows a tensor
    ys: list[Tensor] = [x]
    zs: list[Tensor] = []
    with enable_grad():
        for k, layer in enumerate(network.layers):
            if stand_ins and stand_ins[k]:
                z = functional_call(layer.linear, stand_ins[k], ys[-1])
            else:
                z = layer.linear(ys[-1])
            if z.shape != (x.shape[0], layer.n_out):
                raise ExplainError(
                    f"explain: layer {k + 1} produced shape {z.shape}, expected "
                    f"{(x.shape[0], layer.n_out)}"
                )
            zs.append(z)
            is_top = k == len(network.layers) - 1
            y = _act(out_act if is_top else layer.activation, z)
            # an identity layer's y is its z: a distinct tensor keeps dE/dy and dE/dz apart, a
            # reshape to its own shape (an op of the implementation: graphs hide it on request)
            ys.append(_reshape(y, shape=y.shape) if y is z else y)
        E = engine_error(zs[-1], ys[-1], t, loss)
    return ys, zs, E


def _refuse_a_loss_reading_parameters(problem: Problem, z_out: Tensor, y_out: Tensor) -> None:
    """Refuse a loss of one's own that reads the model's parameters itself, not only through
    its outputs (a penalty on a weight, ``0.5 * (l2.weight**2).sum()`` in its forward): dE/dw
    is then y_i dE/dz_j plus the loss's own term, which no step of the derivation writes out
    and its finite differences (of the loss of the outputs, from copies of the weights) never
    see. Found by the engine's graph: the loss of a detached copy of the outputs, recorded,
    reaches a parameter of the model only where the loss reads it. A tensor of the loss's own
    (a constant, another model's weight) is fine. (A frozen parameter records no graph, so
    one read by the loss is not seen.)"""
    loss = problem.loss
    if formula_written(loss):  # chainrule's losses read their inputs and targets alone
        return
    network = problem.network
    names = {
        id(parameter): layer.model_names()[name]
        for layer in network.layers
        for name, parameter in layer.parameters()
    }
    z, y = (out.detach().requires_grad_() for out in (z_out, y_out))
    with enable_grad():  # E as the forward computes it (engine_error), from detached outputs
        E = engine_error(z, y, loss_target(problem.loss_targets, network.dtype), loss)
    if not isinstance(E, Tensor) or not E.requires_grad:
        return
    read = [names[id(t)] for t in reverse_topological_order([E]) if id(t) in names]
    if read:
        shown = ", ".join(sorted(read, key=list(names.values()).index))
        raise ExplainError(
            f"explain: the loss {loss_shown(loss)} reads {shown} itself (a penalty?), so dE/dw "
            "is not y_i dE/dz_j alone: the loss's own term adds to it, which no step of the "
            "derivation writes out; explain the model with the loss of its outputs alone (and "
            "add the penalty's gradient, which E.backward() includes, apart)"
        )


def frozen_stand_ins(network: Network) -> list[dict[str, Tensor]]:
    """Per layer, a tensor that needs a gradient for each parameter that does not (frozen:
    ``requires_grad`` False), on the same array. Backward gives a frozen weight no gradient,
    but dE/dw_ij = y_i dE/dz_j is still what the chain rule says (and what a finite
    difference measures): the derivation writes it out, and :func:`frozen_note` says that
    training leaves those weights as they are."""
    return [
        {
            name: Tensor(parameter.data, requires_grad=True)
            for name, parameter in layer.parameters()
            if not parameter.requires_grad
        }
        for layer in network.layers
    ]


def frozen_note(network: Network) -> str | None:
    """What to tell a user whose model has frozen parameters, or None."""
    frozen = [
        layer.model_names()[name]
        for layer in network.layers
        for name, parameter in layer.parameters()
        if not parameter.requires_grad
    ]
    if not frozen:
        return None
    return (
        f"Frozen (requires_grad=False): {', '.join(frozen)}. Backward leaves a frozen "
        "parameter's .grad None and an optimizer does not change it; the derivation shows its "
        "gradient as the chain rule gives it."
    )


def _run(problem: Problem, eps: float, notation: str) -> Derivation:
    """The forward pass with engine tensors, then one backward pass to every y, z, w and b."""
    network, loss = problem.network, problem.loss
    dtype = network.dtype
    out_act = output_activation(network, loss)
    stand_ins = frozen_stand_ins(network)
    ys, zs, E = forward(problem, stand_ins)
    _refuse_a_loss_reading_parameters(problem, zs[-1], ys[-1])
    # each layer's parameters (a stand-in for a frozen one), the weights' and biases' of each
    # of its parts in order
    params = [
        [own.get(name, parameter) for name, parameter in layer.parameters()]
        for own, layer in zip(stand_ins, network.layers)
    ]
    grads = gradient(E, ys + zs + [p for layer_params in params for p in layer_params])
    g = [np.array(gr.numpy(), dtype=np.float64) for gr in grads]
    n = len(ys)
    g_y, g_z = g[:n], g[n : 2 * n - 1]
    g_params = iter(g[2 * n - 1 :])
    g_w, g_b = [], []
    for layer in network.layers:
        per_part = [(next(g_params), next(g_params) if layer.has_bias else None)
                    for _ in layer.parts]  # fmt: skip
        g_w.append(layer.weight_array([w for w, _ in per_part]))
        g_b.append(layer.bias_array([b for _, b in per_part]))
    loss_from_z = loss.output_activation is not None
    layers = []
    L = len(network.layers)
    for k in range(n):
        letter = _letter(L - k)
        top = k == L
        layers.append(
            LayerRecord(
                index=k,
                role="input" if k == 0 else ("output" if top else "hidden"),
                letter=letter,
                size=network.sizes[k],
                activation=None
                if k == 0
                else (out_act if top else network.layers[k - 1].activation),
                y=_f64(ys[k]),
                z=None if k == 0 else _f64(zs[k - 1]),
                dE_dy=None if (top and loss_from_z) else g_y[k],
                dE_dz=None if k == 0 else g_z[k - 1],
            )
        )
    connections = []
    for k, layer in enumerate(network.layers):
        connections.append(
            ConnectionRecord(
                below=k,
                weight=layer.weight_array(),
                bias=layer.bias_array(),
                dE_dw=g_w[k],
                dE_db=g_b[k],
                weight_name=layer.weight_name,
                bias_name=layer.bias_name,
                connected=layer.connected,
            )
        )
    t = problem.t.astype(np.float64)
    return Derivation(
        description=" -> ".join(  # the output units as the loss sees them
            [f"{network.sizes[0]} inputs"] + [f"{r.size} {r.activation}" for r in layers[1:]]
        ),
        dtype=str(dtype),
        loss=loss,
        error=float(E.item()),
        x=problem.x.astype(np.float64),
        t=t,
        labels=problem.labels,
        layers=layers,
        connections=connections,
        n_parameters=network.n_parameters,
        eps=eps,
        notation=notation,
        **tolerances(
            dtype,
            *term_sizes(layers, connections, t, loss, float(E.item()), dtype),
            difference_steps(layers, connections, eps),
        ),
    )


def difference_steps(
    layers: list[LayerRecord], connections: list[ConnectionRecord], eps: float
) -> dict[Quantity, float | np.ndarray]:
    """Each quantity's finite-difference step: ``eps``, but for a weight ``eps`` over the largest
    |y| it multiplies, and for a y ``eps`` over the largest |w| it is multiplied by, where those
    are above 1, so that no step moves a z by more than ``eps``. A raw input of 1e6 made a
    weight's step of 1e-6 a step of 1 in z, and the difference of a curved E over so wide a
    step was 15% off a right dE/dw (SOME DISAGREE, in float64 too).

    A weight's step is its own row's: ``("dE_dw", layer below)`` is an array of shape
    (inputs, 1), weight w_ij's step in row i, eps / max(1, max over cases |y_i|), which
    broadcasts against the weights. One step for the whole connection, eps over the largest
    |y| below, gave w_21 beside an input y_1 of 52000 a step of eps/52000 though it multiplies
    y_2 = 0.003: E's rounding swamped the difference (3.4% off a right dE/dw_21, and its
    tolerance passed a value a fifth off). Every other quantity's step is one float (the page's
    dE/dy check reads ``("dE_dy", layer)``)."""
    steps: dict[Quantity, float | np.ndarray] = {("dE_dy", len(layers) - 1): eps}
    for record in layers:  # (the input layer has no z: its entry is never used)
        steps["dE_dz", record.index] = eps
    for conn in connections:
        weights = float(np.abs(conn.weight).max(initial=0.0))
        steps["dE_dw", conn.below] = eps / _row_scale(layers[conn.below].y)[:, None]
        steps["dE_db", conn.below] = eps
        steps["dE_dy", conn.below] = eps / max(1.0, weights)
    return steps


def _row_scale(y: np.ndarray) -> np.ndarray:
    """max(1, max over cases |y_i|) per unit i of a layer's y (cases, units): what a weight's
    step in row i is eps over (a NaN y, as max(1.0, nan) did, counts as 1)."""
    return np.fmax(1.0, np.abs(y).max(axis=0, initial=0.0))


def tolerances(
    dtype: np.dtype,
    cancelled: dict[Quantity, float | np.ndarray],
    rounded: dict[Quantity, float],
    steps: dict[Quantity, float | np.ndarray],
) -> dict[str, Any]:
    """How far an engine gradient may be from its float64 central difference: its quantity's
    ``atol`` + ``rtol`` |numeric|, and for float32 (whose rounding is relative to the terms a
    sum adds) ``atol_share`` of the largest |numeric| of the same quantity.

    A quantity's ``atol`` (``quantity_atol``, keyed ``("dE_dw", 0)``, ...) is 1e-7, plus the
    dtype's machine epsilon times its ``cancelled`` size: every gradient is built from the
    loss's output - target, whose rounding is relative to the terms, not to their difference,
    so a confident float32 classifier (softmax 0.9999 against 1) has gradients right only to
    that much. Each quantity has its own: one raw input of 1e6 makes the first layer's dE/dw
    that large, and lent its slack to every other quantity (a float32 check then passed a
    wrong dE/dy of 0.03). Plus the difference's own rounding: each E it subtracts is rounded to
    float64's epsilon times its quantity's ``rounded``, the size of what E is summed from in
    the layers the difference reruns, and the difference divides that by its quantity's step
    (:func:`chainrule.gradcheck.difference_rounding`, gradcheck's own rule; the steps are
    :func:`difference_steps`; E of 1e10 leaves a step of 1e-6 about 2 of noise; twice that is
    allowed, above the at most 0.2 of it measured on random networks). A weight's tolerance is
    its own: its step is its row's, and its ``cancelled`` size its own (y_i's size times its
    unit j's dE/dz's), so ``entry_atol`` holds the weights' per entry, (inputs, outputs), and
    ``quantity_atol`` the largest of them (an input of 52000 beside one of 0.003 lent the
    second's weights its rounding over a step of eps/52000). ``atol`` is the largest
    quantity's. Plus the dtype's smallest normal number (``np.finfo(dtype).tiny``): a float32
    gradient of 4e-78 underflows to 0 in the engine, a rounding, not a wrong rule (every entry
    was a MISMATCH); it is then within the tolerance of 0, no verdict. See :func:`term_sizes`.
    """
    machine, tiny = float(np.finfo(dtype).eps), smallest_normal(dtype)
    own = {  # (tiny: a gradient below the dtype's smallest normal number is its rounding)
        key: machine * size + tiny + difference_rounding(rounded[key], steps[key])
        for key, size in cancelled.items()
    }
    quantity_atol = {key: float(np.max(value)) for key, value in own.items()}
    entry_atol = {key: value for key, value in own.items() if np.ndim(value)}
    atol = max(quantity_atol.values())
    shared = {"atol": atol, "quantity_atol": quantity_atol, "entry_atol": entry_atol}
    # what E's rounding over each step is made of: a no-verdict check says it (tolerance_parts)
    shared.update(rounded_size=dict(rounded), steps=dict(steps))
    if np.dtype(dtype) == np.float64:
        return {**shared, "rtol": 1e-5, "atol_share": 0.0}
    return {**shared, "rtol": 1e-3, "atol_share": 1e-5}


def term_sizes(
    layers: list[LayerRecord],
    connections: list[ConnectionRecord],
    t: np.ndarray,
    loss: Loss,
    error: float,
    dtype: Any = np.float64,
) -> tuple[dict[Quantity, float | np.ndarray], dict[Quantity, float]]:
    """Two sizes of terms that rounding is relative to, to first order (:func:`tolerances`),
    each per quantity (keyed ``("dE_dw", 0)``, ...).

    ``cancelled``: the largest size of the terms its gradients are a difference of (for a
    connection's weights, each weight's own, an array (inputs, outputs)); for a weight, its
    y_i's size counts how far a float32 (not float64) model's own forward may have moved y_i
    from the float64 difference's, its z's terms and the layer below's moves times f's slope. At the
    top, per case and unit, |y| + |t| over what the loss divides by (the loss's output -
    target); below, that carried as backprop carries dE/dz but in sizes: times |w| down each
    connection, summed over cases for dE/db_j (times |y_i| for dE/dw_ij). A unit whose slope
    is computed from its rounded y (logistic y(1 - y), tanh 1 - y^2, softmax) adds twice its
    dE/dy's size to its dE/dz's, and so to everything below: a saturated float32 tanh unit's
    slope 1 - y^2 of 5e-7 is off by a fifth when y is, by half a float32 step (a right
    gradient was flagged).

    ``rounded``: how much of E a rounding of float64's epsilon can move in the forward passes
    that quantity's differences rerun: |E|, plus each unit's z rounded relative to the terms it
    sums (|b_j| + sum_i |y_i w_ij|), times that unit's size of dE/dz (and an output unit's
    y = f(z) rounded relative to itself, times its size of dE/dy: a hidden unit's is counted in
    the z it feeds, |y_i w_ij|; a saturated output's, whose slope is 4e-7, failed right
    gradients where its y's rounding was counted only through that slope), for the z the quantity
    moves (a weight's or a bias's above it, a y's above it, a z itself) and every z above it (a
    difference reruns those alone: the layers below compute the same numbers in both passes,
    so their rounding cancels; inputs of 1e300 made every quantity's tolerance infinite, the
    top's dE/dz of 0.1 too, and every check passed). Neither size reads a derivative rule the
    check is checking. In ``cancelled`` a unit's slope counts as its function's largest
    (:func:`~chainrule.nn.activations.max_slope`: 1/4 for the logistic, 1 for tanh and relu),
    so a deep logistic network's lowest layer is not allowed 4^depth times its rounding (a
    wrong dE/dw of a fifth passed there). In ``rounded``, which the step divides (float64's
    1e-16 over a step of 1e-6), it is each case's own, measured from the unit's function
    (:func:`slope_sizes`): a saturated tanh unit's largest slope, 1 where its own was 2e-5,
    made a tolerance of 0.5% of the gradient, and a rule 0.2% wrong passed.

    A loss of the user's own (whose formula is not known here) may scale its gradient past
    |y| + |t|: its top size is the larger of that and the engine's own |dE/dy| (|dE/dz| for a
    loss that reads the logits), which moves a tolerance by no more than the dtype's epsilon
    times it."""
    top = len(layers) - 1
    y_top = layers[-1].y
    # a loss of one's own may read targets wider than the outputs (a teacher's rows beside the
    # labels): each case's largest target stands for its units' t
    t_size = np.abs(t) if t.shape == y_top.shape else np.abs(t).max(axis=1, keepdims=True)
    below_y = (np.abs(y_top) + t_size) / loss.divisor(*y_top.shape)  # sizes of dE/dy
    # a loss that takes the logits (softmax cross-entropy) gives dE/dz as y - t, no slope
    unit_on_top = loss.output_activation is None
    if not formula_written(loss):  # a loss of one's own: its gradient may be larger than that
        own = layers[-1].dE_dy if unit_on_top else layers[-1].dE_dz
        below_y = np.maximum(below_y, np.abs(own))
    below = below_y * slope_sizes(layers[-1]) if unit_on_top else below_y  # dE/dz's
    # what their rounding is relative to: dE/dy's, and dE/dz's with the slopes' own
    cancelled_y = below_y
    slope_rounds = unit_on_top and layers[-1].activation in _ROUNDED_SLOPES
    largest = below_y * max_slope(layers[-1].activation) if unit_on_top else below_y
    cancelled_z = largest + 2 * below_y if slope_rounds else largest
    cancelled = {("dE_dy", top): float(cancelled_y.max()), ("dE_dz", top): float(cancelled_z.max())}
    rounded = {("dE_dy", top): abs(error), ("dE_dz", 0): 0.0}  # (the input layer has no z)
    from_here = abs(error)  # from the connection's z up
    if unit_on_top:  # the output's y = f(z) is rounded by eps |y| too, whatever f's slope
        from_here += float((below_y * np.abs(layers[-1].y)).sum())
    # each layer's z's terms, |b_j| + sum_i |y_i w_ij|, and how far (in the dtype's epsilon)
    # the model's arithmetic may have moved its y: z rounded relative to its terms, and the
    # layer below's y moved, times f's slope there (:func:`slope_sizes`: a saturated unit's y
    # does not move, for inputs of 1e300 too). Where the terms nearly cancel (a relu's z
    # of 1e-7 from terms of 1) a float32 y is off by its whole size, and y_i dE/dz_j with it
    # (right gradients failed), which the float64 difference does not share; a float64 model's
    # forward is the difference's own arithmetic, its rounding shared (``dtype``: the model's)
    sums, moved = {}, {0: np.zeros_like(layers[0].y)}  # by the layer's index (inputs: as given)
    own_forward = np.dtype(dtype) != np.float64
    for conn in connections:
        weight = np.abs(conn.weight)
        sums[conn.below + 1] = term_sums(layers[conn.below].y, conn)
        if not own_forward:
            moved[conn.below + 1] = np.zeros_like(sums[conn.below + 1])
            continue
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowed z: a slope of 0
            spread = sums[conn.below + 1] + moved[conn.below] @ weight
            move = slope_sizes(layers[conn.below + 1]) * spread
        moved[conn.below + 1] = np.where(np.isnan(move), np.inf, move)  # 0 * inf: unknown
    for conn in reversed(connections):
        y_below = np.abs(layers[conn.below].y)
        from_here += float((below * sums[conn.below + 1]).sum())
        y_size = y_below + moved[conn.below]
        cancelled["dE_dw", conn.below] = y_size.T @ cancelled_z  # each weight's own
        cancelled["dE_db", conn.below] = float(cancelled_z.sum(axis=0).max())
        below_y = below @ np.abs(conn.weight).T  # dE/dy of the layer below
        below = below_y * slope_sizes(layers[conn.below])  # and its dE/dz
        cancelled_y = cancelled_z @ np.abs(conn.weight).T
        cancelled_z = cancelled_y * max_slope(layers[conn.below].activation)
        if layers[conn.below].activation in _ROUNDED_SLOPES:
            cancelled_z = cancelled_z + 2 * below_y
        # moving w, b or y below moves this z, and the layers above rerun; moving z above
        # itself is rounded relative to this z too (z of 1.7e10 under a softmax)
        for key in ("dE_dy", conn.below), ("dE_dw", conn.below), ("dE_db", conn.below):
            rounded[key] = from_here
        rounded["dE_dz", conn.below + 1] = from_here
        for kind, size in (("dE_dy", cancelled_y), ("dE_dz", cancelled_z)):
            cancelled[kind, conn.below] = float(size.max()) if size.size else 0.0
    return cancelled, rounded


def term_sums(y_below: np.ndarray, conn: ConnectionRecord) -> np.ndarray:
    """The size of the terms each z of the layer above adds, |b_j| + sum_i |y_i w_ij| (cases,
    units): what its rounding is relative to, in :func:`term_sizes` and :func:`_rounding`."""
    summed = np.abs(y_below) @ np.abs(conn.weight)
    return summed + np.abs(conn.bias) if conn.bias is not None else summed


#: Units whose slope is computed from their rounded outputs (relu's and identity's are exact).
_ROUNDED_SLOPES = frozenset({"logistic", "tanh", "softmax"})


def slope_sizes(layer: LayerRecord) -> float | np.ndarray:
    """The size of each unit's slope |f'(z)| per case (cases, units), measured from the unit's
    function alone: the secant over z +- a thousandth of max(1, |z|), so no derivative rule the
    check is checking is read, and a relu near its kink counts as half on. Never above the
    function's largest (:func:`~chainrule.nn.activations.max_slope`), which stands for a unit
    whose slope is no one number per unit (softmax's Jacobian), for the input layer, and where
    z is not finite."""
    largest = max_slope(layer.activation)
    name = str(layer.activation).lower()
    if layer.z is None or name not in _SECANT_UNITS:
        return largest
    half = 1e-3 * np.maximum(1.0, np.abs(layer.z))
    with np.errstate(all="ignore"):
        rise = numeric.activate(name, layer.z + half) - numeric.activate(name, layer.z - half)
        secant = np.abs(rise) / (2 * half)
    return np.where(np.isfinite(secant), np.minimum(secant, largest), largest)


#: Units with one slope per unit (elementwise functions), which :func:`slope_sizes` measures.
_SECANT_UNITS = frozenset({"logistic", "sigmoid", "tanh", "relu", "identity", "linear"})


def _act(name: str, z: Tensor) -> Tensor:
    return ACTIVATIONS[name].op(z)


def _letter(from_top: int) -> str:
    return _LETTERS_FROM_TOP[from_top] if from_top < len(_LETTERS_FROM_TOP) else f"u{from_top}"


def _f64(tensor: Tensor) -> np.ndarray:
    return np.array(tensor.numpy(), dtype=np.float64)


def _finite_differences(derivation: Derivation, problem: Problem, eps: float, limit: int) -> None:
    """Central differences of E for every y, z, w and b (a deterministic sample past ``limit``)."""
    arrays = numeric.arrays_of(derivation)
    t, loss = derivation.loss_targets, derivation.loss
    sample = _Sampler(derivation, limit)
    steps = difference_steps(derivation.layers, derivation.connections, eps)
    forward = numeric.Forward(arrays, derivation.x, t, loss)
    errors: dict[Quantity, np.ndarray] = {}  # each difference's own error estimate
    for record in derivation.layers:
        k = record.index
        for values, is_z, kind in ((record.y, False, "dE_dy"), (record.z, True, "dE_dz")):
            if getattr(record, kind) is None:
                continue

            def moved(entries, deltas, k=k, values=values, is_z=is_z):
                out = np.empty(len(entries))
                for case in np.unique(entries[:, 0]):  # a case's rows move: only its rows above
                    mine = entries[:, 0] == case
                    units = entries[mine, 1]
                    rows = np.repeat(np.array(values[case], dtype=np.float64)[None], len(units), 0)
                    rows[np.arange(len(units)), units] += deltas[mine]
                    out[mine] = forward.with_rows(k, int(case), rows, is_z)
                return out

            numerics, errors[kind, k] = sample.moved(
                moved, values.shape, steps[kind, k], values=values
            )
            setattr(record, f"{kind}_numeric", numerics)
    for k, conn in enumerate(derivation.connections):
        z_above, y_below = forward.zs[k + 1], forward.ys[k]

        def e_w(entries, deltas, k=k, z_above=z_above, y_below=y_below):
            i, j = entries.T  # w_ij moves z_j of the layer above by its move * y_i, in each case
            moved = deltas[:, None] * y_below[:, i].T
            return forward.with_units(k + 1, j, z_above[:, j].T + moved)

        conn.dE_dw_numeric, errors["dE_dw", k] = sample.moved(
            e_w, conn.weight.shape, steps["dE_dw", k], where=conn.connected
        )
        if conn.bias is not None:

            def e_b(entries, deltas, k=k, z_above=z_above):
                (j,) = entries.T
                return forward.with_units(k + 1, j, z_above[:, j].T + deltas[:, None])

            conn.dE_db_numeric, errors["dE_db", k] = sample.moved(
                e_b, conn.bias.shape, steps["dE_db", k]
            )
    derivation.measured_difference_errors(errors)
    n = get_notation(derivation.notation)  # the notes' symbols: the derivation's notation's
    smaller = {key: step for key, step in steps.items() if np.min(step) < eps}
    if smaller:
        _note_check(derivation, _steps_note(smaller, eps, n))
    kinked, at_kinks, at_jumps, bound_only = _skip_kinks(derivation, eps)
    if kinked:
        reasons = []
        if at_kinks:
            z = n.bare("z").plain
            reasons.append(
                f"a relu unit's {z} is at (or within a step, or the model dtype's rounding of {z}, "
                "of) its kink, 0, where the engine takes relu'(0) = 0 and a central difference "
                "straddling the kink reads half the slope (or, across the rounding, the other "
                "side's)"
            )
        if at_jumps:
            reasons.append(
                "an output is at (or within a step of) its margin's edge, where the margin error "
                "measured from the target jumps to 0 and a central difference straddling the "
                "jump reads the jump over the step (a kink of E's, as the check counts it)"
            )
        bound = _bound_note(bound_only, derivation.dtype, n)
        _note_check(
            derivation,
            f"{kinked} gradients were not checked by finite differences: {'; and '.join(reasons)}. "
            f"{bound}Each is marked '{KINK_MARK}' where it is written out, and has \"kink\": "
            "true in the JSON output.",
        )
    if sample.skipped:
        _note_check(
            derivation,
            f"{sample.skipped} of {sample.total} gradients were not checked by finite differences "
            f"(a sample of about {limit} was; raise max_checks, explain's --max-checks, to "
            "check them all)",
        )


def _bound_note(bound_only: _BoundOnly | None, dtype: str, n: Notation) -> str:
    """The kink note's sentence on the checks left out only for the rounding of z's bound
    (:func:`_bound_only`), ending in a space; '' where none was: the rounding there is a
    worst-case bound that grows with depth (a 30-layer float64 relu network's reached 3.1 at
    a z of 0.55, and every dE/dw was left out as "at a kink", none within a step of one)."""
    if bound_only is None or not bound_only.count:
        return ""
    z = n.bare("z").plain
    return (
        f"The model dtype's rounding of {z} used there is a worst-case bound ({dtype}'s "
        f"rounding of each {z}'s own terms, plus every layer's below carried up through the "
        f"weights as if none of it cancelled), which grows with depth: {bound_only.count} of "
        f"these gradients were left unchecked for that bound alone, at relu units whose |{z}| "
        f"(up to {bound_only.z:.3g}) is beyond any step's move but within the bound (up to "
        f"{bound_only.bound:.3g}); leaving them out casts no doubt on the engine's values. "
    )


def _note_check(derivation: Derivation, note: str) -> None:
    """Add a note about the finite-difference check (to ``notes`` and to ``check_notes``)."""
    derivation.notes.append(note)
    derivation.check_notes.append(note)


def _steps_note(smaller: dict[Quantity, float | np.ndarray], eps: float, n: Notation) -> str:
    """Which quantities' differences took a step below ``eps``, and why, in notation ``n`` (a
    connection's weights: the smallest row's step, or the range over the rows where it
    differs)."""
    y, z, E = n.bare("y").plain, n.bare("z").plain, n.E().plain
    named = {"dE_dw": "the weights out of layer {}", "dE_dy": f"the {y}'s of layer {{}}"}
    parts = [f"{named[kind].format(layer)}: {_step_range(step)}"
             for (kind, layer), step in smaller.items()]  # fmt: skip
    return (
        f"Finite-difference steps below eps ({eps:g}) for {', '.join(parts)}. A weight's step is "
        f"eps over the largest |{y}| it multiplies, each {y}'s eps over the largest |w| it is "
        f"multiplied by, so that no step moves any {z} by more than eps (a wider step reads a "
        f"curved {E}'s slope wrong)."
    )


def _step_range(step: float | np.ndarray) -> str:
    """A quantity's step as the note gives it: '1.92e-11', or '1.92e-11 to 1e-06 by row'."""
    low, high = float(np.min(step)), float(np.max(step))
    return f"{low:.3g}" if high <= 1.0000001 * low else f"{low:.3g} to {high:.3g} by row"


def _skip_kinks(derivation: Derivation, eps: float) -> tuple[int, bool, bool, _BoundOnly | None]:
    """Leave unchecked (NaN) every finite difference that may straddle the kink of a relu unit:
    one whose z is within a step of 0 (the most a step of ``eps`` in any one of its inputs,
    weights or bias, or in z itself, moves z, plus the dtype's rounding of z: :func:`_kinks`).
    Such a difference reads half relu's slope, not the engine's relu'(0) = 0, so it is no
    check of the gradient. Moving a layer-k quantity of a
    case moves the z of the layers above it in that case; moving a weight or bias moves them in
    every case (into the highest layer with a kink, its own unit's z there and the layers
    above, which have none). Returns how many checks were dropped, whether for relu kinks
    and for the margin's jumps (the note's reasons), and how many of them were dropped only
    for the rounding of z's bound (:func:`_bound_only`; None where none was)."""
    rounding = _rounding(derivation)  # once: the kinks and the jumps both read it
    top_kink, unit_kinks = _kinks(derivation, eps, rounding)
    jumps = _margin_jumps(derivation, eps, rounding)
    at_kinks, at_jumps = bool(unit_kinks), jumps is not None
    bound_only = None
    if at_kinks:  # (before the jumps are taken in)
        bound_only = _bound_only(derivation, eps, rounding[0], top_kink, unit_kinks, jumps)
    top_kink = _with_jumps(derivation, top_kink, unit_kinks, jumps)
    if not unit_kinks:
        return 0, at_kinks, at_jumps, None
    dropped = 0
    for holder, kind, mask in _kink_masks(derivation, top_kink, unit_kinks, jumps):
        numerics = getattr(holder, f"{kind}_numeric")
        hit = None
        if numerics is not None:  # NaN where ``mask`` (and a difference was taken)
            hit = mask & ~np.isnan(numerics)
            dropped += int(hit.sum())
            numerics[hit] = np.nan
        setattr(holder, f"{kind}_kink", hit)
    return dropped, at_kinks, at_jumps, bound_only


def _with_jumps(
    derivation: Derivation,
    top_kink: np.ndarray,
    unit_kinks: dict[int, np.ndarray],
    jumps: np.ndarray | None,
) -> np.ndarray:
    """A margin error's jumps at the output units (:func:`_margin_jumps`) taken in as kinks,
    its y, z and all below (``unit_kinks`` is added to in place); the new ``top_kink``."""
    if jumps is None:
        return top_kink
    top = derivation.n_layers
    unit_kinks[top] = unit_kinks.get(top, np.zeros(jumps.shape, dtype=bool)) | jumps
    return np.where(jumps.any(axis=1), top, top_kink)


def _kink_masks(
    derivation: Derivation,
    top_kink: np.ndarray,
    unit_kinks: dict[int, np.ndarray],
    jumps: np.ndarray | None,
) -> Iterator[tuple[LayerRecord | ConnectionRecord, str, np.ndarray]]:
    """(record, quantity kind, mask) for every check the kinks (:func:`_kinks`, the jumps
    taken in: :func:`_with_jumps`) may leave unchecked, as :func:`_skip_kinks` drops them."""
    for record in derivation.layers:
        k = record.index
        affected = (top_kink > k)[:, None]  # a kink above layer k in this case
        own_y = jumps if jumps is not None and k == derivation.n_layers else False
        yield record, "dE_dy", np.broadcast_to(affected | own_y, record.y.shape)
        if record.z is not None:
            own = unit_kinks.get(k, np.zeros(record.z.shape, dtype=bool))
            yield record, "dE_dz", affected | own
    highest = int(top_kink.max())
    for conn in derivation.connections:
        if conn.above > highest:  # its weights move no z below a layer with a unit at a kink
            continue
        # into a lower layer a weight moves every z above it; into the highest layer with a
        # kink, only its own unit j's z (no layer above has a kink): there only the columns of
        # the units at a kink are left unchecked, where relu's are (a margin's jump reads the
        # outputs together: every column then)
        at = np.ones(conn.weight.shape[1], dtype=bool)
        if conn.above == highest and (jumps is None or highest < derivation.n_layers):
            at = unit_kinks[highest].any(axis=0)
        yield conn, "dE_dw", np.broadcast_to(at, conn.weight.shape)
        if conn.bias is not None:
            yield conn, "dE_db", at.copy()


class _BoundOnly(NamedTuple):
    """The checks a relu unit left unchecked only for the dtype's rounding of z (a worst-case
    bound: :func:`_rounding`), its |z| beyond any step's move: how many (``count``), the
    largest such unit's |z| and the largest bound that reached one (``bound``)."""

    count: int
    z: float
    bound: float


def _bound_only(
    derivation: Derivation,
    eps: float,
    z_rounding: list[np.ndarray],
    top_kink: np.ndarray,
    unit_kinks: dict[int, np.ndarray],
    jumps: np.ndarray | None,
) -> _BoundOnly | None:
    """Of the checks the relu kinks (``top_kink``, ``unit_kinks``: :func:`_kinks` with the
    rounding of z, ``z_rounding``, before a margin's jumps are taken in) leave out, how many
    only for the rounding: those the kinks within a step's move alone (:func:`_kinks`
    without it) would have left checked, counted on the finite differences before any is
    dropped, with the largest |z| of a unit the rounding alone reached and the largest bound
    there. Which are dropped is :func:`_skip_kinks`' alone; this only counts, for the kink
    note. None where the rounding reaches no unit the step does not."""
    near_top, near = _kinks(derivation, eps, ([0.0] * len(derivation.layers), []))
    only = {k: mask & ~near[k] if k in near else mask for k, mask in unit_kinks.items()}
    only = {k: mask for k, mask in only.items() if mask.any()}
    if not only:
        return None
    full = dict(unit_kinks)
    full_top = _with_jumps(derivation, top_kink, full, jumps)
    near_top = _with_jumps(derivation, near_top, near, jumps)

    def unchecked(top_kink: np.ndarray, kinks: dict[int, np.ndarray]) -> int:
        if not kinks:
            return 0
        count = 0
        for holder, kind, mask in _kink_masks(derivation, top_kink, kinks, jumps):
            numerics = getattr(holder, f"{kind}_numeric")
            if numerics is not None:
                count += int((mask & ~np.isnan(numerics)).sum())
        return count

    count = unchecked(full_top, full) - unchecked(near_top, near)
    z = max(float(np.abs(derivation.layers[k].z[mask]).max()) for k, mask in only.items())
    bound = max(float(z_rounding[k][mask].max()) for k, mask in only.items())
    return _BoundOnly(count, z, bound)


def _kinks(
    derivation: Derivation, eps: float, rounding: tuple[list, list] | None = None
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The relu units at (or within a step of ``eps``, plus the dtype's rounding of z
    (:func:`_rounding`), of) their kink, z = 0: per case the highest layer with one (-1: none),
    and per such layer a mask of its units (cases, units). A unit whose engine z and float64 z
    may lie on either side of 0 is no check either: the difference reads the other side. A z
    that is not finite is at no kink (its rounding, inf, reached it: z = inf was one).
    ``rounding``: :func:`_rounding`'s, where the caller has it."""
    layers, connections = derivation.layers, derivation.connections
    top_kink = np.full(derivation.n_cases, -1)
    unit_kinks: dict[int, np.ndarray] = {}
    z_rounding, _ = rounding or _rounding(derivation)
    for record in layers[1:]:
        if record.activation != "relu":
            continue
        reach = _reach(layers[record.index - 1].y, connections[record.index - 1].weight, eps)
        # a z of +-inf (an input that overflowed) is no kink, however wide its rounding: the
        # kink is at 0 alone (its check then says why it gives no verdict: no_verdict_reason)
        with np.errstate(invalid="ignore"):
            at_kink = np.isfinite(record.z) & (np.abs(record.z) <= reach + z_rounding[record.index])
        if at_kink.any():
            unit_kinks[record.index] = at_kink
            top_kink = np.where(at_kink.any(axis=1), record.index, top_kink)
    return top_kink, unit_kinks


def _reach(below: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """How far a step can move each z of a layer (cases, units), to first order: its own step
    or its bias's (eps), a weight's (its step times the y it multiplies: eps over its row's
    largest |y_i|, times |y_i|), and a y below moved by its step or by a step further down (at
    most eps each, times |w|). See :func:`difference_steps`."""
    y = np.abs(below)
    return eps * (1.0 + (y / _row_scale(below)).sum(axis=1)[:, None] + np.abs(weight).sum(axis=0))


def _rounding(derivation: Derivation) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """How far the engine's z and y of each layer (cases, units; index 0, the input layer, has
    no z: zeros) may be from the float64 forward pass the differences rerun, through the
    model dtype's own rounding: the inputs' cast to the dtype (exactly), each z's sum
    rounded relative to the terms it adds, machine epsilon times sqrt(n + 1) times
    |b_j| + sum_i |y_i w_ij| for n inputs (a sum rounded term after term errs about as a
    random walk; measured at most 0.85 of that), twice that, plus what the rounding below
    carries up (times |w|, then times the unit's largest slope, plus a rounded unit's own
    rounding of y). A float32 unit of 784 raw inputs up to 1000 had z = +0.0012 in the engine
    (on) and -3.7e-5 in float64 (off): its right dE/db of 1.25 was failed against a difference
    of 0, a relu kink the step alone did not reach. It is a worst-case bound, as if no
    rounding cancelled, and grows with depth (times sum |w| a layer): a 30-layer float64 relu
    network's reached 3.1 beside a z of 0.55, and every weight was left out as at a kink; the
    kink note says how many were left out for it alone (:func:`_bound_only`)."""
    machine = float(np.finfo(np.dtype(derivation.dtype)).eps)
    layers, connections = derivation.layers, derivation.connections
    # the cast of the inputs, exactly: 0 where x is already the dtype's (as explain makes it)
    y_off = np.abs(layers[0].y - derivation.x)
    z_off = [np.zeros_like(y_off)]
    y_offs = [y_off]
    for conn in connections:
        weight = np.abs(conn.weight)
        terms = term_sums(layers[conn.below].y, conn)
        n = conn.weight.shape[0] + (conn.bias is not None)
        above = layers[conn.above]
        z = 2 * machine * np.sqrt(n) * terms + y_off @ weight
        y_off = max_slope(above.activation) * z
        if above.activation in _ROUNDED_SLOPES:
            y_off = y_off + machine * np.abs(above.y)
        z_off.append(z)
        y_offs.append(y_off)
    return z_off, y_offs


def _margin_jumps(
    derivation: Derivation, eps: float, rounding: tuple[list, list] | None = None
) -> np.ndarray | None:
    """The output units within a step of ``eps`` of their margin's edge under the margin error
    measured from the target (cases, units), or None: E jumps there (from (edge - t)^2 / 2 to
    0), and a central difference straddling the jump reads about 1/eps, not the gradient. A
    step moves y no more than it moves z (no unit's slope is above 1). ``rounding`` as for
    :func:`_kinks`."""
    loss = derivation.loss
    if loss.name != margin.NAME or loss.measured_from != "target":
        return None
    top, conn = derivation.layers[-1], derivation.connections[-1]
    y_rounding = (rounding or _rounding(derivation))[1]
    reach = _reach(derivation.layers[-2].y, conn.weight, eps) + y_rounding[-1]
    edge = np.where(derivation.t > 0.5, loss.on, loss.off)
    at_edge = np.abs(top.y - edge) <= reach
    return at_edge if at_edge.any() else None


def dE_dy_straddles_kink(derivation: Derivation, layer: int, case: int, eps: float) -> bool:
    """Whether a central difference of dE/dy in ``layer`` (``case``, step ``eps``) may straddle
    a relu unit's kink above it, so that it reads half relu's slope where the engine takes
    relu'(0) = 0: no check of the gradient (the derivation's checks leave it out, as
    :func:`_skip_kinks` does)."""
    top_kink, _ = _kinks(derivation, eps)
    return bool(top_kink[case] > layer)


class _Sampler:
    """Checks every entry, or a fixed random share of them when there are more than ``limit``."""

    def __init__(self, derivation: Derivation, limit: int) -> None:
        sizes = [r.y.size for r in derivation.layers if r.dE_dy is not None]
        sizes += [r.z.size for r in derivation.layers if r.dE_dz is not None]
        sizes += [c.n_weights + (0 if c.bias is None else c.bias.size)
                  for c in derivation.connections]  # fmt: skip
        self.total = int(sum(sizes))
        self.share = 1.0 if self.total <= limit else limit / self.total
        self.rng = np.random.default_rng(0)
        self.skipped = 0
        # the entries moved together, each four times (+-step, +-2 step): their arrays (moves,
        # cases) stay within one batch's numbers, as numeric.Forward bounds its own (every
        # weight of 100 cases took 157 MB)
        self.chunk = max(1, numeric.BATCH_NUMBERS // (4 * max(derivation.n_cases, 1)))

    def moved(
        self,
        moved,
        shape: tuple[int, ...],
        step: float,
        where: np.ndarray | None = None,
        values: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Central differences where ``moved(entries, deltas)`` is E with each of the entries
        (rows of indices) moved by its own of ``deltas`` alone, one E per entry (a y, z, weight
        or bias, whose moves :class:`numeric.Forward` applies as one batch; an entry may come
        several times, each with its own delta), ``step`` one float or an array that
        broadcasts to ``shape`` (a weight's, by row), at the entries ``where``
        says exist (all: None; a Parallel layer has no weight between its blocks). The others
        stay NaN, as entries a sample leaves out.

        Returns (the differences, each one's error estimate, :func:`difference_error`, with
        ``values`` the moved numbers themselves where the move is added to them, a y or a z,
        whose step's own rounding it counts)."""
        out = np.full(shape, np.nan)
        error = np.full(shape, np.nan)
        entries = np.argwhere(self._taken(shape, where))  # in row-major order, as drawn
        per_entry = np.ndim(step) > 0  # a weight's: its row's step, broadcast to the weights
        steps = np.broadcast_to(step, shape) if per_entry else step
        for start in range(0, len(entries), self.chunk):
            chunk = entries[start : start + self.chunk]
            own = steps[tuple(chunk.T)] if per_entry else np.full(len(chunk), float(step))
            # the four moves of every entry as one batch: one call's overhead, not four
            deltas = np.concatenate([own, -own, 2 * own, -2 * own])
            moves = moved(np.tile(chunk, (4, 1)), deltas).reshape(4, -1)
            base = None if values is None else values[tuple(chunk.T)]
            narrow, estimate = difference_error(moves, own, base)
            out[tuple(chunk.T)] = narrow
            error[tuple(chunk.T)] = estimate
        return out, error

    def _taken(self, shape: tuple[int, ...], where: np.ndarray | None) -> np.ndarray:
        """The entries to check: those ``where`` says exist, or a random share of them."""
        taken = np.ones(shape, dtype=bool) if where is None else where.copy()
        if self.share < 1.0:  # drawn at once: one draw per entry of a large layer was slow
            existing = int(taken.sum())
            taken &= self.rng.random(shape) <= self.share
            self.skipped += existing - int(taken.sum())
        return taken


def difference_error(
    moves: np.ndarray, step: np.ndarray, values: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Central differences and each one's error estimate, from ``moves``: the E's at +step,
    -step, +2 step and -2 step (4, entries), the entries' ``step`` (entries) and, where the
    step is added to the number moved (a y or a z), those ``values`` (entries).

    The estimate is the difference over twice the step minus the difference over the step,
    |fd(2h) - fd(h)| (Richardson: a central difference's truncation error grows as h^2, so
    this is about three times fd(h)'s own), plus the rounding of the E's each difference
    subtracts over its step (:func:`chainrule.gradcheck.difference_rounding`, gradcheck's
    rule, for the E's at the moved points: a step that swamps a y of 5e-30 makes E 5e-13
    there, whose rounding is 2e-22 in the difference though E itself is 1e-59), plus the
    rounding of the step itself: the step taken is fl(v + h) - fl(v - h), not 2h, and the
    difference is off by that share of itself. Where the step is swallowed (v + h rounds to
    v: a y of 2e12 and a step of 1e-6) or the wider difference is not a number (E overflowed
    two steps away), the estimate is inf: the difference resolves nothing, and the check
    gives no verdict (fd(h) = fd(2h) = 0 there made the estimate 0, and a right gradient a
    MISMATCH)."""
    plus, minus, plus2, minus2 = moves
    narrow = (plus - minus) / (2 * step)
    wide = (plus2 - minus2) / (4 * step)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: no estimate, inf below
        estimate = np.abs(wide - narrow)
        for (high, low), h in (((plus, minus), step), ((plus2, minus2), 2 * step)):
            size = np.fmax(np.abs(high), np.abs(low))
            estimate = estimate + difference_rounding(size, h)
        if values is not None:
            values = np.asarray(values, dtype=np.float64)
            for h, fd in ((step, narrow), (2 * step, wide)):
                taken = (values + h) - (values - h)
                share = np.abs(taken - 2 * h) / (2 * h)
                estimate = estimate + np.where(taken == 0, np.inf, share * np.abs(fd))
    estimate = np.where(np.isnan(estimate) & ~np.isnan(narrow), np.inf, estimate)
    return narrow, estimate


def dE_dy_difference(
    derivation: Derivation, layer: int, unit: int, step: float, case: int = 0
) -> tuple[float, float]:
    """One y's central difference, as the checks take theirs (the float64 forward pass, y_i
    of ``case`` moved by +-``step`` and +-2 ``step``), and its error estimate
    (:func:`difference_error`): what the page's single dE/dy check (/api/paths) reads, so that
    it gives the verdict the explainer's checks give."""
    forward = numeric.Forward(
        numeric.arrays_of(derivation), derivation.x, derivation.loss_targets, derivation.loss
    )
    value = float(derivation.layers[layer].y[case, unit])
    rows = np.repeat(np.array(derivation.layers[layer].y[case], dtype=np.float64)[None], 4, 0)
    rows[:, unit] += np.array([step, -step, 2 * step, -2 * step])
    moves = forward.with_rows(layer, case, rows).reshape(4, 1)
    narrow, estimate = difference_error(moves, np.array([step]), np.array([value]))
    return float(narrow[0]), float(estimate[0])


def _focus(derivation: Derivation, unit: Any) -> tuple[int, int]:
    """(layer, 0-based unit) from ``"L:i"`` or ``(L, i)`` (i from 1); default: 1 below the top."""
    if unit is None:
        return (max(derivation.n_layers - 1, 0), 0)
    if isinstance(unit, str):
        try:
            layer_text, unit_text = unit.split(":")
            layer, number = int(layer_text), int(unit_text)
        except ValueError:
            raise ExplainError(
                f"--unit {unit!r}: write LAYER:UNIT, e.g. 1:2 for unit 2 of layer 1 "
                "(layer 0 is the input layer, units count from 1)"
            ) from None
    elif isinstance(unit, (tuple, list)) and len(unit) == 2:
        layer, number = unit
    else:
        raise ExplainError(
            f"unit {unit!r}: give (LAYER, UNIT) or 'LAYER:UNIT', e.g. (1, 2) for unit 2 of layer 1"
        )
    if not (is_integer(layer) and is_integer(number)):
        raise ExplainError(
            f"unit {unit!r}: the layer and the unit must be whole numbers, e.g. (1, 2) for unit 2 "
            "of layer 1 (layer 0 is the input layer, units count from 1)"
        )
    derivation._check_unit(int(layer), int(number) - 1)
    return (int(layer), int(number) - 1)
