"""The scenario check's speed: the 双柏县 M6 preset (20,000 relocated, 3 days) on the seeded
prefecture at scale 1 and 100, median of 10 after a warm-up, each run as the API runs it
(a fresh read session, every read and the layout). Target: under 2 s at scale 100.

Scale 1 is seeded into a temporary SQLite file (about a minute). Scale 100 is not seeded
here (it takes most of an hour): give a seeded file with ``--readiness-x100 PATH`` (default
``/work/cache/seed2024-x100.db`` when it exists). The file is copied first and never
written; the copy is brought to the current schema and, if it was seeded before readiness
existed, given the readiness demo data (``seed.readiness``).

    python -m bench --only readiness
    python -m bench --only readiness --readiness-x100 bench/results/seed-x100.db
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.common import timed
from relief_inventory.bootstrap import init_database
from relief_inventory.db import make_engine, open_session
from relief_inventory.readiness import check
from relief_inventory.readiness.models import ItemContent
from relief_inventory.stock.models import Lot, Move
from relief_inventory.warehouse.models import Depot
from seed.generate import seed_database
from seed.readiness import seed_readiness

RUNS = 10
TARGET_SECONDS = 2.0
DEFAULT_X100 = Path("/work/cache/seed2024-x100.db")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--readiness-x100", default=None, help="A seeded scale-100 SQLite file.")
    parser.add_argument("--readiness-runs", type=int, default=RUNS)


def _prepare(url: str) -> None:
    engine = make_engine(url)
    init_database(engine)  # migrate to the current schema
    with open_session(engine) as session:
        ready = session.scalar(select(func.count()).select_from(ItemContent))
    if not ready:
        seed_readiness(engine, random.Random("relief-seed:2024:seed.readiness"), 100)
    engine.dispose()


def _measure(url: str, scale: int, runs: int) -> dict[str, Any]:
    engine = make_engine(url)

    def once() -> dict[str, Any]:
        with open_session(engine) as session:
            spec = check.parse(session=session, preset="shuangbai-m6")
            return check.run(session, spec)

    answer = once()  # warm-up
    seconds = [timed(once)[0] for _ in range(runs)]
    with open_session(engine) as session:
        sizes = {
            "depots": session.scalar(select(func.count()).select_from(Depot)),
            "lots": session.scalar(select(func.count()).select_from(Lot)),
            "moves": session.scalar(select(func.count()).select_from(Move)),
        }
    engine.dispose()
    median = statistics.median(seconds)
    short = sum(e["quantity"] for e in answer["external"])
    return {
        "benchmark": "readiness",
        "case": f"shuangbai-m6, scale {scale} (SQLite)",
        **sizes,
        "median_s": round(median, 3),
        "max_s": round(max(seconds), 3),
        "runs": runs,
        "sending_depots": len(
            {d["depot"] for w in answer["windows"] for x in w["lines"] for d in x["depots"]}
        ),
        "external_measures": short,
        "target": f"< {TARGET_SECONDS} s" if scale == 100 else "",
        "meets_target": median < TARGET_SECONDS if scale == 100 else None,
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    runs = int(getattr(args, "readiness_runs", RUNS))
    rows = []
    with tempfile.TemporaryDirectory(prefix="relief-bench-readiness-") as folder:
        one = f"sqlite:///{Path(folder) / 'x1.db'}"
        engine = make_engine(one)
        seed_database(engine)
        engine.dispose()
        rows.append(_measure(one, 1, runs))
        source = getattr(args, "readiness_x100", None) or (
            DEFAULT_X100 if DEFAULT_X100.exists() else None
        )
        if source is None or not Path(source).exists():
            rows.append(
                {"benchmark": "readiness", "case": f"scale 100: no seeded file ({source}), skipped"}
            )
        else:
            copy = Path(folder) / "x100.db"
            shutil.copy(source, copy)
            url = f"sqlite:///{copy}"
            _prepare(url)
            rows.append(_measure(url, 100, runs))
    return [{k: v for k, v in row.items() if v is not None} for row in rows]
