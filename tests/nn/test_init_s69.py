"""Initialisation: what a layer draws, what its config says it drew, and whose draws it uses.

- Building a network only to overwrite its weights (from PyTorch, from a state-dict file with an
  architecture, from (weight, bias, activation) triples) moved the user's seeded generator:
  ``cr.manual_seed(0); <call>; cr.randn(3)`` was not the seeded draw.
- ``config()`` recorded any callable initialiser as "uniform", so ``from_config`` of a He layer
  drew U(-0.3, 0.3) where docs/nn.md says it "rebuilds it with fresh weights".
- ``init_range`` was taken unchecked (negative, NaN) and saved when the init ignored it.
- ``mlp(init="cosine")`` restarted assignment 3's flat theta at 0 in every layer.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn
from chainrule.explainer import sequential
from chainrule.interop import from_torch, load_torch, save_torch


def seeded_draw() -> np.ndarray:
    cr.manual_seed(0)
    return cr.randn(3).numpy()


def draw_after(call) -> np.ndarray:
    """``cr.randn(3)`` after ``cr.manual_seed(0)`` and ``call()``."""
    cr.manual_seed(0)
    call()
    return cr.randn(3).numpy()


# -- 1. a network built to be overwritten leaves the user's draws alone -------------------------


def triples():
    return [
        (np.full((4, 3), 0.25), np.zeros(3), "logistic"),
        (np.full((3, 2), -0.5), np.ones(2), "identity"),
    ]


def test_explainer_sequential_keeps_the_seeded_draws_and_the_given_weights():
    built = []
    got = draw_after(lambda: built.append(sequential(triples())))
    np.testing.assert_array_equal(got, seeded_draw())
    np.testing.assert_array_equal(built[0][0].weight.numpy(), np.full((4, 3), 0.25))
    np.testing.assert_array_equal(built[0][2].bias.numpy(), np.ones(2))


def test_explain_of_triples_keeps_the_seeded_draws():
    x, t = np.ones((1, 4)), np.eye(2)[[0]]
    got = draw_after(lambda: cr.explain(triples(), x, t, loss=nn.CrossEntropy()))
    np.testing.assert_array_equal(got, seeded_draw())


def test_load_torch_with_an_architecture_keeps_the_seeded_draws(tmp_path):
    net = nn.mlp([4, 3, 2], rng=1, dtype="float64")
    path = save_torch(net, tmp_path / "w.safetensors")
    loaded = []
    got = draw_after(lambda: loaded.append(load_torch(path, "4,3,2")))
    np.testing.assert_array_equal(got, seeded_draw())
    np.testing.assert_array_equal(loaded[0][0].weight.numpy(), net[0].weight.numpy())
    # and without one (the architecture the file records), as before
    np.testing.assert_array_equal(draw_after(lambda: load_torch(path)), seeded_draw())


def test_from_torch_keeps_the_seeded_draws(torch):
    layers = torch.nn.Linear(4, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2)
    net = torch.nn.Sequential(*layers)
    converted = []
    got = draw_after(lambda: converted.append(from_torch(net)))
    np.testing.assert_array_equal(got, seeded_draw())
    expected = layers[0].weight.detach().numpy().T
    np.testing.assert_array_equal(converted[0][0].weight.numpy(), expected)
    # a state dict with an architecture: built from the spec, then loaded
    state = net.state_dict()
    got = draw_after(lambda: converted.append(from_torch(state, arch="4,3,2")))
    np.testing.assert_array_equal(got, seeded_draw())
    np.testing.assert_array_equal(converted[1][2].weight.numpy(), layers[2].weight.detach().T)


def test_draws_kept_puts_back_numpys_global_generator_too():
    np.random.seed(3)
    expected = np.random.random_sample(2)
    np.random.seed(3)
    with nn.init.draws_kept():
        np.random.random_sample(5)
        nn.Linear(3, 2)
    np.testing.assert_array_equal(np.random.random_sample(2), expected)


# -- 2. config() names the initialiser that drew the weights -----------------------------------


@pytest.mark.parametrize(
    ("function", "name"),
    [
        (nn.init.uniform, "uniform"),
        (nn.init.glorot, "glorot"),
        (nn.init.xavier, "glorot"),
        (nn.init.he, "he"),
        (nn.init.kaiming, "he"),
        (nn.init.cosine, "cosine"),
        (nn.init.zeros, "zeros"),
    ],
)
def test_config_names_nn_inits_own_functions_and_from_config_draws_the_same(function, name):
    layer = nn.Linear(7, 5, init=function, rng=0)
    assert layer.config()["init"] == name
    cr.manual_seed(4)
    again = nn.from_config(layer.config())
    cr.manual_seed(4)
    by_name = nn.Linear(7, 5, init=name)
    np.testing.assert_array_equal(again.weight.numpy(), by_name.weight.numpy())
    np.testing.assert_array_equal(again.bias.numpy(), by_name.bias.numpy())


def test_from_config_of_a_he_layer_draws_hes_variance():
    """The closed form: N(0, 2 / fan_in) has variance 2 / 2000 = 0.001 (over 100 000 weights the
    sample variance is within 1 % of it); U(-0.3, 0.3), drawn before, has 0.03."""
    net = nn.Sequential(nn.Linear(2000, 50, init=nn.init.he, rng=0))
    again = nn.from_config(net.config())
    variance = float(np.var(again[0].weight.numpy().astype(np.float64)))
    assert variance == pytest.approx(2 / 2000, rel=0.03)


class Constant:
    """An initialiser of one's own: a callable instance."""

    def __call__(self, shape, dtype, rng):
        return np.full(shape, 0.5, dtype=dtype)


@pytest.mark.parametrize(
    ("init", "named"),
    [
        (Constant(), f"callable:{__name__}.Constant"),
        (lambda shape, dtype, rng: np.full(shape, 0.5, dtype), f"callable:{__name__}.<lambda>"),
        (functools.partial(nn.init.uniform, r=0.5), "callable:functools.partial"),
    ],
)
def test_another_callable_is_named_and_from_config_says_it_draws_uniform(init, named):
    layer = nn.Linear(3, 2, init=init, rng=0)
    config = layer.config()
    assert config["init"] == named
    with pytest.warns(UserWarning, match=r"cannot rebuild the initialiser .* init='uniform'"):
        again = nn.from_config(config)
    # it drew uniform, U(-0.3, 0.3), as it says, and its config names the callable still
    assert np.abs(again.weight.numpy()).max() <= np.float32(0.3)
    assert again.config() == config


def test_a_callable_initialisers_layer_saves_and_loads_without_a_word(tmp_path):
    net = nn.Sequential(nn.Linear(3, 2, init=Constant(), rng=0), nn.Logistic())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        io.save_model(tmp_path / "m", net)
        loaded, _ = io.load_model(tmp_path / "m")
    assert not [w for w in caught if "initialiser" in str(w.message)]
    np.testing.assert_array_equal(loaded[0].weight.numpy(), np.full((3, 2), 0.5))
    assert loaded.config() == net.config()


def test_a_scikit_learn_estimators_network_saves_and_loads(tmp_path):
    """Its layers' initialiser is chainrule.sklearn's _GlorotUniform, named in the config."""
    pytest.importorskip("sklearn")
    from chainrule.sklearn import MLPClassifier

    X = np.random.default_rng(0).normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    network = clf.network_
    assert network[0].config()["init"] == "callable:chainrule.sklearn.base._GlorotUniform"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        io.save_model(tmp_path / "m", network, loss=clf.loss_function_)
        loaded, _ = io.load_model(tmp_path / "m")
    assert not [w for w in caught if "initialiser" in str(w.message)]
    for mine, theirs in zip(network.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


# -- 3. init_range: checked always, uniform's alone --------------------------------------------


@pytest.mark.parametrize("init", ["uniform", "glorot", "he", "cosine", "zeros"])
@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "0.5", True])
def test_init_range_is_checked_whatever_the_init(init, bad):
    with pytest.raises(nn.ConfigError, match="init_range: the range r must be a finite number"):
        nn.Linear(5, 5, init=init, init_range=bad)


def test_an_init_range_another_init_ignores_is_warned_about_and_not_saved():
    with pytest.warns(UserWarning, match=r"init_range=5 .* does nothing under init='glorot'"):
        layer = nn.Linear(50, 50, init="glorot", init_range=5.0, rng=0)
    # Glorot's limit, sqrt(6 / 100), not 5
    assert np.abs(layer.weight.numpy()).max() <= np.sqrt(6 / 100)
    assert "init_range" not in layer.config()
    # uniform's own range is saved, and the default (which mlp and the command line pass
    # whatever the init) is no warning
    assert nn.Linear(3, 2, init_range=2.0).config()["init_range"] == 2.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.mlp([4, 3, 2], init="glorot", init_range=0.3, rng=0)
    assert not caught


# -- 4. cosine runs on across mlp's layers, as assignment 3's flat theta ------------------------


@pytest.mark.parametrize("bias", [False, True])
def test_mlp_cosine_is_assignment_3s_flat_theta(bias):
    """theta = 0.1 cos(0 .. n-1) over every weight, each layer's reshaped column-major
    (MATLAB's reshape), the layers one after another; biases (assignment 3 has none) start at
    0 and take no place in theta."""
    net = nn.mlp([256, 10, 10], init="cosine", bias=bias, dtype="float64")
    linears = [layer for layer in net if isinstance(layer, nn.Linear)]
    flat = np.concatenate([layer.weight.numpy().ravel(order="F") for layer in linears])
    np.testing.assert_allclose(
        flat, 0.1 * np.cos(np.arange(256 * 10 + 10 * 10)), rtol=0, atol=1e-15
    )
    if bias:
        assert all(not layer.bias.numpy().any() for layer in linears)
    # the config records where each layer starts, so from_config rebuilds the same weights
    again = nn.from_config(net.config())
    np.testing.assert_array_equal(again[2].weight.numpy(), net[2].weight.numpy())
    assert net[2].config()["init_start"] == 2560


def test_init_start_is_checked_and_warned_of_where_unused():
    with pytest.raises(nn.ConfigError, match="init_start must be a whole number >= 0"):
        nn.Linear(2, 2, init="cosine", init_start=-1)
    with pytest.warns(UserWarning, match="init_start=4 .* does nothing under init='he'"):
        nn.Linear(2, 2, init="he", init_start=4)


# -- 6. the docs name every init Linear takes ----------------------------------------------------


def test_the_docs_name_every_initialiser_linear_takes():
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "nn.md").read_text()
    documented = nn.Linear.__doc__ + docs
    for name in nn.init.INITIALISERS:
        assert f'"{name}"' in documented and f'`"{name}"`' in docs, name
    assert "cannot break the symmetry" in nn.Linear.__doc__
    assert "cannot break the symmetry" in docs
