"""QA's data defects, second round: an IDX directory's parts on different scales (a wrong test
accuracy, silently), a valid-* pair taken for a test part, integer dtypes that truncated the
data, a label column that is not last, csv's own TypeError for a bad delimiter, and three
messages that lacked what would fix them."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from chainrule import data
from chainrule.cli import main
from chainrule.errors import DataError

RNG = np.random.default_rng(0)


def idx_dir(path, parts):
    """An IDX directory of ``{prefix: (images, labels)}``, written with data.write_idx."""
    path.mkdir()
    for prefix, (images, labels) in parts.items():
        data.write_idx(path / f"{prefix}-images-idx3-ubyte", images)
        data.write_idx(path / f"{prefix}-labels-idx1-ubyte", np.asarray(labels, np.uint8))
    return path


def pixels(n, dtype=np.uint8, high=250):
    """``n`` 3x3 images whose pixels run 0..high (both reached), and labels 0/1 from them."""
    images = RNG.integers(0, high + 1, size=(n, 3, 3)).astype(dtype)
    images[0, 0, 0], images[1, 0, 0] = 0, high
    labels = (images[:, 1, 1] > high / 2).astype(np.uint8)
    return images, labels


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(capsys, *args):
    code, _, err = run(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("chainrule: "), err
    return lines[0]


# -- 1. parts on different scales ----------------------------------------------------------------


def test_float_test_images_beside_8_bit_training_images_are_refused_as_evaluate_refuses(
    tmp_path, capsys
):
    """Training divided the t10k floats in [0, 1] by 255 (near-black) and printed a test
    accuracy of 33%; evaluate --part test refuses the same files. The oracle: evaluate's own
    refusal of those test images for a model trained on the training part alone."""
    train_images, train_labels = pixels(60)
    test_images, test_labels = pixels(20)
    unit = test_images.astype(np.float32) / 250
    d = idx_dir(tmp_path / "mixed", {"train": (train_images, train_labels),
                                     "t10k": (unit, test_labels)})  # fmt: skip
    refusal = one_line_error(capsys, "train", "--data", d, "--epochs", 1, "-q",
                             "--out", tmp_path / "r")  # fmt: skip
    assert "t10k-images-idx3-ubyte: these images' pixels run 0..1" in refusal
    assert not (tmp_path / "r" / "model").exists()
    alone = idx_dir(tmp_path / "alone", {"train": (train_images, train_labels)})
    assert run(capsys, "train", "--data", alone, "--epochs", 1, "-q", "--out",
               tmp_path / "r2")[0] == 0  # fmt: skip
    evaluate = one_line_error(capsys, "evaluate", tmp_path / "r2", "--data", d, "--part", "test")
    tail = "ran 0..255: they are on another scale; map them onto 0..255 first"
    assert refusal.endswith(tail) and evaluate.endswith(tail), (refusal, evaluate)


def test_8_bit_test_images_beside_float_training_images_are_refused(tmp_path, capsys):
    """The reverse was silent too: the training floats in [0, 1] were mapped from the test
    part's 0..249 (every training pixel below 0.004) and pixel_range [0, 249] recorded."""
    train_images, train_labels = pixels(60)
    unit = train_images.astype(np.float32) / 250
    d = idx_dir(tmp_path / "mixed", {"train": (unit, train_labels), "t10k": pixels(20)})
    train = data.load_idx_dir(d)
    assert train.meta["pixel_range"] == [0.0, 1.0]  # floats in [0, 1] are kept as they are
    np.testing.assert_array_equal(train.X, unit.reshape(60, -1))
    with pytest.raises(DataError, match=re.escape("outside 0..1, the pixels of the training "
                                                  "images (train-images-idx3-ubyte)")):  # fmt: skip
        data.load_idx_dir(d, part="test")
    refusal = one_line_error(capsys, "train", "--data", d, "--epochs", 1, "-q",
                             "--out", tmp_path / "r")  # fmt: skip
    assert "t10k-images-idx3-ubyte: image 1" in refusal and "on another scale" in refusal


def test_the_test_part_is_mapped_from_the_training_part_s_range(tmp_path, capsys):
    """Float test images holding 0..250, beside uint8 training images, were mapped from their
    own 0..250 while the model's inputs were pixels / 255: the test loss training reported
    was on other inputs than the model's. The oracle: evaluate --part test, which maps them
    with the model's recorded range."""
    train_images, train_labels = pixels(60)
    test_images, test_labels = pixels(20)
    floats = test_images.astype(np.float32)  # 0..250, as the training pixels
    d = idx_dir(tmp_path / "same", {"train": (train_images, train_labels),
                                    "t10k": (floats, test_labels)})  # fmt: skip
    test = data.load_idx_dir(d, part="test")
    assert test.meta["pixel_range"] == [0.0, 255.0]
    np.testing.assert_allclose(test.X, test_images.reshape(20, -1) / 255.0, rtol=1e-6)
    assert run(capsys, "train", "--data", d, "--epochs", 3, "-q", "--out", tmp_path / "r")[0] == 0
    trained = json.loads((tmp_path / "r" / "run.json").read_text())
    code, out, err = run(capsys, "evaluate", tmp_path / "r", "--data", d, "--part", "test",
                         "--json")  # fmt: skip
    assert code == 0, err
    evaluated = json.loads(out)
    assert trained["test_cases"] == evaluated["cases"] == 20
    assert trained["test_loss"] == pytest.approx(evaluated["loss"], rel=1e-6)
    assert trained["test_accuracy"] == pytest.approx(evaluated["accuracy"])


# -- 3. a test part exists where a pair names one -------------------------------------------------


def test_a_valid_pair_beside_train_is_no_test_part(tmp_path, capsys):
    """Refused: "no single IDX pair for part 'test'; found train, valid". As for a lone train
    pair, the test split is taken from the training part: the oracle is data.split's."""
    d = idx_dir(tmp_path / "tv", {"train": pixels(60), "valid": pixels(10)})
    code, _, err = run(capsys, "train", "--data", d, "--epochs", 1, "-q", "--out", tmp_path / "r")
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "run.json").read_text())
    _, _, test = data.split(data.load_idx_dir(d), val=0.1, test=0.2, seed=0)
    assert summary["evaluated_on"] == "test" and summary["test_cases"] == len(test) > 0
    # beside a t10k pair too, the t10k pair is the test set
    d2 = idx_dir(tmp_path / "tvt", {"train": pixels(60), "valid": pixels(10), "t10k": pixels(7)})
    assert run(capsys, "train", "--data", d2, "--epochs", 1, "-q", "--out", tmp_path / "r2")[0] == 0
    assert json.loads((tmp_path / "r2" / "run.json").read_text())["test_cases"] == 7


# -- 2. a dtype that is no float -------------------------------------------------------------------


def iris_like(tmp_path):
    return write(tmp_path / "x.csv", "a,b,label\n5.1,3.5,0\n4.9,3.0,1\n6.2,2.9,1\n")


def write(path, text):
    path.write_text(text)
    return path


BUILDERS = {
    "csv": lambda tmp, dtype: data.load(iris_like(tmp), dtype=dtype),
    "read_csv": lambda tmp, dtype: data.read_csv(iris_like(tmp), dtype=dtype),
    "input_dtype": lambda tmp, dtype: data.read_csv(iris_like(tmp), input_dtype=dtype),
    "idx": lambda tmp, dtype: data.load_idx_dir(
        idx_dir(tmp / "d", {"train": pixels(4)}), dtype=dtype
    ),
    "xor": lambda tmp, dtype: data.xor(dtype=dtype),
    "parity": lambda tmp, dtype: data.parity(3, dtype=dtype),
    "symmetry": lambda tmp, dtype: data.symmetry(4, dtype=dtype),
    "encoder": lambda tmp, dtype: data.encoder(4, dtype=dtype),
    "family_trees": lambda tmp, dtype: data.load("family-trees", dtype=dtype),
}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("dtype", [np.int32, bool, "int64"])
def test_every_builder_refuses_a_dtype_that_is_no_float(tmp_path, builder, dtype):
    """An integer dtype truncated the data silently (5.1 read as 5, pixels scaled to [0, 1]
    rounded to 0) where digits refuses it; the oracle is digits' own refusal."""
    with pytest.raises(DataError) as expected:
        data.digits(dtype=dtype)
    with pytest.raises(DataError) as caught:
        BUILDERS[builder](tmp_path, dtype)
    rule = str(expected.value).removeprefix("digits: ")  # "dtype must be a floating-point ..."
    if builder == "input_dtype":
        rule = "input_" + rule
    assert str(caught.value).endswith(rule), (str(caught.value), rule)


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_every_builder_still_takes_a_float_dtype(tmp_path, builder):
    ds = BUILDERS[builder](tmp_path, np.float64)
    assert ds.X.dtype == np.float64


# -- 4. a label column that is not last ---------------------------------------------------------


@pytest.mark.parametrize("name", ["label", "Target", "CLASS", "y"])
def test_a_label_column_named_but_not_last_is_pointed_to(tmp_path, name):
    """``label,a,b,c``: the last column's reals were refused with advice to read the file as a
    regression, which would train a model to predict c from the labels."""
    path = write(tmp_path / "first.csv", f"{name},a,b,c\n0,0.1,0.2,0.6404\n1,0.3,0.4,0.5\n")
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert "line 2, column 4 ('c'): label 0.6404 is not an integer class" in message
    assert f"the label must be the last column, and column 1 ('{name}')" in message
    assert "regression" not in message
    # the column it names is the labels: read by name, they are the first column's numbers
    assert data.read_csv(path, label_column=name).y.tolist() == [0, 1]
    negative = write(tmp_path / "neg.csv", f"{name},a,b\n0,0.1,-1\n1,0.3,2\n")
    with pytest.raises(DataError, match=r"out of range \(>= 0\); the label must be the last"):
        data.read_csv(negative)


def test_no_label_hint_without_a_column_named_as_one(tmp_path):
    path = write(tmp_path / "plain.csv", "a,b,c\n0,0.1,0.6404\n1,0.3,0.5\n")
    with pytest.raises(DataError, match="read the file as a regression"):
        data.read_csv(path)


# -- 5. the delimiter ---------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";;", "", '"', "\n", 5])
def test_a_delimiter_csv_cannot_split_on_is_refused_by_name(tmp_path, delimiter):
    """ ";;" raised csv's TypeError; "" was taken as "not given" and the file read with commas."""
    path = write(tmp_path / "semi.csv", "a,b,label\n0.5,0.1,0\n0.2,0.3,1\n")
    with pytest.raises(DataError, match=r"semi.csv: delimiter must be one character"):
        data.load(path, delimiter=delimiter)
    with pytest.raises(DataError, match="delimiter must be one character"):
        data.read_table(path, delimiter=delimiter)


# -- 6. messages ----------------------------------------------------------------------------------


def test_a_comment_line_is_named_in_the_ragged_line_message(tmp_path):
    first = write(tmp_path / "c1.csv", "# iris measurements\n5.1,3.5,0\n4.9,3.0,1\n")
    with pytest.raises(DataError, match=r"line 2: 3 fields, expected 1; line 1 \('# iris "
                       r"measurements'\) was read as the header, but comment lines are not "
                       "skipped"):  # fmt: skip
        data.read_csv(first)
    middle = write(tmp_path / "c2.csv", "a,b,y\n5.1,3.5,0\n# more below\n4.9,3.0,1\n")
    with pytest.raises(DataError, match=r"line 3: 1 fields, expected 3; line 3 starts with '#'"):
        data.read_csv(middle)


def test_write_idx_lists_the_dtypes_it_can_store(tmp_path):
    with pytest.raises(DataError) as caught:
        data.write_idx(tmp_path / "x-idx1-ubyte", [1, 2, 3])
    assert list(tmp_path.iterdir()) == []
    listed = re.search(r"only ([\w, ]+);", str(caught.value)).group(1).split(", ")
    assert sorted(listed) == sorted(d.newbyteorder("=").name for d in data.idx.IDX_DTYPES.values())
    for name in listed:  # every type it lists, it writes and reads back
        values = np.array([1, 2, 3], name)
        data.write_idx(tmp_path / f"{name}-idx1-ubyte", values)
        read = data.read_idx(tmp_path / f"{name}-idx1-ubyte")
        assert read.dtype == values.dtype and read.tolist() == values.tolist()


@pytest.mark.parametrize("column", [1, 2])
def test_a_number_too_large_for_any_float_is_said_to_be(tmp_path, column):
    cells = ["1", "2", "0"]
    cells[column] = "9" * 400  # finite as written, inf once read (float64 ends at 1.8e308)
    path = write(tmp_path / "big.csv", "a,b,y\n" + ",".join(cells) + "\n2,3,1\n")
    limit = f"{np.finfo(np.float64).max:.2g}"
    with pytest.raises(DataError, match=rf"is not a finite number: too large for any float "
                                        rf"\(at most {re.escape(limit)}\)"):  # fmt: skip
        data.read_csv(path)
    nan = write(tmp_path / "nan.csv", "a,b,y\n1,nan,0\n2,3,1\n")
    with pytest.raises(DataError, match=r"'nan' is not a finite number$"):
        data.read_csv(nan)
