"""Townships and township stock points (乡镇/村组预置点), through the services.

Each county's townships come from ``seed/data/townships.csv`` (approximate coordinates, for
the demo); a high-risk township with a ``point`` code gets a stock point below its county
depot, kept by the county depot's keepers and, for 大庄镇, by a keeper of its own
(``pointkeeper``). On the last day of 2024 each county depot pre-positions part of its own
county reserve at its points by ordinary transfers, booked in the same day: the prefecture's
year-end total stays 217,300 pieces and no issue to a county is added. At ``--scale N`` only
the real prefecture (copy 0) gets points. A few measured township roads
(``township_roads.csv``) replace the estimate for 双柏县's and 元谋县's points.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from relief_inventory.auth import services as auth
from relief_inventory.auth.actor import Actor
from relief_inventory.readiness import services as readiness
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import Category, Item, Lot, Owner, OwnerLevel, Quant
from relief_inventory.timeutil import LOCAL_ZONE
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse import services as warehouse
from relief_inventory.warehouse.models import County, Depot, Location, LocationKind

DATA = Path(__file__).parent / "data"
REASON = "演示数据：乡镇预置点"
DAY = date(2024, 12, 31)
# Share of the county depot's free own reserve of a category moved out to its points, split
# between them: the goods a township needs in the first hours after a disaster.
PREPOSITION = {"TENT": 0.3, "QUILT": 0.3, "BLANKET": 0.2, "RICE": 0.25, "WATER": 0.25}
POINT_KEEPER = ("pointkeeper", "大庄镇预置点保管员", "demo-pointkeeper-2024", "SBDZ")


@dataclass(frozen=True)
class TownshipRow:
    code: str
    name: str
    county: str
    lat: str
    lon: str
    high_risk: bool
    point: str
    reason: str


def townships() -> list[TownshipRow]:
    with (DATA / "townships.csv").open(encoding="utf-8") as handle:
        return [
            TownshipRow(
                row["code"],
                row["name"],
                row["county"],
                row["lat"],
                row["lon"],
                row["high_risk"] == "1",
                row["point"],
                row["reason"],
            )
            for row in csv.DictReader(handle)
        ]


def seed_points(engine: Engine, rng: random.Random, scale: int) -> None:
    system = auth.system_actor(engine)
    rows = townships()
    with UnitOfWork(engine, system, reason=REASON) as uow:
        for row in rows:
            warehouse.create_township(
                uow, row.code, row.name, row.county, row.lat, row.lon, high_risk=row.high_risk
            )
        for row in rows:
            if row.point:
                _create_point(uow, row)
        username, display, password, point = POINT_KEEPER
        auth.create_user(uow, username, password, display_name=display)
        auth.grant_role(uow, username, "keeper", depot_code=point)
        with (DATA / "township_roads.csv").open(encoding="utf-8") as handle:
            for road in csv.DictReader(handle):
                readiness.set_township_road(
                    uow,
                    road["depot"],
                    road["township"],
                    km=road["km"],
                    hours=road["hours"],
                    note=road["note"],
                )
    _preposition(engine, system, rows, rng)


def _create_point(uow: UnitOfWork, row: TownshipRow) -> Depot:
    parent = uow.session.scalar(
        select(Depot)
        .join(County, County.id == Depot.county_id)
        .where(County.code == row.county, Depot.level == "county", Depot.parent_id.is_(None))
        .order_by(Depot.id)
        .limit(1)
    )
    assert parent is not None, f"no county depot for {row.county}"
    county = uow.session.get_one(County, parent.county_id)
    return warehouse.create_point(
        uow,
        code=row.point,
        name=f"{county.name}{row.name}救灾物资预置点",
        parent_code=parent.code,
        township_code=row.code,
        address=f"{county.name}{row.name}人民政府院内",
        keeper_name=f"{row.name}民政助理员",
    )


def _preposition(
    engine: Engine, system: Actor, rows: list[TownshipRow], rng: random.Random
) -> None:
    """One transfer per point from its county depot, booked in an hour later."""
    with UnitOfWork(engine, system, reason=REASON) as uow:
        points = list(
            uow.session.scalars(
                select(Depot)
                .where(Depot.code.in_([r.point for r in rows if r.point]))
                .order_by(Depot.code)
            )
        )
        siblings: dict[int, int] = {}
        for point in points:
            siblings[point.parent_id] = siblings.get(point.parent_id, 0) + 1  # type: ignore[index]
        for index, point in enumerate(points):
            parent = uow.session.get_one(Depot, point.parent_id)
            lines = _lines(uow.session, parent, siblings[parent.id])
            if not lines:
                continue
            at = datetime.combine(DAY, time(9, 0), LOCAL_ZONE).astimezone(UTC) + timedelta(
                minutes=10 * index + rng.randint(0, 9)
            )
            document = stock.transfer(
                uow,
                from_depot=parent.code,
                to_depot=point.code,
                lines=lines,
                reason=f"汛前、冬春前置储备：向{point.name}前置救灾物资",
                at=at,
            )
            stock.complete_transfer(uow, document.number, at=at + timedelta(hours=1))


def _lines(session: Session, parent: Depot, points: int) -> list[dict[str, object]]:
    """Per category, the item the depot holds most of in its own county reserve; from its
    freshest lot, the category's share split between the depot's points."""
    location = session.scalar(
        select(Location.id).where(
            Location.depot_id == parent.id, Location.kind == LocationKind.INTERNAL
        )
    )
    rows = session.execute(
        select(Category.code, Item.code, Lot.number, Owner.code, Quant.on_hand - Quant.reserved)
        .join(Item, Item.id == Quant.item_id)
        .join(Category, Category.id == Item.category_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Owner, Owner.id == Quant.owner_id)
        .where(
            Quant.location_id == location,
            Quant.on_hand > Quant.reserved,
            Owner.level == OwnerLevel.COUNTY,
            Owner.county_id == parent.county_id,
            Category.code.in_(list(PREPOSITION)),
            Lot.expiry_date.is_(None) | (Lot.expiry_date > DAY + timedelta(days=365)),
        )
        .order_by(Category.code, Item.code, Lot.expiry_date.desc(), Lot.number)
    ).all()
    held: dict[str, dict[str, int]] = {}
    freshest: dict[str, tuple[str, str, int]] = {}
    for category, item, lot, owner, free in rows:
        held.setdefault(category, {})
        held[category][item] = held[category].get(item, 0) + int(free)
        freshest.setdefault(item, (lot, owner, int(free)))
    lines = []
    for category, items in sorted(held.items()):
        item = max(items, key=lambda code: (items[code], code))
        lot, owner, free = freshest[item]
        quantity = min(free, int(items[item] * PREPOSITION[category] / points))
        if quantity > 0:
            lines.append({"item": item, "lot": lot, "owner": owner, "quantity": quantity})
    return lines
