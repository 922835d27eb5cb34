"""``train.accuracy``, ``train.evaluate`` and ``train.predict`` refuse swapped or wrong arguments
with one TypeError naming the argument and what it was given, in the words ``fit`` uses for a
dataset that is not one; they raised AttributeError ('MSE' has no 'task'), "object of type
'MSE' has no len()" and "float() argument must be ... not 'Dataset'".

Oracles: the helpers' results on correct arguments against a forward pass and a count by hand."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim, train
from chainrule.errors import UserError

DATASET_WORDS = "must be a chainrule.data.Dataset (with X and y)"
WRAP = "wrap arrays as Dataset(X=X, y=y, task=...)"


@pytest.fixture
def setup():
    ds = data.xor()
    model = nn.mlp([2, 3, 1], output="logistic", rng=0)
    return ds, model, nn.MSE()


def test_accuracy_with_the_loss_and_the_dataset_swapped(setup):
    ds, model, loss = setup
    outputs = train.predict(model, ds.X)
    with pytest.raises(TypeError) as refusal:
        train.accuracy(outputs, loss, ds)
    said = str(refusal.value)
    assert said.startswith("accuracy: ds " + DATASET_WORDS + ", not chainrule.nn.MSE"), said
    assert "accuracy(outputs, ds, loss)" in said, said


def test_evaluate_with_the_dataset_and_the_loss_swapped(setup):
    ds, model, loss = setup
    with pytest.raises(TypeError) as refusal:
        train.evaluate(model, ds, loss)
    said = str(refusal.value)
    assert said.startswith("evaluate: ds " + DATASET_WORDS + ", not chainrule.nn.MSE"), said
    assert "evaluate(model, loss, ds)" in said, said


def test_evaluate_of_an_array_says_to_wrap_it_as_fit_says(setup):
    ds, model, loss = setup
    with pytest.raises(TypeError) as refusal:
        train.evaluate(model, loss, ds.X)
    said = str(refusal.value)
    assert said == f"evaluate: ds {DATASET_WORDS}, not numpy.ndarray; {WRAP}", said
    # fit's refusal of the same mistake: the same words
    with pytest.raises(UserError) as fit_refusal:
        train.fit(model, loss, optim.SGD(model.parameters(), lr=0.1), ds.X, epochs=1,
                  progress=False)  # fmt: skip
    assert DATASET_WORDS in str(fit_refusal.value) and WRAP in str(fit_refusal.value)


def test_predict_of_a_dataset_says_to_give_its_inputs(setup):
    ds, model, _ = setup
    with pytest.raises(TypeError, match=r"^predict: X .*chainrule\.data\.Dataset.*predict\(model, "
                                        r"ds\.X\)"):  # fmt: skip
        train.predict(model, ds)


@pytest.mark.parametrize("call", ["predict", "evaluate"])
def test_a_model_that_is_no_network_is_named(setup, call):
    ds, model, loss = setup
    with pytest.raises(TypeError, match=rf"^{call}: model must be a chainrule network .*, not "
                                        r"numpy\.ndarray"):  # fmt: skip
        if call == "predict":
            train.predict(ds.X, model)
        else:
            train.evaluate(ds.X, loss, ds)


def test_predict_of_inputs_no_array_holds_names_them(setup):
    _, model, loss = setup
    with pytest.raises(TypeError, match=r"^predict: X must be an array of inputs .* not "
                                        r"chainrule\.nn\.MSE"):  # fmt: skip
        train.predict(model, loss)


def test_the_helpers_in_their_order_still_give_the_numbers(setup):
    ds, model, loss = setup
    with cr.no_grad():
        by_hand = model(cr.tensor(ds.X.astype(np.float32))).data
    outputs = train.predict(model, ds.X)
    np.testing.assert_allclose(outputs, by_hand, rtol=1e-6)
    right = np.mean(((by_hand > 0.5) == (ds.y > 0.5)).all(axis=1))
    assert train.accuracy(outputs, ds, loss) == pytest.approx(right)
    result = train.evaluate(model, loss, ds)
    assert result["accuracy"] == pytest.approx(right)
    assert result["loss"] == pytest.approx(float(np.mean((by_hand - ds.y) ** 2)), rel=1e-5)
