"""Benchmark: printing. Median of 10 for a one-page and a ten-page allocation order and for
the annual report (PDF and Excel); 100 orders in one batch rendered by worker processes.

On the seeded prefecture (scale 1, SQLite): dispatch requests are filed and approved
through the services as the demo users (not timed); the ten-page order draws on 340 lots of
rice received for it. Each timed print is what the API does: read the paper with the
reader's scope, seal it, log the print in the audit chain, render with WeasyPrint.

Targets: one-page order < 0.5 s, 100 orders < 30 s, annual report < 3 s.

Run alone with ``python -m bench.documents [--runs N] [--batch N]``.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import Engine

from bench.common import temporary_database
from relief_inventory.allocation import requests as dispatch
from relief_inventory.auth.actor import Actor
from relief_inventory.auth.services import actor_for, system_actor, user_by_name
from relief_inventory.config import Settings
from relief_inventory.db import open_session
from relief_inventory.migrate import upgrade
from relief_inventory.stock import services as stock
from relief_inventory.uow import UnitOfWork
from reports.exports import export_report
from reports.printing import PrintOptions, print_batch, print_document
from seed.generate import seed_database

DEFAULT_RUNS = 10
DEFAULT_BATCH = 100
LONG_LOTS = 340  # about 35 lines a page
TARGETS = {"one-page order": 0.5, "annual report (PDF)": 3.0, "annual report (Excel)": 3.0}
BATCH_TARGET = 30.0


def _actor(engine: Engine, username: str) -> Actor:
    with open_session(engine) as session:
        return actor_for(session, user_by_name(session, username))


def _request(engine: Engine, lines: list[dict[str, Any]], county: str = "532322") -> str:
    """Filed by the county's requester, approved (and allocated) by the dispatcher."""
    with UnitOfWork(engine, _actor(engine, "requester")) as uow:
        request, _ = dispatch.create(
            uow,
            county=county,
            disaster_type="earthquake",
            urgency="urgent",
            people_affected=3000,
            reason="地震灾害，转移安置受灾群众",
            lines=lines,
            submit=True,
        )
    with UnitOfWork(engine, _actor(engine, "dispatcher")) as uow:
        dispatch.approve(uow, request.number)
    return request.number


def _long_request(engine: Engine) -> str:
    with UnitOfWork(engine, _actor(engine, "keeper")) as uow:
        stock.receive(
            uow,
            depot="SB",
            partner="基准测试粮油公司",
            lines=[
                {
                    "item": "RICE-25",
                    "lot": f"BENCH-{i:04d}",
                    "quantity": 2,
                    "production_date": date.today().isoformat(),
                }
                for i in range(LONG_LOTS)
            ],
        )
    return _request(engine, [{"item": "RICE-25", "quantity": 2 * LONG_LOTS}])


def _median(action: Any, runs: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``runs`` calls after a warm-up (fonts, templates).
    The CPU time is what the work costs whatever else the shared machine is doing."""
    result = action()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def run(args: Any = None) -> list[dict]:
    runs = int(getattr(args, "documents_runs", None) or DEFAULT_RUNS)
    batch = int(getattr(args, "documents_batch", None) or DEFAULT_BATCH)
    rows: list[dict] = []
    with temporary_database(None, "documents") as (url, engine):
        upgrade(engine)
        started = time.perf_counter()
        seed_database(engine)
        print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        settings = Settings.from_env(database_url=url)
        options = PrintOptions.from_settings(settings)
        dispatcher = _actor(engine, "dispatcher")
        short = _request(
            engine,
            [
                {"item": "TENT-12", "quantity": 30},
                {"item": "QUILT-2", "quantity": 100},
                {"item": "RICE-10", "quantity": 50},
            ],
        )
        long = _long_request(engine)
        for case, number in (("one-page order", short), ("ten-page order", long)):
            seconds, cpu, pdf = _median(
                lambda n=number: print_document(engine, dispatcher, n, options), runs
            )
            pages = len(PdfReader(io.BytesIO(pdf)).pages)
            rows.append(_row(case, seconds, cpu, pages, len(pdf), runs))
        admin = system_actor(engine)
        for fmt, case in (("pdf", "annual report (PDF)"), ("xlsx", "annual report (Excel)")):
            seconds, cpu, (_, data) = _median(
                lambda f=fmt: export_report(
                    engine, admin, "annual", {"year": 2024}, f, "楚雄州应急管理局"
                ),
                runs,
            )
            rows.append(_row(case, seconds, cpu, None, len(data), runs))
        numbers = [
            _request(
                engine, [{"item": "TENT-12", "quantity": 2}, {"item": "QUILT-2", "quantity": 5}]
            )
            for _ in range(batch)
        ]
        with tempfile.TemporaryDirectory(prefix="relief-bench-batch-") as folder:
            started, cpu = time.perf_counter(), _cpu_with_children()
            paths = print_batch(engine, dispatcher, numbers, options, Path(folder), workers=2)
            seconds, cpu = time.perf_counter() - started, _cpu_with_children() - cpu
        rows.append(
            _say(
                {
                    "benchmark": "documents",
                    "case": f"{len(paths)} orders in a batch (2 worker processes)",
                    "seconds": round(seconds, 2),
                    "cpu_s": round(cpu, 2),
                    "per order": round(seconds / max(1, len(paths)), 3),
                    "target_s": BATCH_TARGET,
                    "meets_target": seconds < BATCH_TARGET,
                }
            )
        )
    return rows


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its finished children (the render workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _say(row: dict) -> dict:
    print(
        f"  {row['case']}: {row.get('median_s', row.get('seconds'))} s", file=sys.stderr, flush=True
    )
    return row


def _row(case: str, seconds: float, cpu: float, pages: int | None, size: int, runs: int) -> dict:
    row: dict[str, Any] = {
        "benchmark": "documents",
        "case": case,
        "median_s": round(seconds, 3),
        "cpu_s": round(cpu, 3),
        "runs": runs,
        "pages": pages if pages is not None else "",
        "KiB": size // 1024,
    }
    if case in TARGETS:
        row["target_s"] = TARGETS[case]
        row["meets_target"] = seconds < TARGETS[case]
    return _say(row)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", dest="documents_runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--batch", dest="documents_batch", type=int, default=DEFAULT_BATCH)
    from bench.__main__ import table

    print(table(run(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
