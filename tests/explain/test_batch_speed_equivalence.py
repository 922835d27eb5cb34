"""The JSON document of a many-case derivation, written all cases at once (each sum's terms as
text on one line), is the very document json writes for :func:`to_dict`, and its numbers are the
derivation's own per-case ones and an independent autograd's.

Oracles: ``json.dumps(to_dict(d))`` (the plain writer, byte for byte), the Derivation's per-case
accessors (``terms``, ``sum_over_j``, ``dE_dy``, ``dE_dw``), and torch autograd on the same
weights; a sum's total also against central finite differences of the model's own E."""

from __future__ import annotations

import json

import numpy as np
import pytest
from explain_cases import parallel_case

import chainrule as cr
from chainrule import nn
from chainrule.explainer import ExplainError, explain, to_dict, to_json


def _mlp_case(dtype: str = "float64", cases: int = 3):
    model = nn.mlp([6, 5, 4], activation="logistic", output="logistic", dtype=dtype, rng=0)
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (cases, 6))
    t = np.eye(4)[rng.integers(0, 4, cases)]
    return model, x, t


DERIVATIONS = {
    "float32 mlp, 4 cases": lambda: explain(*_mlp_case("float32", cases=4), perturbation=False),
    "float64 mlp, 3 cases": lambda: explain(*_mlp_case()),
    "parallel, 2 cases": lambda: explain(*parallel_case()),
    "seed network": lambda: explain(symbolic=True),
}


@pytest.mark.parametrize("name", list(DERIVATIONS))
def test_one_line_and_indented_documents_are_jsons_own_text_of_to_dict(name):
    d = DERIVATIONS[name]()
    document = to_dict(d)
    assert to_json(d, indent=None) == json.dumps(document, allow_nan=False)
    assert to_json(d) == json.dumps(document, indent=2, allow_nan=False)


def test_a_string_holding_the_placeholder_changes_nothing():
    """A note that holds the text the terms' place is marked with (a NUL-framed word) is written
    as it is, and the terms where they belong."""
    d = explain(*_mlp_case())
    d.notes.append("\x00terms\x00")
    assert to_json(d, indent=None) == json.dumps(to_dict(d), allow_nan=False)
    assert json.loads(to_json(d, indent=None))["notes"][-1] == "\x00terms\x00"


def test_every_cases_sum_is_the_derivations_own_per_case_sum():
    for d in (explain(*_mlp_case("float32", cases=4)), explain(*parallel_case())):
        document = json.loads(to_json(d, indent=None))
        for k, layer in enumerate(document["layers"][:-1]):
            for i, unit in enumerate(layer["units"]):
                for c, sum_ in enumerate(unit["sum"]):
                    terms = d.terms(k, i, c)
                    assert sum_["terms"] == [
                        {"j": term.j, "w": term.w, "dE_dz": term.dE_dz, "product": term.product}
                        for term in terms
                    ]
                    assert sum_["total"] == d.sum_over_j(k, i, c)
                    assert sum_["engine"] == d.dE_dy(k, i, c).value
                    assert unit["dE_dy"][c] == d.dE_dy(k, i, c).to_dict()
        for below, conn in enumerate(document["connections"]):
            for weight in conn["weights"]:
                assert weight["dE_dw"] == d.dE_dw(below, weight["i"], weight["j"]).to_dict()


def test_the_sums_numbers_are_torch_autograds_and_finite_differences(torch):
    model, x, t = _mlp_case()
    d = explain(model, x, t)
    document = json.loads(to_json(d, indent=None))
    (w0, b0), (w1, b1) = [(torch.tensor(m.weight.numpy()), torch.tensor(m.bias.numpy()))
                          for m in (model[0], model[2])]  # fmt: skip
    y0 = torch.tensor(x, requires_grad=True)
    z1 = y0 @ w0 + b0
    y1 = torch.sigmoid(z1)
    z2 = y1 @ w1 + b1
    for value in (z1, y1, z2):
        value.retain_grad()
    (0.5 * ((torch.tensor(t) - torch.sigmoid(z2)) ** 2).sum()).backward()
    sums = [(0, y0.grad, w0, z1.grad), (1, y1.grad, w1, z2.grad)]
    for k, dE_dy, weight, dE_dz in sums:
        for i, unit in enumerate(document["layers"][k]["units"]):
            for c, sum_ in enumerate(unit["sum"]):
                assert [term["w"] for term in sum_["terms"]] == weight[i].tolist()
                np.testing.assert_allclose(
                    [term["dE_dz"] for term in sum_["terms"]], dE_dz[c].numpy(), rtol=1e-12
                )
                assert sum_["total"] == pytest.approx(dE_dy[c, i].item(), rel=1e-10, abs=1e-15)

    def error(inputs: np.ndarray) -> float:
        return nn.SquaredError()(model(cr.tensor(inputs)), cr.tensor(t)).item()

    h = 1e-6
    for c, i in [(0, 0), (2, 5), (1, 3)]:
        step = np.zeros_like(x)
        step[c, i] = h
        numeric = (error(x + step) - error(x - step)) / (2 * h)
        total = document["layers"][0]["units"][i]["sum"][c]["total"]
        assert total == pytest.approx(numeric, rel=1e-6, abs=1e-10)


def test_a_term_that_overflows_is_refused_on_one_line_as_when_indented():
    """A product w_ij dE/dz_j past float64's range (its w and dE/dz finite) is named as
    overflow, not written as the invalid JSON number 'inf'."""
    d = explain(*_mlp_case(), check=False)
    d.connections[0].weight[0, 0] = 1e300
    d.layers[1].dE_dz[0, 0] = 1e10
    for indent in (None, 2):
        with pytest.raises(ExplainError, match="overflowed"):
            to_json(d, indent=indent)
