"""Which tables are audited, and how their rows are written into the log.

A model opts in with the ``@audited`` decorator. Every session then logs every insert and
update of its rows (``audit/capture.py``), refuses to delete them, and ``relief audit
verify`` replays the log and compares it with the rows, so an edit made behind the
application's back shows up. Statements that would write those tables without passing
through the flush (bulk updates, raw SQL, Core on a connection) are refused by an engine
hook installed here, on every engine of the process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Numeric, event, inspect

from relief_inventory.audit.chain import canonical_value, mask_secret
from relief_inventory.db import ACTOR_KEY
from relief_inventory.errors import Conflict
from relief_inventory.money import Money

T = TypeVar("T")


@dataclass(frozen=True)
class AuditSpec:
    model: type
    exclude: frozenset[str] = field(default_factory=frozenset)
    mask: frozenset[str] = field(default_factory=frozenset)

    @property
    def entity_type(self) -> str:
        return self.model.__tablename__  # type: ignore[attr-defined]

    def columns(self) -> list[str]:
        return [c.key for c in inspect(self.model).column_attrs if c.key not in self.exclude]

    def logged_value(self, column: str, value: Any) -> Any:
        if column in self.mask:
            return mask_secret(value)
        scale = self._scales.get(column)
        if (
            scale is not None
            and isinstance(value, Decimal)
            and value.is_finite()
            and value.as_tuple().exponent > -scale  # type: ignore[operator]
        ):
            # Decimal("100") is stored and read back as 100.00: log it that way. Padding
            # only, never rounding: a value with too many places is the caller's bug.
            value = value.quantize(Decimal(1).scaleb(-scale))
        return canonical_value(value)

    @cached_property
    def _scales(self) -> dict[str, int]:
        """Decimal places of the exact-decimal columns (money, coordinates)."""
        scales = {}
        for column in self.model.__table__.columns:  # type: ignore[attr-defined]
            if isinstance(column.type, Money):
                scales[column.key] = 2
            elif isinstance(column.type, Numeric) and column.type.asdecimal and column.type.scale:
                scales[column.key] = column.type.scale
        return scales

    def snapshot(self, obj: Any) -> dict[str, Any]:
        return {name: self.logged_value(name, getattr(obj, name)) for name in self.columns()}

    def entity_id(self, obj: Any) -> str:
        key = inspect(self.model).primary_key_from_instance(obj)
        return "-".join(str(part) for part in key)


AUDITED: dict[str, AuditSpec] = {}


def audited(
    *, exclude: tuple[str, ...] = (), mask: tuple[str, ...] = ()
) -> Callable[[type[T]], type[T]]:
    """Class decorator: log every insert and update of this table's rows."""

    def register(model: type[T]) -> type[T]:
        spec = AuditSpec(model, frozenset(exclude), frozenset(mask))
        AUDITED[spec.entity_type] = spec
        model.__audit_spec__ = spec  # type: ignore[attr-defined]
        event.listen(model, "before_delete", refuse_delete)
        return model

    return register


def spec_for(obj: Any) -> AuditSpec | None:
    return getattr(type(obj), "__audit_spec__", None)


class UnauditedWrite(RuntimeError):
    """A programming error: a write that would change audited rows behind the log."""


def refuse_delete(_mapper: Any, _connection: Any, target: Any) -> None:
    """Mapper hook: audited rows are never deleted, by any session, cascades included."""
    raise Conflict(f"台账记录不可删除（{type(target).__tablename__}），请使用冲销单据或停用更正")


# INSERT/UPDATE/DELETE/MERGE (and SQLite's INSERT OR REPLACE …) followed by a table name;
# COPY … FROM; the chain's own append function, which writes the log.
_WRITE_SQL = re.compile(
    r"\b(?:insert(?:\s+or\s+\w+)?\s+into|replace\s+into|update(?:\s+or\s+\w+)?"
    r"|delete\s+from|merge\s+into)\s+(?:[\"`]?\w+[\"`]?\.)?[\"`]?(\w+)",
    re.IGNORECASE,
)
_COPY_SQL = re.compile(
    r"\bcopy\s+(?:[\"`]?\w+[\"`]?\.)?[\"`]?(\w+)[\"`]?\s*(?:\([^)]*\))?\s*from\b",
    re.IGNORECASE,
)
# Statements that define or control rather than write rows (a function body may well say
# INSERT INTO audit_entry).
_NOT_DML = frozenset(
    {
        "CREATE",
        "ALTER",
        "DROP",
        "COMMENT",
        "GRANT",
        "REVOKE",
        "SET",
        "RESET",
        "SHOW",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "PRAGMA",
        "ANALYZE",
        "VACUUM",
    }
)
_TRUNCATE_SQL = re.compile(r"\btruncate\s+(?:table\s+)?(?:only\s+)?([\w\s,.\"`*]+)", re.IGNORECASE)
_APPEND_SQL = re.compile(r"\brelief_audit_append\s*\(", re.IGNORECASE)
AUDIT_LOG_TABLE = "audit_entry"


@lru_cache(maxsize=2048)
def written_tables(sql: str) -> frozenset[str]:
    """The tables a SQL string inserts into, updates, deletes from, copies into or truncates."""
    words = sql.lstrip(" \t\r\n(").split(None, 1)
    if not words or words[0].upper() in _NOT_DML:
        return frozenset()
    names = {name.lower() for name in _WRITE_SQL.findall(sql)}
    names.update(name.lower() for name in _COPY_SQL.findall(sql))
    for listed in _TRUNCATE_SQL.findall(sql):
        for part in listed.split(","):
            words = part.replace('"', " ").replace("`", " ").replace("*", " ").split()
            if words:
                names.add(words[0].split(".")[-1].lower())
    if _APPEND_SQL.search(sql):
        names.add(AUDIT_LOG_TABLE)
    return frozenset(names)


def guarded_tables() -> set[str]:
    """What only the flush and the chain append may write: every audited table and the log."""
    return {*AUDITED, AUDIT_LOG_TABLE}


@dataclass(frozen=True)
class _Permit:
    tables: frozenset[str]


PERMIT_OPTION = "relief_logged_write"
# Who is writing on this DBAPI connection: (weakref to the session, its root transaction).
SESSION_ON_CONNECTION = "relief_session"


def permit_options(*tables: str) -> dict[str, Any]:
    """Execution options marking one statement as a logged write to exactly ``tables``.

    The narrow door for the audit package's own Core writes (the chain append, rows inserted
    with their entries by ``audit.capture.insert_logged``); everything else writes audited
    tables through the ORM flush, which the log sees.
    """
    return {PERMIT_OPTION: _Permit(frozenset(tables))}


def permit(statement: T, *tables: str) -> T:
    """``statement`` with ``permit_options(*tables)``."""
    return statement.execution_options(**permit_options(*tables))  # type: ignore[attr-defined]


def refuse_unaudited_writes(
    connection: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    context: Any,
    _executemany: bool,
) -> None:
    """Engine hook (every engine, every statement): audited tables change only through the
    flush of a session with an actor, or through a statement carrying a ``permit`` for them.

    Bulk UPDATE/DELETE (``query.delete()``, Flask-Admin's fast mass delete,
    ``session.execute(update(Lot))``), raw SQL, ``session.connection().execute(...)``,
    ``engine.connect()`` and the legacy bulk_* methods all reach the cursor here, and are
    refused before the database sees them. Writes from outside the application are the
    database's business (triggers) and the replay's (``relief audit verify``).
    """
    tables = written_tables(statement) & guarded_tables()
    if not tables:
        return
    granted = context.execution_options.get(PERMIT_OPTION) if context is not None else None
    if isinstance(granted, _Permit) and tables <= granted.tables:
        return
    if _flushing_with_actor(connection):
        return
    raise UnauditedWrite(
        f"write to audited table(s) {', '.join(sorted(tables))} outside the audited flush "
        "bypasses the audit log: load the rows and change them through a session with an actor"
    )


def _flushing_with_actor(connection: Connection) -> bool:
    """Is this statement part of the ORM flush of a session that names its actor?"""
    owner = connection.info.get(SESSION_ON_CONNECTION)
    if owner is None:
        return False
    reference, root = owner
    session = reference()
    # SQLAlchemy's own flags: ``_warn_on_events`` is set (in a try/finally) only while a
    # flush's unit of work executes; the legacy bulk_* methods set ``_flushing`` alone.
    return (
        session is not None
        and session._flushing
        and session._warn_on_events
        and session.get_transaction() is root
        and session.info.get(ACTOR_KEY) is not None
    )


event.listen(Engine, "before_cursor_execute", refuse_unaudited_writes)
