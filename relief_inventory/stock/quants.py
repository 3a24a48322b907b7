"""Changing balances: every statement here is atomic and checks its own limit.

On PostgreSQL the conditional UPDATEs (``WHERE on_hand - reserved >= :q``) make a racing
writer fail cleanly instead of overselling; the CHECK constraints on the table stand behind
them. On SQLite the unit of work already holds the write lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from relief_inventory.errors import InsufficientStock
from relief_inventory.stock.models import Quant


def _execute(session: Session, statement: Any) -> Any:
    """Balances are written and read by their own statements, never through ORM objects, so
    none of them needs the session's pending objects flushed first: skipping that autoflush
    lets a document's moves go to the database in one batched INSERT when it is done,
    instead of one per line (a round trip each on PostgreSQL)."""
    return session.execute(statement, execution_options={"autoflush": False})


@dataclass(frozen=True)
class QuantKey:
    location_id: int
    item_id: int
    lot_id: int
    owner_id: int

    def as_dict(self) -> dict[str, int]:
        return {
            "location_id": self.location_id,
            "item_id": self.item_id,
            "lot_id": self.lot_id,
            "owner_id": self.owner_id,
        }


def add(session: Session, key: QuantKey, quantity: int) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Quant).values(**key.as_dict(), on_hand=quantity, reserved=0)
    statement = statement.on_conflict_do_update(
        index_elements=["location_id", "item_id", "lot_id", "owner_id"],
        set_={"on_hand": Quant.on_hand + quantity},
    )
    _execute(session, statement)


def _key_filter(key: QuantKey) -> tuple:
    return (
        Quant.location_id == key.location_id,
        Quant.item_id == key.item_id,
        Quant.lot_id == key.lot_id,
        Quant.owner_id == key.owner_id,
    )


def remove(session: Session, key: QuantKey, quantity: int, *, field: str = "quantity") -> None:
    """Take free (unreserved) stock off the balance, or refuse.

    The hottest statement of the ledger: it skips the ORM's in-session synchronisation (like
    ``add``, whose upsert never had it), so read balances with a query, not from a ``Quant``
    object loaded earlier in the same session.
    """
    result = _execute(
        session,
        update(Quant)
        .where(*_key_filter(key), Quant.on_hand - Quant.reserved >= quantity)
        .values(on_hand=Quant.on_hand - quantity)
        .execution_options(synchronize_session=False),
    )
    if result.rowcount != 1:
        free = free_quantity(session, key)
        raise InsufficientStock(f"可用库存不足：需要 {quantity}，可用 {free}", field=field)


def reserve_many(session: Session, wanted: Mapping[int, int]) -> bool:
    """Reserve on several quants ({quant id: quantity}) in one statement, all or none: False
    when any lacks free stock (the caller rolls back to its savepoint and re-reads).

    On PostgreSQL the rows are locked in id order (a ``FOR NO KEY UPDATE`` sub-select the
    update joins: the lock the UPDATE takes anyway, which does not block foreign-key checks of
    rows pointing at the quant), so two callers never deadlock.
    """
    if not wanted:
        return True
    targets = Quant.id.in_(wanted)
    if session.get_bind().dialect.name == "postgresql":
        locked = (
            select(Quant.id).where(targets).order_by(Quant.id).with_for_update(key_share=True)
        ).subquery()
        targets = Quant.id == locked.c.id
    quantity = case(wanted, value=Quant.id)
    result = _execute(
        session,
        update(Quant)
        .where(targets, Quant.on_hand - Quant.reserved >= quantity)
        .values(reserved=Quant.reserved + quantity)
        .execution_options(synchronize_session=False),
    )
    return result.rowcount == len(wanted)


def unreserve(session: Session, quant_id: int, quantity: int) -> None:
    result = _execute(
        session,
        update(Quant)
        .where(Quant.id == quant_id, Quant.reserved >= quantity)
        .values(reserved=Quant.reserved - quantity),
    )
    if result.rowcount != 1:
        raise InsufficientStock("预留数量不一致，无法释放")


def consume_reserved(session: Session, quant_id: int, quantity: int) -> None:
    """Dispatch: reserved stock leaves the shelf."""
    result = _execute(
        session,
        update(Quant)
        .where(Quant.id == quant_id, Quant.reserved >= quantity, Quant.on_hand >= quantity)
        .values(on_hand=Quant.on_hand - quantity, reserved=Quant.reserved - quantity),
    )
    if result.rowcount != 1:
        raise InsufficientStock("预留库存不一致，无法发运")


def quant_id(session: Session, key: QuantKey) -> int | None:
    return session.execute(select(Quant.id).where(*_key_filter(key))).scalar_one_or_none()


def lock_balances(session: Session, keys: list[QuantKey]) -> dict[QuantKey, tuple[int, int, int]]:
    """(quant id, on hand, reserved) of each existing key, its row locked until commit
    (PostgreSQL: FOR NO KEY UPDATE, rows in id order so two callers never deadlock; SQLite
    holds its write lock already). Keys without a quant are left out."""
    if not keys:
        return {}
    wanted = set(keys)
    query = (
        select(
            Quant.id,
            Quant.location_id,
            Quant.item_id,
            Quant.lot_id,
            Quant.owner_id,
            Quant.on_hand,
            Quant.reserved,
        )
        .where(
            Quant.location_id.in_({k.location_id for k in keys}),
            Quant.item_id.in_({k.item_id for k in keys}),
            Quant.lot_id.in_({k.lot_id for k in keys}),
        )
        .order_by(Quant.id)
        .with_for_update(key_share=True)
    )
    found = {}
    for quant, location, item, lot, owner, on_hand, reserved in session.execute(query):
        key = QuantKey(location, item, lot, owner)
        if key in wanted:
            found[key] = (quant, on_hand, reserved)
    return found


def free_quantity(session: Session, key: QuantKey) -> int:
    row = _execute(
        session, select(Quant.on_hand - Quant.reserved).where(*_key_filter(key))
    ).scalar_one_or_none()
    return int(row or 0)


def on_hand(session: Session, key: QuantKey) -> int:
    row = _execute(session, select(Quant.on_hand).where(*_key_filter(key))).scalar_one_or_none()
    return int(row or 0)
