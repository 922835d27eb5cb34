"""Data as PyTorch, pandas and scipy users hold it is refused with a DataError that says what
is wrong and what to pass instead, where NumPy misread it (a sparse matrix or a generator as a
0-d array: "got shape ()"), dropped part of it (a masked array's mask) or the messages gave no
way out (text labels, one-hot labels, a 1-D regression target); names that do not fit the data
are refused at construction, not when a checkpoint is written."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn
from chainrule.errors import DataError, UserError

X = np.random.default_rng(0).normal(size=(6, 3))
LABELS = [0, 1, 2, 0, 1, 2]
ONE_HOT = np.eye(3)[LABELS]


def _classes(**options):
    return data.Dataset(X=options.pop("X", X), y=options.pop("y", LABELS),
                        task="classification", **options)  # fmt: skip


@pytest.mark.parametrize("where", ["X", "y"])
def test_a_sparse_matrix_is_refused_naming_it(where):
    sparse = pytest.importorskip("scipy.sparse")
    arrays = {"X": X, "y": ONE_HOT, where: sparse.csr_matrix(X if where == "X" else ONE_HOT)}
    with pytest.raises(DataError, match=rf"{where}: got a scipy sparse matrix.*toarray\(\)"):
        data.Dataset(**arrays, task="multilabel")


def test_a_standardizer_refuses_sparse_matrices_and_datasets():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(DataError, match="Standardizer.fit: got a scipy sparse matrix"):
        data.Standardizer().fit(sparse.csr_matrix(X))
    with pytest.raises(DataError, match="Standardizer.transform: got a scipy sparse matrix"):
        data.Standardizer().fit(X).transform(sparse.csr_matrix(X))
    with pytest.raises(DataError, match=r"got a Dataset; pass its inputs, ds.X"):
        data.Standardizer().fit(_classes())


def test_a_generator_is_refused():
    with pytest.raises(DataError, match=r"generator.*np.asarray\(list"):
        _classes(X=(row for row in X))


def test_a_masked_array_with_masked_entries_is_refused():
    with pytest.raises(DataError, match="masked array with 2 entries masked"):
        _classes(X=np.ma.masked_array(X, mask=np.arange(18).reshape(6, 3) < 2))
    np.testing.assert_array_equal(_classes(X=np.ma.masked_array(X)).X, X)  # nothing masked


@pytest.mark.parametrize(
    ("y", "hint"),
    [
        (list("abcabc"), r"np.unique\(y, return_inverse=True\).*class_names"),
        (np.array(list("abcabc"), dtype=object), r"y\[0\] is 'a'.*np.unique"),
        (ONE_HOT, r"y.argmax\(1\), or task='multilabel'"),
        (np.array(LABELS)[:, None], r"y.ravel\(\)"),
    ],
)
def test_labels_in_another_form_get_the_way_to_numbers(y, hint):
    with pytest.raises(DataError, match=hint):
        _classes(y=y)


def test_a_1d_regression_target_gets_reshape():
    with pytest.raises(DataError, match=r"got shape \(6,\); .*y.reshape\(-1, 1\)"):
        data.Dataset(X=X, y=X[:, 0], task="regression")


def test_a_text_column_of_inputs_is_named():
    text = X.astype(object)
    text[2, 1] = "n/a"
    with pytest.raises(DataError, match=r"X\[2, 1\] is 'n/a': column 1"):
        _classes(X=text)


def test_names_must_fit_the_data():
    with pytest.raises(DataError, match="1 class names for 3 classes"):
        _classes(class_names=["a"])
    with pytest.raises(DataError, match="class names name 'a' twice"):
        _classes(class_names=["a", "b", "a"])
    with pytest.raises(DataError, match="feature names name 'u' twice"):
        _classes(feature_names=["u", "v", "u"])
    assert _classes(class_names=["a", "b", "c"]).class_names == ["a", "b", "c"]


def test_astype_refuses_a_dtype_that_is_not_floating():
    ds = _classes()
    with pytest.raises(DataError, match="must be a floating-point type, got int64"):
        ds.astype(int)
    assert ds.astype(np.float32).X.dtype == np.float32


def test_fit_names_a_dataset_without_a_task():
    class Duck:
        def __init__(self):
            self.X, self.y = X, np.array(LABELS)

        def __len__(self):
            return len(self.X)

    net = nn.mlp([3, 4, 3], rng=0)
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(UserError, match=r"train_ds \(Duck\) has X and y but no task"):
        cr.train.fit(net, nn.CrossEntropy(), opt, Duck(), epochs=1, progress=False)
