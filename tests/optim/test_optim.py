"""Optimizers and schedules: updates against their formulas (NumPy, written out here) and against
torch.optim; dtypes, skipped parameters, state dicts, schedules."""

import json
import math
import re
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

try:  # the second reference: only the tests that take the ``torch`` fixture use it
    import torch
except ImportError:
    torch = None

W0 = np.array([[0.5, -1.2, 0.3], [2.0, 0.1, -0.7]])
B0 = np.array([0.05, -0.4])


def gradient_at(w):
    """A fixed gradient field (of a smooth non-quadratic function), the same for every library."""
    return w - 0.3 + 0.5 * np.sin(3 * w)


def chainrule_run(make, steps, dtype=np.float64, lr_changes=None):
    params = [cr.tensor(W0.astype(dtype), requires_grad=True),
              cr.tensor(B0.astype(dtype), requires_grad=True)]  # fmt: skip
    opt = make(params)
    history = []
    for step in range(steps):
        if lr_changes and step in lr_changes:
            opt.lr = lr_changes[step]
        for p in params:
            p.grad = cr.tensor(gradient_at(p.numpy().astype(np.float64)).astype(dtype))
        opt.step()
        history.append([p.numpy().copy() for p in params])
    return opt, params, history


def torch_run(make, steps):
    params = [torch.tensor(W0, requires_grad=True), torch.tensor(B0, requires_grad=True)]
    opt = make(params)
    history = []
    for _ in range(steps):
        for p in params:
            p.grad = torch.tensor(gradient_at(p.detach().numpy()))
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


def assert_same_trajectory(ours, theirs, rtol=1e-12, atol=1e-14):
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {step + 1}")


# ---------------------------------------------------------------------------------------------
# Each update against its formula, computed here with NumPy
# ---------------------------------------------------------------------------------------------


def test_plain_sgd_steps_against_the_formula():
    _, _, history = chainrule_run(lambda p: optim.SGD(p, lr=0.1), 3)
    w = W0.copy()
    for step in range(3):
        w = w - 0.1 * gradient_at(w)
        np.testing.assert_allclose(history[step][0], w, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_sgd_on_a_large_weight_is_the_formula_to_its_last_bit(dtype):
    """A weight this large is updated by BLAS axpy (backend.add_scaled): one rounding where the
    CPU has a fused multiply-add. Each step is within one rounding of w - lr g computed exactly
    (a float32 step in float64, a float64 step with lr a power of two, so lr g is exact)."""
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((300, 300)).astype(dtype)
    lr = 0.1 if dtype == np.float32 else 0.125
    param = cr.tensor(w0, requires_grad=True)
    opt = optim.SGD([param], lr=lr)
    wide = np.float64 if dtype == np.float32 else np.longdouble
    for _ in range(3):
        before = param.numpy().copy()
        grad = gradient_at(before.astype(np.float64)).astype(dtype)
        param.grad = cr.tensor(grad)
        opt.step()
        exact = before.astype(wide) - wide(dtype(lr)) * grad.astype(wide)
        error = np.abs(param.numpy().astype(wide) - exact)
        assert np.all(error <= np.spacing(np.abs(exact).astype(dtype)))
        assert param.dtype == dtype


def test_plain_sgd_on_a_large_weight_matches_torch(torch):
    rng = np.random.default_rng(6)
    w0 = rng.standard_normal((300, 300)).astype(np.float32)
    ours = cr.tensor(w0, requires_grad=True)
    theirs = torch.tensor(w0, requires_grad=True)
    opt, their_opt = optim.SGD([ours], lr=0.1), torch.optim.SGD([theirs], lr=0.1)
    for _ in range(5):
        grad = gradient_at(ours.numpy().astype(np.float64)).astype(np.float32)
        ours.grad, theirs.grad = cr.tensor(grad), torch.tensor(grad)
        opt.step()
        their_opt.step()
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_sgd_momentum_is_rhw_equation_9():
    _, _, history = chainrule_run(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), 4)
    w, dw = W0.copy(), np.zeros_like(W0)
    for step in range(4):
        dw = -0.1 * gradient_at(w) + 0.9 * dw  # dw(t) = -eps dE/dw(t) + alpha dw(t-1)
        w = w + dw
        np.testing.assert_allclose(history[step][0], w, rtol=1e-14)


def test_sgd_velocity_keeps_its_old_learning_rate_when_lr_changes():
    """The one place RHW's form and PyTorch's differ: momentum gathered under the old lr."""
    _, _, history = chainrule_run(
        lambda p: optim.SGD(p, lr=0.1, momentum=0.5), 3, lr_changes={2: 0.01}
    )
    w, dw = W0.copy(), np.zeros_like(W0)
    for lr in [0.1, 0.1, 0.01]:
        dw = -lr * gradient_at(w) + 0.5 * dw
        w = w + dw
    np.testing.assert_allclose(history[-1][0], w, rtol=1e-14)


def test_nesterov_weight_decay_and_shrink_against_the_formula():
    def make(p):
        return optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, shrink=0.002)

    _, _, history = chainrule_run(make, 3)
    w, dw = W0.copy(), np.zeros_like(W0)
    for step in range(3):
        g = gradient_at(w) + 0.1 * w  # L2: weight_decay * w added to the gradient
        dw = 0.8 * dw - 0.05 * g
        w = (w + 0.8 * dw - 0.05 * g) * (1 - 0.002)  # Nesterov, then RHW's 0.2% shrink
        np.testing.assert_allclose(history[step][0], w, rtol=1e-14)


def test_rmsprop_is_hinton_lecture_6e():
    _, _, history = chainrule_run(lambda p: optim.RMSprop(p, lr=0.01), 3)
    w, mean_square = W0.copy(), np.zeros_like(W0)
    for step in range(3):
        g = gradient_at(w)
        mean_square = 0.9 * mean_square + 0.1 * g**2
        w = w - 0.01 * g / (np.sqrt(mean_square) + 1e-8)
        np.testing.assert_allclose(history[step][0], w, rtol=1e-14)


@pytest.mark.parametrize("make", [
    lambda p: optim.RMSprop(p, lr=0.01),
    lambda p: optim.Adam(p, lr=0.01),
    lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.01),
])  # fmt: skip
@pytest.mark.parametrize("xp", ["numpy", "array_api_strict"])
def test_a_huge_float32_gradient_keeps_the_mean_square_finite(make, xp):
    """g * g overflows float32 from |g| ~ 1.8e19 where (1 - beta2) g * g does not (PyTorch's
    addcmul order): the mean square was inf for good, the weight stopped moving, with one
    overflow warning. Oracle: the moment in float64, (1 - decay) g^2 = 9e35 for g = 3e19."""
    lib = np if xp == "numpy" else pytest.importorskip(xp)
    w = nn.Parameter(lib.asarray(np.ones(3, np.float32)))
    opt = make([w])
    rmsprop = isinstance(opt, optim.RMSprop)
    decay = 1 - (opt.alpha if rmsprop else opt.betas[1])
    moments = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        for g in (3e19, 1.0, 1.0):
            w.grad = cr.tensor(lib.asarray(np.full(3, g, np.float32)))
            opt.step()
            moment = opt.state[0]["mean_square" if rmsprop else "v"]
            moments.append(cr.backend.to_numpy(moment).copy())
    np.testing.assert_allclose(moments[0], np.float32(decay * 3e19**2), rtol=1e-6)
    assert np.all(moments[2] < moments[1]) and np.all(moments[1] < moments[0])  # it decays


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_and_adamw_against_the_formula(weight_decay):
    b1, b2, lr, eps = 0.8, 0.99, 0.02, 1e-8
    for decoupled in (False, True):
        cls = optim.AdamW if decoupled else optim.Adam

        def make(p, cls=cls):
            return cls(p, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay)

        _, _, history = chainrule_run(make, 3)
        w, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
        for t in range(1, 4):
            g = gradient_at(w)
            if decoupled:
                w = w * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * w
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g**2
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
            np.testing.assert_allclose(history[t - 1][0], w, rtol=1e-13, err_msg=cls.__name__)


# ---------------------------------------------------------------------------------------------
# Against torch.optim
# ---------------------------------------------------------------------------------------------

AGAINST_TORCH = {
    "sgd": (lambda p: optim.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd-momentum-decay": (
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    ),
    "sgd-nesterov": (
        lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    ),
    # the same alpha (weight of the old mean square) in both; torch's default is 0.99
    "rmsprop": (
        lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8),
    ),
    "rmsprop-momentum-decay": (
        lambda p: optim.RMSprop(p, lr=0.01, alpha=0.95, momentum=0.5, weight_decay=0.01),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.95, momentum=0.5, weight_decay=0.01),
    ),
    "adam": (
        lambda p: optim.Adam(p, lr=0.01, weight_decay=0.01),
        lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01),
    ),
    "adamw": (
        lambda p: optim.AdamW(p, lr=0.01, betas=(0.8, 0.95), weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.8, 0.95), weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("case", list(AGAINST_TORCH))
def test_trajectory_matches_torch_optim(case, torch):
    ours, theirs = AGAINST_TORCH[case]
    _, _, history = chainrule_run(ours, 5)
    assert_same_trajectory(history, torch_run(theirs, 5))


@pytest.mark.parametrize("case", list(AGAINST_TORCH))
def test_float32_parameters_stay_float32_and_track_float64(case):
    ours, _ = AGAINST_TORCH[case]
    _, params, history32 = chainrule_run(ours, 5, dtype=np.float32)
    assert all(p.dtype == np.float32 for p in params)
    assert all(a.dtype == np.float32 for step in history32 for a in step)
    _, _, history64 = chainrule_run(ours, 5)
    assert_same_trajectory(history32, history64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", list(AGAINST_TORCH))
@pytest.mark.parametrize("move", ["float32", "array_api_strict"])
def test_buffers_follow_a_model_moved_between_steps(case, move):
    """Module.to moves the parameters' arrays; the optimizer's momentum and moments must go
    along, so the run continues as if nothing moved (not silently updating a stale buffer)."""
    if move == "array_api_strict":
        target = pytest.importorskip("array_api_strict")
        to, rtol = {"xp": target}, 1e-12
    else:
        to, rtol = {"dtype": move}, 1e-5
    ours, _ = AGAINST_TORCH[case]
    _, _, reference = chainrule_run(ours, 5)
    model = nn.Sequential(nn.Linear(3, 2, dtype="float64"))
    weight, bias = model[0].weight, model[0].bias  # the reference's W0, laid out (in, out)
    weight.data[...], bias.data[...] = W0.T, B0
    opt = ours([weight, bias])
    for step in range(5):
        if step == 2:
            model.to(**to)
        for param in (weight, bias):
            values = gradient_at(cr.backend.to_numpy(param.data).astype(np.float64))
            param.grad = cr.Tensor(cr.backend.asarray_like(values, param.data, param.dtype))
        opt.step()
    np.testing.assert_allclose(weight.numpy().T, reference[-1][0], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(bias.numpy(), reference[-1][1], rtol=rtol, atol=rtol)
    buffers = [b for state in opt.state for b in state.values()]
    assert all(type(b) is type(weight.data) and b.dtype == weight.dtype for b in buffers)


def test_a_parameter_listed_twice_is_refused():
    w = cr.tensor(W0.copy(), requires_grad=True)
    with pytest.raises(cr.errors.ConfigError, match="parameter 2 is parameter 0 again"):
        optim.SGD([w, cr.tensor(B0, requires_grad=True), w], lr=0.1)


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam"])
def test_a_tensor_an_op_made_is_refused_as_a_parameter(name):
    """``cr.randn(..., requires_grad=True) * 0.01`` is no leaf: backward fills no .grad on it,
    so it was skipped every step (a flat loss) and the second backward failed as a freed
    graph, sending the user to retain_graph (torch refuses it when the optimizer is built)."""
    w = cr.tensor(W0.copy(), requires_grad=True) * 0.01
    with pytest.raises(cr.errors.ConfigError, match=r"parameter 1 is the result of an op \(mul\)"):
        getattr(optim, name)([cr.tensor(B0, requires_grad=True), w], lr=0.1)
    leaf = w.detach().requires_grad_()
    getattr(optim, name)([leaf], lr=0.1)  # the fix the message names is taken


# ---------------------------------------------------------------------------------------------
# Skipping, zero_grad, validation
# ---------------------------------------------------------------------------------------------


def test_a_parameter_without_a_gradient_is_skipped():
    a = cr.tensor(W0.copy(), requires_grad=True)
    b = cr.tensor(B0.copy(), requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = cr.tensor(np.ones_like(W0))
    opt.step()
    np.testing.assert_array_equal(b.numpy(), B0)
    assert opt.steps == [1, 0] and "m" not in opt.state[1]
    assert not np.array_equal(a.numpy(), W0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_a_gradient_of_the_wrong_shape_is_reported():
    a = cr.tensor(W0.copy(), requires_grad=True)
    a.grad = cr.tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"SGD.step: parameter 0 has shape \(2, 3\).*\(3,\)"):
        optim.SGD([a], lr=0.1).step()


def test_bad_hyperparameters_and_names():
    params = nn.Linear(2, 1, rng=0).parameters()
    with pytest.raises(nn.ConfigError, match="lr must be a number >= 0"):
        optim.SGD(params, lr=-1)
    with pytest.raises(nn.ConfigError, match="nesterov=True needs momentum"):
        optim.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(nn.ConfigError, match=r"alpha must be in \[0, 1\)"):
        optim.RMSprop(params, lr=0.1, alpha=1.0)
    with pytest.raises(nn.ConfigError, match="betas"):
        optim.Adam(params, betas=(0.9, 1.5))
    with pytest.raises(nn.ConfigError, match="not a tensor requiring a gradient"):
        optim.SGD([cr.tensor([1.0])], lr=0.1)
    with pytest.raises(nn.ConfigError, match="parameter 0 is a dict: parameter groups"):
        optim.Adam([{"params": params, "lr": 0.1}])  # said "not a tensor requiring a gradient"
    with pytest.raises(nn.ConfigError, match="unknown optimizer 'lbfgs'; choose one of sgd"):
        optim.from_name("lbfgs", params)
    opt = optim.from_name("RMSprop", params, lr=0.01, momentum=0.9)
    assert isinstance(opt, optim.RMSprop) and opt.momentum == 0.9
    assert isinstance(optim.SGD(nn.Linear(2, 1, rng=0), lr=0.1), optim.SGD)  # a module works too


def test_numpy_scalar_hyperparameters_are_taken_as_python_numbers():
    params = nn.Linear(2, 1, rng=0).parameters()
    opts = [
        optim.SGD(params, lr=np.float32(0.1), momentum=np.float32(0.9), shrink=np.int64(0)),
        optim.Adam(params, lr=np.float32(1e-3), eps=np.float64(1e-8)),
        optim.RMSprop(params, lr=np.float64(0.01), alpha=np.float32(0.5)),
    ]
    for opt in opts:
        for key in opt.hyperparameters:
            assert not isinstance(getattr(opt, key), np.generic), key
        config = json.loads(json.dumps(opt.state_dict()["config"]))  # JSON-able
        assert optim.from_config(config, params).config() == config
    assert opts[0].lr == float(np.float32(0.1)) and opts[0].momentum == float(np.float32(0.9))
    for bad in (dict(lr=np.float32(-0.1)), dict(lr=np.float64("nan")), dict(lr=True)):
        with pytest.raises(nn.ConfigError, match="lr must be a number >= 0"):
            optim.SGD(params, **bad)
    with pytest.raises(nn.ConfigError, match="momentum must be a number >= 0"):
        optim.SGD(params, lr=0.1, momentum=np.bool_(True))


# ---------------------------------------------------------------------------------------------
# state_dict round trips
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(AGAINST_TORCH))
def test_state_dict_round_trip_continues_exactly(case):
    make, _ = AGAINST_TORCH[case]
    opt, params, _ = chainrule_run(make, 3)
    saved = opt.state_dict()
    config = json.loads(json.dumps(saved["config"]))  # the config is JSON-able
    assert all(isinstance(v, np.ndarray) for v in saved["state"].values())
    copies = [cr.tensor(p.numpy().copy(), requires_grad=True) for p in params]
    restored = optim.from_config(config, copies)
    restored.load_state_dict({"config": config, "state": saved["state"]})
    assert restored.state_dict()["config"] == saved["config"]
    for key, value in restored.state_dict()["state"].items():
        np.testing.assert_array_equal(value, saved["state"][key])
    for _ in range(3):
        for group in (params, copies):
            for p in group:
                p.grad = cr.tensor(gradient_at(p.numpy()))
        opt.step()
        restored.step()
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_from_config_rebuilds_a_state_a_schedule_made():
    """A schedule may set SGD's momentum to 0 under nesterov=True; the config the optimizer
    then saves was refused by from_config as the constructor refuses it."""
    net = nn.mlp([2, 3, 1], rng=0)
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    optim.PiecewiseSchedule(opt, {0: {"momentum": 0.9}, 1: {"momentum": 0.0}}).step()
    again = optim.from_config(opt.state_dict()["config"], net.parameters())
    assert again.config() == opt.config() and again.momentum == 0.0 and again.nesterov
    with pytest.raises(cr.errors.ConfigError, match="from_config: SGD has no hyperparameter 'x'"):
        optim.from_config({**opt.config(), "x": 1}, net.parameters())
    with pytest.raises(cr.errors.ConfigError, match="momentum must be a number >= 0, not -1"):
        optim.from_config({**opt.config(), "momentum": -1}, net.parameters())


def test_load_state_dict_restores_scheduled_hyperparameters():
    opt, params, _ = chainrule_run(lambda p: optim.SGD(p, lr=0.1, momentum=0.5), 2)
    opt.lr, opt.momentum = 0.01, 0.9
    other = optim.SGD(params, lr=0.1, momentum=0.5)
    other.load_state_dict(opt.state_dict())
    assert (other.lr, other.momentum) == (0.01, 0.9) and other.steps == [2, 2]


def test_load_state_dict_errors_change_nothing():
    opt, params, _ = chainrule_run(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), 2)
    good = opt.state_dict()
    adam = optim.Adam(params)
    with pytest.raises(nn.StateDictError, match="the state is for 'sgd', not 'adam'"):
        adam.load_state_dict(good)
    other = optim.SGD(params, lr=0.5, momentum=0.9)
    bad_shape = {"config": good["config"], "state": {**good["state"], "velocity.0": np.zeros(3)}}
    with pytest.raises(nn.StateDictError, match=r"'velocity.0' has shape \(3,\).*\(2, 3\)"):
        other.load_state_dict(bad_shape)
    assert other.lr == 0.5 and other.steps == [0, 0]  # nothing was loaded
    bad_key = {"config": good["config"], "state": {**good["state"], "velocity.7": np.zeros(3)}}
    with pytest.raises(nn.StateDictError, match="'velocity.7' does not name one of the 2"):
        other.load_state_dict(bad_key)
    bad_buffer = {"config": good["config"], "state": {"m.0": np.zeros((2, 3))}}
    with pytest.raises(nn.StateDictError, match="unknown buffer 'm'"):
        other.load_state_dict(bad_buffer)
    bad_config = {"config": {**good["config"], "betas": [0.9, 0.9]}, "state": {}}
    with pytest.raises(nn.StateDictError, match=r"unknown hyperparameters \['betas'\]"):
        other.load_state_dict(bad_config)
    fewer = optim.SGD(params + [nn.Parameter(np.ones(4))], lr=0.5, momentum=0.9)
    with pytest.raises(nn.StateDictError, match="counts the steps of 2 parameters but this opt"):
        fewer.load_state_dict(good)  # accepted: the third parameter silently at step 0
    assert fewer.steps == [0, 0, 0] and fewer.lr == 0.5


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------


def lrs(schedule, epochs):
    values = [schedule.optimizer.lr]
    for _ in range(epochs):
        schedule.step()
        values.append(schedule.optimizer.lr)
    return values


def sgd(lr=0.1):
    return optim.SGD(nn.Linear(2, 1, rng=0).parameters(), lr=lr, momentum=0.9)


def torch_lrs(make_scheduler, epochs, lr=0.1):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make_scheduler(opt)
    values = [opt.param_groups[0]["lr"]]
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        values.append(opt.param_groups[0]["lr"])
    return values


def test_step_exponential_and_cosine_schedules_match_torch(torch):
    lr_sched = torch.optim.lr_scheduler
    pairs = [
        (optim.StepLR(sgd(), 3, 0.5), lambda o: lr_sched.StepLR(o, 3, 0.5)),
        (optim.ExponentialLR(sgd(), 0.9), lambda o: lr_sched.ExponentialLR(o, 0.9)),
        (optim.CosineLR(sgd(), 8, min_lr=0.01),
         lambda o: lr_sched.CosineAnnealingLR(o, 8, eta_min=0.01)),
    ]  # fmt: skip
    for ours, theirs in pairs:
        np.testing.assert_allclose(lrs(ours, 8), torch_lrs(theirs, 8), rtol=1e-12)


def test_cosine_schedule_closed_form_and_floor():
    schedule = optim.CosineLR(sgd(0.2), 4, min_lr=0.02)
    values = lrs(schedule, 6)
    expected = [0.02 + 0.18 * (1 + math.cos(math.pi * min(e, 4) / 4)) / 2 for e in range(7)]
    np.testing.assert_allclose(values, expected, rtol=1e-14)


def test_piecewise_schedule_for_the_family_trees_run():
    opt = sgd()
    schedule = optim.PiecewiseSchedule(
        opt, {0: {"lr": 0.005, "momentum": 0.5}, 20: {"lr": 0.01, "momentum": 0.9}}
    )
    seen = []
    for _ in range(25):
        seen.append((opt.lr, opt.momentum))
        schedule.step()
    assert seen[:20] == [(0.005, 0.5)] * 20 and seen[20:] == [(0.01, 0.9)] * 5
    state = json.loads(json.dumps(schedule.state_dict()))
    fresh = optim.PiecewiseSchedule(
        sgd(), {"0": {"lr": 0.005, "momentum": 0.5}, "20": {"lr": 0.01, "momentum": 0.9}}
    )
    assert (fresh.optimizer.lr, fresh.optimizer.momentum) == (0.005, 0.5)
    fresh.load_state_dict(state)
    assert fresh.epoch == 25 and (fresh.optimizer.lr, fresh.optimizer.momentum) == (0.01, 0.9)


def test_schedule_errors():
    with pytest.raises(nn.ConfigError, match="SGD has no hyperparameter 'beta'"):
        optim.PiecewiseSchedule(sgd(), {0: {"beta": 0.1}})
    with pytest.raises(nn.ConfigError, match="step_size must be >= 1"):
        optim.StepLR(sgd(), 0)
    with pytest.raises(nn.StateDictError, match="the state is for 'StepLR'"):
        optim.ExponentialLR(sgd(), 0.9).load_state_dict(optim.StepLR(sgd(), 2).state_dict())


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: optim.StepLR(sgd(), 2.5),
            "StepLR: step_size must be a whole number >= 1, not 2.5",
        ),
        (lambda: optim.StepLR(sgd(), "x"), "step_size must be a whole number >= 1, not 'x'"),
        (lambda: optim.StepLR(sgd(), True), "step_size must be a whole number"),
        (lambda: optim.CosineLR(sgd(), 9.5), "total_epochs must be a whole number >= 1"),
        (lambda: optim.PiecewiseSchedule(sgd(), {"x": {"lr": 0.1}}), "epoch must be a whole"),
        (lambda: optim.PiecewiseSchedule(sgd(), {-1: {"lr": 0.1}}), "epoch must be >= 0, not -1"),
    ],
)
def test_schedule_sizes_are_whole_numbers(make, message):
    """2.5 was taken as 2 without a word, and "x" gave a bare ValueError from int()."""
    with pytest.raises(nn.ConfigError, match=re.escape(message)):
        make()


def test_schedule_sizes_take_numpy_integers_and_milestones_their_json_digits():
    assert optim.StepLR(sgd(), np.int64(3)).step_size == 3
    assert optim.CosineLR(sgd(), np.int32(4)).total_epochs == 4
    assert list(optim.PiecewiseSchedule(sgd(), {"20": {"lr": 0.1}}).milestones) == [20]


def _sgd_steps(step, schedule, big=False):
    """Parameters after ``schedule``'s steps of SGD, each taken by ``step(opt)``: a big weight
    (axpy's size), a small one, a frozen one, and one given a plain array as its gradient."""
    rng = np.random.default_rng(7)
    shapes = [(300, 300) if big else (3, 4), (4,), (2, 2), (5,)]
    params = [cr.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in shapes]  # fmt: skip
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for momentum, lr in schedule:
        opt.momentum, opt.lr = momentum, lr
        for index, p in enumerate(params):
            g = gradient_at(p.numpy().astype(np.float64)).astype(np.float32)
            p.grad = None if index == 2 else g if index == 3 else cr.tensor(g)
        step(opt)
    return [p.numpy() for p in params], list(opt.steps)


@pytest.mark.parametrize("big", [False, True])
def test_plain_sgds_one_loop_updates_as_the_general_step_does(big):
    """SGD's loop for plain descent gives the general path's bits and step counts: plain steps,
    then momentum, then momentum 0 again (the velocity left behind keeps its path), a frozen
    parameter skipped and a gradient given as a plain array."""
    schedule = [(0.0, 0.1), (0.0, 0.05), (0.9, 0.1), (0.0, 0.1), (0.0, 0.2)]
    fast, fast_steps = _sgd_steps(optim.SGD.step, schedule, big)
    general, general_steps = _sgd_steps(optim.Optimizer.step, schedule, big)
    for a, b in zip(fast, general):
        np.testing.assert_array_equal(a, b)
    assert fast_steps == general_steps == [5, 5, 0, 5]


def test_plain_sgd_names_a_gradient_of_the_wrong_shape():
    w = cr.tensor(np.ones((2, 3)), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = cr.tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"SGD.step: parameter 0 has shape \(2, 3\) but its "
                       r"gradient has shape \(3, 2\)"):  # fmt: skip
        opt.step()
    assert np.all(w.numpy() == 1) and opt.steps == [0]


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p, lr=0.1)])
def test_a_gradient_of_another_library_is_refused_naming_both(make):
    """A gradient assigned by hand in another library than its parameter's is an error naming
    both, and nothing moves (it was a silent no-op for a torch parameter and a NumPy gradient)."""
    torch = pytest.importorskip("torch")
    w = cr.tensor(torch.ones(3, dtype=torch.float64), requires_grad=True)
    v = cr.tensor(np.ones(3), requires_grad=True)
    opt = make([w, v])
    w.grad, v.grad = np.full(3, 0.5), cr.tensor(torch.full((3,), 0.5, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"step: parameter 0: an operand of torch on cpu and one "
                       r"of numpy cannot be combined"):  # fmt: skip
        opt.step()
    w.grad = None
    with pytest.raises(TypeError, match=r"parameter 1: an operand of numpy and one of torch"):
        opt.step()
    assert torch.equal(w.data, torch.ones(3, dtype=torch.float64)) and np.all(v.numpy() == 1)
    assert opt.steps == [0, 0]


def test_a_schedule_setting_a_numpy_scalar_keeps_the_optimizer_json_writable() -> None:
    import json

    opt = optim.SGD([nn.Parameter(np.zeros(3, np.float32))], lr=0.1)
    optim.PiecewiseSchedule(opt, {0: {"momentum": np.float32(0.5), "lr": np.float64(0.01)}})
    assert type(opt.momentum) is float and opt.momentum == 0.5 and opt.lr == 0.01
    json.dumps(opt.state_dict()["config"])  # np.float32 is not JSON-serialisable


# ---------------------------------------------------------------------------------------------
# One home for the hyperparameter checks: constructors, load_state_dict and schedules
# ---------------------------------------------------------------------------------------------

# (optimizer, hyperparameter, a value its constructor refuses, what the error says)
REFUSED = [
    (lambda p, **h: optim.SGD(p, **{"lr": 0.1, **h}), "lr", -1.0, "lr must be a number >= 0"),
    (lambda p, **h: optim.SGD(p, **{"lr": 0.1, **h}), "lr", "x", "lr must be a number >= 0"),
    (lambda p, **h: optim.SGD(p, **{"lr": 0.1, **h}), "lr", None, "lr must be a number >= 0"),
    (lambda p, **h: optim.SGD(p, **{"lr": 0.1, **h}), "momentum", None, "momentum must be"),
    (lambda p, **h: optim.SGD(p, **{"lr": 0.1, **h}), "momentum", -0.5, "momentum must be"),
    (lambda p, **h: optim.SGD(p, **{"lr": 0.1, **h}), "nesterov", "x", "nesterov must be True"),
    (lambda p, **h: optim.SGD(p, **{"lr": 0.1, **h}), "shrink", float("inf"), "shrink must be"),
    (lambda p, **h: optim.SGD(p, **{"lr": 0.1, **h}), "shrink", 1.5, r"shrink must be in \[0, 1\)"),
    (lambda p, **h: optim.SGD(p, **{"lr": 0.1, **h}), "shrink", 1, r"shrink must be in \[0, 1\)"),
    (lambda p, **h: optim.Adam(p, **h), "betas", [0.9], r"betas must be two numbers in \[0, 1\)"),
    (lambda p, **h: optim.Adam(p, **h), "betas", [1.5, 2.0], r"betas must be two numbers"),
    (lambda p, **h: optim.AdamW(p, **h), "betas", ["a", "b"], r"betas must be two numbers"),
    (lambda p, **h: optim.Adam(p, **h), "eps", -1e-8, "eps must be a number >= 0"),
    (lambda p, **h: optim.RMSprop(p, **{"lr": 0.01, **h}), "alpha", 1.5, r"alpha must be in \[0"),
    (lambda p, **h: optim.RMSprop(p, **{"lr": 0.01, **h}), "weight_decay", -1.0, "weight_decay"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "key", "value", "message"), REFUSED,
                         ids=[f"{key}={value!r}" for _, key, value, _ in REFUSED])  # fmt: skip
def test_load_state_dict_refuses_what_the_constructor_refuses_and_changes_nothing(
    make, key, value, message
):
    """A saved configuration with lr -1 was loaded (gradient ascent); lr "x" or None, betas
    [0.9] or momentum None loaded and then failed inside step with a NumPy or math error."""
    with pytest.raises(nn.ConfigError, match=message):
        make(nn.Linear(2, 3, rng=0).parameters(), **{key: value})
    opt, params, _ = chainrule_run(make, 2)
    before = opt.state_dict()
    bad = json.loads(json.dumps(before["config"]))
    bad[key] = value
    with pytest.raises(nn.StateDictError, match=f"{type(opt).__name__}.load_state_dict: {message}"):
        opt.load_state_dict({"config": bad, "state": before["state"]})
    after = opt.state_dict()
    assert after["config"] == before["config"] and opt.steps == [2, 2]
    for name, array in before["state"].items():
        np.testing.assert_array_equal(after["state"][name], array)
    for p in params:
        p.grad = cr.tensor(gradient_at(p.numpy()))
    opt.step()  # it still steps


def test_torch_refuses_the_same_hyperparameters(torch):
    """The oracle: torch.optim's constructors refuse these values too."""
    w = [torch.zeros(2, requires_grad=True)]
    for make in (lambda: torch.optim.SGD(w, lr=-1.0), lambda: torch.optim.SGD(w, lr=0.1,
                 momentum=-0.5), lambda: torch.optim.Adam(w, betas=(1.5, 2.0)),
                 lambda: torch.optim.Adam(w, eps=-1e-8),
                 lambda: torch.optim.RMSprop(w, lr=0.01, weight_decay=-1.0)):  # fmt: skip
        with pytest.raises(ValueError):
            make()


def test_load_state_dict_refuses_malformed_states_as_state_dict_errors():
    """Each was a raw TypeError or AttributeError (a non-scalar step count escaped a resume),
    or was silently changed (a complex buffer cast to real, step count 2.7 taken as 2)."""
    opt, _, _ = chainrule_run(lambda p: optim.Adam(p, lr=0.01), 2)
    good = opt.state_dict()
    state = good["state"]
    cases = {
        "expected a dict with 'config'": {"config": None, "state": state},
        "'state' must be a dict of arrays, not NoneType": {"config": good["config"], "state": None},
        r"'step.0' must be a whole number >= 0, not \[1, 2\]": {"step.0": np.array([1, 2])},
        "'step.0' must be a whole number >= 0, not 2.7": {"step.0": np.array(2.7)},
        "'step.1' must be a whole number >= 0, not -1": {"step.1": np.array(-1)},
        "'step.1' must be a whole number >= 0, not 'x'": {"step.1": "x"},
        "'m.0' holds complex128 values": {"m.0": state["m.0"] + 1j},
    }
    for message, change in cases.items():
        bad = change if "config" in change else {"config": good["config"],
                                                 "state": {**state, **change}}  # fmt: skip
        with pytest.raises(nn.StateDictError, match=message):
            opt.load_state_dict(bad)
        assert opt.steps == [2, 2]
        np.testing.assert_array_equal(opt.state_dict()["state"]["m.0"], state["m.0"])
    opt.load_state_dict({"config": good["config"], "state": {**state, "step.0": np.array(5.0)}})
    assert opt.steps == [5, 2]  # a whole number stored as a float is that number


def test_all_hyperparameters_take_numpy_scalars_and_refuse_arrays_alike():
    """RMSprop took alpha=np.array(0.5) where lr=np.array(0.1) is refused, and its checkpoint
    then failed with "Object of type ndarray is not JSON serializable"."""
    params = nn.Linear(2, 1, rng=0).parameters()
    with pytest.raises(nn.ConfigError, match=r"RMSprop: alpha must be in \[0, 1\), not array"):
        optim.RMSprop(params, lr=0.01, alpha=np.array(0.5))
    with pytest.raises(nn.ConfigError, match="SGD: lr must be a number >= 0, not array"):
        optim.SGD(params, lr=np.array(0.1))
    with pytest.raises(nn.ConfigError, match="SGD: momentum must be a number >= 0, not array"):
        optim.SGD(params, lr=0.1, momentum=np.array(0.5))
    adam = optim.Adam(params, betas=np.array([0.8, np.float32(0.9)]))
    assert adam.betas == (0.8, float(np.float32(0.9))) and type(adam.betas) is tuple
    sgd = optim.SGD(params, lr=0.1, momentum=0.5, nesterov=np.bool_(True))
    assert sgd.nesterov is True


def test_config_writes_numpy_scalars_a_callback_set_as_python_numbers():
    """Hyperparameters are plain attributes: ``opt.lr = np.float32(0.5)`` made the checkpoint's
    JSON fail; config() now writes the Python number, and loading it back takes it."""
    params = nn.Linear(2, 1, rng=0).parameters()
    opt = optim.Adam(params, lr=0.01)
    opt.lr, opt.eps, opt.betas = np.float32(0.5), np.float64(1e-6), (np.float64(0.8), 0.9)
    config = opt.config()
    assert json.loads(json.dumps(config)) == config
    assert type(config["lr"]) is float and config["lr"] == float(np.float32(0.5))
    assert config["eps"] == 1e-6 and config["betas"] == [0.8, 0.9]
    other = optim.Adam(params)
    other.load_state_dict({"config": config, "state": {}})
    assert other.lr == config["lr"] and other.betas == (0.8, 0.9)


def test_a_schedule_refuses_arguments_that_give_a_learning_rate_the_optimizer_refuses():
    """StepLR(gamma=-1) and CosineLR(min_lr=-0.5) gave negative learning rates in silence."""
    with pytest.raises(nn.ConfigError, match="StepLR: gamma must be a number > 0, not -1"):
        optim.StepLR(sgd(), 1, gamma=-1.0)
    with pytest.raises(nn.ConfigError, match="ExponentialLR: gamma must be a number > 0, not 0"):
        optim.ExponentialLR(sgd(), 0.0)
    with pytest.raises(nn.ConfigError, match="ExponentialLR: gamma must be a number > 0"):
        optim.ExponentialLR(sgd(), "x")
    with pytest.raises(nn.ConfigError, match=r"CosineLR: min_lr must be a number >= 0, not -0.5"):
        optim.CosineLR(sgd(), 4, min_lr=-0.5)
    assert optim.CosineLR(sgd(), 4, min_lr=np.float32(0.25)).min_lr == 0.25


def test_a_piecewise_schedule_checks_every_milestone_as_the_optimizer_does():
    """Milestones with lr -1 or Adam betas (1, 2) were written as they were: a negative
    learning rate, then a math domain error inside Adam.step. Each milestone is checked when
    the schedule is made, naming the schedule, the epoch and the value, and nothing is set."""
    opt = sgd(0.1)
    with pytest.raises(nn.ConfigError, match="PiecewiseSchedule: epoch 0: lr must be a number >= 0"
                       ", not -1.0"):  # fmt: skip
        optim.PiecewiseSchedule(opt, {0: {"lr": -1.0}})
    with pytest.raises(nn.ConfigError, match="PiecewiseSchedule: epoch 20: momentum must be"):
        optim.PiecewiseSchedule(opt, {0: {"lr": 0.01}, 20: {"momentum": None}})
    assert (opt.lr, opt.momentum) == (0.1, 0.9)  # the milestone 0 before it was not applied
    adam = optim.Adam(nn.Linear(2, 1, rng=0).parameters(), lr=0.1)
    with pytest.raises(nn.ConfigError, match=r"PiecewiseSchedule: epoch 0: betas must be two "
                       r"numbers in \[0, 1\), not \(1.0, 2.0\)"):  # fmt: skip
        optim.PiecewiseSchedule(adam, {0: {"betas": (1.0, 2.0)}})
    assert adam.betas == (0.9, 0.999)
    optim.PiecewiseSchedule(adam, {0: {"betas": [0.5, 0.6]}})  # a JSON list is a pair
    assert adam.betas == (0.5, 0.6)


def test_set_hyperparameters_checks_all_before_setting_any():
    opt = sgd(0.1)
    with pytest.raises(nn.ConfigError, match="mine: momentum must be a number >= 0, not -1"):
        opt.set_hyperparameters({"lr": 0.5, "momentum": -1}, "mine")
    with pytest.raises(nn.ConfigError, match="SGD has no hyperparameter 'beta'"):
        opt.set_hyperparameters({"lr": 0.5, "beta": 0.1})
    assert (opt.lr, opt.momentum) == (0.1, 0.9)
    opt.set_hyperparameters({"lr": np.float32(0.5)})
    assert type(opt.lr) is float


def test_a_schedule_state_with_a_bad_base_lr_is_refused_and_changes_nothing():
    schedule = optim.StepLR(sgd(0.1), 2, gamma=0.5)
    good = schedule.state_dict()
    for key, value, message in [("base_lr", -1.0, "'base_lr' must be a number >= 0, not -1.0"),
                                ("base_lr", None, "'base_lr' must be a number >= 0"),
                                ("epoch", "3", "'epoch' must be a whole number >= 0"),
                                ("epoch", -2, "'epoch' must be a whole number >= 0")]:  # fmt: skip
        with pytest.raises(nn.StateDictError, match=f"StepLR.load_state_dict: {message}"):
            schedule.load_state_dict({**good, key: value})
        assert (schedule.epoch, schedule.base_lr, schedule.optimizer.lr) == (0, 0.1, 0.1)


# ---------------------------------------------------------------------------------------------
# array-api-strict: a wider gradient keeps the parameter's dtype, in place
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
     lambda p: optim.Adam(p, lr=0.1), lambda p: optim.RMSprop(p, lr=0.01)],
    ids=["sgd", "momentum", "adam", "rmsprop"],
)  # fmt: skip
def test_a_float64_gradient_keeps_a_strict_float32_parameter_float32_and_in_place(
    make, monkeypatch
):
    """A float32 parameter of array-api-strict given a float64 gradient became float64 (NumPy
    and PyTorch keep float32), and the refused in-place write marked every array-api-strict
    array immutable for the rest of the process."""
    xs = pytest.importorskip("array_api_strict")
    from chainrule import backend

    monkeypatch.setattr(backend, "_MUTABLE", {})
    w = cr.tensor(W0.astype(np.float32), xp=xs, requires_grad=True)
    ref = cr.tensor(W0.astype(np.float32), requires_grad=True)  # NumPy's update: the reference
    held = w.data
    opt, ref_opt = make([w]), make([ref])
    for _ in range(3):
        g = gradient_at(backend.to_numpy(w.data).astype(np.float64))
        w.grad, ref.grad = xs.asarray(g), g  # float64 gradients
        opt.step()
        ref_opt.step()
        assert w.data is held and w.data.dtype == xs.float32
        assert all(b.dtype == xs.float32 for b in opt.state[0].values())
    np.testing.assert_allclose(backend.to_numpy(w.data), ref.numpy(), rtol=1e-5, atol=1e-6)
    assert backend._MUTABLE == {}


def test_a_refused_dtype_does_not_mark_a_library_immutable(monkeypatch):
    xs = pytest.importorskip("array_api_strict")
    from chainrule import backend

    monkeypatch.setattr(backend, "_MUTABLE", {})
    holder = cr.Tensor(xs.zeros(3, dtype=xs.float32))
    backend.write(holder, xs.ones(3, dtype=xs.float64))  # refused in place: replaced instead
    assert backend._MUTABLE == {}
    kept = holder.data
    backend.write(holder, xs.full(3, 2.0, dtype=kept.dtype))  # an array like it: in place
    assert holder.data is kept and backend._MUTABLE == {}


@pytest.mark.parametrize("kind", [optim.SGD, optim.Adam])
def test_one_tensor_for_params_is_refused_as_one_tensor(kind):
    # list(weight) made it its rows: the message blamed a getitem op and advised detach()
    net = nn.mlp([3, 4, 2], dtype="float64", rng=0)
    with pytest.raises(cr.errors.ConfigError, match=r"params is one tensor; give an iterable"):
        kind(net[0].weight, lr=0.1)


@pytest.mark.parametrize("kind", [optim.SGD, optim.Adam])
def test_a_grad_set_to_a_list_is_named_not_an_attribute_error(kind):
    p = nn.Parameter(np.zeros(3))
    p.grad = [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match=r"step: parameter 0's .grad is a list, not an array"):
        kind([p], lr=0.1).step()
