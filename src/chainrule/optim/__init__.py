"""chainrule.optim: optimizers that update parameters in place, and schedules between epochs.

>>> import chainrule as cr
>>> net = cr.nn.mlp([2, 2, 1], output="logistic", rng=0)
>>> opt = cr.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)    # RHW 1986 eq. 9
>>> E = cr.nn.SquaredError()(net([[0.0, 1.0]]), [[1.0]])
>>> opt.zero_grad(); E.backward()
>>> norm = cr.optim.clip_grad_norm_(net.parameters(), max_norm=1.0)   # PyTorch's, same contract
>>> opt.step()
"""

import typing as _typing

from chainrule._lazy import lazy_package
from chainrule.optim.base import Optimizer, register_optimizer
from chainrule.optim.clip import clip_grad_norm_, clip_grad_value_, grad_norm
from chainrule.optim.optimizers import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    RMSprop,
    from_config,
    from_name,
    lookup,
    names,
)
from chainrule.optim.schedules import (
    CosineLR,
    ExponentialLR,
    PiecewiseSchedule,
    Schedule,
    StepLR,
)

__all__ = [
    "OPTIMIZERS", "SGD", "Adam", "AdamW", "CosineLR", "ExponentialLR", "Optimizer",
    "PiecewiseSchedule", "RMSprop", "Schedule", "StepLR", "clip_grad_norm_", "clip_grad_value_",
    "from_config", "from_name", "grad_norm", "lookup", "names", "register_optimizer",
]  # fmt: skip

# submodules not imported above load on first use, and show in dir()
if not _typing.TYPE_CHECKING:  # checkers then flag a misspelt name
    __getattr__, __dir__ = lazy_package(__name__, __path__)
# what set the package up, not part of it (dir() is what tab completion offers)
del lazy_package, _typing
