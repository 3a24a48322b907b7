"""A schema upgrade (Alembic) on a copy of a populated database keeps every row and the
audit chain: the database is made at the previous release's revision, populated through
the services, copied, and the copy upgraded to head."""

from __future__ import annotations

import shutil
import uuid

from sqlalchemy import MetaData, func, select, text

from relief_inventory.audit.services import chain_head
from relief_inventory.db import make_engine, open_session
from relief_inventory.migrate import upgrade
from relief_inventory.ops.schema import head_revision, schema_state
from tests.conftest import PG_URL, require_pg
from tests.factories import build_world, file_dispatch_request, receive_basic
from tests.funds_factories import file_release, make_appropriation, make_source
from tests.ops_tools import books_balance

PREVIOUS_RELEASE = "0008_api_strict"  # the head of the release before operations


def _rows(engine) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
            if name != "alembic_version"
        }


def _populate(engine) -> None:
    world = build_world(engine)
    receive_basic(world, quantity=80)
    receive_basic(world, quantity=30, depot="SB")
    file_dispatch_request(world, [{"item": "TENT-12", "quantity": 5}])
    file_release(world, make_appropriation(world, make_source(world)), "5000.00")


def _upgrade_a_copy(original_url: str, copy_url: str, copy) -> None:
    engine = make_engine(original_url)
    upgrade(engine, PREVIOUS_RELEASE)
    init_database_at_previous(engine)
    _populate(engine)
    before = _rows(engine)
    with open_session(engine) as session:
        head = chain_head(session)
    engine.dispose()

    copy()
    target = make_engine(copy_url)
    assert schema_state(target).revision == PREVIOUS_RELEASE
    upgrade(target)
    assert schema_state(target).revision == head_revision()
    after = _rows(target)
    with open_session(target) as session:
        assert chain_head(session) == head  # the upgrade itself writes no audit entry
    target.dispose()
    assert {name: after[name] for name in before} == before
    books_balance(copy_url, head=f"{head[0]}:{head[1]}")


def init_database_at_previous(engine) -> None:
    """What ``relief init-db`` of the previous release left (virtual locations)."""
    from relief_inventory.auth.services import system_actor
    from relief_inventory.uow import UnitOfWork
    from relief_inventory.warehouse.services import ensure_virtual_locations

    with UnitOfWork(engine, system_actor(engine)) as uow:
        ensure_virtual_locations(uow)


def test_upgrade_of_a_populated_sqlite_copy_keeps_rows_and_chain(tmp_path) -> None:
    original, copy = tmp_path / "previous.db", tmp_path / "copy.db"
    _upgrade_a_copy(
        f"sqlite:///{original}", f"sqlite:///{copy}", lambda: shutil.copy(original, copy)
    )


def test_upgrade_of_a_populated_postgresql_copy_keeps_rows_and_chain() -> None:
    require_pg()
    suffix = uuid.uuid4().hex[:8]
    original, copy = f"upg_{suffix}", f"upg_copy_{suffix}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {original}"))
    server = PG_URL.rsplit("/", 1)[0]

    def copy_database() -> None:  # no connection to the original is left open by then
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {copy} TEMPLATE {original}"))

    try:
        _upgrade_a_copy(f"{server}/{original}", f"{server}/{copy}", copy_database)
    finally:
        with admin.connect() as conn:
            for name in (copy, original):
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
