"""Turning the allocator's plan into reservations on the quants, safely under concurrency.

Many dispatchers allocate at once, from several processes, against scarce stock. Each
attempt reads the free stock, plans with the pure allocator, writes the reservations and
lines, and last reserves all its picks with ``quants.reserve_many``: the quant rows are
locked in id order (PostgreSQL), then one conditional ``UPDATE … WHERE on_hand - reserved
>= :q`` must touch every one of them, so the rows stay locked only from there to the commit.
When a racing writer got there first it touches fewer: the attempt's savepoint is rolled
back (its writes, its audit entries and its row locks) and the next attempt re-reads and
re-plans. After a few lost races
every candidate row is locked before reading (``SELECT … FOR UPDATE`` in id order), so an
allocation always ends: with its reservations, or with the shortage recorded. On SQLite the
unit of work holds the database write lock, so the first attempt always wins.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from relief_inventory.allocation import allocator
from relief_inventory.allocation.common import lines_of, reservations_of, transition
from relief_inventory.allocation.models import (
    DispatchLine,
    DispatchRequest,
    RequestState,
    Reservation,
    ReservationState,
)
from relief_inventory.db import is_sqlite
from relief_inventory.errors import Conflict
from relief_inventory.readiness.queries import road_distance
from relief_inventory.stock import lot_status, quants
from relief_inventory.stock.models import Lot, Owner, OwnerLevel, Quant
from relief_inventory.stock.removal import LotStock
from relief_inventory.timeutil import to_local
from relief_inventory.transactions import retryable
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import County, Depot, DepotLevel, Location, LocationKind

# Goods reach any county of the prefecture within a day; lots must still be good then.
TRANSIT_DAYS = 1
OPTIMISTIC_ATTEMPTS = 3
ATTEMPTS = 6


class _LostRace(Exception):
    """A racing writer reserved the stock between our read and our update."""


def delivery_date(at: datetime) -> date:
    return to_local(at).date() + timedelta(days=TRANSIT_DAYS)


def read_stock(
    session: Session, request: DispatchRequest, item_ids: list[int], on_date: date, *, lock: bool
) -> tuple[list[allocator.Candidate], list[allocator.DepotSite]]:
    """Free stock of usable lots (available in that depot, unexpired by the delivery date) on
    active depots' shelves, and where those depots are.

    The query leaves out what the allocator would refuse anyway (lots expired by the delivery
    date, other counties' reserves unless allowed), only so that fewer rows travel.
    """
    query = (
        select(
            Quant.id,
            Quant.item_id,
            Quant.lot_id,
            Quant.owner_id,
            Quant.on_hand - Quant.reserved,
            Lot.number,
            Lot.expiry_date,
            Owner.level,
            Owner.county_id,
            Depot.id,
            Depot.code,
            Depot.lat,
            Depot.lon,
            Depot.level,
            Depot.parent_id,
            Depot.county_id,
        )
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Owner, Owner.id == Quant.owner_id)
        .where(
            Quant.item_id.in_(item_ids),
            Quant.on_hand > Quant.reserved,
            Location.kind == LocationKind.INTERNAL,
            Location.active.is_(True),
            Depot.active.is_(True),
            lot_status.usable_sql(on_date),
        )
        .order_by(Quant.id)
    )
    query = lot_status.join_depot_status(query, Depot.id)
    if not request.allow_other_counties:  # a prefilter of ownership.dispatch_may_use
        query = query.where(
            or_(Owner.level != OwnerLevel.COUNTY, Owner.county_id == request.county_id)
        )
    if lock:
        query = query.with_for_update(of=Quant, key_share=True)
    stock, sites = [], {}
    for row in session.execute(query):
        (quant, item, lot, owner, free, number, expiry, level, owner_county) = row[:9]
        depot, code, lat, lon, depot_level, parent, depot_county = row[9:]
        stock.append(
            allocator.Candidate(
                depot_id=depot,
                item_id=item,
                owner_county_id=owner_county if level == OwnerLevel.COUNTY else None,
                stock=LotStock(quant, lot, number, owner, expiry, int(free)),
            )
        )
        if depot not in sites:
            sites[depot] = allocator.DepotSite(
                depot,
                code,
                allocator.Point(float(lat), float(lon)),
                depot_level == DepotLevel.PREFECTURE,
                depot_county if parent is not None else None,
            )
    return stock, list(sites.values())


def _plan(
    uow: UnitOfWork,
    request: DispatchRequest,
    needs: list[allocator.Need],
    county: County,
    at: datetime,
    *,
    lock: bool,
) -> allocator.Plan:
    on_date = delivery_date(at)
    stock, sites = read_stock(
        uow.session, request, sorted({n.item_id for n in needs}), on_date, lock=lock
    )
    return allocator.allocate(
        needs,
        county_id=county.id,
        destination=allocator.Point(float(county.lat), float(county.lon)),
        sites=sites,
        candidates=stock,
        delivery_date=on_date,
        allow_other_counties=request.allow_other_counties,
        distance=road_distance(uow.session, county),
    )


def _record(
    uow: UnitOfWork,
    request: DispatchRequest,
    lines: list[DispatchLine],
    plan: allocator.Plan,
    at: datetime,
) -> None:
    """Write what the plan means: reservations, each line's allocation and shortage, the
    request's state and the log's account of it."""
    session = uow.session
    for pick in plan.picks:
        session.add(
            Reservation(
                request_id=request.id,
                line_id=pick.line_id,
                depot_id=pick.depot_id,
                quant_id=pick.quant_id,
                item_id=pick.item_id,
                lot_id=pick.lot_id,
                owner_id=pick.owner_id,
                quantity=pick.quantity,
                created_at=at,
            )
        )
    shortages = {}
    for line in lines:
        line.allocated += plan.picked(line.id)
        line.shortage = line.quantity - line.allocated
        if line.shortage:
            shortages[str(line.item_id)] = line.shortage
    details = {
        "picks": len(plan.picks),
        "depots": len(plan.depots),
        "shortage_by_item_id": shortages,
    }
    if any(line.allocated for line in lines):
        if request.state != RequestState.ALLOCATED:
            transition(uow, request, RequestState.ALLOCATED, at, details=details)
        else:
            uow.record("dispatch_reallocated", "dispatch_request", request.id, details)
    else:
        uow.record("dispatch_allocation_short", "dispatch_request", request.id, details)
    session.flush()


def _reserve(session: Session, plan: allocator.Plan) -> None:
    per_quant: dict[int, int] = defaultdict(int)
    for pick in plan.picks:
        per_quant[pick.quant_id] += pick.quantity
    if not quants.reserve_many(session, per_quant):
        raise _LostRace


def _allocate_with_retries(
    uow: UnitOfWork,
    request: DispatchRequest,
    lines: list[DispatchLine],
    needs: list[allocator.Need],
    county: County,
    at: datetime,
) -> allocator.Plan:
    """Plan, write, and reserve last: the quant rows are locked from the reserving UPDATE to
    the commit only, not while the reservations and lines are written. A lost race rolls the
    attempt's savepoint back (its writes and its audit entries with it) and plans again."""
    sqlite = is_sqlite(uow.engine)
    for attempt in range(ATTEMPTS):
        try:
            with uow.savepoint():
                lock = not sqlite and attempt >= OPTIMISTIC_ATTEMPTS
                plan = _plan(uow, request, needs, county, at, lock=lock)
                _record(uow, request, lines, plan, at)
                _reserve(uow.session, plan)
                return plan
        except _LostRace:
            continue
        except DBAPIError as error:
            if not retryable(error):
                raise
    raise Conflict("库存正被其他调度员同时分配，请稍后重试", field="number")


def allocate_request(uow: UnitOfWork, request: DispatchRequest, at: datetime) -> allocator.Plan:
    """Reserve stock for what the lines still lack; record reservations and shortages."""
    session = uow.session
    lines = lines_of(session, request)
    needs = [
        allocator.Need(line.id, line.item_id, line.quantity - line.allocated)
        for line in lines
        if line.quantity > line.allocated
    ]
    if not needs:
        raise Conflict("该申请的物资已全部分配", field="number")
    county = session.get(County, request.county_id)
    assert county is not None
    return _allocate_with_retries(uow, request, lines, needs, county, at)


def release_all(uow: UnitOfWork, request: DispatchRequest, at: datetime) -> int:
    """Give back every reservation still held (cancelling). Returns the pieces released."""
    session = uow.session
    lines = {line.id: line for line in lines_of(session, request)}
    released = 0
    for reservation in reservations_of(session, request, ReservationState.RESERVED):
        quants.unreserve(session, reservation.quant_id, reservation.quantity)
        reservation.state = ReservationState.RELEASED
        reservation.closed_at = at
        lines[reservation.line_id].allocated -= reservation.quantity
        released += reservation.quantity
    session.flush()
    return released
