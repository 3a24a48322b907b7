"""The life of a dispatch request: file, submit, approve, allocate, reject, cancel,
countersign, close. Dispatching and receiving the goods are in ``shipping``.

Every function checks role, scope and segregation of duties first (a dispatcher never approves
a request they filed), then the request's state, under the request's row lock so that two
people acting on the same request queue up instead of both succeeding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.allocation.common import (
    NUMBER_PREFIX,
    request_by_number,
    require_state,
    reservations_of,
    transition,
    visible_request,
)
from relief_inventory.allocation.models import (
    DisasterType,
    DispatchLine,
    DispatchRequest,
    RequestState,
    ReservationState,
    Urgency,
)
from relief_inventory.allocation.reservations import allocate_request, release_all
from relief_inventory.allocation.shipping import ship
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.policy import require_county, require_other_person, require_role
from relief_inventory.errors import Conflict, InvalidInput
from relief_inventory.idempotency import once
from relief_inventory.readiness.disaster import cited_report
from relief_inventory.stock import lines as parse
from relief_inventory.stock.catalog import item_by_code
from relief_inventory.stock.numbering import next_number
from relief_inventory.timeutil import utcnow
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.services import county_by_code

MAX_PEOPLE = 100_000_000
DEFAULT_COUNTERSIGN_HOURS = 24


def _choice(value: object, allowed: Mapping[str, str], field: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        choices = "、".join(f"{code}（{label}）" for code, label in allowed.items())
        raise InvalidInput(f"须为以下之一：{choices}", field=field)
    return value


def _people(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PEOPLE:
        raise InvalidInput(f"受灾人数须为 0–{MAX_PEOPLE} 的整数", field="people_affected")
    return value


def _wanted_lines(uow: UnitOfWork, lines: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """(item id, quantity) per line; one line per item."""
    wanted: list[tuple[int, int]] = []
    for index, line in enumerate(parse.line_list(lines)):
        field = f"lines[{index}]"
        item = item_by_code(uow.session, line.get("item"), f"{field}.item")
        quantity = parse.quantity(line.get("quantity"), f"{field}.quantity")
        if any(item.id == known for known, _ in wanted):
            raise InvalidInput("同一物资只能填写一行", field=f"{field}.item")
        wanted.append((item.id, quantity))
    return wanted


def create(
    uow: UnitOfWork, *, idempotency_key: str | None = None, **request: Any
) -> tuple[DispatchRequest, bool]:
    """File a request (a draft, or submitted at once). Returns it and whether it is new.

    With an ``idempotency_key`` a retried call returns the request the first call made, and
    the same key for a different request is refused (``idempotency.once``).
    """
    return once(uow, idempotency_key, file_request, **request)


def file_request(
    uow: UnitOfWork,
    *,
    county: str,
    disaster_type: str,
    urgency: str,
    people_affected: int,
    lines: Sequence[Mapping[str, Any]],
    reason: str = "",
    submit: bool = False,
    disaster_report: str | None = None,
    at: datetime | None = None,
) -> DispatchRequest:
    session = uow.session
    require_role(uow.actor, Role.REQUESTER, Role.DISPATCHER)
    target = county_by_code(session, county)
    require_county(uow.actor, target.id)
    fields = {
        "county_id": target.id,
        "disaster_type": _choice(disaster_type, DisasterType.LABELS, "disaster_type"),
        "urgency": _choice(urgency, Urgency.LABELS, "urgency"),
        "people_affected": _people(people_affected),
        "reason": parse.text(reason, "reason", max_length=2000),
    }
    if disaster_report is not None:
        fields["disaster_report"] = cited_report(session, disaster_report, target.id).number
    wanted = _wanted_lines(uow, lines)
    submit = parse.flag(submit, "submit")
    when = parse.moment(at)
    request = DispatchRequest(
        number=next_number(session, NUMBER_PREFIX, when),
        requester_id=uow.actor.user_id,
        created_at=when,
        **fields,
    )
    session.add(request)
    session.flush()
    for item_id, quantity in wanted:
        session.add(DispatchLine(request_id=request.id, item_id=item_id, quantity=quantity))
    session.flush()
    if submit:
        transition(uow, request, RequestState.SUBMITTED, when)
    return request


# -- who may take each next step ----------------------------------------------------------
# One function per step: the service calls it once the request is loaded, and the back
# office calls the same function to decide whether to show the step's button.


def check_submit(actor: Actor, request: DispatchRequest) -> None:
    require_role(actor, Role.REQUESTER, Role.DISPATCHER)
    require_county(actor, request.county_id)
    require_state(request, RequestState.DRAFT, action="提交")


def check_decide(actor: Actor, request: DispatchRequest, *, action: str = "审批") -> None:
    """Approving or rejecting: a dispatcher who did not file the request."""
    require_role(actor, Role.DISPATCHER)
    require_state(request, RequestState.SUBMITTED, action=action)
    require_other_person(actor, request.requester_id, what="调拨申请")


def check_allocate(actor: Actor, request: DispatchRequest) -> None:
    require_role(actor, Role.DISPATCHER)
    require_state(request, RequestState.APPROVED, RequestState.ALLOCATED, action="分配库存")


def check_cancel(session: Session, actor: Actor, request: DispatchRequest) -> None:
    """Requesters withdraw before approval; dispatchers until goods leave."""
    require_role(actor, Role.REQUESTER, Role.DISPATCHER)
    require_county(actor, request.county_id)
    if actor.is_admin or actor.has(Role.DISPATCHER):
        open_states = (
            RequestState.DRAFT,
            RequestState.SUBMITTED,
            RequestState.APPROVED,
            RequestState.ALLOCATED,
        )
    else:
        open_states = (RequestState.DRAFT, RequestState.SUBMITTED)
    require_state(request, *open_states, action="取消")
    if reservations_of(session, request, ReservationState.DISPATCHED):
        raise Conflict("部分物资已发运在途，不能取消；请待签收后处理", field="state")


def check_countersign(actor: Actor, request: DispatchRequest) -> None:
    """The second dispatcher's signature: neither the approver nor the requester."""
    require_role(actor, Role.DISPATCHER)
    if not request.emergency:
        raise Conflict("该申请不是应急先行调拨，无需补签", field="state")
    if request.countersigned_at is not None:
        raise Conflict("该申请已补签", field="state")
    require_other_person(actor, request.approver_id, request.requester_id, what="应急调拨")


def check_close(actor: Actor, request: DispatchRequest) -> None:
    require_role(actor, Role.DISPATCHER)
    require_state(request, RequestState.RECEIVED, action="结案")
    if request.emergency and request.countersigned_at is None:
        raise Conflict("应急先行调拨尚未补签，不能结案", field="state")


def submit(uow: UnitOfWork, number: str, *, at: datetime | None = None) -> DispatchRequest:
    require_role(uow.actor, Role.REQUESTER, Role.DISPATCHER)
    when = parse.moment(at)
    request = visible_request(uow, number)
    check_submit(uow.actor, request)
    transition(uow, request, RequestState.SUBMITTED, when)
    return request


def approve(
    uow: UnitOfWork,
    number: str,
    *,
    allocate: bool = True,
    allow_other_counties: bool = False,
    emergency_response: str = "",
    countersign_hours: int = DEFAULT_COUNTERSIGN_HOURS,
    note: str = "",
    at: datetime | None = None,
) -> DispatchRequest:
    """A dispatcher other than the requester approves, and by default allocates at once.

    Under a declared emergency response (``emergency_response`` names it) a 特急 request is
    approved, allocated and dispatched in one step; a second dispatcher must countersign
    within ``countersign_hours`` (先调拨、后补手续).
    """
    require_role(uow.actor, Role.DISPATCHER)
    when = parse.moment(at)
    allocate = parse.flag(allocate, "allocate")
    allow_other_counties = parse.flag(allow_other_counties, "allow_other_counties")
    emergency_response = parse.text(emergency_response, "emergency_response", max_length=128)
    note = parse.text(note, "note", max_length=2000)
    request = request_by_number(uow.session, number, lock=True)
    check_decide(uow.actor, request)
    if emergency_response and request.urgency != Urgency.CRITICAL:
        raise InvalidInput("只有特急申请可在应急响应下先调拨、后补手续", field="emergency_response")
    request.approver_id = uow.actor.user_id
    request.allow_other_counties = allow_other_counties
    if emergency_response:
        request.emergency = True
        request.emergency_response = emergency_response
        request.countersign_due_at = when + timedelta(hours=countersign_hours)
    transition(
        uow,
        request,
        RequestState.APPROVED,
        when,
        note=note,
        details={"emergency_response": emergency_response} if emergency_response else None,
    )
    if emergency_response:
        allocate_request(uow, request, when)
        if request.state == RequestState.ALLOCATED:
            ship(
                uow, request, reservations_of(uow.session, request, ReservationState.RESERVED), when
            )
    elif allocate:
        allocate_request(uow, request, when)
    return request


def allocate(
    uow: UnitOfWork,
    number: str,
    *,
    allow_other_counties: bool | None = None,
    at: datetime | None = None,
) -> DispatchRequest:
    """Allocate an approved request, or top up an allocated one's shortage from new stock."""
    require_role(uow.actor, Role.DISPATCHER)
    when = parse.moment(at)
    request = request_by_number(uow.session, number, lock=True)
    check_allocate(uow.actor, request)
    if allow_other_counties is not None:
        request.allow_other_counties = parse.flag(allow_other_counties, "allow_other_counties")
    allocate_request(uow, request, when)
    return request


def reject(
    uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None
) -> DispatchRequest:
    require_role(uow.actor, Role.DISPATCHER)
    when = parse.moment(at)
    reason = parse.text(reason, "reason", max_length=2000, required=True)
    request = request_by_number(uow.session, number, lock=True)
    check_decide(uow.actor, request, action="驳回")
    request.decision_note = reason
    transition(uow, request, RequestState.REJECTED, when, note=reason)
    return request


def cancel(
    uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None
) -> DispatchRequest:
    """Requesters withdraw their county's requests before approval; dispatchers may cancel
    until goods leave, which releases the reservations."""
    require_role(uow.actor, Role.REQUESTER, Role.DISPATCHER)
    when = parse.moment(at)
    reason = parse.text(reason, "reason", max_length=2000, required=True)
    request = visible_request(uow, number)
    check_cancel(uow.session, uow.actor, request)
    released = release_all(uow, request, when)
    request.decision_note = reason
    transition(
        uow, request, RequestState.CANCELLED, when, note=reason, details={"released": released}
    )
    return request


def countersign(
    uow: UnitOfWork, number: str, *, note: str = "", at: datetime | None = None
) -> DispatchRequest:
    """The second dispatcher's signature on an emergency dispatch (补签)."""
    require_role(uow.actor, Role.DISPATCHER)
    when = parse.moment(at)
    note = parse.text(note, "note", max_length=2000)
    request = request_by_number(uow.session, number, lock=True)
    check_countersign(uow.actor, request)
    request.countersigner_id = uow.actor.user_id
    request.countersigned_at = when
    assert request.countersign_due_at is not None
    uow.record(
        "dispatch_countersigned",
        "dispatch_request",
        request.id,
        {"number": request.number, "late": when > request.countersign_due_at},
        reason=note or None,
    )
    return request


def close(
    uow: UnitOfWork, number: str, *, note: str = "", at: datetime | None = None
) -> DispatchRequest:
    require_role(uow.actor, Role.DISPATCHER)
    when = parse.moment(at)
    note = parse.text(note, "note", max_length=2000)
    request = request_by_number(uow.session, number, lock=True)
    check_close(uow.actor, request)
    transition(uow, request, RequestState.CLOSED, when, note=note)
    return request


def flag_overdue_countersignatures(
    uow: UnitOfWork, *, now: datetime | None = None
) -> list[DispatchRequest]:
    """Log each emergency dispatch whose countersignature is overdue, once."""
    require_role(uow.actor, Role.DISPATCHER)
    now = now or utcnow()
    overdue = list(
        uow.session.scalars(
            select(DispatchRequest)
            .where(
                DispatchRequest.emergency.is_(True),
                DispatchRequest.countersigned_at.is_(None),
                DispatchRequest.countersign_due_at < now,
                DispatchRequest.overdue_flagged_at.is_(None),
            )
            .order_by(DispatchRequest.id)
            .with_for_update()
        )
    )
    for request in overdue:
        request.overdue_flagged_at = now
        uow.record(
            "countersign_overdue",
            "dispatch_request",
            request.id,
            {"number": request.number, "due_at": request.countersign_due_at},
            reason="应急调拨超时未补签（先调拨、后补手续）",
        )
    return overdue
