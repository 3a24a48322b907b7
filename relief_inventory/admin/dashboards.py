"""What each role's home page shows: their work first, then a chart.

keepers — stock of their depots by category, lots expiring within 90 days or expired,
what they must ship or book in, drafts waiting for a second keeper; dispatchers —
requests waiting, shortages of open requests, emergency countersignatures due and
overdue; counties — their requests and releases and where each stands; finance —
releases waiting for my step, balances per source and county; auditors — the chain head
and verification, recent refusals. Every query is scoped like the lists (``stock.scope``,
``allocation.queries.readable``, ``funds.queries``)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from relief_inventory.admin import charts
from relief_inventory.allocation import queries as dispatch_queries
from relief_inventory.allocation.models import (
    DispatchLine,
    DispatchRequest,
    RequestState,
    Reservation,
    ReservationState,
    Urgency,
)
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.services import chain_head
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.funds import queries as fund_queries
from relief_inventory.funds.models import FundRelease, ReleaseState
from relief_inventory.funds.reconcile import reconcile
from relief_inventory.stock import scope
from relief_inventory.stock.models import DocKind, DocState, Item, Lot, Quant, StockDocument
from relief_inventory.stock.queries import StockSummary, stock_summary
from relief_inventory.timeutil import format_local, local_today, utcnow
from relief_inventory.warehouse.models import County, Depot, Location, LocationKind

T = TypeVar("T")
EXPIRY_DAYS = 90
LIMIT = 10
REFUSALS = ("refused", "login_failed", "account_locked", "login_refused_locked", "token_refused")


@dataclass
class Tile:
    key: str
    title: str
    width: int = 6
    figure: Any = None
    chart: Any = None
    header: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    empty: str = "暂无"
    link: str | None = None


@dataclass
class Panel:
    role: str
    title: str
    tiles: list[Tile]


def cell(text: str, href: str) -> dict[str, str]:
    return {"text": text, "href": href}


def doc_cell(number: str) -> dict[str, str]:
    return cell(number, f"/documents/view/{number}")


def request_cell(number: str) -> dict[str, str]:
    return cell(number, f"/dispatch/view/{number}")


def release_cell(number: str) -> dict[str, str]:
    return cell(number, f"/funds/releases/view/{number}")


# -- stock -------------------------------------------------------------------------------


OFFICE_SECONDS = 60.0
_office_figures: dict[tuple[str, str], tuple[float, date, Any]] = {}


def office_wide(session: Session, actor: Actor, name: str, compute: Callable[[], T]) -> T:
    """A figure over every depot (one grouped query over all quants: about half a second
    at seed scale 100), kept for ``OFFICE_SECONDS`` per process and day for the office
    roles, who all see the same one; a keeper's or a county's (a few depots) is always
    computed fresh."""
    if not scope.sees_everything(actor):
        return compute()
    key, now, today = (str(session.get_bind().url), name), time.monotonic(), local_today()
    cached = _office_figures.get(key)
    if cached is None or cached[1] != today or now - cached[0] > OFFICE_SECONDS:
        cached = (now, today, compute())
        _office_figures[key] = cached
    return cached[2]


def _summary(session: Session, actor: Actor) -> StockSummary:
    """The stock summary of the actor's depots."""
    return office_wide(
        session,
        actor,
        "stock",
        lambda: stock_summary(session, depots=scope.depots_clause(actor, Location.depot_id)),
    )


CHART_BARS = 24  # more depots than this are drawn per county (a bar per depot is unreadable)


def stock_chart_tile(session: Session, actor: Actor, title: str) -> Tile:
    """Pieces on hand by depot × category (the actor's depots), as a stacked bar chart; by
    county × category when the actor sees more depots than a chart can show."""
    visible = session.execute(
        select(Depot.code, Depot.county_id).where(scope.depots_clause(actor, Depot.id))
    ).all()
    summary = _summary(session, actor)
    codes = {code for code, _county in visible}
    depots = [(c, n) for c, n in summary.depots if c in codes]
    if len(depots) > CHART_BARS:
        county_of = dict(visible)
        names = dict(session.execute(select(County.id, County.name)).all())
        groups: dict[str, list[str]] = defaultdict(list)
        for code, _name in depots:
            groups[names.get(county_of[code], "")].append(code)
        bars = sorted(groups.items())
        title = f"{title.split('（')[0]}（县市 × 类别，{len(depots)} 个仓库）"
    else:
        bars = [(n.replace("救灾物资储备库", "") or n, [c]) for c, n in depots]
    series = {
        name: [sum(summary.cell(d, c) for d in members) for _label, members in bars]
        for c, name in summary.categories
        if any(summary.cell(d, c) for _label, members in bars for d in members)
    }
    labels = [label for label, _members in bars]
    chart = charts.stacked_bars(title, labels, series, horizontal=len(bars) > 4) if bars else None
    total = sum(summary.depot_total(d) for d, _ in depots)
    return Tile("stock-chart", title, width=7, chart=chart, figure=f"{total:,} 件", link="/quants/")


def expiring_tile(session: Session, actor: Actor) -> Tile:
    today = local_today()
    horizon = today + timedelta(days=EXPIRY_DAYS)
    query = (
        select(Depot.name, Item.name, Lot.number, Lot.expiry_date, func.sum(Quant.on_hand))
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Item, Item.id == Quant.item_id)
        .where(
            Location.kind == LocationKind.INTERNAL,
            Quant.on_hand > 0,
            Lot.expiry_date.is_not(None),
            Lot.expiry_date <= horizon,
            scope.quants_clause(actor),
        )
        .group_by(Depot.name, Item.name, Lot.number, Lot.expiry_date)
        .order_by(Lot.expiry_date, Lot.number)
    )
    rows = session.execute(query).all()
    expired = sum(1 for r in rows if r[3] < today)
    return Tile(
        "expiring",
        f"临期（{EXPIRY_DAYS} 天内）与过期批次",
        figure=f"过期 {expired} 批 · 临期 {len(rows) - expired} 批",
        header=["仓库", "物资", "批次", "有效期至", "在库"],
        rows=[
            [d, i, lot, f"{e}{'（已过期）' if e < today else ''}", q]
            for d, i, lot, e, q in rows[:LIMIT]
        ],
        empty="没有临期或过期的批次",
        link="/lots/",
    )


def expiries_by_month_tile(session: Session, actor: Actor) -> Tile:
    today = local_today()
    query = (
        select(Lot.expiry_date, func.sum(Quant.on_hand))
        .join(Location, Location.id == Quant.location_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .where(
            Location.kind == LocationKind.INTERNAL,
            Quant.on_hand > 0,
            Lot.expiry_date.is_not(None),
            Lot.expiry_date <= today + timedelta(days=365),
            scope.quants_clause(actor),
        )
        .group_by(Lot.expiry_date)
    )

    def by_month() -> dict[str, int]:
        months: dict[str, int] = defaultdict(int)
        for expiry, quantity in session.execute(query):
            key = "已过期" if expiry < today else expiry.strftime("%Y-%m")
            months[key] += int(quantity)
        return months

    months = office_wide(session, actor, "expiry", by_month)
    labels = sorted(months, key=lambda k: "" if k == "已过期" else k)
    chart = charts.bars("未来一年到期数量（按月）", labels, {"件数": [months[k] for k in labels]})
    return Tile(
        "expiry-chart",
        "到期分布",
        width=6,
        chart=chart if labels else None,
        empty="一年内没有到期的物资",
    )


def keeper_work_tile(session: Session, actor: Actor) -> Tile:
    """What the keeper must ship (picks reserved in their depots) or book in (transfers
    in transit to their depots)."""
    ship = session.execute(
        select(DispatchRequest.number, Depot.name, func.sum(Reservation.quantity))
        .join(DispatchRequest, DispatchRequest.id == Reservation.request_id)
        .join(Depot, Depot.id == Reservation.depot_id)
        .where(
            Reservation.state == ReservationState.RESERVED,
            Reservation.depot_id.in_(actor.depot_ids) if not actor.is_admin else True,
        )
        .group_by(DispatchRequest.number, Depot.name)
        .order_by(DispatchRequest.number)
        .limit(LIMIT)
    ).all()
    source = aliased(Depot)
    incoming = session.execute(
        select(StockDocument.number, source.name, StockDocument.created_at)
        .join(source, source.id == StockDocument.depot_id)
        .where(
            StockDocument.kind == DocKind.TRANSFER,
            StockDocument.state == DocState.IN_TRANSIT,
            StockDocument.dest_depot_id.in_(actor.depot_ids) if not actor.is_admin else True,
        )
        .order_by(StockDocument.created_at)
        .limit(LIMIT)
    ).all()
    rows = [["待发运", request_cell(n), d, f"{q} 件"] for n, d, q in ship]
    rows += [["待入库", doc_cell(n), f"来自 {d}", format_local(t)] for n, d, t in incoming]
    return Tile(
        "to-do",
        "待发运 / 待入库",
        header=["事项", "单号", "仓库", "数量/时间"],
        rows=rows,
        empty="没有待发运或待入库的单据",
    )


def drafts_tile(session: Session, actor: Actor) -> Tile:
    """Drafts of the keeper's depots entered by someone else: theirs to approve."""
    drafts = session.execute(
        select(StockDocument.number, StockDocument.kind, StockDocument.created_at)
        .where(
            StockDocument.state == DocState.DRAFT,
            StockDocument.created_by_id != actor.user_id,
            scope.documents_clause(actor),
        )
        .order_by(StockDocument.created_at)
        .limit(LIMIT)
    ).all()
    return Tile(
        "drafts",
        "待我复核的草稿（第二保管员）",
        header=["单号", "类型", "制单时间"],
        rows=[[doc_cell(n), DocKind.LABELS.get(k, k), format_local(t)] for n, k, t in drafts],
        empty="没有待复核的草稿",
        link="/documents/?flt1_0=draft",
    )


def keeper_panel(session: Session, actor: Actor) -> Panel:
    return Panel(
        Role.KEEPER,
        "仓库保管员",
        [
            stock_chart_tile(session, actor, "本库库存（按类别）"),
            Tile(
                "stock-table",
                "快速操作",
                width=5,
                rows=[
                    [cell("新建入库单", "/documents/new/receipt")],
                    [cell("新建出库单", "/documents/new/issue")],
                    [cell("新建库间调拨单", "/documents/new/transfer")],
                    [cell("新建报废单", "/documents/new/scrap")],
                    [cell("新建盘点单", "/documents/new/count")],
                    [cell("新建轮换单", "/documents/new/rotation")],
                ],
            ),
            keeper_work_tile(session, actor),
            drafts_tile(session, actor),
            expiring_tile(session, actor),
            expiries_by_month_tile(session, actor),
        ],
    )


# -- dispatch ----------------------------------------------------------------------------


def dispatcher_panel(session: Session, actor: Actor) -> Panel:
    county = aliased(County)
    waiting = session.execute(
        select(
            DispatchRequest.number,
            county.name,
            DispatchRequest.urgency,
            DispatchRequest.people_affected,
            DispatchRequest.submitted_at,
        )
        .join(county, county.id == DispatchRequest.county_id)
        .where(DispatchRequest.state == RequestState.SUBMITTED)
        .order_by(DispatchRequest.submitted_at)
        .limit(LIMIT)
    ).all()
    shortages = session.execute(
        select(DispatchRequest.number, Item.name, DispatchLine.quantity, DispatchLine.shortage)
        .join(DispatchRequest, DispatchRequest.id == DispatchLine.request_id)
        .join(Item, Item.id == DispatchLine.item_id)
        .where(
            DispatchLine.shortage > 0,
            DispatchRequest.state.in_((RequestState.APPROVED, RequestState.ALLOCATED)),
        )
        .order_by(DispatchRequest.number)
        .limit(LIMIT)
    ).all()
    now = utcnow()
    due = session.execute(
        select(DispatchRequest.number, DispatchRequest.countersign_due_at)
        .where(
            DispatchRequest.emergency.is_(True),
            DispatchRequest.countersigned_at.is_(None),
            DispatchRequest.state.not_in((RequestState.CANCELLED, RequestState.REJECTED)),
        )
        .order_by(DispatchRequest.countersign_due_at)
        .limit(LIMIT)
    ).all()
    return Panel(
        Role.DISPATCHER,
        "调度审批员",
        [
            Tile(
                "waiting",
                "待审批的调拨申请",
                header=["单号", "县市", "紧急程度", "受灾人数", "提交时间"],
                rows=[
                    [request_cell(n), c, Urgency.LABELS.get(u, u), p, format_local(t)]
                    for n, c, u, p, t in waiting
                ],
                empty="没有待审批的申请",
                link="/dispatch/?flt0_0=submitted",
            ),
            Tile(
                "shortages",
                "未满足的缺口",
                header=["单号", "物资", "申请", "缺口"],
                rows=[[request_cell(n), i, q, s] for n, i, q, s in shortages],
                empty="没有缺口",
            ),
            Tile(
                "countersign",
                "应急会签（先调拨后补手续）",
                header=["单号", "会签期限", "状态"],
                rows=[
                    [
                        request_cell(n),
                        format_local(d),
                        "已超期" if d is not None and d < now else "待会签",
                    ]
                    for n, d in due
                ],
                empty="没有待会签的应急调拨",
            ),
            stock_chart_tile(session, actor, "各库库存（仓库 × 类别）"),
        ],
    )


# -- counties and finance ----------------------------------------------------------------


def funds_chart_tile(session: Session, actor: Actor, counties: set[int] | None) -> Tile:
    result = reconcile(session)
    names = {c.code: c.id for c in session.scalars(select(County))}
    rows = [r for r in result.by_county if counties is None or names.get(r.key) in counties]
    labels = [r.label for r in rows]
    chart = (
        charts.bars(
            "各县市资金：下达与拨付（元）",
            labels,
            {
                "已下达": [r.appropriated for r in rows],
                "已批准未付": [r.committed for r in rows],
                "已拨付": [r.released for r in rows],
            },
        )
        if rows
        else None
    )
    return Tile("funds-chart", "资金（按县市）", width=7, chart=chart, empty="暂无资金下达")


def county_panel(session: Session, actor: Actor) -> Panel:
    requests = session.execute(
        dispatch_queries.readable(
            select(DispatchRequest.number, DispatchRequest.state, DispatchRequest.created_at),
            actor,
        )
        .order_by(DispatchRequest.id.desc())
        .limit(LIMIT)
    ).all()
    releases = session.execute(
        select(FundRelease.number, FundRelease.amount, FundRelease.state)
        .where(FundRelease.county_id.in_(actor.county_ids))
        .order_by(FundRelease.id.desc())
        .limit(LIMIT)
    ).all()
    return Panel(
        Role.REQUESTER,
        "县级申请人",
        [
            Tile(
                "my-requests",
                "本县调拨申请",
                header=["单号", "状态", "申请时间"],
                rows=[
                    [request_cell(n), RequestState.LABELS.get(s, s), format_local(t)]
                    for n, s, t in requests
                ],
                empty="还没有调拨申请",
                link="/dispatch/",
            ),
            Tile(
                "my-releases",
                "本县资金拨付",
                header=["单号", "金额（元）", "状态"],
                rows=[
                    [release_cell(n), f"{a:,.2f}", ReleaseState.LABELS.get(s, s)]
                    for n, a, s in releases
                ],
                empty="还没有资金拨付申请",
                link="/funds/releases/",
            ),
            Tile(
                "county-new",
                "快速操作",
                rows=[
                    [cell("填报调拨申请", "/dispatch/new")],
                    [cell("申请资金拨付", "/funds/releases/new")],
                ],
            ),
            funds_chart_tile(session, actor, set(actor.county_ids)),
            stock_chart_tile(session, actor, "本县储备库库存（按类别）"),
        ],
    )


def finance_panel(session: Session, actor: Actor) -> Panel:
    county = aliased(County)
    waiting = session.execute(
        select(FundRelease.number, county.name, FundRelease.amount, FundRelease.state)
        .join(county, county.id == FundRelease.county_id)
        .where(fund_queries.waiting_for(actor))
        .order_by(FundRelease.id)
        .limit(LIMIT)
    ).all()
    result = reconcile(session)
    return Panel(
        Role.FINANCE,
        "财务",
        [
            Tile(
                "waiting-me",
                "待我处理的资金拨付",
                header=["单号", "县市", "金额（元）", "当前状态"],
                rows=[
                    [release_cell(n), c, f"{a:,.2f}", ReleaseState.LABELS.get(s, s)]
                    for n, c, a, s in waiting
                ],
                empty="没有待处理的拨付",
                link="/funds/releases/",
            ),
            Tile(
                "by-source",
                "资金来源余额",
                header=["来源", "金额", "已下达", "已拨付"],
                rows=[
                    [
                        r.label,
                        f"{r.amount or 0:,.2f}",
                        f"{r.appropriated:,.2f}",
                        f"{r.released:,.2f}",
                    ]
                    for r in result.by_source[:LIMIT]
                ],
                empty="暂无资金来源",
                link="/funds/sources/",
            ),
            funds_chart_tile(session, actor, None),
            Tile(
                "by-county",
                "各县市余额（已下达 − 已拨付）",
                width=5,
                header=["县市", "余额（元）"],
                rows=[[r.label, f"{r.balance:,.2f}"] for r in result.by_county],
            ),
        ],
    )


# -- audit -------------------------------------------------------------------------------


def auditor_panel(session: Session, actor: Actor) -> Panel:
    seq, digest = chain_head(session)
    refusals = session.execute(
        select(
            AuditEntry.seq, AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.entity_id
        )
        .where(AuditEntry.action.in_(REFUSALS))
        .order_by(AuditEntry.seq.desc())
        .limit(LIMIT)
    ).all()
    return Panel(
        Role.AUDITOR,
        "审计员",
        [
            Tile(
                "chain-head",
                "审计链头",
                figure=f"{seq:,} 条",
                rows=[[f"{seq}:{digest}"], [cell("核验整条审计链", "/audit-check/")]],
            ),
            Tile(
                "refusals",
                "最近的拒绝与登录失败",
                header=["序号", "时间", "用户", "事件", "对象"],
                rows=[[s, format_local(t), a, act, e] for s, t, a, act, e in refusals],
                empty="没有拒绝记录",
                link="/audit/?flt0_0=refused",
            ),
            expiries_by_month_tile(session, actor),
            stock_chart_tile(session, actor, "各库库存（仓库 × 类别）"),
        ],
    )


BUILDERS: dict[str, Callable[[Session, Actor], Panel]] = {
    Role.KEEPER: keeper_panel,
    Role.DISPATCHER: dispatcher_panel,
    Role.REQUESTER: county_panel,
    Role.FINANCE: finance_panel,
    Role.AUDITOR: auditor_panel,
}


def panels_for(session: Session, actor: Actor) -> list[Panel]:
    """One panel per role the user holds; an admin sees the dispatcher's, finance's and
    auditor's (the office-wide ones)."""
    roles = [r for r in BUILDERS if r in actor.roles]
    if actor.is_admin and not roles:
        roles = [Role.DISPATCHER, Role.FINANCE, Role.AUDITOR]
    return [BUILDERS[role](session, actor) for role in roles]
