"""``cr.viz.network.diagram`` (and ``network_svg``, ``save_network_svg``) draw a Derivation;
given the model itself they raised "'Siamese' object has no attribute 'n_cases'". Anything
else is now a TypeError naming what was given and saying to explain the network first (QA s70).

Oracle: the diagram of ``cr.explain(model, ...)`` of the same model is drawn."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.viz.network import diagram, network_svg, save_network_svg


class Siamese(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.mlp([2, 3, 1], rng=0)

    def forward(self, x):
        return cr.concatenate([self.enc(x[:, :2]), self.enc(x[:, 2:])], axis=1)


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (Siamese(), "Siamese"),
        (nn.mlp([2, 3, 1], rng=0), "chainrule.nn.Sequential"),
        (None, "NoneType"),
    ],  # fmt: skip
)
@pytest.mark.parametrize("function", ["diagram", "network_svg", "save_network_svg"])
def test_a_diagram_of_anything_but_a_derivation_says_what_it_takes(
    given, named, function, tmp_path
):
    path = tmp_path / "net.svg"
    calls = {
        "diagram": lambda: diagram(given),
        "network_svg": lambda: network_svg(given),
        "save_network_svg": lambda: save_network_svg(given, path),
    }
    with pytest.raises(TypeError) as refusal:
        calls[function]()
    said = str(refusal.value)
    assert said.startswith(f"{function}: d must be a Derivation"), said
    assert f"{named};" in said, said  # what was given, by name
    assert "cr.explain(model, x, t, loss)" in said, said
    assert not path.exists()


def test_the_explained_model_is_drawn():
    net = nn.mlp([2, 3, 1], rng=0, output="logistic", dtype=np.float64)
    d = cr.explain(net, np.array([[0.5, -1.0]]), np.array([[1.0]]), check=False)
    assert "<svg" in diagram(d).svg
