"""The stock rules over HTTP, on SQLite and PostgreSQL: ownership refusals, counts without
owner, held drafts, rejection, lot status per depot, expiry in balances and the summary,
rotation swaps, four-eyes reversals of stock and money, transfer arrivals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from relief_inventory.stock import services as stock
from relief_inventory.timeutil import local_today, utcnow
from tests.factories import bearer, build_world, receive_basic
from tests.funds_factories import make_appropriation, make_source, paid_release

API = "/api/v1"
ORDER = "楚应急调〔2025〕9号"


@pytest.fixture
def world(app):
    return build_world(app.extensions["relief_engine"])


@pytest.fixture
def as_user(world):
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = bearer(world, username)
        return cache[username]

    return headers


def refused(response, status: int, field: str | None = None) -> str:
    assert response.status_code == status, response.json
    assert set(response.json) == {"code", "status", "message", "errors", "request_id"}
    if field:
        assert field in response.json["errors"], response.json
    return response.json["message"]


def stock_row(client, headers, depot: str, lot: str) -> dict:
    rows = client.get(f"{API}/stock?depot={depot}", headers=headers).json["results"]
    return next(r for r in rows if r["lot"] == lot)


def test_receipts_and_issues_of_other_reserves_need_their_order(client, world, as_user):
    keeper = as_user("keeper_zx")
    body = {
        "depot": "ZX",
        "origin": "allocation",
        "lines": [{"item": "TENT-12", "lot": "CN-1", "quantity": 10, "owner": "CN"}],
    }
    message = refused(
        client.post(f"{API}/receipts", json=body, headers=keeper), 422, "lines[0].owner"
    )
    assert "CN" in message
    body["authority_order"] = "民发〔2025〕3号"
    assert client.post(f"{API}/receipts", json=body, headers=keeper).status_code == 201
    issue = {
        "depot": "ZX",
        "county": "532322",
        "lines": [{"item": "TENT-12", "lot": "CN-1", "quantity": 1}],
    }
    message = refused(
        client.post(f"{API}/issues", json=issue, headers=keeper), 422, "lines[0].owner"
    )
    assert "只有" in message and "CN" in message  # the lot is held only under another owner
    issue["lines"][0]["owner"] = "CN"
    refused(client.post(f"{API}/issues", json=issue, headers=keeper), 422, "lines[0].owner")
    issue["authority_order"] = ORDER
    assert client.post(f"{API}/issues", json=issue, headers=keeper).status_code == 201


def test_count_without_owner_counts_the_lot_held_by_one_reserve(client, world, as_user):
    with world.uow("keeper_sb") as uow:
        stock.receive(
            uow,
            depot="SB",
            authority_order=ORDER,
            lines=[{"item": "TENT-12", "lot": "P6", "quantity": 6, "owner": "532300"}],
        )
    keeper = as_user("keeper_sb")
    body = {"depot": "SB", "lines": [{"item": "TENT-12", "lot": "P6", "counted": 6}]}
    draft = client.post(f"{API}/counts", json=body, headers=keeper)
    assert draft.status_code == 201, draft.json
    assert draft.json["count_lines"][0]["owner"] == "532300"
    assert draft.json["holds"][0]["quantity"] == 6
    approved = client.post(f"{API}/counts/{draft.json['number']}/approve", headers=as_user("admin"))
    assert approved.status_code == 200 and approved.json["moves"] == []
    assert stock_row(client, keeper, "SB", "P6")["on_hand"] == 6
    twice = {"depot": "SB", "lines": [body["lines"][0], {**body["lines"][0], "owner": "532300"}]}
    refused(client.post(f"{API}/counts", json=twice, headers=keeper), 422, "lines[1].lot")


def test_a_draft_write_off_holds_its_pieces_then_is_rejected(client, world, as_user):
    receive_basic(world, 10)
    keeper, second = as_user("keeper_zx"), as_user("keeper_zx2")
    line = {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 8}
    draft = client.post(
        f"{API}/scraps", json={"depot": "ZX", "reason": "霉变", "lines": [line]}, headers=keeper
    )
    assert draft.status_code == 201, draft.json
    assert stock_row(client, keeper, "ZX", "T-ZX-1")["available"] == 2
    issue = {"depot": "ZX", "county": "532322", "lines": [line]}
    refused(client.post(f"{API}/issues", json=issue, headers=second), 409)
    path = f"{API}/documents/{draft.json['number']}/reject"
    refused(client.post(path, json={"reason": "不同意"}, headers=keeper), 403)
    refused(client.post(path, json={}, headers=second), 422)
    rejected = client.post(path, json={"reason": "复核未霉变"}, headers=second)
    assert rejected.status_code == 200, rejected.json
    assert (rejected.json["state"], rejected.json["state_label"]) == ("cancelled", "已驳回")
    assert rejected.json["rejected_by"] == "keeper_zx2"
    assert client.post(f"{API}/issues", json=issue, headers=second).status_code == 201


def test_lot_status_changes_only_the_keepers_depot(client, world, as_user):
    receive_basic(world, 10, "ZX")
    receive_basic(world, 10, "SB")
    with world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="SB", lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 3}])
    body = {"item": "TENT-12", "lot": "T-ZX-1", "status": "damaged", "reason": "雨淋"}
    answer = client.post(f"{API}/lots/status", json=body, headers=as_user("keeper_sb"))
    assert answer.status_code == 200, answer.json
    assert {d["depot"]: d["status"] for d in answer.json["depots"]} == {
        "SB": "damaged",
        "ZX": "available",
    }
    refused(
        client.post(
            f"{API}/lots/status", json={**body, "depot": "ZX"}, headers=as_user("keeper_sb")
        ),
        403,
    )
    auditor = as_user("auditor")
    assert stock_row(client, auditor, "ZX", "T-ZX-1")["lot_status"] == "available"
    assert stock_row(client, auditor, "SB", "T-ZX-1")["lot_status"] == "damaged"


def test_expired_stock_reads_expired_and_the_summary_splits_it(client, world, as_user):
    with world.uow("keeper_zx") as uow:
        stock.receive(
            uow,
            depot="ZX",
            at=utcnow() - timedelta(days=30),
            lines=[
                {
                    "item": "RICE-10",
                    "lot": "OLD",
                    "quantity": 9,
                    "expiry_date": (local_today() - timedelta(days=1)).isoformat(),
                }
            ],
        )
    receive_basic(world, 10)
    auditor = as_user("auditor")
    assert stock_row(client, auditor, "ZX", "OLD")["lot_status"] == "expired"
    summary = client.get(f"{API}/stock/summary", headers=auditor).json
    zx = next(r for r in summary["rows"] if r["depot"] == "ZX")
    assert zx["total"] == 29
    assert zx["by_status"] == {"usable": 20, "expired": 9, "quarantined": 0, "damaged": 0}
    assert summary["totals"]["by_category_status"]["FOOD"]["expired"] == 9
    issue = {
        "depot": "ZX",
        "county": "532322",
        "lines": [{"item": "RICE-10", "lot": "OLD", "quantity": 1}],
    }
    refused(
        client.post(f"{API}/issues", json=issue, headers=as_user("keeper_zx")), 422, "lines[0].lot"
    )


def test_rotation_refuses_what_is_no_swap(client, world, as_user):
    receive_basic(world, 57)
    keeper = as_user("keeper_zx")
    fresh = (local_today() + timedelta(days=700)).isoformat()
    body = {
        "depot": "ZX",
        "out_lines": [{"item": "RICE-10", "lot": "R-ZX-1", "quantity": 57}],
        "in_lines": [{"item": "RICE-10", "lot": "R-N", "quantity": 5000, "expiry_date": fresh}],
    }
    refused(client.post(f"{API}/rotations", json=body, headers=keeper), 422, "in_lines[0].quantity")
    tent = {**body, "in_lines": [{"item": "TENT-12", "lot": "T-N", "quantity": 1}]}
    refused(client.post(f"{API}/rotations", json=tent, headers=keeper), 422, "in_lines[0].item")
    declared = {
        **body,
        "differences": [{"item": "RICE-10", "quantity": 4943, "reason": "扩储，追加采购"}],
    }
    done = client.post(f"{API}/rotations", json=declared, headers=keeper)
    assert done.status_code == 201, done.json
    assert "+4943" in done.json["reason"]
    for bad in ("4943", 0, 1.5, True):
        wrong = {**declared, "differences": [{**declared["differences"][0], "quantity": bad}]}
        refused(client.post(f"{API}/rotations", json=wrong, headers=keeper), 422)


def test_a_reversal_is_proposed_then_approved_by_another_keeper(client, world, as_user):
    number = receive_basic(world, 10)
    keeper, second = as_user("keeper_zx"), as_user("keeper_zx2")
    proposed = client.post(
        f"{API}/documents/{number}/reverse", json={"reason": "重复录入"}, headers=keeper
    )
    assert proposed.status_code == 201 and proposed.json["state"] == "draft"
    original = client.get(f"{API}/documents/{number}", headers=keeper).json
    assert (original["reversed"], original["pending_reversal"]) == (False, proposed.json["number"])
    approve = f"{API}/reversals/{proposed.json['number']}/approve"
    refused(client.post(approve, headers=keeper), 403)
    refused(client.post(f"{API}/scraps/{proposed.json['number']}/approve", headers=second), 404)
    approved = client.post(approve, headers=second)
    assert approved.status_code == 200 and approved.json["state"] == "done"
    original = client.get(f"{API}/documents/{number}", headers=keeper).json
    assert (original["state"], original["reversed"], original["reversed_by"]) == (
        "done",
        True,
        proposed.json["number"],
    )
    refused(client.post(approve, headers=second), 409)


def test_a_transfer_arrives_short_and_damaged(client, world, as_user):
    receive_basic(world, 20)
    sent = client.post(
        f"{API}/transfers",
        json={
            "from_depot": "ZX",
            "to_depot": "SB",
            "authority_order": ORDER,
            "lines": [{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 20}],
        },
        headers=as_user("keeper_zx"),
    )
    path = f"{API}/transfers/{sent.json['number']}/complete"
    lines = [{"item": "TENT-12", "received": 17, "damaged": 2}]
    refused(client.post(path, json={"lines": lines}, headers=as_user("keeper_sb")), 422, "note")
    refused(client.post(path, json={"lines": "x"}, headers=as_user("keeper_sb")), 422)
    done = client.post(
        path, json={"lines": lines, "note": "1顶遗失，2顶破损"}, headers=as_user("keeper_sb")
    )
    assert done.status_code == 200, done.json
    lost = sum(m["quantity"] for m in done.json["moves"] if m["to_location"] == "VIRT-LOSS")
    assert lost == 3 and "1顶遗失" in done.json["reason"]


def test_a_transfer_is_refused_on_arrival(client, world, as_user):
    receive_basic(world, 20)
    sent = client.post(
        f"{API}/transfers",
        json={
            "from_depot": "ZX",
            "to_depot": "SB",
            "authority_order": ORDER,
            "lines": [{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 5}],
        },
        headers=as_user("keeper_zx"),
    )
    path = f"{API}/documents/{sent.json['number']}/reject"
    refused(client.post(path, json={"reason": "x"}, headers=as_user("keeper_zx")), 403)
    back = client.post(path, json={"reason": "未申请此批物资"}, headers=as_user("keeper_sb"))
    assert back.status_code == 200 and back.json["state_label"] == "已驳回"
    assert stock_row(client, as_user("auditor"), "ZX", "T-ZX-1")["on_hand"] == 20


def test_a_fund_reversal_takes_effect_only_when_a_second_person_approves(client, world, as_user):
    appropriation = make_appropriation(world, make_source(world), "1000.00")
    number = paid_release(world, appropriation, "1000.00")  # paid by finance
    proposed = client.post(
        f"{API}/funds/releases/{number}/reverse",
        json={"reason": "重复拨付"},
        headers=as_user("finance"),
    )
    assert proposed.status_code == 201, proposed.json
    appr = client.get(f"{API}/funds/appropriations/{appropriation}", headers=as_user("finance"))
    assert appr.json["remaining"] == "0.00"  # not spendable while only proposed
    path = f"{API}/funds/reversals/{proposed.json['number']}"
    refused(client.post(f"{path}/approve", headers=as_user("finance")), 403)
    rejected = client.post(f"{path}/reject", json={"reason": "非重复"}, headers=as_user("finance2"))
    assert rejected.status_code == 200 and rejected.json["state"] == "rejected"
    refused(client.post(f"{path}/approve", headers=as_user("finance2")), 409)
    again = client.post(
        f"{API}/funds/releases/{number}/reverse",
        json={"reason": "确认重复"},
        headers=as_user("finance"),
    )
    approved = client.post(
        f"{API}/funds/reversals/{again.json['number']}/approve", headers=as_user("finance2")
    )
    assert approved.status_code == 200 and approved.json["decided_by"] == "finance2"
    appr = client.get(f"{API}/funds/appropriations/{appropriation}", headers=as_user("finance"))
    assert appr.json["remaining"] == "1000.00"
    release = client.get(f"{API}/funds/releases/{number}", headers=as_user("finance")).json
    assert (release["reversed"], release["reversed_by"]) == (True, again.json["number"])
