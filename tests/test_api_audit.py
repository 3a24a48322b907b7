"""The audit log and ``/me`` over HTTP; refused credentials answer 401, other roles 403."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.services import chain_head
from relief_inventory.auth import services as auth
from relief_inventory.auth.models import ApiToken
from relief_inventory.timeutil import utcnow
from tests.factories import PASSWORD, bearer, build_world, receive_basic

NOT_READERS = ["keeper_zx", "dispatcher", "requester_sb", "finance"]


@pytest.fixture
def world(app):
    world = build_world(app.extensions["relief_engine"])
    receive_basic(world, 10)
    return world


@pytest.fixture
def engine_of(app):
    return app.extensions["relief_engine"]


def refusals(engine, actor: str, action: str = "refused") -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.actor == actor)
        return list(session.scalars(query))


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_auditors_and_admins_read_the_log(client, world, who):
    headers = bearer(world, who)
    for path in ("/api/v1/audit", "/api/v1/audit/export.csv", "/api/v1/audit/head"):
        assert client.get(path, headers=headers).status_code == 200, path
    assert client.get("/api/v1/audit/verify", headers=headers).json["ok"] is True


def test_other_roles_are_refused_and_the_refusal_is_logged(client, world, engine_of):
    for who in NOT_READERS:
        response = client.get("/api/v1/audit", headers=bearer(world, who))
        assert response.status_code == 403, who
        assert response.json["code"] == "forbidden"
        assert len(refusals(engine_of, who)) == 1
    assert client.get("/api/v1/audit/head").status_code == 401


def test_listing_filters_and_pages(client, world):
    headers = bearer(world, "auditor")
    everything = client.get("/api/v1/audit?per_page=5", headers=headers).json
    assert everything["per_page"] == 5 and len(everything["results"]) == 5
    assert everything["pages"] == -(-everything["total"] // 5)
    seqs = [entry["seq"] for entry in everything["results"]]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    lots = client.get(
        "/api/v1/audit?entity_type=lot&actor=keeper_zx&action=create", headers=headers
    ).json
    assert lots["total"] == 2  # the tent lot and the rice lot
    entry = lots["results"][0]
    assert entry["changes"]["number"][0] is None and entry["at_local"].endswith("+08:00")
    today = utcnow().astimezone().date()
    window = client.get(
        f"/api/v1/audit?since={today - timedelta(days=1)}&until={today + timedelta(days=1)}",
        headers=headers,
    ).json
    assert window["total"] == everything["total"]
    future = client.get("/api/v1/audit?since=2999-01-01", headers=headers).json
    assert future["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("until=2025-13-01", "until"),
        ("since=2025-06-02&until=2025-06-01", "until"),
        ("since=0001-01-01", "since"),
        ("until=9999-12-31", "until"),
        ("per_page=100000", "per_page"),
    ],
)
def test_bad_filters_are_422_naming_the_field(client, world, query, field):
    response = client.get(f"/api/v1/audit?{query}", headers=bearer(world, "auditor"))
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_csv_export_in_shanghai_time(client, world, engine_of):
    with pytest.raises(auth.Unauthenticated):  # a formula typed as a user name at login
        auth.authenticate(engine_of, "=HYPERLINK(1)", "x")
    response = client.get(
        "/api/v1/audit/export.csv?entity_type=security", headers=bearer(world, "auditor")
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    (row,) = rows
    assert row["entity_id"] == "'=HYPERLINK(1)"  # never a live formula
    assert row["at"].endswith("+08:00")
    assert list(rows[0]) == [
        "seq",
        "at",
        "actor_id",
        "actor",
        "action",
        "entity_type",
        "entity_id",
        "changes",
        "reason",
        "prev_hash",
        "hash",
    ]
    empty = client.get(
        "/api/v1/audit/export.csv?actor=nobody", headers=bearer(world, "auditor")
    ).get_data(as_text=True)
    assert empty.count("\r\n") == 1  # the header alone


def test_head_and_verify_against_it(client, world, engine_of):
    headers = bearer(world, "auditor")
    head = client.get("/api/v1/audit/head", headers=headers).json
    with Session(engine_of) as session:
        assert (head["seq"], head["hash"]) == chain_head(session)
    receive_basic(world, 1, depot="SB")
    checked = client.get(f"/api/v1/audit/verify?head={head['head']}", headers=headers).json
    assert checked["ok"] and checked["entries"] > head["seq"]
    wrong = client.get(f"/api/v1/audit/verify?head={head['seq']}:{'0' * 64}", headers=headers)
    assert wrong.json["ok"] is False and "链头" in wrong.json["problems"][0]
    bad = client.get("/api/v1/audit/verify?head=nonsense", headers=headers)
    assert bad.status_code == 422 and "head" in bad.json["errors"]


def test_me_shows_roles_and_scopes(client, world):
    keeper = client.get("/api/v1/me", headers=bearer(world, "keeper_zx")).json
    assert keeper["roles"] == ["keeper"] and keeper["depots"] == ["ZX"]
    assert keeper["grants"] == [{"role": "keeper", "depot": "ZX", "county": None}]
    requester = client.get("/api/v1/me", headers=bearer(world, "requester_sb")).json
    assert requester["counties"] == ["532322"] and requester["depots"] == []
    assert client.get("/api/v1/me").status_code == 401


def test_withdrawn_and_expired_tokens_are_401(client, world, engine_of):
    headers = bearer(world, "keeper_zx")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with Session(engine_of) as session:
        token = session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    with world.uow("keeper_zx") as uow:
        auth.revoke_token(uow, token.prefix)
    revoked = client.get("/api/v1/me", headers=headers)
    assert revoked.status_code == 401 and "吊销" in revoked.json["message"]
    assert len(refusals(engine_of, "keeper_zx", "token_refused")) == 1

    headers = bearer(world, "finance")
    with world.uow("admin") as uow:
        auth.set_active(uow, "finance", False)
    assert client.get("/api/v1/me", headers=headers).status_code == 401

    headers = bearer(world, "dispatcher")
    with world.uow("admin") as uow:  # the token's time runs out
        row = uow.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
        row.expires_at = utcnow() - timedelta(seconds=1)
    expired = client.get("/api/v1/me", headers=headers)
    assert expired.status_code == 401 and "过期" in expired.json["message"]
    for header in ({"Authorization": "Bearer rlf_forged"}, {"Authorization": "Basic x"}, {}):
        assert client.get("/api/v1/me", headers=header).status_code == 401


def test_repeated_wrong_passwords_lock_the_login(client, world):
    for _ in range(auth.MAX_FAILED_LOGINS):
        response = client.post(
            "/api/v1/auth/token", json={"username": "finance", "password": "wrong-password"}
        )
        assert response.status_code == 401
    locked = client.post("/api/v1/auth/token", json={"username": "finance", "password": PASSWORD})
    assert locked.status_code == 401 and "锁定" in locked.json["message"]
