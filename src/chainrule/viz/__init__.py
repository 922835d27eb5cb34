"""Pictures of networks and training: curves, computation graphs, unit diagrams.

Each module is imported on first use (``cr.viz.curves.plot_history``), so matplotlib and
graphviz load only when a picture is drawn.
"""

import typing as _typing

from chainrule._lazy import lazy_package

if _typing.TYPE_CHECKING:  # the submodules read on first use, for type checkers
    from chainrule.viz import curves as curves
    from chainrule.viz import graph as graph
    from chainrule.viz import network as network
    from chainrule.viz import paths as paths
    from chainrule.viz import style as style
    from chainrule.viz import weights as weights
else:  # (checkers see no module __getattr__: a misspelt name is flagged)
    __getattr__, __dir__ = lazy_package(__name__, __path__)
# what set the package up, not part of it (dir() is what tab completion offers)
del lazy_package, _typing
