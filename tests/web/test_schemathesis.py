"""The explorer's API fuzzed from its own OpenAPI document by schemathesis (in-process ASGI, a
fixed seed): whatever the generated request, valid or not, the answer is never a 5xx, conforms
to the document (status code, content type, body schema), and a request the document allows is
accepted while one it forbids is refused.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from chainrule.web import create_app  # noqa: E402
from chainrule.web.app import LOCAL_HOSTS  # noqa: E402

#: Examples per operation in the default run: 100 for the operations that answer in about a
#: millisecond (most of their time is hypothesis drawing the requests), 30 for those that derive
#: a network per request (its forward and backward passes, finite differences and views: some
#: 0.1 s each, which made 100 examples of the nine over a minute of one core, a tenth of the
#: default run). The slow run (``pytest -m slow``) sends 1000 to every operation.
EXAMPLES = 100
DERIVING_EXAMPLES = 30
SLOW_EXAMPLES = 1000

#: The operations that derive a network per request (see DERIVING_EXAMPLES).
DERIVING = [
    "/api/derivation",
    "/api/views",
    "/api/backward",
    "/api/paths",
    "/api/bug",
    "/api/nudge",
    "/api/export",
    "/api/gradcheck",
    "/api/network/new",
]

# schemathesis's ASGI client says "Host: testserver"; the Host check has its own tests
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(allowed_hosts=[*LOCAL_HOSTS, "testserver"])
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
#: Operations whose every schema-valid body must be accepted. The others also check what JSON
#: Schema cannot say (that weights[l] has shape sizes[l] x sizes[l+1], that a loss fits its output
#: units, that a run's layers, the dataset's and ``hidden``, have few enough connections), so a
#: schema-valid body may rightly be a 422 there.
FULLY_DESCRIBED = {
    "/api/train/step",
    "/api/train/reset",
    "/api/seed",
    "/api/losses",
    "/api/units",
    "/api/datasets",
    "/api/optimizers",
    "/api/bugs",
}


def fixed(examples: int):
    return settings(
        max_examples=examples,
        derandomize=True,  # a fixed seed: the same requests on every run
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def check(case) -> None:
    extra = [positive_data_acceptance] if case.operation.path in FULLY_DESCRIBED else []
    case.call_and_validate(checks=[*CHECKS, *extra])


@schema.exclude(path=DERIVING).parametrize()
@fixed(EXAMPLES)
def test_api_conforms_to_its_openapi_document(case):
    check(case)


@schema.include(path=DERIVING).parametrize()
@fixed(DERIVING_EXAMPLES)
def test_the_deriving_api_conforms_to_its_openapi_document(case):
    check(case)


def test_every_deriving_operation_is_one_of_the_documents():
    """DERIVING names operations the document has (a renamed path would drop out of both
    default tests silently)."""
    paths = {result.ok().path for result in schema.get_all_operations()}
    assert set(DERIVING) <= paths, set(DERIVING) - paths


@pytest.mark.slow
@schema.parametrize()
@fixed(SLOW_EXAMPLES)
def test_api_conforms_to_its_openapi_document_at_length(case):
    check(case)
