"""One decision of which class a model predicts, whoever asks (``train.metrics``).

``chainrule predict`` thresholded the probabilities it prints (logistic > 0.5, argmax of
softmax) while ``evaluate`` read the logits (logit > 0, argmax of the logits). They are the same
decision in exact arithmetic, not in rounded: a float32 logit of 1e-9 has a logistic of exactly
0.5, and logits 0 and 1e-9 a softmax of exactly (0.5, 0.5). On such a model predict labelled
every case 0 while evaluate counted every case as class 1; the explorer's Train tab (probabilities
again) and the scikit-learn estimator (``LabelBinarizer`` on ``predict_proba``) sided with
predict. The right answer is the logits': 1e-9 > 0, so sigmoid(1e-9) > 1/2 and the softmax's
second unit is the larger, whatever float32 rounds them to.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import io, nn, train

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_run import run  # noqa: E402

#: A logit whose logistic rounds to 0.5 in float32 (anything in about (0, 3e-8] does).
TINY = np.float32(1e-9)
#: Input rows (two features) and each row's label: both classes, so a confusion has both rows.
ROWS = [(0.5, 1.0, 1), (-1.0, 2.0, 0), (3.0, 0.0, 1), (0.25, -4.0, 0), (1.5, 1.5, 1)]


def boundary_model(n_outputs: int) -> nn.Sequential:
    """A float32 model whose outputs are the same for every input: the logit TINY (one unit),
    or the logits (0, TINY) (two units), the first class only rounding's favourite."""
    linear = nn.Linear(2, n_outputs, rng=0)
    linear.weight.data[...] = 0
    linear.bias.data[...] = [TINY] if n_outputs == 1 else [0, TINY]
    return nn.Sequential(linear)


@pytest.fixture(params=[("binary-cross-entropy", 1), ("cross-entropy", 2)], ids=["bce", "ce"])
def saved(request, tmp_path):
    """A saved boundary model and a labelled CSV of ROWS."""
    loss, n_outputs = request.param
    model = boundary_model(n_outputs)
    path = io.save_model(tmp_path / "model", model, loss=loss)
    data = tmp_path / "rows.csv"
    data.write_text("".join(f"{a},{b},{label}\n" for a, b, label in ROWS))
    return path, data, model, nn.loss_from_name(loss)


def test_the_probabilities_round_to_a_tie(saved):
    """The premise: the probabilities predict prints cannot tell the classes apart."""
    _, _, model, loss = saved
    outputs = train.predict(model, np.array([row[:2] for row in ROWS], np.float32))
    assert outputs.dtype == np.float32 and np.all(outputs[:, -1] > 0)
    p = loss.probabilities(outputs)
    assert np.all(p == 0.5)


def test_predict_labels_are_evaluates_confusion(saved, capsys):
    path, data, _, _ = saved
    code, out, err = run(capsys, "predict", path, "--input", data, "--json")
    assert code == 0, err
    predictions = json.loads(out)["predictions"]
    # what predict prints is unchanged: the probabilities, here the tie
    assert all(set(p["outputs"]) == {0.5} for p in predictions)
    labels = [int(p["prediction"]) for p in predictions]
    assert labels == [1] * len(ROWS)  # logit TINY > 0: the positive (second) class

    code, out, err = run(capsys, "evaluate", path, "--data", data, "--json")
    assert code == 0, err
    result = json.loads(out)
    confusion = np.zeros((2, 2), dtype=np.int64)
    for (_, _, truth), label in zip(ROWS, labels):
        confusion[truth, label] += 1
    assert result["confusion"] == confusion.tolist()
    assert result["accuracy"] == np.mean(
        [truth == label for (*_, truth), label in zip(ROWS, labels)]
    )


def test_predicted_classes_read_the_logits():
    from chainrule.train.metrics import predicted_classes, units_on

    bce, ce = nn.BinaryCrossEntropy(), nn.CrossEntropy()
    assert predicted_classes(np.array([[TINY], [-TINY], [0]], np.float32), bce).tolist() == [
        1,
        0,
        0,
    ]
    assert predicted_classes(np.array([[0, TINY], [TINY, 0]], np.float32), ce).tolist() == [1, 0]
    # outputs that are probabilities already (squared error on logistic units): 0.5 is off
    assert units_on(np.array([[0.5, 0.50001]]), nn.SquaredError()).tolist() == [[False, True]]


def test_web_accuracy_is_evaluates():
    """The Train tab's accuracy is ``train.evaluate``'s on the same network and cases: digits
    under cross-entropy, logits (0, 1e-17, 0, ...) for every case, a float64 softmax tie."""
    from chainrule.web.training import load_dataset, start_run

    run_ = start_run("digits", hidden=[3])
    top = run_.linears[-1]
    top.weight.data[...] = 0
    top.bias.data[...] = 0
    top.bias.data[1] = 1e-17
    _, _, ds = load_dataset("digits")
    tied = run_.loss.probabilities(train.predict(run_.model, ds.X))
    assert np.all(tied == tied[:, :1])  # the premise: the probabilities cannot tell
    expected = float(np.mean(np.asarray(ds.y) == 1))  # every case is class 1, the larger logit
    assert np.mean(np.asarray(ds.y) == 0) != expected  # and reading the tie would say class 0
    assert train.evaluate(run_.model, run_.loss, ds)["accuracy"] == expected
    assert run_.accuracy() == expected


@pytest.mark.filterwarnings("ignore:.*stopped after max_iter")  # five epochs: any weights do
def test_sklearn_predict_is_evaluates_decision():
    pytest.importorskip("sklearn")
    from chainrule.sklearn import MLPClassifier

    X = np.array([row[:2] for row in ROWS], np.float32)
    y = np.array(["no", "yes"])[[row[2] for row in ROWS]]
    clf = MLPClassifier((3,), max_iter=5, random_state=0).fit(X, y)
    clf.coefs_[-1][...] = 0
    clf.intercepts_[-1][...] = TINY
    assert np.all(clf.predict_proba(X) == 0.5)  # the premise
    logits = train.predict(clf.network_, X)
    decided = clf.classes_[(logits[:, 0] > 0).astype(int)]  # logit > 0 <=> p > 1/2
    assert clf.predict(X).tolist() == decided.tolist() == ["yes"] * len(ROWS)
