"""The explorer's refusal of a missing loss also says how to scale a saved model's input: a
teacher who followed it with a raw row of a model saved with a standardizer was shown outputs
and gradients other than the model's predictions (teacher QA, stop 54)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn
from chainrule.errors import UserError


def test_the_missing_loss_hint_names_the_standardizer_and_its_recipe_works(tmp_path):
    X = np.random.default_rng(0).normal(50.0, 10.0, (20, 2))
    standardizer = data.Standardizer().fit(X)
    model = nn.mlp([2, 3, 2], output=None, dtype="float64", rng=0)
    cr.io.save_model(tmp_path / "m", model, loss="cross-entropy", standardizer=standardizer)
    loaded, info = cr.io.load_model(tmp_path / "m")
    with pytest.raises(UserError) as refused:
        cr.explorer(loaded, (X[0], 1))
    hint = str(refused.value)
    assert "info['standardizer']" in hint
    # the recipe the hint gives, run as written: the model's own input, (x - mean) / std
    recipe = hint[hint.index("data.Standardizer") :].rstrip(")")
    scaled = eval(recipe, {"data": data, "info": info, "x": X[0]})  # noqa: S307
    np.testing.assert_allclose(scaled, (X[0] - X.mean(axis=0)) / X.std(axis=0), rtol=1e-12)
