"""The funds API: money as strings, the workflow with segregation of duties, idempotency,
scope, and the error shape (never a 500)."""

from __future__ import annotations

import pytest

from tests.factories import bearer, build_world
from tests.funds_factories import file_release, make_appropriation, make_source, paid_release

ERROR_KEYS = {"code", "status", "message", "errors", "request_id"}


@pytest.fixture
def world(app):
    return build_world(app.extensions["relief_engine"])


@pytest.fixture
def auth(world):
    tokens: dict[str, dict[str, str]] = {}

    def header(username: str) -> dict[str, str]:
        if username not in tokens:
            tokens[username] = bearer(world, username)
        return tokens[username]

    return header


def release_body(appropriation: str, **change) -> dict:
    return {
        "appropriation": appropriation,
        "purpose": "living_aid",
        "amount": "3000.00",
        "beneficiaries": 15,
        "households": 5,
        "evidence": "花名册",
        "submit": True,
        **change,
    }


def test_finance_books_money_and_the_workflow_runs_to_paid(client, world, auth):
    created = client.post(
        "/api/v1/funds/sources",
        headers=auth("finance"),
        json={
            "level": "central",
            "kind": "winter_spring",
            "year": 2024,
            "document_number": "云财社〔2024〕12号",
            "amount": "19360000.00",
            "issued_on": "2024-01-12",
        },
    )
    assert created.status_code == 201, created.json
    source = created.json["number"]
    assert created.json["amount"] == "19360000.00"
    assert created.json["appropriated"] == "0.00"
    appropriated = client.post(
        "/api/v1/funds/appropriations",
        headers=auth("finance"),
        json={
            "source": source,
            "county": "532322",
            "document_number": "楚财社〔2024〕15号",
            "amount": "1860000.00",
        },
    )
    assert appropriated.status_code == 201, appropriated.json
    appropriation = appropriated.json["number"]
    assert appropriated.json["remaining"] == "1860000.00"

    filed = client.post(
        "/api/v1/funds/releases",
        headers={**auth("requester_sb"), "Idempotency-Key": "sb-2024-001"},
        json=release_body(appropriation),
    )
    assert filed.status_code == 201, filed.json
    number = filed.json["number"]
    assert filed.json["state"] == "submitted"
    assert filed.json["amount"] == "3000.00"
    replay = client.post(
        "/api/v1/funds/releases",
        headers={**auth("requester_sb"), "Idempotency-Key": "sb-2024-001"},
        json=release_body(appropriation),
    )
    assert replay.status_code == 200
    assert replay.json["number"] == number
    other = client.post(
        "/api/v1/funds/releases",
        headers={**auth("requester_sb"), "Idempotency-Key": "sb-2024-001"},
        json=release_body(appropriation, amount="3100.00"),
    )
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json["errors"]

    def waiting(who: str) -> list[str]:
        page = client.get("/api/v1/funds/releases?waiting=true", headers=auth(who))
        assert page.status_code == 200
        return [row["number"] for row in page.json["results"]]

    assert waiting("finance") == [number]
    verified = client.post(
        f"/api/v1/funds/releases/{number}/verify",
        headers=auth("finance"),
        json={"note": "已核对花名册 5 户 15 人"},
    )
    assert verified.status_code == 200
    assert verified.json["verified_by"] == "finance"
    assert waiting("finance") == []  # segregation: the verifier may not approve
    assert waiting("finance2") == [number]
    refused = client.post(f"/api/v1/funds/releases/{number}/approve", headers=auth("finance"))
    assert refused.status_code == 403
    assert set(refused.json) == ERROR_KEYS
    approved = client.post(f"/api/v1/funds/releases/{number}/approve", headers=auth("finance2"))
    assert approved.json["state"] == "approved"
    paid = client.post(
        f"/api/v1/funds/releases/{number}/release",
        headers=auth("finance"),
        json={"payment_reference": "国库支付 0001"},
    )
    assert paid.status_code == 200
    assert paid.json["state"] == "released"
    assert paid.json["released_by"] == "finance"

    summary = client.get("/api/v1/funds/summary?year=2024", headers=auth("auditor"))
    assert summary.status_code == 200
    assert summary.json["ok"] is True
    assert summary.json["total"]["amount"] == "19360000.00"
    assert summary.json["total"]["released"] == "3000.00"
    assert summary.json["total"]["balance"] == "1857000.00"
    assert summary.json["total"]["beneficiaries"] == 15
    assert summary.json["by_county"][0]["key"] == "532322"
    assert summary.json["by_county"][0]["amount"] is None

    reversed_ = client.post(
        f"/api/v1/funds/releases/{number}/reverse",
        headers=auth("finance2"),
        json={"reason": "误拨，资金已追回"},
    )
    assert reversed_.status_code == 201
    assert reversed_.json["reverses"] == number
    assert reversed_.json["amount"] == "3000.00"
    assert reversed_.json["state"] == "proposed"
    pending = client.get(f"/api/v1/funds/releases/{number}", headers=auth("finance"))
    assert (pending.json["reversed"], pending.json["reversal_pending"]) == (
        False,
        reversed_.json["number"],
    )
    approve = f"/api/v1/funds/reversals/{reversed_.json['number']}/approve"
    for who in ("finance2", "finance"):  # the proposer, the payer
        refused = client.post(approve, headers=auth(who))
        assert refused.status_code == 403, refused.json
    approved = client.post(approve, headers=auth("admin"))
    assert approved.status_code == 200, approved.json
    assert (approved.json["state"], approved.json["decided_by"]) == ("approved", "admin")
    again = client.get(f"/api/v1/funds/releases/{number}", headers=auth("finance"))
    assert again.json["reversed"] is True
    assert again.json["reversed_by"] == reversed_.json["number"]
    listed = client.get("/api/v1/funds/reversals", headers=auth("auditor"))
    assert [r["number"] for r in listed.json["results"]] == [reversed_.json["number"]]


BAD_AMOUNTS = [
    (3000.5, "字符串"),
    (3000, "字符串"),
    ("3000.001", "两位小数"),
    ("-1.00", "不带符号"),
    ("0.00", "大于零"),
    ("", None),
    (None, None),
]

BAD_BODIES = [
    ({"beneficiaries": "15"}, "beneficiaries"),
    ({"beneficiaries": 1.5}, "beneficiaries"),
    ({"purpose": "banquet"}, "purpose"),
    ({"appropriation": "XD-2024-999999"}, "appropriation"),
    ({"unexpected": 1}, "unexpected"),
    ({"description": "x\u0000y"}, "description"),
]


def test_bad_amounts_and_bodies_are_4xx_naming_the_field(client, world, auth):
    appropriation = make_appropriation(world, make_source(world))
    for amount, fragment in BAD_AMOUNTS:
        response = client.post(
            "/api/v1/funds/releases",
            headers=auth("requester_sb"),
            json=release_body(appropriation, amount=amount),
        )
        assert response.status_code == 422, (amount, response.json)
        assert set(response.json) == ERROR_KEYS
        assert "amount" in response.json["errors"]
        if fragment:
            assert fragment in response.json["errors"]["amount"][0], amount
    for change, field in BAD_BODIES:
        response = client.post(
            "/api/v1/funds/releases",
            headers=auth("requester_sb"),
            json={**release_body(appropriation), **change},
        )
        assert response.status_code in (404, 422), (change, response.json)
        assert field in response.json["errors"], change
    exact = client.post(
        "/api/v1/funds/releases",
        headers=auth("requester_sb"),
        json=release_body(appropriation, amount="1000"),
    )
    assert exact.status_code == 201  # whole yuan need no decimals
    assert exact.json["amount"] == "1000.00"


def test_approval_beyond_the_appropriation_is_409(client, world, auth):
    appropriation = make_appropriation(world, make_source(world), "5000.00")
    first = file_release(world, appropriation, "3000.00")
    second = file_release(world, appropriation, "3000.00")
    for number in (first, second):
        client.post(f"/api/v1/funds/releases/{number}/verify", headers=auth("finance"), json={})
    assert (
        client.post(f"/api/v1/funds/releases/{first}/approve", headers=auth("finance2")).status_code
        == 200
    )
    refused = client.post(f"/api/v1/funds/releases/{second}/approve", headers=auth("finance2"))
    assert refused.status_code == 409
    assert "amount" in refused.json["errors"]
    assert "2000.00" in refused.json["message"]


def test_requesters_see_only_their_county_and_auditors_only_read(client, world, auth):
    source = make_source(world)
    mine = make_appropriation(world, source, county="532322")
    theirs = make_appropriation(world, source, county="532301")
    own = paid_release(world, mine, "100.00")
    other = paid_release(world, theirs, "100.00", county="532301")
    listed = client.get("/api/v1/funds/releases", headers=auth("requester_sb"))
    assert [r["number"] for r in listed.json["results"]] == [own]
    assert listed.json["total"] == 1
    appropriations = client.get("/api/v1/funds/appropriations", headers=auth("requester_sb"))
    assert [r["number"] for r in appropriations.json["results"]] == [mine]
    hidden = client.get(f"/api/v1/funds/releases/{other}", headers=auth("requester_sb"))
    missing = client.get("/api/v1/funds/releases/ZF-2024-999999", headers=auth("requester_sb"))
    assert hidden.status_code == missing.status_code == 404  # existence is not revealed
    assert hidden.json["message"] == f"资金拨付申请不存在：{other}"
    for path in ("/api/v1/funds/sources", "/api/v1/funds/summary", "/api/v1/funds/reversals"):
        assert client.get(path, headers=auth("requester_sb")).status_code == 403
        assert client.get(path, headers=auth("auditor")).status_code == 200
    assert client.get("/api/v1/funds/releases", headers=auth("keeper_zx")).status_code == 403
    everything = client.get("/api/v1/funds/releases", headers=auth("auditor"))
    assert everything.json["total"] == 2
    refused = client.post(
        "/api/v1/funds/releases", headers=auth("auditor"), json=release_body(mine)
    )
    assert refused.status_code == 403
    refused = client.post(
        "/api/v1/funds/releases", headers=auth("requester_sb"), json=release_body(theirs)
    )
    assert refused.status_code == 404  # another county's appropriation: as if missing


def test_unknown_and_malformed_requests_are_clean_errors(client, world, auth):
    finance = auth("finance")
    assert client.get("/api/v1/funds/releases").status_code == 401
    assert client.get("/api/v1/funds/releases/ZF-2024-999999", headers=finance).status_code == 404
    long_number = client.get("/api/v1/funds/sources/" + "Z" * 200, headers=finance)
    assert long_number.status_code == 422
    assert client.get("/api/v1/funds/releases?state=paid", headers=finance).status_code == 422
    assert client.get("/api/v1/funds/summary?year=abc", headers=finance).status_code == 422
    assert client.get("/api/v1/funds/trace?item=TENT-12", headers=finance).status_code == 422
    missing = client.get("/api/v1/funds/trace?item=TENT-12&lot=NOPE", headers=finance)
    assert missing.status_code == 404
    broken = client.post(
        "/api/v1/funds/sources",
        headers=finance,
        data="{not json",
        content_type="application/json",
    )
    assert broken.status_code == 400
    source = make_source(world, "100.00")
    twice = {
        "source": source,
        "county": "532322",
        "document_number": "楚财社〔2024〕1号",
        "amount": "100.00",
    }
    assert (
        client.post("/api/v1/funds/appropriations", headers=finance, json=twice).status_code == 201
    )
    over = client.post("/api/v1/funds/appropriations", headers=finance, json=twice)
    assert over.status_code == 409
    assert "amount" in over.json["errors"]
    number = file_release(world, make_appropriation(world, make_source(world)), "10.00")
    assert (
        client.post(f"/api/v1/funds/releases/{number}/release", headers=finance).status_code == 409
    )
    no_reason = client.post(
        f"/api/v1/funds/releases/{number}/reject", headers=finance, json={"reason": ""}
    )
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json["errors"]


def test_committed_means_approved_not_yet_paid_in_the_api_and_in_reconcile(client, world, auth):
    """One word, one meaning: the appropriation's ``committed`` and the summary's are both
    approved-unpaid money; paid money is ``released``; ``remaining`` takes both off."""
    from tests.funds_factories import pay, verify_and_approve

    appropriation = make_appropriation(world, make_source(world), "1000.00")
    number = file_release(world, appropriation, "300.00")
    verify_and_approve(world, number)

    def figures() -> tuple[tuple[str, str, str], tuple[str, str]]:
        row = client.get(f"/api/v1/funds/appropriations/{appropriation}", headers=auth("finance"))
        summary = client.get("/api/v1/funds/summary", headers=auth("finance")).json
        (county,) = [r for r in summary["by_county"] if r["key"] == "532322"]
        return (
            (row.json["committed"], row.json["released"], row.json["remaining"]),
            (county["committed"], county["released"]),
        )

    assert figures() == (("300.00", "0.00", "700.00"), ("300.00", "0.00"))
    pay(world, number)
    assert figures() == (("0.00", "300.00", "700.00"), ("0.00", "300.00"))
