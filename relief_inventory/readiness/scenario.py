"""The scenario check: what would reach a disaster place in 6, 12, 24 and 72 hours, from
which depots, and what would be missing. Pure: no database; it plans, it reserves nothing.

Depots are tried in the pure allocator's order (``allocator.depot_tiers``) with travel hours
as the distance: nearest first, the prefecture depot as the reserve of last resort, ties
broken by who holds most. Within a depot each item of the category gives what is needed,
ordinary pieces before big equipment (smallest measure per piece first). A depot that is cut
off, or farther than the last window, sends nothing. Only stock the place's county may use
by ownership counts (its own reserve, the higher levels', and other counties' when the
dispatcher orders it). Whatever the
prefecture cannot send by the last window is what the provincial and central reserves would
have to send.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from relief_inventory.allocation.allocator import DepotSite, Point, depot_tiers
from relief_inventory.readiness.travel import Leg
from relief_inventory.stock.ownership import dispatch_may_use

WINDOWS = (6, 12, 24, 72)


@dataclass(frozen=True)
class Source:
    """A depot as seen from the place: how far, how long."""

    depot_id: int
    code: str
    name: str
    prefecture: bool
    leg: Leg
    loading_hours: float = 0.0  # to load the trucks and leave

    @property
    def hours(self) -> float:
        """When its goods arrive, counted from the call."""
        return round(self.loading_hours + self.leg.hours, 1)


@dataclass(frozen=True)
class Stock:
    """Free pieces (on hand − reserved, usable lots) of one item in one depot under one
    owner. ``owner_county_id`` is set for county reserves only."""

    depot_id: int
    item_id: int
    owner_level: str
    owner_county_id: int | None
    free: int


@dataclass(frozen=True)
class ItemInfo:
    item_id: int
    code: str
    name: str
    unit: str
    category: str
    content: Decimal  # measures of its category per piece


@dataclass(frozen=True)
class Arrival:
    depot_id: int
    item_id: int
    category: str
    owner_level: str
    pieces: int
    measures: Decimal
    hours: float
    estimated: bool


@dataclass(frozen=True)
class WindowLine:
    """One category in one window: cumulative arrivals against the need."""

    category: str
    needed: int
    arrived: Decimal
    shortfall: int
    arrivals: tuple[Arrival, ...]  # those arriving within this window


@dataclass(frozen=True)
class Result:
    needs: dict[str, int]
    arrivals: tuple[Arrival, ...]
    windows: dict[int, tuple[WindowLine, ...]]
    external: dict[str, int]  # what the province and the centre would have to send
    unreachable: tuple[int, ...] = field(default=())  # depots beyond the last window

    def pieces(self) -> dict[int, int]:
        """Pieces planned per item: the lines of the dispatch requests this plan becomes."""
        total: dict[int, int] = defaultdict(int)
        for arrival in self.arrivals:
            total[arrival.item_id] += arrival.pieces
        return dict(total)


def _shortfall(needed: int, arrived: Decimal) -> int:
    return max(0, math.ceil(needed - arrived))


def check(
    *,
    county_id: int,
    needs: Mapping[str, int],
    sources: Sequence[Source],
    stock: Iterable[Stock],
    items: Mapping[int, ItemInfo],
    cut_off: Iterable[int] = (),
    allow_other_counties: bool = True,
    windows: Sequence[int] = WINDOWS,
) -> Result:
    windows = tuple(sorted(set(windows)))
    last = windows[-1]
    blocked = set(cut_off)
    reachable = {s.depot_id: s for s in sources if s.depot_id not in blocked and s.hours <= last}
    unreachable = tuple(
        sorted(s.depot_id for s in sources if s.depot_id not in blocked and s.hours > last)
    )
    # free pieces per (depot, category): list of (stock row, item) the county may use
    shelves: dict[tuple[int, str], list[list]] = defaultdict(list)
    for row in stock:
        item = items.get(row.item_id)
        if (
            item is None
            or row.free <= 0
            or row.depot_id not in reachable
            or not dispatch_may_use(row.owner_county_id, county_id, allow_other_counties)
        ):
            continue
        shelves[(row.depot_id, item.category)].append([row, item, row.free])

    # Tier by hours: the allocator's order, with each depot's own point standing for it.
    points = {depot_id: Point(float(depot_id), 0.0) for depot_id in reachable}
    hours = {points[d]: s.hours for d, s in reachable.items()}
    here = Point(math.nan, math.nan)

    arrivals: list[Arrival] = []
    for category, needed in needs.items():
        missing = Decimal(needed)
        holding = [
            DepotSite(d, s.code, points[d], s.prefecture)
            for d, s in reachable.items()
            if (d, category) in shelves
        ]
        tiers = depot_tiers(holding, here, lambda p, _: hours[p])
        held = {
            site.depot_id: sum(
                (free * item.content for _, item, free in shelves[(site.depot_id, category)]),
                Decimal(0),
            )
            for site in holding
        }
        for tier in tiers:
            if missing <= 0:
                break
            for site in sorted(tier, key=lambda s: (-held[s.depot_id], s.code)):
                if missing <= 0:
                    break
                source = reachable[site.depot_id]
                lines = sorted(
                    shelves[(site.depot_id, category)],
                    key=lambda entry: (entry[1].content, entry[1].code, entry[0].owner_level),
                )
                for entry in lines:
                    if missing <= 0:
                        break
                    row, item, free = entry
                    if free <= 0 or item.content <= 0:
                        continue
                    pieces = min(free, math.ceil(missing / item.content))
                    entry[2] -= pieces
                    missing -= pieces * item.content
                    arrivals.append(
                        Arrival(
                            row.depot_id,
                            row.item_id,
                            category,
                            row.owner_level,
                            pieces,
                            pieces * item.content,
                            source.hours,
                            source.leg.estimated,
                        )
                    )

    by_category: dict[str, list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        by_category[arrival.category].append(arrival)
    by_window: dict[int, tuple[WindowLine, ...]] = {}
    for window in windows:
        lines_out = []
        for category, needed in needs.items():
            arrived_here = tuple(a for a in by_category[category] if a.hours <= window)
            arrived = sum((a.measures for a in arrived_here), Decimal(0))
            lines_out.append(
                WindowLine(category, needed, arrived, _shortfall(needed, arrived), arrived_here)
            )
        by_window[window] = tuple(lines_out)
    external = {line.category: line.shortfall for line in by_window[last] if line.shortfall}
    return Result(dict(needs), tuple(arrivals), by_window, external, unreachable)
