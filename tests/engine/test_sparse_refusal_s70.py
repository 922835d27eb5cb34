"""A scipy sparse matrix given where numbers are read is refused in one set of words, naming
``.toarray()``: a tensor, a model's forward, the explainer, as a Dataset refuses it. They were
NumPy's "setting an array element with a sequence." or a tensor "of dtype object"."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Dataset
from chainrule.errors import DataError
from chainrule.explainer.network import ExplainError

sparse = pytest.importorskip("scipy.sparse")

WORDS = "sparse data is not supported: pass a dense array, its .toarray()"


@pytest.fixture(params=["csr_matrix", "csr_array"])
def S(request):
    return getattr(sparse, request.param)(np.eye(3, 4))


@pytest.mark.parametrize(
    "make",
    [
        lambda S: cr.tensor(S),
        lambda S: cr.tensor(S, dtype="float32"),
        lambda S: cr.tensor(S, requires_grad=True),
        lambda S: cr.Tensor(S),
    ],
    ids=["tensor", "tensor-float32", "tensor-grad", "Tensor"],
)
def test_a_tensor_of_a_sparse_matrix_is_refused(S, make):
    with pytest.raises(TypeError, match=r"tensor: got a scipy sparse matrix .*shape \(3, 4\)") as e:
        make(S)
    assert WORDS in str(e.value)


def test_a_model_given_a_sparse_matrix_refuses_it(S):
    net = cr.nn.Sequential(cr.nn.Linear(4, 2), cr.nn.Sigmoid())
    with pytest.raises(TypeError, match="got a scipy sparse matrix") as e:
        net(S)
    assert WORDS in str(e.value)
    dense = net(S.toarray())  # what the message says works
    assert dense.shape == (3, 2)


def test_explain_refuses_a_sparse_input_or_target(S):
    net = cr.nn.Sequential(cr.nn.Linear(4, 2), cr.nn.Sigmoid())
    with pytest.raises(ExplainError, match=r"explain: got a scipy sparse matrix .*\(3, 4\)") as e:
        cr.explain(net, S, np.zeros((3, 2)))
    assert WORDS in str(e.value)
    target = sparse.csr_matrix(np.zeros((3, 2)))
    with pytest.raises(ExplainError, match=r"explain: got a scipy sparse matrix .*\(3, 2\)"):
        cr.explain(net, S.toarray(), target)
    cr.explain(net, S.toarray(), target.toarray())  # dense: explained


def test_the_dataset_refusal_is_the_same_words(S):
    with pytest.raises(DataError, match="got a scipy sparse matrix") as e:
        Dataset(S, np.zeros(3), "regression")
    assert WORDS in str(e.value)


def test_dense_values_are_read_as_before():
    values = [[1.0, 2.0], [3.0, 4.0]]
    assert np.array_equal(cr.tensor(values).numpy(), np.array(values))
    array = np.ones((2, 2))
    assert cr.Tensor(array).data is array  # an array is still wrapped, not copied
