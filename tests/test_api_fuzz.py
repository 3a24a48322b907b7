"""Schemathesis against the whole OpenAPI document: no request may cause a server error,
and every answer is what the document says it is.

The operations come from the spec the app serves, so every blueprint registered in
api/blueprints.py is fuzzed without listing it here: one test per operation. The spec is
read at collection time from an app whose database is never opened (building the
document needs none); each test then sends its cases to the ``app`` fixture's app, whose
database holds a small world with a little stock, with an admin token, so requests get
past authentication into validation, the services and the ledger.

Checked on every answer: no 5xx; a status, content type, headers and body the document
declares (``response_schema_conformance``: the error shape, amounts and coordinates as
strings with their patterns, nulls declared); input the document says is invalid refused
(``negative_data_rejection``: schemathesis also sends negative cases, e.g. a body for an
action that takes none, an amount that breaks the pattern); and every error message in
Chinese. The bodies of every action endpoint are in the document, so they are fuzzed too.

SQLite only: the point is the API's input handling, which the PostgreSQL runs of the
other tests cover. (schemathesis's lazy ``from_fixture`` loader does not run on pytest 9,
hence the eager schema.)
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from relief_inventory.app import create_app
from relief_inventory.config import Settings
from relief_inventory.timeutil import local_today
from tests.factories import bearer, build_world, receive_basic

SPEC_APP = create_app(Settings.from_env(database_url="sqlite://"))
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", SPEC_APP)
# The bearer token is sent with every case (an admin's, below): schemathesis must not also
# generate, drop or mangle it, or a "negative" case would be one only in its own eyes.
schema.config.generation.update(with_security_parameters=False)

# Codes of the test world (tests/factories.py), by the field names that carry them. Random
# strings almost never name a real depot or item, so without these the fuzzer would stop at
# 404s; with them some requests reach the services and the ledger.
DEPOTS = ("ZX", "SB", "YR")
KNOWN_CODES: dict[str, tuple[str, ...]] = {
    "depot": DEPOTS,
    "from_depot": DEPOTS,
    "to_depot": DEPOTS,
    "item": ("TENT-12", "RICE-10", "GEN-5"),
    "category": ("TENT", "FOOD"),
    "county": ("532301", "532322", "532327"),
    "owner": ("532300", "CN", "532322"),
    "lot": ("T-ZX-1", "R-ZX-1"),
    "number": (f"RK-{local_today().year}-000001",),
}


def with_known_codes(value: Any, name: str | None = None) -> st.SearchStrategy[Any]:
    """The generated value, or (for a code-named field, at any depth) a real code."""
    if isinstance(value, dict):
        return st.fixed_dictionaries({k: with_known_codes(v, k) for k, v in value.items()})
    if isinstance(value, list):
        return st.tuples(*(with_known_codes(v) for v in value)).map(list)
    # Only a value that could be a code is swapped (1–32 characters): a negative case (an
    # empty or an overlong text) stays negative, or schemathesis would call it accepted.
    if name in KNOWN_CODES and isinstance(value, str) and 0 < len(value) <= 32:
        return st.one_of(st.just(value), st.sampled_from(KNOWN_CODES[name]))
    return st.just(value)


@schema.hook
def flatmap_body(_context: Any, body: Any) -> st.SearchStrategy[Any]:
    return with_known_codes(body)


@schema.hook
def flatmap_query(_context: Any, query: Any) -> st.SearchStrategy[Any]:
    return with_known_codes(query)


@schema.hook
def flatmap_path_parameters(_context: Any, parameters: Any) -> st.SearchStrategy[Any]:
    return with_known_codes(parameters)


CJK = re.compile("[\u4e00-\u9fff]")


@schemathesis.check
def errors_in_chinese(_ctx: Any, response: Any, _case: Any) -> bool | None:
    """Every error, the framework's included, speaks the staff's language."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert CJK.search(body["message"]), body
    for messages in body["errors"].values():
        assert all(CJK.search(m) for m in messages), body
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    errors_in_chinese,
]


@pytest.fixture
def world(app):
    world = build_world(app.extensions["relief_engine"])
    receive_basic(world, 50)
    return world


@pytest.fixture
def admin_headers(world):
    return bearer(world, "admin")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_no_request_causes_a_server_error(case, app, admin_headers):
    case.call_and_validate(app=app, headers=admin_headers, checks=CHECKS)
