"""QA fixes of the explainer's tools: the no-zero-grad bug's step leaves frozen parameters as
the library's optimizer does, and saturation counts a Parallel layer's units under explain's
layer numbers."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.explainer import explain
from chainrule.explainer.bugs import STEP_LEARNING_RATE, run_bug
from chainrule.explainer.health import saturation
from chainrule.explainer.network import ExplainError
from chainrule.train.family_trees import family_tree_net

RNG = np.random.default_rng(7)


def _frozen_model():
    model = nn.Sequential(
        nn.Linear(3, 4, dtype="float64", rng=1), nn.Tanh(),
        nn.Linear(4, 2, dtype="float64", rng=2), nn.Logistic(),
    )  # fmt: skip
    model[0].weight.requires_grad = False
    model[2].bias.requires_grad = False
    return model


def _torch_error(torch, params, x, t):
    """The model's E = 1/2 sum (y - t)^2 in torch, from (W, b) pairs (W of shape (in, out))."""
    (w0, b0), (w1, b1) = params
    y = torch.sigmoid(torch.tanh(x @ w0 + b0) @ w1 + b1)
    return 0.5 * ((y - t) ** 2).sum()


def _torch_no_zero_grad(torch, model, x, t):
    """The oracle: torch's SGD over the model's parameters, frozen ones as the model has them,
    and no zero_grad between two steps. Returns (step 2's .grad, step 2's own gradient), by
    the unit graph's key names ('w', layer) and ('b', layer)."""
    params = [
        [torch.tensor(p.numpy()).requires_grad_(p.requires_grad) for p in (lin.weight, lin.bias)]
        for lin in (model[0], model[2])
    ]
    trainable = [p for pair in params for p in pair if p.requires_grad]
    x, t = torch.tensor(x), torch.tensor(t)
    _torch_error(torch, params, x, t).backward()
    torch.optim.SGD(trainable, lr=STEP_LEARNING_RATE).step()
    _torch_error(torch, params, x, t).backward()  # the bug: .grad never cleared
    fresh = [[p.detach().clone().requires_grad_() for p in pair] for pair in params]
    grads = torch.autograd.grad(
        _torch_error(torch, fresh, x, t), [p for pair in fresh for p in pair]
    )
    accumulated, own = {}, {}
    for k, pair in enumerate(params):
        for kind, p, g in zip("wb", pair, grads[2 * k : 2 * k + 2]):
            own[kind, k] = g.numpy()
            accumulated[kind, k] = None if p.grad is None else p.grad.numpy()
    return accumulated, own


def test_no_zero_grad_leaves_frozen_parameters_where_the_optimizer_leaves_them(torch):
    """The step between the two steps moved requires_grad=False weights, so every right and
    wrong value was at weights the model's optimizer never reaches. Oracle: the same two steps
    in torch (torch.optim.SGD skips a parameter without a .grad)."""
    model = _frozen_model()
    x, t = RNG.normal(size=(2, 3)), RNG.uniform(size=(2, 2))
    d = explain(model, x, t, "squared-error", perturbation=False, views=False, paths=False)
    report = run_bug(d, "no-zero-grad", model)
    accumulated, own = _torch_no_zero_grad(torch, model, x, t)
    checked = 0
    for row in report.rows:
        kind, layer, *index = row.key
        if kind not in "wb":
            continue
        index = tuple(index)
        assert row.right == pytest.approx(own[kind, layer][index], rel=1e-9, abs=1e-12)
        stored = accumulated[kind, layer]
        expected = own[kind, layer][index] if stored is None else stored[index]
        assert row.wrong == pytest.approx(expected, rel=1e-9, abs=1e-12), row.key
        checked += 1
    assert checked == 3 * 4 + 4 + 4 * 2 + 2
    assert accumulated["w", 0] is None and accumulated["b", 1] is None  # frozen in torch too
    assert "Frozen" in report.note
    assert not model[0].weight.requires_grad and model[0].weight.grad is None


def test_explains_bug_option_passes_the_model_so_frozen_parameters_stay():
    """explain(..., bug=...) (what --bug and the page's bug view call) gives the same report
    as run_bug given the model: it read the derivation alone, which does not say what is
    frozen, and stepped every parameter."""
    model = _frozen_model()
    x, t = RNG.normal(size=(2, 3)), RNG.uniform(size=(2, 2))
    options = {"perturbation": False, "views": False, "paths": False}
    d = explain(model, x, t, "squared-error", bug="no-zero-grad", **options)
    alone = run_bug(explain(model, x, t, "squared-error", **options), "no-zero-grad", model)
    assert [(row.key, row.wrong) for row in d.bug.rows] == [
        (row.key, row.wrong) for row in alone.rows
    ]


def test_no_zero_grad_without_frozen_parameters_is_unchanged_by_the_model(torch):
    model = _frozen_model()
    model[0].weight.requires_grad = model[2].bias.requires_grad = True
    x, t = RNG.normal(size=(2, 3)), RNG.uniform(size=(2, 2))
    d = explain(model, x, t, "squared-error", perturbation=False, views=False, paths=False)
    with_model, without = run_bug(d, "no-zero-grad", model), run_bug(d, "no-zero-grad")
    assert [(r.right, r.wrong) for r in with_model.rows] == [
        (r.right, r.wrong) for r in without.rows
    ]
    accumulated, _ = _torch_no_zero_grad(torch, model, x, t)
    rows = {r.key: r for r in with_model.rows}
    assert rows["w", 0, 2, 1].wrong == pytest.approx(accumulated["w", 0][2, 1], rel=1e-9)


def test_run_bug_refuses_a_model_that_is_not_the_derivations():
    d = explain(perturbation=False)
    with pytest.raises(ExplainError, match="run_bug: the network is 3 x 4 x 2"):
        run_bug(d, "no-zero-grad", _frozen_model())


def _by_hand_shares(model, x):
    """Each logistic layer's saturated share, computed with NumPy from the model's weights:
    the encoders' two blocks side by side, then the three Linear layers."""
    (a, _), (b, _) = model[0].branches[0], model[0].branches[1]
    logistic = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    people, relations = x[:, :24], x[:, 24:]
    y = np.hstack([
        logistic(people @ a.weight.numpy() + a.bias.numpy()),
        logistic(relations @ b.weight.numpy() + b.bias.numpy()),
    ])  # fmt: skip
    layers = [y]
    for linear in (model[1], model[3], model[5]):
        y = logistic(y @ linear.weight.numpy() + linear.bias.numpy())
        layers.append(y)
    return [(y.shape[1], float(np.mean(y * (1 - y) < 0.01))) for y in layers]


def test_saturation_counts_a_parallel_layers_units_under_explains_numbers():
    """The family-trees net's encoders (an nn.Parallel) were skipped and the layers above
    numbered 1, 2, 3 instead of 2, 3, 4. Oracle: the shares by hand, and the layer numbers of
    explain's derivation of the same network (its logistic layers' indices)."""
    model = family_tree_net(rng=3, init_range=6.0)  # large weights: some units saturate
    x = np.zeros((4, 36))
    x[np.arange(4), [0, 5, 11, 23]] = 1
    x[np.arange(4), 24 + np.array([0, 3, 7, 11])] = 1
    shares = saturation(model, x)
    d = explain(model, x, np.full((4, 24), 0.2), "squared-error", check=False,
                perturbation=False, views=False, paths=False)  # fmt: skip
    logistic_layers = [str(r.index) for r in d.layers if r.activation == "logistic"]
    assert sorted(shares) == logistic_layers == ["1", "2", "3", "4"]
    by_hand = _by_hand_shares(model, x)
    assert [d.layers[int(k)].size for k in logistic_layers] == [n for n, _ in by_hand]
    assert [shares[k] for k in logistic_layers] == [share for _, share in by_hand]
    assert 0 < shares["1"] < 1  # every unit of the 12 counted: a share of 12 * 4 values


def _unreadable_logistic_model():
    """A Logistic layer after a LogSoftmax: explain cannot number its layers."""
    return nn.Sequential(nn.Linear(2, 1, dtype="float64", rng=0), nn.LogSoftmax(), nn.Logistic())


def test_saturation_refuses_a_model_explain_cannot_number():
    with pytest.raises(ExplainError, match="saturation: the model's logistic layers"):
        saturation(_unreadable_logistic_model(), np.ones((1, 2)))
    # without a logistic unit there is nothing to number
    assert saturation(nn.Sequential(nn.Linear(2, 3, rng=0), nn.LogSoftmax()), np.ones((1, 2))) == {}


def test_gradient_health_refuses_such_a_model_before_the_first_epoch():
    from chainrule import data, optim, train
    from chainrule.explainer.health import GradientHealth

    model = _unreadable_logistic_model()
    before = model[0].weight.numpy().copy()
    with pytest.raises(ExplainError, match="saturation"):
        optimizer = optim.SGD(model.parameters(), lr=0.5)
        train.fit(model, nn.SquaredError(), optimizer, data.load("xor"), epochs=1,
                  callbacks=[GradientHealth()], progress=False)  # fmt: skip
    np.testing.assert_array_equal(model[0].weight.numpy(), before)
