"""The engine itself: deep graphs, memory, graph release, .grad accumulation, modes and errors."""

from __future__ import annotations

import gc
import re
import threading
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.registry import Primitive

THIS_FILE = __file__


def _line_of(marker: str) -> int:
    """The line number in this file of the line holding ``marker`` (for file:line checks)."""
    with open(THIS_FILE) as source:
        for number, line in enumerate(source, start=1):
            if marker in line and "_line_of" not in line:
                return number
    raise AssertionError(f"marker {marker!r} not found")


# ---------------------------------------------------------------------------------------------
# Deep graphs: iterative, no recursion
# ---------------------------------------------------------------------------------------------


def _chain_gradient(n: int) -> tuple[float, float]:
    """d/dx of x * c * c * ... (n multiplications) is c**n; also through alternating adds."""
    c = 1.0 + 1e-6
    x = cr.tensor(0.5, requires_grad=True)
    y = x
    for i in range(n):
        y = y * c if i % 2 == 0 else y + 0.25
    y.backward()
    return x.grad.item(), c ** ((n + 1) // 2)


def test_a_chain_of_100_000_ops_differentiates_without_recursion() -> None:
    got, expected = _chain_gradient(100_000)
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.slow
def test_a_chain_of_1_000_000_ops_differentiates() -> None:
    got, expected = _chain_gradient(1_000_000)
    assert got == pytest.approx(expected, rel=1e-8)


def test_a_wide_and_deep_graph_with_fan_out_at_every_level() -> None:
    # Each level uses the previous one twice: y_{k+1} = y_k * y_k / y_k + y_k = 2 y_k (value),
    # d y_{k+1} / d y_k = 2, so after 2,000 levels d/dx = 2**2000 / 2**2000 * ... scaled below.
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(2_000):
        y = (y * y / y + y) * 0.5
    y.backward()
    assert x.grad.item() == pytest.approx(1.0, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Memory and graph release
# ---------------------------------------------------------------------------------------------


def _graph_with_watched_intermediate(retain_graph: bool):
    x = cr.tensor(np.linspace(-1.0, 1.0, 1000), requires_grad=True)
    hidden = cr.sigmoid(x * 3.0)
    watch_tensor, watch_array = weakref.ref(hidden), weakref.ref(hidden.data)
    out = (hidden * hidden).sum()
    del hidden
    gc.collect()
    assert watch_tensor() is not None, "the graph must hold the intermediate until backward"
    out.backward(retain_graph=retain_graph)
    return x, out, watch_tensor, watch_array


def test_backward_releases_intermediate_tensors_and_arrays() -> None:
    x, out, watch_tensor, watch_array = _graph_with_watched_intermediate(retain_graph=False)
    gc.collect()
    assert watch_tensor() is None and watch_array() is None
    assert out.node.released and out.node.op == "sum"  # the label outlives the values
    del out
    assert x.grad is not None


def test_retain_graph_keeps_the_intermediate_until_the_output_goes() -> None:
    _, out, watch_tensor, watch_array = _graph_with_watched_intermediate(retain_graph=True)
    gc.collect()
    assert watch_tensor() is not None
    del out
    gc.collect()
    assert watch_tensor() is None and watch_array() is None


def test_backward_twice_without_retain_graph_raises_a_clear_error() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    out = cr.exp(x).sum()
    out.backward()
    with pytest.raises(cr.GraphFreedError, match=r"freed by an earlier backward.*retain_graph"):
        out.backward()
    assert isinstance(cr.GraphFreedError("x"), RuntimeError)


def test_backward_twice_with_retain_graph_adds_the_gradient_twice() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    out = cr.exp(x).sum()
    out.backward(retain_graph=True)
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]))


def test_a_shared_subgraph_is_freed_for_the_second_output_too() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = cr.exp(x)
    h.sum().backward()
    with pytest.raises(cr.GraphFreedError, match="exp"):
        (h * 2).sum().backward()


# ---------------------------------------------------------------------------------------------
# .grad accumulation, no_grad, detach
# ---------------------------------------------------------------------------------------------


def test_grad_accumulates_across_backward_calls_and_zero_grad_clears_it() -> None:
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0])
    (3.0 * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, -1.0])
    x.zero_grad()
    assert x.grad is None
    (3.0 * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    w = cr.tensor([1.0], requires_grad=True)
    (x.sum() * w).sum().backward()
    cr.zero_grad(x, w)
    assert x.grad is None and w.grad is None


def test_only_leaves_that_require_grad_receive_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    constant = cr.tensor([3.0, 4.0])
    hidden = x * constant
    hidden.sum().backward()
    assert constant.grad is None
    with pytest.warns(UserWarning, match="not a leaf"):  # a non-leaf's: None, said as PyTorch
        assert hidden.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_backward_with_an_explicit_cotangent() -> None:
    x = cr.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    (x * x).backward(gradient=np.array([[1.0, 0.5, -1.0]]))
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 2.0, -6.0]])


def test_an_explicit_cotangent_takes_the_dtype_of_the_output() -> None:
    """A leaf's own cotangent becomes its .grad, which has the leaf's dtype."""
    leaf = cr.tensor([1.5, 2.5], requires_grad=True)
    leaf.backward(gradient=cr.tensor([1, 2]))
    assert leaf.grad.dtype == np.float64
    np.testing.assert_array_equal(leaf.grad.numpy(), [1.0, 2.0])
    leaf32 = cr.tensor([1.5, 2.5], dtype="float32", requires_grad=True)
    leaf32.backward(gradient=cr.tensor([1.0, 1.0]))
    assert leaf32.grad.dtype == np.float32


def test_no_grad_records_nothing() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = cr.sigmoid(x) * 2
        with cr.enable_grad():
            z = x * 2
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.node is None and y.is_leaf
    assert z.requires_grad and z.node.op == "mul"
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        y.sum().backward()


def test_no_grad_on_one_thread_leaves_another_recording() -> None:
    # apply reads a global count of threads with recording off before the per-thread switch:
    # the count must follow every switch, through exceptions and backward, and stay per thread
    from chainrule import engine

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    inside, release, seen = threading.Event(), threading.Event(), []

    def without_grad() -> None:
        with cr.no_grad():
            seen.append((x * 2).requires_grad)
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=without_grad)
    worker.start()
    assert inside.wait(10)
    assert engine._threads_not_recording == 1
    assert (x * 2).requires_grad  # this thread still records
    with cr.no_grad():
        assert not (x * 2).requires_grad
    release.set()
    worker.join(10)
    with pytest.raises(KeyError), cr.no_grad():
        raise KeyError("leaves the block by an exception")
    (x * x).sum().backward()  # backward turns recording off and on again for its rules
    assert seen == [False] and engine._threads_not_recording == 0
    assert (x * 2).requires_grad and cr.is_grad_enabled()


def test_detach_shares_values_and_blocks_the_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    d = h.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.data, h.data)
    (h * d).sum().backward()  # d is a constant: d/dx = 3 * d, not 2 * 9x
    np.testing.assert_array_equal(x.grad.numpy(), 3.0 * d.numpy())


# ---------------------------------------------------------------------------------------------
# detect_anomaly
# ---------------------------------------------------------------------------------------------


def test_detect_anomaly_names_the_op_and_the_users_line_for_a_forward_inf() -> None:
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with (
        cr.detect_anomaly(),
        np.errstate(divide="ignore"),
        pytest.raises(cr.AnomalyError) as caught,
    ):
        cr.log(x)  # anomaly: forward log
    message = str(caught.value)
    assert message.startswith("log: forward produced Inf")
    assert f"test_engine.py:{_line_of('# anomaly: forward log')}" in message


def test_detect_anomaly_catches_a_nan_forward() -> None:
    x = cr.tensor([-1.0, 1.0], requires_grad=True)
    with (
        cr.detect_anomaly(),
        np.errstate(invalid="ignore"),
        pytest.raises(cr.AnomalyError, match=r"^sqrt: forward produced NaN"),
    ):
        cr.sqrt(x)


def test_detect_anomaly_names_the_op_whose_backward_made_the_inf() -> None:
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with cr.detect_anomaly():
        root = cr.sqrt(x)  # anomaly: backward sqrt
        out = (root * 2.0).sum()
        with np.errstate(divide="ignore"), pytest.raises(cr.AnomalyError) as caught:
            out.backward()
    message = str(caught.value)
    assert message.startswith("sqrt: backward produced Inf"), message
    assert f"test_engine.py:{_line_of('# anomaly: backward sqrt')}" in message


def test_without_detect_anomaly_no_error_and_no_stack_walk() -> None:
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        root = cr.sqrt(x)
        root.sum().backward()
    assert root.node.origin is None
    assert np.isinf(x.grad.numpy()[0])


# ---------------------------------------------------------------------------------------------
# Errors name the op and the operands
# ---------------------------------------------------------------------------------------------


def test_matmul_shape_error_message() -> None:
    a, b = cr.zeros(3, 4), cr.zeros(5, 2)
    with pytest.raises(cr.ShapeError) as caught:
        a @ b
    assert str(caught.value) == "matmul: shapes (3, 4) and (5, 2) do not align (4 != 5)"
    assert isinstance(caught.value, ValueError)
    with pytest.raises(cr.ShapeError, match=r"matmul: shapes \(3,\) and \(\)"):
        cr.matmul(cr.zeros(3), cr.tensor(2.0))


def test_backward_of_a_non_scalar_needs_a_gradient() -> None:
    x = cr.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError) as caught:
        (x * 2).backward()
    assert str(caught.value) == (
        "backward: output has shape (2, 3); pass gradient= or reduce it to a scalar first"
    )
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape"):
        (x * 2).backward(gradient=np.ones(3))


@pytest.mark.parametrize(
    ("op", "call"),
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("maximum", cr.maximum),
        ("where", lambda a, b: cr.where(np.ones((3, 4), bool), a, b)),
    ],
)
def test_broadcasting_errors_name_the_op_and_both_shapes(op, call) -> None:
    a = cr.zeros(3, 4, requires_grad=True)
    b = cr.zeros(5)
    with pytest.raises(cr.ShapeError) as caught:
        call(a, b)
    message = str(caught.value)
    assert message.startswith(f"{op}: shapes (3, 4)") and "(5,)" in message, message


def test_other_shape_errors_name_the_op() -> None:
    x = cr.zeros(3, 4)
    cases = [
        (lambda: x.reshape(5, 2), r"^reshape: shapes \(3, 4\)"),
        (lambda: cr.broadcast_to(x, (2, 5)), r"^broadcast_to: shapes \(3, 4\)"),
        (lambda: x.sum(axis=2), r"^sum: axis 2 is out of range for a tensor with 2 dimensions"),
        (lambda: x.squeeze(0), r"^squeeze: axis 0 of shape \(3, 4\) has length 3, not 1"),
        (lambda: cr.concatenate([x, cr.zeros(3, 5)]), r"^concatenate: shapes \(3, 4\) and"),
        (lambda: cr.stack([x, cr.zeros(4, 3)]), r"^stack: all tensors need one shape"),
        (lambda: cr.split(x, 3, axis=1), r"^split: axis 1 of length 4 does not divide into 3"),
        (lambda: x.transpose(0, 0), r"^transpose: axes \(0, 0\) are not a permutation"),
    ]
    for call, pattern in cases:
        with pytest.raises(cr.ShapeError, match=pattern):
            call()


def test_a_refusal_that_is_not_about_shapes_is_not_called_a_shape_error() -> None:
    # NumPy refuses an integer to a negative power with a ValueError; it was reported as
    # "power_scalar: shapes (3,) ...", sending the user to look at shapes
    with pytest.raises(ValueError) as caught:
        cr.tensor([1, 2, 3]) ** -1
    assert not isinstance(caught.value, cr.ShapeError)
    assert str(caught.value).startswith("power_scalar: inputs int64 (3,) (exponent=-1): Integers")


def test_requires_grad_on_an_integer_tensor_is_refused() -> None:
    with pytest.raises(TypeError, match=r"only real floating-point tensors .* not int64"):
        cr.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="not bool"):
        cr.tensor([True]).requires_grad_()


def test_getitem_out_of_range_names_the_index_and_shape() -> None:
    x = cr.zeros(3, 4, requires_grad=True)
    with pytest.raises(IndexError, match=r"^getitem: index 5 does not fit shape \(3, 4\)"):
        x[5]
    with pytest.raises(IndexError, match=r"^getitem: .* does not fit shape \(3, 4\)"):
        x[:, [0, 4]]


def test_item_and_truth_of_a_multi_element_tensor_are_refused() -> None:
    x = cr.zeros(2, 3)
    with pytest.raises(ValueError, match=r"item: only a one-element tensor .* \(2, 3\)"):
        x.item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    with pytest.raises(TypeError, match="immutable"):
        x[0] = 1.0


# ---------------------------------------------------------------------------------------------
# The recorded graph: op names and input shapes, the registry
# ---------------------------------------------------------------------------------------------


def test_every_recorded_node_carries_its_op_and_input_shapes() -> None:
    y = cr.tensor([[0.2, 0.7]], requires_grad=True)
    W = cr.tensor([[0.1, -0.4, 0.3], [0.5, 0.2, -0.6]], requires_grad=True)
    b = cr.zeros(3, requires_grad=True)
    z = y @ W + b
    out = cr.sigmoid(z)
    E = 0.5 * ((1.0 - out) ** 2).sum()
    assert z.node.op == "add" and z.node.input_shapes == ((1, 3), (3,))
    matmul_node = z.node.inputs[0].node
    assert matmul_node.op == "matmul" and matmul_node.input_shapes == ((1, 2), (2, 3))
    assert out.op == "sigmoid" and out.node.input_shapes == ((1, 3),)
    assert E.op == "mul" and E.node.inputs[1].op == "sum"
    assert repr(matmul_node) == "<Node matmul((1, 2), (2, 3))>"
    ops = _ops_in_graph(E)
    assert ops == {"mul", "sum", "power_scalar", "sub", "sigmoid", "add", "matmul"}
    E.backward()
    # the op's name outlives backward; its inputs, and so their shapes, are released
    assert z.node.released and z.node.input_shapes is None and z.op == "add"
    assert repr(z.node) == "<Node add (released)>"


def _ops_in_graph(root: cr.Tensor) -> set[str]:
    seen, stack, ops = set(), [root], set()
    while stack:
        t = stack.pop()
        if id(t) in seen or t.node is None:
            continue
        seen.add(id(t))
        ops.add(t.node.op)
        stack.extend(t.node.inputs)
    return ops


def test_the_registry_lists_the_primitives_with_their_rules() -> None:
    expected = {
        "add", "sub", "mul", "div", "neg", "power", "power_scalar", "exp", "log", "sqrt", "abs",
        "maximum", "minimum", "where", "clip", "astype", "sigmoid", "tanh", "relu", "softplus",
        "logsumexp", "log_softmax", "softmax", "sum", "max", "min", "matmul", "reshape",
        "transpose", "broadcast_to", "sum_to", "getitem", "scatter_add", "concatenate",
    }  # fmt: skip
    assert expected <= set(cr.REGISTRY)
    for name, prim in cr.REGISTRY.items():
        assert isinstance(prim, Primitive) and prim.name == name
        assert callable(prim.forward) and prim.vjp[0] is not None
    assert len(cr.REGISTRY["matmul"].vjp) == 2 and len(cr.REGISTRY["exp"].vjp) == 1
    assert cr.sigmoid(cr.tensor([0.0], requires_grad=True)).op == "sigmoid"
    assert cr.logistic is cr.sigmoid


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="'exp' is already registered"):
        cr.ops.primitive("exp", np.exp, lambda g, out, x: g * out)


# ---------------------------------------------------------------------------------------------
# Higher order through create_graph
# ---------------------------------------------------------------------------------------------


def test_create_graph_second_derivative_of_the_logistic_matches_its_closed_form() -> None:
    z0 = np.array([-3.0, -0.5, 0.0, 0.7, 2.5])
    z = cr.tensor(z0, requires_grad=True)
    y = cr.sigmoid(z)
    y.sum().backward(create_graph=True)
    first = z.grad
    s = 1 / (1 + np.exp(-z0))
    np.testing.assert_allclose(first.numpy(), s * (1 - s), rtol=1e-12)
    assert first.requires_grad
    (second,) = cr.gradient(first.sum(), [z])
    np.testing.assert_allclose(second.numpy(), s * (1 - s) * (1 - 2 * s), rtol=1e-12)


def test_third_derivative_by_nesting_grad() -> None:
    def d(f):
        return cr.grad(lambda t: f(t).sum())

    def f(t):
        return cr.sigmoid(t)

    z0 = np.array([-1.0, 0.3, 2.0])
    s = 1 / (1 + np.exp(-z0))
    third = d(d(d(f)))(cr.tensor(z0))
    np.testing.assert_allclose(third.numpy(), s * (1 - s) * (1 - 6 * s + 6 * s * s), rtol=1e-10)


def test_create_graph_through_a_layer_matches_finite_differences_of_the_gradient() -> None:
    rng = np.random.default_rng(0)
    W = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    y = cr.tensor(rng.standard_normal((4, 3)))

    def loss(w):
        return 0.5 * ((cr.sigmoid(y @ w) - 1.0) ** 2).sum()

    E = loss(W)
    (g,) = cr.gradient(E, [W], create_graph=True)
    (hess_row,) = cr.gradient(g[0, 1], [W])  # d/dW of dE/dw_01: a row of the Hessian
    eps, numeric = 1e-6, np.zeros((3, 2))
    for i in range(3):
        for j in range(2):
            step = np.zeros((3, 2))
            step[i, j] = eps
            plus = cr.grad(loss)(cr.tensor(W.numpy() + step)).numpy()[0, 1]
            minus = cr.grad(loss)(cr.tensor(W.numpy() - step)).numpy()[0, 1]
            numeric[i, j] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(hess_row.numpy(), numeric, rtol=1e-6, atol=1e-9)
    # the same check through gradcheck, which evaluates under no_grad: transforms still record
    report = cr.gradcheck(cr.grad(loss), [W.numpy()])
    assert report.ok, str(report)


def test_anomaly_message_names_origin_only_in_detect_mode() -> None:
    with cr.detect_anomaly():
        x = cr.tensor([1.0], requires_grad=True)
        y = x * 2  # origin line
    assert re.search(rf"test_engine\.py:{_line_of('# origin line')}$", y.node.origin)


def test_saved_values_serve_the_rule_and_go_with_the_node() -> None:
    """softmax_cross_entropy saves y - t: reused on arrays, kept by the rule, freed on release."""
    logits = cr.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]], requires_grad=True)
    loss = cr.softmax_cross_entropy(logits, [0, 2])
    node = loss.node
    assert node.primitive.saves
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
    residual = p - np.eye(3)[[0, 2]]
    np.testing.assert_allclose(node.saved, residual, rtol=1e-12)
    loss.backward(retain_graph=True)  # the rule must not spend the saved array
    first = logits.grad.numpy().copy()
    np.testing.assert_allclose(node.saved, residual, rtol=1e-12)
    logits.zero_grad()
    loss.backward()
    np.testing.assert_allclose(logits.grad.numpy(), first, rtol=1e-15)
    np.testing.assert_allclose(first, residual / 2, rtol=1e-12)
    assert node.saved is None and node.released


def test_a_kept_loss_holds_no_array_of_its_batch_after_backward() -> None:
    """losses.append(loss) instead of loss.item() must not keep every batch's targets (or a
    where's mask) alive: backward releases the parameters with the inputs and saved values."""
    logits = cr.tensor(np.random.default_rng(0).standard_normal((64, 10)), requires_grad=True)
    targets = np.eye(10)[np.arange(64) % 10]
    mask = np.arange(64 * 10).reshape(64, 10) % 3 == 0
    alive = [weakref.ref(targets), weakref.ref(mask)]
    loss = cr.softmax_cross_entropy(cr.where(mask, logits, 0.0), targets)
    del targets, mask
    loss.backward()
    gc.collect()
    assert [ref() is None for ref in alive] == [True, True]
    assert loss.node.released and loss.node.op == "softmax_cross_entropy"  # the name stays


def _switch_watcher():
    """A test-only primitive whose rule writes down the recording switch it runs under."""
    from chainrule.ops.registry import REGISTRY, primitive

    seen: list[bool] = []

    def rule(g, out, x):
        seen.append(cr.is_grad_enabled())
        return g * 2

    name = "test_switch_watcher"
    watcher = REGISTRY[name] if name in REGISTRY else primitive(name, lambda x: x * 2, rule)
    object.__setattr__(watcher, "vjp", (rule,))  # this call's list (a repeated import reuses it)
    return watcher, seen


def test_rules_on_arrays_see_the_callers_recording_switch_in_every_backward():
    """A pass whose rules get bare arrays leaves the switch as the caller set it, in every way
    in (the training step's lane, gradient=, cr.gradient); create_graph turns it on."""
    watcher, seen = _switch_watcher()
    x = cr.tensor(np.arange(3.0), requires_grad=True)
    watcher(x).sum().backward()
    watcher(x).backward(gradient=np.ones(3))
    cr.gradient(watcher(x).sum(), [x])
    assert seen == [True, True, True]
    seen.clear()
    with cr.no_grad():  # a backward run inside no_grad: the rules see it off, in every lane
        y = cr.tensor(np.arange(3.0), requires_grad=True)
    with cr.enable_grad():
        out = watcher(y).sum()
    with cr.no_grad():
        out.backward(retain_graph=True)
        out.backward(gradient=np.ones(()), retain_graph=True)
        cr.gradient(out, [y], create_graph=True)
    assert seen == [False, False, True] and cr.is_grad_enabled()


@pytest.mark.parametrize("how", ["backward", "create_graph", "gradient"])
def test_a_rule_sending_a_gradient_of_the_wrong_shape_is_named(how) -> None:
    """A rule that drops a kept axis ((3,) for a (3, 1) input) is refused where it runs, naming
    the op, the input and both shapes: added in, its gradient would broadcast into a wrong total
    or become a .grad of the wrong shape (torch's engine refuses it the same way)."""
    from chainrule.ops.registry import REGISTRY, primitive

    name = "test_wrong_shape_add"
    bad_add = REGISTRY.get(name) or primitive(
        name, np.add, lambda g, out, a, b: g, lambda g, out, a, b: g.sum(axis=1)
    )
    a = cr.tensor(np.ones((3, 4)), requires_grad=True)
    b = cr.tensor(np.ones((3, 1)), requires_grad=True)
    out = bad_add(a, b).sum()
    expected = (
        rf"rule of .{name}. for input 1 sent a gradient of shape \(3,\) for an input of shape "
        r"\(3, 1\)"
    )
    with pytest.raises(cr.ShapeError, match=expected):
        if how == "backward":
            out.backward()
        elif how == "create_graph":
            out.backward(create_graph=True)
        else:
            cr.gradient(out, [b])


def test_ctrl_c_right_after_the_collector_is_paused_does_not_leave_it_off(monkeypatch) -> None:
    """A backward pauses Python's collector; an interrupt landing just after the pause must
    still restore it (else every later pass sees it off and leaves it off: cycles pile up)."""
    import gc

    from chainrule import engine

    pause = gc.disable

    def pause_then_interrupt() -> None:
        pause()
        raise KeyboardInterrupt

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert gc.isenabled()
    monkeypatch.setattr(engine.gc, "disable", pause_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        (x * x).sum().backward()
    monkeypatch.undo()
    try:
        assert gc.isenabled()
    finally:
        gc.enable()


class _InterruptedOnRelease:
    """A lock whose release raises KeyboardInterrupt, as a Ctrl-C landing there would."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_while_no_grad_ends_leaves_recording_consistent(monkeypatch) -> None:
    """Interrupted between its two steps, leaving no_grad must not reach the state where
    is_grad_enabled() says False while every op records (and later no_grad blocks do nothing)."""
    from chainrule import engine

    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(KeyboardInterrupt), cr.no_grad():
        monkeypatch.setattr(engine, "_count_lock", _InterruptedOnRelease())
    monkeypatch.undo()
    assert cr.is_grad_enabled() == (x * 2).requires_grad
    with cr.no_grad():
        assert not (x * 2).requires_grad


def test_threads_backpropagating_into_one_leaf_lose_no_sum() -> None:
    """.grad accumulates across backward calls, from any thread (Hogwild training): the read,
    add and write back of each leaf's .grad is not interleaved (torch holds a lock there too)."""
    import sys

    w = cr.tensor(np.zeros(4), requires_grad=True)
    threads, steps = 4, 1000
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        for _ in range(steps):
            (w * 1.0).sum().backward()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    np.testing.assert_array_equal(w.grad.numpy(), np.full(4, threads * steps))


def test_a_one_number_tensor_formats_as_its_number():
    """``print(f"loss {loss:.4f}")``, every training loop's line, raised "unsupported format
    string passed to Tensor.__format__"; PyTorch formats a one-number tensor as its number."""
    x = cr.tensor([[0.5, -1.25]], requires_grad=True)
    loss = (x * x).sum()
    assert f"{loss:.4f}" == "1.8125" and f"{loss:>9.2e}" == " 1.81e+00"
    assert f"{x[0, 1]:+.1f}" == "-1.2" and f"{cr.tensor([7]):03d}" == "007"
    assert f"{cr.tensor(np.float32(0.25)):.1%}" == "25.0%"
    assert f"{loss}" == str(loss) and f"{x}" == str(x)  # no spec: the tensor as it prints
    with pytest.raises(TypeError, match=r"format spec '.2f': a tensor of shape \(1, 2\)"):
        f"{x:.2f}"
