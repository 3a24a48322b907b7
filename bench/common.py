"""Helpers shared by the benchmarks: throw-away databases and timing."""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from relief_inventory.db import make_engine


@contextmanager
def temporary_database(pg_url: str | None, prefix: str) -> Iterator[tuple[str, Engine]]:
    """A SQLite file in a temporary folder, or (with ``pg_url``) a PostgreSQL schema of its
    own; removed afterwards either way, so benchmark data is never left behind."""
    if not pg_url:
        with tempfile.TemporaryDirectory(prefix=f"relief-bench-{prefix}-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            engine = make_engine(url)
            try:
                yield url, engine
            finally:
                engine.dispose()
        return
    schema = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{separator}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def median_seconds(action: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``runs`` calls, after one untimed warm-up call."""
    action()
    return statistics.median(timed(action)[0] for _ in range(runs))
