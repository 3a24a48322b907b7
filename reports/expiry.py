"""临期与轮换: perishable stock on the shelves that has expired or will within the horizon,
with what to do about it, and the rotations (轮换) done in the twelve months before."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from relief_inventory.auth.actor import Actor
from relief_inventory.errors import InvalidInput
from relief_inventory.stock import lot_status
from relief_inventory.stock.models import (
    DocKind,
    DocState,
    Item,
    Lot,
    LotStatus,
    Move,
    Owner,
    Quant,
    StockDocument,
)
from relief_inventory.timeutil import LOCAL_ZONE, local_today, to_local
from relief_inventory.warehouse.models import Depot, Location, LocationKind
from relief_inventory.warehouse.services import depot_by_code
from reports.tables import INT, Column, Fact, Report, Table

BANDS = ("已过期", "30天内到期", "90天内到期", "预警期内到期")
MAX_HORIZON = 3650

EXPIRY_COLUMNS = [
    Column("depot", "仓库"),
    Column("item", "物资名称"),
    Column("spec", "规格型号", wrap=True),
    Column("unit", "单位"),
    Column("lot", "批次"),
    Column("owner", "储备属性", wrap=True),
    Column("expiry", "有效期至"),
    Column("days", "剩余天数", INT),
    Column("band", "预警"),
    Column("status", "批次状态"),
    Column("on_hand", "库存数量", INT, total=True),
    Column("reserved", "已预留", INT, total=True),
    Column("advice", "处理建议"),
]
ROTATION_COLUMNS = [
    Column("number", "轮换单号"),
    Column("depot", "仓库"),
    Column("date", "日期"),
    Column("partner", "轮换对象", wrap=True),
    Column("out", "轮出数量", INT, total=True),
    Column("in", "轮入数量", INT, total=True),
    Column("reason", "事由", wrap=True),
]


def _band(days: int) -> str:
    if days < 0:
        return BANDS[0]
    if days < 30:
        return BANDS[1]
    return BANDS[2] if days < 90 else BANDS[3]


def _advice(days: int, reserved: int) -> str:
    if days < 0:
        return "报废核销或处置"
    if reserved:
        return "随调拨优先发出"
    if days < 90:
        return "优先调拨或轮换"
    return "列入轮换计划"


def expiry_rows(session: Session, as_of: date, horizon: date, depot_id: int | None) -> list[dict]:
    status = lot_status.status_sql(as_of).label("status")
    query = (
        lot_status.join_depot_status(
            select(Depot.name, Item, Lot, Owner.name, Quant.on_hand, Quant.reserved, status)
            .select_from(Quant)
            .join(Location, Location.id == Quant.location_id)
            .join(Depot, Depot.id == Location.depot_id)
            .join(Item, Item.id == Quant.item_id)
            .join(Lot, Lot.id == Quant.lot_id)
            .join(Owner, Owner.id == Quant.owner_id),
            Depot.id,
        )
        .where(
            Location.kind == LocationKind.INTERNAL,
            Quant.on_hand > 0,
            Lot.expiry_date.is_not(None),
            Lot.expiry_date < horizon,
        )
        .order_by(Depot.code, Lot.expiry_date, Item.code, Lot.number, Owner.code)
    )
    if depot_id is not None:
        query = query.where(Depot.id == depot_id)
    rows = []
    for depot, item, lot, owner, on_hand, reserved, read_as in session.execute(query):
        days = (lot.expiry_date - as_of).days
        rows.append(
            {
                "depot": depot,
                "item": item.name,
                "spec": item.specification,
                "unit": item.unit,
                "lot": lot.number,
                "owner": owner,
                "expiry": lot.expiry_date.isoformat(),
                "days": days,
                "band": _band(days),
                "status": LotStatus.LABELS.get(read_as, read_as),
                "on_hand": int(on_hand),
                "reserved": int(reserved),
                "advice": _advice(days, int(reserved)),
            }
        )
    return rows


def rotation_rows(session: Session, start: datetime, end: datetime, depot_id: int | None) -> list:
    shelf = aliased(Location)
    outgoing = func.sum(Move.quantity).filter(shelf.id == Move.from_location_id)
    incoming = func.sum(Move.quantity).filter(shelf.id == Move.to_location_id)
    query = (
        select(StockDocument, Depot.name, outgoing, incoming)
        .join(Depot, Depot.id == StockDocument.depot_id)
        .join(Move, Move.document_id == StockDocument.id)
        .join(shelf, (shelf.depot_id == Depot.id) & (shelf.kind == LocationKind.INTERNAL))
        .where(
            StockDocument.kind == DocKind.ROTATION,
            StockDocument.state == DocState.DONE,
            StockDocument.created_at >= start,
            StockDocument.created_at < end,
        )
        .group_by(StockDocument.id, Depot.name)
        .order_by(StockDocument.created_at, StockDocument.id)
    )
    if depot_id is not None:
        query = query.where(Depot.id == depot_id)
    return [
        {
            "number": document.number,
            "depot": depot,
            "date": to_local(document.created_at).date().isoformat(),
            "partner": document.partner,
            "out": int(out or 0),
            "in": int(into or 0),
            "reason": document.reason,
        }
        for document, depot, out, into in session.execute(query)
    ]


def expiry_report(
    session: Session,
    actor: Actor,
    *,
    as_of: date | None = None,
    days: int = 180,
    depot: str | None = None,
    authority: str = "",
) -> Report:
    """Balances are readable by every signed-in user (as ``GET /stock``)."""
    del actor
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_HORIZON:
        raise InvalidInput(f"预警天数须在 1–{MAX_HORIZON} 之间", field="days")
    as_of = as_of or local_today()
    depot_id = depot_by_code(session, depot).id if depot else None
    rows = expiry_rows(session, as_of, as_of + timedelta(days=days), depot_id)
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), LOCAL_ZONE)
    rotations = rotation_rows(session, end - timedelta(days=366), end, depot_id)

    def pieces(band: str) -> int:
        return sum(r["on_hand"] for r in rows if r["band"] == band)

    return Report(
        name="expiry",
        title="救灾物资临期预警与轮换报表",
        period=f"截至 {as_of.isoformat()}，预警期 {days} 天",
        authority=authority,
        facts=[Fact(label, pieces(label), "件") for label in BANDS]
        + [Fact("近一年轮换", len(rotations), "次")],
        tables=[
            Table(
                "临期与过期库存", EXPIRY_COLUMNS, rows, group_by="depot", group_columns=("depot",)
            ),
            Table("近一年轮换记录", ROTATION_COLUMNS, rotations),
        ],
        notes=["剩余天数为负表示已过期；已过期批次不得调拨发放，只能报废核销或按规定处置。"],
        landscape=True,
    )
