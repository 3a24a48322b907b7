"""Every door to an audited table, knocked on: it either logs the change in the same
transaction or refuses it, on SQLite and PostgreSQL. Never an unaudited row.

The "plain session" here is made the way Flask-Admin is given one (a scoped session from the
application's factory, committing by itself), and also with bare ``Session(engine)``.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import delete, event, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from relief_inventory.audit import capture
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.registry import AUDITED, UnauditedWrite, permit
from relief_inventory.audit.verify import verify
from relief_inventory.db import open_session, session_factory
from relief_inventory.errors import Conflict
from relief_inventory.stock.models import Category, Item, Lot
from relief_inventory.warehouse.models import County
from tests.conftest import outside_sql
from tests.factories import build_world, receive_basic


@pytest.fixture
def world(engine):
    world = build_world(engine)
    receive_basic(world, 5)
    return world


def entries(engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def counties(engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(County.code)))


def verified(engine) -> bool:
    with Session(engine) as session:
        result = verify(session)
        assert result.ok, result.problems
        return True


def new_county(code: str = "532399") -> County:
    return County(code=code, name="测试县", lat=Decimal("25.10000"), lon=Decimal("101.20000"))


# -- sessions that commit by themselves ----------------------------------------------------


def test_a_back_office_session_with_an_actor_logs_its_changes_in_its_own_commit(world, engine):
    """A scoped session from the factory, as Flask-Admin holds one: add, edit, commit."""
    sessions = scoped_session(session_factory(engine))
    capture.act_as(sessions(), world.actors["admin"], reason="后台维护")
    before = len(entries(engine))
    sessions.add(new_county())
    item = sessions.scalar(select(Item).where(Item.code == "TENT-12"))
    item.name = "12平方米单帐篷（新款）"
    sessions.commit()
    sessions.remove()
    logged = entries(engine)[before:]
    assert [(e.action, e.entity_type) for e in logged] == [("create", "county"), ("update", "item")]
    assert {e.actor for e in logged} == {"admin"} and {e.reason for e in logged} == {"后台维护"}
    assert json.loads(logged[1].changes)["name"][1] == "12平方米单帐篷（新款）"
    assert verified(engine)


@pytest.mark.parametrize("make", ["factory", "bare"])
def test_a_session_without_an_actor_is_refused_before_commit(world, engine, make):
    session = open_session(engine) if make == "factory" else Session(engine)
    before = entries(engine)
    session.add(new_county())
    with pytest.raises(UnauditedWrite, match="names no actor"):
        session.commit()
    session.rollback()
    item = session.scalar(select(Item).where(Item.code == "TENT-12"))
    item.name = "改名"
    with pytest.raises(UnauditedWrite):
        session.commit()
    session.close()
    assert "532399" not in counties(engine)
    assert entries(engine) == before
    assert verified(engine)


def test_a_bare_session_given_an_actor_is_audited_like_any_other(world, engine):
    with Session(engine) as session:
        capture.act_as(session, world.actors["admin"])
        session.add(new_county())
        session.commit()
    assert "532399" in counties(engine)
    assert entries(engine)[-1].entity_type == "county"
    assert verified(engine)


def test_naming_the_actor_after_the_transaction_began_still_satisfies_postgresql(world, engine):
    """The back office may read before it knows who acts; relief.actor is set at once."""
    with open_session(engine) as session:
        session.scalar(select(County.id).limit(1))  # transaction begun, no actor yet
        capture.act_as(session, world.actors["admin"])
        session.add(new_county())
        session.commit()
    assert "532399" in counties(engine)


def test_rolled_back_savepoints_and_transactions_leave_no_entries(world, engine):
    before = len(entries(engine))
    with open_session(engine, world.actors["admin"]) as session:
        session.add(new_county("532391"))
        savepoint = session.begin_nested()
        session.add(new_county("532392"))
        session.flush()
        capture.record(session, "note", "county", "532392")
        savepoint.rollback()
        session.commit()
    logged = entries(engine)[before:]
    assert [json.loads(e.changes)["code"][1] for e in logged] == ["532391"]
    with open_session(engine, world.actors["admin"]) as session:
        session.add(new_county("532393"))
        session.flush()
        session.rollback()
        session.add(new_county("532394"))
        session.commit()
    assert [e.entity_type for e in entries(engine)[before + 1 :]] == ["county"]
    assert counties(engine) >= {"532391", "532394"} and "532393" not in counties(engine)
    assert verified(engine)


def test_a_flush_after_the_append_cannot_commit_unlogged(world, engine):
    """Another before-commit hook (after the audit's) that flushes an audited change: the
    commit is refused (PostgreSQL: the change lands outside the committed transaction,
    where relief.actor is unset, and is refused there too)."""
    with open_session(engine, world.actors["admin"]) as session:
        session.add(new_county("532395"))

        def late_change(_session):
            session.add(new_county("532396"))
            session.flush()

        event.listen(session, "before_commit", late_change)
        with pytest.raises((UnauditedWrite, DBAPIError)):
            session.commit()
    assert "532396" not in counties(engine)
    with open_session(engine, world.actors["admin"]) as session:  # nothing else to log
        event.listen(session, "before_commit", lambda _s: session.add(new_county("532397")))
        with pytest.raises((UnauditedWrite, DBAPIError)):
            session.commit()
    assert "532397" not in counties(engine)
    assert verified(engine)


# -- deletes -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ["unit-of-work", "session-with-actor", "session-without"])
def test_orm_deletes_of_audited_rows_are_refused_everywhere(world, engine, make):
    if make == "unit-of-work":
        with pytest.raises(Conflict), world.uow("admin") as uow:
            uow.session.delete(uow.session.scalar(select(Lot).limit(1)))
    else:
        actor = world.actors["admin"] if make == "session-with-actor" else None
        with open_session(engine, actor) as session:
            session.delete(session.scalar(select(Category).limit(1)))
            with pytest.raises(Conflict, match="不可删除"):
                session.commit()
    with Session(engine) as session:
        assert session.scalar(select(Lot.id).limit(1)) is not None
    assert verified(engine)


# -- Core statements on a connection ---------------------------------------------------------


CORE_WRITES = {
    "update": lambda: update(Lot).values(status="damaged"),
    "delete": lambda: delete(County),
    "insert": lambda: insert(County).values(code="532398", name="x", lat=1, lon=1),
    "raw": lambda: text("UPDATE lot SET status = 'damaged'"),
    "log": lambda: text("INSERT INTO audit_entry (seq) VALUES (999999)"),
    "append": lambda: text("SELECT * FROM relief_audit_append(1, now(), 1, 'x', '{}', '{}')"),
}


@pytest.mark.parametrize("kind", sorted(CORE_WRITES))
def test_core_writes_through_the_sessions_connection_are_refused(world, engine, kind):
    before = entries(engine)
    with pytest.raises(UnauditedWrite), world.uow("admin") as uow:
        uow.session.connection().execute(CORE_WRITES[kind]())
    assert entries(engine) == before
    assert verified(engine)


@pytest.mark.parametrize("kind", sorted(CORE_WRITES))
def test_core_writes_on_an_engine_connection_are_refused(world, engine, kind):
    with pytest.raises(UnauditedWrite), engine.begin() as connection:
        connection.execute(CORE_WRITES[kind]())
    with pytest.raises(UnauditedWrite), engine.begin() as connection:
        connection.exec_driver_sql("update lot set status = 'damaged'")
    assert verified(engine)


def test_a_permit_opens_exactly_the_tables_it_names(world, engine):
    statement = permit(update(Lot).values(status="damaged"), "audit_entry")
    with pytest.raises(UnauditedWrite), world.uow("admin") as uow:
        uow.session.execute(statement)
    assert verified(engine)


def test_legacy_bulk_methods_are_refused(world, engine):
    with pytest.raises(UnauditedWrite), world.uow("admin") as uow:
        uow.session.bulk_save_objects([new_county()])
    with pytest.raises(UnauditedWrite), world.uow("admin") as uow:
        uow.session.bulk_update_mappings(Lot, [{"id": 1, "status": "damaged"}])
    assert "532399" not in counties(engine)
    assert verified(engine)


def test_audit_entries_cannot_be_written_as_orm_objects(world, engine):
    with pytest.raises(UnauditedWrite), world.uow("admin") as uow:
        uow.session.add(
            AuditEntry(
                seq=10**9,
                at=entries(engine)[-1].at,
                actor="mallory",
                action="create",
                entity_type="lot",
                entity_id="1",
                changes="{}",
                prev_hash="p",
                hash="h",
            )
        )


def test_insert_logged_writes_rows_with_their_entries(world, engine):
    with Session(engine) as session:
        item_id = session.scalar(select(Item.id).where(Item.code == "TENT-12"))
        next_id = session.scalar(select(Lot.id).order_by(Lot.id.desc()).limit(1)) + 1
    rows = [
        {
            "id": next_id + n,
            "item_id": item_id,
            "number": f"BULK-{n}",
            "production_date": None,
            "expiry_date": None,
            "origin": "purchase",
            "status": "available",
            "created_at": entries(engine)[-1].at,
        }
        for n in range(3)
    ]
    with world.uow("admin") as uow:
        capture.insert_logged(uow.session, Lot, rows)
    assert [e.entity_id for e in entries(engine)[-3:]] == [str(r["id"]) for r in rows]
    assert verified(engine)
    with pytest.raises(ValueError, match="lacks"), world.uow("admin") as uow:
        capture.insert_logged(uow.session, Lot, [{"id": next_id + 9}])


# -- the hash agrees wherever it is computed -----------------------------------------------


def test_entries_with_awkward_text_hash_the_same_in_sql_and_python(world, engine):
    """PostgreSQL links entries in SQL; verify recomputes every hash in Python."""
    awkward = 'quote " backslash \\ newline \n tab \t control \x01 中文 emoji 🚑 \u2028'
    with world.uow("admin", reason=awkward) as uow:
        for n in range(3):
            uow.record(awkward[: 20 + n], "security", awkward[:30], {"text": awkward, "n": n})
    assert entries(engine)[-1].reason == awkward
    assert verified(engine)


# -- PostgreSQL: TRUNCATE, the statement row triggers never see ---------------------------------


@pytest.mark.parametrize("db_url", ["pg"], indirect=True)
def test_postgresql_refuses_truncate_on_every_ledger_table(world, engine):
    with Session(engine) as session:
        guarded = set(
            session.scalars(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE c.relnamespace = current_schema()::regnamespace "
                    "AND t.tgname = c.relname || '_no_truncate'"
                )
            )
        )
    assert {*AUDITED, "audit_entry", "quant"} <= guarded
    for table in ("audit_entry", "stock_move", "fund_release", "lot", "quant"):
        with pytest.raises(DBAPIError, match="append-only: TRUNCATE refused"):
            outside_sql(engine, f"TRUNCATE {table} CASCADE", as_actor="mallory")
    assert entries(engine) and verified(engine)
