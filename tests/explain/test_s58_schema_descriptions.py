"""QA s58: the JSON schema described some of its fields and not others (the symbolic proof's
`E`, `derivative` and `sum_form` among them, though a reader of the JSON most needs to know
which of them sympy can read back). Every property now has a description; the walk below keeps
it so."""

from typing import Any

from chainrule.explainer import schema


def _properties(node: Any, where: str = "#"):
    """Every (location, name, subschema) under a "properties" keyword, at any depth."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{where}/properties/{name}", name, sub
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for k, value in enumerate(node):
            yield from _properties(value, f"{where}/{k}")


def test_every_property_of_the_schema_has_a_description():
    found = list(_properties(schema()))
    assert len(found) > 150  # the walk reaches $defs, oneOf branches and array items
    missing = [
        where
        for where, _, sub in found
        if not (isinstance(sub.get("description"), str) and sub["description"].strip())
    ]
    assert not missing, missing


def test_the_symbolic_fields_say_which_of_them_sympy_reads_back():
    symbolic = schema()["$defs"]["symbolic"]["properties"]
    assert "sympy.sympify reads it back" in symbolic["derivative"]["description"]
    assert "sympy.sympify reads back" in symbolic["E"]["description"]
    assert "not parsing" in symbolic["sum_form"]["description"]
