"""Idempotent creation: a client that retries after a lost answer books nothing twice.

Every creating operation (receipts, transfers, issues, write-offs, counts, rotations, fund
sources, appropriations, releases, dispatch requests) goes through ``once``. With a key, the
first call runs the operation and records (user, key) -> what it made, with a digest of the
request; a later call with the same key from the same user gets that document back instead
of a second one (``created`` is False), and the same key for a *different* request is a 409.
A call that failed left no record, so its retry simply runs again.

Concurrent retries queue: on PostgreSQL on a transaction-scoped advisory lock taken on the
(user, key) before the record is looked up, held until the first call commits; on SQLite on
the write lock every unit of work takes (BEGIN IMMEDIATE). The unique (user, key) constraint
stands behind both, so a double insert is impossible even if a caller skipped the lock.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import UniqueConstraint, select, text
from sqlmodel import Field, SQLModel

from relief_inventory.db import is_sqlite
from relief_inventory.errors import Conflict, InvalidInput
from relief_inventory.timeutil import utcnow
from relief_inventory.uow import UnitOfWork

T = TypeVar("T", bound=SQLModel)

HEADER = "Idempotency-Key"
MAX_KEY = 128
# Printable ASCII, no blanks at either end: what survives every proxy and log unchanged.
KEY_PATTERN = r"^[!-~]([ -~]{0,126}[!-~])?$"
_KEY = re.compile(KEY_PATTERN.strip("^$"))
LOCK_CLASS = 72_300_005  # pg_advisory_xact_lock(class, key) for (user, key)


class IdempotentRequest(SQLModel, table=True):
    """One (user, key): which operation it ran, on what request, and what that made.

    Not audited row by row: the document it points at is, and this row is written in the
    same transaction as that document.
    """

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotent_request_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    key: str = Field(max_length=MAX_KEY)
    operation: str = Field(max_length=96)
    request_digest: str = Field(max_length=64)
    entity_type: str = Field(max_length=64)
    entity_id: int
    created_at: datetime = Field(default_factory=utcnow)


def parse_key(value: Any) -> str:
    """A key as the client sent it: 1–128 printable ASCII characters, nothing trimmed."""
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise InvalidInput(
            f"幂等键须为 1–{MAX_KEY} 个可打印 ASCII 字符（首尾不能是空格）", field=HEADER
        )
    return value


def operation_name(operation: Callable[..., Any]) -> str:
    return f"{operation.__module__}:{operation.__qualname__}"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def request_digest(operation: str, request: Mapping[str, Any]) -> str:
    """SHA-256 of the operation and its arguments as canonical JSON: equal requests, equal
    digests, whatever the order of their keys."""
    canonical = json.dumps(
        [operation, request],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=_plain,
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _lock(uow: UnitOfWork, key: str) -> None:
    if is_sqlite(uow.session.get_bind()):  # type: ignore[arg-type]
        return  # the unit of work already holds SQLite's write lock
    digest = hashlib.sha256(f"{uow.actor.user_id}:{key}".encode()).digest()
    uow.session.execute(
        text("SELECT pg_advisory_xact_lock(:cls, :key)"),
        {"cls": LOCK_CLASS, "key": int.from_bytes(digest[:4], "big", signed=True)},
    )


def _model_for(table: str) -> type[SQLModel]:
    for mapper in SQLModel._sa_registry.mappers:  # type: ignore[attr-defined]
        if getattr(mapper.class_, "__tablename__", None) == table:
            return mapper.class_
    raise LookupError(table)


def once(
    uow: UnitOfWork, key: str | None, operation: Callable[..., T], /, **request: Any
) -> tuple[T, bool]:
    """``operation(uow, **request)``, at most once per (user, ``key``).

    Returns what the operation made and whether it was made now (False: a replay of the
    first call with this key). Without a key the operation simply runs.
    """
    if key is None:
        return operation(uow, **request), True
    key = parse_key(key)
    name = operation_name(operation)
    digest = request_digest(name, request)
    _lock(uow, key)
    session = uow.session
    earlier = session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.user_id == uow.actor.user_id, IdempotentRequest.key == key
        )
    )
    if earlier is not None:
        made = session.get(_model_for(earlier.entity_type), earlier.entity_id)
        if earlier.operation != name or earlier.request_digest != digest or made is None:
            number = getattr(made, "number", None) or f"#{earlier.entity_id}"
            raise Conflict(f"该幂等键已用于另一项内容不同的请求（{number}）", field=HEADER)
        return made, False  # type: ignore[return-value]
    made = operation(uow, **request)
    session.add(
        IdempotentRequest(
            user_id=uow.actor.user_id,  # type: ignore[arg-type]
            key=key,
            operation=name,
            request_digest=digest,
            entity_type=made.__tablename__,  # type: ignore[attr-defined]
            entity_id=made.id,  # type: ignore[attr-defined]
        )
    )
    session.flush()
    return made, True
