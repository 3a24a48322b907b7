"""Make tests/data/previous-0008.*: databases populated by the previous release's own code
(revision 0008_api_strict, commit 9201e7f), for tests/test_ops_upgrade.py. Run it from a
checkout of that release, with RELIEF_SCRYPT_N=1024 and PostgreSQL on 127.0.0.1:

    git archive 9201e7f | tar -x -C /tmp/prev
    cd /tmp/prev && PYTHONPATH=/tmp/prev python /path/to/make_previous.py /path/to/tests/data
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import MetaData, func, select, text

import relief_inventory
from relief_inventory.audit.services import chain_head
from relief_inventory.bootstrap import init_database
from relief_inventory.db import make_engine, open_session
from tests.factories import build_world, file_dispatch_request, receive_basic
from tests.funds_factories import file_release, make_appropriation, make_source

SERVER = "postgresql://postgres@127.0.0.1:5432"


def populate(engine) -> None:
    init_database(engine)
    world = build_world(engine)
    receive_basic(world, quantity=80)
    receive_basic(world, quantity=30, depot="SB")
    file_dispatch_request(world, [{"item": "TENT-12", "quantity": 5}])
    file_release(world, make_appropriation(world, make_source(world)), "5000.00")


def facts(engine) -> dict:
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        rows = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
            if name != "alembic_version"
        }
    with open_session(engine) as session:
        seq, digest = chain_head(session)
    return {"rows": rows, "head": f"{seq}:{digest}"}


def sqlite_copy(out: Path) -> dict:
    path = Path("/tmp/previous-0008.db")
    path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    populate(engine)
    found = facts(engine)
    engine.dispose()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    connection.close()
    with path.open("rb") as plain, gzip.open(out / "previous-0008.sqlite.gz", "wb") as packed:
        shutil.copyfileobj(plain, packed)
    return found


def postgresql_dump(out: Path) -> dict:
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "previous_0008"], check=True)
    try:
        admin = make_engine(f"{SERVER}/previous_0008")
        with admin.begin() as conn:
            conn.execute(text("CREATE SCHEMA relief_previous"))
        admin.dispose()
        engine = make_engine(f"{SERVER}/previous_0008?options=-csearch_path%3Drelief_previous")
        populate(engine)
        found = facts(engine)
        engine.dispose()
        dump = subprocess.run(
            [
                "pg_dump",
                "--no-owner",
                "--no-privileges",
                "--schema=relief_previous",
                f"--dbname={SERVER}/previous_0008",
            ],
            check=True,
            capture_output=True,
        ).stdout
        (out / "previous-0008.pg.sql.gz").write_bytes(gzip.compress(dump))
    finally:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "previous_0008"])
    return found


def main() -> None:
    if Path(relief_inventory.__file__).with_name("ops").exists():
        sys.exit("run this from a checkout of the previous release (see the docstring)")
    out = Path(sys.argv[1])
    found = {"sqlite": sqlite_copy(out), "postgresql": postgresql_dump(out)}
    (out / "previous-0008.json").write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
