"""Past one machine on PostgreSQL's own replication: a streaming hot standby built with
``pg_basebackup -R`` serves lists and reports (RELIEF_REPLICA_URL) while writes stay on
the primary; then the primary stops, the standby is promoted and holds every committed
document with all checks passing.

The test runs its own primary (initdb in a temporary directory, on a free port) so that
stopping it disturbs nobody; the shared server is only used to skip when PostgreSQL is
not there at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from relief_inventory.app import create_app
from relief_inventory.bootstrap import init_database
from relief_inventory.config import Settings
from relief_inventory.db import make_engine, open_session
from relief_inventory.stock.models import StockDocument
from tests.conftest import require_pg
from tests.factories import bearer, build_world, receive_basic
from tests.funds_factories import file_release, make_appropriation, make_source
from tests.ops_tools import books_balance, free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*command: str) -> subprocess.CompletedProcess:
    prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)


def _ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]


@dataclass
class Cluster:
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/relief"

    def start(self) -> None:
        _ok(
            _as_postgres(
                str(BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.data.parent / f"{self.data.name}.log"),
                "-w",
                "start",
            )
        )

    def stop(self) -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    require_pg()
    if not (BIN / "initdb").exists() or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("PostgreSQL 15 server binaries are not installed")
    folder = Path(tempfile.mkdtemp(prefix="relief-replica-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    primary = Cluster(folder / "primary", free_port())
    standby = Cluster(folder / "standby", free_port())
    try:
        _ok(
            _as_postgres(
                str(BIN / "initdb"),
                "-D",
                str(primary.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        )
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {primary.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{folder}'\nwal_level = replica\n"
                "max_wal_senders = 4\nfsync = off\nshared_buffers = 32MB\n"
            )
        primary.start()
        _ok(
            _as_postgres(
                str(BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "relief",
            )
        )
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _documents(url: str) -> int:
    engine = make_engine(url)
    with open_session(engine) as session:
        count = session.scalar(select(func.count()).select_from(StockDocument)) or 0
    engine.dispose()
    return count


def _sql(url: str, statement: str):
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        value = conn.execute(text(statement)).scalar()
    engine.dispose()
    return value


def _caught_up(primary: str, standby: str) -> None:
    target = _sql(primary, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _sql(standby, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
            return
        time.sleep(0.02)
    raise AssertionError("the standby did not catch up within 30 s")


def test_reports_from_a_hot_standby_then_failover(clusters) -> None:
    primary, standby = clusters
    engine = make_engine(primary.url)
    init_database(engine)
    world = build_world(engine)
    receive_basic(world, quantity=100)
    file_release(world, make_appropriation(world, make_source(world)), "3000.00")
    headers = bearer(world, "keeper_zx")
    auditor = bearer(world, "auditor")
    engine.dispose()

    _ok(
        _as_postgres(
            str(BIN / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(standby.data),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
        )
    )
    with (standby.data / "postgresql.conf").open("a") as conf:
        conf.write(f"port = {standby.port}\n")
    standby.start()
    assert _sql(standby.url, "SELECT pg_is_in_recovery()") is True

    app = create_app(Settings.from_env(database_url=primary.url, replica_url=standby.url))
    client = app.test_client()
    try:
        _caught_up(primary.url, standby.url)
        listed = client.get("/api/v1/documents?per_page=100", headers=auditor)
        assert listed.status_code == 200 and listed.json["total"] == _documents(primary.url)

        # With replay paused, a write still succeeds (primary) and lists do not see it yet:
        # they are read from the standby.
        _sql(standby.url, "SELECT pg_wal_replay_pause()")
        body = {
            "depot": "ZX",
            "partner": "昆明帐篷厂",
            "lines": [{"item": "TENT-12", "lot": "REPL-1", "quantity": 4}],
        }
        made = client.post("/api/v1/receipts", json=body, headers=headers)
        assert made.status_code == 201, made.json
        stale = client.get("/api/v1/documents?per_page=100", headers=auditor).json["total"]
        assert stale == _documents(primary.url) - 1
        detail = client.get(f"/api/v1/documents/{made.json['number']}", headers=auditor)
        assert detail.status_code == 200  # a document read by number comes from the primary
        _sql(standby.url, "SELECT pg_wal_replay_resume()")
        _caught_up(primary.url, standby.url)
        fresh = client.get("/api/v1/documents?per_page=100", headers=auditor).json["total"]
        assert fresh == _documents(primary.url)
        report = client.get("/api/v1/reports/stock-ledger?format=xlsx&period=2025", headers=auditor)
        assert report.status_code in (200, 404), report.data[:300]
    finally:
        app.extensions["relief_engine"].dispose()
        app.extensions["relief_replica_engine"].dispose()

    committed = _documents(primary.url)
    primary.stop()
    _ok(_as_postgres(str(BIN / "pg_ctl"), "-D", str(standby.data), "-w", "promote"))
    assert _sql(standby.url, "SELECT pg_is_in_recovery()") is False
    assert _documents(standby.url) == committed
    books_balance(standby.url)
