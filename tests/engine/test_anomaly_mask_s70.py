"""detect_anomaly reports a NaN or Inf where an op produced it, not where an op passed on one it
was given: a causal attention mask's -inf (copied by where, added to the scores, doubled) runs
clean, as under torch's detect_anomaly, while a real NaN is still caught at its op."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import AnomalyError

T = 4
CAUSAL = np.triu(np.ones((T, T), bool), 1)


def _scores() -> cr.Tensor:
    return cr.tensor(np.random.default_rng(0).normal(size=(T, T)), requires_grad=True)


def _torch_softmax_grad(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    torch = pytest.importorskip("torch")
    s = torch.tensor(scores, requires_grad=True)
    masked = s.masked_fill(torch.tensor(CAUSAL), float("-inf"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's "Anomaly Detection has been enabled"
        with torch.autograd.detect_anomaly():
            (torch.softmax(masked, -1) * torch.tensor(weights)).sum().backward()
    return s.grad.numpy()


def test_causal_mask_by_where_runs_clean_and_matches_torch():
    s = _scores()
    weights = np.arange(T * T, dtype=float).reshape(T, T)
    with cr.detect_anomaly():
        (cr.softmax(cr.where(CAUSAL, -np.inf, s), axis=-1) * weights).sum().backward()
    np.testing.assert_allclose(
        s.grad.numpy(), _torch_softmax_grad(s.data, weights), rtol=1e-12, atol=1e-12
    )


def test_additive_causal_mask_runs_clean():
    s = _scores()
    with cr.detect_anomaly():
        cr.softmax(s + np.where(CAUSAL, -np.inf, 0.0), axis=-1).sum().backward()
    assert np.all(np.isfinite(s.grad.numpy()))


def test_scaling_masked_scores_runs_clean():
    s = _scores()
    with cr.detect_anomaly():
        scaled = cr.where(CAUSAL, -np.inf, s) * 0.5  # mul of a -inf it was given
        cr.softmax(scaled, axis=-1).sum().backward()
    assert np.all(np.isfinite(s.grad.numpy()))


def test_leaf_holding_inf_times_two_runs_clean():
    x = cr.tensor([np.inf, 1.0], requires_grad=True)
    with cr.detect_anomaly():
        (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def _raises(f, match: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own "invalid value"
        with pytest.raises(AnomalyError, match=match), cr.detect_anomaly():
            f()


def test_log_of_a_negative_is_still_caught_at_log():
    _raises(lambda: cr.log(cr.tensor([-1.0], requires_grad=True)), r"^log: forward produced NaN")


def test_zero_over_zero_is_still_caught_at_div():
    x = cr.tensor([0.0], requires_grad=True)
    _raises(lambda: x / cr.tensor([0.0]), r"^div: forward produced NaN")


def test_sqrt_backward_at_zero_is_still_caught():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    _raises(lambda: cr.sqrt(x).sum().backward(), r"^sqrt: backward produced Inf")


def test_fully_masked_row_is_caught_at_softmax():
    s = _scores()
    every = np.ones((T, T), bool)
    _raises(
        lambda: cr.softmax(cr.where(every, -np.inf, s), axis=-1), r"^softmax: forward produced NaN"
    )


def test_inf_minus_inf_from_given_infs_is_produced():
    a = cr.tensor([np.inf], requires_grad=True)
    _raises(lambda: a - a, r"^sub: forward produced NaN")


def test_overflow_beside_nothing_infinite_is_still_caught():
    _raises(lambda: cr.exp(cr.tensor([1000.0], requires_grad=True)), r"^exp: forward produced Inf")


def test_zero_times_masked_minus_inf_in_backward_is_caught_as_torch_gets_nan():
    """A learned temperature applied after masking: its gradient sums 0 * -inf at the masked
    entries, NaN in torch too; the rule produced that NaN from no NaN, so it is named."""
    torch = pytest.importorskip("torch")
    s = _scores()
    t = cr.tensor(2.0, requires_grad=True)
    _raises(
        lambda: cr.softmax(cr.where(CAUSAL, -np.inf, s) * t, axis=-1).sum().backward(),
        r"^mul: backward produced NaN",
    )
    ts = torch.tensor(s.data).masked_fill(torch.tensor(CAUSAL), float("-inf"))
    tt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    torch.softmax(ts * tt, -1).sum().backward()
    assert torch.isnan(tt.grad)
