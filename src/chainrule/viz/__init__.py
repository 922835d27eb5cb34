"""Pictures of networks and training: curves, computation graphs, unit diagrams.

Each module is imported on first use (``cr.viz.curves.plot_history``), so matplotlib and
graphviz load only when a picture is drawn.
"""

from chainrule._lazy import lazy_package

__getattr__, __dir__ = lazy_package(__name__, __path__)
del lazy_package  # what set the package up, not part of it (dir() is what tab completion offers)
