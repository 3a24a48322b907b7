"""Concurrent writers never fork the chain (PostgreSQL, where writers really run in parallel).

Eight processes (multiprocessing spawn, each with its own engine on the test database)
start together and each runs 25 units of work that create an audited row and record an
event. Appends are serialised by a transaction-scoped advisory lock (SQLite needs none: its
write lock is taken when the unit of work begins), so afterwards the chain verifies,
sequence numbers are contiguous, no two entries share a predecessor, and every one of the
400 entries is there.
"""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.verify import verify

PROCESSES = 8
UNITS = 25
ENTRIES_PER_UNIT = 2  # the category's create, and an explicit event


def write_units(db_url: str, worker: int, barrier, results) -> None:
    """One writer process: its own engine, released by the barrier with the others."""
    import os

    os.environ.setdefault("RELIEF_SCRYPT_N", "1024")
    from relief_inventory.auth.services import system_actor
    from relief_inventory.db import make_engine
    from relief_inventory.stock import catalog
    from relief_inventory.uow import UnitOfWork

    engine = make_engine(db_url)
    try:
        actor = system_actor(engine)
        barrier.wait(timeout=120)
        for unit in range(UNITS):
            with UnitOfWork(engine, actor, reason=f"writer {worker}") as uow:
                catalog.create_category(uow, f"C{worker}-{unit}", f"并发类别 {worker}-{unit}")
                uow.record("concurrency_probe", "test", f"{worker}-{unit}", {"unit": unit})
        results.put((worker, "ok"))
    except Exception as error:  # reported to the test, which fails showing it
        results.put((worker, f"error: {error!r}"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["pg"], indirect=True)
def test_many_writer_processes_extend_one_unforked_chain(engine, db_url):
    with Session(engine) as session:
        before = session.scalar(select(func.count()).select_from(AuditEntry))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=write_units, args=(db_url, n, barrier, results))
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=300) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert set(outcomes.values()) == {"ok"}, outcomes

    with Session(engine) as session:
        count, low, high, links = session.execute(
            select(
                func.count(),
                func.min(AuditEntry.seq),
                func.max(AuditEntry.seq),
                func.count(func.distinct(AuditEntry.prev_hash)),
            )
        ).one()
        assert count == before + PROCESSES * UNITS * ENTRIES_PER_UNIT
        assert (low, high) == (1, count)  # contiguous
        assert links == count  # no two entries extend the same predecessor
        result = verify(session)
    assert result.ok, result.problems
    assert result.entries == count


@pytest.fixture(autouse=True)
def _system_user_exists(engine):
    """Create the system user before the race, so the writers only read it."""
    from relief_inventory.auth.services import system_actor

    system_actor(engine)
