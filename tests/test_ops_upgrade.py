"""A schema upgrade (Alembic) on a copy of a populated database keeps every row and the
audit chain.

The databases in tests/data were made by the previous release's own code (revision
``0008_api_strict``, commit 9201e7f: receipts in two depots, a dispatch request, a fund
release, through its services), so the test keeps working however the models change
after it. ``previous-0008.json`` holds their row counts and audit heads."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import MetaData, func, select, text

from relief_inventory.audit.services import chain_head
from relief_inventory.db import make_engine, open_session
from relief_inventory.migrate import upgrade
from relief_inventory.ops.schema import head_revision, schema_state
from tests.conftest import PG_URL, require_pg
from tests.ops_tools import books_balance

DATA = Path(__file__).parent / "data"
PREVIOUS_RELEASE = "0008_api_strict"
FACTS = json.loads((DATA / "previous-0008.json").read_text())


def _rows(engine) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
            if name != "alembic_version"
        }


def _upgrade_and_compare(url: str, facts: dict) -> None:
    engine = make_engine(url)
    assert schema_state(engine).revision == PREVIOUS_RELEASE
    upgrade(engine)
    assert schema_state(engine).revision == head_revision()
    after = _rows(engine)
    with open_session(engine) as session:
        seq, digest = chain_head(session)
    engine.dispose()
    assert {name: after[name] for name in facts["rows"]} == facts["rows"]
    assert f"{seq}:{digest}" == facts["head"]  # the upgrade itself writes no audit entry
    books_balance(url, head=facts["head"])


def test_upgrade_of_a_populated_sqlite_copy_keeps_rows_and_chain(tmp_path) -> None:
    copy = tmp_path / "copy.db"
    with gzip.open(DATA / "previous-0008.sqlite.gz") as packed, copy.open("wb") as out:
        shutil.copyfileobj(packed, out)
    _upgrade_and_compare(f"sqlite:///{copy}", FACTS["sqlite"])


def test_upgrade_of_a_populated_postgresql_copy_keeps_rows_and_chain() -> None:
    require_pg()
    name = f"upg_{uuid.uuid4().hex[:8]}"
    server = PG_URL.rsplit("/", 1)[0]
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        loaded = subprocess.run(
            [
                "psql",
                "--no-psqlrc",
                "--quiet",
                "--set=ON_ERROR_STOP=1",
                "--single-transaction",
                f"--dbname={server}/{name}",
            ],
            input=gzip.decompress((DATA / "previous-0008.pg.sql.gz").read_bytes()),
            capture_output=True,
        )
        assert loaded.returncode == 0, loaded.stderr.decode()[-2000:]
        url = f"{server}/{name}?options=-csearch_path%3Drelief_previous"
        _upgrade_and_compare(url, FACTS["postgresql"])
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
