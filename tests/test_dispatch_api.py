"""The dispatch API end to end: a county files, a dispatcher approves, keepers dispatch, the
county confirms receipt with a shortfall; stock, reservations, audit and times at each step.
Then the error statuses: 401, 403, 404, 409, 422, never 500."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation.check import check_reservations
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.verify import verify
from relief_inventory.stock import services as stock
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.models import Quant
from relief_inventory.stock.queries import depot_item_on_hand
from relief_inventory.warehouse.models import Location
from tests.factories import bearer, build_world, file_dispatch_request

BASE = "/api/v1/dispatch-requests"
FILING = {
    "county": "532322",
    "disaster_type": "earthquake",
    "urgency": "urgent",
    "people_affected": 3200,
    "reason": "5.0级地震，房屋受损，需转移安置群众",
    "submit": True,
    "lines": [{"item": "TENT-12", "quantity": 50}],
}


@pytest.fixture
def world(app):
    world = build_world(app.extensions["relief_engine"])
    with world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="SB", lines=[{"item": "TENT-12", "lot": "T-SB", "quantity": 30}])
    with world.uow("keeper_zx") as uow:
        stock.receive(uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "T-ZX", "quantity": 100}])
    return world


@pytest.fixture
def engine(app):
    return app.extensions["relief_engine"]


@pytest.fixture
def tokens(world):
    names = ("requester_sb", "dispatcher", "dispatcher2", "keeper_sb", "keeper_zx", "auditor")
    return {name: bearer(world, name) for name in names}


def on_hand(engine, depot: str) -> int:
    with Session(engine) as session:
        return depot_item_on_hand(session, depot, "TENT-12")


def reserved(engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.coalesce(func.sum(Quant.reserved), 0))))


def in_transit(engine) -> int:
    with Session(engine) as session:
        transit = session.scalar(select(Location.id).where(Location.code == "VIRT-TRANSIT"))
        total = session.scalar(select(func.sum(Quant.on_hand)).where(Quant.location_id == transit))
        return int(total or 0)


def audit_actions(engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def books_balance(engine) -> bool:
    with Session(engine) as session:
        return not check_quants(session) and not check_reservations(session) and verify(session).ok


def test_request_to_receipt_end_to_end(client, tokens, engine):
    # The county files the request; a retried POST with the same key is not a second one.
    key = {"Idempotency-Key": "shuangbai-quake-0001"}
    filed = client.post(BASE, json=FILING, headers={**tokens["requester_sb"], **key})
    assert filed.status_code == 201, filed.json
    number = filed.json["number"]
    assert filed.json["state"] == "submitted" and filed.json["submitted_at"]
    again = client.post(BASE, json=FILING, headers={**tokens["requester_sb"], **key})
    assert (again.status_code, again.json["number"]) == (200, number)
    listed = client.get(BASE, headers=tokens["requester_sb"])
    assert [r["number"] for r in listed.json["results"]] == [number]

    # The requester cannot approve; a dispatcher approves and stock is reserved at once.
    assert (
        client.post(f"{BASE}/{number}/approve", json={}, headers=tokens["requester_sb"]).status_code
        == 403
    )
    approved = client.post(f"{BASE}/{number}/approve", json={}, headers=tokens["dispatcher"])
    assert approved.status_code == 200, approved.json
    body = approved.json
    assert (body["state"], body["approver"]) == ("allocated", "dispatcher")
    assert sorted((p["depot"], p["quantity"], p["state"]) for p in body["picks"]) == [
        ("SB", 30, "reserved"),
        ("ZX", 20, "reserved"),
    ]
    assert body["lines"][0]["allocated"] == 50 and body["lines"][0]["shortage"] == 0
    assert reserved(engine) == 50 and on_hand(engine, "SB") == 30
    again = client.post(f"{BASE}/{number}/approve", json={}, headers=tokens["dispatcher"])
    assert again.status_code == 409

    # Each keeper ships their own depot's picks; the request is dispatched when all left.
    wrong = client.post(
        f"{BASE}/{number}/dispatch", json={"depot": "ZX"}, headers=tokens["keeper_sb"]
    )
    assert wrong.status_code == 403
    first = client.post(f"{BASE}/{number}/dispatch", json={}, headers=tokens["keeper_sb"])
    assert first.status_code == 200, first.json
    assert first.json["state"] == "allocated"
    assert on_hand(engine, "SB") == 0 and reserved(engine) == 20 and in_transit(engine) == 30
    second = client.post(
        f"{BASE}/{number}/dispatch", json={"depot": "ZX"}, headers=tokens["keeper_zx"]
    )
    assert second.json["state"] == "dispatched" and second.json["dispatched_at"]
    documents = {p["document"] for p in second.json["picks"]}
    assert len(documents) == 2 and all(d.startswith("FY-") for d in documents)
    assert on_hand(engine, "ZX") == 80 and reserved(engine) == 0 and in_transit(engine) == 50

    # The county confirms receipt with a shortfall; the difference is written off.
    confirm = {
        "lines": [{"item": "TENT-12", "received": 47, "damaged": 1}],
        "note": "途中遗失2顶，破损1顶",
    }
    assert (
        client.post(
            f"{BASE}/{number}/receive", json=confirm, headers=tokens["dispatcher"]
        ).status_code
        == 403
    )
    received = client.post(f"{BASE}/{number}/receive", json=confirm, headers=tokens["requester_sb"])
    assert received.status_code == 200, received.json
    line = received.json["lines"][0]
    assert (line["received"], line["damaged"], line["short"]) == (47, 1, 2)
    assert received.json["receiver"] == "requester_sb" and in_transit(engine) == 0
    document = client.get(f"/api/v1/documents/{sorted(documents)[0]}", headers=tokens["auditor"])
    if document.status_code == 200:  # the stock API is served beside this one
        assert document.json["authority_order"] == number

    closed = client.post(
        f"{BASE}/{number}/close", json={"note": "发放完毕"}, headers=tokens["dispatcher"]
    )
    assert closed.json["state"] == "closed"
    view = client.get(f"{BASE}/{number}", headers=tokens["auditor"]).json
    assert view["hours_to_dispatch"] is not None and view["hours_to_receipt"] is not None
    stamps = [
        view[f"{s}_at"]
        for s in (
            "created",
            "submitted",
            "approved",
            "allocated",
            "dispatched",
            "received",
            "closed",
        )
    ]
    assert all(stamps) and stamps == sorted(stamps)
    assert view["created_at_local"]

    actions = audit_actions(engine)
    for action in (
        "dispatch_submitted",
        "dispatch_approved",
        "dispatch_allocated",
        "dispatch_partly_shipped",
        "dispatch_dispatched",
        "dispatch_received",
        "dispatch_closed",
    ):
        assert action in actions
    assert books_balance(engine)


def test_emergency_approval_over_the_api(client, tokens, engine, app):
    filing = {**FILING, "urgency": "critical"}
    number = client.post(BASE, json=filing, headers=tokens["requester_sb"]).json["number"]
    response = client.post(
        f"{BASE}/{number}/approve",
        json={"emergency_response": "州减灾委启动地震Ⅲ级应急响应"},
        headers=tokens["dispatcher"],
    )
    assert response.status_code == 200, response.json
    assert response.json["state"] == "dispatched" and response.json["emergency"]
    due = response.json["countersign_due_at"]
    assert due and response.json["countersign_overdue"] is False
    own = client.post(f"{BASE}/{number}/countersign", json={}, headers=tokens["dispatcher"])
    assert own.status_code == 403
    signed = client.post(
        f"{BASE}/{number}/countersign", json={"note": "补签"}, headers=tokens["dispatcher2"]
    )
    assert signed.json["countersigner"] == "dispatcher2"
    assert books_balance(engine)


def test_requesters_see_only_their_county(client, world, tokens):
    other = file_dispatch_request(
        world, [{"item": "TENT-12", "quantity": 1}], county="532327", who="dispatcher", submit=False
    )
    mine = client.post(BASE, json=FILING, headers=tokens["requester_sb"]).json["number"]
    listed = client.get(BASE, headers=tokens["requester_sb"]).json
    assert [r["number"] for r in listed["results"]] == [mine]
    hidden = client.get(f"{BASE}/{other}", headers=tokens["requester_sb"])
    missing = client.get(f"{BASE}/DB-2020-999999", headers=tokens["requester_sb"])
    assert hidden.status_code == missing.status_code == 404  # existence is not revealed
    assert hidden.json["message"] == f"调拨申请不存在：{other}"
    everyone = client.get(BASE, headers=tokens["auditor"]).json
    assert {r["number"] for r in everyone["results"]} == {mine, other}
    by_county = client.get(BASE, query_string={"county": "532327"}, headers=tokens["auditor"]).json
    assert [r["number"] for r in by_county["results"]] == [other]
    by_state = client.get(BASE, query_string={"state": "draft"}, headers=tokens["auditor"]).json
    assert [r["number"] for r in by_state["results"]] == [other]
    assert client.get(BASE, headers=tokens["keeper_sb"]).json["results"] == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": [{"item": "TENT-12", "quantity": "5"}]}, "lines[0].quantity"),
        ({"lines": [{"item": "TENT-12", "quantity": 2.5}]}, "lines[0].quantity"),
        ({"lines": [{"item": "TENT-12", "quantity": 10**12}]}, "lines[0].quantity"),
        ({"lines": []}, "lines"),
        ({"people_affected": 10**20}, "people_affected"),
        ({"urgency": "very"}, "urgency"),
        ({"reason": "坏\x00字符"}, "reason"),
        ({"reason": "\ud800"}, "reason"),
        ({"county": "5323\x0022"}, "county"),
        ({"surprise": 1}, "surprise"),
        (
            {"lines": [{"item": "TENT-12", "quantity": 1}, {"item": "TENT-12", "quantity": 2}]},
            "lines[1].item",
        ),
    ],
)
def test_bad_filings_are_422_naming_the_field(client, tokens, changes, field):
    body = json.dumps({**FILING, **changes})  # ASCII escapes carry lone surrogates too
    response = client.post(
        BASE, data=body, content_type="application/json", headers=tokens["requester_sb"]
    )
    assert response.status_code == 422, response.json
    assert set(response.json) == {"code", "status", "message", "errors", "request_id"}
    assert field in response.json["errors"]


def test_bad_idempotency_key_is_422(client, tokens):
    headers = {**tokens["requester_sb"], "Idempotency-Key": "x" * 129}
    assert client.post(BASE, json=FILING, headers=headers).status_code == 422


def test_same_key_different_body_is_409(client, tokens):
    headers = {**tokens["requester_sb"], "Idempotency-Key": "k-1"}
    assert client.post(BASE, json=FILING, headers=headers).status_code == 201
    changed = {**FILING, "people_affected": 1}
    assert client.post(BASE, json=changed, headers=headers).status_code == 409


@pytest.mark.parametrize(
    "path", ["DB-2099-000001", "not-a-number", "DB-2025-00000%00", "%F0%9F%92%A5", "x" * 3000]
)
def test_unknown_numbers_are_404(client, tokens, path):
    assert client.get(f"{BASE}/{path}", headers=tokens["dispatcher"]).status_code == 404
    response = client.post(f"{BASE}/{path}/approve", json={}, headers=tokens["dispatcher"])
    assert response.status_code == 404


def test_no_token_is_401(client, world):
    assert client.get(BASE).status_code == 401
    assert client.post(BASE, json=FILING).status_code == 401


def test_wrong_state_is_409_and_unknown_filter_county_is_404(client, tokens):
    number = client.post(
        BASE, json={**FILING, "submit": False}, headers=tokens["requester_sb"]
    ).json["number"]
    assert (
        client.post(f"{BASE}/{number}/approve", json={}, headers=tokens["dispatcher"]).status_code
        == 409
    )
    assert (  # a keeper whose depots serve nothing of it is not told it exists
        client.post(f"{BASE}/{number}/dispatch", json={}, headers=tokens["keeper_sb"]).status_code
        == 404
    )
    assert client.post(f"{BASE}/{number}/submit", headers=tokens["requester_sb"]).status_code == 200
    assert (
        client.get(BASE, query_string={"county": "999999"}, headers=tokens["auditor"]).status_code
        == 404
    )
    assert (
        client.get(BASE, query_string={"state": "lost"}, headers=tokens["auditor"]).status_code
        == 422
    )


def test_openapi_lists_the_dispatch_endpoints(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for suffix in ("", "/{number}", "/{number}/approve", "/{number}/receive", "/{number}/return"):
        assert f"{BASE}{suffix}" in paths


class _DeadlockDetected(Exception):
    sqlstate = "40P01"


def test_a_transition_aborted_to_break_a_deadlock_is_done_again(client, tokens, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from relief_inventory.allocation import requests as dispatch

    filed = client.post(BASE, json={**FILING, "submit": False}, headers=tokens["requester_sb"])
    number = filed.json["number"]
    real, calls = dispatch.submit, []

    def deadlocked_once(uow, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE quant ...", {}, _DeadlockDetected())
        return real(uow, *args, **kwargs)

    monkeypatch.setattr(dispatch, "submit", deadlocked_once)
    response = client.post(f"{BASE}/{number}/submit", headers=tokens["requester_sb"])
    assert (response.status_code, response.json["state"], len(calls)) == (200, "submitted", 2)

    def always_deadlocked(uow, *args, **kwargs):
        raise OperationalError("UPDATE quant ...", {}, _DeadlockDetected())

    monkeypatch.setattr(dispatch, "cancel", always_deadlocked)
    response = client.post(
        f"{BASE}/{number}/cancel", json={"reason": "撤回"}, headers=tokens["requester_sb"]
    )
    assert response.status_code == 409 and response.json["code"] == "conflict"
