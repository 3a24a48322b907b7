"""Stock operations: receive, transfer, issue, write off, count, rotate, reverse.

The only code that writes stock documents, moves and quants. Each function runs inside the
caller's unit of work, checks role, scope and state first, and refuses bad input before it
writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Role
from relief_inventory.auth.policy import require_depot, require_other_person, require_role
from relief_inventory.errors import Conflict, InsufficientStock, InvalidInput, NotFound
from relief_inventory.stock import lines as parse
from relief_inventory.stock import quants
from relief_inventory.stock.catalog import default_owner, item_by_code, owner_by_code
from relief_inventory.stock.models import (
    CountLine,
    DocKind,
    DocState,
    Item,
    Lot,
    LotOrigin,
    LotStatus,
    Move,
    MoveState,
    Owner,
    OwnerLevel,
    Quant,
    StockDocument,
    Tracking,
)
from relief_inventory.stock.numbering import next_number
from relief_inventory.stock.quants import QuantKey
from relief_inventory.stock.removal import LotStock, pick_fefo
from relief_inventory.timeutil import local_today, to_local
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import Depot, DepotLevel, Location, LocationKind
from relief_inventory.warehouse.services import (
    county_by_code,
    county_location,
    depot_by_code,
    depot_stock_location,
    virtual_location,
)


@dataclass(frozen=True)
class Portion:
    """One resolved piece of a line: which lot of which owner, how many."""

    item: Item
    lot: Lot
    owner: Owner
    quantity: int


# -- documents and moves -------------------------------------------------------------------


def new_document(uow: UnitOfWork, kind: str, at: datetime, **fields: Any) -> StockDocument:
    document = StockDocument(
        number=next_number(uow.session, DocKind.PREFIX[kind], at),
        kind=kind,
        created_by_id=uow.actor.user_id,
        created_at=at,
        **fields,
    )
    uow.session.add(document)
    uow.session.flush()
    return document


def post_move(
    uow: UnitOfWork,
    document: StockDocument,
    portion: Portion,
    source: Location,
    destination: Location,
    at: datetime,
    *,
    reserved_quant_id: int | None = None,
    field: str = "quantity",
) -> Move:
    """Write one done move and update both balances in the same transaction.

    ``reserved_quant_id`` says the stock leaves from an earlier reservation (dispatch).
    """
    if source.id == destination.id:
        raise InvalidInput("调出与调入库位不能相同", field=field)
    key_out = QuantKey(source.id, portion.item.id, portion.lot.id, portion.owner.id)
    if source.kind in LocationKind.BALANCED:
        if reserved_quant_id is not None:
            quants.consume_reserved(uow.session, reserved_quant_id, portion.quantity)
        else:
            quants.remove(uow.session, key_out, portion.quantity, field=field)
    if destination.kind in LocationKind.BALANCED:
        key_in = QuantKey(destination.id, portion.item.id, portion.lot.id, portion.owner.id)
        quants.add(uow.session, key_in, portion.quantity)
    move = Move(
        document_id=document.id,
        item_id=portion.item.id,
        lot_id=portion.lot.id,
        owner_id=portion.owner.id,
        quantity=portion.quantity,
        from_location_id=source.id,
        to_location_id=destination.id,
        state=MoveState.DONE,
        done_at=at,
        user_id=uow.actor.user_id,
    )
    uow.session.add(move)
    return move


def _finish(uow: UnitOfWork, document: StockDocument, at: datetime) -> StockDocument:
    document.state = DocState.DONE
    document.done_at = at
    document.validated_by_id = uow.actor.user_id
    uow.session.flush()
    return document


def document_by_number(session: Session, number: str) -> StockDocument:
    document = session.scalar(select(StockDocument).where(StockDocument.number == number))
    if document is None:
        raise NotFound(f"单据不存在：{number}", field="document")
    return document


# -- rules shared by outgoing operations ---------------------------------------------------


def lot_is_usable(lot: Lot, on_date: date) -> bool:
    """Only available, unexpired stock may be reserved, transferred or issued."""
    return lot.status == LotStatus.AVAILABLE and (
        lot.expiry_date is None or lot.expiry_date >= on_date
    )


def _require_authority(depot: Depot, owner: Owner, authority_order: str, field: str) -> None:
    """Stock of a higher level than the depot's own moves only on that level's order."""
    depot_rank = OwnerLevel.RANK[
        OwnerLevel.PREFECTURE if depot.level == DepotLevel.PREFECTURE else OwnerLevel.COUNTY
    ]
    if OwnerLevel.RANK[owner.level] > depot_rank and not authority_order:
        raise InvalidInput(
            f"该批物资属{OwnerLevel.LABELS[owner.level]}（代储），须填写其调令文号",
            field=field,
        )


def lot_by_number(session: Session, item: Item, number: object, field: str) -> Lot:
    lot = session.scalar(select(Lot).where(Lot.item_id == item.id, Lot.number == str(number)))
    if lot is None:
        raise NotFound(f"物资 {item.code} 没有批次 {number}", field=field)
    return lot


def free_stock(
    session: Session, location: Location, item: Item, owner: Owner | None
) -> list[tuple[LotStock, Lot]]:
    query = (
        select(Quant, Lot)
        .join(Lot, Lot.id == Quant.lot_id)
        .where(
            Quant.location_id == location.id,
            Quant.item_id == item.id,
            Quant.on_hand > Quant.reserved,
            Lot.status == LotStatus.AVAILABLE,
        )
    )
    if owner is not None:
        query = query.where(Quant.owner_id == owner.id)
    return [
        (
            LotStock(q.id, lot.id, lot.number, q.owner_id, lot.expiry_date, q.on_hand - q.reserved),
            lot,
        )
        for q, lot in session.execute(query).all()
    ]


def _outgoing_portions(
    uow: UnitOfWork,
    depot: Depot,
    location: Location,
    line: Mapping[str, Any],
    field: str,
    authority_order: str,
    *,
    any_status: bool = False,
    on_date: date | None = None,
) -> list[Portion]:
    """Resolve an outgoing line; without a lot number, lots are taken first-expiry-first.

    Expiry is judged on ``on_date``, the document's business day (default today): goods
    booked out on an earlier date were usable if their lot had not expired by then.
    """
    session = uow.session
    item = item_by_code(session, line.get("item"), f"{field}.item")
    qty = parse.quantity(line.get("quantity"), f"{field}.quantity")
    owner = owner_by_code(session, line["owner"], f"{field}.owner") if line.get("owner") else None
    today = on_date or local_today()
    if line.get("lot"):
        lot = lot_by_number(session, item, line["lot"], f"{field}.lot")
        if not any_status and not lot_is_usable(lot, today):
            raise InvalidInput(
                f"批次 {lot.number} 状态为{LotStatus.LABELS.get(lot.status, lot.status)}"
                + ("或已过期" if lot.status == LotStatus.AVAILABLE else "")
                + "，只能报废核销",
                field=f"{field}.lot",
            )
        owner = owner or default_owner(session, depot)
        _require_authority(depot, owner, authority_order, f"{field}.owner")
        return [Portion(item, lot, owner, qty)]
    if any_status:
        raise InvalidInput("报废须指定批次", field=f"{field}.lot")
    candidates = free_stock(session, location, item, owner)
    lots = {stock.lot_id: lot for stock, lot in candidates}
    picks, missing = pick_fefo([s for s, _ in candidates], qty, today)
    if missing:
        raise InsufficientStock(
            f"物资 {item.code} 可用库存不足：需要 {qty}，可用 {qty - missing}",
            field=f"{field}.quantity",
        )
    portions = []
    for stock, take in picks:
        stock_owner = session.get(Owner, stock.owner_id)
        assert stock_owner is not None
        _require_authority(depot, stock_owner, authority_order, f"{field}.owner")
        portions.append(Portion(item, lots[stock.lot_id], stock_owner, take))
    return portions


# -- receive -------------------------------------------------------------------------------


def _incoming_lot(
    session: Session,
    item: Item,
    line: Mapping[str, Any],
    field: str,
    origin: str,
    status: str,
    received_on: date,
) -> Lot:
    number = parse.text(line.get("lot"), f"{field}.lot", max_length=64, required=True)
    produced = parse.optional_date(line.get("production_date"), f"{field}.production_date")
    expires = parse.optional_date(line.get("expiry_date"), f"{field}.expiry_date")
    if expires is None and produced is not None and item.shelf_life_days:
        expires = produced + timedelta(days=item.shelf_life_days)
    if item.shelf_life_days and expires is None:
        raise InvalidInput("有保质期的物资须填写生产日期或有效期", field=f"{field}.expiry_date")
    if produced and expires and expires < produced:
        raise InvalidInput("有效期不能早于生产日期", field=f"{field}.expiry_date")
    if expires and expires < received_on:
        raise InvalidInput("不能入库已过期的批次", field=f"{field}.expiry_date")
    lot = session.scalar(select(Lot).where(Lot.item_id == item.id, Lot.number == number))
    if lot is None:
        lot = Lot(
            item_id=item.id,
            number=number,
            production_date=produced,
            expiry_date=expires,
            origin=origin,
            status=status,
        )
        session.add(lot)
        session.flush()
    elif (produced and produced != lot.production_date) or (expires and expires != lot.expiry_date):
        raise InvalidInput(f"批次 {number} 已存在且日期不一致", field=f"{field}.lot")
    return lot


def receive(
    uow: UnitOfWork,
    *,
    depot: str,
    lines: Sequence[Mapping[str, Any]],
    partner: str = "",
    origin: str = LotOrigin.PURCHASE,
    authority_order: str = "",
    reason: str = "",
    source_ref: str = "",
    quarantine: bool = False,
    at: datetime | None = None,
) -> StockDocument:
    """Goods arrive from a supplier, a donor or a higher level; lots are created."""
    session = uow.session
    target = depot_by_code(session, depot)
    require_depot(uow.actor, target.id)
    if origin not in LotOrigin.ALL:
        raise InvalidInput(f"来源须为 {'/'.join(LotOrigin.ALL)}", field="origin")
    when = parse.moment(at)
    rows = parse.line_list(lines)
    partner = parse.text(partner, "partner", max_length=128)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    location = depot_stock_location(session, target)
    status = LotStatus.QUARANTINED if parse.flag(quarantine, "quarantine") else LotStatus.AVAILABLE
    portions = []
    for index, line in enumerate(rows):
        field = f"lines[{index}]"
        item = item_by_code(session, line.get("item"), f"{field}.item")
        qty = parse.quantity(line.get("quantity"), f"{field}.quantity")
        if item.tracking == Tracking.SERIAL and qty != 1:
            raise InvalidInput("按序列号管理的物资每行数量须为 1", field=f"{field}.quantity")
        owner = (
            owner_by_code(session, line["owner"], f"{field}.owner")
            if line.get("owner")
            else default_owner(session, target)
        )
        lot = _incoming_lot(session, item, line, field, origin, status, to_local(when).date())
        portions.append(Portion(item, lot, owner, qty))
    document = new_document(
        uow,
        DocKind.RECEIPT,
        when,
        depot_id=target.id,
        partner=partner,
        origin=origin,
        authority_order=authority_order,
        reason=parse.text(reason, "reason", max_length=2000),
        source_ref=parse.text(source_ref, "source_ref", max_length=64),
    )
    supplier = virtual_location(session, LocationKind.SUPPLIER)
    for index, portion in enumerate(portions):
        post_move(uow, document, portion, supplier, location, when, field=f"lines[{index}]")
    return _finish(uow, document, when)


# -- transfer between depots ---------------------------------------------------------------


def transfer(
    uow: UnitOfWork,
    *,
    from_depot: str,
    to_depot: str,
    lines: Sequence[Mapping[str, Any]],
    authority_order: str = "",
    reason: str = "",
    at: datetime | None = None,
) -> StockDocument:
    """Ship stock to another depot: it sits in transit until the other depot receives it."""
    session = uow.session
    source_depot = depot_by_code(session, from_depot, "from_depot")
    dest_depot = depot_by_code(session, to_depot, "to_depot")
    require_depot(uow.actor, source_depot.id)
    if source_depot.id == dest_depot.id:
        raise InvalidInput("调出仓库与调入仓库不能相同", field="to_depot")
    when = parse.moment(at)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    source = depot_stock_location(session, source_depot)
    portions = _resolve_outgoing(
        uow, source_depot, source, lines, authority_order, on_date=to_local(when).date()
    )
    document = new_document(
        uow,
        DocKind.TRANSFER,
        when,
        state=DocState.IN_TRANSIT,
        depot_id=source_depot.id,
        dest_depot_id=dest_depot.id,
        authority_order=authority_order,
        reason=parse.text(reason, "reason", max_length=2000),
    )
    transit = virtual_location(session, LocationKind.TRANSIT)
    for index, (portion, field) in enumerate(portions):
        post_move(uow, document, portion, source, transit, when, field=field or f"lines[{index}]")
    uow.session.flush()
    return document


def complete_transfer(uow: UnitOfWork, number: str, *, at: datetime | None = None) -> StockDocument:
    """The receiving depot books in what is in transit for this transfer."""
    session = uow.session
    document = document_by_number(session, number)
    if document.kind != DocKind.TRANSFER or document.state != DocState.IN_TRANSIT:
        raise Conflict("只有在途的调拨单可以确认入库", field="document")
    assert document.dest_depot_id is not None
    require_depot(uow.actor, document.dest_depot_id)
    when = parse.moment(at)
    dest_depot = session.get(Depot, document.dest_depot_id)
    assert dest_depot is not None
    destination = depot_stock_location(session, dest_depot)
    transit = virtual_location(session, LocationKind.TRANSIT)
    for move in _done_moves(session, document):
        if move.to_location_id == transit.id:
            post_move(uow, document, _portion_of(session, move), transit, destination, when)
    return _finish(uow, document, when)


# -- issue to a county ---------------------------------------------------------------------


def issue(
    uow: UnitOfWork,
    *,
    depot: str,
    county: str,
    lines: Sequence[Mapping[str, Any]],
    authority_order: str = "",
    reason: str = "",
    source_ref: str = "",
    at: datetime | None = None,
) -> StockDocument:
    """Goods leave a depot for a county (调拨到县市)."""
    session = uow.session
    source_depot = depot_by_code(session, depot)
    require_depot(uow.actor, source_depot.id)
    target = county_by_code(session, county)
    when = parse.moment(at)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    source = depot_stock_location(session, source_depot)
    portions = _resolve_outgoing(
        uow, source_depot, source, lines, authority_order, on_date=to_local(when).date()
    )
    document = new_document(
        uow,
        DocKind.ISSUE,
        when,
        depot_id=source_depot.id,
        county_id=target.id,
        authority_order=authority_order,
        reason=parse.text(reason, "reason", max_length=2000),
        source_ref=parse.text(source_ref, "source_ref", max_length=64),
    )
    destination = county_location(session, target)
    for portion, field in portions:
        post_move(uow, document, portion, source, destination, when, field=field)
    return _finish(uow, document, when)


def _resolve_outgoing(
    uow: UnitOfWork,
    depot: Depot,
    location: Location,
    lines: Sequence[Mapping[str, Any]],
    authority_order: str,
    *,
    any_status: bool = False,
    on_date: date | None = None,
) -> list[tuple[Portion, str]]:
    resolved = []
    for index, line in enumerate(parse.line_list(lines)):
        field = f"lines[{index}]"
        for portion in _outgoing_portions(
            uow,
            depot,
            location,
            line,
            field,
            authority_order,
            any_status=any_status,
            on_date=on_date,
        ):
            resolved.append((portion, f"{field}.quantity"))
    return resolved


# -- write-off and stock count (two people: one enters, another approves) -------------------


def propose_scrap(
    uow: UnitOfWork,
    *,
    depot: str,
    lines: Sequence[Mapping[str, Any]],
    reason: str,
    authority_order: str = "",
    at: datetime | None = None,
) -> StockDocument:
    """A write-off is entered as a draft; another person approves it (see approve)."""
    session = uow.session
    source_depot = depot_by_code(session, depot)
    require_depot(uow.actor, source_depot.id)
    reason = parse.text(reason, "reason", max_length=2000, required=True)
    when = parse.moment(at)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    source = depot_stock_location(session, source_depot)
    portions = _resolve_outgoing(uow, source_depot, source, lines, authority_order, any_status=True)
    for portion, field in portions:
        key = QuantKey(source.id, portion.item.id, portion.lot.id, portion.owner.id)
        free = quants.free_quantity(session, key)
        if free < portion.quantity:
            raise InsufficientStock(
                f"可核销库存不足：需要 {portion.quantity}，可用 {free}", field=field
            )
    document = new_document(
        uow,
        DocKind.SCRAP,
        when,
        depot_id=source_depot.id,
        authority_order=authority_order,
        reason=reason,
    )
    loss = virtual_location(session, LocationKind.LOSS)
    for portion, _field in portions:
        session.add(_draft_move(uow, document, portion, source, loss))
    session.flush()
    return document


def propose_count(
    uow: UnitOfWork,
    *,
    depot: str,
    lines: Sequence[Mapping[str, Any]],
    reason: str = "",
    at: datetime | None = None,
) -> StockDocument:
    """Record what was counted beside what the books say; approval books the difference."""
    session = uow.session
    counted_depot = depot_by_code(session, depot)
    require_depot(uow.actor, counted_depot.id)
    when = parse.moment(at)
    location = depot_stock_location(session, counted_depot)
    counted_lines = []
    for index, line in enumerate(parse.line_list(lines)):
        field = f"lines[{index}]"
        item = item_by_code(session, line.get("item"), f"{field}.item")
        lot = lot_by_number(session, item, line.get("lot"), f"{field}.lot")
        owner = (
            owner_by_code(session, line["owner"], f"{field}.owner")
            if line.get("owner")
            else default_owner(session, counted_depot)
        )
        counted = parse.quantity(line.get("counted"), f"{field}.counted", allow_zero=True)
        system = quants.on_hand(session, QuantKey(location.id, item.id, lot.id, owner.id))
        counted_lines.append(
            CountLine(
                location_id=location.id,
                item_id=item.id,
                lot_id=lot.id,
                owner_id=owner.id,
                system_quantity=system,
                counted_quantity=counted,
            )
        )
    document = new_document(
        uow,
        DocKind.COUNT,
        when,
        depot_id=counted_depot.id,
        reason=parse.text(reason, "reason", max_length=2000),
    )
    for counted_line in counted_lines:
        counted_line.document_id = document.id
        session.add(counted_line)
    session.flush()
    return document


def approve(uow: UnitOfWork, number: str, *, at: datetime | None = None) -> StockDocument:
    """Approve a draft write-off or count: a keeper of that depot other than its author."""
    session = uow.session
    document = document_by_number(session, number)
    if document.state != DocState.DRAFT or document.kind not in (DocKind.SCRAP, DocKind.COUNT):
        raise Conflict("只有草稿状态的报废单或盘点单需要审批", field="document")
    assert document.depot_id is not None
    require_depot(uow.actor, document.depot_id)
    require_other_person(uow.actor, document.created_by_id, what="报废/盘点单")
    when = parse.moment(at)
    if document.kind == DocKind.SCRAP:
        _validate_draft_moves(uow, document, when)
    else:
        _book_count(uow, document, when)
    return _finish(uow, document, when)


def cancel(uow: UnitOfWork, number: str, reason: str) -> StockDocument:
    session = uow.session
    document = document_by_number(session, number)
    if document.state != DocState.DRAFT:
        raise Conflict("只有草稿单据可以取消", field="document")
    assert document.depot_id is not None
    require_depot(uow.actor, document.depot_id)
    document.reason = (
        document.reason + "；取消：" + parse.text(reason, "reason", max_length=500, required=True)
    ).lstrip("；")
    for move in session.scalars(select(Move).where(Move.document_id == document.id)):
        move.state = MoveState.CANCELLED
    document.state = DocState.CANCELLED
    session.flush()
    return document


def _draft_move(
    uow: UnitOfWork,
    document: StockDocument,
    portion: Portion,
    source: Location,
    destination: Location,
) -> Move:
    return Move(
        document_id=document.id,
        item_id=portion.item.id,
        lot_id=portion.lot.id,
        owner_id=portion.owner.id,
        quantity=portion.quantity,
        from_location_id=source.id,
        to_location_id=destination.id,
        state=MoveState.DRAFT,
        user_id=uow.actor.user_id,
    )


def _validate_draft_moves(uow: UnitOfWork, document: StockDocument, at: datetime) -> None:
    session = uow.session
    for index, move in enumerate(
        session.scalars(
            select(Move).where(Move.document_id == document.id, Move.state == MoveState.DRAFT)
        ).all()
    ):
        key = QuantKey(move.from_location_id, move.item_id, move.lot_id, move.owner_id)
        quants.remove(session, key, move.quantity, field=f"lines[{index}].quantity")
        move.state = MoveState.DONE
        move.done_at = at


def _book_count(uow: UnitOfWork, document: StockDocument, at: datetime) -> None:
    session = uow.session
    adjustment = virtual_location(session, LocationKind.ADJUSTMENT)
    for index, line in enumerate(
        session.scalars(select(CountLine).where(CountLine.document_id == document.id)).all()
    ):
        key = QuantKey(line.location_id, line.item_id, line.lot_id, line.owner_id)
        if quants.on_hand(session, key) != line.system_quantity:
            raise Conflict("盘点录入后账面库存已变动，请重新盘点", field=f"lines[{index}].counted")
        difference = line.counted_quantity - line.system_quantity
        if difference == 0:
            continue
        portion = _portion_from_ids(
            session, line.item_id, line.lot_id, line.owner_id, abs(difference)
        )
        location = session.get(Location, line.location_id)
        assert location is not None
        source, destination = (adjustment, location) if difference > 0 else (location, adjustment)
        post_move(uow, document, portion, source, destination, at, field=f"lines[{index}].counted")


# -- rotation ------------------------------------------------------------------------------


def rotate(
    uow: UnitOfWork,
    *,
    depot: str,
    out_lines: Sequence[Mapping[str, Any]],
    in_lines: Sequence[Mapping[str, Any]],
    partner: str = "",
    reason: str = "",
    authority_order: str = "",
    at: datetime | None = None,
) -> StockDocument:
    """轮换: lots nearing expiry go out and fresh lots come in, as one document.

    Old lots may be near or past expiry: that is the point of rotating them.
    """
    session = uow.session
    target = depot_by_code(session, depot)
    require_depot(uow.actor, target.id)
    when = parse.moment(at)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    location = depot_stock_location(session, target)
    outgoing = _resolve_outgoing(uow, target, location, out_lines, authority_order, any_status=True)
    incoming = []
    for index, line in enumerate(parse.line_list(in_lines, "in_lines")):
        field = f"in_lines[{index}]"
        item = item_by_code(session, line.get("item"), f"{field}.item")
        qty = parse.quantity(line.get("quantity"), f"{field}.quantity")
        owner = (
            owner_by_code(session, line["owner"], f"{field}.owner")
            if line.get("owner")
            else default_owner(session, target)
        )
        lot = _incoming_lot(
            session,
            item,
            line,
            field,
            LotOrigin.PURCHASE,
            LotStatus.AVAILABLE,
            to_local(when).date(),
        )
        incoming.append(Portion(item, lot, owner, qty))
    document = new_document(
        uow,
        DocKind.ROTATION,
        when,
        depot_id=target.id,
        partner=parse.text(partner, "partner", max_length=128),
        authority_order=authority_order,
        reason=parse.text(reason, "reason", max_length=2000),
    )
    supplier = virtual_location(session, LocationKind.SUPPLIER)
    for portion, field in outgoing:
        post_move(uow, document, portion, location, supplier, when, field=field)
    for index, portion in enumerate(incoming):
        post_move(
            uow, document, portion, supplier, location, when, field=f"in_lines[{index}].quantity"
        )
    return _finish(uow, document, when)


# -- reversal ------------------------------------------------------------------------------


def reverse(
    uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None
) -> StockDocument:
    """Correct a mistake: a new document whose moves undo the original's, never an edit."""
    session = uow.session
    original = document_by_number(session, number)
    reason = parse.text(reason, "reason", max_length=2000, required=True)
    if original.kind in (DocKind.REVERSAL, DocKind.DISPATCH):
        raise Conflict("冲销单和应急调拨发运单不能在此冲销", field="document")
    if original.state not in (DocState.DONE, DocState.IN_TRANSIT):
        raise Conflict("只有已完成或在途的单据可以冲销", field="document")
    already = session.scalar(
        select(StockDocument.id).where(StockDocument.reverses_id == original.id)
    )
    if already is not None:
        raise Conflict("该单据已被冲销", field="document")
    assert original.depot_id is not None
    require_depot(uow.actor, original.depot_id)
    when = parse.moment(at)
    document = new_document(
        uow,
        DocKind.REVERSAL,
        when,
        depot_id=original.depot_id,
        dest_depot_id=original.dest_depot_id,
        county_id=original.county_id,
        authority_order=original.authority_order,
        reason=reason,
        reverses_id=original.id,
    )
    for index, move in enumerate(_done_moves(session, original)):
        source = session.get(Location, move.to_location_id)
        destination = session.get(Location, move.from_location_id)
        assert source is not None and destination is not None
        post_move(
            uow,
            document,
            _portion_of(session, move),
            source,
            destination,
            when,
            field=f"lines[{index}].quantity",
        )
    if original.state == DocState.IN_TRANSIT:
        original.state = DocState.CANCELLED
    return _finish(uow, document, when)


# -- lots ----------------------------------------------------------------------------------


def set_lot_status(uow: UnitOfWork, *, item: str, lot: str, status: str, reason: str) -> Lot:
    """Release from quarantine, mark damaged or expired. A keeper of a depot holding it."""
    session = uow.session
    if status not in LotStatus.ALL:
        raise InvalidInput(f"批次状态须为 {'/'.join(LotStatus.ALL)}", field="status")
    reason = parse.text(reason, "reason", max_length=2000, required=True)
    the_item = item_by_code(session, item)
    the_lot = lot_by_number(session, the_item, lot, "lot")
    if not uow.actor.is_admin:
        require_role(uow.actor, Role.KEEPER)
        holders = set(
            session.scalars(
                select(Location.depot_id)
                .join(Quant, Quant.location_id == Location.id)
                .where(Quant.lot_id == the_lot.id, Quant.on_hand > 0)
            )
        )
        if not holders & set(uow.actor.depot_ids):
            require_depot(uow.actor, -1)
    if status != LotStatus.AVAILABLE:
        reserved = session.scalar(
            select(Quant.id).where(Quant.lot_id == the_lot.id, Quant.reserved > 0).limit(1)
        )
        if reserved is not None:
            raise Conflict("该批次有已预留的库存，须先释放预留", field="status")
    the_lot.status = status
    uow.reason = reason
    session.flush()
    return the_lot


# -- helpers -------------------------------------------------------------------------------


def _done_moves(session: Session, document: StockDocument) -> list[Move]:
    return list(
        session.scalars(
            select(Move)
            .where(Move.document_id == document.id, Move.state == MoveState.DONE)
            .order_by(Move.id)
        )
    )


def _portion_from_ids(
    session: Session, item_id: int, lot_id: int, owner_id: int, quantity: int
) -> Portion:
    item, lot, owner = (
        session.get(Item, item_id),
        session.get(Lot, lot_id),
        session.get(Owner, owner_id),
    )
    assert item is not None and lot is not None and owner is not None
    return Portion(item, lot, owner, quantity)


def _portion_of(session: Session, move: Move) -> Portion:
    return _portion_from_ids(session, move.item_id, move.lot_id, move.owner_id, move.quantity)


def document_date(document: StockDocument) -> date:
    return to_local(document.created_at).date()
