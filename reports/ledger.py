"""库存台账: per depot and category, opening stock, receipts, issues and closing stock for a
period, from the done moves (``stock.queries.ledger_flows``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor
from relief_inventory.stock.models import Category
from relief_inventory.stock.queries import Flow, ledger_flows
from relief_inventory.warehouse.models import Depot
from relief_inventory.warehouse.services import depot_by_code
from reports.period import Period
from reports.tables import INT, Column, Fact, Report, Table

LEDGER_COLUMNS = [
    Column("depot_code", "仓库编码"),
    Column("depot", "仓库"),
    Column("category", "类别"),
    Column("opening", "期初库存", INT, total=True),
    Column("receipts", "本期入库", INT, total=True),
    Column("issues", "本期出库", INT, total=True),
    Column("closing", "期末库存", INT, total=True),
]


def flows_by_name(
    session: Session, period: Period, depot_id: int | None = None
) -> list[tuple[Depot, Category, Flow]]:
    """Every depot x category with anything in the period, in depot then category order."""
    flows = ledger_flows(session, period.start_at, period.end_at, depot_id)
    depots = {d.id: d for d in session.scalars(select(Depot))}
    categories = {c.id: c for c in session.scalars(select(Category))}
    rows = [
        (depots[d], categories[c], flow)
        for (d, c), flow in flows.items()
        if any((flow.opening, flow.receipts, flow.issues))
    ]
    return sorted(rows, key=lambda r: (r[0].code, r[1].sort_order, r[1].code))


def stock_ledger(
    session: Session,
    actor: Actor,
    period: Period,
    *,
    depot: str | None = None,
    authority: str = "",
) -> Report:
    """Balances and documents are readable by every signed-in user (as ``GET /stock``)."""
    del actor
    depot_id = depot_by_code(session, depot).id if depot else None
    rows = [
        {
            "depot_code": d.code,
            "depot": d.name,
            "category": c.name,
            "opening": flow.opening,
            "receipts": flow.receipts,
            "issues": flow.issues,
            "closing": flow.closing,
        }
        for d, c, flow in flows_by_name(session, period, depot_id)
    ]
    table = Table(
        "库存台账", LEDGER_COLUMNS, rows, group_by="depot", group_columns=("depot_code", "depot")
    )
    totals = table.totals if rows else {"opening": 0, "receipts": 0, "issues": 0, "closing": 0}
    return Report(
        name="stock",
        title="救灾物资库存台账",
        period=period.label,
        authority=authority,
        facts=[
            Fact("仓库数", len({r["depot_code"] for r in rows}), "个"),
            Fact("期初库存", totals["opening"], "件"),
            Fact("本期入库", totals["receipts"], "件"),
            Fact("本期出库", totals["issues"], "件"),
            Fact("期末库存", totals["closing"], "件"),
        ],
        tables=[table],
        notes=[
            "入库含采购、捐赠、上级调拨、库间调入、回收和盘盈；出库含发放、应急调拨、库间调出、"
            "报损报废和盘亏。冲销单冲减原单据所在栏目。数量单位为件（各物资计量单位合计）。"
        ],
    )
