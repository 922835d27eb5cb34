"""Training networks: the fit loop, callbacks, history, metrics.

>>> import chainrule as cr                                                # doctest: +SKIP
>>> ds = cr.data.xor()                                                    # doctest: +SKIP
>>> net = cr.nn.mlp([2, 2, 1], output="logistic", rng=0)                  # doctest: +SKIP
>>> opt = cr.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)            # doctest: +SKIP
>>> history = cr.train.fit(net, cr.nn.SquaredError(), opt, ds, epochs=1000, progress=False)
... # doctest: +SKIP
>>> history.last["accuracy"]                                              # doctest: +SKIP
1.0

See docs/training.md for the command line (``chainrule train``), checkpoints and model files.
"""

import typing as _typing

from chainrule._lazy import lazy_package
from chainrule.train.callbacks import (
    Callback,
    ClipGradNorm,
    EarlyStopping,
    EpochPrinter,
    ProgressBar,
)
from chainrule.train.history import History
from chainrule.train.metrics import accuracy, decision_threshold, evaluate, predict, target_array
from chainrule.train.trainer import Trainer, TrainingDiverged, fit

__all__ = [
    "Callback",
    "ClipGradNorm",
    "EarlyStopping",
    "EpochPrinter",
    "History",
    "ProgressBar",
    "Trainer",
    "TrainingDiverged",
    "accuracy",
    "decision_threshold",
    "evaluate",
    "fit",
    "predict",
    "target_array",
]

# submodules not imported above load on first use, and show in dir()
if _typing.TYPE_CHECKING:  # the submodules read on first use, for type checkers
    from chainrule.train import family_trees as family_trees
    from chainrule.train import runs as runs
else:  # (checkers see no module __getattr__: a misspelt name is flagged)
    __getattr__, __dir__ = lazy_package(__name__, __path__)
# what set the package up, not part of it (dir() is what tab completion offers)
del lazy_package, _typing
