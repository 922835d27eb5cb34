"""What ``predict`` and ``explain`` say of an input file that is not CSV text or is not there
(session 68): ``predict -i arr.npy`` (np.save's) and an Excel workbook, named .xlsx or renamed
.csv, were "not UTF-8 text ... likely Windows-1252"; ``explain --model RUN --input nofile.csv``
without --target asked for --target, where the file does not exist."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from cli_run import assert_user_error, small_table, train_small


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run of a 3-input model, and a folder for the files given to it."""
    folder = tmp_path_factory.mktemp("s68")
    run = train_small(folder / "run", small_table(folder / "table.csv", 68))
    return run, folder


def _workbook() -> bytes:
    """An .xlsx as Excel writes one (a zip archive of XML parts; xl/workbook.xml tells it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["arr.npy", "arr.csv"])
def test_predict_names_a_numpy_file_and_how_to_save_it_as_csv(capsys, trained, name):
    run, folder = trained
    path = folder / name
    np.save(folder / "saved.npy", np.ones((4, 3)))
    path.write_bytes((folder / "saved.npy").read_bytes())
    line = assert_user_error(
        capsys, "predict", "--model", run, "-i", path, match=f"{path}: a NumPy .npy file"
    )
    assert "np.savetxt(" in line and "UTF-8" not in line and "Windows-1252" not in line


@pytest.mark.parametrize("name", ["book.xlsx", "book.csv"])
def test_predict_names_an_excel_workbook_and_how_to_save_it_as_csv(capsys, trained, name):
    run, folder = trained
    path = folder / name
    path.write_bytes(_workbook())
    line = assert_user_error(
        capsys, "predict", "--model", run, "-i", path, match=f"{path}: an Excel workbook (xlsx)"
    )
    assert "save it as CSV UTF-8 from Excel" in line and "Windows-1252" not in line


def test_explain_reads_a_numpy_file_by_its_name_and_says_so_of_one_named_csv(capsys, trained):
    """explain --input reads .npy files: one named .csv is told to be renamed, not saved as CSV
    text; named .npy it is read."""
    run, folder = trained
    np.save(folder / "cases.npy", np.ones((1, 3)))
    misnamed = folder / "cases.csv"
    misnamed.write_bytes((folder / "cases.npy").read_bytes())
    for extra in ([], ["--target", "1"]):
        line = assert_user_error(
            capsys, "explain", "--model", run, "--input", misnamed, *extra,
            match=f"--input {misnamed}: a NumPy .npy file",
        )  # fmt: skip
        assert "rename it cases.npy" in line and "np.savetxt" not in line
    from cli_run import run as run_command

    code, out, err = run_command(
        capsys, "explain", "--model", run, "--input", folder / "cases.npy", "--target", "1"
    )
    assert code == 0, err


def test_explain_names_a_workbook_given_as_a_npy_file(capsys, trained):
    """np.load's "would have to unpickle it" said nothing of a workbook named .npy."""
    run, folder = trained
    path = folder / "book.npy"
    path.write_bytes(_workbook())
    line = assert_user_error(
        capsys, "explain", "--model", run, "--input", path, "--target", "1",
        match=f"--input {path}: an Excel workbook (xlsx), not a NumPy .npy file",
    )  # fmt: skip
    assert "unpickle" not in line


@pytest.mark.parametrize("with_model", [True, False])
def test_explain_says_a_missing_input_file_before_asking_for_target(capsys, trained, with_model):
    run, folder = trained
    missing = folder / "nofile.csv"
    model = ["--model", run] if with_model else []
    for extra in ([], ["--target", "1"]):
        line = assert_user_error(
            capsys, "explain", *model, "--input", missing, *extra,
            match=f"--input {missing}: no such file",
        )  # fmt: skip
        assert "--target too" not in line and "give both" not in line
