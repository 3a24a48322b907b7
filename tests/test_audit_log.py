"""What the audit log records, and what can never bypass it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.registry import UnauditedWrite
from relief_inventory.audit.verify import verify
from relief_inventory.auth import services as auth
from relief_inventory.errors import PermissionDenied
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import Item, Lot, Quant, StockDocument
from relief_inventory.warehouse.models import County
from tests.conftest import outside_sql
from tests.factories import build_world, receive_basic


@pytest.fixture
def world(engine):
    return build_world(engine)


def log(engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def changes(entry: AuditEntry) -> dict:
    return json.loads(entry.changes)


def test_every_kind_of_change_is_logged_with_who_when_and_what(world, engine):
    number = receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        stock.set_lot_status(uow, item="TENT-12", lot="T-ZX-1", status="damaged", reason="雨淋")
    with world.uow("keeper_zx") as uow:
        stock.set_lot_status(uow, item="TENT-12", lot="T-ZX-1", status="available", reason="复检")
    with world.uow("keeper_zx") as uow:
        token, _text = auth.issue_token(uow, "keeper_zx")
    with world.uow("keeper_zx") as uow:
        auth.revoke_token(uow, token.prefix)
    with world.uow("admin") as uow:
        auth.set_active(uow, "finance2", False)
    entries = log(engine)
    created = {e.entity_type for e in entries if e.action == "create"}
    assert created >= {
        "app_user",
        "role_grant",
        "api_token",
        "county",
        "depot",
        "location",
        "category",
        "item",
        "owner",
        "lot",
        "stock_document",
        "stock_move",
        "depot_lot_status",
    }
    updates = {(e.entity_type, *changes(e)) for e in entries if e.action == "update"}
    assert {("api_token", "revoked_at"), ("app_user", "active")} <= updates
    lot_update = next(
        e for e in entries if e.action == "update" and e.entity_type == "depot_lot_status"
    )
    assert changes(lot_update)["status"] == ["damaged", "available"]
    assert lot_update.reason == "复检" and lot_update.actor == "keeper_zx"
    assert lot_update.actor_id == world.actors["keeper_zx"].user_id
    assert lot_update.at.tzinfo is not None and lot_update.at.utcoffset() == UTC.utcoffset(None)
    document = next(
        e
        for e in entries
        if e.entity_type == "stock_document" and changes(e).get("number", [None, None])[1] == number
    )
    assert document.action == "create" and document.actor == "keeper_zx"
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert all(e.prev_hash == p.hash for p, e in pairwise(entries))
    with Session(engine) as session:
        assert verify(session).ok


def test_a_rolled_back_change_leaves_no_entry(world, engine):
    before = log(engine)
    with pytest.raises(RuntimeError), world.uow("keeper_zx") as uow:
        stock.receive(uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "RB", "quantity": 1}])
        raise RuntimeError("the caller fails after the service wrote")
    assert log(engine) == before
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(StockDocument)) == 0


def test_an_entry_never_exists_without_its_change(world, engine):
    """Entries are written in the change's transaction: if the commit fails, both go."""
    before = log(engine)

    def failing_commit() -> None:
        raise RuntimeError("connection lost at commit")

    with pytest.raises(RuntimeError), world.uow("keeper_zx") as uow:
        stock.receive(uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "CF", "quantity": 1}])
        uow.session.commit = failing_commit  # the audit append runs, then the commit fails
    assert log(engine) == before
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Lot)) == 0


def test_a_refusal_writes_only_its_security_entry(world, engine):
    before = log(engine)
    with pytest.raises(PermissionDenied), world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "X", "quantity": 1}])
    (refusal,) = log(engine)[len(before) :]
    assert (refusal.action, refusal.entity_type, refusal.actor) == (
        "refused",
        "security",
        "keeper_sb",
    )
    assert "保管员" in changes(refusal)["message"]


@pytest.mark.parametrize(
    "statement",
    [
        update(Lot).values(status="damaged"),
        Lot.__table__.update().values(status="damaged"),
        delete(Lot),
        insert(Lot).values(item_id=1, number="BULK", origin="purchase", status="available"),
        text("UPDATE lot SET status = 'damaged'"),
        text("delete from stock_move"),
        text('INSERT OR REPLACE INTO "lot" (id) VALUES (1)'),
    ],
    ids=["orm-update", "core-update", "delete", "insert", "raw", "raw-delete", "raw-replace"],
)
def test_bulk_and_raw_writes_to_audited_tables_are_refused(world, engine, statement):
    receive_basic(world, 5)
    before = log(engine)
    with pytest.raises(UnauditedWrite), world.uow("admin") as uow:
        uow.session.execute(statement)
    assert log(engine) == before
    with Session(engine) as session:
        assert set(session.scalars(select(Lot.status))) == {"available"}
        assert verify(session).ok


def test_orm_query_delete_is_refused_too(world, engine):
    """Flask-Admin's "fast mass delete" is ``query.delete()`` underneath."""
    receive_basic(world, 5)
    with pytest.raises(UnauditedWrite), world.uow("admin") as uow:
        uow.session.query(Lot).filter(Lot.number == "T-ZX-1").delete()


def test_unaudited_tables_still_take_conditional_updates(world, engine):
    receive_basic(world, 5)
    with world.uow("admin") as uow:  # quants change by atomic UPDATEs (stock/quants.py)
        uow.session.execute(update(Quant).where(Quant.on_hand < 0).values(on_hand=0))


def raw(engine, sql: str, actor: str | None = "mallory") -> None:
    """A write behind the application's back, naming an actor on PostgreSQL if asked."""
    outside_sql(engine, sql, as_actor=actor)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_entry SET reason = 'rewritten' WHERE seq = 3",
        "DELETE FROM audit_entry WHERE seq = 3",
        "DELETE FROM audit_entry",
    ],
)
def test_the_database_refuses_to_change_or_delete_audit_entries(world, engine, sql):
    before = log(engine)
    with pytest.raises(DBAPIError) as caught:
        raw(engine, sql)
    assert "append-only" in str(caught.value)
    assert log(engine) == before


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE lot SET status = 'damaged'",
        "UPDATE app_user SET active = false WHERE username = 'finance'",
        "UPDATE depot SET name = 'x'",
        "UPDATE role_grant SET role = 'admin'",
        "INSERT INTO audit_entry (seq, at, actor, action, entity_type, entity_id, changes,"
        " prev_hash, hash) VALUES (100000, now(), 'x', 'x', 'x', 'x', '{}', 'p', 'h')",
    ],
)
@pytest.mark.parametrize("db_url", ["pg"], indirect=True)  # relief.actor is PostgreSQL's
def test_postgresql_refuses_writes_that_do_not_name_their_actor(world, engine, sql):
    receive_basic(world, 5)
    with pytest.raises(DBAPIError) as caught:
        raw(engine, sql, actor=None)
    assert "relief.actor unset" in str(caught.value)


def test_exact_decimals_are_logged_as_the_database_keeps_them(world, engine):
    """Decimal("3") in a money column is read back as 3.00, 25.1 as 25.10000: the log says
    so too, or every such row would look tampered with."""
    with world.uow("admin") as uow:
        county = County(code="532399", name="测试县", lat=Decimal("25.1"), lon=Decimal("101"))
        uow.session.add(county)
        item = uow.session.scalar(select(Item).where(Item.code == "TENT-12"))
        item.unit_value = Decimal("3")
    with Session(engine) as session:
        assert verify(session).ok
    update_entry = [e for e in log(engine) if e.entity_type == "item" and e.action == "update"]
    assert changes(update_entry[-1])["unit_value"] == ["1450.00", "3.00"]
