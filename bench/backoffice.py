"""Benchmark: the back office's big lists and home pages, through the Flask test client.

The moves list, the audit list, a depot's stock list and each role's home page, first
page and a filtered page (by depot, item or day), median of 10 after a warm-up, signed in
as the seeded demo users. Target: under 500 ms each at seed scale 100 (about a million
moves and audit entries).

The database: ``--backoffice-db FILE`` (a seeded SQLite file, e.g. the scale-100 seed at
``/work/cache/seed2024-x100.db``), copied to a temporary folder first because logging in
writes; without it a scale-1 prefecture is seeded (about 15 s), so the figures then say
nothing about scale 100.

Run alone with ``python -m bench.backoffice [--backoffice-db FILE] [--runs N]``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.common import median_seconds
from relief_inventory.config import Settings
from relief_inventory.db import make_engine, open_session
from relief_inventory.migrate import upgrade
from relief_inventory.stock.models import Move
from relief_inventory.timeutil import local_today
from seed.generate import seed_database

DEFAULT_RUNS = 10
TARGET_SECONDS = 0.5
SCALE_100 = Path("/work/cache/seed2024-x100.db")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backoffice-db", default=None, help="A seeded SQLite file to copy.")
    parser.add_argument("--backoffice-runs", type=int, default=DEFAULT_RUNS)


def _cases(day: str) -> list[tuple[str, str, str]]:
    """(case, user, path): the big lists first and filtered, then every role's home."""
    return [
        ("moves, first page", "admin", "/moves/"),
        ("moves, depot ZX", "admin", "/moves/?flt0_0=ZX"),
        ("moves, item TENT-12", "admin", "/moves/?flt1_1=TENT-12"),
        ("moves, from a day", "admin", f"/moves/?flt2_2={day}"),
        ("moves, keeper's scope", "keeper", "/moves/"),
        ("audit, first page", "auditor", "/audit/"),
        ("audit, refusals", "auditor", "/audit/?flt0_0=refused"),
        ("audit, stock documents", "auditor", "/audit/?flt1_1=stock_document"),
        ("audit, from a day", "auditor", f"/audit/?flt2_2={day}"),
        ("depot stock, ZX", "keeper", "/quants/?flt0_0=ZX"),
        ("depot stock, first page", "keeper", "/quants/"),
        ("documents, first page", "keeper", "/documents/"),
        ("documents, drafts", "keeper", "/documents/?flt1_1=draft"),
        *((f"home, {user}", user, "/") for user in ("keeper", "dispatcher", "requester")),
        *((f"home, {user}", user, "/") for user in ("finance", "auditor")),
    ]


def _client(app: Any, username: str) -> Any:
    client = app.test_client()
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    password = f"demo-{username}-2024"
    answer = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}
    )
    if answer.status_code != 302:
        raise RuntimeError(f"cannot log in as {username}: {answer.status_code}")
    return client


def _database(args: argparse.Namespace, folder: Path) -> tuple[str, str]:
    """A copy of the given (or the scale-100) seed, or a fresh scale-1 seed."""
    source = getattr(args, "backoffice_db", None) or (SCALE_100 if SCALE_100.exists() else None)
    path = folder / "backoffice.db"
    if source is not None:
        started = time.perf_counter()
        shutil.copy(source, path)
        print(f"copied {source} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        url = f"sqlite:///{path}"
        upgrade(make_engine(url))  # the back office's indexes (0010) on an older seed
        return url, str(source)
    url = f"sqlite:///{path}"
    started = time.perf_counter()
    seed_database(make_engine(url))
    print(f"seeded scale 1 in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url, "scale 1 (seeded now)"


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from relief_inventory.app import create_app

    runs = int(getattr(args, "backoffice_runs", DEFAULT_RUNS))
    rows = []
    with tempfile.TemporaryDirectory(prefix="relief-bench-backoffice-") as folder:
        url, origin = _database(args, Path(folder))
        with open_session(make_engine(url)) as session:
            moves = session.scalar(select(func.count()).select_from(Move))
            first = session.scalar(select(func.max(Move.done_at)))
        day = (first.date() if first else local_today()).isoformat()
        app = create_app(Settings.from_env(database_url=url))
        clients: dict[str, Any] = {}
        for case, user, path in _cases(day):
            client = clients.get(user) or clients.setdefault(user, _client(app, user))
            status = client.get(path).status_code
            seconds = median_seconds(lambda c=client, p=path: c.get(p), runs)
            rows.append(
                {
                    "benchmark": "backoffice",
                    "case": case,
                    "path": path,
                    "status": status,
                    "median_ms": round(seconds * 1000, 1),
                    "target_ms": int(TARGET_SECONDS * 1000),
                    "meets_target": status == 200 and seconds < TARGET_SECONDS,
                    "database": f"{origin}, {moves:,} moves",
                }
            )
            print(f"  {case}: {seconds * 1000:.0f} ms", file=sys.stderr, flush=True)
        app.extensions["relief_engine"].dispose()
    return rows


def main() -> None:
    from bench.__main__ import table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    print(table(run(parser.parse_args())))


if __name__ == "__main__":
    main()
