"""Which tables are audited, and how their rows are written into the log.

A model opts in with the ``@audited`` decorator. The unit of work then logs every insert
and update of its rows, and ``relief audit verify`` replays the log and compares it with
the rows, so an edit made behind the application's back shows up. Statements that would
write those tables without passing through the flush (bulk updates, raw SQL) are refused
by a session hook installed here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import Numeric, Table, event, inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import TextClause

from relief_inventory.audit.chain import canonical_value, mask_secret
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
        return model

    return register


def spec_for(obj: Any) -> AuditSpec | None:
    return getattr(type(obj), "__audit_spec__", None)


class UnauditedWrite(RuntimeError):
    """A programming error: a statement that would change audited rows behind the log."""


# INSERT/UPDATE/DELETE (and SQLite's INSERT OR REPLACE …) followed by a table name.
_WRITE_SQL = re.compile(
    r"\b(?:insert(?:\s+or\s+\w+)?\s+into|update(?:\s+or\s+\w+)?|delete\s+from)\s+"
    r"(?:[\"`]?\w+[\"`]?\.)?[\"`]?(\w+)",
    re.IGNORECASE,
)


def written_tables(statement: Any) -> set[str]:
    """The tables an INSERT, UPDATE or DELETE statement (Core, ORM or raw text) writes."""
    if isinstance(statement, TextClause):
        return {name.lower() for name in _WRITE_SQL.findall(statement.text)}
    if isinstance(statement, UpdateBase):
        table = getattr(statement, "table", None)
        return {table.name} if isinstance(table, Table) else set()
    return set()


def refuse_unaudited_writes(state: ORMExecuteState) -> None:
    """Session hook: audited tables change only through the flush of ORM objects.

    The unit of work logs what a flush writes; a bulk UPDATE or DELETE (``query.delete()``,
    Flask-Admin's fast mass delete, ``session.execute(update(Lot))``) or a raw SQL string
    would change rows without an entry, so it is refused before it reaches the database.
    Writes from outside the application are the database's business (triggers) and the
    replay's (``relief audit verify``).
    """
    if state.is_select:
        return
    audited_tables = written_tables(state.statement) & AUDITED.keys()
    if audited_tables:
        raise UnauditedWrite(
            f"bulk or raw-SQL write to audited table(s) {', '.join(sorted(audited_tables))} "
            "bypasses the audit log: load the rows and change them through the session"
        )


event.listen(Session, "do_orm_execute", refuse_unaudited_writes)
