"""Disaster reports (灾情报告): filed by a county, verified (核查) by a second person before
they count, corrected by new versions, never edited. The only writer of ``disaster_report``.

A report number names one event of one county; its versions share the number. Filing a
correction supersedes the current version (submitted or verified); verification or rejection
is done by a dispatcher (or admin) who did not file that version. Annual figures roll up
from the verified versions only (``queries.annual_figures``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from relief_inventory import inputs
from relief_inventory.allocation.models import DisasterType
from relief_inventory.auth.actor import Role
from relief_inventory.auth.policy import require_county, require_other_person, require_role
from relief_inventory.errors import Conflict, Hidden, InvalidInput, NotFound
from relief_inventory.money import parse_amount
from relief_inventory.readiness.models import LOSS_SECTORS, DisasterReport, ReportState
from relief_inventory.stock import lines as parse
from relief_inventory.stock.numbering import next_number
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.services import county_by_code

PREFIX = "ZQ"
NUMBER_PATTERN = re.compile(r"ZQ-\d{4}-\d{6}")
MAX_PEOPLE = 100_000_000
MAX_HOUSES = 10_000_000
COUNTS = ("people_affected", "people_relocated", "people_needing_aid")
HOUSES = ("houses_collapsed", "houses_damaged")
LIVE = (ReportState.SUBMITTED, ReportState.VERIFIED)


def _missing(number: object) -> str:
    return f"灾情报告不存在：{str(number)[:40]}"


def current(uow_or_session: Any, number: object, *, lock: bool = False) -> DisasterReport:
    """The live version (submitted or verified) of a report number, else the latest."""
    session = getattr(uow_or_session, "session", uow_or_session)
    if not isinstance(number, str) or not NUMBER_PATTERN.fullmatch(number):
        raise NotFound(_missing(number), field="number")
    query = (
        select(DisasterReport)
        .where(DisasterReport.number == number)
        .order_by(DisasterReport.version.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    report = session.scalar(query)
    if report is None:
        raise NotFound(_missing(number), field="number")
    return report


def _figures(values: dict[str, Any]) -> dict[str, Any]:
    """Counts and losses, each checked and named when wrong."""
    out: dict[str, Any] = {}
    for name in (*COUNTS, *HOUSES):
        limit = MAX_PEOPLE if name in COUNTS else MAX_HOUSES
        out[name] = inputs.parse_int(
            values.get(name, 0), name, minimum=0, maximum=limit, message=f"须为 0–{limit} 的整数"
        )
    if out["people_relocated"] > out["people_affected"]:
        raise InvalidInput("转移安置人数不能超过受灾人数", field="people_relocated")
    if out["people_needing_aid"] > out["people_affected"]:
        raise InvalidInput("需生活救助人数不能超过受灾人数", field="people_needing_aid")
    for name in LOSS_SECTORS:
        out[name] = parse_amount(values.get(name, "0.00"), name, allow_zero=True)
    return out


def _event(values: dict[str, Any]) -> dict[str, Any]:
    hazard = values.get("hazard")
    if not isinstance(hazard, str) or hazard not in DisasterType.LABELS:
        choices = "、".join(f"{k}（{v}）" for k, v in DisasterType.LABELS.items())
        raise InvalidInput(f"须为以下之一：{choices}", field="hazard")
    event_date = inputs.parse_date(values.get("event_date"), "event_date")
    if event_date > date.today():
        raise InvalidInput("灾害发生日期不能晚于今天", field="event_date")
    return {
        "hazard": hazard,
        "event_date": event_date,
        "title": parse.text(values.get("title"), "title", max_length=128, required=True),
        "note": parse.text(values.get("note"), "note", max_length=4000),
    }


def file_report(
    uow: UnitOfWork, *, county: str, at: datetime | None = None, **values: Any
) -> DisasterReport:
    """A county's first report of an event (version 1, waiting for verification)."""
    require_role(uow.actor, Role.REQUESTER, Role.DISPATCHER)
    session = uow.session
    target = county_by_code(session, county)
    require_county(uow.actor, target.id)
    when = parse.moment(at)
    known = {"hazard", "event_date", "title", "note", *COUNTS, *HOUSES, *LOSS_SECTORS}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidInput("未知字段", field=unknown[0])
    report = DisasterReport(
        number=next_number(session, PREFIX, when),
        version=1,
        county_id=target.id,
        created_by_id=uow.actor.user_id,
        created_at=when,
        **_event(values),
        **_figures(values),
    )
    session.add(report)
    session.flush()
    uow.record("disaster_report_filed", "disaster_report", report.id, {"number": report.number})
    return report


def _visible(uow: UnitOfWork, number: object) -> DisasterReport:
    report = current(uow, number, lock=True)
    require_county(uow.actor, report.county_id, hidden=Hidden(_missing(number), field="number"))
    return report


def correct(
    uow: UnitOfWork, number: str, *, at: datetime | None = None, **values: Any
) -> DisasterReport:
    """A corrected version: the figures given replace the current version's, the rest carry
    over; the current version is superseded and the new one waits for verification."""
    require_role(uow.actor, Role.REQUESTER, Role.DISPATCHER)
    session = uow.session
    old = _visible(uow, number)
    when = parse.moment(at)
    merged = {
        name: getattr(old, name)
        for name in ("hazard", "event_date", "title", "note", *COUNTS, *HOUSES, *LOSS_SECTORS)
    }
    unknown = sorted(set(values) - set(merged))
    if unknown:
        raise InvalidInput("未知字段", field=unknown[0])
    merged.update(values)
    report = DisasterReport(
        number=old.number,
        version=old.version + 1,
        county_id=old.county_id,
        supersedes_id=old.id,
        created_by_id=uow.actor.user_id,
        created_at=when,
        **_event(merged),
        **_figures(merged),
    )
    if old.state in LIVE:
        old.state = ReportState.SUPERSEDED
        session.flush()
    session.add(report)
    session.flush()
    uow.record(
        "disaster_report_corrected",
        "disaster_report",
        report.id,
        {"number": report.number, "version": report.version, "supersedes": old.version},
    )
    return report


def _decide(uow: UnitOfWork, number: str, state: str, note: str, at: datetime | None):
    require_role(uow.actor, Role.DISPATCHER)
    report = _visible(uow, number)
    require_other_person(uow.actor, report.created_by_id, what="灾情报告")
    if report.state != ReportState.SUBMITTED:
        label = ReportState.LABELS[report.state]
        raise Conflict(
            f"灾情报告 {report.number} 第{report.version}版为“{label}”，不能核查", field="state"
        )
    report.state = state
    report.verified_by_id = uow.actor.user_id
    report.verified_at = parse.moment(at)
    report.verification_note = note
    uow.session.flush()
    uow.record(
        f"disaster_report_{state}",
        "disaster_report",
        report.id,
        {"number": report.number, "version": report.version},
        reason=note or None,
    )
    return report


def verify(
    uow: UnitOfWork, number: str, *, note: str = "", at: datetime | None = None
) -> DisasterReport:
    """核查: a dispatcher who did not file this version confirms it; then it counts."""
    return _decide(uow, number, ReportState.VERIFIED, parse.text(note, "note", max_length=500), at)


def reject(
    uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None
) -> DisasterReport:
    """Verification refuses the version, with the reason; the county may correct it."""
    text = parse.text(reason, "reason", max_length=500, required=True)
    return _decide(uow, number, ReportState.REJECTED, text, at)


def cited_report(session: Any, number: object, county_id: int) -> DisasterReport:
    """The report a dispatch request cites: the county's own, filed and not sent back."""
    try:
        report = current(session, number)
    except NotFound as missing:
        raise InvalidInput(missing.message, field="disaster_report") from None
    if report.county_id != county_id:
        raise InvalidInput("只能引用本县市的灾情报告", field="disaster_report")
    if report.state not in LIVE:
        label = ReportState.LABELS[report.state]
        raise InvalidInput(f"该灾情报告为“{label}”，不能引用", field="disaster_report")
    return report
