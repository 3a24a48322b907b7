"""Goods on the road: keepers dispatch their depots' picks, the county confirms receipt, and
reusable goods come back (回收).

Each depot ships its picks on its own dispatch document (``DocKind.DISPATCH``), whose moves
take the reserved stock from the shelf to ``VIRT-TRANSIT`` and whose ``authority_order`` is
the request number: the dispatcher's approval is the dispatch order for higher-level stock.
On receipt the same documents take the goods from transit to the county (``CTY-<code>``);
what was short or damaged goes to ``VIRT-LOSS`` on the same documents, with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.allocation.common import (
    lines_of,
    request_by_number,
    require_state,
    reservations_of,
    transition,
    visible_request,
)
from relief_inventory.allocation.models import (
    DispatchLine,
    DispatchRequest,
    RequestState,
    Reservation,
    ReservationState,
)
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.policy import require_county, require_depot, require_role
from relief_inventory.errors import Conflict, InvalidInput
from relief_inventory.stock import lines as parse
from relief_inventory.stock.catalog import item_by_code
from relief_inventory.stock.models import (
    DocKind,
    DocState,
    Item,
    Lot,
    LotStatus,
    Owner,
    Quant,
    StockDocument,
)
from relief_inventory.stock.services import (
    Portion,
    apportion,
    line_owner,
    lot_by_number,
    new_document,
    post_move,
)
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import County, Location, LocationKind
from relief_inventory.warehouse.services import (
    county_location,
    depot_by_code,
    depot_stock_location,
    virtual_location,
)

DAMAGED_LOT_SUFFIX = "-DMG"
Key = tuple[int, int, int]


def _portion(session: Session, item_id: int, lot_id: int, owner_id: int, quantity: int) -> Portion:
    item, lot, owner = (
        session.get(Item, item_id),
        session.get(Lot, lot_id),
        session.get(Owner, owner_id),
    )
    assert item is not None and lot is not None and owner is not None
    return Portion(item, lot, owner, quantity)


def _done(uow: UnitOfWork, document: StockDocument, at: datetime) -> None:
    document.state = DocState.DONE
    document.done_at = at
    document.validated_by_id = uow.actor.user_id


# -- dispatch ------------------------------------------------------------------------------


def dispatch(
    uow: UnitOfWork, number: str, *, depot: str | None = None, at: datetime | None = None
) -> list[StockDocument]:
    """A keeper ships the picks of their depot (or of all their depots). The request is
    'dispatched' once every pick has left."""
    session = uow.session
    require_role(uow.actor, Role.KEEPER)
    when = parse.moment(at)
    depot_id = None
    if depot is not None:
        depot_id = depot_by_code(session, depot).id
        require_depot(uow.actor, depot_id)
    request = visible_request(uow, number)
    return ship(uow, request, check_dispatch(session, uow.actor, request, depot_id), when)


def check_dispatch(
    session: Session, actor: Actor, request: DispatchRequest, depot_id: int | None = None
) -> list[Reservation]:
    """Shipping: a keeper whose depots hold picks still reserved for the request (the
    back office shows the button only then). Returns those picks."""
    require_role(actor, Role.KEEPER)
    require_state(request, RequestState.ALLOCATED, action="发运")
    mine = [
        r
        for r in reservations_of(session, request, ReservationState.RESERVED)
        if depot_id in (None, r.depot_id) and (actor.is_admin or r.depot_id in actor.depot_ids)
    ]
    if not mine:
        raise Conflict("本申请在您保管的仓库没有待发运的物资", field="depot")
    return mine


def check_receive(actor: Actor, request: DispatchRequest) -> None:
    """Signing for the goods: a requester of the county, once everything has left."""
    require_role(actor, Role.REQUESTER)
    require_county(actor, request.county_id)
    require_state(request, RequestState.DISPATCHED, action="签收")


def ship(
    uow: UnitOfWork, request: DispatchRequest, picks: list[Reservation], at: datetime
) -> list[StockDocument]:
    """Reserved stock leaves its depots: one in-transit dispatch document per depot."""
    session = uow.session
    transit = virtual_location(session, LocationKind.TRANSIT)
    lines = {line.id: line for line in lines_of(session, request)}
    documents = []
    ordered = sorted(picks, key=lambda r: (r.depot_id, r.quant_id, r.id))
    for depot_id, group in groupby(ordered, key=lambda r: r.depot_id):
        document = new_document(
            uow,
            DocKind.DISPATCH,
            at,
            state=DocState.IN_TRANSIT,
            depot_id=depot_id,
            county_id=request.county_id,
            authority_order=request.number,
            source_ref=request.number,
            reason=f"应急调拨申请 {request.number}",
        )
        for pick in group:
            quant = session.get(Quant, pick.quant_id)
            assert quant is not None
            source = session.get(Location, quant.location_id)
            assert source is not None
            portion = _portion(session, pick.item_id, pick.lot_id, pick.owner_id, pick.quantity)
            post_move(uow, document, portion, source, transit, at, reserved_quant_id=pick.quant_id)
            pick.state = ReservationState.DISPATCHED
            pick.document_id = document.id
            pick.closed_at = at
            lines[pick.line_id].dispatched += pick.quantity
        documents.append(document)
    session.flush()
    numbers = [d.number for d in documents]
    if reservations_of(session, request, ReservationState.RESERVED):
        uow.record(
            "dispatch_partly_shipped", "dispatch_request", request.id, {"documents": numbers}
        )
    else:
        transition(uow, request, RequestState.DISPATCHED, at, details={"documents": numbers})
    return documents


# -- receipt -------------------------------------------------------------------------------


def _confirmed(
    uow: UnitOfWork, lines: list[DispatchLine], rows: Sequence[Mapping[str, Any]]
) -> dict[int, tuple[int, int]]:
    """(received, damaged) per line id, one entry for every line that was shipped."""
    by_item = {line.item_id: line for line in lines if line.dispatched}
    confirmed: dict[int, tuple[int, int]] = {}
    for index, row in enumerate(parse.line_list(rows)):
        field = f"lines[{index}]"
        item = item_by_code(uow.session, row.get("item"), f"{field}.item")
        line = by_item.get(item.id)
        if line is None:
            raise InvalidInput("该物资不在本申请的发运明细中", field=f"{field}.item")
        if line.id in confirmed:
            raise InvalidInput("同一物资只能确认一行", field=f"{field}.item")
        received = parse.quantity(row.get("received"), f"{field}.received", allow_zero=True)
        damaged = parse.quantity(row.get("damaged", 0), f"{field}.damaged", allow_zero=True)
        if received + damaged > line.dispatched:
            raise InvalidInput(
                f"实收与损坏合计不能超过发运数量 {line.dispatched}", field=f"{field}.received"
            )
        confirmed[line.id] = (received, damaged)
    if len(confirmed) != len(by_item):
        raise InvalidInput("须逐行确认每一种已发运的物资", field="lines")
    return confirmed


def receive(
    uow: UnitOfWork,
    number: str,
    *,
    lines: Sequence[Mapping[str, Any]],
    note: str = "",
    at: datetime | None = None,
) -> DispatchRequest:
    """The requesting county confirms, per line, what arrived and what was damaged; the rest
    of what was shipped is short. Differences are written off from transit with the note."""
    session = uow.session
    require_role(uow.actor, Role.REQUESTER)
    when = parse.moment(at)
    note = parse.text(note, "note", max_length=2000)
    request = visible_request(uow, number)
    check_receive(uow.actor, request)
    request_lines = lines_of(session, request)
    confirmed = _confirmed(uow, request_lines, lines)
    if not note and any(
        line.dispatched != confirmed[line.id][0] for line in request_lines if line.id in confirmed
    ):
        raise InvalidInput("有短少或损坏时须说明原因", field="note")
    county = session.get(County, request.county_id)
    assert county is not None
    destinations = {
        "received": county_location(session, county),
        "damaged": virtual_location(session, LocationKind.LOSS),
        "short": virtual_location(session, LocationKind.LOSS),
    }
    transit = virtual_location(session, LocationKind.TRANSIT)
    shipped: dict[int, list[Reservation]] = defaultdict(list)
    for pick in reservations_of(session, request, ReservationState.DISPATCHED):
        shipped[pick.line_id].append(pick)
    documents: dict[int, StockDocument] = {}
    with_differences: set[int] = set()
    summary: dict[str, dict[str, int]] = {}
    for line in request_lines:
        if line.id not in confirmed:
            continue
        received, damaged = confirmed[line.id]
        short = line.dispatched - received - damaged
        budget = {"received": received, "damaged": damaged, "short": short}
        for pick in sorted(shipped[line.id], key=lambda r: r.id):
            document = session.get(StockDocument, pick.document_id)
            assert document is not None
            documents[pick.document_id] = document
            for outcome, quantity in apportion(pick.quantity, budget):
                portion = _portion(session, pick.item_id, pick.lot_id, pick.owner_id, quantity)
                post_move(uow, document, portion, transit, destinations[outcome], when)
                if outcome == "received":
                    pick.received = quantity
                else:
                    with_differences.add(document.id)
        line.received, line.damaged, line.short = received, damaged, short
        if damaged or short:
            item = session.get(Item, line.item_id)
            assert item is not None
            summary[item.code] = {"short": short, "damaged": damaged}
    for document in documents.values():
        if document.id in with_differences:
            document.reason = f"{document.reason}；到货差异（短少/损坏转报损）：{note}"
        _done(uow, document, when)
    request.receiver_id = uow.actor.user_id
    transition(
        uow, request, RequestState.RECEIVED, when, note=note, details={"differences": summary}
    )
    session.flush()
    return request


# -- return of reusable goods (回收) --------------------------------------------------------


def _returnable(session: Session, request: DispatchRequest) -> dict[Key, list[Reservation]]:
    """The shipped picks whose goods the county received and has not all returned yet, by
    (item, lot, owner)."""
    picks: dict[Key, list[Reservation]] = defaultdict(list)
    for pick in reservations_of(session, request, ReservationState.DISPATCHED):
        if pick.returned < pick.received:
            picks[(pick.item_id, pick.lot_id, pick.owner_id)].append(pick)
    return picks


def check_return(actor: Actor, request: DispatchRequest) -> None:
    """Booking reusable goods back in: a keeper (the depot is checked with the lines), once
    the county has signed for the goods."""
    require_role(actor, Role.KEEPER)
    require_state(request, RequestState.RECEIVED, RequestState.CLOSED, action="回收")


def returnable_items(session: Session, request: DispatchRequest) -> list[tuple[str, str, int]]:
    """(item code, lot number, pieces) of reusable goods the county received and has not
    returned yet: what a return may still book (each line is checked against it)."""
    left: dict[tuple[str, str], int] = defaultdict(int)
    for (item_id, lot_id, _owner), picks in _returnable(session, request).items():
        item = session.get(Item, item_id)
        lot = session.get(Lot, lot_id)
        if item is not None and lot is not None and item.reusable:
            left[(item.code, lot.number)] += sum(p.received - p.returned for p in picks)
    return [(item, lot, pieces) for (item, lot), pieces in sorted(left.items())]


def _take_back(picks: list[Reservation], quantity: int) -> None:
    for pick in sorted(picks, key=lambda r: r.id):
        take = min(quantity, pick.received - pick.returned)
        pick.returned += take
        quantity -= take


def _damaged_lot(session: Session, lot: Lot) -> Lot:
    """Damaged returns are kept apart in a lot of their own with status 'damaged', so the
    good part of the lot stays available."""
    number = f"{lot.number[: 64 - len(DAMAGED_LOT_SUFFIX)]}{DAMAGED_LOT_SUFFIX}"
    damaged = session.scalar(select(Lot).where(Lot.item_id == lot.item_id, Lot.number == number))
    if damaged is None:
        damaged = Lot(
            item_id=lot.item_id,
            number=number,
            production_date=lot.production_date,
            expiry_date=lot.expiry_date,
            origin=lot.origin,
            status=LotStatus.DAMAGED,
        )
        session.add(damaged)
        session.flush()
    elif damaged.status != LotStatus.DAMAGED:
        raise Conflict(f"批次 {number} 已不是损坏状态，不能再存放回收的损坏物资", field="lines")
    return damaged


def return_goods(
    uow: UnitOfWork,
    number: str,
    *,
    depot: str,
    lines: Sequence[Mapping[str, Any]],
    note: str = "",
    at: datetime | None = None,
) -> StockDocument:
    """Reusable goods come back after use; the keeper inspects each into available (back on
    the shelf), damaged (a damaged lot) or scrap (written off)."""
    session = uow.session
    target = depot_by_code(session, depot)
    require_depot(uow.actor, target.id)
    when = parse.moment(at)
    note = parse.text(note, "note", max_length=2000)
    request = request_by_number(session, number, lock=True)
    check_return(uow.actor, request)
    county = session.get(County, request.county_id)
    assert county is not None
    county_place = county_location(session, county)
    returnable = _returnable(session, request)
    by_item = {line.item_id: line for line in lines_of(session, request)}
    portions: list[tuple[Portion, str]] = []
    for index, row in enumerate(parse.line_list(lines)):
        field = f"lines[{index}]"
        item = item_by_code(session, row.get("item"), f"{field}.item")
        if not item.reusable:
            raise InvalidInput(
                "只有可回收物资（帐篷、折叠床、设备等）可以回收", field=f"{field}.item"
            )
        line = by_item.get(item.id)
        if line is None:
            raise InvalidInput("该物资不在本申请中", field=f"{field}.item")
        lot = lot_by_number(session, item, row.get("lot"), f"{field}.lot")

        def held(item_id: int = item.id, lot_id: int = lot.id) -> list[Owner]:  # type: ignore[assignment]
            """The owners of what the county received of this lot and may still return."""
            return [
                owner
                for key in returnable
                if key[:2] == (item_id, lot_id) and (owner := session.get(Owner, key[2]))
            ]

        owner_id = line_owner(session, target, held, lot, row.get("owner"), field).id
        counts = {
            outcome: parse.quantity(row.get(outcome, 0), f"{field}.{outcome}", allow_zero=True)
            for outcome in ("available", "damaged", "scrap")
        }
        total = sum(counts.values())
        key = (item.id, lot.id, owner_id)
        if total == 0:
            raise InvalidInput("回收数量不能为零", field=f"{field}.available")
        left = sum(pick.received - pick.returned for pick in returnable.get(key, ()))
        if total > left:
            raise InvalidInput(f"超过该批次已签收未回收的数量 {left}", field=f"{field}.available")
        _take_back(returnable[key], total)
        line.returned += total
        for outcome, quantity in counts.items():
            if quantity:
                returned_lot = _damaged_lot(session, lot) if outcome == "damaged" else lot
                portion = _portion(session, item.id, returned_lot.id, owner_id, quantity)
                portions.append((portion, outcome))
    document = new_document(
        uow,
        DocKind.RETURN,
        when,
        depot_id=target.id,
        county_id=request.county_id,
        authority_order=request.number,
        source_ref=request.number,
        reason=note or f"应急调拨申请 {request.number} 物资回收",
    )
    shelf = depot_stock_location(session, target)
    loss = virtual_location(session, LocationKind.LOSS)
    for portion, outcome in portions:
        destination = loss if outcome == "scrap" else shelf
        post_move(uow, document, portion, county_place, destination, when)
    _done(uow, document, when)
    uow.record(
        "dispatch_returned",
        "dispatch_request",
        request.id,
        {"number": request.number, "document": document.number},
        reason=note or None,
    )
    session.flush()
    return document
