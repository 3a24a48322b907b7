"""Inspection and rotation on live stock: the lots due and the overdue inspections (reads),
and the documents keepers work through — inspection records and rotation plans (the only
writer of those tables)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.policy import require_depot
from relief_inventory.errors import Conflict, InvalidInput, NotFound
from relief_inventory.readiness import rotation
from relief_inventory.readiness.models import (
    InspectionRecord,
    PlanState,
    ReadinessStandard,
    RotationPlan,
    RotationPlanLine,
)
from relief_inventory.stock import lines as parse
from relief_inventory.stock.models import (
    Category,
    DocKind,
    DocState,
    Item,
    Lot,
    Owner,
    Quant,
    StockDocument,
)
from relief_inventory.stock.numbering import next_number
from relief_inventory.timeutil import to_local, utcnow
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import Depot, Location, LocationKind
from relief_inventory.warehouse.services import depot_by_code

PREFIX = "LP"
# The documents that carry out a line: issued to a county, written off, rotated, moved on.
DONE_BY = (DocKind.ISSUE, DocKind.SCRAP, DocKind.ROTATION, DocKind.TRANSFER, DocKind.DISPATCH)


def _windows(session: Session) -> tuple[dict[str, int | None], dict[str, int | None]]:
    """(rotation days, inspection days) per category: the bureau's, else the defaults."""
    rows = {
        code: (rot, insp)
        for code, rot, insp in session.execute(
            select(
                Category.code, ReadinessStandard.rotation_days, ReadinessStandard.inspection_days
            ).join(ReadinessStandard, ReadinessStandard.category_id == Category.id)
        )
    }
    codes = list(session.scalars(select(Category.code)))
    rot = {
        c: rows[c][0] if c in rows and rows[c][0] else rotation.DEFAULT_ROTATION_DAYS.get(c)
        for c in codes
    }
    insp = {
        c: rows[c][1] if c in rows and rows[c][1] else rotation.DEFAULT_INSPECTION_DAYS.get(c)
        for c in codes
    }
    return rot, insp


def _on_hand(session: Session, depot_ids: list[int] | None) -> list[rotation.LotOnHand]:
    query = (
        select(
            Location.depot_id,
            Quant.lot_id,
            Quant.item_id,
            Quant.owner_id,
            Category.code,
            Lot.expiry_date,
            func.sum(Quant.on_hand),
        )
        .join(Location, Location.id == Quant.location_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Item, Item.id == Quant.item_id)
        .join(Category, Category.id == Item.category_id)
        .where(
            Location.kind == LocationKind.INTERNAL, Quant.on_hand > 0, Lot.expiry_date.is_not(None)
        )
        .group_by(
            Location.depot_id,
            Quant.lot_id,
            Quant.item_id,
            Quant.owner_id,
            Category.code,
            Lot.expiry_date,
        )
    )
    if depot_ids is not None:
        query = query.where(Location.depot_id.in_(depot_ids))
    return [rotation.LotOnHand(*row[:6], int(row[6])) for row in session.execute(query)]


def _depot_scope(actor: Actor) -> list[int] | None:
    """Keepers see their depots; dispatchers, auditors and admins every depot."""
    if actor.is_admin or actor.has(Role.DISPATCHER, Role.AUDITOR):
        return None
    return sorted(actor.depot_ids)


def overview(
    session: Session, actor: Actor, *, today: date | None = None, depot: str | None = None
) -> dict[str, Any]:
    """The lots due to rotate within their window (or past expiry) and the inspections due,
    in the depots the reader looks after."""
    today = today or to_local(utcnow()).date()
    scope = _depot_scope(actor)
    if depot is not None:
        found = depot_by_code(session, depot)
        if scope is not None and found.id not in scope:
            raise NotFound(f"仓库不存在或已停用：{depot}", field="depot")
        scope = [found.id]
    rot, insp = _windows(session)
    lots = _on_hand(session, scope)
    due = rotation.due(lots, rot, today)
    pairs = sorted({(row.depot_id, row.category) for row in _holding_pairs(session, scope)})
    last = {
        (depot_id, code): day
        for depot_id, code, day in session.execute(
            select(
                InspectionRecord.depot_id, Category.code, func.max(InspectionRecord.inspected_on)
            )
            .join(Category, Category.id == InspectionRecord.category_id)
            .group_by(InspectionRecord.depot_id, Category.code)
        )
    }
    checks = [i for i in rotation.inspections(pairs, last, insp, today) if i.due_on <= today]
    names = _names(
        session,
        {d.lot.lot_id for d in due},
        {d.lot.item_id for d in due},
        {d.lot.owner_id for d in due},
    )
    depots = dict(session.execute(select(Depot.id, Depot.code)).all())
    categories = dict(session.execute(select(Category.code, Category.name)).all())
    return {
        "today": today,
        "due": [
            {
                "depot": depots[d.lot.depot_id],
                "item": names["items"][d.lot.item_id][0],
                "item_name": names["items"][d.lot.item_id][1],
                "unit": names["items"][d.lot.item_id][2],
                "lot": names["lots"][d.lot.lot_id],
                "owner": names["owners"][d.lot.owner_id],
                "category": d.lot.category,
                "expiry_date": d.lot.expiry_date,
                "days_left": d.days_left,
                "expired": d.days_left < 0,
                "quantity": d.lot.quantity,
                "action": d.action,
                "action_label": rotation.Action.LABELS[d.action],
                "replacement": d.replacement,
            }
            for d in due
        ],
        "inspections": [
            {
                "depot": depots[i.depot_id],
                "category": i.category,
                "category_name": categories.get(i.category, i.category),
                "last": i.last,
                "due_on": i.due_on,
                "overdue_days": i.overdue_days,
                "never": i.last is None,
            }
            for i in checks
        ],
    }


def _holding_pairs(session: Session, scope: list[int] | None) -> list[Any]:
    query = (
        select(Location.depot_id, Category.code.label("category"))
        .join(Quant, Quant.location_id == Location.id)
        .join(Item, Item.id == Quant.item_id)
        .join(Category, Category.id == Item.category_id)
        .where(Location.kind == LocationKind.INTERNAL, Quant.on_hand > 0)
        .distinct()
    )
    if scope is not None:
        query = query.where(Location.depot_id.in_(scope))
    return list(session.execute(query))


def _names(
    session: Session, lot_ids: set[int], item_ids: set[int], owner_ids: set[int]
) -> dict[str, dict]:
    return {
        "lots": dict(
            session.execute(select(Lot.id, Lot.number).where(Lot.id.in_(lot_ids or {0}))).all()
        ),
        "items": {
            i: (code, name, unit)
            for i, code, name, unit in session.execute(
                select(Item.id, Item.code, Item.name, Item.unit).where(Item.id.in_(item_ids or {0}))
            )
        },
        "owners": dict(
            session.execute(
                select(Owner.id, Owner.code).where(Owner.id.in_(owner_ids or {0}))
            ).all()
        ),
    }


# -- writes --------------------------------------------------------------------------------


def record_inspection(
    uow: UnitOfWork, *, depot: str, category: str, note: str = "", on: Any = None
) -> InspectionRecord:
    """A keeper of the depot records an inspection of a category's stock there."""
    session = uow.session
    found = depot_by_code(session, depot)
    require_depot(uow.actor, found.id)  # type: ignore[arg-type]
    cat = session.scalar(select(Category).where(Category.code == category))
    if cat is None:
        raise InvalidInput(f"物资类别不存在：{str(category)[:32]}", field="category")
    today = to_local(utcnow()).date()
    day = today if on is None else parse.optional_date(on, "on")
    if day is None or day > today:
        raise InvalidInput("检测日期不能晚于今天", field="on")
    row = InspectionRecord(
        depot_id=found.id,
        category_id=cat.id,
        inspected_on=day,
        note=parse.text(note, "note", max_length=500),
        inspector_id=uow.actor.user_id,
    )
    session.add(row)
    session.flush()
    return row


def draft_plan(uow: UnitOfWork, *, depot: str, at: datetime | None = None) -> RotationPlan:
    """A rotation plan of every lot due in the depot (a keeper of it, or a dispatcher)."""
    session = uow.session
    found = depot_by_code(session, depot)
    if not (uow.actor.is_admin or uow.actor.has(Role.DISPATCHER)):
        require_depot(uow.actor, found.id)  # type: ignore[arg-type]
    when = parse.moment(at)
    today = to_local(when).date()
    rot, _ = _windows(session)
    due = rotation.due(_on_hand(session, [found.id]), rot, today)
    if not due:
        raise Conflict(f"{found.name}没有到期需轮换的批次", field="depot")
    plan = RotationPlan(
        number=next_number(session, PREFIX, when),
        depot_id=found.id,
        planned_on=today,
        created_by_id=uow.actor.user_id,
        created_at=when,
    )
    session.add(plan)
    session.flush()
    for d in due:
        session.add(
            RotationPlanLine(
                plan_id=plan.id,
                lot_id=d.lot.lot_id,
                item_id=d.lot.item_id,
                owner_id=d.lot.owner_id,
                expiry_date=d.lot.expiry_date,
                quantity=d.lot.quantity,
                action=d.action,
                replacement=d.replacement,
            )
        )
    session.flush()
    uow.record(
        "rotation_plan_drafted",
        "rotation_plan",
        plan.id,
        {"number": plan.number, "lines": len(due)},
    )
    return plan


def plan_by_number(session: Session, number: object, *, lock: bool = False) -> RotationPlan:
    query = select(RotationPlan).where(RotationPlan.number == str(number)[:32])
    if lock:
        query = query.with_for_update()
    plan = session.scalar(query)
    if plan is None:
        raise NotFound(f"轮换计划不存在：{str(number)[:40]}", field="number")
    return plan


def complete_line(
    uow: UnitOfWork, number: str, line_id: int, *, document: str, note: str = ""
) -> RotationPlanLine:
    """A keeper of the depot marks a line done, naming the stock document that did it (the
    issue, write-off, rotation or transfer of that depot); the plan is done with its last
    line."""
    session = uow.session
    plan = plan_by_number(session, number, lock=True)
    require_depot(uow.actor, plan.depot_id)
    if plan.state != PlanState.OPEN:
        raise Conflict(f"轮换计划 {plan.number} 已完成", field="state")
    line = session.get(RotationPlanLine, line_id)
    if line is None or line.plan_id != plan.id:
        raise NotFound("轮换计划中没有该行", field="line")
    if line.done_at is not None:
        raise Conflict("该行已完成", field="line")
    doc = session.scalar(select(StockDocument).where(StockDocument.number == str(document)[:32]))
    if (
        doc is None
        or doc.kind not in DONE_BY
        or plan.depot_id != doc.depot_id
        or doc.state == DocState.CANCELLED
    ):
        raise InvalidInput("须为本仓库的出库、报废、轮换或调拨单号", field="document")
    line.document, line.note = doc.number, parse.text(note, "note", max_length=500)
    line.done_by_id, line.done_at = uow.actor.user_id, utcnow()
    session.flush()
    open_lines = session.scalar(
        select(func.count())
        .select_from(RotationPlanLine)
        .where(RotationPlanLine.plan_id == plan.id, RotationPlanLine.done_at.is_(None))
    )
    if not open_lines:
        plan.state, plan.done_at = PlanState.DONE, utcnow()
        session.flush()
    return line


def plan_view(session: Session, actor: Actor, number: str) -> dict[str, Any]:
    plan = plan_by_number(session, number)
    scope = _depot_scope(actor)
    if scope is not None and plan.depot_id not in scope:
        raise NotFound(f"轮换计划不存在：{str(number)[:40]}", field="number")
    lines = list(
        session.scalars(
            select(RotationPlanLine)
            .where(RotationPlanLine.plan_id == plan.id)
            .order_by(RotationPlanLine.id)
        )
    )
    names = _names(
        session,
        {line.lot_id for line in lines},
        {line.item_id for line in lines},
        {line.owner_id for line in lines},
    )
    depot = session.get(Depot, plan.depot_id)
    return {
        "number": plan.number,
        "depot": depot.code,
        "depot_name": depot.name,
        "planned_on": plan.planned_on,
        "state": plan.state,
        "state_label": PlanState.LABELS[plan.state],
        "lines": [
            {
                "id": line.id,
                "item": names["items"][line.item_id][0],
                "item_name": names["items"][line.item_id][1],
                "unit": names["items"][line.item_id][2],
                "lot": names["lots"][line.lot_id],
                "owner": names["owners"][line.owner_id],
                "expiry_date": line.expiry_date,
                "quantity": line.quantity,
                "action": line.action,
                "action_label": rotation.Action.LABELS[line.action],
                "replacement": line.replacement,
                "document": line.document or None,
                "done": line.done_at is not None,
            }
            for line in lines
        ],
    }


def open_plans(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Plans still being worked through, in the reader's depots."""
    query = (
        select(RotationPlan.number, Depot.code, RotationPlan.planned_on)
        .join(Depot, Depot.id == RotationPlan.depot_id)
        .where(RotationPlan.state == PlanState.OPEN)
        .order_by(RotationPlan.number)
    )
    scope = _depot_scope(actor)
    if scope is not None:
        query = query.where(RotationPlan.depot_id.in_(scope or [0]))
    return [
        {"number": number, "depot": depot, "planned_on": day}
        for number, depot, day in session.execute(query)
    ]
