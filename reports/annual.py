"""年度工作统计: the year in the figures the bureau reports (FACTS.md) — depots, categories
and pieces in reserve at year end, quilts and clothing allocated to the counties, relief
funds issued by kind, and the people they reached — each computed from the ledger and the
funds, nothing typed in.

Spans every county and the money, so it is for finance, auditors and admins (the funds
module's reader rule).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation.models import DispatchRequest
from relief_inventory.auth.actor import Actor
from relief_inventory.funds.models import FundKind
from relief_inventory.funds.queries import require_reader
from relief_inventory.funds.reconcile import reconcile
from relief_inventory.stock.models import Category
from relief_inventory.stock.queries import county_receipts
from relief_inventory.warehouse.models import Depot
from reports.ledger import flows_by_name
from reports.period import year_period
from reports.tables import INT, MONEY, Column, Fact, Report, Table

# The bureau's headline "棉被、衣服等" allocated to the counties: these categories.
WARM_CATEGORIES = ("QUILT", "CLOTH")
WINTER_SPRING = (FundKind.WINTER_SPRING,)
FLOOD_AND_GEOLOGICAL = (FundKind.FLOOD_DROUGHT, FundKind.GEOLOGICAL)
ZERO = Decimal("0.00")


def annual_report(session: Session, actor: Actor, year: int, *, authority: str = "") -> Report:
    require_reader(actor)
    period = year_period(year)
    flows = flows_by_name(session, period)
    categories = list(
        session.scalars(
            select(Category).where(Category.active.is_(True)).order_by(Category.sort_order)
        )
    )
    issued = county_receipts(session, period.start_at, period.end_at)
    by_category = []
    for category in categories:
        mine = [flow for _, c, flow in flows if c.id == category.id]
        by_category.append(
            {
                "category": category.name,
                "opening": sum(f.opening for f in mine),
                "receipts": sum(f.receipts for f in mine),
                "issues": sum(f.issues for f in mine),
                "closing": sum(f.closing for f in mine),
                "to_counties": issued.get(category.id, 0),
            }
        )
    depots: dict[str, dict] = {}
    for depot, _, flow in flows:
        row = depots.setdefault(depot.code, {"code": depot.code, "depot": depot.name, "closing": 0})
        row["closing"] += flow.closing
    money = reconcile(session, year)
    kinds = {row.key: row for row in money.by_kind}

    def issued_to_counties(kind_codes: tuple[str, ...]) -> Decimal:
        return sum((kinds[k].appropriated for k in kind_codes if k in kinds), start=ZERO)

    warm = [c for c in categories if c.code in WARM_CATEGORIES]
    active_depots = session.scalar(
        select(func.count()).select_from(Depot).where(Depot.active, Depot.parent_id.is_(None))
    )
    requests = session.scalar(
        select(func.count())
        .select_from(DispatchRequest)
        .where(
            DispatchRequest.created_at >= period.start_at,
            DispatchRequest.created_at < period.end_at,
        )
    )
    in_stock = [row for row in by_category if row["closing"] > 0]
    return Report(
        name="annual",
        title=f"{year}年救灾物资储备与救灾资金工作统计",
        period=period.label,
        authority=authority,
        facts=[
            Fact("救灾物资储备库", int(active_depots or 0), "个"),
            Fact("储备物资类别", len(in_stock), "大类"),
            Fact("年末储备物资", sum(row["closing"] for row in by_category), "件"),
            Fact(
                f"全年调拨县市（{'、'.join(c.name for c in warm)}等）",
                sum(issued.get(c.id, 0) for c in warm),
                "件（套）",
            ),
            Fact("全年调拨县市（全部物资）", sum(issued.values()), "件"),
            Fact("冬春救助资金下达县市", issued_to_counties(WINTER_SPRING), "元", MONEY),
            Fact(
                "防汛抗旱、地质灾害救灾救助资金下达",
                issued_to_counties(FLOOD_AND_GEOLOGICAL),
                "元",
                MONEY,
            ),
            Fact("救灾资金已拨付", money.total.released, "元", MONEY),
            Fact("保障受灾困难群众", money.total.beneficiaries, "人"),
            Fact("资金下达县市", len(money.by_county), "个"),
            Fact("应急调拨申请", int(requests or 0), "份"),
        ],
        tables=[
            Table(
                "储备物资（按类别）",
                [
                    Column("category", "类别"),
                    Column("opening", "年初库存", INT, total=True),
                    Column("receipts", "全年入库", INT, total=True),
                    Column("issues", "全年出库", INT, total=True),
                    Column("closing", "年末库存", INT, total=True),
                    Column("to_counties", "调拨县市", INT, total=True),
                ],
                by_category,
            ),
            Table(
                "储备物资（按仓库）",
                [
                    Column("code", "编码"),
                    Column("depot", "仓库"),
                    Column("closing", "年末库存", INT, total=True),
                ],
                sorted(depots.values(), key=lambda r: r["code"]),
            ),
            Table(
                "救灾资金（按类别）",
                [
                    Column("label", "资金类别"),
                    Column("amount", "来源金额", MONEY, total=True),
                    Column("appropriated", "下达县市", MONEY, total=True),
                    Column("released", "已拨付", MONEY, total=True),
                    Column("beneficiaries", "惠及人数", INT, total=True),
                ],
                [row.as_dict() for row in money.by_kind],
            ),
            Table(
                "救灾资金（按县市）",
                [
                    Column("key", "代码"),
                    Column("label", "县市"),
                    Column("appropriated", "下达", MONEY, total=True),
                    Column("released", "已拨付", MONEY, total=True),
                    Column("beneficiaries", "惠及人数", INT, total=True),
                ],
                [row.as_dict() for row in money.by_county],
            ),
        ],
        notes=[
            "储备与出入库数据来自库存台账（已完成的出入库记录，冲销冲减原栏目）；资金数据来自资金对账"
            "（已冲销的来源、下达和拨付不计）；惠及人数为已拨付资金申报的受助人数。",
            *([] if money.ok else ["资金对账发现问题，请先处理：", *money.problems]),
        ],
    )
