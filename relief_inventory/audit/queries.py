"""Reading the audit log: filtered, paged listings and a streamed CSV export.

One query layer for every view of the log (the API, ``relief audit export``, the back
office), so that a filter means the same thing everywhere. Times are stored in UTC and
shown in Asia/Shanghai with an explicit offset.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, String, cast, or_, select
from sqlalchemy.orm import Session

from relief_inventory import inputs
from relief_inventory.allocation.models import DispatchLine, DispatchRequest, Reservation
from relief_inventory.audit.csvfile import COLUMNS as CSV_COLUMNS
from relief_inventory.audit.csvfile import csv_cell
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.registry import AUDITED
from relief_inventory.errors import InvalidInput, NotFound
from relief_inventory.funds.models import (
    Appropriation,
    FundRelease,
    FundReversal,
    FundSource,
    PurchaseLink,
)
from relief_inventory.paging import Page, paginate
from relief_inventory.stock.models import CountLine, Item, Lot, Move, StockDocument
from relief_inventory.timeutil import LOCAL_ZONE, to_local

_CSV_BATCH = 1_000
MIN_YEAR, MAX_YEAR = 2000, 2999  # far from the ends of datetime, where time zones overflow
# Entity types of explicit events that name no table row (logins of unknown names, refusals).
EVENT_ENTITY_TYPES = ("security", "print")  # refusals; printed papers and exports


# Tables with a business number, and the rows that belong to each (table, foreign key).
NUMBERED: tuple[type, ...] = (
    StockDocument,
    DispatchRequest,
    FundSource,
    Appropriation,
    FundRelease,
    FundReversal,
)
CHILDREN: dict[type, tuple[tuple[type, str], ...]] = {
    StockDocument: (
        (Move, "document_id"),
        (CountLine, "document_id"),
        (PurchaseLink, "stock_document_id"),
    ),
    DispatchRequest: ((DispatchLine, "request_id"), (Reservation, "request_id")),
    Appropriation: ((PurchaseLink, "appropriation_id"),),
}
ITEM_ROWS: tuple[type, ...] = (Lot, Move, CountLine, DispatchLine, Reservation)
LOT_ROWS: tuple[type, ...] = (Move, CountLine, Reservation)


@dataclass(frozen=True)
class AuditFilters:
    """Which entries to show. ``since`` is inclusive, ``until`` exclusive (both aware).

    ``number`` (a document, request, release… number), ``item`` and ``lot`` (codes) are
    resolved to the rows they name: the entries about those rows and about the rows that
    belong to them (a document's moves and counted lines, a request's lines and
    reservations; an item's lots, moves, counted and requested lines).
    """

    entity_type: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    number: str | None = None
    item: str | None = None
    lot: str | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.until <= self.since:
            raise InvalidInput("结束时间须晚于开始时间", field="until")
        if self.entity_type and self.entity_type not in entity_types():
            raise InvalidInput(
                f"未知的对象类型：{self.entity_type[:64]}（可选：{'、'.join(entity_types())}）",
                field="entity_type",
            )


def entity_types() -> tuple[str, ...]:
    """Every entity type an entry can name: the audited tables and the event types."""
    return tuple(sorted(AUDITED)) + EVENT_ENTITY_TYPES


def parse_moment(value: object, field: str, *, end_of_day: bool = False) -> datetime | None:
    """A filter bound: an ISO date or date-time; without an offset it is Shanghai time.

    A bare date as an upper bound (``until=2025-06-30``) means the whole of that day.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        _check_year(value.year, field)
        moment = datetime.combine(value, time(), LOCAL_ZONE)
        return moment + timedelta(days=1) if end_of_day else moment
    else:
        text = str(value).strip()
        day = inputs.date_text(text)
        if day is not None:
            return parse_moment(day, field, end_of_day=end_of_day)
        parsed = inputs.moment_text(text)
        if parsed is None:
            raise InvalidInput(
                "时间格式须为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM[:SS][+08:00]", field=field
            )
        moment = parsed
    _check_year(moment.year, field)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_ZONE)


def _check_year(year: int, field: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"时间须在 {MIN_YEAR}–{MAX_YEAR} 年之间", field=field)


def _about(table: type, condition: Any) -> Any:
    """Entries about the rows of ``table`` matching ``condition``."""
    ids = select(cast(table.id, String)).where(condition)  # type: ignore[attr-defined]
    return (AuditEntry.entity_type == table.__tablename__) & AuditEntry.entity_id.in_(ids)  # type: ignore[attr-defined]


def _number_clause(session: Session, number: str) -> Any:
    """Entries about the document, request, release, source, appropriation or reversal
    numbered ``number``, and about the rows that belong to it."""
    clauses = []
    for table in NUMBERED:
        row_id = session.scalar(select(table.id).where(table.number == number))  # type: ignore[attr-defined]
        if row_id is None:
            continue
        clauses.append(_about(table, table.id == row_id))  # type: ignore[attr-defined]
        for child, column in CHILDREN.get(table, ()):
            clauses.append(_about(child, getattr(child, column) == row_id))
    if not clauses:
        raise NotFound(f"单据不存在：{number[:64]}", field="number")
    return or_(*clauses)


def _item_lot_clause(session: Session, item: str | None, lot: str | None) -> Any:
    """Entries about an item (and its lots and lines), a lot (and its moves and lines), or
    one item's lot."""
    item_id = None
    if item:
        item_id = session.scalar(select(Item.id).where(Item.code == item))
        if item_id is None:
            raise NotFound(f"物资不存在：{item[:64]}", field="item")
    if not lot:
        assert item_id is not None
        return or_(
            _about(Item, Item.id == item_id),
            *(_about(t, t.item_id == item_id) for t in ITEM_ROWS),  # type: ignore[attr-defined]
        )
    lots = select(Lot.id).where(Lot.number == lot)
    if item_id is not None:
        lots = lots.where(Lot.item_id == item_id)
    if session.scalar(lots.limit(1)) is None:
        raise NotFound(f"批次不存在：{lot[:64]}", field="lot")
    return or_(
        _about(Lot, Lot.id.in_(lots)),  # type: ignore[union-attr]
        *(_about(t, t.lot_id.in_(lots)) for t in LOT_ROWS),  # type: ignore[attr-defined]
    )


def filtered(
    filters: AuditFilters, *, newest_first: bool = False, session: Session | None = None
) -> Select[Any]:
    """The entries matching ``filters``, ordered by sequence number. Filters by number,
    item or lot look their rows up first, in ``session``."""
    query = select(AuditEntry)
    if filters.number or filters.item or filters.lot:
        if session is None:
            raise ValueError("filtering by number, item or lot needs a session")
        if filters.number:
            query = query.where(_number_clause(session, filters.number))
        if filters.item or filters.lot:
            query = query.where(_item_lot_clause(session, filters.item, filters.lot))
    if filters.entity_type:
        query = query.where(AuditEntry.entity_type == filters.entity_type)
    if filters.entity_id:
        query = query.where(AuditEntry.entity_id == filters.entity_id)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.since:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until:
        query = query.where(AuditEntry.at < filters.until)
    seq = AuditEntry.seq.desc() if newest_first else AuditEntry.seq  # type: ignore[attr-defined]
    return query.order_by(seq)


def audit_page(session: Session, filters: AuditFilters, page: int, per_page: int) -> Page:
    """One page of matching entries, newest first, each as ``entry_dict``."""
    result = paginate(
        session, filtered(filters, newest_first=True, session=session), page, per_page
    )
    entries = [entry_dict(row["AuditEntry"]) for row in result.results]
    return Page(entries, result.page, result.per_page, result.total)


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    """An entry for people and programs: ``changes`` decoded, time also in Shanghai."""
    return {
        "seq": entry.seq,
        "at": entry.at,
        "at_local": local_text(entry.at),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "changes": json.loads(entry.changes),
        "reason": entry.reason,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def local_text(moment: datetime) -> str:
    """Shanghai time with its offset and the microseconds the hash covers."""
    return to_local(moment).isoformat(timespec="microseconds")


def iter_csv(session: Session, filters: AuditFilters) -> Iterator[str]:
    """The matching entries as CSV text, in chunks, oldest first; for any size of log.

    Starts with a byte-order mark so that spreadsheet programs read the Chinese text as
    UTF-8. Every stored field is included, so the export can be checked against the hashes.
    The filters are resolved at once (an unknown number is refused before anything is
    streamed); the rows are read as the chunks are taken.
    """
    return _csv_chunks(session, filtered(filters, session=session))


def _csv_chunks(session: Session, query: Select[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for partition in session.scalars(query.execution_options(yield_per=_CSV_BATCH)).partitions():
        for entry in partition:
            writer.writerow(_csv_row(entry))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no entries matched: the header alone
        yield buffer.getvalue()


def _csv_row(entry: AuditEntry) -> list[Any]:
    """Every stored field; text cells escaped (``csv_cell``) so that none runs as a formula
    and each can be read back exactly (``audit/csvfile.py``)."""
    return [
        entry.seq,
        local_text(entry.at),
        "" if entry.actor_id is None else entry.actor_id,
        csv_cell(entry.actor),
        csv_cell(entry.action),
        csv_cell(entry.entity_type),
        csv_cell(entry.entity_id),
        csv_cell(entry.changes),
        csv_cell(entry.reason),
        entry.prev_hash,
        entry.hash,
    ]


def filters_from(values: Mapping[str, Any]) -> AuditFilters:
    """Filters from loose input (query string, CLI options), times parsed and checked."""
    return AuditFilters(
        entity_type=values.get("entity_type") or None,
        entity_id=values.get("entity_id") or None,
        actor=values.get("actor") or None,
        action=values.get("action") or None,
        since=parse_moment(values.get("since"), "since"),
        until=parse_moment(values.get("until"), "until", end_of_day=True),
        number=values.get("number") or None,
        item=values.get("item") or None,
        lot=values.get("lot") or None,
    )
