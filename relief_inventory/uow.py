"""The unit of work: one transaction per service call, with its audit entries inside it.

Every service call runs in one. It opens a session from the application's factory with the
actor in ``session.info``; the audit hooks every session carries (``audit/capture.py``) log
what it flushes and append the entries to the hash chain just before it commits, in the
same transaction, so a rolled-back change leaves no entry and no entry exists without its
change. On entering, SQLite takes its write lock (BEGIN IMMEDIATE); PostgreSQL is told who
is acting (``relief.actor``) when the transaction begins.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from relief_inventory import attempts
from relief_inventory.audit import capture
from relief_inventory.auth.actor import Actor
from relief_inventory.db import REASON_KEY, SQLITE_BEGIN_OPTION, is_sqlite, open_session
from relief_inventory.errors import PermissionDenied, Unauthenticated


class UnitOfWork:
    def __init__(self, engine: Engine, actor: Actor, *, reason: str | None = None):
        self.engine = engine
        self.actor = actor
        self._reason = reason
        self.session: Session
        self.head: tuple[int, str] | None = None

    @property
    def reason(self) -> str | None:
        """The reason logged with every entry that gives none of its own; a service may set
        it once it knows (a status change's reason)."""
        return self._reason

    @reason.setter
    def reason(self, value: str | None) -> None:
        self._reason = value
        if hasattr(self, "session"):
            self.session.info[REASON_KEY] = value

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> UnitOfWork:
        self.session = open_session(self.engine, self.actor, reason=self.reason)
        if is_sqlite(self.engine):
            self.session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                self.session.commit()
                self.head = capture.last_head(self.session)
            else:
                self.session.rollback()
        finally:
            self.session.close()
        if isinstance(exc, PermissionDenied | Unauthenticated):
            self._log_refusal(exc)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction that can fail alone (a lost race, a duplicate key): on an
        exception its writes and the audit entries collected inside it are both undone."""
        with self.session.begin_nested():
            yield

    # -- audit -----------------------------------------------------------------------
    def record(
        self,
        action: str,
        entity_type: str,
        entity_id: object,
        changes: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Log an event that is not a row change (a transition's meaning, a refusal)."""
        capture.record(self.session, action, entity_type, entity_id, changes, reason)

    def _log_refusal(self, exc: PermissionDenied | Unauthenticated) -> None:
        """A refused action is a security event: it is logged even though nothing changed."""
        with UnitOfWork(self.engine, self.actor) as uow:
            uow.record(
                "refused",
                "security",
                self.actor.username,
                {"code": exc.code, "message": exc.message, "attempted": attempts.current()},
            )
