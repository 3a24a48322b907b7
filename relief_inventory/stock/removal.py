"""Removal strategy, pure: which lots leave first (first-expiry-first-out).

Used for manual issues inside one depot and by the dispatch allocator across depots.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class LotStock:
    """Stock that could be taken: one quant's free quantity and its lot's dates."""

    quant_id: int
    lot_id: int
    lot_number: str
    owner_id: int
    expiry_date: date | None
    available: int


def usable(stock: LotStock, on_date: date) -> bool:
    """A lot is usable if it will not have expired by ``on_date`` (the delivery day)."""
    return stock.available > 0 and (stock.expiry_date is None or stock.expiry_date >= on_date)


def fefo_order(stocks: Iterable[LotStock]) -> list[LotStock]:
    """Earliest expiry first; lots that never expire last; ties by lot number, then quant."""
    return sorted(
        stocks,
        key=lambda s: (s.expiry_date is None, s.expiry_date or date.max, s.lot_number, s.quant_id),
    )


def pick_fefo(
    stocks: Iterable[LotStock], quantity: int, on_date: date
) -> tuple[list[tuple[LotStock, int]], int]:
    """Take ``quantity`` from usable lots, earliest expiry first.

    Returns the picks and what is still missing (0 when fully served).
    """
    picks: list[tuple[LotStock, int]] = []
    missing = quantity
    for stock in fefo_order(s for s in stocks if usable(s, on_date)):
        if missing == 0:
            break
        take = min(stock.available, missing)
        picks.append((stock, take))
        missing -= take
    return picks, missing
