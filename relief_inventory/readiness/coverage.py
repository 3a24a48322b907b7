"""Coverage: does each county hold what its people at risk would need, and which
pre-positioning transfer would close a gap best. Pure: no database.

A county's target per category is the need of a share of its population at risk (default:
one in ten, for three days, by the per-person standards), or the bureau's target per 1,000
people at risk where it set one. What a county holds is the free usable stock in its own
depots (any owner: it is there when the roads are cut). The prefecture depot serves
everyone and has no target of its own.

The suggested transfer for a gap comes from the depot with stock to spare that closes most
of it (a county depot spares what it holds above its own target; the prefecture depot all
its free stock), the nearest first among equals, in the item that source holds most.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from relief_inventory.readiness.standards import Standard, need

DEFAULT_SHARE = Decimal("0.1")  # of the population at risk to be supported
DEFAULT_DAYS = 3


@dataclass(frozen=True)
class CountyAtRisk:
    county_id: int
    code: str
    name: str
    population_at_risk: int


@dataclass(frozen=True)
class Holding:
    """Free usable pieces of one item in one depot."""

    depot_id: int
    depot_code: str
    county_id: int  # where the depot is
    prefecture: bool
    item_id: int
    item_code: str
    category: str
    content: Decimal
    pieces: int


@dataclass(frozen=True)
class Transfer:
    from_depot: str
    item: str
    pieces: int
    measures: Decimal
    hours: float


@dataclass(frozen=True)
class Line:
    county: str
    category: str
    target: int
    held: Decimal
    gap: int
    percent: int
    transfer: Transfer | None


@dataclass(frozen=True)
class DepotSite:
    depot_id: int
    code: str
    county_id: int
    prefecture: bool
    point: bool = False  # a township stock point: its stock is its county's


def holdings(
    stock: Iterable, items: Mapping[int, Any], depots: Iterable[DepotSite]
) -> list[Holding]:
    """Free pieces per depot and item (all owners together) from the scenario's stock rows."""
    sites = {d.depot_id: d for d in depots}
    pieces: dict[tuple[int, int], int] = defaultdict(int)
    for row in stock:
        pieces[(row.depot_id, row.item_id)] += row.free
    out = []
    for (depot_id, item_id), count in sorted(pieces.items()):
        site, item = sites[depot_id], items[item_id]
        out.append(
            Holding(
                depot_id,
                site.code,
                site.county_id,
                site.prefecture,
                item_id,
                item.code,
                item.category,
                item.content,
                count,
            )
        )
    return out


def target(
    standard: Standard,
    population_at_risk: int,
    per_1000: Decimal | None,
    share: Decimal = DEFAULT_SHARE,
    days: int = DEFAULT_DAYS,
) -> int:
    """Measures a county should hold of a category."""
    if per_1000 is not None:
        return math.ceil(per_1000 * population_at_risk / 1000)
    return need(standard, math.ceil(population_at_risk * share), days)


def coverage(
    counties: Iterable[CountyAtRisk],
    standards: Mapping[str, Standard],
    targets_per_1000: Mapping[str, Decimal | None],
    holdings: Iterable[Holding],
    hours: Mapping[tuple[int, int], float],  # (depot id, county id) -> travel hours
) -> list[Line]:
    counties = list(counties)
    holdings = list(holdings)
    held: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for h in holdings:
        if not h.prefecture:
            held[(h.county_id, h.category)] += h.pieces * h.content
    goals = {
        (c.county_id, code): target(s, c.population_at_risk, targets_per_1000.get(code))
        for c in counties
        for code, s in standards.items()
    }
    lines = []
    for county in counties:
        for code in standards:
            goal = goals[(county.county_id, code)]
            have = held[(county.county_id, code)]
            gap = max(0, math.ceil(goal - have))
            transfer = (
                _best_transfer(county, code, gap, holdings, held, goals, hours) if gap else None
            )
            percent = 100 if goal == 0 else min(999, int(have * 100 / goal))
            lines.append(Line(county.code, code, goal, have, gap, percent, transfer))
    return lines


def _best_transfer(
    county: CountyAtRisk,
    category: str,
    gap: int,
    holdings: list[Holding],
    held: Mapping[tuple[int, str], Decimal],
    goals: Mapping[tuple[int, str], int],
    hours: Mapping[tuple[int, int], float],
) -> Transfer | None:
    """The single transfer (one depot, one item) that closes most of the gap."""
    best: tuple[tuple, Transfer] | None = None
    by_depot: dict[int, list[Holding]] = defaultdict(list)
    for h in holdings:
        elsewhere = h.prefecture or h.county_id != county.county_id
        if h.category == category and elsewhere and h.pieces > 0:
            by_depot[h.depot_id].append(h)
    for depot_id, items in by_depot.items():
        first = items[0]
        if first.prefecture:
            spare = sum((h.pieces * h.content for h in items), Decimal(0))
        else:
            spare = held[(first.county_id, category)] - goals.get((first.county_id, category), 0)
        if spare <= 0:
            continue
        item = max(items, key=lambda h: (h.pieces * h.content, h.item_code))
        usable = min(spare, item.pieces * item.content, Decimal(gap))
        pieces = math.ceil(usable / item.content)
        pieces = min(pieces, item.pieces, int(spare // item.content) or 1)
        measures = pieces * item.content
        hour = hours.get((depot_id, county.county_id), math.inf)
        key = (-min(measures, gap), hour, first.depot_code)
        transfer = Transfer(first.depot_code, item.item_code, pieces, measures, hour)
        if best is None or key < best[0]:
            best = (key, transfer)
    return best[1] if best else None
