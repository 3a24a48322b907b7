"""One page of a list query, with the total so clients know how many pages there are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

MAX_PER_PAGE = 500
MAX_PAGE = 100_000  # keeps OFFSET far inside a 64-bit integer on every backend


@dataclass(frozen=True)
class Page:
    results: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page)


def paginate(session: Session, statement: Select[Any], page: int, per_page: int) -> Page:
    """Count the filtered rows, then fetch one page of them (the statement must be ordered
    by a unique key so that pages neither repeat nor skip rows)."""
    page = max(1, min(page, MAX_PAGE))
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows: list[RowMapping] = list(
        session.execute(statement.limit(per_page).offset((page - 1) * per_page)).mappings()
    )
    return Page(rows, page, per_page, int(total or 0))
