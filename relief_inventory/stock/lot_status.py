"""A lot's status where it lies: per depot, with expiry as a status of its own.

A keeper quarantines, marks damaged or releases the stock of a lot in their own depots
(``depot_lot_status``); the same lot elsewhere keeps its status. Without a row for the
depot the lot's own status holds (``Lot.status``: available, or damaged for the lots that
keep damaged returns apart). On top of that, stock past its expiry date reads ``expired``:
an explicit status (quarantined, damaged, expired) wins, and an available lot whose expiry
date has passed is expired. Only ``available`` stock may be reserved, transferred or issued.

The SQL expressions here are what the reads use (balances, the summary, the allocator's one
query), so a status means the same everywhere.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from relief_inventory.stock.models import DepotLotStatus, Lot, LotStatus
from relief_inventory.timeutil import utcnow


def effective(explicit: str, expiry_date: date | None, on_date: date) -> str:
    """The status stock reads on ``on_date``, from the explicit one and the expiry date."""
    if explicit != LotStatus.AVAILABLE:
        return explicit
    if expiry_date is not None and expiry_date < on_date:
        return LotStatus.EXPIRED
    return LotStatus.AVAILABLE


def join_depot_status(statement: Select[Any], depot_id: Any) -> Select[Any]:
    """Outer-join each lot's status in the depot ``depot_id`` (a column) to a query that
    already joins ``Lot``."""
    return statement.outerjoin(
        DepotLotStatus,
        and_(DepotLotStatus.lot_id == Lot.id, DepotLotStatus.depot_id == depot_id),
    )


def explicit_sql() -> ColumnElement[str]:
    return func.coalesce(DepotLotStatus.status, Lot.status)


def status_sql(on_date: date) -> ColumnElement[str]:
    """``effective`` in SQL, for a query built with ``join_depot_status``."""
    explicit = explicit_sql()
    return case(
        (explicit != LotStatus.AVAILABLE, explicit),
        (and_(Lot.expiry_date.is_not(None), Lot.expiry_date < on_date), LotStatus.EXPIRED),
        else_=LotStatus.AVAILABLE,
    )


def usable_sql(on_date: date) -> ColumnElement[bool]:
    """Stock that may be reserved, transferred or issued on ``on_date``."""
    return and_(
        explicit_sql() == LotStatus.AVAILABLE,
        or_(Lot.expiry_date.is_(None), Lot.expiry_date >= on_date),
    )


def explicit_in(session: Session, lot: Lot, depot_id: int) -> str:
    """The lot's explicit status in one depot."""
    status = session.scalar(
        select(DepotLotStatus.status).where(
            DepotLotStatus.lot_id == lot.id, DepotLotStatus.depot_id == depot_id
        )
    )
    return status or lot.status


def status_in(session: Session, lot: Lot, depot_id: int, on_date: date) -> str:
    return effective(explicit_in(session, lot, depot_id), lot.expiry_date, on_date)


def set_in(session: Session, lot: Lot, depot_id: int, status: str) -> None:
    """Record the lot's status in one depot (an audited row, created or changed)."""
    row = session.scalar(
        select(DepotLotStatus).where(
            DepotLotStatus.lot_id == lot.id, DepotLotStatus.depot_id == depot_id
        )
    )
    if row is None:
        session.add(DepotLotStatus(lot_id=lot.id, depot_id=depot_id, status=status))
    elif row.status != status:
        row.status = status
        row.updated_at = utcnow()
