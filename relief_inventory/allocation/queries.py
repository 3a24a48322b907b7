"""Reading dispatch requests: who may see which, lists, and the plain views the API and the
CLI render (codes and names, never database ids)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from relief_inventory.allocation.common import require_readable
from relief_inventory.allocation.models import (
    DisasterType,
    DispatchLine,
    DispatchRequest,
    RequestState,
    Reservation,
    Urgency,
)
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import User
from relief_inventory.errors import PermissionDenied
from relief_inventory.paging import Page, paginate
from relief_inventory.readiness.queries import report_check
from relief_inventory.stock.models import Item, Lot, Owner, StockDocument
from relief_inventory.timeutil import utcnow
from relief_inventory.warehouse.models import County, Depot
from relief_inventory.warehouse.services import county_by_code

STAMPS = (
    "created_at",
    "submitted_at",
    "approved_at",
    "allocated_at",
    "dispatched_at",
    "received_at",
    "closed_at",
    "rejected_at",
    "cancelled_at",
)


def _sees_everything(actor: Actor) -> bool:
    return actor.is_admin or actor.has(Role.DISPATCHER, Role.AUDITOR, Role.FINANCE)


def overdue_clause(now: datetime) -> Any:
    return (
        DispatchRequest.emergency.is_(True)
        & DispatchRequest.countersigned_at.is_(None)
        & (DispatchRequest.countersign_due_at < now)
    )


def overdue_countersignatures(
    session: Session, now: datetime | None = None
) -> list[DispatchRequest]:
    """Emergency dispatches whose second signature is overdue (for the dashboard)."""
    return list(
        session.scalars(
            select(DispatchRequest)
            .where(overdue_clause(now or utcnow()))
            .order_by(DispatchRequest.countersign_due_at)
        )
    )


def readable(query: Select[Any], actor: Actor) -> Select[Any]:
    """Limit a query over requests to those the actor may read (the rule of
    ``require_readable`` as a WHERE clause): requesters their counties', keepers what
    their depots serve, the office roles everything."""
    if _sees_everything(actor):
        return query
    scopes = []
    if actor.has(Role.REQUESTER):
        scopes.append(DispatchRequest.county_id.in_(actor.county_ids))
    if actor.has(Role.KEEPER):
        served = select(Reservation.request_id).where(Reservation.depot_id.in_(actor.depot_ids))
        scopes.append(DispatchRequest.id.in_(served))
    if not scopes:
        raise PermissionDenied(f"用户 {actor.username} 无权查看调拨申请")
    return query.where(or_(*scopes))


def list_requests(
    session: Session,
    actor: Actor,
    *,
    state: str | None = None,
    county: str | None = None,
    overdue: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Newest first. Requesters see their counties', keepers what their depots serve."""
    query = readable(select(DispatchRequest.id), actor).order_by(DispatchRequest.id.desc())
    if state:
        query = query.where(DispatchRequest.state == state)
    if county:
        query = query.where(DispatchRequest.county_id == county_by_code(session, county).id)
    if overdue:
        query = query.where(overdue_clause(utcnow()))
    found = paginate(session, query, page, per_page)
    ids = [row["id"] for row in found.results]
    rows = {
        r.id: r for r in session.scalars(select(DispatchRequest).where(DispatchRequest.id.in_(ids)))
    }
    return Page(views(session, [rows[i] for i in ids]), found.page, found.per_page, found.total)


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 2)


def views(
    session: Session, requests: Sequence[DispatchRequest], *, picks: bool = False
) -> list[dict[str, Any]]:
    """Plain dicts of requests with their lines (and picks), loaded in a few queries."""
    if not requests:
        return []
    ids = [r.id for r in requests]
    counties = {
        c.id: c
        for c in session.scalars(
            select(County).where(County.id.in_({r.county_id for r in requests}))
        )
    }
    user_ids = {
        uid
        for r in requests
        for uid in (r.requester_id, r.approver_id, r.receiver_id, r.countersigner_id)
        if uid is not None
    }
    users = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all())
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line, item in session.execute(
        select(DispatchLine, Item)
        .join(Item, Item.id == DispatchLine.item_id)
        .where(DispatchLine.request_id.in_(ids))
        .order_by(DispatchLine.id)
    ):
        lines[line.request_id].append(
            {
                "item": item.code,
                "item_name": item.name,
                "unit": item.unit,
                **{
                    name: getattr(line, name)
                    for name in (
                        "quantity",
                        "allocated",
                        "shortage",
                        "dispatched",
                        "received",
                        "short",
                        "damaged",
                        "returned",
                    )
                },
            }
        )
    held = _picks(session, ids) if picks else {}
    now = utcnow()
    result = []
    for r in requests:
        county = counties[r.county_id]
        asked = r.submitted_at or r.created_at
        view: dict[str, Any] = {
            "number": r.number,
            "county": county.code,
            "county_name": county.name,
            "disaster_type": r.disaster_type,
            "disaster_label": DisasterType.LABELS.get(r.disaster_type, r.disaster_type),
            "urgency": r.urgency,
            "urgency_label": Urgency.LABELS.get(r.urgency, r.urgency),
            "people_affected": r.people_affected,
            "reason": r.reason,
            "state": r.state,
            "state_label": RequestState.LABELS.get(r.state, r.state),
            "requester": users.get(r.requester_id),
            "approver": users.get(r.approver_id),
            "receiver": users.get(r.receiver_id),
            "countersigner": users.get(r.countersigner_id),
            "allow_other_counties": r.allow_other_counties,
            "emergency": r.emergency,
            "emergency_response": r.emergency_response,
            "countersign_due_at": r.countersign_due_at,
            "countersigned_at": r.countersigned_at,
            "countersign_overdue": bool(
                r.emergency
                and r.countersigned_at is None
                and r.countersign_due_at is not None
                and r.countersign_due_at < now
            ),
            "decision_note": r.decision_note,
            "disaster_report": r.disaster_report,
            **{stamp: getattr(r, stamp) for stamp in STAMPS},
            "hours_to_dispatch": _hours(asked, r.dispatched_at),
            "hours_to_receipt": _hours(asked, r.received_at),
            "lines": lines[r.id],
        }
        if picks:
            view["picks"] = held.get(r.id, [])
        result.append(view)
    return result


def _picks(session: Session, request_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    picks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for reservation, depot, item, lot, owner, document in session.execute(
        select(Reservation, Depot.code, Item.code, Lot.number, Owner.code, StockDocument.number)
        .join(Depot, Depot.id == Reservation.depot_id)
        .join(Item, Item.id == Reservation.item_id)
        .join(Lot, Lot.id == Reservation.lot_id)
        .join(Owner, Owner.id == Reservation.owner_id)
        .outerjoin(StockDocument, StockDocument.id == Reservation.document_id)
        .where(Reservation.request_id.in_(request_ids))
        .order_by(Reservation.id)
    ):
        picks[reservation.request_id].append(
            {
                "item": item,
                "depot": depot,
                "lot": lot,
                "owner": owner,
                "quantity": reservation.quantity,
                "state": reservation.state,
                "document": document,
            }
        )
    return picks


def request_view(session: Session, actor: Actor, request: DispatchRequest) -> dict[str, Any]:
    """One request as its reader may see it, picks included."""
    require_readable(session, actor, request)
    view = views(session, [request], picks=True)[0]
    view["report_check"] = report_check(session, request, view["lines"])
    return view
