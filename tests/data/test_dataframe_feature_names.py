"""A DataFrame given to ``Dataset`` gives its string column names as the feature names where the
user gave none, as scikit-learn takes them for ``feature_names_in_`` (they were dropped: the
dataset, fit's messages and the saved model said "column 1" where the user had named it);
an explicit ``feature_names=`` wins, and names that are not all strings are not taken. pandas
stays optional: a frame is told by its ``columns`` and ``to_numpy``, so these tests run on a
stand-in of those alone, and on pandas and polars where they are installed. Oracles: the
frame's own column names and values, and the messages naming them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import data, io, nn
from chainrule.errors import ConfigError, DataError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import assert_user_error, run  # noqa: E402

VALUES = np.random.default_rng(0).normal(size=(6, 3))
LABELS = [0, 1, 2, 0, 1, 2]


class StandIn:
    """What a DataFrame shows chainrule: ``columns``, ``to_numpy`` and NumPy's ``__array__``."""

    def __init__(self, values, columns):
        self._values = np.asarray(values)
        self.columns = list(columns)

    def to_numpy(self, dtype=None):
        return self._values if dtype is None else self._values.astype(dtype)

    def __array__(self, dtype=None, copy=None):
        return self.to_numpy(dtype)

    def __len__(self):
        return len(self._values)


def _pandas(values, columns):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(np.asarray(values), columns=list(columns))


def _polars(values, columns):
    pl = pytest.importorskip("polars")
    values = np.asarray(values)
    return pl.DataFrame({str(c): values[:, j] for j, c in enumerate(columns)})


@pytest.fixture(params=["stand-in", "pandas"])
def frame(request):
    """A maker of a frame of ``values`` with ``columns``: the stand-in, or pandas' own."""
    return StandIn if request.param == "stand-in" else _pandas


def _classes(X, **options):
    return data.Dataset(X=X, y=options.pop("y", LABELS), task="classification", **options)


@pytest.mark.parametrize("make", [StandIn, _pandas, _polars], ids=["stand-in", "pandas", "polars"])
def test_a_frames_string_column_names_are_its_feature_names(make):
    ds = _classes(make(VALUES, ["age", "height", "weight"]))
    assert ds.feature_names == ["age", "height", "weight"]
    assert all(type(n) is str for n in ds.feature_names)
    assert isinstance(ds.X, np.ndarray) and ds.X.dtype == np.float64
    np.testing.assert_array_equal(ds.X, VALUES)


def test_given_feature_names_win_over_the_frames(frame):
    ds = _classes(frame(VALUES, ["age", "height", "weight"]), feature_names=["a", "b", "c"])
    assert ds.feature_names == ["a", "b", "c"]
    # even over two columns of one name, which alone are refused (below)
    assert _classes(frame(VALUES, ["a", "a", "b"]), feature_names=list("xyz")).feature_names == [
        "x", "y", "z",
    ]  # fmt: skip


@pytest.mark.parametrize("columns", [[0, 1, 2], ["a", 1, "c"], [("a", 1), ("a", 2), ("b", 1)]])
def test_names_that_are_not_all_strings_are_not_taken(frame, columns):
    """As scikit-learn: pandas' default 0, 1, 2, names mixing types, a MultiIndex's tuples."""
    if frame is _pandas and isinstance(columns[0], tuple):
        pd = pytest.importorskip("pandas")
        X = pd.DataFrame(VALUES, columns=pd.MultiIndex.from_tuples(columns))
    else:
        X = frame(VALUES, columns)
    ds = _classes(X)
    assert ds.feature_names is None
    np.testing.assert_array_equal(ds.X, VALUES)


def test_an_array_and_a_series_give_no_names():
    assert _classes(VALUES).feature_names is None
    pd = pytest.importorskip("pandas")
    ds = _classes(pd.DataFrame(VALUES, columns=list("abc")), y=pd.Series(LABELS, name="kind"))
    assert ds.feature_names == ["a", "b", "c"] and ds.y.tolist() == LABELS  # its name unused


def test_two_columns_of_one_name_are_refused_naming_it(frame):
    with pytest.raises(DataError, match=r"^data: X has two columns named 'a'.*feature_names="):
        _classes(frame(VALUES, ["a", "b", "a"]))


def test_a_text_column_is_refused_by_its_name(frame):
    X = np.array([[1.0, "x"], [2.0, "y"]], dtype=object)
    with pytest.raises(DataError, match=r"X\[0, 1\] is 'x': column 1 \('city'\)"):
        _classes(frame(X, ["size", "city"]), y=[0, 1])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=5, unique=True))
def test_any_distinct_string_names_are_taken_in_order(names):
    X = np.arange(2 * len(names), dtype=float).reshape(2, len(names))
    assert _classes(StandIn(X, names), y=[0, 1]).feature_names == names


def test_the_names_are_kept_by_subset_split_and_astype(frame):
    ds = _classes(frame(np.tile(VALUES, (5, 1)), ["age", "height", "weight"]), y=LABELS * 5)
    parts = data.split(ds, val=0.2, test=0.2, seed=0)
    for part in (ds.subset([0, 2]), ds.astype(np.float32), *parts):
        assert part.feature_names == ["age", "height", "weight"]


def _raw_and_scaler(frame):
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[0.0, 100.0, 0.0], scale=[1.0, 10.0, 1.0], size=(60, 3))
    ds = _classes(frame(X, ["age", "income", "score"]), y=(X[:, 1] > 100).astype(int))
    return ds, data.Standardizer().fit(ds.X)


def test_fit_names_the_column_by_the_frames_name(frame):
    """fit's refusal of inputs its standardizer did not scale names the column as the user
    named it (it said only "column 1")."""
    ds, scaler = _raw_and_scaler(frame)
    net = nn.mlp([3, 2, 2], rng=0)
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ConfigError, match=r"X's column 1 \('income'\) has mean"):
        cr.train.fit(net, nn.CrossEntropy(), opt, ds, epochs=0, progress=False,
                     standardizer=scaler)  # fmt: skip


def _csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows))
    return path


@pytest.mark.parametrize("save", ["io.save_model", "fit's checkpoint"])
def test_the_names_recorded_with_the_model_are_checked_by_predict(frame, tmp_path, capsys, save):
    """The names go into the model's file as its meta says (``meta["feature_names"]``, where the
    command line records a CSV file's header), and ``chainrule predict`` then refuses a file
    whose columns are in another order, which it read into the wrong inputs before."""
    ds = _classes(frame(VALUES, ["age", "height", "weight"]))
    net = nn.mlp([3, 2, 3], rng=0)
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    meta = {"feature_names": ds.feature_names}
    if save == "io.save_model":
        model = io.save_model(tmp_path / "model", net, loss=nn.CrossEntropy(), meta=meta)
    else:
        cr.train.fit(net, nn.CrossEntropy(), opt, ds, epochs=1, progress=False,
                     checkpoint_dir=tmp_path / "ckpt", meta=meta)  # fmt: skip
        model = tmp_path / "ckpt"
    assert io.load_model(model)[1]["meta"]["feature_names"] == ["age", "height", "weight"]
    rows = VALUES[:2].round(3).tolist()
    same = _csv(tmp_path / "same.csv", ["age", "height", "weight"], rows)
    code, out, err = run(capsys, "predict", "--model", model, "--input", same)
    assert code == 0, err
    swapped = _csv(tmp_path / "swapped.csv", ["height", "age", "weight"],
                   [[r[1], r[0], r[2]] for r in rows])  # fmt: skip
    refused = "column 1 is named 'height', but the model's input 1 is 'age'"
    assert_user_error(capsys, "predict", "--model", model, "--input", swapped, match=refused)
