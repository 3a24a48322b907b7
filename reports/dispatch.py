"""调拨时效与缺口: each dispatch request of a period, from filing to dispatch to receipt
(hours), what was asked, allocated, short of stock, shipped, received, short and damaged
on the road. Scoped like the request list (``allocation.queries.readable``)."""

from __future__ import annotations

from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.allocation.models import DispatchRequest
from relief_inventory.allocation.queries import readable, views
from relief_inventory.auth.actor import Actor
from relief_inventory.timeutil import format_local
from relief_inventory.warehouse.services import county_by_code
from reports.period import Period
from reports.tables import HOURS, INT, Column, Fact, Report, Table

QUANTITIES = ("quantity", "allocated", "shortage", "dispatched", "received", "short", "damaged")
DISPATCH_COLUMNS = [
    Column("number", "申请编号"),
    Column("county", "县市"),
    Column("disaster", "灾害类型"),
    Column("urgency", "紧急程度"),
    Column("state", "状态"),
    Column("submitted", "申请时间"),
    Column("dispatched_at", "发运时间"),
    Column("received_at", "签收时间"),
    Column("hours_to_dispatch", "发运用时（时）", HOURS),
    Column("hours_to_receipt", "签收用时（时）", HOURS),
    Column("quantity", "申请数量", INT, total=True),
    Column("allocated", "已分配", INT, total=True),
    Column("shortage", "库存缺口", INT, total=True),
    Column("dispatched", "已发运", INT, total=True),
    Column("received", "签收完好", INT, total=True),
    Column("short", "途中短少", INT, total=True),
    Column("damaged", "途中破损", INT, total=True),
]


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(median(present), 1) if present else None


def dispatch_report(
    session: Session,
    actor: Actor,
    period: Period,
    *,
    county: str | None = None,
    authority: str = "",
) -> Report:
    query = select(DispatchRequest).where(
        DispatchRequest.created_at >= period.start_at, DispatchRequest.created_at < period.end_at
    )
    if county:
        query = query.where(DispatchRequest.county_id == county_by_code(session, county).id)
    requests = list(session.scalars(readable(query, actor).order_by(DispatchRequest.id)))
    rows = []
    for view in views(session, requests):
        row = {
            "number": view["number"],
            "county": view["county_name"],
            "disaster": view["disaster_label"],
            "urgency": view["urgency_label"],
            "state": view["state_label"],
            "submitted": format_local(view["submitted_at"] or view["created_at"]),
            "dispatched_at": format_local(view["dispatched_at"]),
            "received_at": format_local(view["received_at"]),
            "hours_to_dispatch": view["hours_to_dispatch"],
            "hours_to_receipt": view["hours_to_receipt"],
        }
        for name in QUANTITIES:
            row[name] = sum(line[name] for line in view["lines"])
        rows.append(row)
    table = Table("调拨申请明细", DISPATCH_COLUMNS, rows)
    totals = table.totals if rows else dict.fromkeys(QUANTITIES, 0)
    return Report(
        name="dispatch",
        title="应急调拨时效与缺口报表",
        period=period.label,
        authority=authority,
        facts=[
            Fact("调拨申请", len(rows), "份"),
            Fact("申请数量", totals["quantity"], "件"),
            Fact("库存缺口", totals["shortage"], "件"),
            Fact("途中短少与破损", totals["short"] + totals["damaged"], "件"),
            Fact(
                "申请至发运（中位数）",
                _median([r["hours_to_dispatch"] for r in rows]),
                "小时",
                HOURS,
            ),
            Fact(
                "申请至签收（中位数）",
                _median([r["hours_to_receipt"] for r in rows]),
                "小时",
                HOURS,
            ),
        ],
        tables=[table],
        notes=["时长自提交申请起算；库存缺口为分配时无可用库存的数量，可在补充库存后追加分配。"],
        landscape=True,
    )
