"""Every action endpoint of the stock and funds APIs under hostile and near-valid bodies,
on SQLite and PostgreSQL (the dispatch actions have tests/test_dispatch_fuzz.py).

Documents exist in every state (a transfer in transit, draft write-offs and counts, done
receipts, releases from draft to paid, a source and an appropriation), users of every role
act on them with bodies mutated from valid ones (unknown fields, wrong types, hostile
text), hostile numbers and stray query parameters. Each answer must be below 500, be what
the OpenAPI document declares, speak Chinese when it is an error, and a refusal must write
nothing (the only entry it may leave is the log's own ``refused`` security entry).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.funds import services as funds
from relief_inventory.stock import services as stock
from tests.factories import bearer, build_world
from tests.funds_factories import (
    file_release,
    make_appropriation,
    make_source,
    pay,
    verify_and_approve,
)
from tests.spec_check import validate_answer
from tests.test_dispatch_fuzz import hostile_numbers, mutated

API = "/api/v1"
USERS = (
    "admin",
    "keeper_zx",
    "keeper_zx2",
    "keeper_sb",
    "finance",
    "finance2",
    "requester_sb",
    "auditor",
)
# action path -> (which documents it acts on, the template of a valid body or None)
ACTIONS: dict[str, tuple[str, object]] = {
    "/transfers/{}/complete": ("stock", {}),
    "/scraps/{}/approve": ("stock", {}),
    "/counts/{}/approve": ("stock", {}),
    "/documents/{}/reverse": ("stock", {"reason": "数量录错"}),
    "/documents/{}/cancel": ("stock", {"reason": "撤回"}),
    "/funds/releases/{}/submit": ("release", {}),
    "/funds/releases/{}/verify": ("release", {"note": "已核对花名册"}),
    "/funds/releases/{}/approve": ("release", {}),
    "/funds/releases/{}/release": ("release", {"payment_reference": "国库支付 001"}),
    "/funds/releases/{}/reject": ("release", {"reason": "材料不全"}),
    "/funds/releases/{}/reverse": ("release", {"reason": "重复拨付"}),
    "/funds/sources/{}/reverse": ("source", {"reason": "录错"}),
    "/funds/appropriations/{}/reverse": ("appropriation", {"reason": "录错"}),
    "/lots/status": (
        "",
        {"item": "TENT-12", "lot": "T-ZX", "status": "quarantined", "reason": "待检"},
    ),
}


@pytest.fixture
def setting(app):
    """Documents in every state, and a token per role."""
    world = build_world(app.extensions["relief_engine"])
    numbers: dict[str, list[str]] = {"stock": [], "release": [], "source": [], "appropriation": []}
    lines = [{"item": "TENT-12", "lot": "T-ZX", "quantity": 2}]
    with world.uow("keeper_zx") as uow:
        receipt = stock.receive(
            uow,
            depot="ZX",
            lines=[
                {"item": "TENT-12", "lot": "T-ZX", "quantity": 80},
                {"item": "TENT-12", "lot": "T-ZX-C", "quantity": 10},
            ],
        )
        numbers["stock"].append(receipt.number)
        numbers["stock"].append(
            stock.transfer(
                uow, from_depot="ZX", to_depot="SB", authority_order="调令 1", lines=lines
            ).number
        )
        numbers["stock"].append(
            stock.propose_scrap(uow, depot="ZX", reason="破损", lines=lines).number
        )
        numbers["stock"].append(
            stock.propose_count(
                uow,
                depot="ZX",
                lines=[{"item": "TENT-12", "lot": "T-ZX-C", "owner": "532300", "counted": 8}],
            ).number
        )
    source = make_source(world)
    appropriation = make_appropriation(world, source)
    numbers["source"] = [source, make_source(world)]
    numbers["appropriation"] = [appropriation, make_appropriation(world, source, "10.00")]
    submitted = [file_release(world, appropriation, "100.00") for _ in range(4)]
    with world.uow("requester_sb") as uow:
        draft = funds.create_release(
            uow, appropriation=appropriation, purpose="living_aid", amount="5.00", beneficiaries=1
        ).number
    verify_and_approve(world, submitted[1])
    verify_and_approve(world, submitted[2])
    pay(world, submitted[2])
    with world.uow("finance") as uow:
        funds.verify(uow, submitted[3], note="已核对")
    numbers["release"] = [draft, *submitted]
    return numbers, {user: bearer(world, user) for user in USERS}


def writes(engine) -> int:
    """Entries other than refusals: each write leaves at least one."""
    with Session(engine) as session:
        return int(
            session.scalar(select(func.count(AuditEntry.seq)).where(AuditEntry.action != "refused"))
            or 0
        )


@settings(max_examples=250, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_action_endpoints_refuse_cleanly_and_a_refusal_writes_nothing(client, app, setting, data):
    numbers, tokens = setting
    engine = app.extensions["relief_engine"]
    action = data.draw(st.sampled_from(sorted(ACTIONS)), label="action")
    kind, template = ACTIONS[action]
    user = data.draw(st.sampled_from(USERS), label="user")
    if kind:
        real = st.sampled_from(numbers[kind])
        number = data.draw(st.integers(0, 7).flatmap(lambda n: hostile_numbers if n == 0 else real))
        path = API + action.format(number)
    else:
        path = API + action
    body = data.draw(mutated(template), label="body")
    query = data.draw(st.sampled_from(["", "", "", "?force=true", "?page=1"]), label="query")
    before = writes(engine)
    response = client.post(
        path + query, data=json.dumps(body), content_type="application/json", headers=tokens[user]
    )
    assert response.status_code < 500, (path, body, response.get_data(as_text=True))
    validate_answer("POST", path, response)
    if response.status_code >= 400:
        assert writes(engine) == before, (path, body, response.json)
