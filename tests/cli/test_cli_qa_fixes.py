"""What the command line's train, evaluate and predict got wrong once, each pinned on tiny files:
weight decay as recorded, a test file with fewer classes than the model, a header over a
numeric label column, losses that overflow, and a loss that needs 0/1 targets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import assert_user_error, run

from chainrule import optim
from chainrule.train import runs


def write_csv(path, rows, header=None):
    lines = [header] if header else []
    lines += [",".join(f"{v:.6g}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def classes_table(n: int, n_classes: int, seed: int = 0) -> np.ndarray:
    """Two features and labels 0, 1, ..., n_classes - 1 in turn."""
    X = np.random.default_rng(seed).normal(size=(n, 2))
    return np.column_stack([X, np.arange(n) % n_classes])


def regression_table(n: int = 60, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).normal(size=(n, 2))
    return np.column_stack([X, X[:, 0] + X[:, 1]])


def train(capsys, *args):
    code, out, err = run(capsys, "train", "--epochs", 1, "-q", *args)
    assert code == 0, err
    return out


# -- weight decay: the optimizer gets the value run.json records --------------------------------


@pytest.mark.parametrize(("given", "used"), [(None, 0.01), (0.0, 0.0)])
def test_adamw_without_weight_decay_decays_as_pytorchs_adamw(given, used):
    """--optimizer adamw with no --weight-decay trained exactly as adam (a decay of 0): it takes
    AdamW's own 0.01, as PyTorch's; --weight-decay 0 still turns it off."""
    config = runs.resolve_config({"data": "xor", "optimizer": "adamw", "weight_decay": given})
    assert config.weight_decay == used
    ds = runs.load_data(config).train
    _, _, optimizer, _ = runs.build(config, ds)
    assert optimizer.weight_decay == used


def test_a_given_weight_decay_reaches_every_optimizer():
    for name in optim.names():
        config = runs.resolve_config({"data": "xor", "optimizer": name, "weight_decay": 0.05})
        _, _, optimizer, _ = runs.build(config, runs.load_data(config).train)
        assert optimizer.weight_decay == 0.05, name


@pytest.mark.parametrize("given", [[], ["--weight-decay", "0"], ["--weight-decay", "0.003"]])
def test_an_adamw_run_trains_with_the_weight_decay_it_records(tmp_path, capsys, given):
    """run.json's weight decay is the one the checkpointed optimizer used (AdamW's own default
    of 0.01 where none was given)."""
    out = tmp_path / "run"
    train(capsys, "--data", "xor", "--optimizer", "adamw", *given, "--out", out)
    recorded = json.loads((out / "run.json").read_text())["config"]["weight_decay"]
    assert recorded == (float(given[1]) if given else 0.01)
    (checkpoint,) = (out / "checkpoints").iterdir()
    state = json.loads((checkpoint / "trainer.json").read_text())
    assert state["optimizer"]["config"]["weight_decay"] == recorded


# -- evaluate --data: a file showing fewer classes than the model has ---------------------------


@pytest.mark.parametrize("loss", ["mse", "squared-error"])
def test_evaluate_a_file_without_the_models_top_class(tmp_path, capsys, loss):
    three = write_csv(tmp_path / "three.csv", classes_table(60, 3))
    two = write_csv(tmp_path / "two.csv", classes_table(20, 2, seed=1))
    out = tmp_path / "run"
    train(capsys, "--data", three, "--loss", loss, "--out", out)
    code, text, err = run(capsys, "evaluate", out, "--data", two, "--json")
    assert code == 0, err
    result = json.loads(text)
    assert result["cases"] == 20
    assert result["classes"] == ["0", "1", "2"]
    assert result["per_class"][2]["support"] == 0
    assert np.isfinite(result["loss"])


def test_evaluate_a_label_above_the_models_classes_is_one_line(tmp_path, capsys):
    three = write_csv(tmp_path / "three.csv", classes_table(60, 3))
    four = write_csv(tmp_path / "four.csv", classes_table(20, 4, seed=1))
    out = tmp_path / "run"
    train(capsys, "--data", three, "--loss", "mse", "--out", out)
    assert_user_error(capsys, "evaluate", out, "--data", four, match="labels go up to 3")


def test_target_array_one_hots_with_the_networks_units():
    from chainrule import data, nn
    from chainrule.errors import DataError
    from chainrule.train.metrics import target_array

    ds = data.Dataset(X=np.zeros((3, 2)), y=np.array([0, 1, 1]), task="classification",
                      name="two")  # fmt: skip
    targets = target_array(ds, nn.loss_from_name("mse"), 3, np.float32)
    np.testing.assert_array_equal(targets, [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
    wide = data.Dataset(X=np.zeros((2, 2)), y=np.array([0, 3]), task="classification",
                        name="wide")  # fmt: skip
    with pytest.raises(DataError, match="label 3 but the network has 3 output units"):
        target_array(wide, nn.loss_from_name("mse"), 3, np.float32)


# -- predict --input: a header whose only text is the label column's name -----------------------


def test_predict_skips_a_header_named_only_in_the_label_column(tmp_path, capsys):
    table = classes_table(30, 3)
    h = write_csv(tmp_path / "h.csv", table, header="2019,2020,label")
    out = tmp_path / "run"
    train(capsys, "--data", h, "--out", out)
    code, text, err = run(capsys, "evaluate", out, "--data", h, "--json")
    assert code == 0, err
    assert json.loads(text)["cases"] == 30
    code, text, err = run(capsys, "predict", out, "--input", h, "--json")
    assert code == 0, err
    assert len(json.loads(text)["predictions"]) == 30


def test_read_table_header_detection_with_a_text_label_column(tmp_path):
    from chainrule.data import read_table

    numbers = tmp_path / "numbers.csv"
    numbers.write_text("2019,2020,label\n0.5,1.5,1\n2.5,3.5,0\n")
    table = read_table(numbers, columns=2)
    assert table.names == ["2019", "2020", "label"]
    np.testing.assert_array_equal(table.values, [[0.5, 1.5], [2.5, 3.5]])
    # text labels on every row: line 1 is a case like the others
    words = tmp_path / "words.csv"
    words.write_text("0.5,1.5,cat\n2.5,3.5,dog\n")
    table = read_table(words, columns=2)
    assert table.names is None and len(table.values) == 2
    # a single line holding a text label is a case, not a header over nothing
    one = tmp_path / "one.csv"
    one.write_text("0.5,1.5,cat\n")
    assert len(read_table(one, columns=2).values) == 1


# -- evaluate: losses that overflow are refused, never printed as Infinity ----------------------


@pytest.fixture
def regression_run(tmp_path, capsys):
    reg = write_csv(tmp_path / "reg.csv", regression_table())
    out = tmp_path / "run"
    train(capsys, "--data", reg, "--task", "regression", "--activation", "relu", "--out", out)
    return out


def test_evaluate_refuses_targets_whose_squares_overflow(regression_run, tmp_path, capsys):
    big = write_csv(tmp_path / "big.csv", [[0.1, 0.2, 1e20], [0.3, 0.1, 2e20]])
    line = assert_user_error(capsys, "evaluate", regression_run, "--data", big, "--json",
                             match="overflow float32")  # fmt: skip
    assert "big.csv" in line


def test_evaluate_refuses_a_loss_that_overflows(regression_run, tmp_path, capsys):
    """Targets that fit, inputs so large that the outputs (relu units pass them on) square to
    more than float32 holds: no Infinity, no "loss inf"."""
    huge = write_csv(tmp_path / "huge.csv", [[1e30, -1e30, 0.5], [2e30, 1e30, 0.1]])
    for json_flag in (["--json"], []):
        assert_user_error(capsys, "evaluate", regression_run, "--data", huge, *json_flag,
                          match="overflows float32")  # fmt: skip


# -- a loss that needs 0/1 targets is refused for a regression ----------------------------------


def test_margin_squared_error_is_refused_for_a_regression(tmp_path, capsys):
    reg = write_csv(tmp_path / "reg.csv", regression_table())
    out = tmp_path / "run"
    line = assert_user_error(capsys, "train", "--data", reg, "--task", "regression", "--loss",
                             "margin-squared-error", "--out", out, match="--loss "
                             "margin-squared-error")  # fmt: skip
    assert "regression" in line
    assert not out.exists()


# -- inputs are standardised from the file's numbers, then rounded to the run's dtype -----------


def big_offset_csv(path, n=60):
    """A column 1e9 + k (k = 0..19): distinct in float64, one number in float32 (whose spacing
    at 1e9 is 64), and a real-valued target that depends on k."""
    k = np.arange(n) % 20
    x2 = np.random.default_rng(0).normal(size=n)
    lines = ["x1,x2,y"] + [f"{1e9 + a:.1f},{b:.6f},{2 * b + 0.1 * a:.6f}" for a, b in zip(k, x2)]
    path.write_text("\n".join(lines) + "\n")
    return path, 2 * x2 + 0.1 * k


def test_a_float32_run_standardises_its_csv_before_rounding(tmp_path):
    path, _ = big_offset_csv(tmp_path / "big.csv")
    config = runs.resolve_config({"data": str(path), "task": "regression"})
    prepared = runs.load_data(config)
    k = np.arange(60)[prepared.train.meta["indices"]] % 20
    assert prepared.standardizer.std[0] == pytest.approx(k.std(), rel=1e-6)  # not 1: constant
    assert prepared.train.X.dtype == np.float32
    assert len(np.unique(prepared.train.X[:, 0])) == len(np.unique(k))  # no two k's merged


def test_evaluate_and_predict_agree_on_a_column_float32_cannot_tell_apart(tmp_path, capsys):
    path, y = big_offset_csv(tmp_path / "big.csv")
    out = tmp_path / "run"
    train(capsys, "--data", path, "--task", "regression", "--hidden", 8, "--epochs", 3, "--out",
          out)  # fmt: skip
    code, text, err = run(capsys, "evaluate", out, "--data", path, "--json")
    assert code == 0, err
    loss = json.loads(text)["loss"]
    code, text, err = run(capsys, "predict", out, "--input", path, "--json")
    assert code == 0, err
    predicted = np.array([row["outputs"][0] for row in json.loads(text)["predictions"]])
    assert loss == pytest.approx(np.mean((y - predicted) ** 2), rel=1e-5)
    standardizer = json.loads((out / "model" / "model.json").read_text())["standardizer"]
    assert standardizer["std"][0] > 5  # k's spread (about 5.8), not 1 for a constant column


# -- numbers a float overflows: a column's std, a standardised case, a test loss -------------


def test_the_standardizer_scales_columns_whose_squares_or_sums_overflow_float64():
    """A column of values near 1e200 had an infinite std and was standardised to zeros (the run
    trained on chance); 1.6e308 and 1.7e308 overflowed the mean, and the loss became NaN. The
    oracle: the same column divided by its scale first, computed by NumPy."""
    from chainrule.data import Standardizer

    rng = np.random.default_rng(0)
    small = rng.normal(size=(50, 2))
    for scale in (1e200, 1e300):
        X = np.column_stack([small[:, 0] * scale, small[:, 1]])
        s = Standardizer().fit(X)
        np.testing.assert_allclose(s.mean, [small[:, 0].mean() * scale, small[:, 1].mean()])
        np.testing.assert_allclose(s.std, [small[:, 0].std() * scale, small[:, 1].std()])
        Z = s.transform(X)
        np.testing.assert_allclose(Z[:, 0], (small[:, 0] - small[:, 0].mean()) / small[:, 0].std())
    X = np.array([[1.6e308], [1.7e308], [1.7e308], [1.6e308]])
    s = Standardizer().fit(X)
    np.testing.assert_allclose(s.mean, [1.65e308]) and np.testing.assert_allclose(s.std, [5e306])
    assert s.transform(X)[:, 0].tolist() == pytest.approx([-1, 1, 1, -1])
    plain = rng.normal(size=(20, 3))  # ordinary columns: bit for bit NumPy's
    fitted = Standardizer().fit(plain)
    assert (fitted.mean == plain.mean(axis=0)).all() and (fitted.std == plain.std(axis=0)).all()


def test_a_run_on_a_column_of_1e200_learns_it(tmp_path, capsys):
    table = classes_table(200, 2)
    table[:, 0] = (table[:, 2] - 0.5) * 1e200 * (1 + 0.1 * table[:, 1] ** 2)  # the label's sign
    data = write_csv(tmp_path / "wide.csv", table, "a,b,label")
    train(capsys, "--data", data, "--dtype", "float64", "--epochs", 20, "--out", tmp_path / "r")
    summary = json.loads((tmp_path / "r" / "run.json").read_text())
    assert summary["test_accuracy"] == 1.0  # it was 51%: the column standardised to zeros


def _one_huge_test_case(path, value=3.4e38):
    """A CSV of 200 cases whose first test case (of the default split) has ``value`` in column 1
    (a training case would widen the column's std); returns the path and the case's number."""
    from chainrule import data

    table = classes_table(200, 2)
    table[:, 0] *= 0.5  # a std of about 0.5: the case doubles once standardised
    ds = data.Dataset(X=table[:, :2], y=table[:, 2].astype(int), task="classification", name="t")
    config = runs.resolve_config({"data": str(path)})
    val, test = config.split
    _, _, held_out = data.split(ds, val=val, test=test, seed=config.seed)
    row = int(np.flatnonzero(np.isin(table[:, 0], held_out.X[:, 0]))[0])
    table[row, 0] = value
    return write_csv(path, table, "a,b,label"), row + 1


def test_a_case_float32_cannot_hold_once_standardised_is_refused_before_training(tmp_path, capsys):
    """3.4e38 fits float32, but standardised it is 3.5e38: the test loss was NaN, the run
    printed a test accuracy with that case counted as class 0, and exited 0."""
    data, case = _one_huge_test_case(tmp_path / "huge.csv")
    named = f"huge: case {case}, column 1: 3.4e+38 standardised"
    line = assert_user_error(capsys, "train", "--data", data, "--out", tmp_path / "r", match=named)
    assert "beyond float32's range" in line
    assert not (tmp_path / "r").exists()


def test_predict_refuses_a_case_float32_cannot_hold_once_standardised(tmp_path, capsys):
    """predict wrote nan probabilities, labelled the case 0, and --json wrote NaN."""
    train(capsys, "--data", write_csv(tmp_path / "d.csv", classes_table(60, 2), "a,b,label"),
          "--out", tmp_path / "r")  # fmt: skip
    rows = write_csv(tmp_path / "rows.csv", [[0.5, 0.5], [3.4e38, 0.0]], "a,b")
    for json_flag in ([], ["--json"]):
        assert_user_error(capsys, "predict", tmp_path / "r", "-i", rows, *json_flag,
                          match="rows.csv: case 2, column 1: 3.4e+38 standardised")  # fmt: skip


def test_a_run_whose_test_loss_overflows_is_saved_and_fails(tmp_path, capsys, monkeypatch):
    """The network's own numbers overflowing on test cases (a NaN test loss) printed a test
    accuracy, wrote NaN (no JSON) into run.json and --json, and exited 0."""
    import chainrule.train

    real = chainrule.train.evaluate

    def overflowing(*args, **kwargs):
        return {**real(*args, **kwargs), "loss": float("nan")}

    monkeypatch.setattr(chainrule.train, "evaluate", overflowing)
    data = write_csv(tmp_path / "d.csv", classes_table(60, 2), "a,b,label")
    code, out, err = run(capsys, "train", "--data", data, "--out", tmp_path / "r", "--json",
                         "--epochs", 1)  # fmt: skip
    assert code == 2 and out == ""
    assert f"the run is saved in {tmp_path / 'r'}, but its loss on the test cases is nan" in err
    summary = json.loads((tmp_path / "r" / "run.json").read_text(), parse_constant=_no_constant)
    assert summary["test_loss"] is None


def _no_constant(name):
    raise AssertionError(f"{name} is no JSON")


def test_labels_that_leave_most_class_numbers_unused_are_refused(tmp_path, capsys):
    """An id column of 0 and 1000000 built a 1,000,001-way classifier (a 1.7 GB run), silently."""
    table = classes_table(60, 2)
    table[:, 2] *= 1_000_000
    data = write_csv(tmp_path / "ids.csv", table, "a,b,label")
    assert_user_error(capsys, "train", "--data", data, "--out", tmp_path / "r",
                      match="go up to 1000000, but only 2 of those 1,000,001 class numbers "
                      "appear")  # fmt: skip
    assert not (tmp_path / "r").exists()
    table[:, 2] = np.arange(60) % 2 * 999  # a thousand numbers, two used: still taken
    train(capsys, "--data", write_csv(tmp_path / "k.csv", table, "a,b,label"), "--hidden", "3",
          "--out", tmp_path / "k")  # fmt: skip


# -- the family-trees preset: what run.json records is what trains -------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--optimizer", "sgd"], "and --optimizer sgd was given no --momentum"),
     (["--optimizer", "rmsprop"], "and rmsprop is not SGD"),
     (["--activation", "relu"], "the family-trees network is RHW's, of logistic units"),
     (["--loss", "binary-cross-entropy"], "reads logits, but the family-trees network ends in "
                                          "logistic units"),
     (["--loss", "cross-entropy"], "reads logits")],
)  # fmt: skip
def test_family_trees_refuses_what_it_would_not_train_as_recorded(tmp_path, capsys, args, message):
    """--optimizer sgd trained with the warm-up's momentum while run.json said none (weights
    bit-identical to --optimizer momentum); --activation relu was recorded and the units stayed
    logistic; a logits loss squashed the logistic outputs twice (test accuracy 0)."""
    assert_user_error(capsys, "train", "--data", "family-trees", "--epochs", 1, *args,
                      "--out", tmp_path / "r", match=message)  # fmt: skip


def test_the_family_trees_shrink_is_recorded_only_where_it_is_applied(tmp_path, capsys):
    """Under adam run.json said shrink 0.002, and no shrink was applied (SGD's alone)."""
    train(capsys, "--data", "family-trees", "--optimizer", "adam", "--schedule", "constant",
          "--out", tmp_path / "a")  # fmt: skip
    train(capsys, "--data", "family-trees", "--out", tmp_path / "m")
    adam = json.loads((tmp_path / "a" / "run.json").read_text())["config"]
    momentum = json.loads((tmp_path / "m" / "run.json").read_text())["config"]
    assert adam["shrink"] == 0.0 and momentum["shrink"] == 0.002


def test_resume_takes_the_pinned_data_file_named_another_way(tmp_path, capsys, monkeypatch):
    """--data ./d.csv (or its absolute path) for a run pinned to d.csv was refused as a change."""
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "d.csv", classes_table(40, 2), "a,b,label")
    train(capsys, "--data", "d.csv", "--out", "r")
    for named in ("./d.csv", str(tmp_path / "d.csv")):
        code, _, err = run(capsys, "train", "--resume", "r", "--epochs", 2, "--data", named, "-q")
        assert code == 0, err
    assert_user_error(capsys, "train", "--resume", "r", "--epochs", 3, "--data", "digits",
                      match="--data cannot change when resuming")  # fmt: skip


def test_a_warmup_that_overrides_the_given_lr_says_so(tmp_path, capsys):
    """Ten epochs of --schedule family-trees with --lr 0.1 and with --lr 0.9 gave the same
    run (the warm-up's lr 0.005 and momentum 0.5 last 20 epochs), silently."""
    code, _, err = run(capsys, "train", "--data", "xor", "--schedule", "family-trees",
                       "--epochs", 10, "--lr", 0.1, "--out", tmp_path / "short", "-q")  # fmt: skip
    assert code == 0 and "these 10 use neither --lr" in err
    code, _, err = run(capsys, "train", "--data", "xor", "--schedule", "family-trees",
                       "--epochs", 30, "--lr", 0.1, "--out", tmp_path / "long", "-q")  # fmt: skip
    assert code == 0 and "note:" not in err
