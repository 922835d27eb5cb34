"""The explainer JSON's schema_version (s67): ``loss.written_out`` (a loss of the user's own,
whose ``name`` is none of chainrule's) changed what a document may mean, and schema_version
stayed 1; it is 2, in the document, schema.json's ``const`` and its ``$id``."""

from __future__ import annotations

import json

import numpy as np

from chainrule import nn
from chainrule.explainer import explain
from chainrule.explainer.serialize import SCHEMA_ID, schema, to_json


def test_the_document_and_the_schema_say_version_2():
    model = nn.mlp([2, 2, 3], output="logistic", rng=0)
    d = explain(model, np.array([[0.5, -1.0]]), np.array([[0.0, 1.0, 0.0]]), symbolic=False)
    document = json.loads(to_json(d))
    assert document["schema_version"] == 2
    assert schema()["properties"]["schema_version"]["const"] == 2
    assert schema()["$id"] == SCHEMA_ID == "https://chainrule.dev/schemas/derivation-2.json"
