"""Which depots and lots serve a dispatch request. Pure: no database, no Flask.

For each line, the depots holding stock the line may use are tried nearest first, after the
requesting county's own township stock points (乡镇预置点: stock already pre-positioned in the
county for it, drawn first wherever they lie in it). Distance is
a parameter (road distance when someone supplies it; straight-line distance between
coordinates by default). The prefecture depot is the reserve of last resort: it comes after
those county depots unless it is nearer than all of them. Within a depot, lots leave
first-expiry-first-out, skipping lots that would have expired by the delivery date
(``stock.removal``). Only stock the request may use by ownership counts (the one ownership
rule, ``stock.ownership``). Among depots at the
same distance, one already serving the request goes first, then the one holding the most, so
the goods come from as few depots as possible. Whatever cannot be served is returned as a
shortage, never dropped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from itertools import groupby

from relief_inventory.stock.ownership import dispatch_may_use
from relief_inventory.stock.removal import LotStock, pick_fefo, usable

EARTH_RADIUS_KM = 6371.0
TIE_PRECISION_KM = 1  # distances equal to 0.1 km count as a tie


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


Distance = Callable[[Point, Point], float]


def straight_line_km(a: Point, b: Point) -> float:
    """Great-circle distance (haversine): the first measure until road distances exist."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class DepotSite:
    depot_id: int
    code: str
    point: Point
    prefecture: bool
    point_of_county: int | None = None  # a township stock point: its county's id


@dataclass(frozen=True)
class Candidate:
    """Free stock on one quant of a depot. ``owner_county_id`` is set for county reserves
    only; higher-level stock (prefecture, province, centre) has None."""

    depot_id: int
    item_id: int
    owner_county_id: int | None
    stock: LotStock


@dataclass(frozen=True)
class Need:
    line_id: int
    item_id: int
    quantity: int


@dataclass(frozen=True)
class Pick:
    line_id: int
    depot_id: int
    item_id: int
    quant_id: int
    lot_id: int
    owner_id: int
    quantity: int


@dataclass(frozen=True)
class Shortage:
    line_id: int
    item_id: int
    quantity: int


@dataclass(frozen=True)
class Plan:
    picks: tuple[Pick, ...]
    shortages: tuple[Shortage, ...]

    def picked(self, line_id: int) -> int:
        return sum(p.quantity for p in self.picks if p.line_id == line_id)

    @property
    def depots(self) -> set[int]:
        return {p.depot_id for p in self.picks}


def depot_tiers(
    sites: Iterable[DepotSite],
    destination: Point,
    distance: Distance = straight_line_km,
    county_id: int | None = None,
) -> list[list[DepotSite]]:
    """Depots in the order they are tried, grouped where they tie: the stock points of
    ``county_id`` (the requesting county) first, then by distance with the prefecture depot
    after the nearest county depot."""
    sites = list(sites)
    km = {p: round(distance(p, destination), TIE_PRECISION_KM) for p in {s.point for s in sites}}
    measured = [(km[s.point], s) for s in sites]
    county_distances = [d for d, s in measured if not s.prefecture]
    nearest_county = min(county_distances, default=math.inf)

    def key(entry: tuple[float, DepotSite]) -> tuple[bool, bool, float]:
        km, site = entry
        own_point = county_id is not None and site.point_of_county == county_id
        return (not own_point, site.prefecture and km >= nearest_county, km)

    ordered = sorted(measured, key=lambda e: (*key(e), e[1].code))
    return [[s for _, s in group] for _, group in groupby(ordered, key=key)]


def allocate(
    needs: Sequence[Need],
    *,
    county_id: int,
    destination: Point,
    sites: Iterable[DepotSite],
    candidates: Iterable[Candidate],
    delivery_date: date,
    allow_other_counties: bool = False,
    distance: Distance = straight_line_km,
) -> Plan:
    by_id = {site.depot_id: site for site in sites}
    shelves: dict[tuple[int, int], list[LotStock]] = defaultdict(list)
    holders: dict[int, set[int]] = defaultdict(set)  # item -> depots that could serve it
    free: dict[int, int] = {}
    for c in candidates:
        if (
            c.depot_id in by_id
            and dispatch_may_use(c.owner_county_id, county_id, allow_other_counties)
            and usable(c.stock, delivery_date)
        ):
            shelves[(c.depot_id, c.item_id)].append(c.stock)
            holders[c.item_id].add(c.depot_id)
            free[c.stock.quant_id] = c.stock.available

    def on_shelf(depot_id: int, item_id: int) -> list[LotStock]:
        return [
            replace(s, available=free[s.quant_id])
            for s in shelves.get((depot_id, item_id), ())
            if free[s.quant_id] > 0
        ]

    picks: list[Pick] = []
    shortages: list[Shortage] = []
    used: set[int] = set()
    for need in needs:
        missing = need.quantity
        stocked = (by_id[depot_id] for depot_id in holders[need.item_id])
        for tier in depot_tiers(stocked, destination, distance, county_id):
            if missing == 0:
                break
            holding = {
                s.depot_id: sum(x.available for x in on_shelf(s.depot_id, need.item_id))
                for s in tier
            }
            for site in sorted(
                tier, key=lambda s: (s.depot_id not in used, -holding[s.depot_id], s.code)
            ):
                if missing == 0:
                    break
                taken, missing = pick_fefo(
                    on_shelf(site.depot_id, need.item_id), missing, delivery_date
                )
                for stock, quantity in taken:
                    free[stock.quant_id] -= quantity
                    used.add(site.depot_id)
                    picks.append(
                        Pick(
                            need.line_id,
                            site.depot_id,
                            need.item_id,
                            stock.quant_id,
                            stock.lot_id,
                            stock.owner_id,
                            quantity,
                        )
                    )
        if missing:
            shortages.append(Shortage(need.line_id, need.item_id, missing))
    return Plan(tuple(picks), tuple(shortages))
