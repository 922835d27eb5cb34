"""Parallel: branches on their own blocks of input columns, joined side by side."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def two_branches(dtype="float64"):
    return nn.Parallel(
        (3, nn.Sequential(nn.Linear(3, 2, dtype=dtype, rng=0), nn.Logistic())),
        (2, nn.Linear(2, 4, dtype=dtype, rng=1)),
    )


def test_each_branch_reads_only_its_own_columns():
    net = two_branches()
    x = np.random.default_rng(0).standard_normal((5, 5))
    a, b = net[0], net[1]
    expected = np.concatenate([a(x[:, :3]).numpy(), b(x[:, 3:]).numpy()], axis=1)
    np.testing.assert_allclose(net(x).numpy(), expected, rtol=1e-15)
    # changing the second block's columns leaves the first branch's outputs alone
    y = x.copy()
    y[:, 3:] += 1.0
    np.testing.assert_array_equal(net(y).numpy()[:, :2], net(x).numpy()[:, :2])


def test_gradients_through_parallel_match_finite_differences():
    net = two_branches()
    x = np.random.default_rng(2).standard_normal((4, 5))
    names = [name for name, _ in net.named_parameters()]
    assert names == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]
    params = dict(net.named_parameters())

    def E(W0, W1):
        out = nn.functional_call(net, {"0.0.weight": W0, "1.weight": W1}, x)
        return (out * out).sum()

    assert cr.gradcheck(E, [params["0.0.weight"].numpy(), params["1.weight"].numpy()]).ok


def test_parallel_config_round_trip_and_errors():
    net = two_branches("float32")
    again = nn.from_config(net.config())
    assert again.config() == net.config() and again.widths == [3, 2]
    again.load_state_dict(net.state_dict())
    x = np.ones((2, 5), np.float32)
    np.testing.assert_array_equal(again(x).numpy(), net(x).numpy())
    assert net(x).dtype == np.float32
    with pytest.raises(cr.ShapeError, match=r"Parallel\(3, 2\): input has shape \(2, 4\)"):
        net(np.ones((2, 4)))
    with pytest.raises(nn.ConfigError, match="branch 1 must be"):
        nn.Parallel((3, nn.Linear(3, 1)), (0, nn.Linear(1, 1)))
    with pytest.raises(nn.ConfigError, match="at least one"):
        nn.Parallel()
    with pytest.raises(nn.ConfigError, match="2 widths but 1 branches"):
        nn.from_config({"type": "Parallel", "widths": [1, 2], "branches": [net[1].config()]})
