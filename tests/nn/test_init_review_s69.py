"""Files and checkpoints written before the initialisers' config changed (s69 review): a model
file of an older version that records init_range beside "glorot" loads without a warning (its
weights replace the draws), and a checkpoint's init_start, like its init, is no setting a resume
must match (an older cosine checkpoint has none, a model built with another init neither)."""

import json
import warnings

import numpy as np

from chainrule import data, io, nn, optim, train


def test_an_older_files_init_range_beside_glorot_loads_without_a_word(tmp_path):
    model = nn.mlp([2, 3, 1], init="glorot", rng=0)
    path = io.save_model(tmp_path / "m", model)
    description = json.loads((path / "model.json").read_text())
    for layer in description["architecture"]["layers"]:
        if layer["type"] == "Linear":
            layer["init_range"] = 1.0  # as the version before recorded it
    (path / "model.json").write_text(json.dumps(description))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded, _ = io.load_model(path)
    for ours, theirs in zip(loaded.parameters(), model.parameters()):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def _dataset():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 2)).astype(np.float32)
    return data.Dataset(X=X, y=(X[:, :1] > 0).astype(np.float32), task="multilabel")


def test_a_cosine_checkpoint_resumes_into_a_model_built_with_another_init(tmp_path):
    ds = _dataset()

    def trainer(init):
        model = nn.mlp([2, 3, 1], init=init, rng=0)
        return train.Trainer(model, nn.BinaryCrossEntropy(), optim.SGD(model.parameters(), lr=0.1),
                             checkpoint_dir=tmp_path / "ck", progress=False, seed=0)  # fmt: skip

    first = trainer("cosine")
    first.fit(ds, epochs=2)
    again = trainer("glorot")  # another init: the weights are the checkpoint's
    again.resume(tmp_path / "ck")
    for ours, theirs in zip(again.model.parameters(), first.model.parameters()):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    again.fit(ds, epochs=3)
    assert again.epoch == 3
