"""SGD(nesterov=True)'s parameters are lecture 6c's look-ahead point, not its weights.

Hinton's lecture 6c (Sutskever et al. 2013) keeps weights W, jumps to W + mu v, measures the
gradient there and corrects:

    v(t) = mu v(t-1) - lr dE/dw(W(t-1) + mu v(t-1)),     W(t) = W(t-1) + v(t).

chainrule (as PyTorch) steps w += mu v(t) - lr g with g taken at w: its w(t) is the lecture's
W(t) + mu v(t), the point the next gradient is taken at. The two agree at the start and at the
minimum (v = 0 there) and differ on the way. Pinned on a quadratic E = 1/2 w^T H w, against the
lecture's recursion written out here and against torch.optim.SGD(nesterov=True).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

H = np.array([10.0, 1.0])  # E = 1/2 sum H w^2: dE/dw = H w
W0 = np.array([1.0, 1.0])
LR, MU = 0.05, 0.9


def chainrule_weights(steps, xp="numpy"):
    lib = np if xp == "numpy" else pytest.importorskip(xp)
    w = cr.tensor(lib.asarray(W0.copy()), requires_grad=True)
    opt = optim.SGD([w], lr=LR, momentum=MU, nesterov=True)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (cr.tensor(lib.asarray(H)) * w * w).sum()).backward()
        opt.step()
        out.append(cr.backend.to_numpy(w.data).copy())
    return out


def lecture(steps):
    """(W(t), v(t)) by lecture 6c's recursion: jump, measure, correct."""
    W, v, out = W0.copy(), np.zeros(2), []
    for _ in range(steps):
        v = MU * v - LR * H * (W + MU * v)
        W = W + v
        out.append((W.copy(), v.copy()))
    return out


@pytest.mark.parametrize("xp", ["numpy", "array_api_strict"])
def test_the_parameters_are_the_lectures_look_ahead_point(xp):
    ours = chainrule_weights(30, xp)
    for t, (w, (W, v)) in enumerate(zip(ours, lecture(30)), start=1):
        np.testing.assert_allclose(w, W + MU * v, rtol=1e-13, atol=1e-15, err_msg=f"step {t}")
    # the first step: w(1) = [0.05, 0.905], the lecture's W(1) = [0.5, 0.95]
    np.testing.assert_allclose(ours[0], [0.05, 0.905], rtol=1e-14)
    np.testing.assert_allclose(lecture(1)[0][0], [0.5, 0.95], rtol=1e-14)


def test_both_reach_the_same_minimum():
    w, (W, _) = chainrule_weights(400)[-1], lecture(400)[-1]
    np.testing.assert_allclose(w, 0.0, atol=1e-8)
    np.testing.assert_allclose(W, 0.0, atol=1e-8)


def test_it_is_torchs_nesterov():
    torch = pytest.importorskip("torch")
    wt = torch.tensor(W0.copy(), requires_grad=True)
    opt = torch.optim.SGD([wt], lr=LR, momentum=MU, nesterov=True)
    theirs = []
    for _ in range(30):
        opt.zero_grad()
        (0.5 * (torch.tensor(H) * wt * wt).sum()).backward()
        opt.step()
        theirs.append(wt.detach().numpy().copy())
    for t, (a, b) in enumerate(zip(chainrule_weights(30), theirs), start=1):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15, err_msg=f"step {t}")
