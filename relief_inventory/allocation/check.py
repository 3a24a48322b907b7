"""``relief check`` for reservations: every quant's reserved quantity is exactly what the
active dispatch reservations and the holds of draft documents (write-offs, counts,
reversals waiting for their second person) put on it, so no reservation is lost and none
is counted twice."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation.models import Reservation, ReservationState
from relief_inventory.stock.holds import held_per_quant
from relief_inventory.stock.models import Quant


def check_reservations(session: Session) -> list[str]:
    dispatch = dict(
        session.execute(
            select(Reservation.quant_id, func.sum(Reservation.quantity))
            .where(Reservation.state == ReservationState.RESERVED)
            .group_by(Reservation.quant_id)
        ).all()
    )
    drafts = held_per_quant(session)
    actual = dict(
        session.execute(select(Quant.id, Quant.reserved).where(Quant.reserved != 0)).all()
    )
    expected: dict[int, int] = defaultdict(int)
    for source in (dispatch, drafts):
        for quant_id, quantity in source.items():
            expected[quant_id] += int(quantity)
    problems = []
    for quant_id in sorted(set(expected) | set(actual)):
        reserved = int(actual.get(quant_id, 0))
        if reserved != expected[quant_id]:
            problems.append(
                f"库存记录 {quant_id}：预留 {reserved}，调拨预留 "
                f"{int(dispatch.get(quant_id, 0))} + 草稿单据占用 {drafts.get(quant_id, 0)}"
            )
    return problems
