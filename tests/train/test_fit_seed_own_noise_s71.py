"""The two ways docs/training.md gives to make a noise layer of one's own reproducible under
``fit(..., seed=...)``, which never seeds chainrule's default generator itself: hold the default
as a generator buffer (as Dropout does; each fit replaces it by one seeded from ``seed``), or
call ``cr.manual_seed`` before each fit. The oracle: two fits from the same start give the same
losses. (A docs claim, pinned: the behaviour itself is unchanged.)"""

import numpy as np

import chainrule as cr
from chainrule import nn

X = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
DATA = cr.data.Dataset(X=X, y=X, task="regression")


class GaussianNoise(nn.Module):
    """Adds noise in training; ``own``: draws from a generator buffer holding the default."""

    def __init__(self, own: bool) -> None:
        super().__init__()
        self.own = own
        if own:
            self.register_buffer("rng", cr.creation.as_generator(None))

    def forward(self, x):
        if not self.training:
            return x
        rng = self.rng if self.own else None
        return x + 0.1 * cr.randn(*x.shape, dtype=x.dtype, rng=rng)


def _losses(own: bool, manual_seed: int | None = None) -> list[float]:
    if manual_seed is not None:
        cr.manual_seed(manual_seed)
    net = nn.Sequential(GaussianNoise(own), nn.Linear(4, 4, rng=0))
    history = cr.train.fit(net, nn.MSE(), cr.optim.SGD(net.parameters(), lr=0.1), DATA,
                           epochs=2, batch_size=8, seed=0, progress=False)  # fmt: skip
    return [record["loss"] for record in history.records]


def test_a_generator_buffer_holding_the_default_is_seeded_by_fit():
    cr.manual_seed(1)
    first = _losses(own=True)
    cr.manual_seed(2)  # the default's state does not matter: fit put its own in its place
    assert _losses(own=True) == first


def test_manual_seed_before_each_fit_makes_a_layer_drawing_from_the_default_reproducible():
    assert _losses(own=False, manual_seed=5) == _losses(own=False, manual_seed=5)
