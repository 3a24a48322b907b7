"""Reading what the readiness calculators need: standards, item contents, travel legs,
free stock. Reads only; the services write."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation.allocator import Distance, Point
from relief_inventory.allocation.models import DisasterType
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import User
from relief_inventory.auth.policy import require_county
from relief_inventory.errors import NotFound
from relief_inventory.readiness import coverage, scenario
from relief_inventory.readiness.models import (
    LOSS_SECTORS,
    CountyRisk,
    DisasterReport,
    ItemContent,
    ReadinessStandard,
    ReportState,
    RoadDistance,
    TownshipRoad,
)
from relief_inventory.readiness.standards import (
    DEFAULT_HOUSEHOLD_SIZE,
    DEFAULT_ITEM_CONTENTS,
    DEFAULT_STANDARDS,
    Basis,
    Standard,
)
from relief_inventory.readiness.travel import Leg, TravelSettings, estimated_leg, measured_leg
from relief_inventory.stock import lot_status
from relief_inventory.stock.models import Category, Item, Lot, Owner, OwnerLevel, Quant
from relief_inventory.warehouse.models import (
    County,
    Depot,
    DepotLevel,
    Location,
    LocationKind,
    Township,
)
from relief_inventory.warehouse.services import county_by_code

CENT = Decimal("0.01")
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


def township_road_table(session: Session, township_id: int) -> dict[int, TownshipRoad]:
    return {
        row.depot_id: row
        for row in session.scalars(
            select(TownshipRoad).where(TownshipRoad.township_id == township_id)
        )
    }


def leg(
    road: RoadDistance | TownshipRoad | None, depot: Point, place: Point, settings: TravelSettings
) -> Leg:
    if road is not None:
        return measured_leg(road.km, road.hours, settings)
    return estimated_leg(depot, place, settings)


def sources(
    session: Session,
    county: County,
    settings: TravelSettings,
    township: Township | None = None,
) -> list[scenario.Source]:
    """Every active depot and stock point, with its road (or estimated) leg to the place:
    the township when one is named, else the county seat."""
    if township is not None:
        place = Point(float(township.lat), float(township.lon))
        roads: dict[int, RoadDistance | TownshipRoad] = dict(
            township_road_table(session, township.id)
        )
    else:
        place = Point(float(county.lat), float(county.lon))
        roads = dict(road_table(session, county.id))
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


# -- disaster reports ------------------------------------------------------------------------

FIGURES = (
    "people_affected",
    "people_relocated",
    "people_needing_aid",
    "houses_collapsed",
    "houses_damaged",
    *LOSS_SECTORS,
)


def report_view(session: Session, report: DisasterReport) -> dict[str, Any]:
    county = session.get(County, report.county_id)
    assert county is not None
    users = dict(
        session.execute(
            select(User.id, User.username).where(
                User.id.in_([report.created_by_id, report.verified_by_id or 0])
            )
        ).all()
    )
    direct = sum((getattr(report, name) for name in LOSS_SECTORS), Decimal("0.00"))
    return {
        "number": report.number,
        "version": report.version,
        "county": county.code,
        "county_name": county.name,
        "hazard": report.hazard,
        "hazard_label": DisasterType.LABELS.get(report.hazard, report.hazard),
        "event_date": report.event_date,
        "title": report.title,
        **{name: getattr(report, name) for name in FIGURES},
        "direct_loss": direct,
        "note": report.note,
        "state": report.state,
        "state_label": ReportState.LABELS[report.state],
        "created_by": users.get(report.created_by_id),
        "created_at": report.created_at,
        "verified_by": users.get(report.verified_by_id),
        "verified_at": report.verified_at,
        "verification_note": report.verification_note,
    }


def report_versions(session: Session, actor: Actor, number: object) -> list[dict[str, Any]]:
    """Every version of a report, newest first (as missing to whom may not see it)."""
    from relief_inventory.readiness.disaster import current

    latest = current(session, number)
    require_county(actor, latest.county_id, hidden=NotFound(f"灾情报告不存在：{number}"))
    rows = session.scalars(
        select(DisasterReport)
        .where(DisasterReport.number == latest.number)
        .order_by(DisasterReport.version.desc())
    )
    return [report_view(session, row) for row in rows]


def list_reports(
    session: Session,
    actor: Actor,
    *,
    year: int | None = None,
    county: str | None = None,
    state: str | None = None,
    page: int = 1,
    per_page: int = 100,
) -> dict[str, Any]:
    """Current versions (the latest of each number), newest event first; requesters see
    their own county's."""
    latest = (
        select(DisasterReport.number, func.max(DisasterReport.version).label("version"))
        .group_by(DisasterReport.number)
        .subquery()
    )
    query = select(DisasterReport).join(
        latest,
        (latest.c.number == DisasterReport.number) & (latest.c.version == DisasterReport.version),
    )
    if year is not None:
        query = query.where(DisasterReport.event_date.between(date(year, 1, 1), date(year, 12, 31)))
    if county is not None:
        query = query.where(DisasterReport.county_id == county_by_code(session, county).id)
    if state is not None:
        query = query.where(DisasterReport.state == state)
    if not can_read_all_counties(actor):
        query = query.where(DisasterReport.county_id.in_(list(actor.county_ids) or [0]))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(DisasterReport.event_date.desc(), DisasterReport.number.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return {
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": -(-total // per_page),
        "results": [report_view(session, r) for r in rows],
    }


def can_read_all_counties(actor: Actor) -> bool:
    return actor.is_admin or actor.has(Role.DISPATCHER, Role.AUDITOR, Role.FINANCE)


def annual_figures(session: Session, year: int) -> dict[str, Any]:
    """The year's figures per county and in all, from verified versions only (a superseded,
    rejected or unverified version never counts)."""
    sums = [func.coalesce(func.sum(getattr(DisasterReport, n)), 0) for n in FIGURES]
    rows = session.execute(
        select(County.code, County.name, func.count(DisasterReport.id), *sums)
        .join(DisasterReport, DisasterReport.county_id == County.id)
        .where(
            DisasterReport.state == ReportState.VERIFIED,
            DisasterReport.event_date.between(date(year, 1, 1), date(year, 12, 31)),
        )
        .group_by(County.code, County.name)
        .order_by(County.code)
    ).all()
    money = set(LOSS_SECTORS)

    def figures(values: Iterable[Any]) -> dict[str, Any]:
        # sums of money columns come back as yuan (the column type reads them)
        out = {
            name: Decimal(value).quantize(CENT) if name in money else int(value)
            for name, value in zip(FIGURES, values, strict=True)
        }
        out["direct_loss"] = sum((out[n] for n in LOSS_SECTORS), Decimal("0.00"))
        return out

    counties = [
        {"county": code, "county_name": name, "reports": count, **figures(values)}
        for code, name, count, *values in rows
    ]
    total = {
        "reports": sum(c["reports"] for c in counties),
        **{
            name: sum((c[name] for c in counties), Decimal("0.00") if name in money else 0)
            for name in (*FIGURES, "direct_loss")
        },
    }
    pending = session.scalar(
        select(func.count())
        .select_from(DisasterReport)
        .where(
            DisasterReport.state == ReportState.SUBMITTED,
            DisasterReport.event_date.between(date(year, 1, 1), date(year, 12, 31)),
        )
    )
    return {"year": year, "counties": counties, "total": total, "awaiting_verification": pending}


def standard_text(standard: Standard) -> str:
    amount = format(standard.amount.normalize(), "f")
    return f"{Basis.LABELS[standard.basis]}{amount}{standard.measure}"


def per_person(standard: Standard, household_size: int = DEFAULT_HOUSEHOLD_SIZE) -> Decimal:
    """The standard per person (per person and day for daily needs)."""
    if standard.basis == Basis.PER_HOUSEHOLD:
        return standard.amount / household_size
    return standard.amount


def report_check(
    session: Session, request: Any, lines: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """What a request asks per relocated person of the report it cites, beside the
    standard, for the dispatcher deciding it. None when it cites no report."""
    if not request.disaster_report:
        return None
    from relief_inventory.readiness.disaster import current

    report = current(session, request.disaster_report)
    known = standards(session)
    by_code = {info.code: info for info in items(session).values()} if lines else {}
    relocated = report.people_relocated
    out = []
    for line in lines:
        info = by_code.get(line["item"])
        standard = known.get(info.category) if info else None
        measures = Decimal(line["quantity"]) * (info.content if info else Decimal(1))
        out.append(
            {
                "item": line["item"],
                "quantity": line["quantity"],
                "measure": standard.measure if standard else line["unit"],
                "per_relocated": (
                    str((measures / relocated).quantize(CENT, rounding=ROUND_HALF_UP))
                    if relocated
                    else None
                ),
                "standard": standard_text(standard) if standard else None,
                "standard_per_person": (
                    str(per_person(standard).quantize(Decimal("0.0001")).normalize())
                    if standard
                    else None
                ),
            }
        )
    return {
        "number": report.number,
        "version": report.version,
        "state": report.state,
        "state_label": ReportState.LABELS[report.state],
        "people_affected": report.people_affected,
        "people_relocated": relocated,
        "lines": out,
    }


# -- coverage ------------------------------------------------------------------------------


def counties_at_risk(session: Session) -> list[coverage.CountyAtRisk]:
    return [
        coverage.CountyAtRisk(county.id, county.code, county.name, risk.population_at_risk)
        for county, risk in session.execute(
            select(County, CountyRisk)
            .join(CountyRisk, CountyRisk.county_id == County.id)
            .where(County.active.is_(True))
            .order_by(County.code)
        )
    ]


def depot_sites(session: Session) -> list[coverage.DepotSite]:
    """Active depots and stock points (whose stock counts for their county)."""
    return [
        coverage.DepotSite(
            depot_id, code, county_id, level == DepotLevel.PREFECTURE, parent is not None
        )
        for depot_id, code, county_id, level, parent in session.execute(
            select(Depot.id, Depot.code, Depot.county_id, Depot.level, Depot.parent_id)
            .where(Depot.active.is_(True))
            .order_by(Depot.code)
        )
    ]


def coverage_targets(session: Session) -> dict[str, Decimal | None]:
    """The bureau's target per 1,000 people at risk, where it set one."""
    return {
        code: (Decimal(target) if target is not None else None)
        for code, target in session.execute(
            select(Category.code, ReadinessStandard.target_per_1000).join(
                ReadinessStandard, ReadinessStandard.category_id == Category.id
            )
        )
    }
