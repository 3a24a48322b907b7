"""Read-side queries over the stock ledger (lists, summaries, exports)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.stock.models import Item, Quant
from relief_inventory.warehouse.models import Depot, Location


def depot_item_on_hand(session: Session, depot_code: str, item_code: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Quant.on_hand), 0))
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Item, Item.id == Quant.item_id)
        .where(Depot.code == depot_code, Item.code == item_code)
    )
    return int(total or 0)
