"""`chainrule explain` on a model file that records no loss (a PyTorch state dict, or a model
saved without one) reads --target with squared error, a row of the outputs' numbers per case:
a class label there is refused naming the loss to give, not only the shapes."""

from __future__ import annotations

from cli_run import assert_user_error, run

from chainrule import io, nn


def _model_without_loss(path, *top):
    """A 3-4-3 network saved with no loss; ``top``: its output layer's unit (none: logits)."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Logistic(), nn.Linear(4, 3), *top)
    io.save_model(path, model)
    return path


def test_a_class_label_for_the_default_loss_names_cross_entropy(tmp_path, capsys):
    model = _model_without_loss(tmp_path / "m")
    line = assert_user_error(
        capsys, "explain", "--model", model, "--input", "0.1,0.2,0.3", "--target", "2",
        match="give --loss cross-entropy for class labels, or each case's target as 3 numbers",
    )  # fmt: skip
    assert "3 outputs" in line and "records no loss" in line and "(0,0,1 for class 2)" in line


def test_a_softmax_output_is_not_sent_to_cross_entropy(tmp_path, capsys):
    """Cross-entropy applies softmax itself and refuses a network ending in one: only the row
    of numbers is named."""
    model = _model_without_loss(tmp_path / "m", nn.Softmax())
    line = assert_user_error(
        capsys, "explain", "--model", model, "--input", "0.1,0.2,0.3", "--target", "1",
        match="give each case's target as 3 numbers (0,1,0 for class 1)",
    )  # fmt: skip
    assert "cross-entropy" not in line


def test_the_label_with_cross_entropy_is_explained(tmp_path, capsys):
    model = _model_without_loss(tmp_path / "m")
    code, out, err = run(
        capsys, "explain", "--model", model, "--input", "0.1,0.2,0.3", "--target", "2",
        "--loss", "cross-entropy",
    )  # fmt: skip
    assert code == 0, err
    assert "cross-entropy" in out


def test_a_number_that_is_no_label_keeps_the_shape_message(tmp_path, capsys):
    model = _model_without_loss(tmp_path / "m", nn.Softmax())
    assert_user_error(
        capsys, "explain", "--model", model, "--input", "0.1,0.2,0.3", "--target", "0.5",
        match="expects 3 values per case",
    )  # fmt: skip


def test_a_full_row_for_squared_error_is_explained(tmp_path, capsys):
    model = _model_without_loss(tmp_path / "m", nn.Softmax())
    code, out, err = run(
        capsys, "explain", "--model", model, "--input", "0.1,0.2,0.3", "--target", "0,0,1"
    )
    assert code == 0, err
    assert "squared-error" in out and "✓" in out
