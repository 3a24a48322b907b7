"""Edits behind the application's back are found: ``relief audit verify`` and ``relief check``.

Each test writes with raw SQL on its own connection, as someone with database access would,
first getting past the guards: on SQLite by dropping the trigger in the way, on PostgreSQL
by also naming an actor with ``set_config('relief.actor', …)`` (without it the
``require_actor`` trigger refuses the write, as shown here too).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from relief_inventory.audit.chain import link_hash
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.services import chain_head
from relief_inventory.audit.verify import verify
from relief_inventory.cli import main
from relief_inventory.funds.models import FundSource
from relief_inventory.stock.models import Lot, Move
from relief_inventory.timeutil import canonical_utc
from relief_inventory.warehouse import services as warehouse
from tests.conftest import outside_sql
from tests.factories import build_world, receive_basic
from tests.funds_factories import make_source


@pytest.fixture
def world(engine):
    world = build_world(engine)
    receive_basic(world, 10)
    return world


def relief(db_url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": db_url})


def raw(engine, *statements: str, as_actor: str | None = "mallory", **params) -> None:
    """Raw SQL in one transaction of its own (PostgreSQL: naming ``as_actor`` if given)."""
    outside_sql(engine, *statements, as_actor=as_actor, **params)


@pytest.fixture
def unguard(engine):
    """Get past a guard trigger as someone with full database access would. PostgreSQL
    tests share a schema, so the trigger is disabled for this test only, then restored."""
    disabled: list[tuple[str, str]] = []

    def off(table: str, pg_trigger: str, *sqlite_triggers: str) -> None:
        if engine.dialect.name == "postgresql":
            raw(engine, f"ALTER TABLE {table} DISABLE TRIGGER {pg_trigger}")
            disabled.append((table, pg_trigger))
        else:
            raw(engine, *(f"DROP TRIGGER {name}" for name in sqlite_triggers))

    yield off
    for table, trigger in disabled:
        raw(engine, f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


@pytest.fixture
def open_log(unguard):
    """The audit log without its append-only triggers."""
    sqlite_triggers = ("audit_entry_no_update", "audit_entry_no_delete")
    unguard("audit_entry", "audit_entry_append_only", *sqlite_triggers)


def problems(engine, **kwargs) -> list[str]:
    with Session(engine) as session:
        return verify(session, **kwargs).problems


def head_of(engine) -> tuple[int, str]:
    with Session(engine) as session:
        return chain_head(session)


def first_id(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(model.id).order_by(model.id))


def assert_detected(db_url: str, expected: str) -> None:
    """The CLI names the fault and exits 1; ``relief check`` fails on it too."""
    result = relief(db_url, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert expected in result.stderr
    check = relief(db_url, "check")
    assert check.exit_code == 1 and expected in check.output


def test_an_untouched_log_verifies(world, engine, db_url):
    seq, digest = head_of(engine)
    result = relief(db_url, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"已核验 {seq} 条" in result.stdout and f"{seq}:{digest}" in result.stdout
    assert relief(db_url, "check").exit_code == 0


def test_a_lot_edited_with_raw_sql_is_found(world, engine, db_url):
    lot_id = first_id(engine, Lot)
    raw(engine, "UPDATE lot SET expiry_date = '2099-12-31' WHERE id = :id", id=lot_id)
    assert_detected(db_url, f"lot #{lot_id}：字段 expiry_date 与审计日志不符")


def test_a_done_move_edited_with_raw_sql_is_found(world, engine, db_url, unguard):
    move_id = first_id(engine, Move)
    update = "UPDATE stock_move SET quantity = 1 WHERE id = :id"
    with pytest.raises(DBAPIError):  # done moves are final: the trigger refuses
        raw(engine, update, id=move_id)
    unguard("stock_move", "stock_move_final", "stock_move_final")
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError) as refused:  # no actor named: still refused
            raw(engine, update, as_actor=None, id=move_id)
        assert "relief.actor unset" in str(refused.value)
    raw(engine, update, id=move_id)
    assert_detected(db_url, f"stock_move #{move_id}：字段 quantity 与审计日志不符")


def test_a_money_row_edited_with_raw_sql_is_found(world, engine, db_url, unguard):
    make_source(world, "1000000.00")
    unguard("fund_source", "fund_source_append_only", "fund_source_no_update")
    raw(engine, "UPDATE fund_source SET amount = amount * 10")  # integer fen
    source_id = first_id(engine, FundSource)
    assert_detected(db_url, f"fund_source #{source_id}：字段 amount 与审计日志不符")


def test_a_row_inserted_behind_the_log_is_found(world, engine, db_url):
    raw(
        engine,
        "INSERT INTO lot (id, item_id, number, origin, status, created_at)"
        " VALUES (9999, :item, 'GHOST', 'purchase', 'available', '2025-01-01 00:00:00')",
        item=first_id(engine, Lot),  # an item id that exists (ids start at 1 on both)
    )
    assert_detected(db_url, "lot #9999：数据库中存在但审计日志中没有记录")


def test_a_row_deleted_behind_the_log_is_found(world, engine, db_url):
    with world.uow() as uow:
        county_id = warehouse.create_county(uow, "532328", "元谋县", "25.70", "101.87").id
    raw(engine, "DELETE FROM location WHERE county_id = :id", id=county_id)
    raw(engine, "DELETE FROM county WHERE id = :id", id=county_id)
    assert_detected(db_url, f"county #{county_id}：审计日志有记录但数据库中已不存在")


# -- the log itself ----------------------------------------------------------------------------


def test_an_edited_entry_is_named(world, engine, db_url, open_log):
    raw(engine, "UPDATE audit_entry SET actor = 'someone_else' WHERE seq = 5")
    result = relief(db_url, "audit", "verify", "--chain-only")
    assert result.exit_code == 1
    assert result.stderr.strip() == "审计日志第 5 条：内容与哈希不符，记录被篡改"


def test_a_deleted_entry_is_found(world, engine, db_url, open_log):
    raw(engine, "DELETE FROM audit_entry WHERE seq = 7")
    assert_detected(db_url, "审计日志第 8 条：序号不连续（应为 7）")


def test_inserted_entries_are_found(world, engine, db_url, open_log):
    seq, head = head_of(engine)
    row = {
        "seq": seq + 1,
        "at": "2025-01-01 00:00:00",
        "changes": "{}",
        "prev": "f" * 64,
        "hash": "e" * 64,
    }
    insert = (
        "INSERT INTO audit_entry (seq, at, actor, action, entity_type, entity_id, changes,"
        " prev_hash, hash) VALUES (:seq, :at, 'mallory', 'create', 'lot', '1', :changes,"
        " :prev, :hash)"
    )
    raw(engine, insert, **row)
    assert f"审计日志第 {seq + 1} 条：前一条哈希不符" in problems(engine)[0]
    raw(engine, "DELETE FROM audit_entry WHERE seq = :seq", seq=seq + 1)
    raw(engine, insert, **dict(row, prev=head))
    assert f"审计日志第 {seq + 1} 条：内容与哈希不符" in problems(engine)[0]


def test_a_well_formed_forged_entry_still_has_to_match_the_rows(world, engine, db_url, open_log):
    """Anyone can compute SHA-256, so a forged tail can link correctly; the replay then
    finds that the rows do not say what the forged entry claims."""
    seq, head = head_of(engine)
    lot_id = first_id(engine, Lot)
    forged = {
        "seq": seq + 1,
        "at": "2025-01-01T00:00:00.000000Z",
        "actor_id": None,
        "actor": "mallory",
        "action": "update",
        "entity_type": "lot",
        "entity_id": str(lot_id),
        "changes": json.dumps({"status": ["available", "damaged"]}, separators=(",", ":")),
        "reason": None,
        "prev_hash": head,
    }
    digest = link_hash(*forged.values())
    raw(
        engine,
        "INSERT INTO audit_entry (seq, at, actor, action, entity_type, entity_id, changes,"
        " prev_hash, hash) VALUES (:seq, :at, :actor, :action, :entity_type, :entity_id,"
        " :changes, :prev_hash, :hash)",
        **dict(forged, at="2025-01-01 00:00:00", hash=digest),
    )
    assert problems(engine, check_rows=False) == []  # the chain alone cannot tell
    assert_detected(db_url, f"lot #{lot_id}：字段 status 与审计日志不符")


def test_the_database_refuses_a_fork_of_the_chain(world, engine):
    """Two entries can never extend the same predecessor: prev_hash is UNIQUE."""
    seq, _head = head_of(engine)
    with Session(engine) as session:
        entry = session.get(AuditEntry, seq)
        twin_prev = entry.prev_hash
    with pytest.raises(DBAPIError):
        raw(
            engine,
            "INSERT INTO audit_entry (seq, at, actor, action, entity_type, entity_id, changes,"
            " prev_hash, hash) VALUES (:seq, :at, 'x', 'x', 'x', 'x', '{}', :prev, :hash)",
            seq=seq + 1,
            at=entry.at,
            prev=twin_prev,
            hash="d" * 64,
        )


# -- published heads ---------------------------------------------------------------------------


def test_a_published_head_proves_the_log_was_only_extended(world, engine, db_url):
    published = relief(db_url, "audit", "head").stdout.strip()
    receive_basic(world, 5, depot="SB")
    result = relief(db_url, "audit", "verify", "--head", published)
    assert result.exit_code == 0, result.output
    assert relief(db_url, "audit", "verify", "--head", "1:" + "0" * 64).exit_code == 1
    bad = relief(db_url, "audit", "verify", "--head", "not-a-head")
    assert bad.exit_code == 2 and "SEQ:HASH" in bad.stderr


def test_a_truncated_log_fails_against_its_published_head(world, engine, db_url, open_log):
    published = relief(db_url, "audit", "head").stdout.strip()
    seq = int(published.split(":")[0])
    raw(engine, "DELETE FROM audit_entry WHERE seq > :keep", keep=seq - 3)
    assert relief(db_url, "audit", "verify", "--chain-only").exit_code == 0  # looks fine…
    result = relief(db_url, "audit", "verify", "--chain-only", "--head", published)
    assert result.exit_code == 1
    assert f"此前公布的链头（第 {seq} 条）已不在日志中，日志被截短" in result.stderr


def test_a_rewritten_log_fails_against_its_published_head(world, engine, db_url, open_log):
    """Editing an old entry and recomputing every later hash gives a consistent chain;
    only the head published before the rewrite shows it."""
    published = relief(db_url, "audit", "head").stdout.strip()
    with Session(engine) as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    prev = entries[1].prev_hash
    rewrites = []
    for entry in entries[1:]:
        reason = "改写的理由" if entry.seq == 2 else entry.reason
        digest = link_hash(
            entry.seq,
            canonical_utc(entry.at),
            entry.actor_id,
            entry.actor,
            entry.action,
            entry.entity_type,
            entry.entity_id,
            entry.changes,
            reason,
            prev,
        )
        rewrites.append(
            (
                "UPDATE audit_entry SET reason = :r, prev_hash = :p, hash = :h WHERE seq = :s",
                {"r": reason, "p": prev, "h": digest, "s": entry.seq},
            )
        )
        prev = digest
    raw(engine, *rewrites)
    assert relief(db_url, "audit", "verify").exit_code == 0  # a consistent forgery…
    result = relief(db_url, "audit", "verify", "--head", published)
    assert result.exit_code == 1 and "与此前公布的链头哈希不符" in result.stderr


# -- the parallel path -------------------------------------------------------------------------


def test_parallel_verification_finds_the_same_faults(world, engine, unguard):
    """Large logs are verified by two processes (chain and replay); the result is the same."""
    with Session(engine) as session:
        assert verify(session, parallel=True).ok
    lot_id = first_id(engine, Lot)
    raw(engine, "UPDATE lot SET number = 'X' WHERE id = :id", id=lot_id)
    assert problems(engine, parallel=True) == problems(engine, parallel=False) != []
    unguard("audit_entry", "audit_entry_append_only", "audit_entry_no_update")
    raw(engine, "UPDATE audit_entry SET reason = 'x' WHERE seq = 4")
    assert problems(engine, parallel=True) == ["审计日志第 4 条：内容与哈希不符，记录被篡改"]
