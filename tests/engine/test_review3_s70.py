"""Review of db759ed: two regressions.

detect_anomaly took every NaN an op's input held as passed on, so a NaN in the data, a
parameter or a target (a leaf: no op made it, so no op's check saw it) ran through the whole
forward and backward unreported. It is now reported at the first op that reads it, naming that
input as the leaf it entered by; a -inf mask stays quiet, and a NaN an op makes is named as before.

``.T`` past 2 axes raised, which broke a user primitive whose derivative rule uses ``.T`` under
create_graph (rules get tensors then; arrays and tensors share ``.T``): it reverses every axis
again, as NumPy's, with a warning outside the engine's rules."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import AnomalyError
from chainrule.ops import primitive
from chainrule.ops.registry import REGISTRY

RNG = np.random.default_rng(0)


def _net() -> nn.Sequential:
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))


def _step(net, X, T) -> None:
    nn.MSE()(net(cr.tensor(X)), T).backward()


def _data() -> tuple[np.ndarray, np.ndarray]:
    return RNG.normal(size=(5, 3)), RNG.normal(size=(5, 1))


def _raised(f) -> str:
    with (
        warnings.catch_warnings(),
        pytest.raises(AnomalyError) as caught,
        cr.detect_anomaly(),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own "invalid value"
        f()
    return str(caught.value)


# -- a NaN that enters from a leaf --------------------------------------------------------------


def test_nan_in_the_data_is_named_where_it_reaches_a_gradient_as_a_leaf_input():
    """In backward, as torch names it (review 5: a NaN constant masked away by where reaches no
    gradient and is not reported, so the forward names a NaN only in a parameter)."""
    net, (X, T) = _net(), _data()
    X[2, 1] = np.nan
    said = _raised(lambda: _step(net, X, cr.tensor(T)))
    assert said.startswith("linear: backward got NaN from its input 0, a leaf of shape (5, 3)")
    assert "entered the graph there" in said and "test_review3_s70.py" in said


def test_nan_in_a_weight_is_named_by_the_parameter():
    net, (X, T) = _net(), _data()
    net[0].weight.data[0, 0] = np.nan
    said = _raised(lambda: _step(net, X, cr.tensor(T)))
    assert said.startswith(
        "linear: forward got NaN from its input 1 (weight), a leaf of shape (3, 4)"
    )


@pytest.mark.parametrize("as_tensor", [True, False], ids=["tensor", "array"])
def test_nan_in_a_target_constant_is_named(as_tensor):
    net, (X, T) = _net(), _data()
    T[1, 0] = np.nan
    said = _raised(lambda: _step(net, X, cr.tensor(T) if as_tensor else T))
    assert "backward got NaN from its input" in said and "a leaf of shape (5, 1)" in said


def test_nan_weight_seen_first_in_backward_is_named_there():
    """The forward ran without detect_anomaly: the backward reports where the NaN came in."""
    net, (X, T) = _net(), _data()
    net[2].weight.data[0, 0] = np.nan
    E = nn.MSE()(net(cr.tensor(X)), cr.tensor(T))
    said = _raised(E.backward)
    assert said.startswith("linear: backward got NaN from its input 1 (weight), a leaf of shape")


def test_nan_an_op_made_outside_the_check_is_passed_on_quietly():
    """A recorded op's output is checked at its own op: its NaN is not blamed on the next."""
    with np.errstate(invalid="ignore"):
        h = cr.log(cr.tensor([-1.0, 1.0], requires_grad=True))  # no detect_anomaly here
    with cr.detect_anomaly():
        out = h * 2.0
    assert np.isnan(out.numpy()[0])


# -- what stays as it was ------------------------------------------------------------------------


def test_a_leaf_minus_inf_mask_stays_quiet():
    s = cr.tensor(RNG.normal(size=(4, 4)), requires_grad=True)
    mask = cr.tensor(np.where(np.triu(np.ones((4, 4), bool), 1), -np.inf, 0.0))
    with cr.detect_anomaly():
        cr.softmax(s + mask, axis=-1).sum().backward()
    assert np.all(np.isfinite(s.grad.numpy()))


def test_nans_ops_make_are_still_named_as_produced():
    x = cr.tensor([-1.0], requires_grad=True)
    assert _raised(lambda: cr.log(x)).startswith("log: forward produced NaN")
    zero = cr.tensor([0.0], requires_grad=True)
    assert _raised(lambda: zero / cr.tensor([0.0])).startswith("div: forward produced NaN")
    z = cr.tensor([0.0, 4.0], requires_grad=True)
    said = _raised(lambda: cr.sqrt(z).sum().backward())
    assert said.startswith("sqrt: backward produced Inf")


# -- .T past 2 axes ------------------------------------------------------------------------------


@pytest.fixture
def reverse():
    name = "test_review3_s70_reverse"
    REGISTRY.pop(name, None)
    yield primitive(name, lambda x: x.T.copy(), lambda g, out, x: g.T, doc="reverse axes")
    REGISTRY.pop(name)


def test_a_rule_using_T_runs_under_create_graph_without_a_warning(reverse):
    values = RNG.normal(size=(2, 3, 4))
    x = cr.tensor(values, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rule's .T means NumPy's: no warning
        (g,) = cr.gradient((reverse(x) ** 2).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 2 * values)  # d/dx sum(x.T^2) = 2x
    (h,) = cr.gradient(g.sum(), [x])  # and differentiated again: d/dx sum(2x) = 2
    np.testing.assert_allclose(h.numpy(), np.full_like(values, 2.0))


def test_T_past_two_axes_reverses_them_all_with_a_warning_at_the_users_line():
    values = RNG.normal(size=(2, 3, 4, 5))
    with pytest.warns(UserWarning, match=r"\.T of a 4-d tensor .* x\.mT") as caught:
        out = cr.tensor(values).T
    assert caught[0].filename == __file__
    np.testing.assert_array_equal(out.numpy(), values.T)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_T_up_to_two_axes_does_not_warn(shape):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.tensor(RNG.normal(size=shape)).T  # noqa: B018


def test_nan_padding_masked_away_by_where_is_quiet():
    """Review 5: NaN padding that where keeps out of every gradient is no anomaly (torch's
    detect_anomaly passes it); it raised at the forward once leaves' NaN were named there."""
    x = cr.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    keep = np.array([True, False, True])
    with cr.detect_anomaly():
        padded = cr.where(keep, x, np.nan)
        cr.sum(cr.where(keep, padded * 2, 0.0)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 2.0])
