"""The API's input rules, one test each, on SQLite and PostgreSQL: strict money, dates,
booleans and integers; a schema on every action (unknown fields, malformed JSON, wrong
content type); unknown query parameters; framework errors in Chinese and in the common
shape; and a refusal writes nothing.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import DocState, StockDocument
from tests.factories import bearer, build_world, file_dispatch_request
from tests.funds_factories import make_appropriation, make_source
from tests.spec_check import validate_answer
from tests.test_inputs import LOOSE_AMOUNTS, LOOSE_DATES, NOT_BOOLEANS

API = "/api/v1"


@pytest.fixture
def world(app):
    world = build_world(app.extensions["relief_engine"])
    with world.uow("keeper_zx") as uow:
        stock.receive(uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "T-ZX", "quantity": 50}])
    return world


@pytest.fixture
def engine(app):
    return app.extensions["relief_engine"]


@pytest.fixture
def as_user(world):
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = bearer(world, username)
        return cache[username]

    return headers


def log_size(engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count(AuditEntry.seq))) or 0)


def refused(response, status: int, field: str | None = None) -> dict:
    """A refusal in the common shape, in Chinese, as the document declares."""
    assert response.status_code == status, response.get_data(as_text=True)
    validate_answer(response.request.method, response.request.path, response)
    if field is not None:
        assert field in response.json["errors"], response.json
    return response.json


def source_body(**changes):
    return {
        "level": "central",
        "kind": "winter_spring",
        "year": 2024,
        "document_number": "云财社〔2024〕12号",
        "amount": "1000.00",
        **changes,
    }


# -- money, dates, booleans, integers --------------------------------------------------------


def test_money_is_an_ascii_string_matching_the_pattern(client, as_user, engine):
    headers = as_user("finance")
    before = log_size(engine)
    for amount in [*LOOSE_AMOUNTS, 1000, 1000.0, 1e6, True, None]:
        body = refused(
            client.post(f"{API}/funds/sources", json=source_body(amount=amount), headers=headers),
            422,
            "amount",
        )
        if isinstance(amount, int | float) and not isinstance(amount, bool):
            assert "字符串" in body["errors"]["amount"][0], amount
    assert log_size(engine) == before  # nothing written, not even a refusal entry


def test_the_money_pattern_is_published(client):
    spec = client.get("/api/openapi.json").json
    amount = spec["components"]["schemas"]["SourceCreate"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert amount["pattern"] == r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
    county = spec["components"]["schemas"]["County"]["properties"]["lat"]
    assert county["type"] == "string"
    error = spec["components"]["schemas"]["Error"]["properties"]
    assert (error["code"]["type"], error["status"]["type"]) == ("string", "integer")


def test_dates_are_exactly_yyyy_mm_dd(client, as_user):
    for day in [*LOOSE_DATES, 20261101, "2026-02-30"]:
        refused(
            client.post(
                f"{API}/funds/sources", json=source_body(issued_on=day), headers=as_user("finance")
            ),
            422,
            "issued_on",
        )
        body = {
            "depot": "ZX",
            "lines": [{"item": "RICE-10", "lot": "R-9", "quantity": 1, "production_date": day}],
        }
        refused(
            client.post(f"{API}/receipts", json=body, headers=as_user("keeper_zx")),
            422,
            "lines[0].production_date",
        )


def test_booleans_are_json_booleans(client, as_user, world):
    for value in NOT_BOOLEANS:
        _refuse_boolean(client, as_user, value)


def _refuse_boolean(client, as_user, value) -> None:
    filing = {
        "county": "532322",
        "disaster_type": "flood",
        "urgency": "urgent",
        "people_affected": 10,
        "submit": value,
        "lines": [{"item": "TENT-12", "quantity": 1}],
    }
    refused(
        client.post(f"{API}/dispatch-requests", json=filing, headers=as_user("requester_sb")),
        422,
        "submit",
    )
    receipt = {
        "depot": "ZX",
        "quarantine": value,
        "lines": [{"item": "TENT-12", "lot": "T-Q", "quantity": 1}],
    }
    refused(
        client.post(f"{API}/receipts", json=receipt, headers=as_user("keeper_zx")),
        422,
        "quarantine",
    )


def test_integers_are_json_integers(client, as_user):
    for value in ("5", 5.0, 5.5, True, "0x5", None):
        body = {"depot": "ZX", "lines": [{"item": "TENT-12", "lot": "T-9", "quantity": value}]}
        refused(
            client.post(f"{API}/receipts", json=body, headers=as_user("keeper_zx")),
            422,
            "lines[0].quantity",
        )
        login = {"username": "finance", "password": "x" * 10, "days": value}
        refused(client.post(f"{API}/auth/token", json=login), 422, "days")


def test_query_integers_and_booleans_are_strict(client, as_user):
    for query in ("page=１", "page=1_0", "page=+1", "page= 1", "per_page=1e2"):
        refused(client.get(f"{API}/stock?{query}", headers=as_user("auditor")), 422)
    for value in ("1", "yes", "True", "on", ""):
        refused(
            client.get(f"{API}/stock?include_zero={value}", headers=as_user("auditor")),
            422,
            "include_zero",
        )


# -- every action has a body schema ----------------------------------------------------------


def _draft_scrap(world) -> str:
    with world.uow("keeper_zx") as uow:
        return stock.propose_scrap(
            uow,
            depot="ZX",
            reason="破损",
            lines=[{"item": "TENT-12", "lot": "T-ZX", "quantity": 1}],
        ).number


def test_an_unknown_field_in_an_action_body_is_refused_and_does_not_act(
    client, as_user, world, engine
):
    number = _draft_scrap(world)
    headers = as_user("keeper_zx2")
    before = log_size(engine)
    body = refused(
        client.post(f"{API}/scraps/{number}/approve", json={"approve": False}, headers=headers),
        422,
        "approve",
    )
    assert "未知字段" in body["errors"]["approve"][0]
    assert log_size(engine) == before
    with Session(engine) as session:
        document = session.scalar(select(StockDocument).where(StockDocument.number == number))
        assert document is not None and document.state == DocState.DRAFT


MALFORMED = [
    ("{not json", "application/json", 400),
    ('{"a": 1, "a": 2}', "application/json", 400),
    ("NaN", "application/json", 400),
    ("[]", "application/json", 422),
    ("null", "application/json", 422),
    ("approve=false", "application/x-www-form-urlencoded", 415),
    ("{}", "text/plain", 415),
]


def test_malformed_action_bodies_are_refused(client, as_user, world):
    number = _draft_scrap(world)
    headers = as_user("keeper_zx2")
    for data, content_type, status in MALFORMED:
        response = client.post(
            f"{API}/scraps/{number}/approve", data=data, content_type=content_type, headers=headers
        )
        refused(response, status)
    assert client.get(f"{API}/documents/{number}", headers=headers).json["state"] == "draft"


def test_an_empty_body_is_accepted_where_the_action_needs_nothing(client, as_user, world):
    for body in (None, {}):
        number = _draft_scrap(world)
        kwargs = {} if body is None else {"json": body}
        response = client.post(
            f"{API}/scraps/{number}/approve", headers=as_user("keeper_zx2"), **kwargs
        )
        assert response.status_code == 200, response.json
        assert response.json["state"] == "done"


def test_every_action_endpoint_declares_its_body(client):
    """Each POST on a document (…/<number>/<action>) has a request body in the document,
    optional exactly where the action needs nothing."""
    paths = client.get("/api/openapi.json").json["paths"]
    actions = {p: ops["post"] for p, ops in paths.items() if "{number}/" in p and "post" in ops}
    assert len(actions) >= 20
    for path, operation in actions.items():
        assert "requestBody" in operation, path
    optional = {p for p, op in actions.items() if not op["requestBody"].get("required", False)}
    assert "/api/v1/scraps/{number}/approve" in optional
    assert "/api/v1/documents/{number}/reverse" not in optional  # a reversal needs a reason


def test_the_approve_flag_of_a_release_approval_is_refused(client, as_user, world):
    appropriation = make_appropriation(world, make_source(world))
    body = {
        "appropriation": appropriation,
        "purpose": "living_aid",
        "amount": "10.00",
        "beneficiaries": 1,
        "evidence": "花名册",
        "submit": True,
    }
    number = client.post(f"{API}/funds/releases", json=body, headers=as_user("requester_sb")).json[
        "number"
    ]
    client.post(f"{API}/funds/releases/{number}/verify", json={}, headers=as_user("finance"))
    refused(
        client.post(
            f"{API}/funds/releases/{number}/approve",
            json={"approve": False},
            headers=as_user("finance2"),
        ),
        422,
        "approve",
    )
    detail = client.get(f"{API}/funds/releases/{number}", headers=as_user("finance"))
    assert detail.json["state"] == "verified"


# -- query strings -------------------------------------------------------------------------


MISTYPED = [
    "/stock?depto=ZX",
    "/documents?kind=receipt&stat=done",
    "/dispatch-requests?county=532322&sate=draft",
    "/funds/releases?wating=true",
    "/funds/sources?yaer=2024",
    "/audit?entity=lot",
    "/counties?code=532322",
    "/stock/summary?depot=ZX",
    "/me?x=1",
]


def test_unknown_query_parameters_are_refused_naming_them(client, as_user):
    for path in MISTYPED:
        name = path.split("?")[1].split("&")[-1].split("=")[0]
        body = refused(client.get(API + path, headers=as_user("admin")), 422, name)
        assert name in body["message"], path


def test_a_repeated_query_parameter_is_refused(client, as_user):
    refused(client.get(f"{API}/stock?depot=ZX&depot=SB", headers=as_user("auditor")), 422, "depot")


def test_an_unknown_query_parameter_on_an_action_is_refused(client, as_user, world):
    number = _draft_scrap(world)
    refused(
        client.post(f"{API}/scraps/{number}/approve?force=1", headers=as_user("keeper_zx2")),
        422,
        "force",
    )


# -- the framework speaks Chinese ----------------------------------------------------------


def test_framework_errors_are_in_chinese_in_the_common_shape(client, as_user):
    for method, path, status, code in (
        ("GET", "/no-such-route", 404, "not_found"),
        ("DELETE", "/stock", 405, "method_not_allowed"),
        ("PUT", "/receipts", 405, "method_not_allowed"),
    ):
        response = client.open(API + path, method=method, headers=as_user("auditor"))
        body = refused(response, status)
        assert body["code"] == code
        if status == 405:
            assert "GET" in response.headers["Allow"] or "POST" in response.headers["Allow"]


def test_a_missing_body_names_the_required_fields_in_chinese(client, as_user):
    body = refused(client.post(f"{API}/receipts", headers=as_user("keeper_zx")), 422, "depot")
    assert body["errors"]["depot"] == ["缺少必填字段"]


def test_an_oversized_body_is_413(client, as_user):
    huge = "x" * (3 * 1024 * 1024)
    response = client.post(
        f"{API}/receipts", data=huge, content_type="application/json", headers=as_user("keeper_zx")
    )
    assert refused(response, 413)["code"] == "too_large"


def test_a_dispatch_request_line_date_of_today_is_fine(client, as_user):
    """The strict rules refuse the loose spellings, not the plain ones."""
    body = {
        "depot": "ZX",
        "lines": [
            {
                "item": "RICE-10",
                "lot": "R-OK",
                "quantity": 1,
                "production_date": date.today().isoformat(),
            }
        ],
    }
    assert (
        client.post(f"{API}/receipts", json=body, headers=as_user("keeper_zx")).status_code == 201
    )


# -- small leaks ---------------------------------------------------------------------------


def test_another_countys_request_answers_as_a_missing_one(client, as_user, world):
    other = file_dispatch_request(
        world, [{"item": "TENT-12", "quantity": 1}], county="532327", who="dispatcher"
    )
    missing = "DB-2020-999999"
    for action, body in (("", None), ("/submit", {}), ("/cancel", {"reason": "撤回"})):
        method = "GET" if not action else "POST"
        hidden_answer = client.open(
            f"{API}/dispatch-requests/{other}{action}",
            method=method,
            json=body,
            headers=as_user("requester_sb"),
        )
        missing_answer = client.open(
            f"{API}/dispatch-requests/{missing}{action}",
            method=method,
            json=body,
            headers=as_user("requester_sb"),
        )
        assert hidden_answer.status_code == missing_answer.status_code == 404
        assert (
            hidden_answer.json["message"].replace(other, missing) == missing_answer.json["message"]
        )
        assert hidden_answer.json["errors"].keys() == missing_answer.json["errors"].keys()


def test_a_token_lifetime_is_a_json_integer(client, world):
    login = {"username": "finance", "password": "correct-horse-1"}
    for days in ("7", 7.0, True):
        refused(client.post(f"{API}/auth/token", json={**login, "days": days}), 422, "days")
    assert client.post(f"{API}/auth/token", json={**login, "days": 7}).status_code == 201
