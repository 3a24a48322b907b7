"""Benchmark: ``relief audit verify`` on a log of a million entries (target: under 20 s).

The log is built through the real append path (the session hooks and the chain append at
commit), in large batches. Each entry logs a lot row that really exists: the rows are
inserted with ``audit.capture.insert_logged`` (one Core statement, one entry per row made
from the values written), so the verification walks the chain *and* replays it against the
table, as it does on a production database. One lot in ten is then updated (quarantined)
through the ORM in the same unit of work, like a real lot whose status changed later.

Run alone with ``python -m bench.audit [--audit-entries N] [--pg-url URL]``, or as part of
``make bench`` (``python -m bench --only audit``), which calls ``run(args)``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text

from bench.common import temporary_database, timed
from relief_inventory.audit import capture
from relief_inventory.audit.verify import verify
from relief_inventory.auth.services import system_actor
from relief_inventory.bootstrap import init_database
from relief_inventory.db import open_session
from relief_inventory.stock import catalog
from relief_inventory.stock.models import Lot, LotStatus
from relief_inventory.timeutil import utcnow
from relief_inventory.uow import UnitOfWork

DEFAULT_ENTRIES = 1_000_000
BATCH = 50_000
TARGET_SECONDS = 20.0


def build_log(engine: Engine, entries: int, batch: int = BATCH) -> int:
    """Append at least ``entries`` entries; returns how many the log holds afterwards."""
    actor = system_actor(engine)
    with UnitOfWork(engine, actor, reason="基准测试") as uow:
        catalog.create_category(uow, "BENCH", "基准测试", 99)
        item = catalog.create_item(
            uow,
            code="BENCH-1",
            name="基准测试物资",
            unit="件",
            category_code="BENCH",
            unit_value="1.00",
        )
        item_id = item.id
    with open_session(engine) as session:
        start = session.scalar(select(func.count()).select_from(Lot)) or 0
        logged = session.scalar(text("SELECT count(*) FROM audit_entry")) or 0
    produced = date(2025, 1, 1)
    lot_id = start
    while logged < entries:
        with UnitOfWork(engine, actor, reason="基准测试") as uow:
            rows, quarantined = [], []
            while logged < entries and len(rows) < batch:
                lot_id += 1
                rows.append(
                    {
                        "id": lot_id,
                        "item_id": item_id,
                        "number": f"B{lot_id:09d}",
                        "production_date": produced,
                        "expiry_date": produced + timedelta(days=365 + lot_id % 300),
                        "origin": "purchase",
                        "status": LotStatus.AVAILABLE,
                        "created_at": utcnow(),
                    }
                )
                logged += 1
                if lot_id % 10 == 0 and logged < entries:
                    quarantined.append(lot_id)
                    logged += 1
            capture.insert_logged(uow.session, Lot, rows)  # one entry per row, from the row
            for lot in uow.session.scalars(select(Lot).where(Lot.id.in_(quarantined))):
                lot.status = LotStatus.QUARANTINED  # an ORM update, logged by the flush
    return logged


def _cli_verify(url: str) -> tuple[float, int, str]:
    """``relief audit verify`` as a user runs it: a fresh process, start-up included."""
    command = [sys.executable, "-c", "from relief_inventory.cli import main; main()"]
    env = {**os.environ, "RELIEF_DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "audit", "verify"], env=env, capture_output=True, text=True, check=False
    )
    output = (done.stdout or done.stderr).strip().splitlines()
    return time.perf_counter() - started, done.returncode, output[0] if output else ""


def bench_backend(backend: str, pg_url: str | None, entries: int) -> list[dict]:
    with temporary_database(pg_url, "audit") as (url, engine):
        init_database(engine)
        build_seconds, total = timed(lambda: build_log(engine, entries))

        def verify_in_process(**options: Any) -> Any:
            with open_session(engine) as session:
                return verify(session, **options)

        chain_seconds, chain = timed(lambda: verify_in_process(check_rows=False))
        single_seconds, single = timed(lambda: verify_in_process(check_rows=True, parallel=False))
        cli_seconds, status, message = _cli_verify(url)
    base = {"benchmark": "audit", "backend": backend, "entries": total}
    return [
        {
            **base,
            "case": "build log (append in batches)",
            "seconds": round(build_seconds, 2),
            "per_second": round(total / build_seconds),
        },
        {
            **base,
            "case": "verify --chain-only (in process)",
            "seconds": round(chain_seconds, 2),
            "ok": chain.ok,
        },
        {
            **base,
            "case": "verify, chain + replay in one process",
            "seconds": round(single_seconds, 2),
            "ok": single.ok,
        },
        {
            **base,
            "case": "relief audit verify (CLI, chain + replay)",
            "seconds": round(cli_seconds, 2),
            "ok": status == 0,
            "target_seconds": TARGET_SECONDS,
            "meets_target": status == 0 and cli_seconds < TARGET_SECONDS,
            "output": message,
        },
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--audit-entries",
        type=int,
        default=None,
        help=f"Size of the audit log to verify (default {DEFAULT_ENTRIES:,}).",
    )


def run(args: Any = None) -> list[dict]:
    """Rows for ``make bench``: SQLite always, PostgreSQL when a URL is given.

    ``args`` may carry ``audit_entries`` and ``pg_url`` (or ``RELIEF_BENCH_PG_URL``).
    """
    entries = int(getattr(args, "audit_entries", None) or DEFAULT_ENTRIES)
    pg_url = getattr(args, "pg_url", None) or os.environ.get("RELIEF_BENCH_PG_URL")
    rows = bench_backend("sqlite", None, entries)
    if pg_url:
        rows += bench_backend("postgresql", pg_url, entries)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--pg-url", default=None, help="Also run on this PostgreSQL.")
    for row in run(parser.parse_args(argv)):
        print(row, flush=True)


if __name__ == "__main__":
    main()
