"""The IDX and CSV readers on good files and on every kind of broken file, written in tmp_path."""

import gzip
import re
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from chainrule import data
from chainrule.data.idx import scale_images
from chainrule.errors import DataError

# ---------------------------------------------------------------- IDX


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """An IDX file built by hand from the format's description (independent of write_idx)."""
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize(
    "dtype, code",
    [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
     (np.float32, 0x0D), (np.float64, 0x0E)],
)  # fmt: skip
def test_read_idx_hand_built_files_of_every_dtype(tmp_path, dtype, code):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    path = tmp_path / "a-idx3-ubyte"
    path.write_bytes(idx_bytes(array, code))
    got = data.read_idx(path)
    assert got.dtype == dtype and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, array)


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_write_then_read_round_trip(tmp_path, name):
    array = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    path = tmp_path / name
    data.write_idx(path, array)
    np.testing.assert_array_equal(data.read_idx(path), array)
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # really gzip
        assert gzip.decompress(path.read_bytes()) == idx_bytes(array, 0x08)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temp file left behind


def test_wrong_magic_number(tmp_path):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(b"\x01\x00\x08\x01" + struct.pack(">I", 2) + b"\x00\x01")
    with pytest.raises(DataError, match=r"bad-idx1-ubyte: bad IDX magic number 0x01000801"):
        data.read_idx(path)
    path.write_bytes(b"\x00\x00\x07\x01" + struct.pack(">I", 2) + b"\x00\x01")  # no dtype 0x07
    with pytest.raises(DataError, match="magic"):
        data.read_idx(path)
    path.write_bytes(b"PK\x03\x04 not idx at all")
    with pytest.raises(DataError, match="magic"):
        data.read_idx(path)


def test_truncated_and_overlong_files(tmp_path):
    good = idx_bytes(np.zeros((4, 2, 2), np.uint8), 0x08)
    path = tmp_path / "t-idx3-ubyte"
    path.write_bytes(good[:-1])
    with pytest.raises(
        DataError, match=r"truncated: dimensions \(4, 2, 2\).*need 32 bytes, the file has 31"
    ):
        data.read_idx(path)
    path.write_bytes(good[:9])  # inside the dimensions
    with pytest.raises(DataError, match="truncated IDX header"):
        data.read_idx(path)
    path.write_bytes(good[:2])
    with pytest.raises(DataError, match="too short"):
        data.read_idx(path)
    path.write_bytes(good + b"\x00")
    with pytest.raises(DataError, match="trailing bytes"):
        data.read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "t-idx3-ubyte.gz"
    data.write_idx(path, np.arange(100, dtype=np.uint8).reshape(4, 5, 5))
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(DataError, match="t-idx3-ubyte.gz"):
        data.read_idx(path)


def test_missing_idx_file(tmp_path):
    with pytest.raises(DataError, match="no such IDX file"):
        data.read_idx(tmp_path / "nothing-idx1-ubyte")


def write_mnist_like(directory, n_train=6, n_test=4, gz=False, dot=False):
    directory.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    sep, ext = ("." if dot else "-"), (".gz" if gz else "")
    arrays = {}
    for part, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 3, 2), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        data.write_idx(directory / f"{part}-images{sep}idx3-ubyte{ext}", images)
        data.write_idx(directory / f"{part}-labels{sep}idx1-ubyte{ext}", labels)
        arrays[part] = (images, labels)
    return arrays


@pytest.mark.parametrize("gz, dot", [(False, False), (True, False), (False, True)])
def test_load_idx_dir_pairs_train_and_test(tmp_path, gz, dot):
    arrays = write_mnist_like(tmp_path / "mnist", gz=gz, dot=dot)
    assert sorted(data.find_idx_pairs(tmp_path / "mnist")) == ["t10k", "train"]
    for part, key in (("train", "train"), ("test", "t10k")):
        ds = data.load_idx_dir(tmp_path / "mnist", part=part)
        images, labels = arrays[key]
        assert ds.X.shape == (len(images), 6) and ds.X.dtype == np.float32
        np.testing.assert_allclose(ds.X, images.reshape(len(images), -1) / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(ds.y, labels)
        assert ds.task == "classification" and ds.meta["image_shape"] == [3, 2]
        assert ds.meta["part"] == key


def test_load_idx_dir_float_images_are_scaled_into_unit_interval(tmp_path):
    d = tmp_path / "usps"
    d.mkdir()
    images = np.linspace(-1, 1, 2 * 16 * 16).reshape(2, 16, 16).astype(np.float32)
    data.write_idx(d / "usps-images-idx3-ubyte", images)
    data.write_idx(d / "usps-labels-idx1-ubyte", np.array([3, 9], np.uint8))
    ds = data.load_idx_dir(d)  # a single pair is used whatever its prefix
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    np.testing.assert_allclose(ds.X, (images.reshape(2, -1) + 1) / 2, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32])
def test_integer_pixels_in_0_to_255_are_divided_by_255_whatever_their_type(tmp_path, dtype):
    # The oracle is the pixel values: 0, 100, 255 stay distinct with their spacing. Scaled by
    # the type's range, int32 gave 0.5, 0.5, 0.5 (the images wiped out).
    d = tmp_path / "wide"
    d.mkdir()
    pixels = np.array([0, 100, 255, 17, 200, 255], dtype=dtype).reshape(2, 1, 3)
    data.write_idx(d / "train-images-idx3-ubyte", pixels)
    data.write_idx(d / "train-labels-idx1-ubyte", np.array([0, 1], np.uint8))
    ds = data.load_idx_dir(d)
    np.testing.assert_allclose(ds.X, pixels.reshape(2, -1) / 255.0, rtol=1e-6)
    assert ds.X[0, 0] == 0.0 and ds.X[0, 2] == 1.0


@pytest.mark.parametrize(
    "train_values, test_values",
    [([-1.0, 0.0, 1.0], [-0.5, 0.0, 0.5]), ([0, 2000, 4000], [1000, 2000, 3000])],
)
def test_train_and_test_parts_are_mapped_the_same_way(tmp_path, train_values, test_values):
    """A pixel value is the same input in both parts: the test images (a narrower range) are
    mapped with the training images' min..max, not their own. The oracle: the union's range."""
    dtype = np.float32 if isinstance(train_values[0], float) else np.int16
    train_images = np.array(train_values, dtype).reshape(3, 1, 1)
    test_images = np.array(test_values, dtype).reshape(3, 1, 1)
    d = tmp_path / "parts"
    d.mkdir()
    for part, images in [("train", train_images), ("t10k", test_images)]:
        data.write_idx(d / f"{part}-images-idx3-ubyte", images)
        data.write_idx(d / f"{part}-labels-idx1-ubyte", np.array([0, 1, 2], np.uint8))
    low, high = min(train_values), max(train_values)
    for part, values in [("train", train_values), ("test", test_values)]:
        expected = (np.array(values, np.float64) - low) / (high - low)
        got = data.load_idx_dir(d, part=part).X[:, 0]
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    # pixel 0.0 (or 2000) is the same number in both parts
    assert data.load_idx_dir(d, part="test").X[1, 0] == data.load_idx_dir(d).X[1, 0]


def test_a_uint8_part_beside_a_wider_part_is_scaled_as_its_neighbour(tmp_path):
    """uint8 training images skipped their neighbours' range: divided by 255 while the int16
    test images reaching 336 were mapped from 0..336, so one pixel value was two inputs."""
    d = tmp_path / "mixed"
    d.mkdir()
    parts = {"train": np.array([0, 100, 255], np.uint8), "t10k": np.array([0, 100, 336], np.int16)}
    for part, pixels in parts.items():
        data.write_idx(d / f"{part}-images-idx3-ubyte", pixels.reshape(3, 1, 1))
        data.write_idx(d / f"{part}-labels-idx1-ubyte", np.array([0, 1, 2], np.uint8))
    train, test = data.load_idx_dir(d), data.load_idx_dir(d, part="test")
    assert train.meta["pixel_range"] == test.meta["pixel_range"] == [0.0, 336.0]
    assert train.X[1, 0] == test.X[1, 0] == np.float32(100 / 336)


def test_images_outside_a_model_s_pixel_range_are_refused(tmp_path):
    """Another directory evaluated with a model's pixel range was mapped from it however far
    its pixels lay outside (-1..1 floats for a 0..255 model: pixels of -0.004, a blank image;
    0..255 for a -1..1 model: inputs up to 129), and an accuracy was printed."""
    d = tmp_path / "usps"
    d.mkdir()
    images = np.linspace(-1, 1, 2 * 4).reshape(2, 2, 2)
    data.write_idx(d / "train-images-idx3-ubyte", images)
    data.write_idx(d / "train-labels-idx1-ubyte", np.array([0, 1], np.uint8))
    with pytest.raises(DataError, match=re.escape(
            "train-images-idx3-ubyte: image 1, pixel (1, 1) is -1, outside 0..255, the pixels "
            "of the images this model was trained on; these images are on another scale: map "
            "them onto 0..255 first")):  # fmt: skip
        data.load_idx_dir(d, pixel_range=(0, 255))
    inside = data.load_idx_dir(d, pixel_range=(-2.0, 2.0))  # within a wider range: mapped
    np.testing.assert_allclose(inside.X, (images.reshape(2, -1) + 2) / 4, rtol=1e-6)
    # floats in 0..1 lie inside 0..255, but divided by 255 every image was near-black
    data.write_idx(d / "train-images-idx3-ubyte", (images + 1) / 2)
    with pytest.raises(DataError, match=re.escape(
            "these images' pixels run 0..1, the model's ran 0..255: they are on another scale; "
            "map them onto 0..255 first")):  # fmt: skip
        data.load_idx_dir(d, pixel_range=(0, 255))
    data.write_idx(d / "train-images-idx3-ubyte", np.array([[[0, 1], [1, 0]]] * 2, np.uint8))
    binary = data.load_idx_dir(d, pixel_range=(0, 1))  # 0/1 bytes for a 0..1 model: the same
    assert binary.X.tolist() == [[0, 1, 1, 0]] * 2


def test_int8_pixels_in_0_to_127_are_divided_by_255():
    got = scale_images(np.array([0, 100, 127], np.int8))
    np.testing.assert_allclose(got, [0.0, 100 / 255, 127 / 255], rtol=1e-6)


@pytest.mark.parametrize(
    "values, dtype",
    [([-1000, 0, 1000], np.int16), ([0, 2048, 4096], np.int32), ([-128, 0, 127], np.int8),
     ([-(2**31), 0, 2**31 - 1], np.int32)],
)  # fmt: skip
def test_other_integer_pixels_are_mapped_from_their_own_min_max(values, dtype):
    got = scale_images(np.array(values, dtype))
    expected = (np.array(values, np.float64) - values[0]) / (values[-1] - values[0])
    assert got.dtype == np.float32 and got[0] == 0.0 and got[-1] == 1.0
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_float_pixels_outside_unit_interval_are_mapped_from_their_min_max():
    # Documented: "otherwise mapped linearly from their min..max"; 10, 15, 20 gave 0.5, 0.75, 1.
    np.testing.assert_array_equal(scale_images(np.array([10.0, 15.0, 20.0])), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(scale_images(np.array([-3.0, -2.0, -1.0])), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(scale_images(np.array([0.5, 1.5, 2.5])), [0.0, 0.5, 1.0])
    kept = np.array([0.25, 0.5, 0.75], np.float32)  # already in [0, 1]: left as they are
    np.testing.assert_array_equal(scale_images(kept), kept)


def test_constant_and_empty_images_scale_without_nan():
    assert scale_images(np.full((2, 3), 5.0)).tolist() == [[0.0] * 3] * 2
    assert scale_images(np.full(4, 1000, np.int32)).tolist() == [0.0] * 4
    assert scale_images(np.full(4, 7, np.int32)).tolist() == [np.float32(7 / 255)] * 4
    assert scale_images(np.full(3, 1.0)).tolist() == [1.0] * 3  # in [0, 1]: kept
    for empty in (np.zeros((0, 4), np.float64), np.zeros((0, 4), np.int32)):
        got = scale_images(empty)
        assert got.shape == (0, 4) and got.dtype == np.float32


def test_write_idx_refuses_a_0d_array_and_writes_nothing(tmp_path):
    # Written, its magic 0x00000800 (0 dimensions) was then refused by read_idx as "bad magic".
    path = tmp_path / "s-idx0-ubyte"
    with pytest.raises(DataError, match=r"s-idx0-ubyte: IDX needs .* at least one dimension"):
        data.write_idx(path, np.uint8(7))
    assert list(tmp_path.iterdir()) == []
    data.write_idx(path, np.array([1, 2], np.uint8))
    before = path.read_bytes()
    with pytest.raises(DataError, match="at least one dimension"):
        data.write_idx(path, np.array(3.5))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_load_idx_dir_errors(tmp_path):
    with pytest.raises(DataError, match="no IDX image/label pair"):
        data.load_idx_dir(tmp_path)
    with pytest.raises(DataError, match="no such directory"):
        data.load_idx_dir(tmp_path / "absent")
    write_mnist_like(tmp_path / "m")
    with pytest.raises(DataError, match="no single IDX pair for part 'valid'; found t10k, train"):
        data.load_idx_dir(tmp_path / "m", part="valid")
    data.write_idx(tmp_path / "m" / "train-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="5 labels for 6 images"):
        data.load_idx_dir(tmp_path / "m")
    data.write_idx(tmp_path / "m" / "train-labels-idx1-ubyte", np.zeros(6, np.float32))
    with pytest.raises(DataError, match="1-D integer array"):
        data.load_idx_dir(tmp_path / "m")


# ---------------------------------------------------------------- CSV


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_header(tmp_path):
    path = write(tmp_path, "x1,x2,label\n0.5,1e-3,2\n-1,3,0\n\n2,2,1\n")
    ds = data.read_csv(path)
    np.testing.assert_allclose(ds.X, [[0.5, 1e-3], [-1, 3], [2, 2]], rtol=1e-6)
    assert ds.y.tolist() == [2, 0, 1] and ds.n_classes == 3
    assert ds.feature_names == ["x1", "x2"] and ds.meta["label_column"] == "label"
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64


def test_csv_without_header_label_first_and_by_name(tmp_path):
    path = write(tmp_path, "1,0.1,0.2\n0,0.3,0.4\n")
    ds = data.read_csv(path, label_column=0, dtype=np.float64)
    assert ds.y.tolist() == [1, 0] and ds.X.tolist() == [[0.1, 0.2], [0.3, 0.4]]
    assert ds.feature_names is None
    named = write(tmp_path, "species,a,b\n1,5,6\n0,7,8\n", "n.csv")
    assert data.read_csv(named, label_column="species").X.tolist() == [[5, 6], [7, 8]]
    with pytest.raises(DataError, match="no column named 'kind'; columns are species, a, b"):
        data.read_csv(named, label_column="kind")
    with pytest.raises(DataError, match="no header"):
        data.read_csv(path, label_column="species")
    out_of_range = "label column 6 is out of range: columns are numbered 1 to 3"
    with pytest.raises(DataError, match=out_of_range):
        data.read_csv(path, label_column=5)


def test_csv_regression_and_tsv(tmp_path):
    path = write(tmp_path, "a\tb\ttarget\n1\t2\t0.25\n3\t4\t-7.5\n", "r.tsv")
    ds = data.read_csv(path, task="regression")
    assert ds.task == "regression" and ds.y.shape == (2, 1)
    np.testing.assert_allclose(ds.y[:, 0], [0.25, -7.5])


def test_csv_ragged_row_names_line_3(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n3,4\n5,6,1\n")
    with pytest.raises(DataError, match=r"d\.csv, line 3: 2 fields, expected 3"):
        data.read_csv(path)


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n3,4,1\n5,abc,1\n")
    with pytest.raises(DataError, match=r"d\.csv, line 4, column 2 \('b'\): 'abc' is not a number"):
        data.read_csv(path)
    empty = write(tmp_path, "1,2,0\n3,,1\n", "e.csv")
    with pytest.raises(DataError, match=r"line 2, column 2: an empty cell is not a number"):
        data.read_csv(empty)


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Infinity"])
def test_csv_nan_and_infinity(tmp_path, bad):
    path = write(tmp_path, f"a,b,label\n1,2,0\n3,{bad},1\n")
    with pytest.raises(DataError, match=r"line 3, column 2 \('b'\).*not a finite number"):
        data.read_csv(path)


def test_csv_labels_out_of_range_or_not_integers(tmp_path):
    path = write(tmp_path, "a,label\n1,0\n2,3\n")
    with pytest.raises(DataError, match=r"line 3, column 2 \('label'\): label 3 is out of range"):
        data.read_csv(path, n_classes=3)
    negative = write(tmp_path, "1,0\n2,-1\n", "n.csv")
    with pytest.raises(DataError, match=r"line 2, column 2: label -1 is out of range \(>= 0\)"):
        data.read_csv(negative)
    fractional = write(tmp_path, "1,0\n2,1.5\n", "f.csv")
    with pytest.raises(DataError, match="line 2.*label 1.5 is not an integer class"):
        data.read_csv(fractional)
    assert data.read_csv(fractional, task="regression").y[:, 0].tolist() == [0, 1.5]
    # the cell as written, to a float's digits: "label 1 is not an integer class" it said
    near = write(tmp_path, "1,0\n2,1.0000001\n3,1234567.5\n", "near.csv")
    with pytest.raises(DataError, match="line 2.*label 1.0000001 is not an integer class"):
        data.read_csv(near)
    huge = write(tmp_path, "1,0\n2,1234567.5\n", "huge.csv")
    with pytest.raises(DataError, match="line 2.*label 1234567.5 is not an integer class"):
        data.read_csv(huge)


@pytest.mark.parametrize(
    "line, hint",
    [("1;2;3;4", "line 1 holds ';': the columns must be separated by commas"),
     ("1\t2\t3\t4", "line 1 holds tabs: name a tab-separated file .tsv")],
)  # fmt: skip
def test_one_line_of_numbers_with_another_separator_says_so(tmp_path, line, hint):
    """Read as a header (predict's and explain's inputs), the line left "no data rows (only a
    header)", where a training file of the same line was told the columns must be separated
    by commas."""
    with pytest.raises(DataError, match=re.escape(f"no data rows (only a header); {hint}")):
        data.read_table(write(tmp_path, line + "\n"))
    with pytest.raises(DataError, match=re.escape(hint.replace("line 1", "the line"))):
        data.read_csv(write(tmp_path, line + "\n", "train.csv"))


def test_a_semicolon_file_with_decimal_commas_is_told_its_separator(tmp_path):
    """``a;b;label`` over ``0,5;1,25;1`` (a spreadsheet's export where the decimal mark is a
    comma): line 1 is one column and line 2 three, and the message said only that."""
    text = "a;b;label\n0,5;1,25;1\n2,0;3,5;0\n"
    with pytest.raises(DataError, match=r"line 2: 3 fields, expected 1; the line holds ';'"):
        data.read_csv(write(tmp_path, text, "decimal-commas.csv"))
    # the expected width is the header's, said so
    with pytest.raises(
        DataError, match=r"line 2: 3 fields, expected 2: the header on line 1 has 2$"
    ):
        data.read_csv(write(tmp_path, "a,label\n1,2,3\n", "ragged.csv"))


def test_csv_empty_header_only_and_one_column(tmp_path):
    with pytest.raises(DataError, match="empty"):
        data.read_csv(write(tmp_path, ""))
    with pytest.raises(DataError, match="empty"):
        data.read_csv(write(tmp_path, "\n\n  \n"))
    with pytest.raises(DataError, match="no data rows"):
        data.read_csv(write(tmp_path, "a,b,label\n"))
    with pytest.raises(DataError, match="at least one feature column"):
        data.read_csv(write(tmp_path, "1\n2\n"))
    with pytest.raises(DataError, match="no such file"):
        data.read_csv(tmp_path / "absent.csv")


def test_csv_not_text(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(DataError, match="UTF-8"):
        data.read_csv(path)


def test_gzip_recognised_without_gz_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / "z-idx2-ubyte"
    path.write_bytes(gzip.compress(idx_bytes(array, 0x08)))
    np.testing.assert_array_equal(data.read_idx(path), array)


def test_prefixed_names_find_their_part(tmp_path):
    d = tmp_path / "emnist"
    d.mkdir()
    for part, n in (("train", 3), ("test", 2)):
        data.write_idx(
            d / f"emnist-letters-{part}-images-idx3-ubyte", np.zeros((n, 2, 2), np.uint8)
        )
        data.write_idx(d / f"emnist-letters-{part}-labels-idx1-ubyte", np.ones(n, np.uint8))
    assert len(data.load_idx_dir(d, part="train")) == 3
    assert len(data.load_idx_dir(d, part="test")) == 2


@settings(max_examples=30, deadline=None)
@given(
    values=arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(2, 5)),
        elements=st.floats(-1e12, 1e12, allow_nan=False, width=64),
    )
)
def test_csv_round_trip_is_exact_in_float64(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("csv") / "r.csv"
    path.write_text("".join(",".join(repr(float(v)) for v in row) + "\n" for row in values))
    ds = data.read_csv(path, task="regression", header=False, dtype=np.float64)
    np.testing.assert_array_equal(ds.X, values[:, :-1])
    np.testing.assert_array_equal(ds.y[:, 0], values[:, -1])


def test_a_first_row_with_an_empty_cell_is_data_refused_not_a_header(tmp_path):
    """An empty cell says nothing of names: line 1 with a missing value is refused as line 2's
    would be (it was taken for a header, and the row silently dropped)."""
    path = write(tmp_path, "1,,0\n2,3,1\n4,5,0\n")
    with pytest.raises(DataError, match=r"line 1, column 2: an empty cell is not a number"):
        data.read_csv(path)
    # a header whose first name is empty is a saved index column (pandas' to_csv): read as a
    # feature it shifted every column of a prediction file; refused, naming index=False
    named = write(tmp_path, ",a,label\n0,1.5,1\n1,2.5,0\n", "i.csv")
    with pytest.raises(DataError, match=r"line 1: the first column has no name.*index=False"):
        data.read_csv(named)


def test_a_huge_label_is_named_with_its_line_and_value(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n3,4,1e20\n5,6,1\n")
    with pytest.raises(DataError, match=r"line 3, column 3 \('label'\): label 1e\+20 is out of"):
        data.read_csv(path)


def test_an_upper_case_tsv_suffix_reads_tabs(tmp_path):
    path = write(tmp_path, "a\tb\tlabel\n1\t2\t0\n3\t4\t1\n", "UP.TSV")
    ds = data.load(path)
    assert ds.X.tolist() == [[1, 2], [3, 4]] and ds.y.tolist() == [0, 1]


@pytest.mark.parametrize("label_column", [1.0, True, None])
def test_a_label_column_that_is_neither_an_index_nor_a_name_is_refused(tmp_path, label_column):
    path = tmp_path / "l.csv"
    path.write_text("1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"label_column must be a column index .* got"):
        data.load(path, label_column=label_column)


@pytest.mark.parametrize(
    ("pixel_range", "fix"), [((0.0, 255.0), "(pixel - 0) / 255"), ((-1.0, 1.0), "(pixel + 1) / 2")]
)
def test_rows_for_a_model_trained_on_idx_images_must_lie_in_0_1(pixel_range, fix):
    """Scaled inputs pass, their text's rounding included; the first value outside [0, 1] is
    named by line (or row) and column, with the map the training images went through."""
    from chainrule.data.idx import check_rows_scaled

    check_rows_scaled(np.array([[0.0, 1.0 + 1e-7, -1e-7], [0.5, 1.0, 0.25]]), pixel_range, "f")
    check_rows_scaled(np.empty((0, 3)), pixel_range, "f")
    rows = np.array([[0.0, 0.5, 0.2], [0.1, 1.01, -3.0]])
    with pytest.raises(DataError, match=rf"^f: row 2, column 2: 1\.01 is outside \[0, 1\].*"
                                        rf"give each input as {re.escape(fix)}$"):  # fmt: skip
        check_rows_scaled(rows, pixel_range, "f")
    with pytest.raises(DataError, match=r"^f: line 9, column 2: 1\.01"):
        check_rows_scaled(rows, pixel_range, "f", lines=[4, 9])


# -- class names in a CSV's label column -------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "label_column"),
    [
        (["5.1,3.5,setosa", "6.2,2.9,versicolor", "7.7,3.0,virginica", "5.0,3.3,setosa"], -1),
        (
            [
                "a,b,species",
                "5.1,3.5,setosa",
                "6.2,2.9,versicolor",
                "7.7,3.0,virginica",
                "5.0,3.3,setosa",
            ],
            "species",
        ),  # fmt: skip
        (
            [
                "species,a,b",
                "setosa,5.1,3.5",
                "versicolor,6.2,2.9",
                "virginica,7.7,3.0",
                "setosa,5.0,3.3",
            ],
            0,
        ),  # fmt: skip
    ],
)
def test_class_names_in_the_label_column_are_numbered_in_sorted_order(
    tmp_path, lines, label_column
):
    """Text labels (iris's species) were refused as 'not a number'; they are classes, numbered
    as sorted, with their names kept for the model, and the features are read as before."""
    path = tmp_path / "iris.csv"
    path.write_text("\n".join(lines) + "\n")
    ds = data.read_csv(path, label_column=label_column)
    assert ds.class_names == ["setosa", "versicolor", "virginica"] and ds.n_classes == 3
    np.testing.assert_array_equal(ds.y, [0, 1, 2, 0])
    np.testing.assert_array_equal(ds.X, np.array([[5.1, 3.5], [6.2, 2.9], [7.7, 3.0], [5.0, 3.3]],
                                                 dtype=np.float32))  # fmt: skip


def test_class_names_follow_a_models_classes_and_refuse_others(tmp_path):
    path = tmp_path / "more.csv"
    path.write_text("1,2,virginica\n3,4,setosa\n5,6,virginica\n")
    model = ["setosa", "versicolor", "virginica"]
    ds = data.read_csv(path, class_names=model)  # sorted by itself: setosa 0, virginica 1
    np.testing.assert_array_equal(ds.y, [2, 0, 2])
    assert ds.class_names == model
    path.write_text("1,2,virginica\n3,4,daisy\n")
    with pytest.raises(DataError, match=r"more\.csv, line 2, column 3: class 'daisy' is not one "
                                        r"of the model's classes \(setosa, versicolor, "
                                        r"virginica\)"):  # fmt: skip
        data.read_csv(path, class_names=model)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["1,2,cat", "3,4,"], r"line 2, column 3: an empty cell is not a class"),
        (["1,2,cat", "3,dog"], r"line 2: 2 fields, expected 3"),
        (["1,2,cat", "3,x,dog"], r"line 2, column 2: 'x' is not a number"),
    ],
)
def test_a_broken_file_with_class_names_names_the_line(tmp_path, rows, message):
    path = tmp_path / "d.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=message):
        data.read_csv(path)


def test_numeric_labels_and_regression_targets_are_read_as_before(tmp_path):
    """Numbers stay class numbers (no names), a header over them is still a header, and a
    regression's label column must still be numbers, and one text label among numbers is
    refused, not read as a new class."""
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,0\n3,4,2\n")
    ds = data.read_csv(path)
    np.testing.assert_array_equal(ds.y, [0, 2])
    assert ds.class_names is None and ds.feature_names == ["a", "b"]
    path.write_text("1,2,0.5\n3,4,cat\n")
    with pytest.raises(DataError, match=r"line 2, column 3: 'cat' is not a number"):
        data.read_csv(path, task="regression")
    path.write_text("1,2,0\n3,4,1\n5,6,1_0\n")  # a typo among class numbers: not a new class
    with pytest.raises(DataError, match=r"line 3, column 3: '1_0' is not a number, but other "
                                        r"labels are \(line 1: '0'\); a label column holds "
                                        r"class numbers or class names, not both"):  # fmt: skip
        data.read_csv(path)


@pytest.mark.parametrize("label", ["inf", "-inf", "nan", "1e400"])
def test_a_label_that_is_not_a_finite_number_is_refused_naming_it(tmp_path, label):
    """The label column is read as text first (it may hold class names); a number in it must
    still be finite (it crashed with OverflowError converting infinity to a class)."""
    path = tmp_path / "d.csv"
    path.write_text(f"1,2,0\n3,4,{label}\n")
    with pytest.raises(DataError, match=rf"line 2, column 3: '{label}' is not a finite number"):
        data.read_csv(path)


@pytest.mark.parametrize("first", ["1,2,3e,0", "0o,1,2,1", "1,2,3,1.2.3"])
def test_a_typo_on_line_1_is_refused_as_on_any_other_line(tmp_path, first):
    """Numbers beside a cell that starts as a number does: a typo, not a header. The line was
    dropped as a header (a prediction file's rows no longer matched their predictions), where
    the same typo on line 2 was refused."""
    path = write(tmp_path, first + "\n4,5,6,1\n7,8,9,0\n")
    with pytest.raises(DataError, match=r"line 1, column \d: '.*' is not a number"):
        data.read_csv(path)
    named = write(tmp_path, "2019,2020,3d_points,label\n1,2,3,0\n4,5,6,1\n", "named.csv")
    assert data.read_csv(named).feature_names == ["2019", "2020", "3d_points"]


def test_a_tab_separated_file_not_named_tsv_is_named_in_the_refusal(tmp_path):
    rows = "a\tb\tlabel\n1\t2\t0\n3\t4\t1\n"
    with pytest.raises(DataError, match=r"got 1; the line holds tabs: name .* \.tsv"):
        data.read_csv(write(tmp_path, rows, "t.txt"))
    with pytest.raises(DataError, match=r"is not a number; it holds tabs: name .* \.tsv"):
        data.read_csv(write(tmp_path, rows, "t.txt"), task="regression")
    assert data.read_csv(write(tmp_path, rows, "t.tsv")).X.shape == (2, 2)


@pytest.mark.parametrize("separator", [";", "|"])
def test_a_semicolon_separated_file_is_named_in_the_refusal(tmp_path, separator):
    """A file separated by ';' (a European spreadsheet's CSV) said only 'got 1'."""
    rows = "a;b;label\n1;2;0\n3;4;1\n".replace(";", separator)
    path = write(tmp_path, rows, "semi.csv")
    with pytest.raises(DataError, match=re.escape(
            f"got 1; the line holds {separator!r}: the columns must be separated by commas "
            f"(or tabs in a .tsv file; read_csv takes delimiter={separator!r})")):  # fmt: skip
        data.read_csv(path)
    with pytest.raises(DataError, match=re.escape(f"is not a number; it holds {separator!r}")):
        data.read_csv(path, task="regression")
    assert data.read_csv(path, delimiter=separator).X.shape == (2, 2)


def test_boolean_labels_are_classes_0_and_1():
    """``y = x > 0`` was refused ("class labels must be integers, got bool")."""
    X = np.array([[-1.0], [2.0], [3.0]])
    ds = data.Dataset(X=X, y=X[:, 0] > 0, task="classification", name="signs")
    assert ds.y.dtype == np.int64 and ds.y.tolist() == [0, 1, 1] and ds.n_classes == 2
