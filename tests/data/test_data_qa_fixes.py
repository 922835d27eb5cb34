"""QA's data-loading defects: one-hot label columns read as one label and inputs that give it
away, a lone IDX train pair scored as the test part, images of another shape with as many
pixels, a Standardizer message counting from 0, and the hint for a separator ending every
line."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import data
from chainrule.errors import DataError


def write(path, text):
    path.write_text(text)
    return path


# -- one-hot label columns ------------------------------------------------------------------------


def test_one_hot_label_columns_are_refused_naming_them_by_header(tmp_path):
    path = write(
        tmp_path / "onehot.csv",
        "a,b,c,d,is_0,is_1,is_2\n1,2,3,4,1,0,0\n5,6,7,8,0,1,0\n9,1,2,3,0,0,1\n4,5,6,7,0,1,0\n",
    )
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "its last 3 columns (is_0, is_1, is_2) look like one-hot labels" in message
    assert "reads one label column" in message
    assert "class number or name" in message


def test_one_hot_label_columns_without_a_header_are_refused(tmp_path):
    path = write(tmp_path / "onehot.csv", "1,2,1,0,0\n3,4,0,1,0\n5,6,0,0,1\n")
    with pytest.raises(DataError, match="its last 3 columns look like one-hot labels"):
        data.load(path)
    assert len(data.read_csv(path, for_model=True)) == 3  # read for a model trained


@pytest.mark.parametrize(
    "text",
    [
        # a NOT gate: the feature is the label's complement, as a one-hot pair would be
        "x,y\n0,1\n1,0\n",
        # an evaluation slice where a 0/1 feature happens to be 1 - label on every row
        "c,a,b,y\n0.3,1,1,0\n0.7,1,0,1\n0.1,1,1,0\n",
        # all labels 1 beside two columns of 0s (one class's rows, constant pixels)
        "p,q,r,y\n0.5,0,0,1\n0.2,0,0,1\n",
    ],
)
def test_two_columns_or_a_class_never_seen_are_no_one_hot_group(tmp_path, text):
    """The check refused these: two 0/1 columns summing to 1 look the same as a feature and
    its complement, and a column with no 1 is no class."""
    ds = data.read_csv(write(tmp_path / "ok.csv", text))
    assert len(ds) == text.count("\n") - 1


def test_a_chosen_label_column_inside_a_one_hot_group_is_refused(tmp_path):
    path = write(tmp_path / "mid.csv", "a,is_0,is_1,is_2,d\n1,1,0,0,4\n2,0,1,0,5\n3,0,0,1,6\n")
    with pytest.raises(DataError, match=r"columns 2-4 \(is_0, is_1, is_2\) look like one-hot"):
        data.read_csv(path, label_column="is_1")
    with pytest.raises(DataError, match="columns 2-4"):
        data.read_csv(path, label_column=2)
    # the last column is no part of the group: a file with one-hot features is read
    ds = data.read_csv(path, label_column=-1, task="regression")
    assert ds.feature_names == ["a", "is_0", "is_1", "is_2"]


@pytest.mark.parametrize(
    "text, options",
    [
        # a 0/1 feature beside a 0/1 label: some rows sum to 0 or 2
        ("a,f,label\n1,1,1\n2,0,0\n3,1,0\n4,0,1\n", {}),
        # one-hot features before a 0/1 label they do not complete
        ("a,is_0,is_1,label\n1,1,0,1\n2,0,1,1\n3,1,0,0\n", {}),
        # labels beyond 0 and 1
        ("a,f,label\n1,1,0\n2,0,2\n3,1,0\n", {}),
        # one row: a 0/1 feature and label may sum to 1 by chance
        ("1,2,1,0\n", {}),
        # a regression's 0/1 target is no class column
        ("a,f,y\n1,1,0\n2,0,1\n3,1,0\n", {"task": "regression"}),
        # the label column chosen away from the 0/1 group
        ("label,a,b\n0,1,0\n1,0,1\n2,1,0\n", {"label_column": "label"}),
    ],
)
def test_legitimate_files_with_zeros_and_ones_are_read(tmp_path, text, options):
    ds = data.read_csv(write(tmp_path / "ok.csv", text), **options)
    assert len(ds) == text.count("\n") - (1 if text[0].isalpha() else 0)


# -- IDX: a lone pair of another part -------------------------------------------------------------


def idx_pair(directory, prefix, shape=(6, 6), n=12):
    directory.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    data.write_idx(
        directory / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    )
    data.write_idx(directory / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 2).astype(np.uint8))
    return directory


def test_a_lone_train_pair_is_no_test_part(tmp_path):
    directory = idx_pair(tmp_path / "only", "train")
    with pytest.raises(DataError) as caught:
        data.load_idx_dir(directory, part="test")
    message = str(caught.value)
    assert "no IDX pair for part 'test'" in message
    assert "holds only the train part (train-images-idx3-ubyte, train-labels-idx1-ubyte)" in message
    assert data.load_idx_dir(directory, part="train").meta["part"] == "train"


def test_a_lone_test_pair_is_no_train_part_asked_for(tmp_path):
    directory = idx_pair(tmp_path / "only", "t10k")
    with pytest.raises(DataError, match="holds only the test part"):
        data.load(directory, part="train")
    assert data.load(directory, part="test").meta["part"] == "t10k"
    assert data.load(directory).meta["part"] == "t10k"  # no part asked for: the only pair


@pytest.mark.parametrize("part", ["train", "test"])
def test_a_lone_pair_of_no_known_part_serves_either(tmp_path, part):
    directory = idx_pair(tmp_path / "any", "letters")
    assert data.load_idx_dir(directory, part=part).meta["part"] == "letters"


def test_images_of_another_shape_with_as_many_pixels_are_refused(tmp_path):
    directory = idx_pair(tmp_path / "wide", "train", shape=(4, 9))
    with pytest.raises(DataError, match="images of shape 4x9, but the model was trained on "
                       "images of shape 6x6"):  # fmt: skip
        data.load_idx_dir(directory, image_shape=(6, 6))
    assert data.load_idx_dir(directory, image_shape=[4, 9]).X.shape == (12, 36)


# -- messages -------------------------------------------------------------------------------------


def test_standardizer_names_the_cell_as_numpy_indexes_it():
    with pytest.raises(DataError, match=r"^Standardizer\.fit: X\[0, 1\] is nan \(not finite\)$"):
        data.Standardizer().fit(np.array([[1.0, np.nan], [3.0, 4.0]]))


@pytest.mark.parametrize(
    "text, options",
    [
        ("1,2,0,\n3,4,1,\n", {}),  # class numbers
        ("x,y,label,\n1,2,0,\n3,4,1,\n", {}),  # the header ends with one too
        ("1,2,0.5,\n3,4,1.5,\n", {"task": "regression"}),
        ("1,2,0,\n3,4,1,\n", {"label_column": 2}),  # the empty column is a feature
    ],
)
def test_a_separator_ending_every_line_is_named(tmp_path, text, options):
    with pytest.raises(DataError) as caught:
        data.read_csv(write(tmp_path / "trail.csv", text), **options)
    message = str(caught.value)
    assert "an empty cell is not a" in message
    assert "every line ends with a separator" in message


@pytest.mark.parametrize(
    "text",
    [
        "x,y,label\n1,2,\n3,4,\n",  # the header names that column: cells left empty
        "1,,0\n3,4,1\n",  # an empty cell elsewhere
    ],
)
def test_no_separator_hint_for_other_empty_cells(tmp_path, text):
    with pytest.raises(DataError, match="an empty cell is not a") as caught:
        data.read_csv(write(tmp_path / "empty.csv", text))
    assert "ends with a separator" not in str(caught.value)
