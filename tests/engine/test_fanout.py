"""Fan-out: a tensor used by several consumers gets the sum of what each sends back.

Each case is checked twice: against central differences (cr.gradcheck) and against the closed
form written out by hand, the way the lecture writes it: dE/dy_i = sum_j w_ij dE/dz_j.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

X0 = np.array([0.3, -1.2, 2.0])


def _grad(f, x0: np.ndarray) -> np.ndarray:
    x = cr.tensor(x0, requires_grad=True)
    f(x).backward()
    return x.grad.numpy()


def _check(f, x0: np.ndarray, closed_form: np.ndarray) -> None:
    np.testing.assert_allclose(_grad(f, x0), closed_form, rtol=1e-12, atol=1e-15)
    cr.gradcheck(f, [x0], raise_on_failure=True)
    cr.gradcheck(f, [x0], order=2, raise_on_failure=True)


def test_a_plus_a_sends_two_contributions() -> None:
    _check(lambda a: (a + a).sum(), X0, 2 * np.ones(3))


def test_x_times_x_sends_one_contribution_per_operand() -> None:
    _check(lambda x: (x * x).sum(), X0, 2 * X0)


def test_x_times_x_times_x_through_one_mul_chain() -> None:
    _check(lambda x: (x * x * x).sum(), X0, 3 * X0**2)


def test_a_non_leaf_used_three_times() -> None:
    # h = e^x feeds three consumers: E = sum(h * 2 + h * h + h / 4)
    def f(x):
        h = cr.exp(x)
        return (h * 2.0 + h * h + h / 4.0).sum()

    h = np.exp(X0)
    dE_dh = 2.0 + 2 * h + 0.25  # one term per consumer of h
    _check(f, X0, dE_dh * h)


def test_a_diamond() -> None:
    # x -> a = sigmoid(x), b = tanh(x) -> E = sum(a * b): two paths from x meet again at E
    def f(x):
        return (cr.sigmoid(x) * cr.tanh(x)).sum()

    a, b = 1 / (1 + np.exp(-X0)), np.tanh(X0)
    via_a = b * a * (1 - a)
    via_b = a * (1 - b**2)
    _check(f, X0, via_a + via_b)


def test_a_stacked_diamond_counts_every_path() -> None:
    # y_{k+1} = y_k * 2 + y_k * 3 (two paths per level): 10 levels, 2**10 paths, d/dx = 5**10
    def f(x):
        y = x
        for _ in range(10):
            y = y * 2.0 + y * 3.0
        return y.sum()

    _check(f, X0, np.full(3, 5.0**10))


def test_the_same_leaf_in_two_separate_outputs_accumulates_across_backward_calls() -> None:
    x = cr.tensor(X0, requires_grad=True)
    (x * 2.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 + 2 * X0)


# ---------------------------------------------------------------------------------------------
# The order of the walk: a tensor's total must be complete before its rules run. The training
# step's backward visits the latest op first (no separate sort); these graphs would break a
# walk that went by depth or by the order the inputs are listed.
# ---------------------------------------------------------------------------------------------


def test_a_tensor_used_at_the_bottom_and_at_the_top_of_a_long_chain() -> None:
    def f(x):
        y = x * 2.0
        h = y
        for _ in range(40):
            h = h * 0.9 + 0.1
        return (h + y * y).sum()  # y feeds the chain's first op and the very last ones

    closed = 2.0 * 0.9**40 + 8.0 * X0
    _check(f, X0, closed)


def test_an_early_op_consumed_only_at_the_end() -> None:
    def f(x):
        a = x * 3.0  # made first, used last
        b = x
        for _ in range(10):
            b = cr.sigmoid(b)
        return (a * b).sum()

    x = cr.tensor(X0, requires_grad=True)
    f(x).backward()
    cr.gradcheck(f, [X0], raise_on_failure=True)
    b, slope = X0.copy(), np.ones(3)
    for _ in range(10):
        b = 1 / (1 + np.exp(-b))
        slope = slope * b * (1 - b)
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * b + 3.0 * X0 * slope, rtol=1e-12)


def test_two_branches_built_in_turns_and_joined() -> None:
    def f(x):
        u, v = x, x
        for k in range(6):  # the branches' ops interleave in the order they ran
            u = u * (1.0 + 0.1 * k)
            v = cr.tanh(v) if k % 2 else v + u
        return (u * v).sum()

    cr.gradcheck(f, [X0], raise_on_failure=True)
    cr.gradcheck(f, [X0], order=2, raise_on_failure=True)


def test_backward_pass_with_repeated_outputs_and_a_leaf_among_them() -> None:
    x = cr.tensor(X0, requires_grad=True)
    y = x * x
    ones = cr.tensor(np.ones(3))
    totals = cr.engine.backward_pass([y, y, x], [ones, ones, ones])
    ((leaf, grad),) = totals.values()
    assert leaf is x
    np.testing.assert_allclose(grad.numpy(), 1.0 + 2 * (2 * X0))


def test_graphs_built_on_two_threads_at_once_each_get_their_own_gradient() -> None:
    import threading

    results, barrier = {}, threading.Barrier(2)

    def work(name: str, scale: float) -> None:
        x = cr.tensor(X0 * scale, requires_grad=True)
        barrier.wait()
        h = x
        for _ in range(200):  # the two threads' ops take turns for numbers
            h = cr.sigmoid(h) * 2.0
        h.sum().backward()
        results[name] = (x.grad.numpy(), h)

    threads = [threading.Thread(target=work, args=(n, s)) for n, s in (("a", 1.0), ("b", -0.5))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, scale in (("a", 1.0), ("b", -0.5)):
        h, slope = X0 * scale, np.ones(3)
        for _ in range(200):
            y = 1 / (1 + np.exp(-h))
            slope, h = slope * 2.0 * y * (1 - y), 2.0 * y
        np.testing.assert_allclose(results[name][0], slope, rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# The seed's picture: two hidden logistic units i feeding three logistic units j
# ---------------------------------------------------------------------------------------------

Y_HIDDEN = np.array([[0.2, 0.7]])  # y_i, shape (1, 2)
W = np.array([[0.1, -0.4, 0.3], [0.5, 0.2, -0.6]])  # w_ij: row i below, column j above
TARGET = np.array([[1.0, 0.0, 1.0]])


def _seed_error(y: cr.Tensor, w: cr.Tensor) -> cr.Tensor:
    """E = 1/2 sum_j (t_j - y_j)^2 with y_j = logistic(z_j), z_j = sum_i y_i w_ij."""
    out = cr.sigmoid(y @ w)
    return 0.5 * ((cr.tensor(TARGET) - out) ** 2).sum()


def _seed_closed_form() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dE/dz_j, dE/dy_i and dE/dw_ij, one number at a time, as the lecture writes them."""
    y = Y_HIDDEN[0]
    z = [sum(y[i] * W[i, j] for i in range(2)) for j in range(3)]
    y_top = [1 / (1 + np.exp(-z_j)) for z_j in z]
    dE_dy_top = [-(TARGET[0, j] - y_top[j]) for j in range(3)]
    dE_dz = [y_top[j] * (1 - y_top[j]) * dE_dy_top[j] for j in range(3)]
    dE_dy = [sum(W[i, j] * dE_dz[j] for j in range(3)) for i in range(2)]
    dE_dw = [[y[i] * dE_dz[j] for j in range(3)] for i in range(2)]
    return np.array(dE_dz), np.array([dE_dy]), np.array(dE_dw)


def test_a_hidden_unit_feeding_three_units_gets_the_sum_over_j() -> None:
    y = cr.tensor(Y_HIDDEN, requires_grad=True)
    w = cr.tensor(W, requires_grad=True)
    _seed_error(y, w).backward()
    _, dE_dy, dE_dw = _seed_closed_form()
    np.testing.assert_allclose(y.grad.numpy(), dE_dy, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), dE_dw, rtol=1e-12)
    report = cr.gradcheck(_seed_error, [Y_HIDDEN, W])
    assert report.ok, str(report)
    cr.gradcheck(_seed_error, [Y_HIDDEN, W], order=2, raise_on_failure=True)


def test_the_sum_over_j_term_by_term() -> None:
    # Cut each connection in turn: the hidden unit's gradient loses exactly w_ij dE/dz_j.
    dE_dz, dE_dy, _ = _seed_closed_form()
    for j in range(3):
        mask = np.ones(3)
        mask[j] = 0.0
        y = cr.tensor(Y_HIDDEN, requires_grad=True)
        z = y @ cr.tensor(W)
        # z_j computed from a detached copy of y: path j no longer reaches y
        z_cut = cr.where(mask.astype(bool), z, y.detach() @ cr.tensor(W))
        E = 0.5 * ((cr.tensor(TARGET) - cr.sigmoid(z_cut)) ** 2).sum()
        E.backward()
        np.testing.assert_allclose(y.grad.numpy(), dE_dy - W[:, j] * dE_dz[j], rtol=1e-12)


@pytest.mark.parametrize("n_cases", [1, 4])
def test_a_batch_of_cases_sums_weight_gradients_over_cases(n_cases: int) -> None:
    rng = np.random.default_rng(n_cases)
    y0 = rng.uniform(0, 1, (n_cases, 2))
    t = rng.uniform(0, 1, (n_cases, 3))
    y = cr.tensor(y0, requires_grad=True)
    w = cr.tensor(W, requires_grad=True)
    out = cr.sigmoid(y @ w)
    (0.5 * ((cr.tensor(t) - out) ** 2).sum()).backward()
    y_top = 1 / (1 + np.exp(-(y0 @ W)))
    dE_dz = y_top * (1 - y_top) * (y_top - t)
    np.testing.assert_allclose(
        w.grad.numpy(), sum(np.outer(y0[c], dE_dz[c]) for c in range(n_cases))
    )
    np.testing.assert_allclose(y.grad.numpy(), dE_dz @ W.T)
