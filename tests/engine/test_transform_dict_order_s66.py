"""A transform's dict results keep the key order of the dict they were given, as torch.func's do.

The transforms flattened a dict in sorted key order and rebuilt it so: ``cr.grad(f)(params)``
returned the gradients in sorted order, not ``params``' (``named_parameters()``': ``2.weight``
before ``10.weight``, ``weight`` before ``bias``), and a user flattening the parameters and
the gradient with ``.values()`` (scipy.optimize) paired the wrong entries, silently. Tangents
and cotangents still pair with primals and outputs by key, whatever their own order.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

# inserted out of sorted order ("w" < "b" is false, "10" < "9" as strings), of three shapes, so
# a gradient under the wrong key has the wrong shape or values
P = {
    "w": np.array([[0.3, -0.7], [1.1, 0.4]]),
    "b": np.array([0.5, -1.5]),
    "9.x": np.array([0.2, 0.9, -0.4]),
    "10.x": np.array(1.3),
}
KEYS = list(P)


def f(p):
    return (
        cr.tanh(p["w"] @ p["b"]).sum() * p["10.x"]
        + (p["9.x"] ** 3).sum() * p["b"][0]
        + cr.exp(p["10.x"] * p["w"]).sum()
    )


def f_np(p):
    return (
        np.tanh(p["w"] @ p["b"]).sum() * p["10.x"]
        + (p["9.x"] ** 3).sum() * p["b"][0]
        + np.exp(p["10.x"] * p["w"]).sum()
    )


def _central(fn, p, eps=1e-6):
    """d fn / d p[key] by central differences, per key, in P's order."""
    grads = {}
    for key in KEYS:
        g = np.zeros_like(p[key])
        for i in np.ndindex(p[key].shape):
            up = {k: v.copy() for k, v in p.items()}
            down = {k: v.copy() for k, v in p.items()}
            up[key][i] += eps
            down[key][i] -= eps
            g[i] = (fn(up) - fn(down)) / (2 * eps)
        grads[key] = g
    return grads


EXPECTED = _central(f_np, P)


def _close(got, expected, rtol=1e-6, atol=1e-8):
    assert list(got) == list(expected)
    for key in expected:
        np.testing.assert_allclose(np.asarray(got[key]), expected[key], rtol=rtol, atol=atol)


def test_grad_keeps_the_order_and_values_pair_up():
    g = cr.grad(f)(P)
    assert list(g) == KEYS
    _close(g, EXPECTED)
    flat_g = np.concatenate([np.ravel(v.numpy()) for v in g.values()])
    flat_p = np.concatenate([np.ravel(v) for v in P.values()])
    flat_fd = np.concatenate([np.ravel(v) for v in EXPECTED.values()])
    assert flat_g.shape == flat_p.shape
    np.testing.assert_allclose(flat_g, flat_fd, rtol=1e-6, atol=1e-8)


def test_value_and_grad_and_the_function_see_the_order():
    seen = []

    def recording(p):
        seen.append(list(p))
        return f(p)

    value, g = cr.value_and_grad(recording)(P)
    assert seen == [KEYS]
    assert value.item() == pytest.approx(f_np(P))
    _close(g, EXPECTED)


def test_vjp_and_jvp_pair_by_key_and_keep_the_order():
    def outputs(p):  # a dict out, in another order than its input's
        return {"sq": p["b"] * p["b"], "lin": p["w"] @ p["b"]}

    out, pull = cr.vjp(outputs, P)
    assert list(out) == ["sq", "lin"]
    u = {"lin": np.array([1.0, -2.0]), "sq": np.array([0.5, 3.0])}  # cotangents reordered
    (grads,) = pull(u)
    assert list(grads) == KEYS
    w, b = P["w"], P["b"]
    np.testing.assert_allclose(grads["w"].numpy(), np.outer(u["lin"], b))
    np.testing.assert_allclose(grads["b"].numpy(), 2 * b * u["sq"] + w.T @ u["lin"])

    tangents = {k: np.full_like(P[k], 0.25 * (n + 1)) for n, k in enumerate(reversed(KEYS))}
    _, pushed = cr.jvp(outputs, (P,), (tangents,))
    assert list(pushed) == ["sq", "lin"]
    tw, tb = tangents["w"], tangents["b"]
    np.testing.assert_allclose(pushed["sq"].numpy(), 2 * b * tb)
    np.testing.assert_allclose(pushed["lin"].numpy(), tw @ b + w @ tb)


def test_jacobian_hessian_and_hvp_keep_the_order():
    jac = cr.jacobian(f)(P)
    assert list(jac) == KEYS
    _close(jac, EXPECTED)
    hess = cr.hessian(f)(P)
    assert list(hess) == KEYS
    assert all(list(row) == KEYS for row in hess.values())
    v = {k: np.ones_like(P[k]) * 0.5 for k in reversed(KEYS)}  # paired by key
    hv = cr.hvp(f, (P,), (v,))  # one primal: its result alone
    assert list(hv) == KEYS

    def along_v(p):  # d/dp <grad f(p), v>, by differences of the gradient
        g = cr.grad(f)({k: np.asarray(x) for k, x in p.items()})
        return sum(float((g[k].numpy() * v[k]).sum()) for k in KEYS)

    expected = _central(along_v, P, eps=1e-5)
    _close(hv, expected, rtol=1e-5, atol=1e-7)
    for key in KEYS:  # the Hessian's rows times v, key by key
        row = sum(
            np.tensordot(hess[key][other].numpy(), v[other], axes=v[other].ndim) for other in KEYS
        )
        np.testing.assert_allclose(row, hv[key].numpy(), rtol=1e-10, atol=1e-12)


def test_the_order_is_torch_funcs(torch):
    tp = {k: torch.tensor(v, dtype=torch.float64) for k, v in P.items()}

    def tf(p):
        return (
            torch.tanh(p["w"] @ p["b"]).sum() * p["10.x"]
            + (p["9.x"] ** 3).sum() * p["b"][0]
            + torch.exp(p["10.x"] * p["w"]).sum()
        )

    theirs = torch.func.grad(tf)(tp)
    ours = cr.grad(f)(P)
    assert list(ours) == list(theirs) == KEYS
    for key in KEYS:
        np.testing.assert_allclose(ours[key].numpy(), theirs[key].numpy(), rtol=1e-12)
    their_hessian = torch.func.hessian(tf)(tp)
    our_hessian = cr.hessian(f)(P)
    assert [list(r) for r in our_hessian.values()] == [list(r) for r in their_hessian.values()]
    assert list(our_hessian) == list(their_hessian)
    their_jacobian = torch.func.jacrev(tf)(tp)
    assert list(cr.jacobian(f)(P)) == list(their_jacobian)
