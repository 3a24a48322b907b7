"""Running a unit of work to its end: done again when the database broke a deadlock.

PostgreSQL aborts one of two transactions that lock rows in opposite orders (an emergency
approval and a dispatch touching the same quants), and may refuse a serialisation or a
lock it cannot take. The aborted try left nothing behind, so running the same work again
in a fresh unit of work is safe. Every adapter (API, CLI, back office, seed) that runs a
write calls ``run`` rather than opening the unit of work itself, so they all behave alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from relief_inventory.auth.actor import Actor
from relief_inventory.errors import Conflict
from relief_inventory.uow import UnitOfWork

T = TypeVar("T")

ATTEMPTS = 3
# Deadlock, serialization failure, lock not available: the database aborted the statement
# to break a tie between transactions; doing the work again is safe.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def retryable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def run(
    engine: Engine,
    actor: Actor,
    work: Callable[[UnitOfWork], T],
    *,
    reason: str | None = None,
    attempts: int = ATTEMPTS,
) -> T:
    """``work(uow)`` in its own unit of work, committed; after ``attempts`` aborted tries a
    409 asking the user to try again (nothing was written)."""
    attempt = 1
    while True:
        try:
            with UnitOfWork(engine, actor, reason=reason) as uow:
                return work(uow)
        except DBAPIError as error:
            if not retryable(error):
                raise
            if attempt >= attempts:
                raise Conflict("数据库繁忙（并发冲突），请稍后重试") from error
            attempt += 1
