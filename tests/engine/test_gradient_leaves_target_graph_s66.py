"""``cr.gradient(loss, [h])`` for a computed h runs nothing below h, so it releases nothing
there either: h's own graph stays whole for a later pass, as with torch.autograd.grad. (It
released the node that made h, so splitting backprop in two, or a first-order meta-gradient
through fast weights, failed with GraphFreedError.)"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import GraphFreedError


def test_a_gradient_to_a_computed_tensor_leaves_the_op_that_made_it_for_a_later_pass():
    x = cr.tensor(np.array([0.3, -0.2]), requires_grad=True)
    c = np.array([2.0, 3.0])
    h = cr.exp(x)
    (dh,) = cr.gradient(cr.tanh(h).sum(), [h])
    np.testing.assert_allclose(dh.numpy(), 1 - np.tanh(np.exp([0.3, -0.2])) ** 2, rtol=1e-14)
    (dx,) = cr.gradient((h * cr.tensor(c)).sum(), [x])
    np.testing.assert_allclose(dx.numpy(), c * np.exp([0.3, -0.2]), rtol=1e-14)


def test_backprop_split_at_a_hidden_layer_gives_the_whole_pass_gradients():
    def layers():
        encoder = nn.Sequential(nn.Linear(4, 8, dtype="float64", rng=0), nn.Tanh())
        return encoder, nn.Linear(8, 3, dtype="float64", rng=1)

    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(5, 4)), np.array([0, 2, 1, 1, 0])

    encoder, head = layers()
    z = encoder(cr.tensor(x))
    (dz,) = cr.gradient(nn.CrossEntropy()(head(z), labels), [z])
    z.backward(dz)  # the encoder's half, from the head's dE/dz

    whole_encoder, whole_head = layers()
    nn.CrossEntropy()(whole_head(whole_encoder(cr.tensor(x))), labels).backward()
    for split, whole in zip(encoder.parameters(), whole_encoder.parameters(), strict=True):
        np.testing.assert_allclose(split.grad.numpy(), whole.grad.numpy(), rtol=1e-12)


def test_a_first_order_meta_gradient_through_a_fast_weight_matches_its_closed_form():
    w0 = np.array([1.5, -0.5, 2.0])
    lr = cr.tensor(0.3, requires_grad=True)
    w1 = cr.tensor(w0) - lr * 1.0
    (g,) = cr.gradient((w1 * w1).sum(), [w1], create_graph=False)  # first order: g a constant
    w2 = w1 - lr * g
    (d_lr,) = cr.gradient((w2**2).sum(), [lr])
    # w1 = w0 - lr, g = 2 w1 held constant, w2 = w1 - lr g: dw2/dlr = -1 - g
    w1_value = w0 - 0.3
    g_value = 2 * w1_value
    w2_value = w1_value - 0.3 * g_value
    expected = np.sum(2 * w2_value * (-1 - g_value))
    assert float(d_lr) == pytest.approx(expected, rel=1e-14)


def test_the_nodes_a_gradient_passes_through_are_still_released():
    x = cr.tensor(np.array([0.3, -0.2]), requires_grad=True)
    h = cr.exp(x)
    loss = cr.tanh(h).sum()
    cr.gradient(loss, [h])
    with pytest.raises(GraphFreedError, match="freed by an earlier cr.gradient"):
        cr.gradient(loss, [x])


def test_a_target_below_another_target_is_still_reached_through_it():
    x = cr.tensor(np.array([0.3, -0.2]), requires_grad=True)
    h = cr.exp(x)
    k = cr.tanh(h)
    dk, dh = cr.gradient((k * k).sum(), [k, h])
    k_value = np.tanh(np.exp([0.3, -0.2]))
    np.testing.assert_allclose(dk.numpy(), 2 * k_value, rtol=1e-14)
    np.testing.assert_allclose(dh.numpy(), 2 * k_value * (1 - k_value**2), rtol=1e-14)
