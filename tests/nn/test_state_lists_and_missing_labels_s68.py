"""Two ways data reached the nn library in a form it misread.

``load_state_dict`` of nested Python lists (a state dict read back from JSON) was refused for a
float32 model as float64: a list has no dtype, NumPy reads its floats as float64; they are now
read in the parameter's dtype, as an op reads a list beside a tensor, while an array of another
dtype is still refused. A loss's target from a pandas nullable column holding NA (``Int64``)
reached the loss as floats with NaN, refused as "float labels" (CrossEntropy) or computed to NaN
(MSE); a list holding None or pandas' NA was refused as "dtype object". Each is now refused
naming the cases whose target is missing."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import DataError, StateDictError

pd = pytest.importorskip("pandas")


def _model(dtype):
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3, dtype=dtype), nn.Sigmoid(), nn.Linear(3, 1, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_state_dict_of_lists_loads_in_the_models_dtype(dtype):
    source, target = _model(dtype), _model(dtype)
    for p in target.parameters():
        p.data[...] = 0
    listed = json.loads(json.dumps({k: v.tolist() for k, v in source.state_dict().items()}))
    target.load_state_dict(listed)
    for (name, got), want in zip(target.state_dict().items(), source.state_dict().values()):
        assert got.dtype == np.dtype(dtype), name
        np.testing.assert_array_equal(got, want)


def test_integers_and_tuples_are_read_as_the_parameters_floats():
    model = nn.Linear(2, 1, dtype="float32")
    model.load_state_dict({"weight": ((1,), (2,)), "bias": [0]})
    assert model.weight.dtype == np.float32 and model.weight.numpy().tolist() == [[1.0], [2.0]]


def test_an_array_of_another_dtype_is_still_refused():
    model = nn.Linear(2, 1, dtype="float32")
    state = {"weight": np.ones((2, 1)), "bias": np.zeros(1, dtype=np.float32)}
    with pytest.raises(StateDictError, match="'weight' is float32 in the model but float64"):
        model.load_state_dict(state)
    with pytest.raises(StateDictError, match="'weight' is float32 in the model but complex"):
        model.load_state_dict({"weight": [[1j], [2.0]], "bias": [0.0]})


MISSING_LABELS = {
    "Int64-array": lambda: pd.array([0, 1, pd.NA], dtype="Int64"),
    "Int64-series": lambda: pd.Series([0, 1, pd.NA], dtype="Int64"),
    "float-series": lambda: pd.Series([0.0, 1.0, np.nan]),
    "list-None": lambda: [0, 1, None],
    "list-NA": lambda: [0, 1, pd.NA],
}


@pytest.mark.parametrize("labels", MISSING_LABELS.values(), ids=MISSING_LABELS.keys())
def test_cross_entropy_refuses_missing_labels_naming_them(labels):
    logits = cr.tensor(np.zeros((3, 2)), requires_grad=True)
    with pytest.raises(DataError, match=r"^CrossEntropy: the target is missing at case 2 "):
        nn.CrossEntropy()(logits, labels())


def test_cross_entropy_names_every_missing_case_and_keeps_full_columns():
    logits = cr.tensor(np.zeros((4, 2)))
    labels = pd.Series([pd.NA, 1, pd.NA, 0], dtype="Int64")
    with pytest.raises(DataError, match=r"missing at cases 0, 2 \(2 of 4\)"):
        nn.CrossEntropy()(logits, labels)
    full = pd.Series([0, 1, 1, 0], dtype="Int64")
    assert float(nn.CrossEntropy()(logits, full)) == float(
        nn.CrossEntropy()(logits, np.array([0, 1, 1, 0]))
    )


def test_mse_refuses_a_nullable_float_target_with_na():
    output = cr.tensor([0.0, 1.0, 2.0])
    assert np.isnan(float(nn.MSE()(output, np.array([0.0, 1.0, np.nan]))))  # the silent NaN
    with pytest.raises(DataError, match=r"^MSE: the target is missing at case 1 "):
        nn.MSE()(output, pd.array([0.0, pd.NA, 2.0], dtype="Float64"))
    with pytest.raises(DataError, match=r"entry \(case, column\) \(1, 0\) \(1 of 4\)"):
        nn.MSE()(cr.tensor(np.zeros((2, 2))), pd.DataFrame({"a": [0.0, pd.NA], "b": [1.0, 2.0]}))


def test_listed_numbers_past_the_dtype_and_listed_float64_arrays_are_refused_as_arrays():
    """Review: 1e300 listed for a float32 weight was cast to inf (NumPy's overflow warning
    alone), and a list of float64 arrays was cast where one float64 array is refused."""
    import warnings

    for weight in ([[1e300, 2.0], [3.0, 4.0]], [np.zeros(2), np.zeros(2)]):
        lin = cr.nn.Linear(2, 2)
        before = lin.weight.numpy().copy()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(StateDictError, match="float32 in the model but float64"):
                lin.load_state_dict({"weight": weight, "bias": [0.0, 0.0]})
        np.testing.assert_array_equal(lin.weight.numpy(), before)
    lin = cr.nn.Linear(2, 2)
    lin.load_state_dict({"weight": [np.ones(2, np.float32)] * 2, "bias": [0.0, 0.0]})
    assert lin.weight.dtype == "float32"
