"""Habits a learner brings from micrograd, NumPy and PyTorch, each met by one clear message:
a plain tensor's ``.data`` set to a number (every use that reads it as an array names it, where
ops with a number failed on "'float' object has no attribute 'dtype'" and ``-a`` made a tensor
of a float), a ragged list, ``linspace``'s and ``manual_seed``'s arguments, ``astype`` of a dtype
NumPy does not know, PyTorch's ``dim=``/``keepdim=`` and PyTorch's methods a tensor lacks
(``.view``, ``.float()``, ``.cpu()``...), which stay absent to ``hasattr``."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr

NOT_AN_ARRAY = r"\.data that is a float \(5\.0\), not an array"


def _micrograd_leaf(value=2.0):
    a = cr.tensor(value, requires_grad=True)
    a.data = 5.0  # micrograd's p.data = ...: stored as it is in a plain tensor's bare field
    return a


@pytest.mark.parametrize(
    "use",
    [
        lambda a: a * 2,
        lambda a: 2 * a,
        lambda a: a + 1.0,
        lambda a: a - 1,
        lambda a: a / 2,
        lambda a: a**2,
        lambda a: -a,
        lambda a: a.exp(),
        lambda a: a.tanh(),
        lambda a: cr.sigmoid(a),
        lambda a: a.sum(),
        lambda a: a.mean(),
        lambda a: a.item(),
        lambda a: float(a),
        lambda a: a.size,
        lambda a: a @ cr.tensor(3.0),
    ],
    ids=[
        "a*2", "2*a", "a+1.0", "a-1", "a/2", "a**2", "-a", "exp", "tanh", "sigmoid",
        "sum", "mean", "item", "float", "size", "matmul",
    ],
)  # fmt: skip
def test_every_use_of_a_number_stored_in_data_names_it(use):
    with pytest.raises(TypeError, match=NOT_AN_ARRAY):
        use(_micrograd_leaf())


def test_an_op_with_another_tensor_computes_but_its_backward_names_the_number():
    """NumPy takes the float beside the other tensor's array (5.0 * array(3.0)), so the forward
    of ``a * b`` computes with it, as the README says; its backward, which reads ``a``'s array
    for ``a``'s gradient, names it."""
    for order in (lambda a, b: a * b, lambda a, b: b * a, lambda a, b: a + b):
        a, b = _micrograd_leaf(), cr.tensor(3.0, requires_grad=True)
        out = order(a, b)
        with pytest.raises(TypeError, match=r"backward: input \d of '(mul|add)'.*" + NOT_AN_ARRAY):
            out.backward()
        a, b = _micrograd_leaf(), cr.tensor([3.0, 4.0], requires_grad=True)
        with pytest.raises(TypeError, match=NOT_AN_ARRAY):
            cr.gradient(order(a, b).sum(), [a, b])


def test_a_number_stored_after_the_forward_is_named_by_backward():
    a, b = cr.tensor([2.0, 1.0], requires_grad=True), cr.tensor([3.0, 4.0], requires_grad=True)
    loss = (a * b).sum()
    a.data = 5.0
    with pytest.raises(TypeError, match=NOT_AN_ARRAY):
        loss.backward()


@pytest.mark.parametrize("value, held", [(5, r"an? int \(5\)"), ([5.0], r"a list \(\[5\.0\]\)")])
def test_an_int_or_a_list_in_data_is_named_too(value, held):
    a = cr.tensor(2.0, requires_grad=True)
    a.data = value
    for use in (lambda a: a * 2, lambda a: -a, lambda a: a.exp()):
        with pytest.raises(TypeError, match=rf"\.data that is {held}, not an array"):
            use(a)


def test_a_normal_ops_results_are_unchanged():
    a = cr.tensor(2.0, requires_grad=True)
    b = cr.tensor(3.0, requires_grad=True)
    out = -(a * b) + a.exp() * 2
    out.backward()
    assert out.item() == pytest.approx(-6.0 + 2 * np.exp(2.0))
    assert a.grad.item() == pytest.approx(-3.0 + 2 * np.exp(2.0))
    assert type((-a).data) is np.ndarray


# -- arguments NumPy refused in its own words -------------------------------------------------


@pytest.mark.parametrize(
    "data, said",
    [
        ([[1, 2], [3]], r"data\[1\] has 1 item where data\[0\] has 2"),
        ([[1, 2], [3, 4], [5]], r"data\[2\] has 1 item where data\[0\] has 2"),
        (
            [[[1, 2], [3, 4]], [[1, 2], [3]]],
            r"data\[1\]\[1\] has 1 item where data\[0\]\[0\] has 2",
        ),
        ([[1, 2], 3], r"data\[1\] is a number where data\[0\] is a list of 2"),
    ],
)
def test_a_ragged_list_names_the_row(data, said):
    for make in (cr.tensor, cr.Tensor):
        with pytest.raises(
            ValueError, match=r"^tensor: the rows are of different lengths: " + said
        ):
            make(data)


def test_linspace_names_its_count():
    with pytest.raises(ValueError, match=r"^linspace: num .*0 or more.*got -3"):
        cr.linspace(0, 1, -3)
    with pytest.raises(TypeError, match=r"^linspace: num .*an integer.*got 2\.5"):
        cr.linspace(0, 1, 2.5)
    assert cr.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]


def test_manual_seed_names_its_seed_and_keeps_the_generator():
    cr.manual_seed(3)
    expected = cr.randn(2).tolist()
    cr.manual_seed(3)
    with pytest.raises(TypeError, match=r"^manual_seed: the seed must be an integer >= 0, not 'a'"):
        cr.manual_seed("a")
    with pytest.raises(ValueError, match=r"^manual_seed: the seed must be an integer >= 0, not -1"):
        cr.manual_seed(-1)
    assert cr.randn(2).tolist() == expected  # the refusals changed nothing


def test_astype_of_an_unknown_dtype_says_what_cr_tensor_says():
    with pytest.raises(TypeError) as made:
        cr.tensor([1.0], dtype="banana")
    with pytest.raises(TypeError) as cast:
        cr.randn(3).astype("banana")
    assert str(made.value).startswith("tensor: dtype 'banana' ")
    assert str(cast.value) == "astype" + str(made.value).removeprefix("tensor")


# -- PyTorch's names --------------------------------------------------------------------------

_AXIS_METHODS = [
    ("sum", (3, 2)),
    ("mean", (3, 2)),
    ("max", (3, 2)),
    ("min", (3, 2)),
    ("var", (3, 2)),
    ("softmax", (3, 2)),
    ("log_softmax", (3, 2)),
    ("logsumexp", (3, 2)),
    ("squeeze", (3, 1)),
    ("unsqueeze", (3, 2)),
]


@pytest.mark.parametrize("method, shape", _AXIS_METHODS, ids=[m for m, _ in _AXIS_METHODS])
def test_dim_is_met_by_the_name_axis(method, shape):
    x = cr.randn(*shape)
    with pytest.raises(TypeError, match=rf"^{method}: dim= is PyTorch's name; chainrule names it "
                       rf"axis=: x\.{method}\(axis=1\)$"):  # fmt: skip
        getattr(x, method)(dim=1)
    assert getattr(x, method)(axis=1).shape == getattr(x, method)(1).shape


def test_keepdim_and_an_unknown_keyword():
    x = cr.randn(3, 2)
    with pytest.raises(TypeError, match=r"keepdim= is PyTorch's name; chainrule names it "
                       r"keepdims=: x\.sum\(keepdims=True\)"):  # fmt: skip
        x.sum(0, keepdim=True)
    with pytest.raises(
        TypeError, match=r"^Tensor\.sum\(\) got an unexpected keyword argument 'bogus'$"
    ):
        x.sum(bogus=1)


_TORCH_METHODS = {
    "view": r"\.reshape\(",
    "float": r"\.astype\('float32'\)",
    "double": r"\.astype\('float64'\)",
    "long": r"\.astype\('int64'\)",
    "dim": r"\.ndim",
    "numel": r"\.size",
    "cpu": r"device",
    "cuda": r"device",
    "to": r"\.astype",
    "retain_grad": r"cr\.gradient\(E, \[t\]\)",
    "permute": r"\.transpose\(",
    "zero_": r"zero_grad",
}


@pytest.mark.parametrize("name, hint", _TORCH_METHODS.items(), ids=list(_TORCH_METHODS))
def test_pytorchs_methods_are_absent_with_a_hint(name, hint):
    t = cr.randn(3)
    with pytest.raises(AttributeError, match=rf"^Tensor has no \.{name}.*{hint}"):
        getattr(t, name)
    assert not hasattr(t, name)
    assert name not in dir(t)


def test_other_names_stay_plain_attribute_errors():
    t = cr.randn(3)
    with pytest.raises(AttributeError, match=r"^'Tensor' object has no attribute 'bogus'$"):
        t.bogus  # noqa: B018
    for probe in ("__array_interface__", "__array_struct__", "__cuda_array_interface__", "mask"):
        assert not hasattr(t, probe)


def test_copies_and_pickles_are_unchanged():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    t.name = "w"
    for other in (copy.copy(t), copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
        assert other.tolist() == [1.0, 2.0] and other.requires_grad and other.name == "w"
    p = cr.nn.Parameter(np.ones(2))
    assert isinstance(pickle.loads(pickle.dumps(p)), cr.nn.Parameter)
    with pytest.raises(AttributeError, match=r"^Tensor has no \.view"):
        p.view(2, 1)
