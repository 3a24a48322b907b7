"""Failed logins are limited per client address, on SQLite and PostgreSQL: a guesser locks
a name only from their own address (the owner still logs in from theirs), an address that
fails too often gets 429 without a password check or an audit entry, and unknown names
get the same answer after the same scrypt work as known ones.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.auth import passwords
from relief_inventory.auth import services as auth
from relief_inventory.errors import TooManyRequests, Unauthenticated
from tests.factories import PASSWORD, build_world

GUESSER, OWNER = "203.0.113.9", "10.0.0.5"


@pytest.fixture
def world(engine):
    return build_world(engine)


def log_size(engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count(AuditEntry.seq))) or 0)


def actions(engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def fail(engine, name: str, client: str = GUESSER, password: str = "wrong-password") -> Exception:
    with pytest.raises((Unauthenticated, TooManyRequests)) as caught:
        auth.authenticate(engine, name, password, client=client)
    return caught.value


def test_a_guesser_locks_the_admin_only_from_their_own_address(world, engine):
    for _ in range(auth.MAX_FAILED_LOGINS):
        fail(engine, "admin")
    locked = fail(engine, "admin", password=PASSWORD)  # even the right password, from there
    assert isinstance(locked, Unauthenticated) and "锁定" in locked.message
    assert auth.authenticate(engine, "admin", PASSWORD, client=OWNER).username == "admin"
    assert actions(engine).count("account_locked") == 1


def test_unknown_names_are_answered_and_locked_like_known_ones(world, engine, monkeypatch):
    checked: list[str] = []
    real = passwords.verify_password

    def counting(password: str, stored: str) -> bool:
        checked.append(stored)
        return real(password, stored)

    monkeypatch.setattr(auth, "verify_password", counting)
    known, unknown = fail(engine, "finance"), fail(engine, "nobody-here")
    assert (type(known), known.message, known.errors) == (
        type(unknown),
        unknown.message,
        unknown.errors,
    )
    assert len(checked) == 2  # scrypt work done for the unknown name as well
    for _ in range(auth.MAX_FAILED_LOGINS - 1):
        fail(engine, "finance"), fail(engine, "nobody-here")
    known, unknown = fail(engine, "finance", password=PASSWORD), fail(engine, "nobody-here")
    assert known.message == unknown.message and "锁定" in known.message
    assert len(checked) == 2 * (auth.MAX_FAILED_LOGINS + 1)  # locked answers do the work too


def test_an_address_that_fails_too_often_gets_429_and_floods_nothing(world, engine, monkeypatch):
    names = [f"guess-{n}" for n in range(auth.MAX_ADDRESS_FAILURES)]
    for name in names:  # one try per name: no name lock, only the address count grows
        fail(engine, name)
    assert actions(engine).count("login_rate_limited") == 1
    size = log_size(engine)
    checked: list[str] = []
    monkeypatch.setattr(auth, "verify_password", lambda p, s: checked.append(s) or False)
    for _ in range(30):
        limited = fail(engine, "admin", password=PASSWORD)
        assert isinstance(limited, TooManyRequests) and limited.status == 429
    assert log_size(engine) == size  # no entry per refused attempt
    assert checked == []  # and no scrypt work to burn
    monkeypatch.undo()
    assert auth.authenticate(engine, "admin", PASSWORD, client=OWNER).username == "admin"


def test_the_window_slides_and_a_reset_password_lifts_the_lock(world, engine, monkeypatch):
    for _ in range(auth.MAX_FAILED_LOGINS):
        fail(engine, "finance")
    with world.uow() as uow:
        auth.change_password(uow, "finance", "a-new-password")
    assert auth.authenticate(engine, "finance", "a-new-password", client=GUESSER)
    for _ in range(auth.MAX_FAILED_LOGINS):
        fail(engine, "finance2")
    later = auth.utcnow() + auth.LOCKOUT
    monkeypatch.setattr(auth, "utcnow", lambda: later)
    assert auth.authenticate(engine, "finance2", PASSWORD, client=GUESSER).username == "finance2"


def test_the_api_counts_per_client_address(client, world):
    body = {"username": "admin", "password": "wrong-password"}
    guesser = {"REMOTE_ADDR": GUESSER}
    for _ in range(auth.MAX_FAILED_LOGINS):
        assert client.post("/api/v1/auth/token", json=body, environ_base=guesser).status_code == 401
    good = {**body, "password": PASSWORD}
    locked = client.post("/api/v1/auth/token", json=good, environ_base=guesser)
    assert locked.status_code == 401 and "锁定" in locked.json["message"]
    owner = client.post("/api/v1/auth/token", json=good, environ_base={"REMOTE_ADDR": OWNER})
    assert owner.status_code == 201
    for n in range(auth.MAX_ADDRESS_FAILURES):
        client.post("/api/v1/auth/token", json={**body, "username": f"x{n}"}, environ_base=guesser)
    limited = client.post("/api/v1/auth/token", json=good, environ_base=guesser)
    assert limited.status_code == 429 and limited.json["code"] == "too_many_requests"
