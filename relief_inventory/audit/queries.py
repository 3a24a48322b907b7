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

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.errors import InvalidInput
from relief_inventory.paging import Page, paginate
from relief_inventory.timeutil import LOCAL_ZONE, to_local

CSV_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "changes",
    "reason",
    "prev_hash",
    "hash",
)
_CSV_BATCH = 1_000
MIN_YEAR, MAX_YEAR = 2000, 2999  # far from the ends of datetime, where time zones overflow
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilters:
    """Which entries to show. ``since`` is inclusive, ``until`` exclusive (both aware)."""

    entity_type: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.until <= self.since:
            raise InvalidInput("结束时间须晚于开始时间", field="until")


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
        try:
            if len(text) == 10:
                return parse_moment(date.fromisoformat(text), field, end_of_day=end_of_day)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                "时间格式须为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM[:SS][+08:00]", field=field
            ) from None
    _check_year(moment.year, field)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_ZONE)


def _check_year(year: int, field: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"时间须在 {MIN_YEAR}–{MAX_YEAR} 年之间", field=field)


def filtered(filters: AuditFilters, *, newest_first: bool = False) -> Select[Any]:
    """The entries matching ``filters``, ordered by sequence number."""
    query = select(AuditEntry)
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
    result = paginate(session, filtered(filters, newest_first=True), page, per_page)
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
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    query = filtered(filters).execution_options(yield_per=_CSV_BATCH)
    for partition in session.scalars(query).partitions():
        for entry in partition:
            writer.writerow(_csv_row(entry))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no entries matched: the header alone
        yield buffer.getvalue()


def _csv_row(entry: AuditEntry) -> list[Any]:
    return [
        entry.seq,
        local_text(entry.at),
        "" if entry.actor_id is None else entry.actor_id,
        _cell(entry.actor),
        entry.action,
        entry.entity_type,
        _cell(entry.entity_id),
        entry.changes,
        _cell(entry.reason or ""),
        entry.prev_hash,
        entry.hash,
    ]


def _cell(text: str) -> str:
    """Free text (a user name typed at login, a reason) never runs as a spreadsheet formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def filters_from(values: Mapping[str, Any]) -> AuditFilters:
    """Filters from loose input (query string, CLI options), times parsed and checked."""
    return AuditFilters(
        entity_type=values.get("entity_type") or None,
        entity_id=values.get("entity_id") or None,
        actor=values.get("actor") or None,
        action=values.get("action") or None,
        since=parse_moment(values.get("since"), "since"),
        until=parse_moment(values.get("until"), "until", end_of_day=True),
    )
