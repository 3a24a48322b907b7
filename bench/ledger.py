"""Benchmark: seeding the ledger, and reading the stock summary against hand-written SQL.

For each scale (default 1 and 100) the demo prefecture is seeded into a fresh database
(``seed_database``, timed; target under 15 s at scale 1 on SQLite, the database of
``make run``), then the depot x category summary is read ``runs`` times through
``stock.queries.stock_summary`` and through a hand-written GROUP BY over the quant table,
both split by the status the stock reads (per depot, with expiry): median of each; target:
the service within 1.5x of the SQL at scale 100. ``relief check``'s ledger proof (every
quant = the sum of its moves) is timed once.

Run alone with ``python -m bench.ledger [--scales 1,100] [--runs 20] [--pg-url URL]``;
``bench/__main__`` calls ``run(args)``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from sqlalchemy import Engine, text

from bench.common import median_seconds, temporary_database, timed
from relief_inventory.db import open_session
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.queries import SUMMARY_STATUSES, stock_summary
from relief_inventory.timeutil import local_today
from seed.generate import DEFAULT_SEED, seed_database

DEFAULT_SCALES = "1,100"
DEFAULT_RUNS = 20
SEED_TARGET_SECONDS = {1: 15.0}
SUMMARY_TARGET_RATIO = 1.5  # at scale 100

# The same work as the service: pieces per depot and category, split by the status the stock
# reads today (the depot's own status of the lot, else the lot's, then expiry).
HAND_WRITTEN = text(
    """
    SELECT d.code, c.code,
           CASE WHEN COALESCE(s.status, lot.status) <> 'available'
                THEN COALESCE(s.status, lot.status)
                WHEN lot.expiry_date < :today THEN 'expired'
                ELSE 'available' END AS read_as,
           SUM(q.on_hand)
    FROM quant q
    JOIN location l ON l.id = q.location_id
    JOIN depot d ON d.id = l.depot_id
    JOIN item i ON i.id = q.item_id
    JOIN category c ON c.id = i.category_id
    JOIN lot ON lot.id = q.lot_id
    LEFT JOIN depot_lot_status s ON s.lot_id = q.lot_id AND s.depot_id = l.depot_id
    WHERE l.kind = 'internal' AND q.on_hand > 0
    GROUP BY d.code, c.code, read_as
    """
)
SUMMARY_NAME = {value: key for key, value in SUMMARY_STATUSES.items()}


def _by_service(engine: Engine) -> dict[tuple[str, str, str], int]:
    with open_session(engine) as session:
        return stock_summary(session).by_status


def _by_sql(engine: Engine) -> dict[tuple[str, str, str], int]:
    with engine.connect() as connection:
        rows = connection.execute(HAND_WRITTEN, {"today": local_today()})
        return {(d, c, SUMMARY_NAME[s]): int(n) for d, c, s, n in rows if n}


def _progress(scale: int) -> Any:
    """A progress line on stderr, updated every 5 %."""
    shown = [-1]

    def show(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if percent >= shown[0] + 5 or (done == total and shown[0] < 100):
            shown[0] = percent
            end = "\n" if done == total else ""
            print(f"\r  seeding scale {scale}: {percent}%", end=end, file=sys.stderr, flush=True)

    return show


def bench_scale(backend: str, pg_url: str | None, scale: int, runs: int) -> list[dict]:
    with temporary_database(pg_url, "ledger") as (_url, engine):
        seconds, report = timed(
            lambda: seed_database(
                engine, random_seed=DEFAULT_SEED, scale=scale, progress=_progress(scale)
            )
        )
        check_seconds, problems = timed(lambda: _check(engine))
        assert _by_service(engine) == _by_sql(engine), "summary differs from the SQL"
        service = median_seconds(lambda: _by_service(engine), runs)
        sql = median_seconds(lambda: _by_sql(engine), runs)
    base = {"benchmark": "ledger", "backend": backend, "scale": scale}
    target = SEED_TARGET_SECONDS.get(scale) if backend == "sqlite" else None  # `make run`
    rows = [
        {
            **base,
            "case": "seed (services, audited)",
            "seconds": round(seconds, 1),
            "moves": report.moves,
            "per_second": round(report.moves / seconds),
            "on_hand": report.on_hand,
            **({"target_seconds": target, "meets_target": seconds < target} if target else {}),
        },
        {
            **base,
            "case": "relief check: quants = moves",
            "seconds": round(check_seconds, 2),
            "ok": not problems,
        },
        {**base, "case": "stock summary: stock_summary()", "median_ms": round(service * 1e3, 2)},
        {**base, "case": "stock summary: hand-written SQL", "median_ms": round(sql * 1e3, 2)},
        {
            **base,
            "case": "stock summary: ratio service/SQL",
            "ratio": round(service / sql, 2),
            "runs": runs,
            **(
                {
                    "target_ratio": SUMMARY_TARGET_RATIO,
                    "meets_target": service / sql <= SUMMARY_TARGET_RATIO,
                }
                if scale >= 100
                else {}
            ),
        },
    ]
    return rows


def _check(engine: Engine) -> list[str]:
    with open_session(engine) as session:
        return check_quants(session)


def run(args: Any = None) -> list[dict]:
    """Rows for ``make bench``: SQLite always, PostgreSQL when a URL is given.

    ``args`` may carry ``ledger_scales`` ("1,100"), ``ledger_runs`` and ``pg_url`` (or
    ``RELIEF_BENCH_PG_URL``).
    """
    scales = [
        int(s) for s in str(getattr(args, "ledger_scales", None) or DEFAULT_SCALES).split(",")
    ]
    runs = int(getattr(args, "ledger_runs", None) or DEFAULT_RUNS)
    pg_url = getattr(args, "pg_url", None) or os.environ.get("RELIEF_BENCH_PG_URL")
    backends = [("sqlite", None)] + ([("postgresql", pg_url)] if pg_url else [])
    rows = []
    for scale in scales:
        for backend, url in backends:
            rows += bench_scale(backend, url, scale, runs)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", dest="ledger_scales", default=DEFAULT_SCALES)
    parser.add_argument("--runs", dest="ledger_runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--pg-url", default=None, help="Also run on this PostgreSQL.")
    for row in run(parser.parse_args(argv)):
        print(row, flush=True)


if __name__ == "__main__":
    main()
