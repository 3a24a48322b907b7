"""What every dispatch service needs: find a request (locked), check its state, stamp a
transition and log what it meant."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.allocation.models import (
    DispatchLine,
    DispatchRequest,
    RequestState,
    Reservation,
)
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.policy import can_read_county
from relief_inventory.errors import Conflict, Hidden, NotFound
from relief_inventory.uow import UnitOfWork

NUMBER_PREFIX = "DB"
NUMBER_PATTERN = re.compile(r"DB-\d{4}-\d{6}")


def _missing(number: object) -> str:
    return f"调拨申请不存在：{str(number)[:40]}"


def request_by_number(session: Session, number: object, *, lock: bool = False) -> DispatchRequest:
    """``lock`` takes the row lock (PostgreSQL) so that two transitions of the same request
    queue up and the second sees the first's result; SQLite already holds its write lock."""
    if not isinstance(number, str) or not NUMBER_PATTERN.fullmatch(number):
        raise NotFound(_missing(number), field="number")
    query = select(DispatchRequest).where(DispatchRequest.number == number)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    request = session.scalar(query)
    if request is None:
        raise NotFound(_missing(number), field="number")
    return request


def can_read(session: Session, actor: Actor, request: DispatchRequest) -> bool:
    """Dispatchers, finance, auditors and admins read every request; requesters their
    county's; keepers those their depots serve."""
    if can_read_county(actor, request.county_id):
        return True
    return actor.has(Role.KEEPER) and bool(
        session.scalar(
            select(Reservation.id)
            .where(
                Reservation.request_id == request.id,
                Reservation.depot_id.in_(actor.depot_ids),
            )
            .limit(1)
        )
    )


def require_readable(session: Session, actor: Actor, request: DispatchRequest) -> None:
    """Someone who may not read a request is told it does not exist (404, as for a missing
    number), so a county cannot probe another county's requests."""
    if not can_read(session, actor, request):
        raise Hidden(_missing(request.number), field="number")


def visible_request(uow: UnitOfWork, number: object, *, lock: bool = True) -> DispatchRequest:
    """``request_by_number`` for someone acting on it: a request they may not read is
    answered as missing."""
    request = request_by_number(uow.session, number, lock=lock)
    require_readable(uow.session, uow.actor, request)
    return request


def require_state(request: DispatchRequest, *states: str, action: str) -> None:
    if request.state not in states:
        label = RequestState.LABELS.get(request.state, request.state)
        raise Conflict(f"调拨申请 {request.number} 当前为“{label}”，不能{action}", field="state")


def lines_of(session: Session, request: DispatchRequest) -> list[DispatchLine]:
    return list(
        session.scalars(
            select(DispatchLine)
            .where(DispatchLine.request_id == request.id)
            .order_by(DispatchLine.id)
        )
    )


def reservations_of(session: Session, request: DispatchRequest, *states: str) -> list[Reservation]:
    query = select(Reservation).where(Reservation.request_id == request.id)
    if states:
        query = query.where(Reservation.state.in_(states))
    return list(session.scalars(query.order_by(Reservation.quant_id, Reservation.id)))


def transition(
    uow: UnitOfWork,
    request: DispatchRequest,
    state: str,
    at: datetime,
    *,
    note: str = "",
    details: dict | None = None,
) -> None:
    """Move to ``state``, stamp ``<state>_at`` and log the transition by request number."""
    previous = request.state
    request.state = state
    setattr(request, f"{state}_at", at)
    uow.record(
        f"dispatch_{state}",
        "dispatch_request",
        request.id,
        {"number": request.number, "from": previous, "to": state, **(details or {})},
        reason=note or None,
    )
