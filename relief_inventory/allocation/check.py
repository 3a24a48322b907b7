"""``relief check`` for dispatch: every quant's reserved quantity is exactly what the active
reservations hold on it, so no reservation is lost and none is counted twice."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation.models import Reservation, ReservationState
from relief_inventory.stock.models import Quant


def check_reservations(session: Session) -> list[str]:
    held = dict(
        session.execute(
            select(Reservation.quant_id, func.sum(Reservation.quantity))
            .where(Reservation.state == ReservationState.RESERVED)
            .group_by(Reservation.quant_id)
        ).all()
    )
    actual = dict(
        session.execute(select(Quant.id, Quant.reserved).where(Quant.reserved != 0)).all()
    )
    problems = []
    for quant_id in sorted(set(held) | set(actual)):
        expected, reserved = int(held.get(quant_id, 0)), int(actual.get(quant_id, 0))
        if reserved != expected:
            problems.append(f"库存记录 {quant_id}：预留 {reserved}，调拨预留合计 {expected}")
    return problems
