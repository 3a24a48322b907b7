"""Read-side queries over the funds: lists by code and number, scoped to what the reader
may see, and the trace from money to materials to the counties that received them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import User
from relief_inventory.auth.policy import require_county, require_role
from relief_inventory.errors import Hidden, NotFound, PermissionDenied
from relief_inventory.funds import balances
from relief_inventory.funds.models import (
    Appropriation,
    FundRelease,
    FundReversal,
    FundReversalRequest,
    FundSource,
    PurchaseLink,
    ReleaseState,
    RequestState,
)
from relief_inventory.paging import Page, paginate
from relief_inventory.stock.models import (
    DocKind,
    DocState,
    Item,
    Lot,
    Move,
    MoveState,
    StockDocument,
)
from relief_inventory.warehouse.models import County, Depot, Location, LocationKind

# -- who may read what ---------------------------------------------------------------------


def require_reader(actor: Actor) -> None:
    """Sources, the summary and the trace span every county: finance, audit and admin."""
    require_role(actor, Role.FINANCE, Role.AUDITOR)


def county_scope(actor: Actor) -> frozenset[int] | None:
    """The counties whose appropriations and releases the actor may read (None: all)."""
    if actor.is_admin or actor.has(Role.FINANCE, Role.AUDITOR, Role.DISPATCHER):
        return None
    if actor.has(Role.REQUESTER):
        return actor.county_ids
    raise PermissionDenied(f"用户 {actor.username} 无权查看资金单据")


def _scoped(statement: Select[Any], column: Any, actor: Actor) -> Select[Any]:
    scope = county_scope(actor)
    return statement if scope is None else statement.where(column.in_(scope))


def _reversal_number(column: Any, target: Any) -> Any:
    return (
        select(FundReversal.number).where(column == target).correlate_except(FundReversal)
    ).scalar_subquery()


def _pending_reversal(column: str, target: Any) -> Any:
    """The number of a reversal proposed for this row and not decided yet."""
    request = FundReversalRequest
    return (
        select(request.number)
        .where(getattr(request, column) == target, request.state == RequestState.PROPOSED)
        .correlate_except(request)
    ).scalar_subquery()


def _sum(column: Any, *conditions: ColumnElement[bool]) -> Any:
    """A correlated total that reads 0.00, not null, when nothing matches."""
    return func.coalesce(
        select(func.sum(column)).where(*conditions).scalar_subquery(), literal_column("0")
    )


def _county_id(session: Session, code: str) -> int:
    found = session.scalar(select(County.id).where(County.code == code))
    if found is None:
        raise NotFound(f"县市不存在：{code}", field="county")
    return int(found)


def _one(session: Session, statement: Select[Any], what: str, number: str) -> dict[str, Any]:
    row = session.execute(statement).mappings().first()
    if row is None:
        raise NotFound(f"{what}不存在：{number}", field="number")
    return dict(row)


# -- sources -------------------------------------------------------------------------------


def _source_select() -> Select[Any]:
    creator = aliased(User)
    return (
        select(
            FundSource.number,
            FundSource.level,
            FundSource.kind,
            FundSource.year,
            FundSource.document_number,
            FundSource.title,
            FundSource.amount,
            FundSource.issued_on,
            _sum(
                Appropriation.amount,
                Appropriation.source_id == FundSource.id,
                balances.live_appropriation(),
            ).label("appropriated"),
            _reversal_number(FundReversal.source_id, FundSource.id).label("reversed_by"),
            _pending_reversal("source_id", FundSource.id).label("reversal_pending"),
            creator.username.label("created_by"),
            FundSource.created_at,
        )
        .join(creator, creator.id == FundSource.created_by_id)
        .order_by(FundSource.year.desc(), FundSource.number)
    )


@dataclass(frozen=True)
class SourceFilters:
    year: int | None = None
    kind: str | None = None
    level: str | None = None


def source_rows(
    session: Session, actor: Actor, filters: SourceFilters, *, page: int = 1, per_page: int = 100
) -> Page:
    require_reader(actor)
    statement = _source_select()
    for value, column in (
        (filters.year, FundSource.year),
        (filters.kind, FundSource.kind),
        (filters.level, FundSource.level),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return paginate(session, statement, page, per_page)


def source_detail(session: Session, actor: Actor, number: str) -> dict[str, Any]:
    require_reader(actor)
    return _one(session, _source_select().where(FundSource.number == number), "资金来源", number)


# -- appropriations ------------------------------------------------------------------------


def _appropriation_select() -> Select[Any]:
    creator = aliased(User)
    mine = FundRelease.appropriation_id == Appropriation.id
    return (
        select(
            Appropriation.number,
            FundSource.number.label("source"),
            FundSource.document_number.label("source_document"),
            FundSource.level,
            FundSource.kind,
            FundSource.year,
            County.id.label("county_id"),
            County.code.label("county"),
            County.name.label("county_name"),
            Appropriation.document_number,
            Appropriation.issued_on,
            Appropriation.amount,
            _sum(FundRelease.amount, mine, balances.committed_release()).label("committed"),
            _sum(FundRelease.amount, mine, balances.paid_release()).label("released"),
            Appropriation.note,
            _reversal_number(FundReversal.appropriation_id, Appropriation.id).label("reversed_by"),
            _pending_reversal("appropriation_id", Appropriation.id).label("reversal_pending"),
            creator.username.label("created_by"),
            Appropriation.created_at,
        )
        .join(FundSource, FundSource.id == Appropriation.source_id)
        .join(County, County.id == Appropriation.county_id)
        .join(creator, creator.id == Appropriation.created_by_id)
        .order_by(Appropriation.number)
    )


@dataclass(frozen=True)
class AppropriationFilters:
    year: int | None = None
    source: str | None = None
    county: str | None = None
    kind: str | None = None


def appropriation_rows(
    session: Session,
    actor: Actor,
    filters: AppropriationFilters,
    *,
    page: int = 1,
    per_page: int = 100,
) -> Page:
    statement = _scoped(_appropriation_select(), Appropriation.county_id, actor)
    if filters.year is not None:
        statement = statement.where(FundSource.year == filters.year)
    if filters.source:
        statement = statement.where(FundSource.number == filters.source)
    if filters.kind:
        statement = statement.where(FundSource.kind == filters.kind)
    if filters.county:
        statement = statement.where(Appropriation.county_id == _county_id(session, filters.county))
    return paginate(session, statement, page, per_page)


def appropriation_detail(session: Session, actor: Actor, number: str) -> dict[str, Any]:
    row = _one(
        session, _appropriation_select().where(Appropriation.number == number), "资金下达", number
    )
    require_county(
        actor, row["county_id"], hidden=Hidden(f"资金下达不存在：{number}", field="number")
    )
    return row


# -- releases ------------------------------------------------------------------------------


def _release_select() -> Select[Any]:
    people = {name: aliased(User) for name in ("created", "verified", "approved", "released")}
    people["rejected"] = aliased(User)
    statement = select(
        FundRelease.number,
        Appropriation.number.label("appropriation"),
        FundSource.number.label("source"),
        FundSource.kind,
        County.id.label("county_id"),
        County.code.label("county"),
        County.name.label("county_name"),
        FundRelease.purpose,
        FundRelease.description,
        FundRelease.amount,
        FundRelease.beneficiaries,
        FundRelease.households,
        FundRelease.evidence,
        FundRelease.state,
        FundRelease.created_at,
        FundRelease.submitted_at,
        FundRelease.verified_at,
        FundRelease.verification_note,
        FundRelease.approved_at,
        FundRelease.released_at,
        FundRelease.payment_reference,
        FundRelease.rejected_at,
        FundRelease.reject_reason,
        _reversal_number(FundReversal.release_id, FundRelease.id).label("reversed_by"),
        _pending_reversal("release_id", FundRelease.id).label("reversal_pending"),
        *(user.username.label(f"{name}_by") for name, user in people.items()),
    )
    statement = (
        statement.join(Appropriation, Appropriation.id == FundRelease.appropriation_id)
        .join(FundSource, FundSource.id == Appropriation.source_id)
        .join(County, County.id == FundRelease.county_id)
        .join(people["created"], people["created"].id == FundRelease.created_by_id)
    )
    for name, column in (
        ("verified", FundRelease.verified_by_id),
        ("approved", FundRelease.approved_by_id),
        ("released", FundRelease.released_by_id),
        ("rejected", FundRelease.rejected_by_id),
    ):
        statement = statement.outerjoin(people[name], people[name].id == column)
    return statement.order_by(FundRelease.created_at.desc(), FundRelease.id.desc())


@dataclass(frozen=True)
class ReleaseFilters:
    state: str | None = None
    county: str | None = None
    appropriation: str | None = None
    purpose: str | None = None
    waiting: bool = False  # only what awaits this reader's next step


def waiting_for(actor: Actor) -> ColumnElement[bool]:
    """What awaits the actor: for finance, each step someone else's request still needs and
    segregation of duties lets this person take; for a county, its unsubmitted drafts."""
    me = actor.user_id
    if actor.is_admin or actor.has(Role.FINANCE):
        return and_(
            FundRelease.created_by_id != me,
            or_(
                FundRelease.state.in_((ReleaseState.SUBMITTED, ReleaseState.APPROVED)),
                and_(
                    FundRelease.state == ReleaseState.VERIFIED,
                    FundRelease.verified_by_id != me,
                ),
            ),
        )
    return FundRelease.state == ReleaseState.DRAFT


def release_rows(
    session: Session, actor: Actor, filters: ReleaseFilters, *, page: int = 1, per_page: int = 100
) -> Page:
    statement = _scoped(_release_select(), FundRelease.county_id, actor)
    if filters.state:
        statement = statement.where(FundRelease.state == filters.state)
    if filters.purpose:
        statement = statement.where(FundRelease.purpose == filters.purpose)
    if filters.appropriation:
        statement = statement.where(Appropriation.number == filters.appropriation)
    if filters.county:
        statement = statement.where(FundRelease.county_id == _county_id(session, filters.county))
    if filters.waiting:
        statement = statement.where(waiting_for(actor))
    return paginate(session, statement, page, per_page)


def release_detail(session: Session, actor: Actor, number: str) -> dict[str, Any]:
    row = _one(
        session, _release_select().where(FundRelease.number == number), "资金拨付申请", number
    )
    hidden = Hidden(f"资金拨付申请不存在：{number}", field="number")
    require_county(actor, row["county_id"], hidden=hidden)
    return row


# -- reversals -----------------------------------------------------------------------------


def _reversal_select() -> Select[Any]:
    """Reversal documents as proposed, with their decision: a proposal takes effect (and the
    ``FundReversal`` of the same number exists) only once a second person approved it."""
    creator, decider = aliased(User), aliased(User)
    request = FundReversalRequest
    target_number = case(
        (request.source_id.is_not(None), FundSource.number),
        (request.appropriation_id.is_not(None), Appropriation.number),
        else_=FundRelease.number,
    )
    return (
        select(
            request.number,
            request.target,
            target_number.label("reverses"),
            request.amount,
            request.reason,
            request.state,
            creator.username.label("created_by"),
            request.created_at,
            decider.username.label("decided_by"),
            request.decided_at,
            request.decision_note,
        )
        .outerjoin(FundSource, FundSource.id == request.source_id)
        .outerjoin(Appropriation, Appropriation.id == request.appropriation_id)
        .outerjoin(FundRelease, FundRelease.id == request.release_id)
        .join(creator, creator.id == request.created_by_id)
        .outerjoin(decider, decider.id == request.decided_by_id)
        .order_by(request.number)
    )


def reversal_rows(session: Session, actor: Actor, *, page: int = 1, per_page: int = 100) -> Page:
    require_reader(actor)
    return paginate(session, _reversal_select(), page, per_page)


def reversal_detail(session: Session, actor: Actor, number: str) -> dict[str, Any]:
    require_reader(actor)
    return _one(
        session, _reversal_select().where(FundReversalRequest.number == number), "冲销单", number
    )


# -- trace: money -> materials -> counties -------------------------------------------------


def _funding_select() -> Select[Any]:
    """Purchase links with the appropriation, county and source behind each."""
    return (
        select(
            PurchaseLink.stock_document_id,
            PurchaseLink.amount,
            Appropriation.number.label("appropriation"),
            Appropriation.document_number.label("appropriation_document"),
            County.code.label("county"),
            County.name.label("county_name"),
            FundSource.number.label("source"),
            FundSource.document_number.label("source_document"),
            FundSource.level,
            FundSource.kind,
            FundSource.year,
        )
        .join(Appropriation, Appropriation.id == PurchaseLink.appropriation_id)
        .join(County, County.id == Appropriation.county_id)
        .join(FundSource, FundSource.id == Appropriation.source_id)
        .order_by(PurchaseLink.id)
    )


def _receipt_header(session: Session, document_ids: list[int]) -> dict[int, dict[str, Any]]:
    reversal = aliased(StockDocument)
    rows = session.execute(
        select(
            StockDocument.id,
            StockDocument.number.label("receipt"),
            Depot.code.label("depot"),
            Depot.name.label("depot_name"),
            StockDocument.partner,
            StockDocument.done_at,
            reversal.number.label("reversed_by"),
        )
        .join(Depot, Depot.id == StockDocument.depot_id)
        .outerjoin(
            reversal,
            (reversal.reverses_id == StockDocument.id) & (reversal.state == DocState.DONE),
        )
        .where(StockDocument.id.in_(document_ids))
    ).mappings()
    return {row["id"]: {k: v for k, v in row.items() if k != "id"} for row in rows}


def trace_lot(session: Session, actor: Actor, item: str, lot: str) -> dict[str, Any]:
    """A lot (a batch of tents) back to the receipts that brought it in and the funds that
    paid for them."""
    require_reader(actor)
    found = session.execute(
        select(Lot.id, Item.name)
        .join(Item, Item.id == Lot.item_id)
        .where(Item.code == item, Lot.number == lot)
    ).first()
    if found is None:
        raise NotFound(f"物资 {item} 没有批次 {lot}", field="lot")
    lot_id, item_name = found
    received = session.execute(
        select(Move.document_id, func.sum(Move.quantity))
        .join(StockDocument, StockDocument.id == Move.document_id)
        .where(
            Move.lot_id == lot_id,
            Move.state == MoveState.DONE,
            StockDocument.kind == DocKind.RECEIPT,
        )
        .group_by(Move.document_id)
    ).all()
    headers = _receipt_header(session, [doc for doc, _ in received])
    funding: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(
        _funding_select().where(PurchaseLink.stock_document_id.in_(headers))
    ).mappings():
        funding.setdefault(row["stock_document_id"], []).append(
            {k: v for k, v in row.items() if k != "stock_document_id"}
        )
    receipts = [
        {**headers[doc], "quantity": int(quantity), "funds": funding.get(doc, [])}
        for doc, quantity in sorted(received, key=lambda r: headers[r[0]]["receipt"])
    ]
    return {
        "item": item,
        "item_name": item_name,
        "lot": lot,
        "receipts": receipts,
        "destinations": _lot_destinations(session, [lot_id]),
    }


def trace_appropriation(session: Session, actor: Actor, number: str) -> dict[str, Any]:
    """An appropriation forward: the receipts it paid for, their lots, and the counties those
    lots were issued or dispatched to (net of returns and reversals)."""
    require_reader(actor)
    header = appropriation_detail(session, actor, number)
    links = session.execute(
        select(PurchaseLink.stock_document_id, PurchaseLink.amount)
        .join(Appropriation, Appropriation.id == PurchaseLink.appropriation_id)
        .where(Appropriation.number == number)
        .order_by(PurchaseLink.id)
    ).all()
    headers = _receipt_header(session, [doc for doc, _ in links])
    lines = session.execute(
        select(
            Move.document_id,
            Move.lot_id,
            Item.code.label("item"),
            Item.name.label("item_name"),
            Lot.number.label("lot"),
            func.sum(Move.quantity).label("quantity"),
        )
        .join(Item, Item.id == Move.item_id)
        .join(Lot, Lot.id == Move.lot_id)
        .where(Move.document_id.in_(headers), Move.state == MoveState.DONE)
        .group_by(Move.document_id, Move.lot_id, Item.code, Item.name, Lot.number)
        .order_by(Item.code, Lot.number)
    ).mappings()
    by_receipt: dict[int, list[dict[str, Any]]] = {}
    lot_ids = set()
    for line in lines:
        lot_ids.add(line["lot_id"])
        by_receipt.setdefault(line["document_id"], []).append(
            {
                "item": line["item"],
                "item_name": line["item_name"],
                "lot": line["lot"],
                "quantity": int(line["quantity"]),
            }
        )
    purchases = [
        {**headers[doc], "amount": amount, "lines": by_receipt.get(doc, [])}
        for doc, amount in links
    ]
    return {
        **header,
        "purchases": purchases,
        "destinations": _lot_destinations(session, sorted(lot_ids)),
    }


def _lot_destinations(session: Session, lot_ids: list[int]) -> list[dict[str, Any]]:
    """Pieces of these lots that reached each county: moves into the county's receiving
    location minus moves back out of it (returns, reversals)."""
    destination, origin = aliased(Location), aliased(Location)
    county_location = or_(
        destination.kind == LocationKind.COUNTY, origin.kind == LocationKind.COUNTY
    )
    county_id = case(
        (destination.kind == LocationKind.COUNTY, destination.county_id),
        else_=origin.county_id,
    )
    signed = case((destination.kind == LocationKind.COUNTY, Move.quantity), else_=-Move.quantity)
    rows = session.execute(
        select(
            Item.code.label("item"),
            Lot.number.label("lot"),
            County.code.label("county"),
            County.name.label("county_name"),
            func.sum(signed).label("quantity"),
        )
        .select_from(Move)
        .join(destination, destination.id == Move.to_location_id)
        .join(origin, origin.id == Move.from_location_id)
        .join(County, County.id == county_id)
        .join(Item, Item.id == Move.item_id)
        .join(Lot, Lot.id == Move.lot_id)
        .where(Move.lot_id.in_(lot_ids), Move.state == MoveState.DONE, county_location)
        .group_by(Item.code, Lot.number, County.code, County.name)
        .order_by(Item.code, Lot.number, County.code)
    ).mappings()
    return [{**row, "quantity": int(row["quantity"])} for row in rows if row["quantity"]]
