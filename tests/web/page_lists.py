"""What the explorer's lists must hold, read from the library's own tables at call time (so a
test's monkeypatch of a table is seen): the oracles of the page's tests in this folder and of
the notebook widget's (tests/notebook puts this folder on ``sys.path`` to import it), and the
browser page's options as it shows them."""

from __future__ import annotations

from chainrule.explainer import bugs as explainer_bugs
from chainrule.nn import losses as library
from chainrule.web import network as web_network
from chainrule.web import training


def library_losses() -> list[dict]:
    """Each loss the page offers as its class says it: its name, the unit it applies itself to
    the logits (the page's top units must be that one; None: any), and whether its targets lie
    in [0, 1] (a loss that applies its own unit compares probabilities)."""
    classes = [library.LOSSES[name] for name in web_network.PAGE_LOSSES]
    return [
        {
            "name": cls.name,
            "top_units": cls.output_activation,
            "targets_in_unit_interval": cls.output_activation is not None,
        }
        for cls in classes
    ]


def server_optimizers() -> list[dict]:
    """The optimizers the page must offer: the training module's table, in its order."""
    return [
        {"name": name, "optimizer": c.optimizer, "settings": dict(c.settings)}
        for name, c in training.OPTIMIZERS.items()
    ]


def library_bugs() -> list[dict]:
    """The bugs the page must offer: the explainer's table, each name and title."""
    return [{"name": b.name, "title": b.title} for b in explainer_bugs.BUGS.values()]


def options(page, select: str) -> list[list[str]]:
    """The [value, text] of each option of the browser page's ``select``."""
    return page.eval_on_selector_all(
        f"#{select} option", "(os) => os.map((o) => [o.value, o.textContent])"
    )
