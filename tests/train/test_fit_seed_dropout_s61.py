"""``fit``'s ``seed`` seeds the training loop's randomness: the shuffling and the masks of every
Dropout layer given no generator of its own (``rng=None``, which drew from chainrule's default
generator, seeded from the OS at import: ``mlp(..., rng=0)``, a Dropout and ``fit(seed=0)``
trained to other weights in every process). A layer with a generator of its own keeps it and
draws what it drew; a fit that goes on (``fit`` again, a resume) continues the one run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import creation, nn, optim, train
from chainrule.data import Dataset

SRC = str(Path(cr.__file__).resolve().parents[1])  # this checkout's copy, not an installed one

SETUP = """
import hashlib, sys
import numpy as np
import chainrule as cr

def blobs():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = rng.normal(size=(60, 4)).astype(np.float32) + 2.0 * np.eye(4, dtype=np.float32)[y]
    return cr.data.Dataset(X=X, y=y, task="classification", name="blobs")

def model():
    layers = cr.nn.mlp([4, 8, 3], activation="tanh", rng=0)
    return cr.nn.Sequential(layers[0], layers[1], cr.nn.Dropout(0.3), layers[2])

def digest(net):
    return hashlib.sha256(b"".join(p.data.tobytes() for p in net.parameters())).hexdigest()

def fit(net, epochs, seed=0, **options):
    opt = cr.optim.Adam(net.parameters(), lr=0.01)
    cr.train.fit(net, cr.nn.CrossEntropy(), opt, blobs(), epochs=epochs, batch_size=7,
                 seed=seed, progress=False, **options)
    return net
"""


def _python(code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", SETUP + code, *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_fit_seed_gives_a_dropout_without_rng_the_same_masks_in_every_process():
    code = "print(digest(fit(model(), 3, seed=0)), digest(fit(model(), 3, seed=1)))"
    first, second = _python(code).split(), _python(code).split()
    assert first == second
    assert first[0] != first[1]  # the seed decides the masks (and the shuffling)


DRAWING = """
class Drawing(cr.train.Callback):  # draws from the default generator, as user code may
    def on_epoch_start(self, trainer, epoch):
        cr.randn(3)
"""


def test_a_resume_in_another_process_continues_the_run_bit_for_bit(tmp_path):
    """The resume restores the layer's state into the default generator (the new process's
    layer holds it); the fit then gives the layer a generator of its own carrying on from it,
    so a callback drawing from the default changes nothing, as in the uninterrupted run."""
    whole = _python(DRAWING + "print(digest(fit(model(), 4, callbacks=[Drawing()])))")
    _python("fit(model(), 2, checkpoint_dir=sys.argv[1])", str(tmp_path))
    resumed = _python(
        DRAWING + "print(digest(fit(model(), 4, checkpoint_dir=sys.argv[1], "
        "resume=sys.argv[1], callbacks=[Drawing()])))",
        str(tmp_path),
    )
    assert resumed == whole


def _blobs() -> Dataset:
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = rng.normal(size=(60, 4)).astype(np.float32) + 2.0 * np.eye(4, dtype=np.float32)[y]
    return Dataset(X=X, y=y, task="classification", name="blobs")


def _model(own: np.random.Generator):
    return nn.Sequential(
        nn.Linear(4, 8, rng=0), nn.Tanh(), nn.Dropout(0.3, rng=own), nn.Dropout(0.2),
        nn.Linear(8, 3, rng=1),
    )  # fmt: skip


def test_only_the_layers_without_a_generator_of_their_own_are_seeded_by_the_fit():
    own = np.random.default_rng(7)
    net = _model(own)
    trainer = train.Trainer(net, nn.CrossEntropy(), optim.SGD(net, lr=0.1), batch_size=7,
                            seed=5, progress=False)  # fmt: skip
    draws_before = np.random.default_rng(7).random(1000)
    trainer.fit(_blobs(), epochs=2)
    assert net[2].rng is own  # the user's generator, drawn from as before
    assert net[3].rng is not creation.as_generator(None)  # the trainer's, seeded from 5
    # the own layer drew as many numbers as its masks took: 2 epochs x 60 cases x 8 units
    np.testing.assert_array_equal(own.random(1), draws_before[960:961])


def test_fitting_again_continues_the_run_of_one_fit():
    ds = _blobs()
    runs = []
    for plan in ([4], [2, 4]):
        net = _model(np.random.default_rng(7))
        trainer = train.Trainer(net, nn.CrossEntropy(), optim.Adam(net, lr=0.01), batch_size=7,
                                progress=False)  # fmt: skip
        for epochs in plan:
            trainer.fit(ds, epochs=epochs)
        runs.append(net.state_dict())
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)


def _shared_default_model():
    """Two Dropouts drawing from the default generator (built without ``rng=``)."""
    return nn.Sequential(
        nn.Linear(4, 8, rng=0), nn.Tanh(), nn.Dropout(0.3), nn.Dropout(0.2), nn.Linear(8, 3, rng=1)
    )


def _trainer(net) -> train.Trainer:
    return train.Trainer(net, nn.CrossEntropy(), optim.Adam(net, lr=0.01), batch_size=7,
                         seed=3, progress=False)  # fmt: skip


def _checkpoint(tmp_path) -> Path:
    """A run of 2 epochs, saved."""
    trainer = _trainer(_shared_default_model())
    trainer.fit(_blobs(), epochs=2)
    return trainer.save_checkpoint(tmp_path)


def test_drawing_from_the_default_between_resume_and_fit_changes_nothing(tmp_path):
    """The resume gave the fresh layers (holding the default generator) the saved state by
    writing it into the default: a ``cr.randn`` between resume and fit then moved the masks."""
    whole = _shared_default_model()
    _trainer(whole).fit(_blobs(), epochs=4)
    saved = _checkpoint(tmp_path)
    for draw in (
        lambda: None,
        lambda: cr.randn(5),
        lambda: nn.Linear(3, 3),
        lambda: cr.manual_seed(0),
    ):
        net = _shared_default_model()
        trainer = _trainer(net)
        trainer.resume(saved)
        draw()
        assert net[2].rng is net[3].rng  # still one generator, as in the uninterrupted run
        trainer.fit(_blobs(), epochs=4)
        for name, value in whole.state_dict().items():
            np.testing.assert_array_equal(net.state_dict()[name], value, err_msg=name)


def test_a_resume_leaves_the_default_generator_as_manual_seed_set_it(tmp_path):
    """Loading the checkpoint's state writes nothing into the default generator. (The
    checkpoint is read first: ``io.load_checkpoint`` rebuilds the model, whose initialisers
    draw from the default.)"""
    from chainrule import io

    checkpoint = io.load_checkpoint(_checkpoint(tmp_path))
    cr.manual_seed(11)
    expected = cr.randn(5).numpy()
    cr.manual_seed(11)
    net = _shared_default_model()
    _trainer(net).load_state(checkpoint)
    np.testing.assert_array_equal(cr.randn(5).numpy(), expected)
    assert net[2].rng is not creation.as_generator(None)  # the saved state, in a new generator


def test_a_refused_resume_puts_the_layers_generators_back(tmp_path, monkeypatch):
    """A load refused after the generators were restored (here the schedule's) leaves the
    layers holding what they held: the default generator, its state untouched."""
    from chainrule import io
    from chainrule.train import trainer as trainer_module

    saved = _checkpoint(tmp_path)
    net = _shared_default_model()
    trainer = _trainer(net)
    checkpoint = io.load_checkpoint(saved)  # (rebuilds a model: draws from the default)
    default = creation.as_generator(None)
    before = default.bit_generator.state

    def refuse(*args):
        raise ValueError("refused")

    monkeypatch.setattr(trainer_module, "_load_schedule_state", refuse)
    with pytest.raises(cr.errors.ModelFileError):
        trainer.load_state(checkpoint)
    assert net[2].rng is default and net[3].rng is default
    assert default.bit_generator.state == before


def test_the_default_generator_given_explicitly_is_the_same_as_rng_none():
    """``Dropout(p, rng=cr.manual_seed(7))`` holds the default generator itself: it draws
    from the default, as ``rng=None`` does, so a fit seeds it from its ``seed`` too."""
    runs = []
    for rng in (None, "explicit"):
        layer = nn.Dropout(0.3, rng=cr.manual_seed(7) if rng else None)
        net = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Tanh(), layer, nn.Linear(8, 3, rng=1))
        assert layer.rng is creation.as_generator(None)
        _trainer(net).fit(_blobs(), epochs=2)
        runs.append(net.state_dict())
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)


def test_loading_a_model_or_resuming_draws_nothing_from_the_default_generator(tmp_path):
    """Rebuilding a saved architecture draws initial weights (replaced by the loaded ones) from
    the default generator: a load or a resume moved every later ``cr.randn`` off the seeded
    draws. The oracle: the same draw with no load between the seed and it."""
    model = cr.nn.Sequential(
        cr.nn.Linear(3, 4, rng=1), cr.nn.Dropout(0.5), cr.nn.Linear(4, 2, rng=2)
    )
    cr.io.save_model(tmp_path / "m", model)
    cr.manual_seed(0)
    expected = cr.randn(5).data.copy()
    cr.manual_seed(0)
    cr.io.load_model(tmp_path / "m")
    np.testing.assert_array_equal(cr.randn(5).data, expected)
