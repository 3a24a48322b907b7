"""The OpenAPI document tells the truth: every answer of a walk through every route, the
successful ones included, validates against the response the document declares.

The schemathesis fuzz (tests/test_api_fuzz.py) mostly reaches refusals, because random
input rarely names real stock; this walk takes the real roads — receipts to reversals,
a dispatch request to its close, a release to its payment and reversal, the audit log —
and checks each answer (status, content type, body: types, patterns, nulls) with the
document's own schema, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from relief_inventory.stock import services as stock
from tests.factories import bearer, build_world
from tests.funds_factories import make_appropriation, make_source
from tests.spec_check import validate_answer

API = "/api/v1"


@pytest.fixture
def world(app):
    world = build_world(app.extensions["relief_engine"])
    with world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="SB", lines=[{"item": "TENT-12", "lot": "T-SB", "quantity": 60}])
    return world


@pytest.fixture
def call(app, client, world):
    """Send a request as a user and validate the answer against the document."""
    tokens: dict[str, dict[str, str]] = {}

    def send(method: str, path: str, who: str = "admin", status: int = 200, **kwargs: Any):
        if who not in tokens:
            tokens[who] = bearer(world, who)
        headers = {**tokens[who], **kwargs.pop("headers_extra", {})}
        response = client.open(API + path, method=method, headers=headers, **kwargs)
        assert response.status_code == status, (method, path, response.get_data(as_text=True))
        validate_answer(method, API + path, response)
        return response

    return send


def test_every_answer_of_the_stock_roads_is_as_documented(call):
    for path in ("/counties", "/categories", "/depots", "/items", "/me", "/stock/summary"):
        call("GET", path)
    today = date.today().isoformat()
    last_month = (date.today() - timedelta(days=30)).isoformat()
    receipt = {
        "depot": "ZX",
        "partner": "昆明帐篷厂",
        "lines": [
            {"item": "TENT-12", "lot": "T-1", "quantity": 40},
            {"item": "RICE-10", "lot": "R-1", "quantity": 60, "production_date": last_month},
        ],
    }
    key = {"Idempotency-Key": "receipt-0001"}
    first = call("POST", "/receipts", "keeper_zx", 201, json=receipt, headers_extra=key)
    number = first.json["number"]
    call("POST", "/receipts", "keeper_zx", 200, json=receipt, headers_extra=key)
    call("GET", "/stock?depot=ZX&include_zero=true&per_page=5")
    call("GET", "/documents?kind=receipt&page=1")
    call("GET", f"/documents/{number}")
    moved = call(
        "POST",
        "/transfers",
        "keeper_zx",
        201,
        json={
            "from_depot": "ZX",
            "to_depot": "SB",
            "authority_order": "楚应急调〔2025〕1号",
            "lines": [{"item": "TENT-12", "quantity": 5}],
        },
    ).json["number"]
    call("POST", f"/transfers/{moved}/complete", "keeper_sb")
    short = call(
        "POST",
        "/transfers",
        "keeper_zx",
        201,
        json={
            "from_depot": "ZX",
            "to_depot": "SB",
            "authority_order": "楚应急调〔2025〕2号",
            "lines": [{"item": "TENT-12", "quantity": 3}],
        },
    ).json["number"]
    arrival = {"lines": [{"item": "TENT-12", "received": 2, "damaged": 1}], "note": "一顶破损"}
    call("POST", f"/transfers/{short}/complete", "keeper_sb", json=arrival)
    issued = call(
        "POST",
        "/issues",
        "keeper_sb",
        201,
        json={
            "depot": "SB",
            "county": "532322",
            "lines": [{"item": "TENT-12", "lot": "T-SB", "owner": "532322", "quantity": 2}],
        },
    ).json["number"]
    scrap = call(
        "POST",
        "/scraps",
        "keeper_zx",
        201,
        json={
            "depot": "ZX",
            "reason": "霉变",
            "lines": [{"item": "RICE-10", "lot": "R-1", "quantity": 1}],
        },
    ).json["number"]
    call("POST", f"/scraps/{scrap}/approve", "keeper_zx2", json={})
    count = call(
        "POST",
        "/counts",
        "keeper_zx",
        201,
        json={
            "depot": "ZX",
            "lines": [{"item": "TENT-12", "lot": "T-1", "owner": "532300", "counted": 34}],
        },
    ).json["number"]
    call("POST", f"/counts/{count}/approve", "keeper_zx2")
    draft = call(
        "POST",
        "/scraps",
        "keeper_zx",
        201,
        json={
            "depot": "ZX",
            "reason": "破损",
            "lines": [{"item": "TENT-12", "lot": "T-1", "quantity": 1}],
        },
    ).json["number"]
    call("POST", f"/documents/{draft}/cancel", "keeper_zx", json={"reason": "录错"})
    call(
        "POST",
        "/rotations",
        "keeper_zx",
        201,
        json={
            "depot": "ZX",
            "out_lines": [{"item": "RICE-10", "lot": "R-1", "quantity": 5}],
            "in_lines": [
                {"item": "RICE-10", "lot": "R-2", "quantity": 5, "production_date": today}
            ],
        },
    )
    reversal = call(
        "POST", f"/documents/{issued}/reverse", "keeper_sb", 201, json={"reason": "数量录错"}
    ).json["number"]
    call("POST", f"/reversals/{reversal}/approve", "admin")
    call("GET", f"/documents/{issued}")
    rejected = call(
        "POST",
        "/scraps",
        "keeper_zx",
        201,
        json={
            "depot": "ZX",
            "reason": "破损",
            "lines": [{"item": "TENT-12", "lot": "T-1", "quantity": 1}],
        },
    ).json["number"]
    call("POST", f"/documents/{rejected}/reject", "keeper_zx2", json={"reason": "未见破损"})
    call(
        "POST",
        "/lots/status",
        "keeper_sb",
        json={"item": "TENT-12", "lot": "T-SB", "status": "quarantined", "reason": "待检"},
    )


def test_every_answer_of_the_dispatch_road_is_as_documented(call):
    filing = {
        "county": "532322",
        "disaster_type": "earthquake",
        "urgency": "urgent",
        "people_affected": 300,
        "reason": "地震",
        "submit": True,
        "lines": [{"item": "TENT-12", "quantity": 10}],
    }
    number = call("POST", "/dispatch-requests", "requester_sb", 201, json=filing).json["number"]
    call("GET", "/dispatch-requests?state=submitted&overdue=false", "requester_sb")
    call("GET", f"/dispatch-requests/{number}", "requester_sb")
    approve = {"note": "同意", "allocate": False}
    call("POST", f"/dispatch-requests/{number}/approve", "dispatcher", json=approve)
    call("POST", f"/dispatch-requests/{number}/allocate", "dispatcher")
    call("POST", f"/dispatch-requests/{number}/dispatch", "keeper_sb", json={})
    call(
        "POST",
        f"/dispatch-requests/{number}/receive",
        "requester_sb",
        json={"lines": [{"item": "TENT-12", "received": 9, "damaged": 1}], "note": "一顶破损"},
    )
    call("POST", f"/dispatch-requests/{number}/close", "dispatcher", json={"note": "结案"})
    call(
        "POST",
        f"/dispatch-requests/{number}/return",
        "keeper_sb",
        201,
        json={"depot": "SB", "lines": [{"item": "TENT-12", "lot": "T-SB", "available": 2}]},
    )
    draft = call(
        "POST", "/dispatch-requests", "requester_sb", 201, json={**filing, "submit": False}
    )
    call("POST", f"/dispatch-requests/{draft.json['number']}/submit", "requester_sb")
    call(
        "POST",
        f"/dispatch-requests/{draft.json['number']}/reject",
        "dispatcher",
        json={"reason": "重复申请"},
    )


def test_every_answer_of_the_funds_road_is_as_documented(call, world):
    source = call(
        "POST",
        "/funds/sources",
        "finance",
        201,
        json={
            "level": "central",
            "kind": "winter_spring",
            "year": 2024,
            "document_number": "云财社〔2024〕12号",
            "amount": "1000000.00",
            "issued_on": "2024-01-12",
        },
    ).json["number"]
    appropriation = call(
        "POST",
        "/funds/appropriations",
        "finance",
        201,
        json={
            "source": source,
            "county": "532322",
            "document_number": "楚财社〔2024〕1号",
            "amount": "5000",
        },
    ).json["number"]
    release = call(
        "POST",
        "/funds/releases",
        "requester_sb",
        201,
        json={
            "appropriation": appropriation,
            "purpose": "living_aid",
            "amount": "1200.50",
            "beneficiaries": 6,
            "evidence": "花名册",
            "submit": True,
        },
    ).json["number"]
    call("POST", f"/funds/releases/{release}/verify", "finance", json={"note": "已核对"})
    call("POST", f"/funds/releases/{release}/approve", "finance2")
    call("GET", f"/funds/appropriations/{appropriation}", "finance")
    call(
        "POST", f"/funds/releases/{release}/release", "finance", json={"payment_reference": "0012"}
    )
    proposal = call(
        "POST", f"/funds/releases/{release}/reverse", "finance2", 201, json={"reason": "重复拨付"}
    ).json["number"]
    call("GET", "/funds/reversals", "finance")
    call("POST", f"/funds/reversals/{proposal}/approve", "admin")
    call("GET", f"/funds/reversals/{proposal}", "finance")
    other = make_appropriation(world, make_source(world))
    draft = call(
        "POST",
        "/funds/releases",
        "requester_sb",
        201,
        json={"appropriation": other, "purpose": "materials", "amount": "10"},
    ).json["number"]
    call("POST", f"/funds/releases/{draft}/reject", "requester_sb", json={"reason": "撤回"})
    for path in (
        "/funds/sources?year=2024",
        f"/funds/sources/{source}",
        "/funds/appropriations?county=532322",
        f"/funds/appropriations/{appropriation}/trace",
        "/funds/releases?waiting=true",
        f"/funds/releases/{release}",
        "/funds/reversals",
        "/funds/summary?year=2024",
        "/funds/summary",
        "/funds/trace?item=TENT-12&lot=T-SB",
    ):
        call("GET", path, "finance")


def test_every_answer_of_the_audit_log_and_the_errors_is_as_documented(call):
    call("GET", "/audit?per_page=5", "auditor")
    call("GET", "/audit?entity_type=lot&item=TENT-12", "auditor")
    call("GET", "/audit/head", "auditor")
    call("GET", "/audit/verify?chain_only=true", "auditor")
    call("GET", "/audit/export.csv?item=TENT-12&lot=T-SB", "auditor")
    call("GET", "/audit", "keeper_sb", 403)
    call("GET", "/documents/RK-2020-999999", "auditor", 404)
    call("GET", "/stock?colour=green", "auditor", 422)
    call("POST", "/receipts", "keeper_sb", 415, data="depot=SB", content_type="text/plain")
    call("POST", "/receipts", "keeper_sb", 400, data="{", content_type="application/json")
    call("POST", "/funds/sources", "finance", 422, json={"amount": 100})
    call("DELETE", "/stock", "auditor", 405)
