"""Read-side queries over the stock ledger (lists, summaries, exports)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.stock.models import Category, Item, Quant
from relief_inventory.warehouse.models import Depot, Location, LocationKind


def depot_item_on_hand(session: Session, depot_code: str, item_code: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Quant.on_hand), 0))
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Item, Item.id == Quant.item_id)
        .where(Depot.code == depot_code, Item.code == item_code)
    )
    return int(total or 0)


@dataclass(frozen=True)
class StockSummary:
    """On-hand pieces per depot and category, with row and column totals."""

    depots: list[tuple[str, str]]  # (code, name), in code order
    categories: list[tuple[str, str]]  # (code, name), in display order
    cells: dict[tuple[str, str], int]  # (depot code, category code) -> on hand

    def cell(self, depot: str, category: str) -> int:
        return self.cells.get((depot, category), 0)

    def depot_total(self, depot: str) -> int:
        return sum(self.cell(depot, c) for c, _ in self.categories)

    def category_total(self, category: str) -> int:
        return sum(self.cell(d, category) for d, _ in self.depots)

    @property
    def total(self) -> int:
        return sum(self.cells.values())


def stock_summary(session: Session) -> StockSummary:
    """One grouped query over the quants of internal locations (the depots' shelves)."""
    rows = session.execute(
        select(Location.depot_id, Item.category_id, func.sum(Quant.on_hand))
        .join(Location, Location.id == Quant.location_id)
        .join(Item, Item.id == Quant.item_id)
        .where(Location.kind == LocationKind.INTERNAL)
        .group_by(Location.depot_id, Item.category_id)
    ).all()
    depots = session.execute(
        select(Depot.id, Depot.code, Depot.name).where(Depot.active.is_(True)).order_by(Depot.code)
    ).all()
    categories = session.execute(
        select(Category.id, Category.code, Category.name)
        .where(Category.active.is_(True))
        .order_by(Category.sort_order, Category.code)
    ).all()
    depot_code = {d.id: d.code for d in depots}
    category_code = {c.id: c.code for c in categories}
    cells = {
        (depot_code[d], category_code[c]): int(total)
        for d, c, total in rows
        if d in depot_code and c in category_code and total
    }
    return StockSummary(
        depots=[(d.code, d.name) for d in depots],
        categories=[(c.code, c.name) for c in categories],
        cells=cells,
    )
