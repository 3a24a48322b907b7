"""The stock REST API on SQLite and PostgreSQL: auth, scope, validation, the operations."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from relief_inventory.api import stock as stock_api
from relief_inventory.auth import services as auth
from relief_inventory.timeutil import utcnow
from tests.factories import bearer, build_world, receive_basic
from tests.funds_factories import funded_appropriation

API = "/api/v1"
ERROR_KEYS = {"code", "status", "message", "errors", "request_id"}


@pytest.fixture
def world(app):
    return build_world(app.extensions["relief_engine"])


@pytest.fixture
def as_user(world):
    """Authorization headers per username, each token issued once per test."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = bearer(world, username)
        return cache[username]

    return headers


def receipt_body(**overrides):
    body = {
        "depot": "ZX",
        "partner": "昆明帐篷厂",
        "reason": "2025 年度采购",
        "lines": [
            {"item": "TENT-12", "lot": "T-1", "quantity": 40},
            {
                "item": "RICE-10",
                "lot": "R-1",
                "quantity": 60,
                "production_date": date.today().isoformat(),
            },
        ],
    }
    body.update(overrides)
    return body


def error_of(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.json
    assert set(response.json) == ERROR_KEYS
    assert response.json["status"] == status
    if code:
        assert response.json["code"] == code
    return response.json["errors"]


def document_count(client, headers) -> int:
    return client.get(f"{API}/documents", headers=headers).json["total"]


# -- authentication and scope --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/stock", "/stock/summary", "/depots", "/items", "/counties", "/categories", "/documents"],
)
def test_reading_needs_a_token(client, world, path):
    error_of(client.get(API + path), 401, "unauthenticated")
    error_of(client.get(API + path, headers={"Authorization": "Bearer nope"}), 401)


def test_revoked_and_expired_tokens_are_refused(client, world, monkeypatch):
    headers = bearer(world, "auditor")
    assert client.get(f"{API}/stock", headers=headers).status_code == 200
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(auth, "utcnow", lambda: later)
    assert "过期" in client.get(f"{API}/stock", headers=headers).json["message"]
    monkeypatch.undo()
    with world.uow("auditor") as uow:
        auth.revoke_token(uow, headers["Authorization"].split()[1][:12])
    error_of(client.get(f"{API}/stock", headers=headers), 401, "unauthenticated")


def test_keeper_cannot_receive_into_another_depot(client, as_user):
    response = client.post(
        f"{API}/receipts", json=receipt_body(depot="SB"), headers=as_user("keeper_zx")
    )
    error_of(response, 403, "forbidden")
    assert document_count(client, as_user("auditor")) == 0


# -- master data ---------------------------------------------------------------------------


def test_master_data_by_code_with_exact_numbers(client, as_user):
    headers = as_user("auditor")
    depots = {d["code"]: d for d in client.get(f"{API}/depots", headers=headers).json}
    assert set(depots) == {"ZX", "SB", "YR"}
    assert depots["SB"]["county"] == "532322"
    assert depots["SB"]["county_name"] == "双柏县"
    assert depots["ZX"]["level"] == "prefecture"
    assert depots["ZX"]["lat"] == "25.03000" and depots["ZX"]["lon"] == "101.55000"
    items = {i["code"]: i for i in client.get(f"{API}/items", headers=headers).json}
    tent = items["TENT-12"]
    assert tent["unit_value"] == "1450.00"
    assert (tent["category"], tent["category_name"], tent["unit"]) == ("TENT", "帐篷", "顶")
    assert tent["reusable"] is True and tent["shelf_life_days"] is None
    assert items["RICE-10"]["shelf_life_days"] == 365
    assert items["GEN-5"]["tracking"] == "serial"
    counties = client.get(f"{API}/counties", headers=headers).json
    assert [c["code"] for c in counties] == ["532301", "532322", "532327"]
    categories = client.get(f"{API}/categories", headers=headers).json
    assert [c["code"] for c in categories] == ["TENT", "FOOD"]


# -- receipts, balances and the summary ----------------------------------------------------


def test_receipt_shows_in_stock_and_summary(client, as_user):
    response = client.post(f"{API}/receipts", json=receipt_body(), headers=as_user("keeper_zx"))
    assert response.status_code == 201, response.json
    document = response.json
    assert document["number"].startswith("RK-")
    assert (document["kind"], document["state"], document["depot"]) == ("receipt", "done", "ZX")
    assert document["created_by"] == "keeper_zx"
    assert [(m["item"], m["lot"], m["quantity"]) for m in document["moves"]] == [
        ("TENT-12", "T-1", 40),
        ("RICE-10", "R-1", 60),
    ]
    move = document["moves"][0]
    assert (move["from_location"], move["to_location"]) == ("VIRT-SUPPLIER", "ZX-STOCK")
    assert move["owner"] == "532300"
    assert move["done_at"].endswith("+00:00") and len(move["done_at_local"]) == 16

    headers = as_user("auditor")
    rows = client.get(f"{API}/stock?depot=ZX", headers=headers).json
    assert rows["total"] == 2 and rows["pages"] == 1
    rice = next(r for r in rows["results"] if r["item"] == "RICE-10")
    assert (rice["on_hand"], rice["reserved"], rice["available"]) == (60, 0, 60)
    assert (rice["category"], rice["lot"], rice["lot_status"]) == ("FOOD", "R-1", "available")
    assert rice["expiry_date"] == (date.today() + timedelta(days=365)).isoformat()
    assert client.get(f"{API}/stock?county=532322", headers=headers).json["total"] == 0
    assert client.get(f"{API}/stock?county=532301", headers=headers).json["total"] == 2
    assert client.get(f"{API}/stock?category=TENT", headers=headers).json["total"] == 1

    summary = client.get(f"{API}/stock/summary", headers=headers).json
    assert [d["code"] for d in summary["depots"]] == ["SB", "YR", "ZX"]
    row = next(r for r in summary["rows"] if r["depot"] == "ZX")
    assert row["cells"] == {"TENT": 40, "FOOD": 60} and row["total"] == 100
    assert summary["totals"]["categories"] == {"TENT": 40, "FOOD": 60}
    assert summary["totals"]["total"] == 100
    assert summary["totals"]["by_status"] == {
        "usable": 100,
        "expired": 0,
        "quarantined": 0,
        "damaged": 0,
    }

    detail = client.get(f"{API}/documents/{document['number']}", headers=headers)
    assert detail.status_code == 200 and detail.json == document


def test_quarantined_receipt_is_held_until_released(client, as_user):
    keeper = as_user("keeper_zx")
    body = receipt_body(quarantine=True, lines=[{"item": "TENT-12", "lot": "Q", "quantity": 5}])
    assert client.post(f"{API}/receipts", json=body, headers=keeper).status_code == 201
    issue = {"depot": "ZX", "county": "532322", "lines": [{"item": "TENT-12", "quantity": 5}]}
    error_of(client.post(f"{API}/issues", json=issue, headers=keeper), 409, "insufficient_stock")
    release = {"item": "TENT-12", "lot": "Q", "status": "available", "reason": "检验合格"}
    response = client.post(f"{API}/lots/status", json=release, headers=keeper)
    assert response.status_code == 200 and response.json["status"] == "available"
    assert client.post(f"{API}/issues", json=issue, headers=keeper).status_code == 201


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": "5"}, "lines[0].quantity"),
        ({"quantity": 5.0}, "lines[0].quantity"),
        ({"quantity": 0}, "lines[0].quantity"),
        ({"quantity": 10**30}, "lines[0].quantity"),
        ({"quantity": True}, "lines[0].quantity"),
        ({"item": None}, "lines[0].item"),
        ({"lot": "  "}, "lines[0].lot"),
        ({"lot": "A\x00B"}, "lines[0].lot"),
        ({"expiry_date": "2025-02-30"}, "lines[0].expiry_date"),
        ({"colour": "green"}, "lines[0].colour"),
    ],
)
def test_bad_lines_are_422_naming_the_field(client, as_user, line, field):
    good = {"item": "TENT-12", "lot": "T-1", "quantity": 1}
    body = receipt_body(lines=[{**good, **line}])
    errors = error_of(
        client.post(f"{API}/receipts", json=body, headers=as_user("keeper_zx")), 422, "invalid"
    )
    assert field in errors


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": "TENT-12"}, "lines"),
        ({"partner": "x" * 129}, "partner"),
        ({"reason": "\ud800"}, "reason"),
        ({"origin": "stolen"}, "origin"),
        ({"id": 5}, "id"),
        ({"amount": "10.00"}, "appropriation"),
        ({"appropriation": "XD-2025-0001", "amount": 10.5}, "amount"),
        ({"appropriation": "XD-2025-0001", "amount": "1.005"}, "amount"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(client, as_user, body, field):
    response = client.post(
        f"{API}/receipts",
        data=json.dumps(receipt_body(**body)),  # ASCII escapes carry the lone surrogate
        content_type="application/json",
        headers=as_user("admin"),
    )
    assert field in error_of(response, 422, "invalid")


def test_domain_rules_are_422_naming_the_line(client, as_user):
    past = (date.today() - timedelta(days=1)).isoformat()
    body = receipt_body(
        lines=[{"item": "RICE-10", "lot": "OLD", "quantity": 1, "expiry_date": past}]
    )
    response = client.post(f"{API}/receipts", json=body, headers=as_user("keeper_zx"))
    assert "lines[0].expiry_date" in error_of(response, 422, "invalid")


def test_malformed_requests_are_4xx_in_the_error_shape(client, as_user):
    headers = as_user("keeper_zx")
    error_of(
        client.post(
            f"{API}/receipts",
            data=b'{"depot": "\xff"}',
            headers=headers,
            content_type="application/json",
        ),
        400,
    )
    error_of(
        client.post(f"{API}/receipts", data="depot=ZX", headers=headers, content_type="text/plain"),
        415,
        "unsupported_media_type",
    )
    error_of(client.post(f"{API}/receipts", json=[1, 2], headers=headers), 422)
    for hostile in ("[" * 100_000 + "]" * 100_000, '{"depot": ' + "9" * 5000 + "}"):
        error_of(
            client.post(
                f"{API}/receipts", data=hostile, headers=headers, content_type="application/json"
            ),
            400,
        )
    nested = client.post(f"{API}/receipts", json=receipt_body(lines=[[1]]), headers=headers)
    assert "lines[0]" in error_of(nested, 422)
    error_of(client.get(f"{API}/stock?page=0", headers=headers), 422)
    error_of(client.get(f"{API}/stock?per_page=501", headers=headers), 422)
    error_of(client.get(f"{API}/stock?page=99999999999999999999", headers=headers), 422)
    error_of(client.get(f"{API}/stock?depot=%00", headers=headers), 422)
    error_of(client.get(f"{API}/documents?kind=loan", headers=headers), 422)
    error_of(client.get(f"{API}/documents/RK%00", headers=headers), 422)
    assert "colour" in error_of(client.get(f"{API}/stock?colour=green", headers=headers), 422)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/receipts", receipt_body(depot="NOPE"), "depot"),
        (
            "/receipts",
            receipt_body(lines=[{"item": "NOPE", "lot": "L", "quantity": 1}]),
            "lines[0].item",
        ),
        (
            "/issues",
            {"depot": "ZX", "county": "999999", "lines": [{"item": "TENT-12", "quantity": 1}]},
            "county",
        ),
        ("/transfers/YK-2025-000001/complete", None, "document"),
        ("/documents/RK-2025-000009/reverse", {"reason": "录错"}, "document"),
    ],
)
def test_unknown_codes_are_404(client, as_user, path, body, field):
    response = client.post(API + path, json=body, headers=as_user("admin"))
    assert field in error_of(response, 404, "not_found")


@pytest.mark.parametrize("query", ["depot=NOPE", "item=NOPE", "category=NOPE", "county=000000"])
def test_unknown_filter_codes_are_404(client, as_user, query):
    response = client.get(f"{API}/stock?{query}", headers=as_user("auditor"))
    assert query.split("=")[0] in error_of(response, 404, "not_found")


def test_insufficient_stock_is_409_and_changes_nothing(client, world, as_user):
    receive_basic(world, 10)
    body = {"depot": "ZX", "county": "532322", "lines": [{"item": "TENT-12", "quantity": 11}]}
    response = client.post(f"{API}/issues", json=body, headers=as_user("keeper_zx"))
    assert "lines[0].quantity" in error_of(response, 409, "insufficient_stock")
    rows = client.get(f"{API}/stock?item=TENT-12", headers=as_user("auditor")).json["results"]
    assert [r["on_hand"] for r in rows] == [10]


def test_database_refusal_is_a_conflict_not_a_server_error(client, as_user, monkeypatch):
    def racing(*_args, **_kwargs):
        raise IntegrityError("INSERT INTO lot", {}, Exception("duplicate key"))

    monkeypatch.setattr(stock_api.stock, "receive", racing)
    response = client.post(f"{API}/receipts", json=receipt_body(), headers=as_user("keeper_zx"))
    error_of(response, 409, "conflict")


def test_receipt_links_to_the_appropriation_that_paid_for_it(client, world, as_user):
    appropriation = funded_appropriation(world, materials="5000.00")
    keeper, auditor = as_user("keeper_sb"), as_user("auditor")
    tents = [{"item": "TENT-12", "lot": "T-F1", "quantity": 2}]
    body = receipt_body(depot="SB", lines=tents, appropriation=appropriation, amount="2900.00")
    assert client.post(f"{API}/receipts", json=body, headers=keeper).status_code == 201
    too_much = {**body, "amount": "2100.01", "lines": [{**tents[0], "lot": "T-F2"}]}
    response = client.post(f"{API}/receipts", json=too_much, headers=keeper)
    assert "amount" in error_of(response, 409, "conflict")
    assert document_count(client, auditor) == 1  # the refused link took its receipt with it
    unknown = {**body, "appropriation": "XD-1999-9999", "lines": [{**tents[0], "lot": "T-F3"}]}
    error_of(client.post(f"{API}/receipts", json=unknown, headers=keeper), 404)
    assert document_count(client, auditor) == 1


# -- transfers, issues, write-offs, counts, reversals --------------------------------------


def test_transfer_then_complete_at_the_other_depot(client, world, as_user):
    receive_basic(world, 50)
    body = {
        "from_depot": "ZX",
        "to_depot": "SB",
        "reason": "前置储备",
        "authority_order": "楚应急调〔2025〕2号",
        "lines": [{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 20}],
    }
    sent = client.post(f"{API}/transfers", json=body, headers=as_user("keeper_zx"))
    assert sent.status_code == 201, sent.json
    assert (sent.json["state"], sent.json["dest_depot"]) == ("in_transit", "SB")
    assert sent.json["moves"][0]["to_location"] == "VIRT-TRANSIT"
    path = f"{API}/transfers/{sent.json['number']}/complete"
    error_of(client.post(path, headers=as_user("keeper_zx")), 403, "forbidden")
    done = client.post(path, headers=as_user("keeper_sb"))
    assert done.status_code == 200 and done.json["state"] == "done"
    assert done.json["validated_by"] == "keeper_sb"
    assert [m["to_location"] for m in done.json["moves"]] == ["VIRT-TRANSIT", "SB-STOCK"]
    error_of(client.post(path, headers=as_user("keeper_sb")), 409, "conflict")
    headers = as_user("auditor")
    summary = client.get(f"{API}/stock/summary", headers=headers).json
    assert {r["depot"]: r["cells"]["TENT"] for r in summary["rows"]} == {
        "SB": 20,
        "YR": 0,
        "ZX": 30,
    }
    listed = client.get(f"{API}/documents?depot=SB", headers=headers).json["results"]
    assert [d["number"] for d in listed] == [sent.json["number"]]


def test_issue_to_a_county_takes_first_expiry_first(client, world, as_user):
    receive_basic(world, 30)
    body = {
        "depot": "ZX",
        "county": "532322",
        "reason": "洪涝灾害",
        "lines": [{"item": "RICE-10", "quantity": 12}],
    }
    response = client.post(f"{API}/issues", json=body, headers=as_user("keeper_zx"))
    assert response.status_code == 201, response.json
    assert response.json["county"] == "532322"
    assert [(m["lot"], m["quantity"], m["to_location"]) for m in response.json["moves"]] == [
        ("R-ZX-1", 12, "CTY-532322")
    ]
    rows = client.get(f"{API}/stock?item=RICE-10", headers=as_user("auditor")).json["results"]
    assert [r["available"] for r in rows] == [18]


def test_write_off_needs_a_second_keeper(client, world, as_user):
    receive_basic(world, 10)
    body = {
        "depot": "ZX",
        "reason": "鼠咬损坏",
        "lines": [{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 2}],
    }
    draft = client.post(f"{API}/scraps", json=body, headers=as_user("keeper_zx"))
    assert draft.status_code == 201 and draft.json["state"] == "draft"
    number = draft.json["number"]
    error_of(client.post(f"{API}/counts/{number}/approve", headers=as_user("keeper_zx2")), 404)
    error_of(client.post(f"{API}/scraps/{number}/approve", headers=as_user("keeper_zx")), 403)
    approved = client.post(f"{API}/scraps/{number}/approve", headers=as_user("keeper_zx2"))
    assert approved.status_code == 200 and approved.json["state"] == "done"
    assert approved.json["moves"][0]["to_location"] == "VIRT-LOSS"


def test_count_approval_books_the_difference(client, world, as_user):
    receive_basic(world, 10)
    body = {"depot": "ZX", "lines": [{"item": "TENT-12", "lot": "T-ZX-1", "counted": 8}]}
    draft = client.post(f"{API}/counts", json=body, headers=as_user("keeper_zx"))
    assert draft.status_code == 201, draft.json
    assert draft.json["count_lines"] == [
        {
            "item": "TENT-12",
            "lot": "T-ZX-1",
            "owner": "532300",
            "system_quantity": 10,
            "counted_quantity": 8,
        }
    ]
    path = f"{API}/counts/{draft.json['number']}/approve"
    approved = client.post(path, headers=as_user("keeper_zx2"))
    assert approved.status_code == 200, approved.json
    assert [(m["quantity"], m["to_location"]) for m in approved.json["moves"]] == [
        (2, "VIRT-ADJUST")
    ]


def test_rotation_and_reversal(client, world, as_user):
    receive_basic(world, 10)
    keeper = as_user("keeper_zx")
    body = {
        "depot": "ZX",
        "reason": "临期轮换",
        "out_lines": [{"item": "RICE-10", "lot": "R-ZX-1", "quantity": 10}],
        "in_lines": [
            {
                "item": "RICE-10",
                "lot": "R-NEW",
                "quantity": 10,
                "expiry_date": (date.today() + timedelta(days=500)).isoformat(),
            }
        ],
    }
    rotated = client.post(f"{API}/rotations", json=body, headers=keeper)
    assert rotated.status_code == 201, rotated.json
    assert len(rotated.json["moves"]) == 2
    path = f"{API}/documents/{rotated.json['number']}/reverse"
    error_of(client.post(path, json={}, headers=keeper), 422)
    reversal = client.post(path, json={"reason": "轮换录错"}, headers=keeper)
    assert reversal.status_code == 201, reversal.json
    assert (reversal.json["kind"], reversal.json["state"]) == ("reversal", "draft")
    assert reversal.json["reverses"] == rotated.json["number"]
    error_of(client.post(path, json={"reason": "再次"}, headers=keeper), 409, "conflict")
    approve = f"{API}/reversals/{reversal.json['number']}/approve"
    error_of(client.post(approve, headers=keeper), 403, "forbidden")  # proposer and creator
    approved = client.post(approve, headers=as_user("keeper_zx2"))
    assert approved.status_code == 200 and approved.json["state"] == "done"
    original = client.get(f"{API}/documents/{rotated.json['number']}", headers=keeper).json
    assert (original["reversed"], original["reversed_by"]) == (True, reversal.json["number"])
    rows = client.get(f"{API}/stock?item=RICE-10", headers=as_user("auditor")).json["results"]
    assert [(r["lot"], r["on_hand"]) for r in rows] == [("R-ZX-1", 10)]


def test_cancel_a_draft(client, world, as_user):
    receive_basic(world, 10)
    body = {"depot": "ZX", "lines": [{"item": "TENT-12", "lot": "T-ZX-1", "counted": 9}]}
    number = client.post(f"{API}/counts", json=body, headers=as_user("keeper_zx")).json["number"]
    cancelled = client.post(
        f"{API}/documents/{number}/cancel", json={"reason": "重盘"}, headers=as_user("keeper_zx")
    )
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"


# -- lists ---------------------------------------------------------------------------------


def test_stock_pages_are_stable_and_complete(client, as_user):
    lines = [{"item": "TENT-12", "lot": f"T-{n:02d}", "quantity": n + 1} for n in range(7)]
    created = client.post(
        f"{API}/receipts", json=receipt_body(lines=lines), headers=as_user("keeper_zx")
    )
    assert created.status_code == 201
    headers = as_user("auditor")
    seen = []
    for page in (1, 2, 3):
        body = client.get(f"{API}/stock?per_page=3&page={page}", headers=headers).json
        assert (body["total"], body["pages"], body["per_page"]) == (7, 3, 3)
        seen += [row["lot"] for row in body["results"]]
    assert seen == [f"T-{n:02d}" for n in range(7)]
    beyond = client.get(f"{API}/stock?per_page=3&page=9", headers=headers).json
    assert beyond["results"] == [] and beyond["total"] == 7


def test_zero_rows_only_on_request(client, world, as_user):
    receive_basic(world, 5)
    body = {"depot": "ZX", "county": "532322", "lines": [{"item": "TENT-12", "quantity": 5}]}
    assert client.post(f"{API}/issues", json=body, headers=as_user("keeper_zx")).status_code == 201
    headers = as_user("auditor")
    assert client.get(f"{API}/stock?item=TENT-12", headers=headers).json["total"] == 0
    zero = client.get(f"{API}/stock?item=TENT-12&include_zero=true", headers=headers).json
    assert [r["on_hand"] for r in zero["results"]] == [0]


def test_documents_filter_by_kind_and_state(client, world, as_user):
    receive_basic(world, 5)
    receive_basic(world, 5, depot="SB")
    headers = as_user("auditor")
    receipts = client.get(f"{API}/documents?kind=receipt&state=done", headers=headers).json
    assert receipts["total"] == 2
    assert [d["depot"] for d in receipts["results"]] == ["SB", "ZX"]  # newest first
    assert receipts["results"][0]["kind_label"] == "入库单"
    assert client.get(f"{API}/documents?kind=issue", headers=headers).json["total"] == 0
