"""Inspection and rotation (定期检测维护及轮换): which lots are due to rotate out before they
expire, what to do with them and what to buy in their place, and which inspections are
overdue. Pure: no database.

A lot is due when its expiry date falls within its category's rotation window (or has
passed). The suggested action: past expiry, scrap it (报废); with more than a month left,
rotate it out to a county's ordinary relief use (轮出至县市常规救助); with less, donate it
at once (捐赠). The replacement purchase is the same quantity of the same item, so the
reserve keeps its level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta


class Action:
    ROTATE_OUT = "rotate_out"
    DONATE = "donate"
    SCRAP = "scrap"
    ALL = (ROTATE_OUT, DONATE, SCRAP)
    LABELS = {ROTATE_OUT: "轮出至县市常规救助", DONATE: "捐赠", SCRAP: "报废"}


DONATE_WITHIN_DAYS = 30  # too close to expiry for a county to use it in time
# Defaults per category (days): inspect this often; rotate out this long before expiry.
DEFAULT_INSPECTION_DAYS = {
    "TENT": 180, "QUILT": 180, "CLOTH": 180, "RICE": 90, "OIL": 90,
    "BED": 365, "BLANKET": 180, "POWER": 90, "WATER": 90, "RESCUE": 180,
}  # fmt: skip
DEFAULT_ROTATION_DAYS = {"RICE": 120, "OIL": 120, "WATER": 180}


@dataclass(frozen=True)
class LotOnHand:
    depot_id: int
    lot_id: int
    item_id: int
    owner_id: int
    category: str
    expiry_date: date | None
    quantity: int


@dataclass(frozen=True)
class Due:
    lot: LotOnHand
    days_left: int
    action: str
    replacement: int


def action_for(days_left: int) -> str:
    if days_left < 0:
        return Action.SCRAP
    if days_left <= DONATE_WITHIN_DAYS:
        return Action.DONATE
    return Action.ROTATE_OUT


def due(lots: Iterable[LotOnHand], windows: Mapping[str, int | None], today: date) -> list[Due]:
    """Every lot on hand whose expiry falls within its category's window (or has passed),
    soonest first."""
    out = []
    for lot in lots:
        window = windows.get(lot.category)
        if lot.expiry_date is None or window is None or lot.quantity <= 0:
            continue
        if lot.expiry_date <= today + timedelta(days=window):
            left = (lot.expiry_date - today).days
            out.append(Due(lot, left, action_for(left), lot.quantity))
    return sorted(out, key=lambda d: (d.lot.expiry_date, d.lot.depot_id, d.lot.lot_id))


@dataclass(frozen=True)
class Inspection:
    depot_id: int
    category: str
    last: date | None  # None: never inspected
    due_on: date
    overdue_days: int


def inspections(
    pairs: Iterable[tuple[int, str]],
    last: Mapping[tuple[int, str], date],
    intervals: Mapping[str, int | None],
    today: date,
) -> list[Inspection]:
    """For each (depot, category) holding stock: when the next inspection is due, and by
    how many days it is overdue (0: not yet). Never inspected is due today."""
    out = []
    for depot_id, category in pairs:
        interval = intervals.get(category)
        if interval is None:
            continue
        previous = last.get((depot_id, category))
        due_on = today if previous is None else previous + timedelta(days=interval)
        out.append(Inspection(depot_id, category, previous, due_on, max(0, (today - due_on).days)))
    return sorted(out, key=lambda i: (i.due_on, i.depot_id, i.category))
