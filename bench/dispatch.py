"""Benchmark: allocating dispatch requests on the seeded prefecture (scale 1 and 100).

Targets: a 3-line request allocated in under 50 ms (median) at scale 100, and at least 100
allocations per second with 8 concurrent clients on PostgreSQL. Each case files and approves
its requests first (not timed), then times ``allocate`` exactly as the API runs it: one unit
of work per request (transaction, row locks, reservations, audit entries, commit). The
concurrent case runs 8 client processes (spawn), each with its own engine, released together.
After each case the books are checked (nothing reserved beyond what is on hand, quants equal
to the ledger, reservations equal to quant.reserved) and the requests are cancelled, which
releases their stock for the next case.

Seeding scale 100 takes long (the whole 2024 history, a hundred times), so the seeded SQLite
database is kept and reused (``instance/bench/``), and PostgreSQL gets a row-for-row copy of
it (schema ``bench_dispatch_s<scale>``) rather than a second seeding; ``--dispatch-fresh``
seeds again.

Run alone with ``python -m bench.dispatch [--scales 1,100] [--dispatch-requests N]
[--pg-url URL]``; ``bench/__main__`` calls ``run(args)``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

import relief_inventory.models  # noqa: F401  (every table, for copying)
from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation.check import check_reservations
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
CACHE = Path("instance") / "bench"
CLIENTS = 8
LINES = 3
DEFAULT_REQUESTS = 400
TARGET_MEDIAN_MS = 50.0
TARGET_PER_SECOND = 100.0


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
    with open_session(engine) as session:
        over = session.scalar(select(Quant.id).where(Quant.reserved > Quant.on_hand).limit(1))
        problems = [f"quant {over} over-reserved"] if over is not None else []
        return problems + check_quants(session) + check_reservations(session)


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


def bench_backend(backend: str, scale: int, url: str, requests: int) -> list[dict]:
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
                target_median_ms=TARGET_MEDIAN_MS,
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
        if backend == "postgresql":
            extra.update(target_per_second=TARGET_PER_SECOND, meets_target=per_second >= 100)
        rows.append(_row(base, f"{CLIENTS} concurrent clients", elapsed, latencies, **extra))
        release(engine, numbers)
        if problems:
            rows[-1]["problems"] = problems[:5]
    finally:
        engine.dispose()
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dispatch")
    group.add_argument(
        "--dispatch-requests", type=int, default=None, help="Requests per case (default 400)."
    )
    group.add_argument(
        "--dispatch-fresh", action="store_true", help="Seed again instead of reusing."
    )


def run(args: Any = None) -> list[dict]:
    """Rows for ``make bench``: SQLite always, PostgreSQL when a URL is given.

    ``args`` may carry ``dispatch_scales`` ("1,100"), ``dispatch_requests``,
    ``dispatch_fresh`` and ``pg_url`` (or ``RELIEF_BENCH_PG_URL``).
    """
    scales = [int(s) for s in str(getattr(args, "dispatch_scales", None) or "1,100").split(",")]
    requests = int(getattr(args, "dispatch_requests", None) or DEFAULT_REQUESTS)
    fresh = bool(getattr(args, "dispatch_fresh", False))
    pg_url = getattr(args, "pg_url", None) or os.environ.get("RELIEF_BENCH_PG_URL")
    backends = [("sqlite", None)] + ([("postgresql", pg_url)] if pg_url else [])
    rows = []
    for scale in scales:
        for backend, url in backends:
            seeded = seeded_url(backend, scale, url, fresh)
            rows += bench_backend(backend, scale, seeded, requests)
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
