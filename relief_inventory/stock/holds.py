"""Drafts hold their stock: a write-off, count or reversal waiting for its second person
reserves what it will take, exactly as an allocation does, so that nobody issues the same
pieces meanwhile and approval never finds them gone.

A hold is one row per (document, quant) and the quantity is reserved on the quant with
``quants.reserve_many`` (on PostgreSQL the rows are locked in id order and one conditional
UPDATE must touch every one, so racing drafts and issues never over-reserve). Approval uses
the holds (the reservation is lifted and the moves are booked in the same transaction, under
the same row locks); rejection and cancellation release them. ``relief check`` proves every
quant's ``reserved`` equals the dispatch reservations plus the holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.errors import InsufficientStock
from relief_inventory.stock import quants
from relief_inventory.stock.models import HoldState, StockDocument, StockHold
from relief_inventory.stock.quants import QuantKey
from relief_inventory.uow import UnitOfWork

Wanted = tuple[QuantKey, int, str]  # what to hold, how many, the input field it came from


def hold(uow: UnitOfWork, document: StockDocument, wanted: Iterable[Wanted], at: datetime) -> None:
    """Reserve every wanted quantity for ``document``, all or nothing; refuse naming the
    first field whose stock is not free. The quant rows are locked first (in id order), so
    the free quantity read is the one reserved: a refusal means the stock really is taken."""
    session = uow.session
    wanted = list(wanted)
    balances = quants.lock_balances(session, [key for key, _quantity, _field in wanted])
    per_quant: dict[int, int] = defaultdict(int)
    for key, quantity, field in wanted:
        quant, on_hand, reserved = balances.get(key, (0, 0, 0))
        free = on_hand - reserved - per_quant[quant]
        if not quant or free < quantity:
            raise InsufficientStock(
                f"可用库存不足：需要 {quantity}，可用 {max(free, 0)}"
                "（其余已被调拨预留或待审批单据占用）",
                field=field,
            )
        per_quant[quant] += quantity
    if not quants.reserve_many(session, per_quant):  # cannot happen under the row locks
        raise InsufficientStock("库存正被他人同时占用，请刷新后重试", field="lines")
    for quant, quantity in per_quant.items():
        session.add(
            StockHold(document_id=document.id, quant_id=quant, quantity=quantity, created_at=at)
        )
    session.flush()


def use(uow: UnitOfWork, document: StockDocument, at: datetime) -> None:
    """Approval: lift the holds so the moves can take the stock (same transaction)."""
    _close(uow.session, document, HoldState.USED, at)


def release(uow: UnitOfWork, document: StockDocument, at: datetime) -> None:
    """Rejection or cancellation: the stock is free again."""
    _close(uow.session, document, HoldState.RELEASED, at)


def _close(session: Session, document: StockDocument, state: str, at: datetime) -> None:
    for row in session.scalars(
        select(StockHold)
        .where(StockHold.document_id == document.id, StockHold.state == HoldState.HELD)
        .order_by(StockHold.quant_id)
    ):
        quants.unreserve(session, row.quant_id, row.quantity)
        row.state = state
        row.closed_at = at
    session.flush()


def held_per_quant(session: Session) -> dict[int, int]:
    """What the open holds reserve, by quant (for ``relief check``)."""
    return {
        int(quant): int(total)
        for quant, total in session.execute(
            select(StockHold.quant_id, func.sum(StockHold.quantity))
            .where(StockHold.state == HoldState.HELD)
            .group_by(StockHold.quant_id)
        )
    }
