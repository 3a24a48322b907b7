"""Audit wherever a session commits: hooks on every SQLAlchemy session of the process.

Whoever commits — the unit of work, a back-office view, the CLI, the seed, a session made by
hand — the same hooks run:

- a flush that inserts or updates rows of an ``@audited`` table is refused unless the
  session names its actor (``session.info[ACTOR_KEY]``, see ``db.open_session`` and
  ``act_as``); deleting audited rows is refused always (``registry.refuse_delete``);
- what such a flush wrote is collected as pending entries, and events that are not row
  changes can be added with ``record``;
- a savepoint rolled back takes the entries collected inside it with it, a transaction
  rolled back all of them;
- just before the session commits, the entries are sealed and appended to the hash chain
  (``audit/services.py``) in the same transaction, so a change and its entry commit or
  vanish together;
- on PostgreSQL each transaction of a session with an actor tells the database who is
  acting (``relief.actor``), which the row triggers require on every ledger table.

Statements that would write audited tables without a flush are refused at the engine
(``registry.refuse_unaudited_writes``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, event, insert, inspect, text
from sqlalchemy.orm import Session, SessionTransaction

from relief_inventory.audit.registry import (
    SESSION_ON_CONNECTION,
    AuditSpec,
    UnauditedWrite,
    permit,
    spec_for,
)
from relief_inventory.audit.services import PendingEntry, append_and_commit, creation_entry, seal
from relief_inventory.db import ACTOR_KEY, REASON_KEY

_STATE_KEY = "relief_audit"
_NAME_ACTOR = text("SELECT set_config('relief.actor', :actor, true)")


@dataclass
class _Capture:
    """A session's audit state: entries not yet appended, where each open savepoint began,
    and the chain head its last commit left."""

    pending: list[PendingEntry] = field(default_factory=list)
    marks: dict[SessionTransaction, int] = field(default_factory=dict)
    head: tuple[int, str] | None = None
    appended: bool = False  # this transaction's entries are in the chain: nothing may follow


def _capture(session: Session) -> _Capture:
    state = session.info.get(_STATE_KEY)
    if state is None:
        state = session.info[_STATE_KEY] = _Capture()
    return state


# -- what callers use ------------------------------------------------------------------------


def actor_of(session: Session) -> Any:
    return session.info.get(ACTOR_KEY)


def act_as(session: Session, actor: Any, reason: str | None = None) -> None:
    """Name who acts in this session from now on (a back office sets it per request)."""
    session.info[ACTOR_KEY] = actor
    session.info[REASON_KEY] = reason
    if session.in_transaction():
        connection = session.connection()
        _bind_connection(session, connection)
        if connection.dialect.name == "postgresql" and actor is not None:
            connection.execute(_NAME_ACTOR, {"actor": actor.username})


def record(
    session: Session,
    action: str,
    entity_type: str,
    entity_id: object,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Log an event that is not a row change; it is appended when the session commits."""
    if actor_of(session) is None:
        raise UnauditedWrite(f"cannot log '{action}' in a session that names no actor")
    _refuse_after_append(_capture(session))
    _capture(session).pending.append(
        PendingEntry(action, entity_type, str(entity_id), changes or {}, reason)
    )


def last_head(session: Session) -> tuple[int, str] | None:
    """The chain head this session's last commit appended up to (None: it appended nothing)."""
    state = session.info.get(_STATE_KEY)
    return state.head if state is not None else None


def insert_logged(session: Session, model: type, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows of an audited table with one Core statement, logging each as created.

    For bulk loads where building ORM objects would dominate. Every row must give every
    logged column and its primary key: the entry is made from exactly the values written.
    """
    spec: AuditSpec | None = getattr(model, "__audit_spec__", None)
    if spec is None:
        raise TypeError(f"{model.__name__} is not an audited model")
    if actor_of(session) is None:
        raise UnauditedWrite("insert_logged needs a session that names its actor")
    columns = set(spec.columns())
    entries = []
    for row in rows:
        missing = columns - row.keys()
        if missing:
            raise ValueError(f"row lacks logged column(s) {', '.join(sorted(missing))}")
        entries.append(creation_entry(spec, row))
    table = model.__table__  # type: ignore[attr-defined]
    session.execute(permit(insert(table), table.name), list(rows))
    _capture(session).pending.extend(entries)


# -- the hooks -------------------------------------------------------------------------------


def _audited(objects: Iterable[Any]) -> bool:
    return any(spec_for(obj) is not None for obj in objects)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if actor_of(session) is None and (_audited(session.new) or _audited(session.dirty)):
        raise UnauditedWrite(
            "audited changes in a session that names no actor: open it with "
            "db.open_session(engine, actor) or call audit.capture.act_as(session, actor)"
        )


def _refuse_after_append(state: _Capture) -> None:
    if state.appended:
        raise UnauditedWrite(
            "audited change after this transaction's entries were appended (a later "
            "before-commit hook?): refused, nothing of it is committed"
        )


def _after_flush(session: Session, _context: Any) -> None:
    if actor_of(session) is None:
        return
    state = _capture(session)
    if _audited(session.new) or _audited(session.dirty):
        _refuse_after_append(state)
    pending = state.pending
    for obj in session.new:
        spec = spec_for(obj)
        if spec is not None:
            changes = {name: [None, value] for name, value in spec.snapshot(obj).items()}
            pending.append(PendingEntry("create", spec.entity_type, spec.entity_id(obj), changes))
    for obj in session.dirty:
        spec = spec_for(obj)
        if spec is None:
            continue
        changes = _changed_columns(obj, spec)
        if changes:
            pending.append(PendingEntry("update", spec.entity_type, spec.entity_id(obj), changes))


def _changed_columns(obj: Any, spec: AuditSpec) -> dict[str, list[Any]]:
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


def _bind_connection(session: Session, connection: Connection) -> None:
    """Tell the engine hook which session (and transaction) writes on this connection."""
    connection.info[SESSION_ON_CONNECTION] = (weakref.ref(session), session.get_transaction())


def _after_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if transaction.nested:
        return  # a savepoint on the connection the transaction already holds
    _bind_connection(session, connection)
    actor = actor_of(session)
    if actor is not None and connection.dialect.name == "postgresql":
        connection.execute(_NAME_ACTOR, {"actor": actor.username})


def _after_transaction_create(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        _capture(session).marks[transaction] = len(_capture(session).pending)


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back: drop what was collected since it began (the root's rollback
    is _after_transaction_end's). SQLAlchemy ends the transaction before this runs."""
    state = session.info.get(_STATE_KEY)
    if state is not None and previous.nested:
        del state.pending[state.marks.pop(previous) :]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    state = session.info.get(_STATE_KEY)
    if state is not None and transaction.parent is None:  # committed, rolled back or closed
        state.pending.clear()
        state.marks.clear()
        state.appended = False


def _before_commit(session: Session) -> None:
    """Seal and append as late as possible: after the last flush, right before COMMIT."""
    if session.in_nested_transaction():
        return  # a savepoint being released: its entries stay pending
    session.flush()
    state = _capture(session)
    state.appended = True  # from here on, an audited change could only miss the log: refused
    if not state.pending:
        return
    actor = actor_of(session)
    sealed = seal(state.pending, actor.user_id, actor.username, session.info.get(REASON_KEY))
    state.pending.clear()
    state.head = append_and_commit(session, sealed)


for _name, _hook in (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("after_begin", _after_begin),
    ("after_transaction_create", _after_transaction_create),
    ("after_soft_rollback", _after_soft_rollback),
    ("after_transaction_end", _after_transaction_end),
    ("before_commit", _before_commit),
):
    event.listen(Session, _name, _hook)
