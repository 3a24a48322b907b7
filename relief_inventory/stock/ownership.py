"""Whose reserve stock is (代储) and when it may move: the one ownership rule. Pure.

A depot keeps its own reserve (a county depot its county's, the prefecture depot the
prefecture's) and, on behalf of others, stock of the centre, the province, the prefecture
or another county. Stock of a reserve other than the depot's own enters or leaves the depot
only with that reserve level's dispatch order (调令, ``authority_order`` on the document).
Every document that moves stock obeys it: receipts, transfers (at both depots), issues,
write-offs, count differences, rotations, reversals, dispatches and returns; the balance
changes themselves refuse a move that breaks it (``stock.services.post_move``).

For emergency dispatch the dispatcher's approval of a county's request is the order of the
levels above the counties and of the requesting county's own reserve (the request number is
written as ``authority_order``); another county's reserve serves it only when the dispatcher
says so (``dispatch_may_use``).

No database and no Flask here, so the allocator can use it too.
"""

from __future__ import annotations

from typing import Protocol

# ``warehouse.models.DepotLevel.PREFECTURE``: the prefecture depot holds the prefecture's
# reserve as its own. (Spelled out so this module imports no models.)
PREFECTURE_DEPOT = "prefecture"


class OwnerLevel:
    """Whose reserve the stock is."""

    CENTRAL = "central"
    PROVINCIAL = "provincial"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    ALL = (CENTRAL, PROVINCIAL, PREFECTURE, COUNTY)
    RANK = {COUNTY: 1, PREFECTURE: 2, PROVINCIAL: 3, CENTRAL: 4}
    LABELS = {
        CENTRAL: "中央储备",
        PROVINCIAL: "省级储备",
        PREFECTURE: "州级储备",
        COUNTY: "县级储备",
    }


class DepotLike(Protocol):
    level: str
    county_id: int


class OwnerLike(Protocol):
    level: str
    county_id: int | None


def is_own_reserve(depot: DepotLike, owner: OwnerLike) -> bool:
    """The prefecture depot's own reserve is the prefecture's; a county depot's, its
    county's county reserve."""
    if depot.level == PREFECTURE_DEPOT:
        return owner.level == OwnerLevel.PREFECTURE
    return owner.level == OwnerLevel.COUNTY and owner.county_id == depot.county_id


def may_move(depot: DepotLike, owner: OwnerLike, authority_order: str) -> bool:
    """May stock of ``owner`` enter or leave ``depot`` on a document with this order?"""
    return bool(authority_order) or is_own_reserve(depot, owner)


def dispatch_may_use(
    owner_county_id: int | None, county_id: int, allow_other_counties: bool
) -> bool:
    """May a dispatch request of ``county_id`` use this stock? ``owner_county_id`` is set for
    county reserves only (None for the prefecture, province and centre, whose order the
    dispatcher's approval is). Another county's reserve only when the dispatcher allows it."""
    return owner_county_id is None or owner_county_id == county_id or allow_other_counties
