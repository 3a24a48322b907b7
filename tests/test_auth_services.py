"""Users, role grants, passwords, lockout and tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.queries import AuditFilters, filtered
from relief_inventory.auth import services as auth
from relief_inventory.auth.actor import Role
from relief_inventory.auth.models import ApiToken, LoginFailure, User
from relief_inventory.auth.passwords import token_digest
from relief_inventory.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from relief_inventory.timeutil import utcnow
from tests.factories import PASSWORD, build_world


@pytest.fixture
def world(engine):
    return build_world(engine)


def entries(engine, **filters) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(filtered(AuditFilters(**filters))))


def log_size(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(AuditEntry))


def later(monkeypatch, **delta) -> None:
    """Let time pass for the auth services."""
    moment = utcnow() + timedelta(**delta)
    monkeypatch.setattr(auth, "utcnow", lambda: moment)


# -- users and roles ---------------------------------------------------------------------------


def test_only_admins_create_users_and_the_refusal_is_logged(world, engine):
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        auth.create_user(uow, "mallory", PASSWORD)
    with Session(engine) as session:
        assert session.scalar(select(User).where(User.username == "mallory")) is None
    (refusal,) = entries(engine, action="refused")
    assert refusal.actor == "keeper_zx" and refusal.entity_type == "security"
    assert json.loads(refusal.changes)["code"] == "forbidden"


BAD_USERS = [
    ("x", PASSWORD, InvalidInput, "username"),
    ("has space", PASSWORD, InvalidInput, "username"),
    ("a" * 65, PASSWORD, InvalidInput, "username"),
    ("newuser", "short", InvalidInput, "password"),
    ("keeper_zx", PASSWORD, Conflict, "username"),
]

BAD_GRANTS = [
    ("superuser", None, None, InvalidInput, "role"),
    (Role.KEEPER, None, None, InvalidInput, "depot"),
    (Role.KEEPER, "NOPE", None, NotFound, "depot"),
    (Role.REQUESTER, None, None, InvalidInput, "county"),
    (Role.REQUESTER, None, "999999", NotFound, "county"),
    (Role.DISPATCHER, "ZX", None, InvalidInput, "role"),
]


def test_bad_users_and_grants_are_refused_naming_the_field_and_nothing_is_written(world, engine):
    before = log_size(engine)
    for username, password, error, field in BAD_USERS:
        with pytest.raises(error) as caught, world.uow() as uow:
            auth.create_user(uow, username, password)
        assert caught.value.field == field, username
    for role, depot, county, error, field in BAD_GRANTS:
        with pytest.raises(error) as caught, world.uow() as uow:
            auth.grant_role(uow, "finance", role, depot_code=depot, county_code=county)
        assert caught.value.field == field, role
    assert log_size(engine) == before


def test_unknown_user_cannot_be_granted_a_role(world):
    with pytest.raises(NotFound) as caught, world.uow() as uow:
        auth.grant_role(uow, "ghost", Role.AUDITOR)
    assert caught.value.field == "username"


def test_a_requester_belongs_to_one_county(world):
    with pytest.raises(InvalidInput) as caught, world.uow() as uow:
        auth.grant_role(uow, "requester_sb", Role.REQUESTER, county_code="532327")
    assert caught.value.field == "county"


def test_a_user_may_hold_several_roles_with_scopes(world, engine):
    with world.uow() as uow:
        auth.grant_role(uow, "keeper_sb", Role.KEEPER, depot_code="YR")
        auth.grant_role(uow, "keeper_sb", Role.FINANCE)
    with Session(engine) as session:
        actor = auth.actor_for(session, auth.user_by_name(session, "keeper_sb"))
    assert actor.roles == {Role.KEEPER, Role.FINANCE}
    assert len(actor.depot_ids) == 2


def test_passwords_are_stored_and_logged_only_as_hashes(world, engine):
    with Session(engine) as session:
        stored = auth.user_by_name(session, "finance").password_hash
        user_id = auth.user_by_name(session, "finance").id
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    (created,) = entries(engine, entity_type="app_user", entity_id=str(user_id), action="create")
    logged = json.loads(created.changes)["password_hash"][1]
    assert logged.startswith("sha256:") and logged != stored


# -- logging in --------------------------------------------------------------------------------


def test_a_good_password_logs_in(world, engine):
    actor = auth.authenticate(engine, "keeper_zx", PASSWORD)
    assert actor.username == "keeper_zx" and actor.roles == {Role.KEEPER}


def test_bad_logins_are_refused_and_logged(world, engine):
    attempts = [("keeper_zx", "wrong-password"), ("ghost", PASSWORD), ("", ""), ("x" * 500, "")]
    for username, password in attempts:
        with pytest.raises(Unauthenticated):
            auth.authenticate(engine, username, password)
    failures = entries(engine, action="login_failed")
    assert len(failures) == len(attempts)
    assert all(len(entry.actor) <= 64 for entry in failures)


def test_a_disabled_user_cannot_log_in_even_with_the_right_password(world, engine):
    with world.uow() as uow:
        auth.set_active(uow, "finance", False)
    with pytest.raises(Unauthenticated):
        auth.authenticate(engine, "finance", PASSWORD)


def test_the_system_user_cannot_be_disabled(world):
    with pytest.raises(InvalidInput), world.uow() as uow:
        auth.set_active(uow, "system", False)


def test_repeated_failures_lock_the_account_for_a_while(world, engine, monkeypatch):
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthenticated):
            auth.authenticate(engine, "finance", "wrong-password")
    assert len(entries(engine, action="account_locked")) == 1
    with pytest.raises(Unauthenticated) as caught:  # locked: even the right password
        auth.authenticate(engine, "finance", PASSWORD)
    assert "锁定" in caught.value.message
    assert len(entries(engine, action="login_refused_locked")) == 1
    later(monkeypatch, minutes=auth.LOCKOUT_MINUTES, seconds=1)
    assert auth.authenticate(engine, "finance", PASSWORD).username == "finance"
    with Session(engine) as session:  # the window has passed: nothing is counted any more
        assert session.scalar(select(func.count(LoginFailure.id))) == 0


def test_four_failures_do_not_lock_and_a_success_resets_the_count(world, engine):
    for _ in range(auth.MAX_FAILED_LOGINS - 1):
        with pytest.raises(Unauthenticated):
            auth.authenticate(engine, "finance", "wrong-password")
    auth.authenticate(engine, "finance", PASSWORD)
    with pytest.raises(Unauthenticated):
        auth.authenticate(engine, "finance", "wrong-password")
    assert auth.authenticate(engine, "finance", PASSWORD).username == "finance"


def test_an_admin_password_reset_lifts_the_lock(world, engine):
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthenticated):
            auth.authenticate(engine, "finance", "wrong-password")
    with world.uow() as uow:
        auth.change_password(uow, "finance", "a-new-password")
    assert auth.authenticate(engine, "finance", "a-new-password").username == "finance"


def test_users_change_only_their_own_password(world):
    with world.uow("finance") as uow:
        auth.change_password(uow, "finance", "my-new-password")
    with pytest.raises(PermissionDenied), world.uow("finance") as uow:
        auth.change_password(uow, "finance2", "not-yours-123")


# -- tokens ------------------------------------------------------------------------------------


def issue(world, username: str = "finance", days: int = 1) -> tuple[int, str]:
    with world.uow(username) as uow:
        row, text = auth.issue_token(uow, username, days)
        return row.id, text


def test_tokens_are_stored_only_as_hashes_and_expire(world, engine):
    token_id, text = issue(world, days=30)
    with Session(engine) as session:
        row = session.get(ApiToken, token_id)
        assert row.token_hash == token_digest(text) and text not in row.token_hash
        assert row.expires_at.tzinfo is not None  # aware on SQLite too
        assert row.expires_at.utcoffset() == timedelta(0)
        assert timedelta(days=29) < row.expires_at - utcnow() <= timedelta(days=30)
        assert auth.actor_for_token(session, text).username == "finance"
    (created,) = entries(engine, entity_type="api_token", action="create")
    assert text not in created.changes and text[:12] in created.changes


def test_an_expired_token_is_refused_without_a_log_entry(world, engine, monkeypatch):
    _token_id, text = issue(world, days=1)
    before = log_size(engine)
    later(monkeypatch, days=1, seconds=1)
    with Session(engine) as session, pytest.raises(Unauthenticated) as caught:
        auth.actor_for_token(session, text)
    assert "过期" in caught.value.message
    assert log_size(engine) == before


def test_a_revoked_token_is_refused_and_its_use_logged(world, engine):
    token_id, text = issue(world)
    with world.uow("finance") as uow:
        auth.revoke_token(uow, str(token_id))
    (revoked,) = entries(engine, entity_type="api_token", action="update")
    assert json.loads(revoked.changes)["revoked_at"][0] is None
    with Session(engine) as session, pytest.raises(Unauthenticated) as caught:
        auth.actor_for_token(session, text)
    assert "吊销" in caught.value.message
    (refused,) = entries(engine, action="token_refused")
    assert refused.actor == "finance" and json.loads(refused.changes)["reason"] == "revoked"


def test_disabling_a_user_revokes_their_tokens_for_good(world, engine):
    _token_id, text = issue(world)
    with world.uow() as uow:
        auth.set_active(uow, "finance", False)
    with Session(engine) as session, pytest.raises(Unauthenticated):
        auth.actor_for_token(session, text)
    (refused,) = entries(engine, action="token_refused")
    assert json.loads(refused.changes)["reason"] == "revoked"
    with pytest.raises(Conflict), world.uow() as uow:
        auth.issue_token(uow, "finance")
    with world.uow() as uow:
        auth.set_active(uow, "finance", True)
    with Session(engine) as session, pytest.raises(Unauthenticated) as caught:
        auth.actor_for_token(session, text)  # enabled again: the old token stays dead
    assert "吊销" in caught.value.message
    with Session(engine) as session:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(text)))
        assert token is not None and token.revoked_at is not None
    with world.uow() as uow:
        _row, fresh = auth.issue_token(uow, "finance")
    with Session(engine) as session:
        assert auth.actor_for_token(session, fresh).username == "finance"


def test_an_unknown_token_is_refused(world, engine):
    with Session(engine) as session, pytest.raises(Unauthenticated):
        auth.actor_for_token(session, "rlf_not-a-token")


def test_token_lifetime_is_checked(world):
    for days in (0, -1, auth.MAX_TOKEN_DAYS + 1, True, "7"):
        with pytest.raises(InvalidInput) as caught, world.uow() as uow:
            auth.issue_token(uow, "finance", days)
        assert caught.value.field == "days"


def test_tokens_for_others_and_their_revocation_need_an_admin(world):
    with pytest.raises(PermissionDenied), world.uow("finance") as uow:
        auth.issue_token(uow, "finance2")
    token_id, _text = issue(world, "finance2")
    with pytest.raises(PermissionDenied), world.uow("finance") as uow:
        auth.revoke_token(uow, str(token_id))
    with world.uow("admin") as uow:
        assert auth.revoke_token(uow, str(token_id)).revoked_at is not None


def test_revoking_an_unknown_token_is_not_found(world):
    for key in ("nope", "99999999999999999999999", ""):
        with pytest.raises(NotFound), world.uow() as uow:
            auth.revoke_token(uow, key)


def test_token_times_round_trip_as_utc(world, engine):
    token_id, _text = issue(world)
    with Session(engine) as session:
        row = session.get(ApiToken, token_id)
        assert row.created_at.tzinfo is not None
        assert row.created_at.astimezone(UTC) <= utcnow()


def test_grant_roles_fans_out_per_depot_and_county(world, engine):
    with world.uow() as uow:
        auth.create_user(uow, "li_wei", PASSWORD)
        grants = auth.grant_roles(
            uow, "li_wei", ["keeper", "finance", "keeper"], depots=["ZX", "SB"], counties=[]
        )
        assert len(grants) == 3  # a keeper grant per depot, one finance grant
    with Session(engine) as session:
        actor = auth.actor_for(session, auth.user_by_name(session, "li_wei"))
    assert actor.roles == {Role.KEEPER, Role.FINANCE} and len(actor.depot_ids) == 2
    with pytest.raises(InvalidInput) as refused, world.uow() as uow:
        auth.grant_roles(uow, "li_wei", ["requester"])  # a requester needs a county
    assert refused.value.field == "county"


def test_a_user_sets_their_own_language_strictly_and_audited(world, engine):
    with world.uow("finance") as uow:
        assert auth.set_locale(uow, "en").locale == "en"
    for bad in ("fr", "EN", "", None, 1, ["en"]):
        with pytest.raises(InvalidInput) as caught, world.uow("finance") as uow:
            auth.set_locale(uow, bad)
        assert caught.value.field == "locale"
    with Session(engine) as session:
        users = {u.username: u.locale for u in session.scalars(select(User))}
    assert users["finance"] == "en" and users["auditor"] == "zh_Hans_CN"
    (changed,) = [
        e
        for e in entries(engine, entity_type="app_user", action="update")
        if "locale" in json.loads(e.changes)
    ]
    assert changed.actor == "finance"
    assert json.loads(changed.changes)["locale"] == ["zh_Hans_CN", "en"]
