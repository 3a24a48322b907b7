"""Benchmark: allocating dispatch requests on the seeded prefecture (scale 1 and 100).

Targets: a 3-line request allocated in under 15 ms (median) on both backends at scale 1 and
100, and with 8 concurrent clients on PostgreSQL at least 40 % of what the database itself
allows for the same work: the plain-SQL floor ``shared/perf/pg_alloc_limit.py`` (3 lines per
request, one hash-chained audit entry per changed row, 8 processes), run in the same
invocation right after the 8-client case, and quoted beside it as a ratio.

Each case files and approves its requests first (not timed), then times ``allocate`` exactly
as the API runs it: one unit of work per request (transaction, row locks, reservations, audit
entries, commit). The concurrent case runs 8 client processes (spawn), each with its own
engine, released together. After each case the books are checked (nothing reserved beyond
what is on hand, quants equal to the ledger, reservations equal to quant.reserved), the hash
chain is verified, and the requests are cancelled, which releases their stock.

Seeding scale 100 takes long (the whole 2024 history, a hundred times), so the seeded SQLite
database is kept and reused (``bench/results/``, git-ignored), and PostgreSQL gets a
row-for-row copy of it (schema ``bench_dispatch_s<scale>``) rather than a second seeding;
``--dispatch-fresh`` seeds again.

The floor script is found as ``shared/perf/pg_alloc_limit.py`` in the nearest folder above
the repository that has one (``../shared`` beside a checkout), or named with
``--dispatch-floor PATH`` / ``RELIEF_PG_FLOOR``; ``--dispatch-floor none`` skips it. It runs
as its own process (it is not part of this repository) on a schema of its own.

Run alone with ``python -m bench.dispatch [--scales 1,100] [--dispatch-requests N]
[--pg-url URL]``; ``bench/__main__`` calls ``run(args)``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

import relief_inventory.models  # noqa: F401  (every table, for copying)
from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation.check import check_reservations
from relief_inventory.audit.verify import verify
from relief_inventory.auth.actor import Actor
from relief_inventory.auth.services import actor_for, system_actor, user_by_name
from relief_inventory.bootstrap import init_database
from relief_inventory.db import make_engine, open_session
from relief_inventory.migrate import upgrade
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.models import Item, Quant
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import County, Location, LocationKind
from seed.generate import database_is_empty, seed_database

RANDOM_SEED = 2024
CACHE = Path(__file__).resolve().parent / "results"
CLIENTS = 8
LINES = 3
DEFAULT_REQUESTS = 400
TARGET_MEDIAN_MS = 15.0
TARGET_FLOOR_RATIO = 0.40
FLOOR_SCRIPT = Path("shared") / "perf" / "pg_alloc_limit.py"


# -- databases -----------------------------------------------------------------------------


def seeded_url(backend: str, scale: int, pg_url: str | None, fresh: bool) -> str:
    """A database seeded at ``scale``, reused from an earlier run unless ``fresh``.

    PostgreSQL gets a row-for-row copy of the seeded SQLite database (audit chain included):
    the same data on both backends, and minutes instead of hours at scale 100.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    path = (CACHE / f"dispatch-seed{RANDOM_SEED}-x{scale}.db").resolve()
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    sqlite_url = f"sqlite:///{path}"
    engine = make_engine(sqlite_url)
    try:
        init_database(engine)
        if database_is_empty(engine):
            seed_database(engine, random_seed=RANDOM_SEED, scale=scale)
    finally:
        engine.dispose()
    if backend == "sqlite":
        return sqlite_url
    assert pg_url
    schema = f"bench_dispatch_s{scale}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        if fresh:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        exists = conn.execute(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": schema}
        ).first()
        if not exists:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    separator = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{separator}options=-csearch_path%3D{schema}"
    if not exists:
        copy_database(sqlite_url, url)
    else:
        target = make_engine(url)
        upgrade(target)  # a copy made by an older version: bring its schema to head
        target.dispose()
    return url


def copy_database(source_url: str, target_url: str) -> None:
    """Copy every table of a SQLite database into an empty, migrated PostgreSQL schema."""
    source, target = make_engine(source_url), make_engine(target_url)
    upgrade(target)
    try:
        with source.connect() as reading, target.begin() as writing:
            writing.execute(text("SET LOCAL TIME ZONE 'UTC'"))  # SQLite holds naive UTC
            writing.execute(text("SELECT set_config('relief.actor', 'bench-copy', true)"))
            cursor = writing.connection.driver_connection.cursor()  # type: ignore[union-attr]
            for table in SQLModel.metadata.sorted_tables:
                columns = ", ".join(f'"{c.name}"' for c in table.columns)
                rows = reading.exec_driver_sql(f'SELECT {columns} FROM "{table.name}"')
                with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                if "id" in table.c and table.c.id.autoincrement is not False:
                    writing.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f'coalesce((SELECT max(id) FROM "{table.name}"), 0) + 1, false)'
                        )
                    )
        with target.begin() as connection:  # fresh planner statistics, as autovacuum would
            connection.execute(text("ANALYZE"))
    finally:
        source.dispose()
        target.dispose()


# -- requests ------------------------------------------------------------------------------


def _stocked_items(session: Session) -> list[str]:
    """Items with free stock on some depot shelf: what a county would ask for."""
    return sorted(
        session.scalars(
            select(Item.code)
            .join(Quant, Quant.item_id == Item.id)
            .join(Location, Location.id == Quant.location_id)
            .where(Location.kind == LocationKind.INTERNAL, Quant.on_hand > Quant.reserved)
            .distinct()
        )
    )


def file_requests(engine: Engine, count: int, rng: random.Random) -> list[str]:
    """``count`` approved (not yet allocated) 3-line requests from random counties."""
    system = system_actor(engine)
    dispatcher = _dispatcher(engine)
    with open_session(engine) as session:
        items = _stocked_items(session)
        counties = sorted(session.scalars(select(County.code)))
    numbers = []
    for _ in range(count):
        lines = [
            {"item": code, "quantity": rng.randint(1, 20)} for code in rng.sample(items, LINES)
        ]
        with UnitOfWork(engine, system, reason="基准测试") as uow:
            request, _ = dispatch.create(
                uow,
                county=rng.choice(counties),
                disaster_type="earthquake",
                urgency="urgent",
                people_affected=rng.randint(100, 5000),
                lines=lines,
                reason="基准测试",
                submit=True,
            )
            number = request.number
        with UnitOfWork(engine, dispatcher, reason="基准测试") as uow:
            dispatch.approve(uow, number, allocate=False)
        numbers.append(number)
    return numbers


def _dispatcher(engine: Engine) -> Actor:
    with open_session(engine) as session:
        return actor_for(session, user_by_name(session, "dispatcher"))


def allocate_timed(engine: Engine, actor: Actor, numbers: list[str]) -> list[float]:
    """Seconds per allocation, each in its own unit of work."""
    latencies = []
    for number in numbers:
        started = time.perf_counter()
        with UnitOfWork(engine, actor) as uow:
            dispatch.allocate(uow, number)
        latencies.append(time.perf_counter() - started)
    return latencies


def release(engine: Engine, numbers: list[str]) -> None:
    dispatcher = _dispatcher(engine)
    for number in numbers:
        with UnitOfWork(engine, dispatcher, reason="基准测试结束") as uow:
            dispatch.cancel(uow, number, reason="基准测试结束，释放预留")


def books_problems(engine: Engine) -> list[str]:
    """Nothing over-reserved, quants = ledger, reservations = quant.reserved, chain intact."""
    with open_session(engine) as session:
        over = session.scalar(select(Quant.id).where(Quant.reserved > Quant.on_hand).limit(1))
        problems = [f"quant {over} over-reserved"] if over is not None else []
        problems += check_quants(session) + check_reservations(session)
    with open_session(engine) as session:
        return problems + verify(session, check_rows=False).problems


# -- concurrent clients --------------------------------------------------------------------


def _client(url: str, actor: Actor, numbers: list[str], barrier: Any, results: Any) -> None:
    """One client process: warm up on its first request, wait for the others, allocate."""
    engine = make_engine(url)
    try:
        allocate_timed(engine, actor, numbers[:1])
        barrier.wait(timeout=600)
        results.put(allocate_timed(engine, actor, numbers[1:]))
    except BaseException as error:
        results.put(repr(error))
        barrier.abort()
    finally:
        engine.dispose()


def allocate_concurrently(url: str, actor: Actor, numbers: list[str]) -> tuple[float, list[float]]:
    """Wall-clock seconds for all clients together, and every call's latency."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(CLIENTS + 1), context.Queue()
    clients = [
        context.Process(target=_client, args=(url, actor, numbers[i::CLIENTS], barrier, results))
        for i in range(CLIENTS)
    ]  # each client's first request is its warm-up, not timed
    for client in clients:
        client.start()
    barrier.wait(timeout=600)
    started = time.perf_counter()
    outcomes = [results.get(timeout=3600) for _ in clients]
    elapsed = time.perf_counter() - started
    for client in clients:
        client.join(timeout=60)
    failures = [o for o in outcomes if isinstance(o, str)]
    if failures:
        raise RuntimeError(f"client failed: {failures[0]}")
    return elapsed, [latency for outcome in outcomes for latency in outcome]


# -- the benchmark -------------------------------------------------------------------------


def _row(base: dict, case: str, elapsed: float, latencies: list[float], **extra: Any) -> dict:
    ordered = sorted(latencies)
    return {
        **base,
        "case": case,
        "allocations": len(latencies),
        "seconds": round(elapsed, 2),
        "per_second": round(len(latencies) / elapsed, 1),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
        **extra,
    }


def bench_backend(
    backend: str, scale: int, url: str, requests: int, floor: Path | None, pg_url: str | None
) -> list[dict]:
    engine = make_engine(url)
    rng = random.Random(f"bench-dispatch:{backend}:{scale}")
    dispatcher = _dispatcher(engine)
    base = {"benchmark": "dispatch", "backend": backend, "scale": scale, "lines": LINES}
    rows = []
    try:
        numbers = file_requests(engine, requests + 1, rng)
        allocate_timed(engine, dispatcher, numbers[:1])  # warm-up, not timed
        started = time.perf_counter()
        latencies = allocate_timed(engine, dispatcher, numbers[1:])
        elapsed = time.perf_counter() - started
        problems = books_problems(engine)
        median_ms = statistics.median(latencies) * 1000
        rows.append(
            _row(
                base,
                "one client, one request at a time",
                elapsed,
                latencies,
                target=f"median < {TARGET_MEDIAN_MS:g} ms",
                meets_target=median_ms < TARGET_MEDIAN_MS,
                books_ok=not problems,
            )
        )
        release(engine, numbers)
        numbers = file_requests(engine, requests + CLIENTS, rng)
        elapsed, latencies = allocate_concurrently(url, dispatcher, numbers)
        problems = books_problems(engine)
        per_second = len(latencies) / elapsed
        extra: dict[str, Any] = {"books_ok": not problems}
        if backend == "postgresql" and floor is not None and pg_url:
            floor_rate = floor_per_second(floor, pg_url)
            extra.update(
                floor_per_second=round(floor_rate, 1),
                ratio=round(per_second / floor_rate, 3),
                target=f"≥ {TARGET_FLOOR_RATIO:.0%} of floor",
                meets_target=per_second >= TARGET_FLOOR_RATIO * floor_rate,
            )
        rows.append(_row(base, f"{CLIENTS} concurrent clients", elapsed, latencies, **extra))
        release(engine, numbers)
        if problems:
            rows[-1]["problems"] = problems[:5]
    finally:
        engine.dispose()
    return rows


# -- the plain-SQL floor ---------------------------------------------------------------------


def find_floor(option: str | None) -> Path | None:
    """The floor script: as named, or ``shared/perf/pg_alloc_limit.py`` above the repository."""
    named = option or os.environ.get("RELIEF_PG_FLOOR")
    if named:
        return None if named.lower() == "none" else Path(named)
    for folder in Path(__file__).resolve().parents:
        if (folder / FLOOR_SCRIPT).is_file():
            return folder / FLOOR_SCRIPT
    return None


_FLOOR_LINE = re.compile(rf"^spread\s+yes\s+{CLIENTS}\s+(\d+)", re.MULTILINE)


def floor_per_second(script: Path, pg_url: str) -> float:
    """Run the floor with 8 processes and 3 lines on a schema of its own; its allocations/s
    with spread items and the audit chain (the case that matches ours)."""
    schema = f"bench_floor_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{separator}options=-csearch_path%3D{schema}"
    try:
        done = subprocess.run(
            [sys.executable, str(script), "--procs", str(CLIENTS), "--lines", str(LINES)],
            env={**os.environ, "PERF_PG_URL": url},
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    found = _FLOOR_LINE.search(done.stdout)
    if found is None:
        raise RuntimeError(f"unexpected output from {script}:\n{done.stdout}")
    return float(found[1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dispatch")
    group.add_argument(
        "--dispatch-requests", type=int, default=None, help="Requests per case (default 400)."
    )
    group.add_argument(
        "--dispatch-fresh", action="store_true", help="Seed again instead of reusing."
    )
    group.add_argument(
        "--dispatch-floor",
        default=None,
        help="The plain-SQL floor script (default: shared/perf/pg_alloc_limit.py above the "
        "repository, or RELIEF_PG_FLOOR); 'none' skips it.",
    )


def run(args: Any = None) -> list[dict]:
    """Rows for ``make bench``: SQLite always, PostgreSQL when a URL is given.

    ``args`` may carry ``dispatch_scales`` ("1,100"), ``dispatch_requests``,
    ``dispatch_fresh``, ``dispatch_floor`` and ``pg_url`` (or ``RELIEF_BENCH_PG_URL``).
    """
    scales = [int(s) for s in str(getattr(args, "dispatch_scales", None) or "1,100").split(",")]
    requests = int(getattr(args, "dispatch_requests", None) or DEFAULT_REQUESTS)
    fresh = bool(getattr(args, "dispatch_fresh", False))
    pg_url = getattr(args, "pg_url", None) or os.environ.get("RELIEF_BENCH_PG_URL")
    floor = find_floor(getattr(args, "dispatch_floor", None)) if pg_url else None
    if pg_url and floor is None:
        print("(dispatch: no plain-SQL floor script found: no ratio)", file=sys.stderr)
    backends = [("sqlite", None)] + ([("postgresql", pg_url)] if pg_url else [])
    rows = []
    for scale in scales:
        for backend, url in backends:
            seeded = seeded_url(backend, scale, url, fresh)
            rows += bench_backend(backend, scale, seeded, requests, floor, pg_url)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", dest="dispatch_scales", default="1,100")
    parser.add_argument("--pg-url", default=None, help="Also run on this PostgreSQL.")
    add_arguments(parser)
    for row in run(parser.parse_args(argv)):
        print(row, flush=True)


if __name__ == "__main__":
    main()
