"""``cr.vjp(f, x, has_aux=True)`` gives ``(output, vjp_fn, aux)``, as ``torch.func.vjp`` and
``jax.vjp`` do (it raised "vjp() got an unexpected keyword argument 'has_aux'"); aux is handled
as grad's and value_and_grad's is. Oracles: torch.func.vjp and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.array([0.5, -1.0, 2.0])


def test_vjp_with_aux_matches_torch_func() -> None:
    def f(x, lib):
        out = lib.tanh(x) * x
        return out, {"logits": x * 3.0}

    out, vjp_fn, aux = cr.vjp(lambda x: f(x, cr), cr.tensor(X), has_aux=True)
    out_t, vjp_fn_t, aux_t = torch.func.vjp(lambda x: f(x, torch), torch.tensor(X), has_aux=True)
    cotangent = np.array([1.0, -2.0, 0.5])
    (g,) = vjp_fn(cr.tensor(cotangent))
    (g_t,) = vjp_fn_t(torch.tensor(cotangent))
    np.testing.assert_allclose(out.numpy(), out_t.numpy(), rtol=1e-14)
    np.testing.assert_allclose(g.numpy(), g_t.numpy(), rtol=1e-14)
    np.testing.assert_allclose(aux["logits"].numpy(), aux_t["logits"].numpy())
    assert not aux["logits"].requires_grad and not out.requires_grad


def test_vjp_with_aux_of_two_primals_and_a_tuple_output() -> None:
    """out = (x y, x + y), aux = x - y: cotangent (u, v) gives (u y + v, u x + v)."""
    x, y = cr.tensor(X), cr.tensor([1.0, 2.0, 3.0])
    out, vjp_fn, aux = cr.vjp(lambda a, b: ((a * b, a + b), a - b), x, y, has_aux=True)
    u, v = np.array([1.0, 0.5, -1.0]), np.array([2.0, 2.0, 2.0])
    gx, gy = vjp_fn((cr.tensor(u), cr.tensor(v)))
    np.testing.assert_allclose(gx.numpy(), u * y.numpy() + v)
    np.testing.assert_allclose(gy.numpy(), u * X + v)
    np.testing.assert_allclose(out[0].numpy(), X * y.numpy())
    np.testing.assert_allclose(aux.numpy(), X - y.numpy())


def test_vjp_aux_keeps_leaves_that_are_not_tensors() -> None:
    """As grad's aux does (torch.func refuses them)."""
    _, _, aux = cr.vjp(lambda x: (x * x, {"note": "aux", "n": 3}), cr.tensor(X), has_aux=True)
    assert aux == {"note": "aux", "n": 3}


def test_vjp_without_aux_still_gives_a_pair() -> None:
    result = cr.vjp(lambda x: x * x, cr.tensor(X))
    assert len(result) == 2
    result = cr.vjp(lambda x: x * x, cr.tensor(X), has_aux=False)
    assert len(result) == 2


def test_vjp_aux_carries_an_outer_derivative_as_grad_s_does() -> None:
    """d/dw of aux = sum(w x) is sum(x), through vjp's aux alone."""

    def outer(w):
        return cr.vjp(lambda x: (x * x, (w * x).sum()), cr.tensor(X), has_aux=True)[2]

    assert cr.grad(outer)(cr.tensor(2.0)).item() == pytest.approx(float(X.sum()), rel=1e-14)


def test_vjp_with_aux_refuses_an_output_that_is_not_a_pair() -> None:
    with pytest.raises(
        TypeError, match=r"^vjp: with has_aux=True the function must return a tuple"
    ):
        cr.vjp(lambda x: x * x, cr.tensor(X), has_aux=True)
