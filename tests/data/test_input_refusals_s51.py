"""Two QA data defects: an IDX file that is a folder (as some unzip tools make,
``train-images-idx3-ubyte/train-images-idx3-ubyte``) gave a vague "no IDX image/label pair
found", or, beside the other part's files, was silently left out; a CSV header that names two
columns alike (``a,a,label``) or leaves one unnamed (``a,,label``) was accepted."""

from __future__ import annotations

import re

import numpy as np
import pytest

from chainrule import data
from chainrule.cli import main
from chainrule.errors import DataError

IMAGES = np.arange(6 * 2 * 2, dtype=np.uint8).reshape(6, 2, 2)
LABELS = np.array([0, 1, 0, 1, 0, 1], dtype=np.uint8)


def idx_files(directory, prefix, folders=False, inner=None):
    """``prefix``'s image and label files in ``directory``; ``folders``: each file in a folder
    named as the file, holding it under ``inner`` (default: the file's name; "" for none)."""
    directory.mkdir(exist_ok=True)
    for kind, array in (("images-idx3", IMAGES), ("labels-idx1", LABELS)):
        name = f"{prefix}-{kind}-ubyte"
        if not folders:
            data.write_idx(directory / name, array)
            continue
        (directory / name).mkdir()
        held = name if inner is None else inner.format(name=name)
        if held:
            data.write_idx(directory / name / held, array)
    return directory


def cli(capsys, *args):
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


# -- IDX: a folder named like an IDX file ---------------------------------------------------------


@pytest.mark.parametrize("inner", [None, "{name}.gz"])
def test_an_unzipped_folder_is_named_with_the_file_it_holds(tmp_path, inner):
    mnist = idx_files(tmp_path / "mnist", "train", folders=True, inner=inner)
    folder = mnist / "train-images-idx3-ubyte"
    held = folder / (folder.name if inner is None else f"{folder.name}.gz")
    with pytest.raises(DataError) as caught:
        data.load(mnist)
    assert str(caught.value) == (
        f"{folder}: a directory, not an IDX file; it holds the IDX file {held} (some unzip "
        f"tools put each file in a folder of its name); the image and label files must lie in "
        f"{mnist} itself"
    )


def test_an_empty_folder_named_like_an_idx_file_is_named(tmp_path):
    mnist = idx_files(tmp_path / "mnist", "train", folders=True, inner="")
    with pytest.raises(DataError) as caught:
        data.load_idx_dir(mnist)
    message = str(caught.value)
    assert message.startswith(f"{mnist / 'train-images-idx3-ubyte'}: a directory, not an IDX file;")
    assert "holds" not in message  # nothing inside to point at


def test_a_folder_given_for_the_images_file_is_named_with_the_file_inside(tmp_path):
    folder = idx_files(tmp_path / "mnist", "train", folders=True) / "train-images-idx3-ubyte"
    with pytest.raises(DataError) as caught:
        data.load(folder)
    assert str(caught.value) == (
        f"{folder}: a directory, not an IDX file; it holds the IDX file "
        f"{folder / folder.name} (some unzip tools put each file in a folder of its name); "
        "give the directory that holds the image and label files"
    )
    # read_idx said only "cannot read IDX file (Is a directory)"
    with pytest.raises(DataError, match=re.escape(f"it holds the IDX file {folder / folder.name}")):
        data.read_idx(folder)


def test_a_folder_in_place_of_a_part_is_refused_not_left_out(tmp_path):
    """The t10k files beside the training part's folders: the lone t10k pair was used for
    training, silently (and no test part was scored)."""
    mnist = idx_files(tmp_path / "mnist", "t10k")
    idx_files(mnist, "train", folders=True)
    with pytest.raises(DataError, match="train-images-idx3-ubyte: a directory, not an IDX file"):
        data.load(mnist)
    # a folder beside a file of its part and kind (the .gz it was extracted from) is no loss
    for kind, array in (("images-idx3", IMAGES), ("labels-idx1", LABELS)):
        data.write_idx(mnist / f"train-{kind}-ubyte.gz", array)
    assert data.load(mnist).meta["part"] == "train"


def test_the_cli_prints_the_folder_on_one_line(tmp_path, capsys):
    mnist = idx_files(tmp_path / "mnist", "train", folders=True)
    code, err = cli(capsys, "train", "--data", mnist, "--out", tmp_path / "run", "--epochs", 1)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("chainrule: ")
    assert f"{mnist / 'train-images-idx3-ubyte'}: a directory, not an IDX file" in err
    assert not (tmp_path / "run").exists()


# -- CSV: a header names every column, each once -------------------------------------------------


@pytest.mark.parametrize(
    "header, first, second, shown",
    [
        ("a,a,label", 1, 2, "'a'"),
        ("a,b, a ,label", 1, 3, "'a'"),  # names are stripped
        ("x,label,label", 2, 3, "'label'"),  # the label column's own name
        ("Age,age,label", 1, 2, "'Age' and 'age' (names match in any case)"),
    ],
)
def test_a_header_naming_two_columns_alike_is_refused(tmp_path, header, first, second, shown):
    path = tmp_path / "dup.csv"
    width = header.count(",")
    path.write_text(f"{header}\n" + "".join(f"{'1.5,' * width}{k % 2}\n" for k in range(4)))
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    assert str(caught.value) == (
        f"{path}, line 1: columns {first} and {second} have the same name, {shown}; a header "
        "names each column once (a column pasted twice?): rename or remove one"
    )


def test_a_duplicate_name_is_refused_where_columns_are_chosen_by_name(tmp_path):
    """label_column="y" took the first of two "y" columns, silently; predict's rows (read_table,
    a model's inputs checked by name) are refused too."""
    path = tmp_path / "y.csv"
    path.write_text("x,y,y\n0.5,0,1\n1.5,1,0\n")
    with pytest.raises(DataError, match=r"line 1: columns 2 and 3 have the same name, 'y'"):
        data.read_csv(path, label_column="y")
    with pytest.raises(DataError, match=r"line 1: columns 2 and 3 have the same name, 'y'"):
        data.read_table(path, columns=2)
    # without a header line 1 is a case, and its numbers may repeat
    path.write_text("0.5,0.5,1\n1.5,1.5,0\n")
    assert data.read_csv(path).X.tolist() == [[0.5, 0.5], [1.5, 1.5]]


@pytest.mark.parametrize("header, column", [("a,,label", 2), ("a,b,", 3)])
def test_a_header_cell_left_empty_is_refused(tmp_path, header, column):
    path = tmp_path / "empty.csv"
    path.write_text(f"{header}\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError) as caught:
        data.read_csv(path)
    assert str(caught.value) == (
        f"{path}, line 1, column {column}: the header gives this column no name; a header "
        "names every column (a separator typed twice?)"
    )


def test_the_cli_prints_a_duplicate_name_on_one_line(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("a,a,label\n" + "".join(f"{k},{k + 1},{k % 2}\n" for k in range(10)))
    code, err = cli(capsys, "train", "--data", path, "--out", tmp_path / "run", "--epochs", 1)
    assert code == 2
    assert err == (
        f"chainrule: {path}, line 1: columns 1 and 2 have the same name, 'a'; a header names "
        "each column once (a column pasted twice?): rename or remove one\n"
    )
    assert not (tmp_path / "run").exists()


def test_a_separator_ending_the_header_alone_is_named_as_such(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a,b,label,\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"line 1: the header ends with a separator .*4 fields"):
        data.load(path)
