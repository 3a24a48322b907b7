"""The unit of work: one transaction per service call, with its audit entries inside it.

Every write in the system passes through here. On entering, SQLite takes its write lock
(BEGIN IMMEDIATE) and PostgreSQL is told who is acting (``relief.actor``, read by the row
triggers that refuse writes from outside the application). While the session flushes, the
inserts and updates of audited tables are collected; at commit they are appended to the
hash chain in the same transaction, so a rolled-back change leaves no entry and no entry
exists without its change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.orm import Session

from relief_inventory import attempts
from relief_inventory.audit.registry import spec_for
from relief_inventory.audit.services import PendingEntry, append
from relief_inventory.auth.actor import Actor
from relief_inventory.db import SQLITE_BEGIN_OPTION, is_sqlite
from relief_inventory.errors import Conflict, PermissionDenied, Unauthenticated


class UnitOfWork:
    def __init__(self, engine: Engine, actor: Actor, *, reason: str | None = None):
        self.engine = engine
        self.actor = actor
        self.reason = reason
        self.pending: list[PendingEntry] = []
        self.session: Session
        self.head: tuple[int, str] | None = None

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> UnitOfWork:
        self.session = Session(self.engine, expire_on_commit=False, autoflush=True)
        if is_sqlite(self.engine):
            self.session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        else:
            self.session.execute(
                text("SELECT set_config('relief.actor', :actor, true)"),
                {"actor": self.actor.username},
            )
        event.listen(self.session, "after_flush", self._collect)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                self.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()
        if isinstance(exc, PermissionDenied | Unauthenticated):
            self._log_refusal(exc)

    def commit(self) -> None:
        self.session.flush()
        self.head = append(self.session, self.actor.user_id, self.actor.username, self._entries())
        self.pending.clear()
        self.session.commit()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction that can fail alone (a lost race, a duplicate key): on an
        exception its writes and the audit entries collected inside it are both undone."""
        mark = len(self.pending)
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            del self.pending[mark:]
            raise

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
        self.pending.append(
            PendingEntry(action, entity_type, str(entity_id), changes or {}, reason)
        )

    def _entries(self) -> list[PendingEntry]:
        for entry in self.pending:
            if entry.reason is None:
                entry.reason = self.reason
        return self.pending

    def _collect(self, session: Session, _context: Any) -> None:
        for obj in session.new:
            spec = spec_for(obj)
            if spec is not None:
                changes = {name: [None, value] for name, value in spec.snapshot(obj).items()}
                self.pending.append(
                    PendingEntry("create", spec.entity_type, spec.entity_id(obj), changes)
                )
        for obj in session.dirty:
            spec = spec_for(obj)
            if spec is None:
                continue
            changes = self._changed_columns(obj, spec)
            if changes:
                self.pending.append(
                    PendingEntry("update", spec.entity_type, spec.entity_id(obj), changes)
                )
        for obj in session.deleted:
            if spec_for(obj) is not None:
                raise Conflict("台账记录不可删除，请使用冲销单据更正")

    @staticmethod
    def _changed_columns(obj: Any, spec: Any) -> dict[str, list[Any]]:
        state = inspect(obj)
        changes: dict[str, list[Any]] = {}
        for name in spec.columns():
            history = state.attrs[name].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            old_logged, new_logged = spec.logged_value(name, old), spec.logged_value(name, new)
            if old_logged != new_logged:
                changes[name] = [old_logged, new_logged]
        return changes

    def _log_refusal(self, exc: PermissionDenied | Unauthenticated) -> None:
        """A refused action is a security event: it is logged even though nothing changed."""
        with UnitOfWork(self.engine, self.actor) as uow:
            uow.record(
                "refused",
                "security",
                self.actor.username,
                {"code": exc.code, "message": exc.message, "attempted": attempts.current()},
            )


def unit_of_work(engine: Engine, actor: Actor, reason: str | None = None) -> UnitOfWork:
    return UnitOfWork(engine, actor, reason=reason)
