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

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from relief_inventory.admin import charts
from relief_inventory.admin.labels import label
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
    empty: str = _l("暂无")
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
        title = _(
            "%(title)s（县市 × 类别，%(n)s 个仓库）", title=str(title).split("（")[0], n=len(depots)
        )
    else:
        bars = [(n.replace("救灾物资储备库", "") or n, [c]) for c, n in depots]
    series = {
        name: [sum(summary.cell(d, c) for d in members) for _label, members in bars]
        for c, name in summary.categories
        if any(summary.cell(d, c) for _label, members in bars for d in members)
    }
    labels = [label for label, _members in bars]
    chart = charts.stacked_bars(title, labels, series, horizontal=len(bars) > 4) if bars else None
    total = sum(summary.depot_total(d) for d, _name in depots)
    return Tile(
        "stock-chart",
        title,
        width=7,
        chart=chart,
        figure=_("%(n)s 件", n=f"{total:,}"),
        link="/quants/",
    )


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
        _("临期（%(days)s 天内）与过期批次", days=EXPIRY_DAYS),
        figure=_(
            "过期 %(expired)s 批 · 临期 %(soon)s 批", expired=expired, soon=len(rows) - expired
        ),
        header=[_l("仓库"), _l("物资"), _l("批次"), _l("有效期至"), _l("在库")],
        rows=[
            [d, i, lot, f"{e}{'（已过期）' if e < today else ''}", q]
            for d, i, lot, e, q in rows[:LIMIT]
        ],
        empty=_l("没有临期或过期的批次"),
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
            key = "" if expiry < today else expiry.strftime("%Y-%m")  # "": expired
            months[key] += int(quantity)
        return months

    months = office_wide(session, actor, "expiry", by_month)
    keys = sorted(months)  # the expired first, then month by month
    chart = charts.bars(
        _l("未来一年到期数量（按月）"),
        [key or _l("已过期") for key in keys],
        {_l("件数"): [months[k] for k in keys]},
    )
    return Tile(
        "expiry-chart",
        _l("到期分布"),
        width=6,
        chart=chart if keys else None,
        empty=_l("一年内没有到期的物资"),
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
    rows = [[_l("待发运"), request_cell(n), d, _("%(n)s 件", n=q)] for n, d, q in ship]
    rows += [
        [_l("待入库"), doc_cell(n), _("来自 %(depot)s", depot=d), format_local(t)]
        for n, d, t in incoming
    ]
    return Tile(
        "to-do",
        _l("待发运 / 待入库"),
        header=[_l("事项"), _l("单号"), _l("仓库"), _l("数量/时间")],
        rows=rows,
        empty=_l("没有待发运或待入库的单据"),
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
        _l("待我复核的草稿（第二保管员）"),
        header=[_l("单号"), _l("类型"), _l("制单时间")],
        rows=[[doc_cell(n), label(DocKind.LABELS, k), format_local(t)] for n, k, t in drafts],
        empty=_l("没有待复核的草稿"),
        link="/documents/?flt1_0=draft",
    )


def keeper_panel(session: Session, actor: Actor) -> Panel:
    return Panel(
        Role.KEEPER,
        _l("仓库保管员"),
        [
            stock_chart_tile(session, actor, _l("本库库存（按类别）")),
            Tile(
                "stock-table",
                _l("快速操作"),
                width=5,
                rows=[
                    [cell(_l("新建入库单"), "/documents/new/receipt")],
                    [cell(_l("新建出库单"), "/documents/new/issue")],
                    [cell(_l("新建库间调拨单"), "/documents/new/transfer")],
                    [cell(_l("新建报废单"), "/documents/new/scrap")],
                    [cell(_l("新建盘点单"), "/documents/new/count")],
                    [cell(_l("新建轮换单"), "/documents/new/rotation")],
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
        _l("调度审批员"),
        [
            Tile(
                "waiting",
                _l("待审批的调拨申请"),
                header=[_l("单号"), _l("县市"), _l("紧急程度"), _l("受灾人数"), _l("提交时间")],
                rows=[
                    [request_cell(n), c, label(Urgency.LABELS, u), p, format_local(t)]
                    for n, c, u, p, t in waiting
                ],
                empty=_l("没有待审批的申请"),
                link="/dispatch/?flt0_0=submitted",
            ),
            Tile(
                "shortages",
                _l("未满足的缺口"),
                header=[_l("单号"), _l("物资"), _l("申请"), _l("缺口")],
                rows=[[request_cell(n), i, q, s] for n, i, q, s in shortages],
                empty=_l("没有缺口"),
            ),
            Tile(
                "countersign",
                _l("应急会签（先调拨后补手续）"),
                header=[_l("单号"), _l("会签期限"), _l("状态")],
                rows=[
                    [
                        request_cell(n),
                        format_local(d),
                        _l("已超期") if d is not None and d < now else _l("待会签"),
                    ]
                    for n, d in due
                ],
                empty=_l("没有待会签的应急调拨"),
            ),
            stock_chart_tile(session, actor, _l("各库库存（仓库 × 类别）")),
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
            _l("各县市资金：下达与拨付（元）"),
            labels,
            {
                _l("已下达"): [r.appropriated for r in rows],
                _l("已批准未付"): [r.committed for r in rows],
                _l("已拨付"): [r.released for r in rows],
            },
        )
        if rows
        else None
    )
    return Tile("funds-chart", _l("资金（按县市）"), width=7, chart=chart, empty=_l("暂无资金下达"))


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
        _l("县级申请人"),
        [
            Tile(
                "my-requests",
                _l("本县调拨申请"),
                header=[_l("单号"), _l("状态"), _l("申请时间")],
                rows=[
                    [request_cell(n), label(RequestState.LABELS, s), format_local(t)]
                    for n, s, t in requests
                ],
                empty=_l("还没有调拨申请"),
                link="/dispatch/",
            ),
            Tile(
                "my-releases",
                _l("本县资金拨付"),
                header=[_l("单号"), _l("金额（元）"), _l("状态")],
                rows=[
                    [release_cell(n), f"{a:,.2f}", label(ReleaseState.LABELS, s)]
                    for n, a, s in releases
                ],
                empty=_l("还没有资金拨付申请"),
                link="/funds/releases/",
            ),
            Tile(
                "county-new",
                _l("快速操作"),
                rows=[
                    [cell(_l("填报调拨申请"), "/dispatch/new")],
                    [cell(_l("申请资金拨付"), "/funds/releases/new")],
                ],
            ),
            funds_chart_tile(session, actor, set(actor.county_ids)),
            stock_chart_tile(session, actor, _l("本县储备库库存（按类别）")),
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
        _l("财务"),
        [
            Tile(
                "waiting-me",
                _l("待我处理的资金拨付"),
                header=[_l("单号"), _l("县市"), _l("金额（元）"), _l("当前状态")],
                rows=[
                    [release_cell(n), c, f"{a:,.2f}", label(ReleaseState.LABELS, s)]
                    for n, c, a, s in waiting
                ],
                empty=_l("没有待处理的拨付"),
                link="/funds/releases/",
            ),
            Tile(
                "by-source",
                _l("资金来源余额"),
                header=[_l("来源"), _l("金额"), _l("已下达"), _l("已拨付")],
                rows=[
                    [
                        r.label,
                        f"{r.amount or 0:,.2f}",
                        f"{r.appropriated:,.2f}",
                        f"{r.released:,.2f}",
                    ]
                    for r in result.by_source[:LIMIT]
                ],
                empty=_l("暂无资金来源"),
                link="/funds/sources/",
            ),
            funds_chart_tile(session, actor, None),
            Tile(
                "by-county",
                _l("各县市余额（已下达 − 已拨付）"),
                width=5,
                header=[_l("县市"), _l("余额（元）")],
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
        _l("审计员"),
        [
            Tile(
                "chain-head",
                _l("审计链头"),
                figure=_("%(n)s 条", n=f"{seq:,}"),
                rows=[[f"{seq}:{digest}"], [cell(_l("核验整条审计链"), "/audit-check/")]],
            ),
            Tile(
                "refusals",
                _l("最近的拒绝与登录失败"),
                header=[_l("序号"), _l("时间"), _l("用户"), _l("事件"), _l("对象")],
                rows=[[s, format_local(t), a, act, e] for s, t, a, act, e in refusals],
                empty=_l("没有拒绝记录"),
                link="/audit/?flt0_0=refused",
            ),
            expiries_by_month_tile(session, actor),
            stock_chart_tile(session, actor, _l("各库库存（仓库 × 类别）")),
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
