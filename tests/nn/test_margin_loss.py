"""MarginSquaredError (RHW 1986's family trees): values and gradients at, short of and beyond the
0.8 / 0.2 edges, against the closed form and central finite differences in float64."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

# one case per column group: on-units (target 1), then off-units (target 0), at every place
# that matters: far short, just short, exactly on the edge, just beyond, far beyond
ON = [0.0, 0.5, 0.8 - 1e-3, 0.8, 0.8 + 1e-3, 1.0]
OFF = [1.0, 0.5, 0.2 + 1e-3, 0.2, 0.2 - 1e-3, 0.0]
Y = np.array([ON + OFF])
T = np.array([[1.0] * len(ON) + [0.0] * len(OFF)])


def edge_distance(y, t):
    """The closed form: d = min(y - 0.8, 0) for on-units, max(y - 0.2, 0) for off-units."""
    return np.where(t > 0.5, np.minimum(y - 0.8, 0), np.maximum(y - 0.2, 0))


def value_and_grad(loss, y, t):
    out = cr.tensor(np.array(y, dtype=np.float64), requires_grad=True)
    E = loss(out, t)
    E.backward()
    return E.item(), out.grad.numpy()


def central_differences(loss, y, t, h=1e-6):
    """dE/dy by central differences, one output at a time."""
    grad = np.zeros_like(y)
    for index in np.ndindex(y.shape):
        up, down = y.copy(), y.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (loss(cr.tensor(up), t).item() - loss(cr.tensor(down), t).item()) / (2 * h)
    return grad


def test_edge_margin_error_is_half_the_squared_distance_to_the_edge():
    E, grad = value_and_grad(nn.MarginSquaredError(), Y, T)
    d = edge_distance(Y, T)
    np.testing.assert_allclose(E, 0.5 * np.sum(d**2), rtol=1e-14)
    np.testing.assert_allclose(grad, d, rtol=1e-14, atol=0)
    # on and beyond the edges nothing is pulled; short of them the pull is the distance
    assert np.all(grad[0, [3, 4, 5, 9, 10, 11]] == 0)
    assert grad[0, 1] == pytest.approx(-0.3) and grad[0, 7] == pytest.approx(0.3)


def test_edge_margin_error_gradient_matches_central_differences_at_and_beyond_the_edges():
    loss = nn.MarginSquaredError()
    _, grad = value_and_grad(loss, Y, T)
    numeric = central_differences(loss, Y, T)
    # E is 1/2 d^2 with d continuous, so even at the edge the two sides agree to O(h)
    np.testing.assert_allclose(grad, numeric, atol=1e-6, rtol=1e-6)


def test_edge_margin_error_over_a_batch_sums_cases_and_units():
    rng = np.random.default_rng(1)
    y, t = rng.random((5, 24)), (rng.random((5, 24)) < 0.2).astype(float)
    loss = nn.MarginSquaredError()
    E, grad = value_and_grad(loss, y, t)
    np.testing.assert_allclose(E, 0.5 * np.sum(edge_distance(y, t) ** 2), rtol=1e-13)
    np.testing.assert_allclose(grad, central_differences(loss, y, t), atol=1e-6)


def test_target_margin_error_counts_from_the_target_and_jumps_at_the_edge():
    loss = nn.MarginSquaredError(measured_from="target")
    away = np.array([[0.5, 0.9, 0.3, 0.1]])  # short, beyond, short, beyond
    t = np.array([[1.0, 1.0, 0.0, 0.0]])
    E, grad = value_and_grad(loss, away, t)
    np.testing.assert_allclose(E, 0.5 * (0.5**2 + 0.3**2), rtol=1e-14)
    np.testing.assert_allclose(grad, [[-0.5, 0, 0.3, 0]], rtol=1e-14)
    np.testing.assert_allclose(grad, central_differences(loss, away, t), atol=1e-6)
    short, over = loss(cr.tensor([[0.8 - 1e-9]]), [[1.0]]), loss(cr.tensor([[0.8]]), [[1.0]])
    assert short.item() == pytest.approx(0.5 * 0.2**2, rel=1e-6) and over.item() == 0.0


def test_margin_error_keeps_float32_and_round_trips_its_config():
    y = cr.tensor(np.array([[0.5, 0.5]], np.float32), requires_grad=True)
    E = nn.MarginSquaredError(on=0.9, off=0.1)(y, [[1, 0]])
    E.backward()
    assert E.dtype == np.float32 and y.grad.dtype == np.float32
    assert E.item() == pytest.approx(0.5 * (0.4**2 + 0.4**2), rel=1e-6)
    loss = nn.MarginSquaredError(on=0.9, off=0.1, measured_from="target")
    again = nn.loss_from_config(loss.config())
    assert isinstance(again, nn.MarginSquaredError) and again.config() == loss.config()
    assert isinstance(nn.loss_from_name("margin_squared_error"), nn.MarginSquaredError)


def test_margin_error_names_what_is_wrong():
    with pytest.raises(nn.ConfigError, match="measured_from must be 'edge' or 'target'"):
        nn.MarginSquaredError(measured_from="middle")
    with pytest.raises(nn.ConfigError, match="off < on"):
        nn.MarginSquaredError(on=0.2, off=0.8)
    with pytest.raises(cr.ShapeError, match=r"MarginSquaredError: output has shape \(1, 2\)"):
        nn.MarginSquaredError()(cr.tensor([[0.5, 0.5]]), [[1.0, 0.0, 0.0]])
