"""Backup and restore on PostgreSQL while a keeper writes (the SQLite case runs on the
seeded prefecture in test_ops_seeded.py)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from relief_inventory.db import make_engine
from tests.conftest import PG_URL
from tests.factories import PASSWORD, build_world, receive_basic
from tests.funds_factories import file_release, make_appropriation, make_source
from tests.test_ops_seeded import round_trip_while_writing


def test_postgresql_backup_while_writing_restores_and_proves_itself(engine, db_url, tmp_path):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: test_ops_seeded.py round-trips the seeded prefecture")
    world = build_world(engine)
    receive_basic(world, quantity=200)
    file_release(world, make_appropriation(world, make_source(world)), "8000.00")
    name = f"ops_restore_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    # a dump restores into its own schema: the target's search path names it
    target = f"{PG_URL.rsplit('/', 1)[0]}/{name}?{db_url.split('?', 1)[1]}"
    try:
        round_trip_while_writing(db_url, target, tmp_path, ("keeper_zx", PASSWORD))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
