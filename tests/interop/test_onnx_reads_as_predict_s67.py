"""An ONNX export says, and computes, what ``chainrule predict`` does with a model's outputs.

The oracle is predict itself: a deployer who reads the file's metadata (``metadata_props``,
JSON) as docs/interop.md says must get predict's labels from onnxruntime's outputs, for the
same raw rows: a run's loss of its own (``loss_reads``: the logistic and its threshold), a
registered loss with a threshold of its own, a multilabel model, a classifier read by argmax
and a regression.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from onnx_run import needs_onnx

from chainrule import data, io, nn
from chainrule.cli import main
from chainrule.errors import ConversionError
from chainrule.interop import saved_to_onnx, to_onnx
from chainrule.nn import losses


class OwnBCE:
    """A loss of one's own, no config(): its checkpoint stores loss null and its loss_reads."""

    output_activation = "logistic"
    threshold = 0.3

    def __call__(self, output, target):
        return nn.BinaryCrossEntropy()(output, target)


class CautiousBCE(nn.BinaryCrossEntropy):
    """A binary cross-entropy that calls a unit on above 0.3, registered for the test that
    saves it only (:func:`saved`): a registration left behind would show in every other
    test's list of the losses a reader rebuilds."""

    name = "s67-cautious-bce"
    threshold = 0.3

    def config(self):
        return {"type": self.name}


def rows(n_in, n=80, seed=0):
    """Raw rows far from standardized, whose outputs straddle every threshold."""
    return np.random.default_rng(seed).normal(size=(n, n_in)) * 3.0 + 5.0


def net(n_in, n_out, seed=1):
    return nn.Sequential(nn.Linear(n_in, 6, rng=seed), nn.Tanh(), nn.Linear(6, n_out, rng=seed + 1))


def standardizer(X):
    return data.Standardizer().fit(X).state()


def own_loss_checkpoint(directory, X, class_names=None):
    """The last checkpoint of a run trained with :class:`OwnBCE` (io.save_model refuses such a
    loss; a Trainer's checkpoint stores it as loss null and loss_reads)."""
    from chainrule import optim, train

    scaler = data.Standardizer().fit(X)
    Xs = scaler.transform(X, np.float32)
    ds = data.Dataset(X=Xs, y=(Xs[:, 0] + Xs[:, 1] > 0).astype(np.int64), task="classification")
    model = net(X.shape[1], 1)
    train.fit(model, OwnBCE(), optim.SGD(model.parameters(), lr=0.01), ds, epochs=1,
              batch_size=40, seed=0, checkpoint_dir=directory, standardizer=scaler,
              class_names=class_names, progress=False)  # fmt: skip
    checkpoint = sorted(Path(directory).glob("epoch-*"))[-1]
    info = json.loads((checkpoint / "model.json").read_text())
    assert info["loss"] is None and info["loss_reads"]["threshold"] == 0.3
    return checkpoint


CASES = {
    # name: (n_in, n_out, save_model's keyword arguments)
    "own-loss": (3, 1, {"class_names": ["no", "yes"]}),  # a checkpoint: OwnBCE
    "cautious-bce": (3, 1, {"loss": CautiousBCE(), "class_names": ["no", "yes"]}),
    "multilabel": (
        4,
        3,
        {
            "loss": "binary-cross-entropy",
            "class_names": ["red", "green", "blue"],
            "meta": {"task": "multilabel"},
        },
    ),  # fmt: skip
    "argmax": (4, 3, {"loss": "cross-entropy", "class_names": ["a", "b", "c"]}),
    "regression": (3, 2, {"loss": "mse"}),
}


@pytest.fixture(params=list(CASES))
def saved(request, tmp_path):
    n_in, n_out, options = CASES[request.param]
    if request.param == "cautious-bce":
        nn.register_loss(CautiousBCE)
        request.addfinalizer(lambda: losses.LOSSES.pop(CautiousBCE.name, None))
    X = rows(n_in)
    model_dir = tmp_path / "model"
    if request.param == "own-loss":
        model_dir = own_loss_checkpoint(tmp_path / "checkpoints", X, **options)
    else:
        io.save_model(model_dir, net(n_in, n_out), standardizer=standardizer(X), **options)
    csv = tmp_path / "rows.csv"
    csv.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in X) + "\n")
    return request.param, model_dir, csv, X


def predicted(capsys, model_dir, csv):
    """predict's JSON document for the rows of ``csv``."""
    capsys.readouterr()
    assert main(["predict", str(model_dir), "--input", str(csv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["predictions"]


def deployed(ort, path, X):
    """(outputs, labels, properties): onnxruntime's outputs for the raw rows ``X`` and the
    labels a deployer reads from them by the file's metadata alone, as docs/interop.md says."""
    import onnx

    proto = onnx.load(str(path))
    props = {p.key: json.loads(p.value) for p in proto.metadata_props}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": np.asarray(X, np.float64)})[0]
    names = props.get("class_names") or [str(j) for j in range(out.shape[1])]
    how = props["prediction"]
    if how == "values":
        labels = [row.tolist() if len(row) > 1 else float(row[0]) for row in out]
    elif how == "above_threshold":
        no, yes = (names[0], names[1]) if len(names) == 2 else ("0", "1")
        labels = [yes if value > props["threshold"] else no for value in out[:, 0]]
    elif how == "units_above_threshold":
        on = out > props["threshold"]
        labels = [";".join(n for n, o in zip(names, row) if o) or "none" for row in on]
    else:
        assert how == "argmax"
        labels = [names[k] for k in out.argmax(axis=1)]
    return out, labels, props, proto


def test_the_metadata_reads_onnx_outputs_into_predicts_labels(saved, tmp_path, capsys):
    """own-loss: the graph had no Sigmoid (logits where predict gave probabilities);
    cautious-bce: no threshold in the file (a 0.5 cut differed from predict's 0.3); multilabel:
    nothing said per unit; none of them said how to read the output at all."""
    ort = needs_onnx()
    name, model_dir, csv, X = saved
    out_path = tmp_path / "m.onnx"
    assert main(["export", str(model_dir), "--format", "onnx", "--out", str(out_path)]) == 0
    expected = predicted(capsys, model_dir, csv)
    out, labels, props, _ = deployed(ort, out_path, X)
    np.testing.assert_allclose(
        out, [row["outputs"] for row in expected], rtol=1e-5, atol=1e-6, err_msg=name
    )
    if name == "regression":
        np.testing.assert_allclose(labels, [row["prediction"] for row in expected], rtol=1e-5)
    else:
        assert labels == [row["prediction"] for row in expected], name
    if name in ("own-loss", "cautious-bce"):  # the rows straddle 0.3: a 0.5 cut reads otherwise
        assert props["threshold"] == 0.3
        assert ((out[:, 0] > 0.3) != (out[:, 0] > 0.5)).any()


def test_a_loss_of_ones_own_is_exported_with_the_logistic_it_said_it_applies(tmp_path, capsys):
    """Its file: "loss": null, "loss_reads": {"output_activation": "logistic", ...}; the ONNX
    graph ended at the logits."""
    ort = needs_onnx()
    X = rows(3)
    model_dir = own_loss_checkpoint(tmp_path / "checkpoints", X)
    proto = saved_to_onnx(model_dir, tmp_path / "m.onnx")
    assert proto.graph.node[-1].op_type == "Sigmoid"
    out, _, props, _ = deployed(ort, tmp_path / "m.onnx", X)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert props["outputs"] == "probabilities" and props["output_activation"] == "logistic"


def test_the_torch_export_of_a_loss_of_ones_own_says_its_outputs_are_logits(tmp_path, capsys):
    """The state dict's note that the outputs are logits was missing for such a loss."""
    X = rows(3)
    model_dir = own_loss_checkpoint(tmp_path / "checkpoints", X)
    capsys.readouterr()
    out = tmp_path / "m.safetensors"
    assert main(["export", str(model_dir), "--format", "torch", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "outputs are logits: apply logistic" in err
    assert "the run's own loss applies it itself" in err
    assert "above 0.3" in err


def test_the_file_records_the_data_a_deployer_must_give_it(tmp_path, capsys):
    """Feature names (predict checks the header), the label column, the pixel range (predict
    refuses raw pixels, the graph answered them silently), the producer's version and a model
    doc_string: none of them were in the file."""
    needs_onnx()
    import chainrule

    meta = {
        "task": "classification",
        "feature_names": ["p0", "p1", "p2", "p3"],
        "label_column_name": "digit",
        "pixel_range": [0.0, 16.0],
    }
    model_dir = tmp_path / "model"
    io.save_model(model_dir, net(4, 3), loss="cross-entropy", meta=meta,
                  standardizer=standardizer(rows(4)))  # fmt: skip
    proto = saved_to_onnx(model_dir)
    props = {p.key: json.loads(p.value) for p in proto.metadata_props}
    for key, value in meta.items():
        assert props[key] == value, key
    assert props["standardized"] is True and props["prediction"] == "argmax"
    assert proto.producer_version == chainrule.__version__
    doc = proto.doc_string
    assert "4 inputs -> 3 outputs" in doc and "p0, p1, p2, p3" in doc
    assert "(x - 0) / (16 - 0)" in doc and "argmax" in doc and "probabilities" in doc
    assert "1 outputs" not in to_onnx(net(2, 1)).graph.doc_string


@pytest.mark.parametrize(
    "meta, match",
    [
        ([1, 2], "meta must be a dict"),
        ({"task": "clustering"}, "meta\\['task'\\] must be one of"),
        ({"feature_names": ["a", "b"]}, "meta\\['feature_names'\\] must be 3 strings"),
        ({"pixel_range": [16, 0]}, "meta\\['pixel_range'\\] must be \\[low, high\\]"),
    ],
)
def test_meta_that_cannot_be_what_it_names_is_refused(meta, match):
    needs_onnx()
    with pytest.raises(ConversionError, match=match):
        to_onnx(net(3, 1), meta=meta)


def test_a_function_as_the_model_is_named_as_the_model_not_as_layer_0():
    needs_onnx()
    with pytest.raises(ConversionError, match="the model is a function, not a chainrule model"):
        to_onnx(lambda x: x)


def test_a_files_free_form_meta_that_the_export_cannot_read_is_left_out(tmp_path):
    """model.json's meta is free-form: a file saved with meta={'task': 'binary', 'pixel_range':
    [0, '255']} (the user's own words) exported at a6a0b94 and was refused after 8fce894 (the
    review). Such entries are left out of the ONNX file; a usable one (feature_names) is kept.
    The oracle: the model's softmax of its logits on the same rows, equal to onnxruntime's."""
    import onnx

    ort = needs_onnx()
    X = rows(2)
    model_dir = tmp_path / "model"
    meta = {"task": "binary", "feature_names": ["a", "b"], "pixel_range": [0, "255"]}
    io.save_model(model_dir, net(2, 3), loss="cross-entropy", meta=meta)
    out = tmp_path / "m.onnx"
    assert main(["export", str(model_dir), "--format", "onnx", "--out", str(out)]) == 0
    props = {p.key: json.loads(p.value) for p in onnx.load(str(out)).metadata_props}
    assert props["feature_names"] == ["a", "b"]
    assert "pixel_range" not in props and props.get("task") != "binary"
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": np.asarray(X, np.float32)})[0]  # no standardizer: float32
    model, _ = io.load_model(model_dir)
    logits = model(np.asarray(X, np.float32)).numpy().astype(np.float64)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(got, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)
