"""``cr.manual_seed`` reseeds chainrule's one default generator in place, as ``torch.manual_seed``
does: a Dropout layer built before the seed (it holds the default generator) draws the seeded
masks too. It replaced the default generator with a new object, so a layer built earlier kept
the old one, seeded from the OS at import: its masks differed from process to process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import creation

SRC = str(Path(cr.__file__).resolve().parents[1])  # this checkout's copy, not an installed one


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


BUILT_BEFORE_THE_SEED = """
import chainrule as cr
d = cr.nn.Dropout(0.5)
cr.manual_seed(0)
print(''.join(str(int(v)) for v in d(cr.ones(64)).numpy()))
"""


def test_a_dropout_built_before_manual_seed_draws_the_same_masks_in_every_process():
    first, second = _python(BUILT_BEFORE_THE_SEED), _python(BUILT_BEFORE_THE_SEED)
    assert first == second
    # the masks of the seed: those of a generator seeded 0, as a layer built afterwards draws
    keep = np.random.default_rng(0).random(64) >= 0.5
    assert first.strip() == "".join("2" if k else "0" for k in keep)


def test_manual_seed_returns_the_one_default_generator_reseeded():
    generator = cr.manual_seed(3)
    try:
        layer = cr.nn.Dropout(0.5)
        assert cr.manual_seed(4) is generator  # the same object, as torch.manual_seed's
        assert creation.as_generator(None) is generator and layer.rng is generator
        expected = np.random.default_rng(4)
        np.testing.assert_array_equal(cr.randn(5).numpy(), expected.standard_normal(5))
        np.testing.assert_array_equal(layer.rng.random(5), expected.random(5))
    finally:
        cr.manual_seed(int.from_bytes(os.urandom(8), "little"))  # random again, as at import
