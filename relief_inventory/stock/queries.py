"""Read-side queries over the stock ledger (lists, summaries, exports)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select, true
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, aliased

from relief_inventory.auth.models import User
from relief_inventory.errors import NotFound
from relief_inventory.paging import Page, paginate
from relief_inventory.stock import lot_status
from relief_inventory.stock.models import (
    Category,
    CountLine,
    DocKind,
    DocState,
    Item,
    Lot,
    LotStatus,
    Move,
    MoveState,
    Owner,
    Quant,
    StockDocument,
    StockHold,
)
from relief_inventory.timeutil import local_today
from relief_inventory.warehouse.models import County, Depot, Location, LocationKind


def depot_item_on_hand(session: Session, depot_code: str, item_code: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Quant.on_hand), 0))
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Item, Item.id == Quant.item_id)
        .where(Depot.code == depot_code, Item.code == item_code)
    )
    return int(total or 0)


# How the summary separates what is on hand, by the status the stock reads today.
SUMMARY_STATUSES = {
    "usable": LotStatus.AVAILABLE,
    "expired": LotStatus.EXPIRED,
    "quarantined": LotStatus.QUARANTINED,
    "damaged": LotStatus.DAMAGED,
}
SUMMARY_LABELS = {"usable": "可用", "expired": "过期", "quarantined": "待检", "damaged": "损坏"}


@dataclass(frozen=True)
class StockSummary:
    """On-hand pieces per depot and category, with row and column totals, and what of it is
    usable, expired, quarantined or damaged (``SUMMARY_STATUSES``)."""

    depots: list[tuple[str, str]]  # (code, name), in code order
    categories: list[tuple[str, str]]  # (code, name), in display order
    cells: dict[tuple[str, str], int]  # (depot code, category code) -> on hand
    by_status: dict[tuple[str, str, str], int] = dataclass_field(default_factory=dict)
    # (depot code, category code, summary status) -> on hand

    def cell(self, depot: str, category: str) -> int:
        return self.cells.get((depot, category), 0)

    def depot_total(self, depot: str) -> int:
        return sum(self.cell(depot, c) for c, _ in self.categories)

    def category_total(self, category: str) -> int:
        return sum(self.cell(d, category) for d, _ in self.depots)

    @property
    def total(self) -> int:
        return sum(self.cells.values())

    def status(self, status: str, *, depot: str | None = None, category: str | None = None) -> int:
        """Pieces in one summary status, for a depot, a category, both or everything."""
        return sum(
            quantity
            for (d, c, s), quantity in self.by_status.items()
            if s == status and depot in (None, d) and category in (None, c)
        )


def stock_summary(
    session: Session, on_date: date | None = None, *, depots: ColumnElement[bool] | None = None
) -> StockSummary:
    """One grouped query over the quants of internal locations (the depots' shelves), by
    depot, category and the status the stock reads on ``on_date`` (default today; grouped
    by its label, so the database works the status out once per row). ``depots`` (a
    condition on ``Location.depot_id``, e.g. a user's scope) limits it to those depots."""
    status = lot_status.status_sql(on_date or local_today()).label("read_as")
    rows = session.execute(
        lot_status.join_depot_status(
            select(Location.depot_id, Item.category_id, status, func.sum(Quant.on_hand))
            .join(Location, Location.id == Quant.location_id)
            .join(Item, Item.id == Quant.item_id)
            .join(Lot, Lot.id == Quant.lot_id),
            Location.depot_id,
        )
        .where(Location.kind == LocationKind.INTERNAL, Quant.on_hand > 0)
        .where(true() if depots is None else depots)
        .group_by(Location.depot_id, Item.category_id, status)
    ).all()
    depots = session.execute(
        select(Depot.id, Depot.code, Depot.name).where(Depot.active.is_(True)).order_by(Depot.code)
    ).all()
    categories = session.execute(
        select(Category.id, Category.code, Category.name)
        .where(Category.active.is_(True))
        .order_by(Category.sort_order, Category.code)
    ).all()
    depot_code = {d.id: d.code for d in depots}
    category_code = {c.id: c.code for c in categories}
    summary_status = {value: key for key, value in SUMMARY_STATUSES.items()}
    cells: dict[tuple[str, str], int] = defaultdict(int)
    by_status: dict[tuple[str, str, str], int] = defaultdict(int)
    for d, c, state, total in rows:
        if d in depot_code and c in category_code and total:
            cells[(depot_code[d], category_code[c])] += int(total)
            by_status[(depot_code[d], category_code[c], summary_status[state])] += int(total)
    return StockSummary(
        depots=[(d.code, d.name) for d in depots],
        categories=[(c.code, c.name) for c in categories],
        cells=dict(cells),
        by_status=dict(by_status),
    )


# -- master data ---------------------------------------------------------------------------


def category_rows(session: Session) -> list[RowMapping]:
    return list(
        session.execute(
            select(Category.code, Category.name, Category.sort_order)
            .where(Category.active.is_(True))
            .order_by(Category.sort_order, Category.code)
        ).mappings()
    )


def item_rows(session: Session) -> list[RowMapping]:
    """Active items with their category, in category display order then code."""
    return list(
        session.execute(
            select(
                Item.code,
                Item.name,
                Item.specification,
                Item.unit,
                Category.code.label("category"),
                Category.name.label("category_name"),
                Item.unit_value,
                Item.shelf_life_days,
                Item.tracking,
                Item.reusable,
            )
            .join(Category, Category.id == Item.category_id)
            .where(Item.active.is_(True))
            .order_by(Category.sort_order, Category.code, Item.code)
        ).mappings()
    )


def _id_for(session: Session, model: Any, code: str, field: str, what: str) -> int:
    """Resolve a filter's code once, so an unknown code is a 404 naming the filter."""
    found = session.scalar(select(model.id).where(model.code == code))
    if found is None:
        raise NotFound(f"{what}不存在：{code}", field=field)
    return int(found)


# -- stock rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StockFilters:
    depot: str | None = None
    item: str | None = None
    category: str | None = None
    county: str | None = None  # the depots located in this county
    include_zero: bool = False


def stock_rows(
    session: Session, filters: StockFilters, *, page: int = 1, per_page: int = 100
) -> Page:
    """Balances of the depots' shelves, one row per (depot, item, lot, owner) quant.

    One joined query (plus its count); ordered by depot, category, item, lot, owner and
    finally the quant id, which makes the order total and the pages stable.
    """
    statement = (
        select(
            Depot.code.label("depot"),
            Depot.name.label("depot_name"),
            Item.code.label("item"),
            Item.name.label("item_name"),
            Item.unit,
            Category.code.label("category"),
            Category.name.label("category_name"),
            Lot.number.label("lot"),
            Lot.expiry_date,
            lot_status.status_sql(local_today()).label("lot_status"),
            Owner.code.label("owner"),
            Owner.name.label("owner_name"),
            Quant.on_hand,
            Quant.reserved,
            (Quant.on_hand - Quant.reserved).label("available"),
        )
        .select_from(Quant)
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Item, Item.id == Quant.item_id)
        .join(Category, Category.id == Item.category_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Owner, Owner.id == Quant.owner_id)
        .where(Location.kind == LocationKind.INTERNAL)
        .order_by(Depot.code, Category.sort_order, Item.code, Lot.number, Owner.code, Quant.id)
    )
    statement = lot_status.join_depot_status(statement, Depot.id)
    for code, model, column, field, what in (
        (filters.depot, Depot, Depot.id, "depot", "仓库"),
        (filters.item, Item, Item.id, "item", "物资"),
        (filters.category, Category, Category.id, "category", "类别"),
        (filters.county, County, Depot.county_id, "county", "县市"),
    ):
        if code:
            statement = statement.where(column == _id_for(session, model, code, field, what))
    if not filters.include_zero:
        statement = statement.where(Quant.on_hand > 0)
    return paginate(session, statement, page, per_page)


# -- documents -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentFilters:
    kind: str | None = None
    state: str | None = None
    depot: str | None = None  # documents from or to this depot


def _document_header() -> Select[Any]:
    depot, dest, reversed_doc = aliased(Depot), aliased(Depot), aliased(StockDocument)
    reversal = aliased(StockDocument)
    creator, validator, rejecter = aliased(User), aliased(User), aliased(User)
    return (
        select(
            StockDocument.id,
            StockDocument.number,
            StockDocument.kind,
            StockDocument.state,
            depot.code.label("depot"),
            depot.name.label("depot_name"),
            dest.code.label("dest_depot"),
            County.code.label("county"),
            StockDocument.partner,
            StockDocument.origin,
            StockDocument.authority_order,
            StockDocument.reason,
            StockDocument.source_ref,
            reversed_doc.number.label("reverses"),
            case((reversal.state == DocState.DONE, reversal.number)).label("reversed_by"),
            case((reversal.state == DocState.DRAFT, reversal.number)).label("pending_reversal"),
            creator.username.label("created_by"),
            validator.username.label("validated_by"),
            rejecter.username.label("rejected_by"),
            StockDocument.created_at,
            StockDocument.done_at,
        )
        .outerjoin(depot, depot.id == StockDocument.depot_id)
        .outerjoin(dest, dest.id == StockDocument.dest_depot_id)
        .outerjoin(County, County.id == StockDocument.county_id)
        .outerjoin(reversed_doc, reversed_doc.id == StockDocument.reverses_id)
        .outerjoin(
            reversal,
            (reversal.reverses_id == StockDocument.id) & (reversal.state != DocState.CANCELLED),
        )
        .join(creator, creator.id == StockDocument.created_by_id)
        .outerjoin(validator, validator.id == StockDocument.validated_by_id)
        .outerjoin(rejecter, rejecter.id == StockDocument.rejected_by_id)
    )


def document_rows(
    session: Session, filters: DocumentFilters, *, page: int = 1, per_page: int = 100
) -> Page:
    """Document headers, newest first (id breaks ties between equal times)."""
    statement = _document_header().order_by(
        StockDocument.created_at.desc(), StockDocument.id.desc()
    )
    if filters.kind:
        statement = statement.where(StockDocument.kind == filters.kind)
    if filters.state:
        statement = statement.where(StockDocument.state == filters.state)
    if filters.depot:
        depot_id = _id_for(session, Depot, filters.depot, "depot", "仓库")
        statement = statement.where(
            or_(StockDocument.depot_id == depot_id, StockDocument.dest_depot_id == depot_id)
        )
    return paginate(session, statement, page, per_page)


def document_detail(session: Session, number: str) -> dict[str, Any]:
    """A document with its moves (and, for a stock count, what was counted), all by code."""
    header = (
        session.execute(_document_header().where(StockDocument.number == number)).mappings().first()
    )
    if header is None:
        raise NotFound(f"单据不存在：{number}", field="document")
    source, destination = aliased(Location), aliased(Location)
    moves = session.execute(
        select(
            Item.code.label("item"),
            Lot.number.label("lot"),
            Owner.code.label("owner"),
            Move.quantity,
            source.code.label("from_location"),
            destination.code.label("to_location"),
            Move.state,
            Move.done_at,
        )
        .join(Item, Item.id == Move.item_id)
        .join(Lot, Lot.id == Move.lot_id)
        .join(Owner, Owner.id == Move.owner_id)
        .join(source, source.id == Move.from_location_id)
        .join(destination, destination.id == Move.to_location_id)
        .where(Move.document_id == header["id"])
        .order_by(Move.id)
    ).mappings()
    counted = session.execute(
        select(
            Item.code.label("item"),
            Lot.number.label("lot"),
            Owner.code.label("owner"),
            CountLine.system_quantity,
            CountLine.counted_quantity,
        )
        .join(Item, Item.id == CountLine.item_id)
        .join(Lot, Lot.id == CountLine.lot_id)
        .join(Owner, Owner.id == CountLine.owner_id)
        .where(CountLine.document_id == header["id"])
        .order_by(CountLine.id)
    ).mappings()
    held = session.execute(
        select(
            Item.code.label("item"),
            Lot.number.label("lot"),
            Owner.code.label("owner"),
            Location.code.label("location"),
            StockHold.quantity,
            StockHold.state,
        )
        .join(Quant, Quant.id == StockHold.quant_id)
        .join(Item, Item.id == Quant.item_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Owner, Owner.id == Quant.owner_id)
        .join(Location, Location.id == Quant.location_id)
        .where(StockHold.document_id == header["id"])
        .order_by(StockHold.id)
    ).mappings()
    return {
        **header,
        "moves": list(moves),
        "count_lines": list(counted),
        "holds": list(held),
    }


def lot_statuses(session: Session, lot: Lot) -> list[dict[str, Any]]:
    """The lot's status in every depot holding it, as it reads today (expiry included)."""
    status = lot_status.status_sql(local_today()).label("read_as")
    rows = session.execute(
        lot_status.join_depot_status(
            select(Depot.code, status, func.sum(Quant.on_hand))
            .select_from(Quant)
            .join(Location, Location.id == Quant.location_id)
            .join(Depot, Depot.id == Location.depot_id)
            .join(Lot, Lot.id == Quant.lot_id),
            Depot.id,
        )
        .where(Quant.lot_id == lot.id, Quant.on_hand > 0, Location.kind == LocationKind.INTERNAL)
        .group_by(Depot.code, status)
        .order_by(Depot.code)
    )
    return [{"depot": d, "status": s, "on_hand": int(q)} for d, s, q in rows]


# -- period figures for reports -------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """One depot's stock of one category over a period: what it opened with, took in and
    sent out, and so what it closed with. A reversal (冲销) counts against the column of
    what it reverses: a reversed receipt lowers receipts instead of raising issues."""

    opening: int
    receipts: int
    issues: int

    @property
    def closing(self) -> int:
        return self.opening + self.receipts - self.issues


def _flow_sums(
    session: Session, side: Any, start: datetime, end: datetime, depot_id: int | None
) -> dict[tuple[int, int], tuple[int, int, int]]:
    """Per (depot, category): done moves into (or out of) the depots' shelves before the
    period, in it, and in it on reversal documents."""
    quantity = Move.quantity
    within = (Move.done_at >= start) & (Move.done_at < end)
    reversal = StockDocument.kind == DocKind.REVERSAL

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, quantity), else_=0)), 0)

    query = (
        select(
            Location.depot_id,
            Item.category_id,
            total(Move.done_at < start),
            total(within & ~reversal),
            total(within & reversal),
        )
        .select_from(Move)
        .join(Location, Location.id == side)
        .join(Item, Item.id == Move.item_id)
        .join(StockDocument, StockDocument.id == Move.document_id)
        .where(
            Location.kind == LocationKind.INTERNAL,
            Move.state == MoveState.DONE,
            Move.done_at < end,
        )
        .group_by(Location.depot_id, Item.category_id)
    )
    if depot_id is not None:
        query = query.where(Location.depot_id == depot_id)
    return {(d, c): (int(b), int(n), int(r)) for d, c, b, n, r in session.execute(query)}


def ledger_flows(
    session: Session, start: datetime, end: datetime, depot_id: int | None = None
) -> dict[tuple[int, int], Flow]:
    """Opening, receipts, issues (and closing) per (depot id, category id) for [start, end):
    two grouped queries over the done moves, whatever the number of documents."""
    inflow = _flow_sums(session, Move.to_location_id, start, end, depot_id)
    outflow = _flow_sums(session, Move.from_location_id, start, end, depot_id)
    flows = {}
    for key in inflow.keys() | outflow.keys():
        in_before, in_normal, in_reversed = inflow.get(key, (0, 0, 0))
        out_before, out_normal, out_reversed = outflow.get(key, (0, 0, 0))
        flows[key] = Flow(
            opening=in_before - out_before,
            receipts=in_normal - out_reversed,
            issues=out_normal - in_reversed,
        )
    return flows


def county_receipts(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    """Pieces per category id that reached the counties in [start, end), net of what came
    back (reversals, returns)."""
    county = aliased(Location)
    totals: dict[int, int] = {}
    for column, sign in ((Move.to_location_id, 1), (Move.from_location_id, -1)):
        rows = session.execute(
            select(Item.category_id, func.sum(Move.quantity))
            .join(county, county.id == column)
            .join(Item, Item.id == Move.item_id)
            .where(
                county.kind == LocationKind.COUNTY,
                Move.state == MoveState.DONE,
                Move.done_at >= start,
                Move.done_at < end,
            )
            .group_by(Item.category_id)
        )
        for category_id, pieces in rows:
            totals[category_id] = totals.get(category_id, 0) + sign * int(pieces or 0)
    return totals
