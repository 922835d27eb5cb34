"""Built-in datasets, the Dataset type, split / Standardizer / batches, and load() dispatch."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import data
from chainrule.errors import DataError, UserError

# ---------------------------------------------------------------- the classic problems


def test_xor_truth_table():
    ds = data.xor()
    assert ds.X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert ds.y.ravel().tolist() == [0, 1, 1, 0]
    assert (ds.task, ds.n_features, ds.n_outputs) == ("multilabel", 2, 1)


@pytest.mark.parametrize("n", [1, 3, 4, 6])
def test_parity_is_all_vectors_with_odd_count_target(n):
    ds = data.parity(n)
    assert ds.X.shape == (2**n, n) and ds.y.shape == (2**n, 1)
    assert len({tuple(row) for row in ds.X.astype(int)}) == 2**n
    assert set(np.unique(ds.X)) <= {0.0, 1.0}
    for row, target in zip(ds.X.astype(int), ds.y[:, 0]):
        assert target == sum(row) % 2
    assert ds.y.sum() == 2 ** (n - 1)


def test_symmetry_has_exactly_8_symmetric_vectors_of_64():
    ds = data.symmetry(6)
    assert ds.X.shape == (64, 6) and ds.y.shape == (64, 1)
    assert ds.y.sum() == 8
    symmetric = {tuple(row) for row, t in zip(ds.X.astype(int).tolist(), ds.y[:, 0]) if t == 1}
    assert symmetric == {(a, b, c, c, b, a) for a in (0, 1) for b in (0, 1) for c in (0, 1)}


def test_symmetry_odd_length_leaves_the_middle_free():
    assert data.symmetry(5).y.sum() == 8  # 2**3 mirror-symmetric vectors of length 5


def test_encoder_targets_are_the_inputs():
    ds = data.encoder(8, 3)
    np.testing.assert_array_equal(ds.X, np.eye(8))
    np.testing.assert_array_equal(ds.y, ds.X)
    assert ds.meta["hidden"] == 3 and ds.name == "encoder-8-3-8"
    assert data.encoder(16).meta["hidden"] == 4


@pytest.mark.parametrize("builder", [data.xor, data.parity, data.symmetry, data.encoder])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classic_dtypes(builder, dtype):
    ds = builder(dtype=dtype)
    assert ds.X.dtype == dtype and ds.y.dtype == dtype


@pytest.mark.parametrize(
    "call",
    [
        lambda: data.parity(0),
        lambda: data.symmetry(1),
        lambda: data.parity(40),
        lambda: data.encoder(1),
    ],
)
def test_classic_bad_sizes(call):
    with pytest.raises(DataError, match="n must be|use n <="):
        call()


def test_digits_is_the_uci_8x8_set_scaled_to_unit_interval():
    ds = data.digits()
    assert ds.X.shape == (1797, 64) and ds.y.shape == (1797,)
    assert ds.task == "classification" and ds.n_classes == 10
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert np.bincount(ds.y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    from sklearn.datasets import load_digits

    np.testing.assert_allclose(ds.X * 16, load_digits().data, atol=1e-5)
    np.testing.assert_array_equal(ds.y, load_digits().target)
    assert ds.meta["image_shape"] == [8, 8] and len(ds.feature_names) == 64


def test_digits_load_without_importing_scikit_learn():
    """`chainrule train` on the digits must not pay for importing scikit-learn's estimators."""
    import subprocess
    import sys

    code = "import sys; import chainrule.data as d; d.digits(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- Dataset


def test_dataset_validates_its_arrays():
    X = np.zeros((3, 2))
    with pytest.raises(DataError, match="3 input rows but 2 targets"):
        data.Dataset(X, np.array([0, 1]), "classification", "t")
    with pytest.raises(DataError, match="not finite"):
        data.Dataset(np.array([[0.0, np.nan]]), np.array([0]), "classification", "t")
    with pytest.raises(DataError, match="out of range for 2 classes"):
        data.Dataset(X, np.array([0, 1, 2]), "classification", "t", n_classes=2)
    with pytest.raises(DataError, match="not an integer class"):
        data.Dataset(X, np.array([0.0, 1.5, 1.0]), "classification", "t")
    with pytest.raises(DataError, match=">= 0"):
        data.Dataset(X, np.array([0, -1, 1]), "classification", "t")
    with pytest.raises(DataError, match="unknown task"):
        data.Dataset(X, np.zeros((3, 1)), "ranking", "t")
    with pytest.raises(DataError, match="targets must be 2-D"):
        data.Dataset(X, np.zeros(3), "regression", "t")
    with pytest.raises(DataError, match=r"target y\[1, 0\] is inf"):
        data.Dataset(X, np.array([[0.0], [np.inf], [1.0]]), "regression", "t")
    assert issubclass(DataError, UserError)


def test_subset_astype_and_target_matrix():
    ds = data.digits()
    part = ds.subset([5, 0, 7])
    np.testing.assert_array_equal(part.X, ds.X[[5, 0, 7]])
    np.testing.assert_array_equal(part.y, ds.y[[5, 0, 7]])
    assert part.n_classes == 10 and part.class_names == ds.class_names
    masked = ds.subset(ds.y == 3)
    assert len(masked) == 183 and set(masked.y) == {3}
    wide = part.astype(np.float64)
    assert wide.X.dtype == np.float64 and wide.y.dtype == np.int64
    T = part.target_matrix()
    assert T.shape == (3, 10) and T.dtype == np.float32
    np.testing.assert_array_equal(T.argmax(axis=1), part.y)
    np.testing.assert_array_equal(T.sum(axis=1), 1)
    xor = data.xor()
    np.testing.assert_array_equal(xor.target_matrix(np.float64), xor.y)
    assert "1797 x 64" in repr(ds) and "10 classes" in repr(ds)


# ---------------------------------------------------------------- split


def test_split_sizes_disjoint_and_complete():
    ds = data.digits()
    train, val, test = data.split(ds, val=0.1, test=0.2, seed=0)
    assert (len(train), len(val), len(test)) == (1797 - 180 - 359, 180, 359)
    rows = train.meta["indices"] + val.meta["indices"] + test.meta["indices"]
    assert sorted(rows) == list(range(1797))
    np.testing.assert_array_equal(test.X, ds.X[test.meta["indices"]])


def test_split_is_stratified():
    ds = data.digits()
    whole = np.bincount(ds.y, minlength=10) / len(ds)
    for seed in range(3):
        train, val, test = data.split(ds, val=0.1, test=0.2, seed=seed)
        for part in (train, val, test):
            counts = np.bincount(part.y, minlength=10)
            assert np.all(np.abs(counts - whole * len(part)) <= 1.0), counts


def test_unstratified_split_is_not_exactly_proportional():
    ds = data.digits()
    deviations = []
    for seed in range(3):
        test = data.split(ds, val=0, test=0.2, seed=seed, stratify=False)[2]
        deviations.append(np.abs(np.bincount(test.y, minlength=10) - 0.1 * len(test)).max())
    assert max(deviations) > 1.0  # so the stratification test above can fail


def test_split_is_seeded():
    ds = data.parity(6)
    a = data.split(ds, val=0.25, test=0.25, seed=7)
    b = data.split(ds, val=0.25, test=0.25, seed=7)
    c = data.split(ds, val=0.25, test=0.25, seed=8)
    assert [p.meta["indices"] for p in a] == [p.meta["indices"] for p in b]
    assert [p.meta["indices"] for p in a] != [p.meta["indices"] for p in c]


def test_split_counts_and_bad_sizes():
    ds = data.family_trees()
    train, val, test = data.split(ds, val=0, test=4, seed=0)
    assert (len(train), len(val), len(test)) == (100, 0, 4)
    assert val.X.shape == (0, 36)
    with pytest.raises(DataError, match="no training cases"):
        data.split(ds, val=0.5, test=0.5)
    with pytest.raises(DataError, match=r"\[0, 1\)"):
        data.split(ds, test=1.5)
    with pytest.raises(DataError, match="out of range"):
        data.split(ds, test=200)


# ---------------------------------------------------------------- Standardizer


def test_standardizer_zero_mean_unit_std_and_constant_columns():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(3, 2, 100), np.full(100, 0.7), rng.uniform(0, 9, 100)])
    s = data.Standardizer().fit(X)
    Z = s.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), [1, 0, 1], atol=1e-12)
    assert s.std[1] == 1.0
    np.testing.assert_allclose(s.inverse_transform(Z), X, atol=1e-12)
    assert s.transform(X.astype(np.float32)).dtype == np.float32


def test_standardizer_state_round_trips_through_json():
    X = data.digits().X
    s = data.Standardizer().fit(X)
    restored = data.Standardizer.from_state(json.loads(json.dumps(s.state())))
    np.testing.assert_array_equal(restored.mean, s.mean)
    np.testing.assert_array_equal(restored.std, s.std)
    np.testing.assert_array_equal(restored.transform(X[:10]), s.transform(X[:10]))


def test_standardizer_errors():
    s = data.Standardizer()
    with pytest.raises(DataError, match="fit first"):
        s.transform(np.zeros((2, 3)))
    s.fit(np.ones((4, 3)))
    with pytest.raises(DataError, match="fitted on 3 features"):
        s.transform(np.zeros((2, 5)))
    with pytest.raises(DataError, match="malformed"):
        data.Standardizer.from_state({"mean": [0.0]})
    with pytest.raises(DataError, match="std"):
        data.Standardizer.from_state({"mean": [0.0], "std": [0.0]})


# ---------------------------------------------------------------- batches


def test_batches_cover_every_case_once():
    got = list(data.batches(10, 3, shuffle=True, rng=np.random.default_rng(0)))
    assert [len(b) for b in got] == [3, 3, 3, 1]
    assert sorted(np.concatenate(got).tolist()) == list(range(10))
    assert [len(b) for b in data.batches(10, 3, rng=0, drop_last=True)] == [3, 3, 3]


def test_full_batch_is_one_sweep_in_order():
    for size in (None, 10, 50):
        got = list(data.batches(10, size, shuffle=True, rng=0))
        assert len(got) == 1 and got[0].tolist() == list(range(10))
    assert list(data.batches(0, None)) == []


def test_batches_are_deterministic_given_a_seed():
    def epochs(seed):
        rng = np.random.default_rng(seed)
        return [np.concatenate(list(data.batches(20, 4, rng=rng))).tolist() for _ in range(3)]

    first = epochs(42)
    assert first == epochs(42)
    assert first != epochs(43)
    assert first[0] != first[1]  # a shared Generator gives each epoch a new order
    assert first[0] != list(range(20))
    unshuffled = np.concatenate(list(data.batches(20, 4, shuffle=False))).tolist()
    assert unshuffled == list(range(20))


def test_batches_bad_arguments():
    with pytest.raises(DataError, match="batch_size"):
        list(data.batches(10, 0))
    with pytest.raises(DataError, match="n must be"):
        list(data.batches(-1, 2))


@pytest.mark.parametrize("rng", [-1, "a", 1.5, True])
def test_batches_and_initialisers_name_a_bad_rng(rng):
    """One check (creation.as_generator) for every rng a user passes: a negative seed gave
    NumPy's "expected non-negative integer", naming neither the argument nor the call."""
    import chainrule as cr

    expected = r"rng must be a numpy Generator, a seed \(an integer >= 0\) or None, not "
    with pytest.raises(DataError, match="batches: " + expected):
        list(data.batches(10, 3, rng=rng))
    with pytest.raises(cr.nn.ConfigError, match=expected):
        cr.nn.Linear(2, 3, rng=rng)
    with pytest.raises(cr.nn.ConfigError, match="randn: " + expected):
        cr.randn(2, rng=rng)


def test_a_numpy_integer_seed_is_a_seed():
    import chainrule as cr

    np.testing.assert_array_equal(cr.randn(3, rng=np.int64(7)).numpy(), cr.randn(3, rng=7).numpy())
    assert list(map(list, data.batches(6, 2, rng=np.uint8(3)))) == list(
        map(list, data.batches(6, 2, rng=3))
    )


# ---------------------------------------------------------------- load


@pytest.mark.parametrize(
    "name, shape",
    [
        ("xor", (4, 2)),
        ("parity", (16, 4)),
        ("symmetry", (64, 6)),
        ("encoder", (8, 8)),
        ("family-trees", (104, 36)),
        ("FAMILY_TREES", (104, 36)),
        ("digits", (1797, 64)),
    ],
)
def test_load_by_name(name, shape):
    assert data.load(name).X.shape == shape


def test_load_passes_options_and_rejects_unknown_ones():
    assert data.load("parity", n=6).X.shape == (64, 6)
    with pytest.raises(DataError, match="xor"):
        data.load("xor", n=3)


def test_load_unknown_name_lists_the_valid_ones():
    with pytest.raises(DataError) as info:
        data.load("mnistt")
    message = str(info.value)
    assert "'mnistt'" in message
    for name in ("digits", "xor", "parity", "symmetry", "encoder", "family-trees"):
        assert name in message


def test_load_missing_path(tmp_path):
    with pytest.raises(DataError, match="no such file or directory.*digits"):
        data.load(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no such file or directory"):
        data.load(str(tmp_path / "nope"))
    other = tmp_path / "weights.bin"
    other.write_bytes(b"\0")
    with pytest.raises(DataError, match="not a CSV file"):
        data.load(other)


def test_load_dispatches_csv_and_idx_dir(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,label\n0.5,1,0\n1.5,2,1\n")
    ds = data.load(tmp_path / "d.csv")
    assert ds.X.tolist() == [[0.5, 1.0], [1.5, 2.0]] and ds.y.tolist() == [0, 1]
    idx_dir = tmp_path / "idx"
    idx_dir.mkdir()
    data.write_idx(idx_dir / "train-images-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
    data.write_idx(idx_dir / "train-labels-idx1-ubyte", np.array([0, 1, 2], np.uint8))
    assert data.load(idx_dir).X.shape == (3, 4)


def test_subsets_of_subsets_trace_back_to_the_loaded_rows():
    ds = data.parity(5)
    train, val, test = data.split(ds, val=0.25, test=0.25, seed=1)
    inner = train.subset([2, 0])
    assert inner.meta["indices"] == [train.meta["indices"][2], train.meta["indices"][0]]
    np.testing.assert_array_equal(inner.X, ds.X[inner.meta["indices"]])
    assert "indices" not in ds.meta  # the original is not touched


def test_split_keeps_per_case_meta_in_step():
    ds = data.family_trees()
    train, _, test = data.split(ds, val=0, test=10, seed=2)
    for part in (train, test):
        assert len(part.meta["cases"]) == len(part)
        for i, (person, relation) in enumerate(part.meta["cases"]):
            assert part.X[i, data.PEOPLE.index(person)] == 1
            assert part.X[i, 24 + data.RELATIONS.index(relation)] == 1


def test_dataset_casts_integer_arrays_to_float():
    ds = data.Dataset(np.array([[0, 1], [1, 0]]), np.array([[1], [0]]), "multilabel", "t")
    assert ds.X.dtype == np.float64 and ds.y.dtype == np.float64
    assert data.load("Family Trees").X.shape == (104, 36)


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.integers(0, 4), min_size=20, max_size=120),
    seed=st.integers(0, 2**16),
)
def test_stratified_parts_keep_every_class_share(labels, seed):
    y = np.array(labels)
    ds = data.Dataset(np.zeros((len(y), 1)), y, "classification", "t")
    train, val, test = data.split(ds, val=0.2, test=0.2, seed=seed)
    assert sorted(train.meta["indices"] + val.meta["indices"] + test.meta["indices"]) == list(
        range(len(y))
    )
    share = np.bincount(y, minlength=5) / len(y)
    for part in (train, val, test):
        counts = np.bincount(part.y, minlength=5)
        assert np.all(np.abs(counts - share * len(part)) <= 2.0), (counts, share * len(part))


@pytest.mark.parametrize("name", ["", " ", "\t"])
def test_an_empty_dataset_name_is_refused_not_read_as_the_current_directory(
    name, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # "." holds a valid IDX pair: "" must not reach it
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7])
    )
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 1, 3]))
    assert len(data.load(".")) == 1  # what "" used to read
    with pytest.raises(DataError, match="dataset name is empty"):
        data.load(name)


def test_a_column_of_tiny_varying_values_is_scaled_not_taken_for_constant():
    """Constant means the same value (up to rounding relative to the column's own mean), not
    small: a column in units of 1e-13 was left unscaled, and its information lost to training.
    The oracle: scikit-learn's StandardScaler."""
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    X = np.column_stack([x * 1e-13, np.full(200, 3.0), x[:, 0] * 1e-3 + 1e6])
    s = data.Standardizer().fit(X)
    np.testing.assert_allclose(s.transform(X), StandardScaler().fit_transform(X), atol=1e-9)
    assert s.std[2] == 1.0


# ---------------------------------------------------------------- bad arguments, clear errors


def test_subset_refuses_a_mask_of_the_wrong_length_and_an_index_out_of_range():
    ds = data.xor()
    with pytest.raises(DataError, match=r"one entry per case \(4\), got shape \(2,\)"):
        ds.subset(np.ones(2, dtype=bool))
    with pytest.raises(DataError, match="index 9 is out of range for 4 cases"):
        ds.subset([0, 9])
    with pytest.raises(DataError, match="index -5 is out of range"):
        ds.subset([-5])
    assert ds.subset([-1]).meta["indices"] == [3]  # a negative index counts from the end
    assert len(ds.subset([])) == 0


def test_split_refuses_a_bad_seed_and_sizes_that_are_not_numbers():
    ds = data.xor()
    for seed in (-1, 1.5, "0", True):
        with pytest.raises(DataError, match=r"seed must be a non-negative integer, got"):
            data.split(ds, val=1, test=1, seed=seed)
    for val in ("0.1", None):
        with pytest.raises(DataError, match=r"val must be a fraction or a count, got"):
            data.split(ds, val=val)
    assert len(data.split(ds, val=1, test=1, seed=np.int64(3))[0]) == 2


@pytest.mark.parametrize("args", [(5, 2.5), (5, "2"), (2.5, 2), (5, np.True_)])
def test_batches_refuse_arguments_that_are_not_integers(args):
    with pytest.raises(DataError, match=r"batches: (n|batch_size) must be"):
        list(data.batches(*args))


def test_batches_take_numpy_integers():
    assert [b.tolist() for b in data.batches(np.int64(5), np.int32(2), shuffle=False)] == [
        [0, 1], [2, 3], [4]
    ]  # fmt: skip


def test_standardizer_refuses_data_that_is_not_finite():
    # named as NumPy indexes it (0-based), as a Dataset names a cell; files name their lines
    with pytest.raises(DataError, match=r"X\[1, 1\] is nan"):
        data.Standardizer().fit(np.array([[1.0, 2.0], [3.0, np.nan]]))
    with pytest.raises(DataError, match=r"X\[0, 0\] is inf"):
        data.Standardizer().fit(np.array([[np.inf], [1.0]]))


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, bool, "int64"])
def test_digits_refuses_a_dtype_that_is_not_floating_point(dtype):
    with pytest.raises(DataError, match="digits: dtype must be a floating-point type"):
        data.digits(dtype=dtype)


def test_the_encoder_takes_the_sizes_of_a_deeper_network():
    ds = data.encoder(8, hidden=[4, 2])
    assert ds.name == "encoder-8-4-2-8" and ds.meta["hidden"] == [4, 2]
    np.testing.assert_array_equal(ds.X, data.encoder(8).X)  # the patterns do not change
    with pytest.raises(DataError, match=r"^encoder: hidden must be layer sizes >= 1, got \[3, 0\]"):
        data.encoder(8, hidden=[3, 0])
