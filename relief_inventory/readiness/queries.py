"""Reading what the readiness calculators need: standards, item contents, travel legs,
free stock. Reads only; the services write."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation.allocator import Distance, Point
from relief_inventory.errors import NotFound
from relief_inventory.readiness import scenario
from relief_inventory.readiness.models import (
    DisasterReport,
    ItemContent,
    ReadinessStandard,
    ReportState,
    RoadDistance,
)
from relief_inventory.readiness.standards import DEFAULT_ITEM_CONTENTS, DEFAULT_STANDARDS, Standard
from relief_inventory.readiness.travel import Leg, TravelSettings, estimated_leg, measured_leg
from relief_inventory.stock import lot_status
from relief_inventory.stock.models import Category, Item, Lot, Owner, OwnerLevel, Quant
from relief_inventory.warehouse.models import County, Depot, DepotLevel, Location, LocationKind

WORST_EVENT_DAYS = 7  # a relocation after the year's worst event: a week of support


def standards(session: Session) -> dict[str, Standard]:
    """Every active category's standard: the bureau's row, else the default."""
    rows = {
        code: row
        for code, row in session.execute(
            select(Category.code, ReadinessStandard).join(
                ReadinessStandard, ReadinessStandard.category_id == Category.id
            )
        )
    }
    result = {}
    for code in session.scalars(
        select(Category.code).where(Category.active.is_(True)).order_by(Category.sort_order)
    ):
        row = rows.get(code)
        if row is not None:
            result[code] = Standard(code, row.basis, Decimal(row.amount), row.measure)
        elif code in DEFAULT_STANDARDS:
            result[code] = DEFAULT_STANDARDS[code]
    return result


def category_names(session: Session) -> dict[str, str]:
    query = select(Category.code, Category.name).order_by(Category.sort_order)
    return {code: name for code, name in session.execute(query)}


def items(session: Session, item_ids: Iterable[int] | None = None) -> dict[int, scenario.ItemInfo]:
    """Items with their category and content (the table's, else the seeded default by code,
    else one measure per piece)."""
    query = (
        select(Item.id, Item.code, Item.name, Item.unit, Category.code, ItemContent.content)
        .join(Category, Category.id == Item.category_id)
        .outerjoin(ItemContent, ItemContent.item_id == Item.id)
    )
    if item_ids is not None:
        query = query.where(Item.id.in_(list(item_ids)))
    return {
        row[0]: scenario.ItemInfo(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            Decimal(row[5])
            if row[5] is not None
            else DEFAULT_ITEM_CONTENTS.get(row[1], Decimal(1)),
        )
        for row in session.execute(query)
    }


def road_table(session: Session, county_id: int) -> dict[int, RoadDistance]:
    return {
        row.depot_id: row
        for row in session.scalars(select(RoadDistance).where(RoadDistance.county_id == county_id))
    }


def leg(road: RoadDistance | None, depot: Point, place: Point, settings: TravelSettings) -> Leg:
    if road is not None:
        return measured_leg(road.km, road.hours, settings)
    return estimated_leg(depot, place, settings)


def sources(session: Session, county: County, settings: TravelSettings) -> list[scenario.Source]:
    """Every active depot, with its road (or estimated) leg to the county seat."""
    place = Point(float(county.lat), float(county.lon))
    roads = road_table(session, county.id)
    return [
        scenario.Source(
            depot.id,
            depot.code,
            depot.name,
            depot.level == DepotLevel.PREFECTURE,
            leg(roads.get(depot.id), Point(float(depot.lat), float(depot.lon)), place, settings),
            float(settings.loading_hours),
        )
        for depot in session.scalars(
            select(Depot).where(Depot.active.is_(True)).order_by(Depot.code)
        )
    ]


def road_distance(
    session: Session, county: County, settings: TravelSettings = TravelSettings()
) -> Distance:
    """The allocator's distance to ``county`` by road: the table's km where the bureau has
    measured a depot's road, else the estimate (straight line × detour factor). Keyed by
    the depot's point, as the allocator asks."""
    roads = road_table(session, county.id)
    measured = {}
    if roads:
        for depot_id, lat, lon in session.execute(
            select(Depot.id, Depot.lat, Depot.lon).where(Depot.id.in_(list(roads)))
        ):
            measured[Point(float(lat), float(lon))] = float(roads[depot_id].km)

    def distance(depot: Point, place: Point) -> float:
        if depot in measured:
            return measured[depot]
        return estimated_leg(depot, place, settings).km

    return distance


def free_stock(session: Session, depot_ids: Iterable[int], on_date: date) -> list[scenario.Stock]:
    """Free pieces (on hand − reserved) of usable lots on active internal locations, per
    depot, item and owner: what a dispatch could still take. Reservations and the holds of
    draft documents are already in ``reserved``."""
    free = func.sum(Quant.on_hand - Quant.reserved)
    query = (
        select(Location.depot_id, Quant.item_id, Owner.level, Owner.county_id, free)
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Owner, Owner.id == Quant.owner_id)
        .where(
            Quant.on_hand > Quant.reserved,
            Location.kind == LocationKind.INTERNAL,
            Location.active.is_(True),
            Depot.active.is_(True),
            Location.depot_id.in_(list(depot_ids)),
            lot_status.usable_sql(on_date),
        )
        .group_by(Location.depot_id, Quant.item_id, Owner.level, Owner.county_id)
    )
    query = lot_status.join_depot_status(query, Location.depot_id)
    return [
        scenario.Stock(
            depot,
            item,
            level,
            owner_county if level == OwnerLevel.COUNTY else None,
            int(pieces),
        )
        for depot, item, level, owner_county, pieces in session.execute(query)
    ]


def worst_event(session: Session, year: int) -> dict[str, Any]:
    """The verified report of ``year`` with the most people relocated, as a scenario."""
    report = session.scalar(
        select(DisasterReport)
        .where(
            DisasterReport.state == ReportState.VERIFIED,
            DisasterReport.event_date >= date(year, 1, 1),
            DisasterReport.event_date <= date(year, 12, 31),
            DisasterReport.people_relocated > 0,
        )
        .order_by(DisasterReport.people_relocated.desc(), DisasterReport.number)
        .limit(1)
    )
    if report is None:
        raise NotFound(f"没有 {year} 年已核查且有转移安置人数的灾情报告", field="preset")
    county = session.get(County, report.county_id)
    assert county is not None
    return {
        "county": county.code,
        "relocated": report.people_relocated,
        "days": WORST_EVENT_DAYS,
        "hazard": report.hazard,  # a dispatch disaster type
        "title": f"{report.title}（{report.number}）",
    }
