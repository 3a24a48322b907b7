"""Master data (counties, townships, depots and points, categories, items) as the edit
services meet it: a record by code whether active or not, and switching it on and off by
one rule for all of them.

Nothing is deleted. A record is deactivated only when nothing active still leans on it, and
re-enabled only when what it leans on is active; each caller names those as queries
(``Blocker``) and the refusal says what was in the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from relief_inventory.errors import Conflict, InvalidInput, NotFound
from relief_inventory.uow import UnitOfWork

T = TypeVar("T")

# A query whose first row is what stands in the way, and the refusal ("{}": that row).
Blocker = tuple[Select[Any], str]


def master_record(session: Session, model: type[T], code: object, what: str) -> T:
    """A record by code, active or not (an inactive one can be corrected and re-enabled)."""
    row = session.scalar(select(model).where(model.code == str(code)))  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"{what}不存在：{code}", field="code")
    return row


def switch_active(
    uow: UnitOfWork,
    row: T,
    active: object,
    *,
    off: Sequence[Blocker] = (),
    on: Sequence[Blocker] = (),
) -> T:
    if active is not True and active is not False:
        raise InvalidInput("须为 true 或 false", field="active")
    for query, message in on if active else off:
        found = uow.session.scalar(query.limit(1))
        if found is not None:
            raise Conflict(message.format(found), field="active")
    row.active = active  # type: ignore[attr-defined]
    uow.session.flush()
    return row
