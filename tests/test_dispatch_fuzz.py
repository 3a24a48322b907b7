"""No input to the dispatch endpoints may cause a server error, on SQLite or PostgreSQL,
and every answer is what the OpenAPI document declares.

Beside the schemathesis run over the whole spec (tests/test_api_fuzz.py), this throws
arbitrary JSON and mutated near-valid bodies, hostile numbers and headers at every dispatch
endpoint, as users of every role, against requests that exist in every state, so the
services' state and permission checks are reached, not only the schemas. Each answer is
validated against the document's response schema (tests/spec_check.py), and a refused
request leaves the audit log where it was: a refusal changes nothing (except the log's
own ``refused`` entry for a role or scope refusal).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation import shipping
from relief_inventory.stock import services as stock
from tests.factories import bearer, build_world, file_dispatch_request
from tests.spec_check import validate_answer

BASE = "/api/v1/dispatch-requests"
USERS = ("admin", "dispatcher", "dispatcher2", "keeper_sb", "requester_sb", "auditor")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["TENT-12", "RICE-10", "SB", "ZX", "532322", "T-SB", "\x00", "\ud800"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)


def sometimes(strategy: st.SearchStrategy[object], usual: object) -> st.SearchStrategy[object]:
    """Mostly the usual value, one time in eight ``strategy``: near-valid input gets past
    the schema into the services."""
    return st.integers(0, 7).flatmap(lambda n: strategy if n == 0 else st.just(usual))


def mutated(template: object) -> st.SearchStrategy[object]:
    """The template, with any value (at any depth) possibly replaced by arbitrary JSON."""
    if isinstance(template, dict):
        fields = st.fixed_dictionaries({k: mutated(v) for k, v in template.items()})
        return st.integers(0, 7).flatmap(lambda n: json_values if n == 0 else fields)
    if isinstance(template, list):
        items = st.lists(mutated(template[0]), max_size=3)
        return st.integers(0, 7).flatmap(lambda n: json_values if n == 0 else items)
    return sometimes(json_values, template)


TEMPLATES = {
    "": {
        "county": "532322",
        "disaster_type": "earthquake",
        "urgency": "critical",
        "people_affected": 100,
        "reason": "地震",
        "submit": True,
        "lines": [{"item": "TENT-12", "quantity": 3}],
    },
    "submit": {},
    "approve": {
        "allocate": True,
        "allow_other_counties": False,
        "emergency_response": "Ⅳ级响应",
        "note": "",
    },
    "allocate": {"allow_other_counties": True},
    "reject": {"reason": "重复"},
    "cancel": {"reason": "撤回"},
    "dispatch": {"depot": "SB"},
    "receive": {"lines": [{"item": "TENT-12", "received": 2, "damaged": 1}], "note": "破损"},
    "countersign": {"note": "补签"},
    "close": {"note": "结案"},
    "return": {
        "depot": "SB",
        "lines": [{"item": "TENT-12", "lot": "T-SB", "available": 1, "damaged": 0, "scrap": 0}],
        "note": "",
    },
}


@pytest.fixture
def setting(app):
    """Requests in every state, and a token per role."""
    world = build_world(app.extensions["relief_engine"])
    with world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="SB", lines=[{"item": "TENT-12", "lot": "T-SB", "quantity": 60}])
    tents = [{"item": "TENT-12", "quantity": 5}]
    numbers = [file_dispatch_request(world, tents, submit=False)]  # draft
    numbers.append(file_dispatch_request(world, tents, urgency="critical"))  # submitted
    for stage in ("allocated", "dispatched", "received"):
        number = file_dispatch_request(world, tents)
        with world.uow("dispatcher") as uow:
            dispatch.approve(uow, number)
        if stage != "allocated":
            with world.uow("keeper_sb") as uow:
                shipping.dispatch(uow, number)
        if stage == "received":
            with world.uow("requester_sb") as uow:
                shipping.receive(uow, number, lines=[{"item": "TENT-12", "received": 5}])
        numbers.append(number)
    return numbers, {user: bearer(world, user) for user in USERS}


hostile_numbers = st.text(max_size=30).filter(
    lambda s: "/" not in s and "?" not in s and "#" not in s
)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_dispatch_endpoints_never_answer_500(client, setting, data):
    numbers, tokens = setting
    action = data.draw(st.sampled_from(sorted(TEMPLATES)), label="action")
    user = data.draw(st.sampled_from(USERS), label="user")
    headers = dict(tokens[user])
    if action == "":
        path = BASE
        key = data.draw(st.none() | st.text(max_size=140), label="key")
        if key is not None:
            raw = key.encode("utf-8", "surrogatepass").decode("latin-1")
            headers["Idempotency-Key"] = raw.replace("\r", "").replace("\n", "")
    else:
        real = st.sampled_from(numbers)
        number = data.draw(st.integers(0, 7).flatmap(lambda n: hostile_numbers if n == 0 else real))
        path = f"{BASE}/{number}/{action}"
    body = data.draw(mutated(TEMPLATES[action]), label="body")
    response = client.post(
        path, data=json.dumps(body), content_type="application/json", headers=headers
    )
    assert response.status_code < 500, (path, body, response.get_data(as_text=True))
    validate_answer("POST", path, response)
    query = data.draw(
        st.dictionaries(
            st.sampled_from(["state", "county", "overdue", "page", "per_page", "x"]),
            st.text(max_size=12) | st.integers(-(2**40), 2**40).map(str),
            max_size=4,
        ),
        label="query",
    )
    listed = client.get(BASE, query_string=query, headers=headers)
    assert listed.status_code < 500, (query, listed.get_data(as_text=True))
    validate_answer("GET", BASE, listed)
