"""Benchmark: the relief-fund workflow, the reconciliation and concurrent approvals.

On a fresh database with the 10 counties: seed the 2024 funds (``seed_funds`` at scale 1
and 10), time ``reconcile`` over them, then file N releases against one appropriation and
time each step exactly as the API runs it (one unit of work per call: row locks, audit
entries, commit). Finally 8 client processes (spawn, own engines) approve and pay releases
against one appropriation that covers only half of them: the row lock must hold the total
to the appropriation, and the rate is what finance could push through at once.

Run alone with ``python -m bench.funds [--releases N] [--pg-url URL]``; ``bench/__main__``
calls ``run(args)``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from relief_inventory.auth.actor import Actor
from relief_inventory.auth.services import (
    actor_for,
    create_user,
    grant_role,
    system_actor,
    user_by_name,
)
from relief_inventory.bootstrap import init_database
from relief_inventory.db import make_engine, open_session
from relief_inventory.errors import Conflict
from relief_inventory.funds import balances
from relief_inventory.funds import services as funds
from relief_inventory.funds.check import check_funds
from relief_inventory.funds.models import FundKind, FundLevel, Purpose
from relief_inventory.funds.reconcile import reconcile
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.services import create_county
from seed.funds import COUNTY_WEIGHTS, seed_funds

CACHE = Path("instance") / "bench"
CLIENTS = 8
DEFAULT_RELEASES = 200
RANDOM_SEED = 2024


def fresh_url(backend: str, pg_url: str | None) -> str:
    if backend == "sqlite":
        CACHE.mkdir(parents=True, exist_ok=True)
        path = (CACHE / "funds.db").resolve()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    assert pg_url
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS bench_funds CASCADE"))
        conn.execute(text("CREATE SCHEMA bench_funds"))
    admin.dispose()
    separator = "&" if "?" in pg_url else "?"
    return f"{pg_url}{separator}options=-csearch_path%3Dbench_funds"


def prepare(engine: Engine) -> dict[str, Actor]:
    init_database(engine)
    system = system_actor(engine)
    with UnitOfWork(engine, system) as uow:
        for code in COUNTY_WEIGHTS:
            create_county(uow, code, f"县{code}", "25.0", "101.5")
        for username, role, county in (
            ("bench_clerk", "requester", "532322"),
            ("bench_checker", "finance", None),
            ("bench_approver", "finance", None),
        ):
            create_user(uow, username, "bench-password-1")
            grant_role(uow, username, role, county_code=county)
    with open_session(engine) as session:
        return {
            name: actor_for(session, user_by_name(session, name))
            for name in ("bench_clerk", "bench_checker", "bench_approver")
        }


def timed(step: Callable[[], Any]) -> float:
    started = time.perf_counter()
    step()
    return (time.perf_counter() - started) * 1000


def _row(base: dict, case: str, latencies: list[float], **extra: Any) -> dict:
    return {
        **base,
        "case": case,
        "count": len(latencies),
        "median_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(sorted(latencies)[int(len(latencies) * 0.95) - 1], 2),
        **extra,
    }


def appropriation(engine: Engine, actor: Actor, amount: str, document: str) -> str:
    with UnitOfWork(engine, actor) as uow:
        source = funds.create_source(
            uow,
            level=FundLevel.PROVINCIAL,
            kind=FundKind.EMERGENCY,
            year=2025,
            document_number=document,
            amount=amount,
        )
        return funds.appropriate(
            uow, source=source.number, county="532322", document_number=document, amount=amount
        ).number


def file_releases(
    engine: Engine, clerk: Actor, target: str, count: int
) -> tuple[list[float], list[str]]:
    latencies, numbers = [], []

    def file() -> None:
        with UnitOfWork(engine, clerk) as uow:
            numbers.append(
                funds.create_release(
                    uow,
                    appropriation=target,
                    purpose=Purpose.LIVING_AID,
                    amount="100.00",
                    beneficiaries=1,
                    evidence="花名册",
                    submit=True,
                ).number
            )

    for _ in range(count):
        latencies.append(timed(file))
    return latencies, numbers


def step_all(engine: Engine, actor: Actor, numbers: list[str], step: Callable) -> list[float]:
    def one(number: str) -> Callable[[], None]:
        def call() -> None:
            with UnitOfWork(engine, actor) as uow:
                step(uow, number)

        return call

    return [timed(one(number)) for number in numbers]


def _client(url: str, numbers: list[str], barrier: Any, results: Any) -> None:
    engine = make_engine(url)
    with open_session(engine) as session:
        approver = actor_for(session, user_by_name(session, "bench_approver"))
        payer = actor_for(session, user_by_name(session, "bench_checker"))
    barrier.wait(timeout=120)
    paid = refused = 0
    for number in numbers:
        try:
            with UnitOfWork(engine, approver) as uow:
                funds.approve(uow, number)
            with UnitOfWork(engine, payer) as uow:
                funds.pay(uow, number)
            paid += 1
        except Conflict:
            refused += 1
    results.put((paid, refused))
    engine.dispose()


def concurrent(url: str, numbers: list[str]) -> tuple[float, int, int]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(CLIENTS + 1)
    results = context.Queue()
    workers = [
        context.Process(target=_client, args=(url, numbers[i::CLIENTS], barrier, results))
        for i in range(CLIENTS)
    ]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=120)
    started = time.perf_counter()
    outcomes = [results.get(timeout=600) for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return elapsed, sum(p for p, _ in outcomes), sum(r for _, r in outcomes)


def seed_case(backend: str, pg_url: str | None, scale: int) -> dict:
    """Seed the 2024 funds on a fresh database, then time the reconciliation over them."""
    engine = make_engine(fresh_url(backend, pg_url))
    try:
        prepare(engine)
        seconds = timed(lambda: seed_funds(engine, random.Random(RANDOM_SEED), scale)) / 1000
        with open_session(engine) as session:
            latencies = [timed(lambda: reconcile(session, 2024)) for _ in range(5)]
            result = reconcile(session, 2024)
    finally:
        engine.dispose()
    return _row(
        {"bench": "funds", "backend": backend},
        f"reconcile 2024 after seed_funds scale {scale}",
        latencies,
        seed_seconds=round(seconds, 1),
        ties_out=result.ok,
        appropriated=str(result.total.appropriated),
        beneficiaries=result.total.beneficiaries,
    )


def workflow_case(backend: str, pg_url: str | None, releases: int) -> list[dict]:
    """Each step of the release workflow, then racing approvals from 8 processes."""
    url = fresh_url(backend, pg_url)
    engine = make_engine(url)
    base = {"bench": "funds", "backend": backend}
    try:
        people = prepare(engine)
        clerk, checker, approver = (people[n] for n in people)
        target = appropriation(engine, checker, f"{releases * 100}.00", "云财社〔2025〕1号")
        latencies, numbers = file_releases(engine, clerk, target, releases)
        rows = [_row(base, "file + submit a release", latencies)]
        for case, actor, step in (
            ("verify", checker, funds.verify),
            ("approve (row lock, remaining check)", approver, funds.approve),
            ("pay", checker, funds.pay),
        ):
            rows.append(_row(base, case, step_all(engine, actor, numbers, step)))
        cover = Decimal(releases * 50)  # half of what will be asked for
        half = appropriation(engine, checker, f"{cover}.00", "云财社〔2025〕2号")
        _latencies, numbers = file_releases(engine, clerk, half, releases)
        step_all(engine, checker, numbers, funds.verify)
        elapsed, paid, refused = concurrent(url, numbers)
        with open_session(engine) as session:
            problems = check_funds(session)
            row = funds.appropriation_by_number(session, half)
            drawn = balances.drawn(session, row.id)  # type: ignore[arg-type]
        rows.append(
            {
                **base,
                "case": f"{CLIENTS} processes approve+pay, appropriation covers half",
                "seconds": round(elapsed, 2),
                "attempts_per_second": round(releases / elapsed, 1),
                "paid": paid,
                "refused": refused,
                "drawn": str(drawn),
                "never_overspent": drawn <= cover,
                "books_ok": not problems,
            }
        )
        return rows
    finally:
        engine.dispose()


def bench_backend(backend: str, pg_url: str | None, releases: int) -> list[dict]:
    rows = [seed_case(backend, pg_url, scale) for scale in (1, 10)]
    return rows + workflow_case(backend, pg_url, releases)


def run(args: Any = None) -> list[dict]:
    """Rows for ``make bench``: SQLite always, PostgreSQL when a URL is given."""
    releases = int(getattr(args, "funds_releases", None) or DEFAULT_RELEASES)
    pg_url = getattr(args, "pg_url", None) or os.environ.get("RELIEF_BENCH_PG_URL")
    rows = bench_backend("sqlite", None, releases)
    if pg_url:
        rows += bench_backend("postgresql", pg_url, releases)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", dest="funds_releases", type=int, default=DEFAULT_RELEASES)
    parser.add_argument("--pg-url", default=None, help="Also run on this PostgreSQL.")
    for row in run(parser.parse_args(argv)):
        print(row, flush=True)


if __name__ == "__main__":
    main()
