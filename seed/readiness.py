"""Readiness demo data: what each item holds of its category's measure, the roads to 双柏县,
each county's population at risk, and the 2024 disaster reports — filed by each county's
requester, verified by ``dispatcher``, a few corrected or sent back first.

The reports are the events the stock history issued relief goods for (the county's
``…应急请〔2024〕N号`` issues, less winter-spring relief, which answers no single event), and
their verified figures add up exactly to FACTS.md: 422,423 people affected and 262,116,300
yuan of direct loss with its sector split. Everything else (the split between events,
relocations, houses) is a plausible invention drawn from ``rng``.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from relief_inventory.auth import services as auth
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import RoleGrant, User
from relief_inventory.db import open_session
from relief_inventory.readiness import disaster, services, upkeep
from relief_inventory.readiness.models import LOSS_SECTORS
from relief_inventory.readiness.standards import DEFAULT_ITEM_CONTENTS
from relief_inventory.stock.models import Category, DocKind, Item, StockDocument
from relief_inventory.timeutil import to_local
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import County, Depot
from seed.timeline import split

DATA = Path(__file__).parent / "data"
YEAR = 2024
PEOPLE_AFFECTED = 422_423
DIRECT_LOSS = 262_116_300
# Direct economic loss by sector, in yuan. The bureau published the total (26211.63万元) and
# each sector rounded to 0.01万元 (308.95, 24868.91, 100, 910.02, 23.76万元), which add up to
# 100 yuan more than the total. These sector figures round to the published ones and add up
# to the published total exactly.
LOSSES = {
    "loss_housing": 3_089_460,
    "loss_agriculture": 248_689_080,
    "loss_industry": 1_000_000,
    "loss_infrastructure": 9_100_160,
    "loss_public": 237_600,
}
assert sum(LOSSES.values()) == DIRECT_LOSS
LOSS_UNIT = 10  # losses are split in whole tens of yuan
REASON = "战备演示数据"

# The hazards of the stock history's events, recognised by their reason text.
HAZARDS = {
    "低温雨雪冰冻": "freeze",
    "洪涝": "flood",
    "地质灾害": "geological",
    "风雹": "wind_hail",
    "干旱": "drought",
    "森林火情": "forest_fire",
    "地震": "earthquake",
}
# How much each hazard weighs in each figure (people affected, each loss sector).
WEIGHTS = {
    "people_affected": {
        "drought": 30,
        "flood": 8,
        "wind_hail": 6,
        "freeze": 4,
        "earthquake": 5,
        "geological": 3,
        "forest_fire": 1,
    },
    "loss_housing": {"earthquake": 5, "geological": 4, "flood": 3, "wind_hail": 1},
    "loss_agriculture": {"drought": 10, "wind_hail": 6, "flood": 4, "freeze": 3, "geological": 1},
    "loss_industry": {"flood": 3, "geological": 2, "earthquake": 1},
    "loss_infrastructure": {"flood": 4, "geological": 4, "earthquake": 2, "wind_hail": 1},
    "loss_public": {"flood": 1, "earthquake": 1, "geological": 1},
}
RELOCATED_SHARE = {"earthquake": 0.2, "geological": 0.15, "flood": 0.06, "forest_fire": 0.05}


@dataclass(frozen=True)
class Event:
    county: str
    hazard: str
    day: date
    title: str


def seed_readiness(engine: Engine, rng: random.Random, scale: int) -> None:
    system = auth.system_actor(engine)
    with UnitOfWork(engine, system, reason=REASON) as uow:
        _contents(uow)
        _roads_and_risk(uow)
        _inspections(uow, rng)
    _reports(engine, rng)


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _contents(uow: UnitOfWork) -> None:
    """Every copy of an item holds what its original does (``RICE-10-002`` is 10 kg)."""
    for code in uow.session.scalars(select(Item.code).order_by(Item.id)):
        base = next(
            (b for b in DEFAULT_ITEM_CONTENTS if code == b or code.startswith(b + "-0")), None
        )
        if base is not None:
            services.set_item_content(uow, code, DEFAULT_ITEM_CONTENTS[base])


def _roads_and_risk(uow: UnitOfWork) -> None:
    depots = set(uow.session.scalars(select(Depot.code)))
    for row in _rows("roads.csv"):
        if row["depot"] in depots:
            services.set_road_distance(
                uow, row["depot"], row["county"], km=row["km"], hours=row["hours"], note=row["note"]
            )
    for row in _rows("county_risk.csv"):
        services.set_population_at_risk(uow, row["county"], int(row["population_at_risk"]))


def _inspections(uow: UnitOfWork, rng: random.Random) -> None:
    """The year-end inspections of 2024: each depot's categories, in December (most of the
    real prefecture's copies only; at scale the copies are left uninspected)."""
    depots = uow.session.scalars(select(Depot.code).where(~Depot.code.contains("-")))
    categories = list(uow.session.scalars(select(Category.code).order_by(Category.sort_order)))
    for depot in depots:
        for category in categories:
            day = date(YEAR, 12, rng.randint(1, 28))
            upkeep.record_inspection(
                uow, depot=depot, category=category, note="年终检测维护", on=day
            )


def _events(engine: Engine) -> list[Event]:
    """One event per county request number of the 2024 issues (the first issue's day, less
    a day or two, is the event's), winter-spring relief left out."""
    with open_session(engine) as session:
        rows = session.execute(
            select(
                County.code,
                StockDocument.source_ref,
                func.min(StockDocument.reason),
                func.min(StockDocument.created_at),
            )
            .join(County, County.id == StockDocument.county_id)
            .where(StockDocument.kind == DocKind.ISSUE, StockDocument.source_ref.like("%〔2024〕%"))
            .group_by(County.code, StockDocument.source_ref)
            .order_by(func.min(StockDocument.created_at), StockDocument.source_ref)
        ).all()
    events = []
    for county, _ref, reason, first in rows:
        hazard = next((h for text, h in HAZARDS.items() if text in reason), None)
        if hazard is not None:
            day = to_local(first.replace(tzinfo=first.tzinfo or UTC)).date()
            events.append(Event(county, hazard, day, reason[:128]))
    return events


def _split(
    total: int, events: list[Event], weights: dict[str, int], rng: random.Random, unit: int = 1
) -> list[int]:
    shares = [weights.get(e.hazard, 0) * rng.uniform(0.3, 1.7) for e in events]
    if not any(shares):
        shares = [1.0] * len(events)
    return [part * unit for part in split(total // unit, shares)]


def _people(engine: Engine) -> tuple[dict[str, Actor], Actor]:
    """Each county's requester (who files) and ``dispatcher`` (who verifies)."""
    with open_session(engine) as session:
        holders = dict(
            session.execute(
                select(County.code, User.username)
                .join(RoleGrant, RoleGrant.county_id == County.id)
                .join(User, User.id == RoleGrant.user_id)
                .where(RoleGrant.role == Role.REQUESTER, RoleGrant.active.is_(True))
                .order_by(User.id.desc())
            ).all()
        )
        filers = {
            code: auth.actor_for(session, auth.user_by_name(session, name))
            for code, name in holders.items()
        }
        verifier = auth.actor_for(session, auth.user_by_name(session, "dispatcher"))
    return filers, verifier


def _reports(engine: Engine, rng: random.Random) -> None:
    events = _events(engine)
    if not events:
        return
    affected = _split(PEOPLE_AFFECTED, events, WEIGHTS["people_affected"], rng)
    losses = {
        sector: _split(total, events, WEIGHTS[sector], rng, LOSS_UNIT)
        for sector, total in LOSSES.items()
    }
    filers, verifier = _people(engine)
    system = auth.system_actor(engine)
    corrected = set(rng.sample(range(len(events)), min(4, len(events))))
    sent_back = min(corrected) if corrected else -1
    planned = []  # (event, figures as filed first, the true figures, filed at)
    for index, event in enumerate(events):
        people = affected[index]
        relocated = int(people * RELOCATED_SHARE.get(event.hazard, 0) * rng.uniform(0.5, 1.5))
        houses = relocated // 4
        figures = {
            "people_affected": people,
            "people_relocated": relocated,
            "people_needing_aid": int(people * rng.uniform(0.2, 0.4)),
            "houses_collapsed": houses // 10,
            "houses_damaged": houses,
            **{sector: f"{losses[sector][index]}.00" for sector in LOSS_SECTORS},
        }
        first = dict(figures)
        if index in corrected:  # the first version had a typing slip, found on checking
            first["people_affected"] = people * 10 + 7
        filed_at = datetime.combine(event.day + timedelta(days=1), time(9), tzinfo=UTC)
        planned.append((event, first, figures, filed_at))
    # One unit of work per person and step (a few dozen transactions, not hundreds).
    numbers: dict[int, str] = {}
    for county in sorted({event.county for event in events}):
        with UnitOfWork(engine, filers.get(county, system), reason="县级报送灾情") as uow:
            for index, (event, first, _, filed_at) in enumerate(planned):
                if event.county == county:
                    numbers[index] = disaster.file_report(
                        uow,
                        county=event.county,
                        hazard=event.hazard,
                        event_date=event.day.isoformat(),
                        title=event.title,
                        at=filed_at,
                        **first,
                    ).number
    if sent_back >= 0:
        with UnitOfWork(engine, verifier, reason="州级核查") as uow:
            disaster.reject(
                uow,
                numbers[sent_back],
                reason="受灾人数与乡镇统计不符，请核实后重报",
                at=planned[sent_back][3] + timedelta(hours=6),
            )
    for index in sorted(corrected):
        event, _, figures, filed_at = planned[index]
        with UnitOfWork(engine, filers.get(event.county, system), reason="更正灾情") as uow:
            disaster.correct(
                uow,
                numbers[index],
                people_affected=figures["people_affected"],
                at=filed_at + timedelta(hours=8),
            )
    with UnitOfWork(engine, verifier, reason="州级核查") as uow:
        for index, number in sorted(numbers.items()):
            at = planned[index][3] + timedelta(days=1)
            disaster.verify(uow, number, note="已抽查核实", at=at)
