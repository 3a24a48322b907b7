"""``relief check`` for the stock ledger: every quant equals the sum of its done moves."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.stock.models import Move, MoveState, Quant
from relief_inventory.warehouse.models import Location, LocationKind

Key = tuple[int, int, int, int]


def _sums(session: Session, location_column: object) -> dict[Key, int]:
    balanced = select(Location.id).where(Location.kind.in_(LocationKind.BALANCED))
    rows = session.execute(
        select(location_column, Move.item_id, Move.lot_id, Move.owner_id, func.sum(Move.quantity))
        .where(Move.state == MoveState.DONE, location_column.in_(balanced))  # type: ignore[attr-defined]
        .group_by(location_column, Move.item_id, Move.lot_id, Move.owner_id)
    )
    return {(r[0], r[1], r[2], r[3]): int(r[4]) for r in rows}


def check_quants(session: Session) -> list[str]:
    """Differences between the quant table and the moves, one message each."""
    expected: dict[Key, int] = defaultdict(int)
    for key, total in _sums(session, Move.to_location_id).items():
        expected[key] += total
    for key, total in _sums(session, Move.from_location_id).items():
        expected[key] -= total
    problems = []
    actual: dict[Key, tuple[int, int]] = {
        (q.location_id, q.item_id, q.lot_id, q.owner_id): (q.on_hand, q.reserved)
        for q in session.execute(
            select(
                Quant.location_id,
                Quant.item_id,
                Quant.lot_id,
                Quant.owner_id,
                Quant.on_hand,
                Quant.reserved,
            )
        )
    }
    for key in sorted(set(expected) | set(actual)):
        want = expected.get(key, 0)
        have, reserved = actual.get(key, (0, 0))
        label = "库位{} 物资{} 批次{} 权属{}".format(*key)
        if want != have:
            problems.append(f"{label}：台账合计 {want}，库存余额 {have}")
        if have < 0 or reserved < 0 or reserved > have:
            problems.append(f"{label}：余额 {have} / 预留 {reserved} 不合法")
    return problems
