"""Stock operations: receive, transfer, issue, write off, count, rotate, reverse, reject.

The only code that writes stock documents, moves and quants. Each function runs inside the
caller's unit of work, checks role, scope and state first, and refuses bad input before it
writes anything. The rules every document obeys are stated once:

- ownership (``stock.ownership``): stock of a reserve other than the depot's own enters or
  leaves only with that level's order; a line without ``owner`` means the depot's own
  reserve, and is refused naming the owners when the depot holds the lot under others;
- status (``stock.lot_status``): only available, unexpired stock is reserved, transferred,
  issued or dispatched; write-offs and rotations may take any;
- four eyes (``auth.policy.require_other_person``): write-offs, counts and reversals are
  drafts approved (or rejected) by a second person, and a draft holds its stock until then
  (``stock.holds``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.policy import require_depot, require_other_person, require_role
from relief_inventory.errors import (
    Conflict,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from relief_inventory.stock import holds, lot_status, ownership, quants
from relief_inventory.stock import lines as parse
from relief_inventory.stock.catalog import default_owner, item_by_code, owner_by_code
from relief_inventory.stock.models import (
    MAX_QUANTITY,
    CountLine,
    DocKind,
    DocState,
    HoldState,
    Item,
    Lot,
    LotOrigin,
    LotStatus,
    Move,
    MoveState,
    Owner,
    Quant,
    StockDocument,
    StockHold,
    Tracking,
)
from relief_inventory.stock.numbering import next_number
from relief_inventory.stock.quants import QuantKey
from relief_inventory.stock.removal import LotStock, pick_fefo
from relief_inventory.timeutil import local_today, to_local
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import Depot, Location, LocationKind
from relief_inventory.warehouse.services import (
    county_by_code,
    county_location,
    depot_by_code,
    depot_stock_location,
    virtual_location,
)

# Drafts a second person approves, and what the segregation message calls them.
APPROVABLE = {DocKind.SCRAP: "报废单", DocKind.COUNT: "盘点单", DocKind.REVERSAL: "冲销单"}


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


def _book(
    uow: UnitOfWork,
    document: StockDocument,
    key: QuantKey,
    quantity: int,
    source: Location,
    destination: Location,
    *,
    reserved_quant_id: int | None = None,
    field: str = "quantity",
) -> None:
    """Change both balances of one move, after the ownership rule (the backstop every
    document passes: no stock of another reserve in or out of a depot without an order)."""
    if source.id == destination.id:
        raise InvalidInput("调出与调入库位不能相同", field=field)
    session = uow.session
    owner = session.get(Owner, key.owner_id)
    assert owner is not None
    for location in (source, destination):
        if location.kind == LocationKind.INTERNAL and location.depot_id is not None:
            depot = session.get(Depot, location.depot_id)
            assert depot is not None
            require_authority(depot, owner, document.authority_order, "authority_order")
    if source.kind in LocationKind.BALANCED:
        if reserved_quant_id is not None:
            quants.consume_reserved(session, reserved_quant_id, quantity)
        else:
            quants.remove(session, key, quantity, field=field)
    if destination.kind in LocationKind.BALANCED:
        quants.add(
            session, QuantKey(destination.id, key.item_id, key.lot_id, key.owner_id), quantity
        )


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
    key = QuantKey(source.id, portion.item.id, portion.lot.id, portion.owner.id)
    _book(
        uow,
        document,
        key,
        portion.quantity,
        source,
        destination,
        reserved_quant_id=reserved_quant_id,
        field=field,
    )
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


def document_by_number(session: Session, number: str, *, lock: bool = False) -> StockDocument:
    """``lock`` takes the document's row lock (PostgreSQL) so that two decisions on one
    document queue up and the second sees the first's result."""
    query = select(StockDocument).where(StockDocument.number == number)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    document = session.scalar(query)
    if document is None:
        raise NotFound(f"单据不存在：{number}", field="document")
    return document


def _require_keeper_of(actor: Actor, document: StockDocument) -> None:
    """A keeper of a depot the document moves stock in or out of (or an admin)."""
    depots = [d for d in (document.depot_id, document.dest_depot_id) if d is not None]
    refusal: PermissionDenied | None = None
    for depot_id in depots:
        try:
            require_depot(actor, depot_id)
            return
        except PermissionDenied as error:
            refusal = error
    assert refusal is not None
    raise refusal


# -- ownership -----------------------------------------------------------------------------


def _owner_label(owner: Owner) -> str:
    return f"{owner.name}（{owner.code}）"


def require_authority(depot: Depot, owner: Owner, authority_order: str, field: str) -> None:
    """The one ownership rule (``stock.ownership.may_move``), refused naming the owner."""
    if not ownership.may_move(depot, owner, authority_order):
        raise InvalidInput(
            f"该批物资属{_owner_label(owner)}，不是{depot.name}的本级储备（代储），"
            "出入库须填写其调令文号（authority_order）",
            field=field,
        )


def _holders(session: Session, location: Location, item: Item, lot: Lot) -> list[Owner]:
    """The owners whose stock of this lot is on hand at ``location``."""
    return list(
        session.scalars(
            select(Owner)
            .join(Quant, Quant.owner_id == Owner.id)
            .where(
                Quant.location_id == location.id,
                Quant.item_id == item.id,
                Quant.lot_id == lot.id,
                Quant.on_hand > 0,
            )
            .order_by(Owner.code)
        )
    )


def line_owner(
    session: Session,
    depot: Depot,
    held: Callable[[], Sequence[Owner]],
    lot: Lot,
    code: object,
    field: str,
) -> Owner:
    """A line's owner: as named; without one, the depot's own reserve when that is what the
    depot holds of the lot (``held()``: the owners holding it there, asked only then).
    Refused naming the owners when the lot is held under another owner or several."""
    if code:
        return owner_by_code(session, code, f"{field}.owner")
    own = default_owner(session, depot)
    held = held()  # type: ignore[assignment]
    others = [o for o in held if o.id != own.id]
    if not others:
        return own
    if len(held) == 1:
        message = f"批次 {lot.number} 只有{_owner_label(others[0])}的库存，不是本库本级储备"
    else:
        names = "、".join(_owner_label(o) for o in held)
        message = f"批次 {lot.number} 分属多个储备：{names}"
    raise InvalidInput(f"{message}，须指明储备权属（owner）", field=f"{field}.owner")


# -- rules shared by outgoing operations ---------------------------------------------------


def lot_by_number(session: Session, item: Item, number: object, field: str) -> Lot:
    lot = session.scalar(
        select(Lot)
        .where(Lot.item_id == item.id, Lot.number == str(number))
        .execution_options(autoflush=False)  # lots are flushed as soon as they are added
    )
    if lot is None:
        raise NotFound(f"物资 {item.code} 没有批次 {number}", field=field)
    return lot


def free_stock(
    session: Session, depot: Depot, location: Location, item: Item, owner: Owner, on_date: date
) -> list[tuple[LotStock, Lot]]:
    """Free stock of one owner that may leave on ``on_date`` (available, unexpired)."""
    query = lot_status.join_depot_status(
        select(Quant, Lot).join(Lot, Lot.id == Quant.lot_id), depot.id
    ).where(
        Quant.location_id == location.id,
        Quant.item_id == item.id,
        Quant.owner_id == owner.id,
        Quant.on_hand > Quant.reserved,
        lot_status.usable_sql(on_date),
    )
    return [
        (
            LotStock(q.id, lot.id, lot.number, q.owner_id, lot.expiry_date, q.on_hand - q.reserved),
            lot,
        )
        for q, lot in session.execute(query).all()
    ]


def _require_usable(session: Session, depot: Depot, lot: Lot, on_date: date, field: str) -> None:
    status = lot_status.status_in(session, lot, depot.id, on_date)  # type: ignore[arg-type]
    if status == LotStatus.EXPIRED and lot.expiry_date and lot.expiry_date < on_date:
        raise InvalidInput(
            f"批次 {lot.number} 已于 {lot.expiry_date} 过期，只能报废核销或轮换", field=field
        )
    if status != LotStatus.AVAILABLE:
        raise InvalidInput(
            f"批次 {lot.number} 在本库状态为{LotStatus.LABELS.get(status, status)}，"
            "只能报废核销或轮换",
            field=field,
        )


def _shortage_hint(
    session: Session, depot: Depot, location: Location, item: Item, own: Owner, on_date: date
) -> str:
    """Where an owner-less line ran short of the own reserve: whose free stock is left."""
    rows = session.execute(
        lot_status.join_depot_status(
            select(Owner, Quant.on_hand - Quant.reserved)
            .select_from(Quant)
            .join(Lot, Lot.id == Quant.lot_id)
            .join(Owner, Owner.id == Quant.owner_id),
            depot.id,
        ).where(
            Quant.location_id == location.id,
            Quant.item_id == item.id,
            Quant.owner_id != own.id,
            Quant.on_hand > Quant.reserved,
            lot_status.usable_sql(on_date),
        )
    ).all()
    free: dict[str, int] = defaultdict(int)
    for owner, quantity in rows:
        free[_owner_label(owner)] += int(quantity)
    if not free:
        return ""
    others = "、".join(f"{name} {qty}" for name, qty in sorted(free.items()))
    return f"；另有{others}，动用须指明 owner 并填写调令文号"


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
    """Resolve an outgoing line; without a lot number, lots of the line's owner (the
    depot's own reserve unless named) are taken first-expiry-first.

    Expiry is judged on ``on_date``, the document's business day (default today): goods
    booked out on an earlier date were usable if their lot had not expired by then.
    """
    session = uow.session
    item = item_by_code(session, line.get("item"), f"{field}.item")
    qty = parse.quantity(line.get("quantity"), f"{field}.quantity")
    today = on_date or local_today()
    if line.get("lot"):
        lot = lot_by_number(session, item, line["lot"], f"{field}.lot")
        owner = line_owner(
            session,
            depot,
            lambda: _holders(session, location, item, lot),
            lot,
            line.get("owner"),
            field,
        )
        if not any_status:
            _require_usable(session, depot, lot, today, f"{field}.lot")
        require_authority(depot, owner, authority_order, f"{field}.owner")
        return [Portion(item, lot, owner, qty)]
    if any_status:
        raise InvalidInput("报废和轮换须指定批次", field=f"{field}.lot")
    owner = (
        owner_by_code(session, line["owner"], f"{field}.owner")
        if line.get("owner")
        else default_owner(session, depot)
    )
    require_authority(depot, owner, authority_order, f"{field}.owner")
    candidates = free_stock(session, depot, location, item, owner, today)
    lots = {stock.lot_id: lot for stock, lot in candidates}
    picks, missing = pick_fefo([s for s, _ in candidates], qty, today)
    if missing:
        hint = (
            ""
            if line.get("owner")
            else _shortage_hint(session, depot, location, item, owner, today)
        )
        raise InsufficientStock(
            f"物资 {item.code}（{_owner_label(owner)}）可用库存不足：需要 {qty}，"
            f"可用 {qty - missing}{hint}",
            field=f"{field}.quantity",
        )
    return [Portion(item, lots[stock.lot_id], owner, take) for stock, take in picks]


def _resolve_outgoing(
    uow: UnitOfWork,
    depot: Depot,
    location: Location,
    lines: Sequence[Mapping[str, Any]],
    authority_order: str,
    *,
    any_status: bool = False,
    on_date: date | None = None,
    name: str = "lines",
) -> list[tuple[Portion, str]]:
    resolved = []
    for index, line in enumerate(parse.line_list(lines, name)):
        field = f"{name}[{index}]"
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


def _key(location: Location, portion: Portion) -> QuantKey:
    return QuantKey(location.id, portion.item.id, portion.lot.id, portion.owner.id)  # type: ignore[arg-type]


# -- receive -------------------------------------------------------------------------------


def _incoming_lot(
    session: Session,
    item: Item,
    line: Mapping[str, Any],
    field: str,
    origin: str,
    received_on: date,
) -> Lot:
    """The lot a line brings in: created from its number and dates, or matched."""
    number = parse.text(line.get("lot"), f"{field}.lot", max_length=64, required=True)
    produced = parse.optional_date(line.get("production_date"), f"{field}.production_date")
    expires = parse.optional_date(line.get("expiry_date"), f"{field}.expiry_date")
    if produced and produced > received_on:
        raise InvalidInput("生产日期不能晚于入库日期", field=f"{field}.production_date")
    if expires and not item.shelf_life_days:
        raise InvalidInput(
            f"物资 {item.code} 没有保质期，不能填写有效期", field=f"{field}.expiry_date"
        )
    if expires is None and produced is not None and item.shelf_life_days:
        expires = produced + timedelta(days=item.shelf_life_days)
    if item.shelf_life_days and expires is None:
        raise InvalidInput("有保质期的物资须填写生产日期或有效期", field=f"{field}.expiry_date")
    if produced and expires and expires < produced:
        raise InvalidInput("有效期不能早于生产日期", field=f"{field}.expiry_date")
    if expires and expires < received_on:
        raise InvalidInput("不能入库已过期的批次", field=f"{field}.expiry_date")
    lot = session.scalar(  # lots are flushed as soon as they are added: no autoflush needed
        select(Lot)
        .where(Lot.item_id == item.id, Lot.number == number)
        .execution_options(autoflush=False)
    )
    if lot is None:
        lot = Lot(
            item_id=item.id,
            number=number,
            production_date=produced,
            expiry_date=expires,
            origin=origin,
            status=LotStatus.AVAILABLE,
        )
        session.add(lot)
        session.flush()
    elif (produced and produced != lot.production_date) or (expires and expires != lot.expiry_date):
        raise InvalidInput(f"批次 {number} 已存在且日期不一致", field=f"{field}.lot")
    return lot


def _incoming_owner(session: Session, depot: Depot, line: Mapping[str, Any], field: str) -> Owner:
    """New stock without ``owner`` is the depot's own reserve."""
    if line.get("owner"):
        return owner_by_code(session, line["owner"], f"{field}.owner")
    return default_owner(session, depot)


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
    """Goods arrive from a supplier, a donor or a higher level; lots are created. Stock of
    another reserve than the depot's own needs that level's order; ``quarantine`` puts the
    lots in quarantine in this depot."""
    session = uow.session
    target = depot_by_code(session, depot)
    require_depot(uow.actor, target.id)  # type: ignore[arg-type]
    if origin not in LotOrigin.ALL:
        raise InvalidInput(f"来源须为 {'/'.join(LotOrigin.ALL)}", field="origin")
    when = parse.moment(at)
    rows = parse.line_list(lines)
    partner = parse.text(partner, "partner", max_length=128)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    location = depot_stock_location(session, target)
    received_on = to_local(when).date()
    quarantine = parse.flag(quarantine, "quarantine")
    portions = []
    for index, line in enumerate(rows):
        field = f"lines[{index}]"
        item = item_by_code(session, line.get("item"), f"{field}.item")
        qty = parse.quantity(line.get("quantity"), f"{field}.quantity")
        if item.tracking == Tracking.SERIAL and qty != 1:
            raise InvalidInput("按序列号管理的物资每行数量须为 1", field=f"{field}.quantity")
        owner = _incoming_owner(session, target, line, field)
        require_authority(target, owner, authority_order, f"{field}.owner")
        lot = _incoming_lot(session, item, line, field, origin, received_on)
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
        if quarantine:
            lot_status.set_in(session, portion.lot, target.id, LotStatus.QUARANTINED)  # type: ignore[arg-type]
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
    """Ship stock to another depot: it sits in transit until the other depot books it in
    (or refuses it). The ownership rule holds at both ends."""
    session = uow.session
    source_depot = depot_by_code(session, from_depot, "from_depot")
    dest_depot = depot_by_code(session, to_depot, "to_depot")
    require_depot(uow.actor, source_depot.id)  # type: ignore[arg-type]
    if source_depot.id == dest_depot.id:
        raise InvalidInput("调出仓库与调入仓库不能相同", field="to_depot")
    when = parse.moment(at)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    source = depot_stock_location(session, source_depot)
    portions = _resolve_outgoing(
        uow, source_depot, source, lines, authority_order, on_date=to_local(when).date()
    )
    for portion, field in portions:
        require_authority(
            dest_depot, portion.owner, authority_order, field.replace(".quantity", ".owner")
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
    for portion, field in portions:
        post_move(uow, document, portion, source, transit, when, field=field)
    uow.session.flush()
    return document


def apportion(quantity: int, budget: dict[str, int]) -> list[tuple[str, int]]:
    """Share one shipped move out to the outcomes of an arrival, in the budget's order
    (received, then damaged, then short), using up the budget."""
    parts = []
    for outcome in budget:
        take = min(quantity, budget[outcome])
        if take:
            parts.append((outcome, take))
            budget[outcome] -= take
            quantity -= take
    return parts


def _arrival(
    session: Session, moves: list[Move], lines: Sequence[Mapping[str, Any]] | None
) -> dict[int, list[tuple[str, int]]]:
    """Per in-transit move, what arrived good, damaged or not at all. Lines name only what
    differs ({item, lot?, owner?, received, damaged?}); everything else arrived in full."""
    outcomes: dict[int, list[tuple[str, int]]] = {}
    for index, row in enumerate(parse.line_list(lines) if lines else []):
        field = f"lines[{index}]"
        item = item_by_code(session, row.get("item"), f"{field}.item")
        lot = lot_by_number(session, item, row["lot"], f"{field}.lot") if row.get("lot") else None
        owner = owner_by_code(session, row["owner"], f"{field}.owner") if row.get("owner") else None
        matched = [
            m
            for m in moves
            if m.item_id == item.id
            and (lot is None or m.lot_id == lot.id)
            and (owner is None or m.owner_id == owner.id)
        ]
        if not matched:
            raise InvalidInput("该物资（批次）不在本调拨单的在途明细中", field=f"{field}.item")
        if any(m.id in outcomes for m in matched):
            raise InvalidInput("与前面的行重复确认了同一批物资", field=f"{field}.item")
        received = parse.quantity(row.get("received"), f"{field}.received", allow_zero=True)
        damaged = parse.quantity(row.get("damaged", 0), f"{field}.damaged", allow_zero=True)
        shipped = sum(m.quantity for m in matched)
        if received + damaged > shipped:
            raise InvalidInput(
                f"实收与损坏合计不能超过在途数量 {shipped}", field=f"{field}.received"
            )
        budget = {"received": received, "damaged": damaged, "short": shipped - received - damaged}
        for move in sorted(matched, key=lambda m: m.id):  # type: ignore[arg-type, return-value]
            outcomes[move.id] = apportion(move.quantity, budget)  # type: ignore[index]
    for move in moves:
        outcomes.setdefault(move.id, [("received", move.quantity)])  # type: ignore[arg-type]
    return outcomes


# -- who may take each next step ----------------------------------------------------------
# One function per step: the service calls it before it changes anything, and the back
# office calls the same function to decide whether to show the step's button at all.


def check_complete(session: Session, actor: Actor, document: StockDocument) -> None:
    """Booking in a transfer: a keeper of the receiving depot, while it is in transit."""
    if document.kind != DocKind.TRANSFER or document.state != DocState.IN_TRANSIT:
        raise Conflict("只有在途的调拨单可以确认入库", field="document")
    assert document.dest_depot_id is not None
    require_depot(actor, document.dest_depot_id)
    _refuse_if_reversal_pending(session, document)


def check_approve(session: Session, actor: Actor, document: StockDocument) -> None:
    """Approving a draft write-off, count or reversal: a keeper of the depot who neither
    entered it nor (for a reversal) created or validated the original."""
    if document.state != DocState.DRAFT or document.kind not in APPROVABLE:
        raise Conflict("只有草稿状态的报废单、盘点单或冲销单需要审批", field="document")
    _require_keeper_of(actor, document)
    involved = [document.created_by_id]
    original = session.get(StockDocument, document.reverses_id) if document.reverses_id else None
    if original is not None:
        involved += [original.created_by_id, original.validated_by_id]
    require_other_person(actor, *involved, what=APPROVABLE[document.kind])


def check_cancel(actor: Actor, document: StockDocument) -> None:
    """Withdrawing a draft: its author only (anyone else rejects it)."""
    if document.state != DocState.DRAFT:
        raise Conflict("只有草稿单据可以取消", field="document")
    _require_keeper_of(actor, document)
    if document.created_by_id != actor.user_id:
        raise PermissionDenied("只有制单人可以取消本人的草稿；他人请驳回并说明理由")


def check_reject(session: Session, actor: Actor, document: StockDocument) -> None:
    """Sending back a draft (a second keeper of the depot), or refusing a transfer in
    transit (a keeper of the receiving depot); never by the document's author."""
    if document.state == DocState.DRAFT and document.kind in APPROVABLE:
        _require_keeper_of(actor, document)
        require_other_person(actor, document.created_by_id, what=APPROVABLE[document.kind])
    elif document.kind == DocKind.TRANSFER and document.state == DocState.IN_TRANSIT:
        assert document.dest_depot_id is not None and document.depot_id is not None
        require_depot(actor, document.dest_depot_id)
        require_other_person(actor, document.created_by_id, what="调拨单")
        _refuse_if_reversal_pending(session, document)
    else:
        raise Conflict("只有草稿单据或在途的调拨单可以驳回", field="document")


def check_reverse(session: Session, actor: Actor, original: StockDocument) -> None:
    """Proposing a reversal: a keeper of the document's depots, once per document."""
    if original.kind in (DocKind.REVERSAL, DocKind.DISPATCH):
        raise Conflict("冲销单和应急调拨发运单不能在此冲销", field="document")
    if original.state not in (DocState.DONE, DocState.IN_TRANSIT):
        raise Conflict("只有已完成或在途的单据可以冲销", field="document")
    live = _live_reversal(session, original)
    if live is not None:
        what = "已有待审批的冲销单" if live.state == DocState.DRAFT else "已被冲销："
        raise Conflict(f"该单据{what}{live.number}", field="document")
    _require_keeper_of(actor, original)


def complete_transfer(
    uow: UnitOfWork,
    number: str,
    *,
    lines: Sequence[Mapping[str, Any]] | None = None,
    note: str = "",
    at: datetime | None = None,
) -> StockDocument:
    """The receiving depot books in what is in transit for this transfer. What arrived
    damaged or not at all (``lines``) goes to ``VIRT-LOSS`` on the same document, with the
    note, as a dispatch receipt does."""
    session = uow.session
    document = document_by_number(session, number, lock=True)
    check_complete(session, uow.actor, document)
    when = parse.moment(at)
    note = parse.text(note, "note", max_length=2000)
    dest_depot = session.get(Depot, document.dest_depot_id)
    assert dest_depot is not None
    transit = virtual_location(session, LocationKind.TRANSIT)
    moves = [m for m in _done_moves(session, document) if m.to_location_id == transit.id]
    outcomes = _arrival(session, moves, lines)
    differs = any(outcome != "received" for parts in outcomes.values() for outcome, _ in parts)
    if differs and not note:
        raise InvalidInput("有短少或损坏时须说明原因", field="note")
    places = {
        "received": depot_stock_location(session, dest_depot),
        "damaged": virtual_location(session, LocationKind.LOSS),
        "short": virtual_location(session, LocationKind.LOSS),
    }
    for move in moves:
        for outcome, quantity in outcomes[move.id]:  # type: ignore[index]
            portion = _portion_from_ids(session, move.item_id, move.lot_id, move.owner_id, quantity)
            post_move(uow, document, portion, transit, places[outcome], when)
    if differs:
        document.reason = f"{document.reason}；到货差异（短少/损坏转报损）：{note}".lstrip("；")
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
    require_depot(uow.actor, source_depot.id)  # type: ignore[arg-type]
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
    """A write-off is entered as a draft that holds its stock; another person approves it."""
    session = uow.session
    source_depot = depot_by_code(session, depot)
    require_depot(uow.actor, source_depot.id)  # type: ignore[arg-type]
    reason = parse.text(reason, "reason", max_length=2000, required=True)
    when = parse.moment(at)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    source = depot_stock_location(session, source_depot)
    portions = _resolve_outgoing(uow, source_depot, source, lines, authority_order, any_status=True)
    document = new_document(
        uow,
        DocKind.SCRAP,
        when,
        depot_id=source_depot.id,
        authority_order=authority_order,
        reason=reason,
    )
    holds.hold(uow, document, [(_key(source, p), p.quantity, field) for p, field in portions], when)
    loss = virtual_location(session, LocationKind.LOSS)
    for portion, _field in portions:
        session.add(_draft_move(uow, document, portion, source, loss))
    session.flush()
    return document


def _count_owner(
    session: Session,
    depot: Depot,
    location: Location,
    item: Item,
    lot: Lot,
    code: object,
    field: str,
) -> Owner:
    """A count line without owner counts the lot as a whole, where one owner holds it."""
    if code:
        return owner_by_code(session, code, f"{field}.owner")
    held = _holders(session, location, item, lot)
    if len(held) == 1:
        return held[0]
    if not held:
        raise InvalidInput(
            f"本库账面没有批次 {lot.number}，盘盈须指明储备权属（owner）", field=f"{field}.owner"
        )
    names = "、".join(_owner_label(o) for o in held)
    raise InvalidInput(
        f"本库批次 {lot.number} 分属多个储备：{names}，须按储备权属分行盘点", field=f"{field}.owner"
    )


def propose_count(
    uow: UnitOfWork,
    *,
    depot: str,
    lines: Sequence[Mapping[str, Any]],
    reason: str = "",
    authority_order: str = "",
    at: datetime | None = None,
) -> StockDocument:
    """Record what was counted per (lot, owner) beside the book quantity, frozen now.

    The draft holds the counted stock's free quantity, so nothing leaves it until the count
    is decided; approval books ``counted - book`` (whatever arrived or was dispatched from
    earlier reservations meanwhile is a real move of its own and stays booked). A difference
    in another reserve's stock needs that level's order.
    """
    session = uow.session
    counted_depot = depot_by_code(session, depot)
    require_depot(uow.actor, counted_depot.id)  # type: ignore[arg-type]
    when = parse.moment(at)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    location = depot_stock_location(session, counted_depot)
    entered: list[tuple[QuantKey, int, str, Owner]] = []
    for index, line in enumerate(parse.line_list(lines)):
        field = f"lines[{index}]"
        item = item_by_code(session, line.get("item"), f"{field}.item")
        lot = lot_by_number(session, item, line.get("lot"), f"{field}.lot")
        owner = _count_owner(session, counted_depot, location, item, lot, line.get("owner"), field)
        counted = parse.quantity(line.get("counted"), f"{field}.counted", allow_zero=True)
        key = QuantKey(location.id, item.id, lot.id, owner.id)  # type: ignore[arg-type]
        if any(key == known for known, *_ in entered):
            raise InvalidInput("同一批次、同一储备权属只能盘点一行", field=f"{field}.lot")
        entered.append((key, counted, field, owner))
    balances = quants.lock_balances(session, [key for key, *_ in entered])
    for key, counted, field, owner in entered:
        book = balances.get(key, (0, 0, 0))[1]
        if counted != book:
            require_authority(counted_depot, owner, authority_order, f"{field}.owner")
    _refuse_counting_undecided(session, [(key, field) for key, _c, field, _o in entered], balances)
    document = new_document(
        uow,
        DocKind.COUNT,
        when,
        depot_id=counted_depot.id,
        authority_order=authority_order,
        reason=parse.text(reason, "reason", max_length=2000),
    )
    held = []
    for key, counted, field, _owner in entered:
        _quant, book, reserved = balances.get(key, (0, 0, 0))
        if book > reserved:
            held.append((key, book - reserved, f"{field}.counted"))
        session.add(
            CountLine(
                document_id=document.id,
                location_id=key.location_id,
                item_id=key.item_id,
                lot_id=key.lot_id,
                owner_id=key.owner_id,
                system_quantity=book,
                counted_quantity=counted,
            )
        )
    holds.hold(uow, document, held, when)
    return document


def _refuse_counting_undecided(
    session: Session,
    lines: Sequence[tuple[QuantKey, str]],
    balances: Mapping[QuantKey, tuple[int, int, int]],
) -> None:
    """Stock a draft write-off, reversal or count is still waiting on cannot be counted.

    Whichever way that draft is decided changes the book the count freezes, so its difference
    would be booked twice (a write-off, then the same pieces found missing) or against stock
    no longer there. A dispatch reservation does not stop a count: the pieces are on the
    shelf until they ship, and shipping is a move of its own.
    """
    quant_ids = {balances[key][0] for key, _field in lines if key in balances}
    holding: dict[int, StockDocument] = {}  # quant id -> a draft holding some of it
    if quant_ids:
        for quant_id, document in session.execute(
            select(StockHold.quant_id, StockDocument)
            .join(StockDocument, StockDocument.id == StockHold.document_id)
            .where(StockHold.quant_id.in_(quant_ids), StockHold.state == HoldState.HELD)
        ):
            holding.setdefault(quant_id, document)
    counting: dict[QuantKey, StockDocument] = {}  # also lots off the book, found by a count
    for line, document in session.execute(
        select(CountLine, StockDocument)
        .join(StockDocument, StockDocument.id == CountLine.document_id)
        .where(
            StockDocument.state == DocState.DRAFT,
            CountLine.location_id.in_({key.location_id for key, _field in lines}),
            CountLine.lot_id.in_({key.lot_id for key, _field in lines}),
        )
    ):
        key = QuantKey(line.location_id, line.item_id, line.lot_id, line.owner_id)
        counting.setdefault(key, document)
    for key, field in lines:
        document = counting.get(key)
        if document is None and key in balances:
            document = holding.get(balances[key][0])
        if document is not None:
            lot = session.get(Lot, key.lot_id)
            assert lot is not None
            raise Conflict(
                f"批次 {lot.number} 有待审批的{APPROVABLE[document.kind]} {document.number}，"
                "须先审批或驳回该单据再盘点",
                field=f"{field}.lot",
            )


def approve(
    uow: UnitOfWork, number: str, *, kind: str | None = None, at: datetime | None = None
) -> StockDocument:
    """Approve a draft write-off, count or reversal: a keeper of the depot who neither
    entered it nor (for a reversal) created or validated the original. ``kind`` says what
    the caller means to approve; another kind of document is not found."""
    session = uow.session
    document = document_by_number(session, number, lock=True)
    if kind is not None and document.kind != kind:
        raise NotFound(f"{DocKind.LABELS.get(kind, kind)}不存在：{number}", field="document")
    check_approve(session, uow.actor, document)
    original = session.get(StockDocument, document.reverses_id) if document.reverses_id else None
    when = parse.moment(at)
    holds.use(uow, document, when)
    if document.kind == DocKind.COUNT:
        _book_count(uow, document, when)
    else:
        _book_draft_moves(uow, document, when)
    if original is not None and original.state == DocState.IN_TRANSIT:
        original.state = DocState.CANCELLED
    return _finish(uow, document, when)


def _close_draft(uow: UnitOfWork, document: StockDocument, note: str, at: datetime) -> None:
    holds.release(uow, document, at)
    for move in uow.session.scalars(select(Move).where(Move.document_id == document.id)):
        move.state = MoveState.CANCELLED
    document.reason = f"{document.reason}；{note}".lstrip("；")
    document.state = DocState.CANCELLED
    uow.session.flush()


def cancel(
    uow: UnitOfWork, number: str, reason: str, *, at: datetime | None = None
) -> StockDocument:
    """The author withdraws their own draft (anyone else rejects it, with a reason)."""
    session = uow.session
    document = document_by_number(session, number, lock=True)
    check_cancel(uow.actor, document)
    reason = parse.text(reason, "reason", max_length=500, required=True)
    _close_draft(uow, document, f"取消：{reason}", parse.moment(at))
    return document


def reject(
    uow: UnitOfWork, number: str, reason: str, *, at: datetime | None = None
) -> StockDocument:
    """The second person sends back a draft (write-off, count, reversal), or the receiving
    depot refuses a transfer in transit: its goods go back to the sending depot on the same
    document. Never by the document's author; the reason is kept on the document."""
    session = uow.session
    document = document_by_number(session, number, lock=True)
    reason = parse.text(reason, "reason", max_length=500, required=True)
    when = parse.moment(at)
    check_reject(session, uow.actor, document)
    if document.state == DocState.DRAFT:
        _close_draft(uow, document, f"驳回：{reason}", when)
    else:
        assert document.depot_id is not None
        source_depot = session.get(Depot, document.depot_id)
        assert source_depot is not None
        back = depot_stock_location(session, source_depot)
        transit = virtual_location(session, LocationKind.TRANSIT)
        for move in _done_moves(session, document):
            if move.to_location_id == transit.id:
                post_move(uow, document, _portion_of(session, move), transit, back, when)
        document.reason = f"{document.reason}；拒收退回：{reason}".lstrip("；")
        document.state = DocState.CANCELLED
    document.rejected_by_id = uow.actor.user_id
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


def _book_draft_moves(uow: UnitOfWork, document: StockDocument, at: datetime) -> None:
    session = uow.session
    draft = session.scalars(
        select(Move)
        .where(Move.document_id == document.id, Move.state == MoveState.DRAFT)
        .order_by(Move.id)
    ).all()
    for index, move in enumerate(draft):
        source = session.get(Location, move.from_location_id)
        destination = session.get(Location, move.to_location_id)
        assert source is not None and destination is not None
        key = QuantKey(source.id, move.item_id, move.lot_id, move.owner_id)  # type: ignore[arg-type]
        _book(
            uow, document, key, move.quantity, source, destination, field=f"lines[{index}].quantity"
        )
        move.state = MoveState.DONE
        move.done_at = at


def _book_count(uow: UnitOfWork, document: StockDocument, at: datetime) -> None:
    """Book each line's difference from its frozen book quantity; none where they agree.

    A loss is taken from free stock only (reservations stay whole). Where that is short, the
    stock changed after counting (reserved pieces shipped, say) and the count no longer says
    what is missing: a conflict, to be rejected and counted again.
    """
    session = uow.session
    adjustment = virtual_location(session, LocationKind.ADJUSTMENT)
    lines = session.scalars(
        select(CountLine).where(CountLine.document_id == document.id).order_by(CountLine.id)
    ).all()
    keys = [QuantKey(ln.location_id, ln.item_id, ln.lot_id, ln.owner_id) for ln in lines]
    balances = quants.lock_balances(session, keys)
    for index, (line, key) in enumerate(zip(lines, keys, strict=True)):
        difference = line.counted_quantity - line.system_quantity
        if difference == 0:
            continue
        _quant, on_hand, reserved = balances.get(key, (0, 0, 0))
        if difference < 0 and on_hand - reserved < -difference:
            lot = session.get(Lot, line.lot_id)
            assert lot is not None
            raise Conflict(
                f"批次 {lot.number} 盘点后账面已变动：盘点时账面 {line.system_quantity}、"
                f"实盘 {line.counted_quantity}，现账面 {on_hand}"
                f"（可用 {max(on_hand - reserved, 0)}），无法登记盘亏，请驳回后重新盘点",
                field=f"lines[{index}].counted",
            )
        portion = _portion_from_ids(
            session, line.item_id, line.lot_id, line.owner_id, abs(difference)
        )
        location = session.get(Location, line.location_id)
        assert location is not None
        source, destination = (adjustment, location) if difference > 0 else (location, adjustment)
        post_move(uow, document, portion, source, destination, at, field=f"lines[{index}].counted")


# -- rotation ------------------------------------------------------------------------------


def _declared_differences(
    session: Session, rows: Sequence[Mapping[str, Any]] | None, owners: Mapping[int, set[int]]
) -> dict[tuple[int, int], tuple[int, str, str]]:
    """{(item, owner): (in minus out, reason, field)} as declared for a rotation."""
    declared: dict[tuple[int, int], tuple[int, str, str]] = {}
    for index, row in enumerate(rows or []):
        field = f"differences[{index}]"
        if not isinstance(row, Mapping):
            raise InvalidInput("差异申报格式不正确", field=field)
        item = item_by_code(session, row.get("item"), f"{field}.item")
        if row.get("owner"):
            owner_id = owner_by_code(session, row["owner"], f"{field}.owner").id
        elif len(owners.get(item.id, ())) == 1:  # type: ignore[arg-type]
            (owner_id,) = owners[item.id]  # type: ignore[index]
        else:
            raise InvalidInput("须指明储备权属（owner）", field=f"{field}.owner")
        quantity = row.get("quantity")
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or quantity == 0
            or abs(quantity) > MAX_QUANTITY
        ):
            raise InvalidInput("差额须为非零整数（换入减换出）", field=f"{field}.quantity")
        reason = parse.text(row.get("reason"), f"{field}.reason", max_length=500, required=True)
        key = (item.id, owner_id)
        if key in declared:
            raise InvalidInput("同一物资、同一储备权属只能申报一行", field=f"{field}.item")
        declared[key] = (quantity, reason, field)  # type: ignore[assignment]
    return declared  # type: ignore[return-value]


def _fresher(incoming: Lot, outgoing: Iterable[Lot], item: Item) -> bool:
    """What comes in must be fresh stock of what went out: a later expiry (or, for goods
    without a shelf life, a later production date where both are known)."""
    for old in outgoing:
        if incoming.id == old.id:
            return False
        if item.shelf_life_days:
            newer = bool(incoming.expiry_date and old.expiry_date) and (
                incoming.expiry_date > old.expiry_date  # type: ignore[operator]
            )
        else:
            newer = not (incoming.production_date and old.production_date) or (
                incoming.production_date > old.production_date  # type: ignore[operator]
            )
        if not newer:
            return False
    return True


def rotate(
    uow: UnitOfWork,
    *,
    depot: str,
    out_lines: Sequence[Mapping[str, Any]],
    in_lines: Sequence[Mapping[str, Any]],
    partner: str = "",
    reason: str = "",
    authority_order: str = "",
    differences: Sequence[Mapping[str, Any]] | None = None,
    at: datetime | None = None,
) -> StockDocument:
    """轮换: stock nearing or past expiry goes out and fresh stock of the same item and the
    same owner comes in, as one document. Quantities are equal per item and owner unless a
    difference (in minus out) is declared with its reason, as a count would.

    Old lots may be near or past expiry: that is the point of rotating them.
    """
    session = uow.session
    target = depot_by_code(session, depot)
    require_depot(uow.actor, target.id)  # type: ignore[arg-type]
    when = parse.moment(at)
    authority_order = parse.text(authority_order, "authority_order", max_length=64)
    location = depot_stock_location(session, target)
    outgoing = _resolve_outgoing(
        uow, target, location, out_lines, authority_order, any_status=True, name="out_lines"
    )
    out_totals: dict[tuple[int, int], int] = defaultdict(int)
    out_lots: dict[tuple[int, int], list[Lot]] = defaultdict(list)
    out_owners: dict[int, set[int]] = defaultdict(set)
    for portion, _field in outgoing:
        key = (portion.item.id, portion.owner.id)
        out_totals[key] += portion.quantity  # type: ignore[index]
        out_lots[key].append(portion.lot)  # type: ignore[index]
        out_owners[portion.item.id].add(portion.owner.id)  # type: ignore[index, arg-type]
    received_on = to_local(when).date()
    incoming: list[Portion] = []
    in_totals: dict[tuple[int, int], int] = defaultdict(int)
    first_in: dict[tuple[int, int], str] = {}
    for index, line in enumerate(parse.line_list(in_lines, "in_lines")):
        field = f"in_lines[{index}]"
        item = item_by_code(session, line.get("item"), f"{field}.item")
        qty = parse.quantity(line.get("quantity"), f"{field}.quantity")
        if item.tracking == Tracking.SERIAL and qty != 1:
            raise InvalidInput("按序列号管理的物资每行数量须为 1", field=f"{field}.quantity")
        owners = out_owners.get(item.id, set())  # type: ignore[arg-type]
        if not owners:
            raise InvalidInput(
                f"轮换须以同种物资换同种物资：换出物资中没有 {item.code}", field=f"{field}.item"
            )
        if line.get("owner"):
            owner = owner_by_code(session, line["owner"], f"{field}.owner")
            if owner.id not in owners:
                raise InvalidInput("换入物资须与换出物资属同一储备权属", field=f"{field}.owner")
        elif len(owners) == 1:
            owner = session.get(Owner, next(iter(owners)))  # type: ignore[assignment]
        else:
            raise InvalidInput(
                "换出物资分属多个储备，须指明储备权属（owner）", field=f"{field}.owner"
            )
        assert owner is not None
        lot = _incoming_lot(session, item, line, field, LotOrigin.PURCHASE, received_on)
        key = (item.id, owner.id)
        if not _fresher(lot, out_lots[key], item):  # type: ignore[index]
            raise InvalidInput(
                "换入批次须是新货：有效期（或生产日期）须晚于换出批次", field=f"{field}.lot"
            )
        in_totals[key] += qty  # type: ignore[index]
        first_in.setdefault(key, field)  # type: ignore[arg-type]
        incoming.append(Portion(item, lot, owner, qty))
    declared = _declared_differences(session, differences, out_owners)
    notes = _difference_notes(session, declared)
    for key, out_qty in out_totals.items():
        difference = in_totals.get(key, 0) - out_qty
        claim = declared.pop(key, None)
        if claim is None and difference:
            raise InvalidInput(
                f"换入数量 {in_totals.get(key, 0)} 与换出数量 {out_qty} 不一致；"
                "确有差异须在 differences 中申报差额与原因",
                field=f"{first_in[key]}.quantity" if key in first_in else "in_lines",
            )
        if claim is not None and claim[0] != difference:
            raise InvalidInput(
                f"申报差额 {claim[0]} 与实际差额 {difference} 不符", field=f"{claim[2]}.quantity"
            )
        if key not in in_totals:
            raise InvalidInput("每种换出物资都须有换入批次", field="in_lines")
    for _quantity, _reason, field in declared.values():
        raise InvalidInput("该物资不在换出明细中", field=f"{field}.item")
    document = new_document(
        uow,
        DocKind.ROTATION,
        when,
        depot_id=target.id,
        partner=parse.text(partner, "partner", max_length=128),
        authority_order=authority_order,
        reason=(parse.text(reason, "reason", max_length=2000) + notes).lstrip("；"),
    )
    supplier = virtual_location(session, LocationKind.SUPPLIER)
    for portion, field in outgoing:
        post_move(uow, document, portion, location, supplier, when, field=field)
    for index, portion in enumerate(incoming):
        post_move(
            uow, document, portion, supplier, location, when, field=f"in_lines[{index}].quantity"
        )
    return _finish(uow, document, when)


def _difference_notes(
    session: Session, declared: Mapping[tuple[int, int], tuple[int, str, str]]
) -> str:
    """The declared differences as the document's reason carries them."""
    if not declared:
        return ""
    items = {
        i.id: i for i in session.scalars(select(Item).where(Item.id.in_({k[0] for k in declared})))
    }
    parts = [
        f"{items[item_id].code} {quantity:+d}{items[item_id].unit}（{reason}）"
        for (item_id, _owner), (quantity, reason, _field) in declared.items()
    ]
    return "；数量差异：" + "，".join(parts)


# -- reversal ------------------------------------------------------------------------------


def _live_reversal(session: Session, document: StockDocument) -> StockDocument | None:
    """The reversal of ``document`` that is proposed (draft) or done, if any."""
    return session.scalar(
        select(StockDocument).where(
            StockDocument.reverses_id == document.id,
            StockDocument.state != DocState.CANCELLED,
        )
    )


def _refuse_if_reversal_pending(session: Session, document: StockDocument) -> None:
    pending = _live_reversal(session, document)
    if pending is not None:
        raise Conflict(f"该单据有待审批的冲销单 {pending.number}", field="document")


def reverse(
    uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None
) -> StockDocument:
    """Propose correcting a mistake: a draft reversal whose moves undo the original's,
    holding the stock it will take back. A second person approves it (``approve``): neither
    its proposer nor whoever created or validated the original. Never an edit."""
    session = uow.session
    original = document_by_number(session, number, lock=True)
    reason = parse.text(reason, "reason", max_length=2000, required=True)
    check_reverse(session, uow.actor, original)
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
    net: dict[QuantKey, int] = defaultdict(int)
    for move in reversed(_done_moves(session, original)):
        source = session.get(Location, move.to_location_id)
        destination = session.get(Location, move.from_location_id)
        assert source is not None and destination is not None
        portion = _portion_of(session, move)
        session.add(_draft_move(uow, document, portion, source, destination))
        if source.kind in LocationKind.BALANCED:
            net[_key(source, portion)] -= move.quantity
        if destination.kind in LocationKind.BALANCED:
            net[_key(destination, portion)] += move.quantity
    taken = [(key, -qty, "document") for key, qty in net.items() if qty < 0]
    holds.hold(uow, document, taken, when)
    return document


# -- lots ----------------------------------------------------------------------------------


def _lot_holders(session: Session, lot: Lot) -> set[int]:
    """The depots with stock of ``lot`` on their shelves."""
    return set(
        session.scalars(
            select(Location.depot_id)
            .join(Quant, Quant.location_id == Location.id)
            .where(
                Quant.lot_id == lot.id,
                Quant.on_hand > 0,
                Location.kind == LocationKind.INTERNAL,
            )
        )
    )


def set_lot_status(
    uow: UnitOfWork,
    *,
    item: str,
    lot: str,
    status: str,
    reason: str,
    depot: str | None = None,
) -> Lot:
    """Quarantine, mark damaged or expired, or release a lot: in the keeper's own depots
    that hold it (or the one named), never elsewhere. Reserved stock must be released
    first. Returns the lot; its statuses per depot are ``queries.lot_statuses``."""
    session = uow.session
    if status not in LotStatus.ALL:
        raise InvalidInput(f"批次状态须为 {'/'.join(LotStatus.ALL)}", field="status")
    reason = parse.text(reason, "reason", max_length=2000, required=True)
    the_item = item_by_code(session, item)
    the_lot = lot_by_number(session, the_item, lot, "lot")
    holders = _lot_holders(session, the_lot)
    if depot is not None:
        named = depot_by_code(session, depot)
        require_depot(uow.actor, named.id)  # type: ignore[arg-type]
        if named.id not in holders:
            raise Conflict(f"仓库 {named.code} 没有批次 {the_lot.number} 的库存", field="depot")
        targets = {named.id}
    else:
        require_role(uow.actor, Role.KEEPER)
        targets = holders if uow.actor.is_admin else holders & set(uow.actor.depot_ids)
        if not holders:
            raise Conflict(f"批次 {the_lot.number} 没有在库库存", field="lot")
        if not targets:
            require_depot(uow.actor, next(iter(holders)))
    if status != LotStatus.AVAILABLE:
        reserved = session.scalar(
            select(Quant.id)
            .join(Location, Location.id == Quant.location_id)
            .where(
                Quant.lot_id == the_lot.id,
                Quant.reserved > 0,
                Location.depot_id.in_(targets),
            )
            .limit(1)
        )
        if reserved is not None:
            raise Conflict(
                "该批次在本库有已预留或待审批单据占用的库存，须先发运、释放或办结", field="status"
            )
    for depot_id in sorted(targets):  # type: ignore[type-var]
        lot_status.set_in(session, the_lot, depot_id, status)  # type: ignore[arg-type]
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
