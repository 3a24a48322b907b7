"""The demo prefecture's reference data, read from ``seed/data/*.csv``.

Kept as data rather than code so the facts (counties, depots, the ten categories and their
year-end totals, the 2024 issue budgets) can be read and checked against FACTS.md at a glance.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

from relief_inventory.stock import ownership

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class CountyRow:
    code: str
    name: str
    lat: str
    lon: str


@dataclass(frozen=True)
class DepotRow:
    code: str
    name: str
    county: str
    level: str
    lat: str
    lon: str
    address: str
    weight: float  # share of the prefecture's stock kept here
    major: bool  # stocks the bulky and expensive items too


@dataclass(frozen=True)
class OwnerRow:
    code: str
    name: str
    level: str
    county: str | None


@dataclass(frozen=True)
class CategoryRow:
    code: str
    name: str
    sort_order: int
    on_hand: int  # pieces on hand at the end of 2024
    issued: int  # pieces issued to counties during 2024
    lot_size: int  # typical quantity of one received lot
    issue_chunk: int  # typical quantity of one issue line
    hazards: tuple[str, ...]  # the disasters this category is issued for


@dataclass(frozen=True)
class ItemRow:
    code: str
    category: str
    name: str
    specification: str
    unit: str
    unit_value: str
    shelf_life_days: int | None
    tracking: str
    reusable: bool
    share: float  # share of its category's pieces
    stocked_at: str  # "all" depots, or only the "major" ones (prefecture, 楚雄市, 禄丰市)

    @property
    def perishable(self) -> bool:
        return self.shelf_life_days is not None


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    password: str
    grants: tuple[tuple[str, str | None], ...]  # (role, depot or county code)

    @property
    def roles_text(self) -> str:
        return " ".join(role if scope is None else f"{role}:{scope}" for role, scope in self.grants)


@dataclass(frozen=True)
class HazardRow:
    code: str
    name: str
    months: tuple[int, ...]
    weight: int
    reason: str


@dataclass(frozen=True)
class Reference:
    counties: tuple[CountyRow, ...]
    depots: tuple[DepotRow, ...]
    owners: tuple[OwnerRow, ...]
    categories: tuple[CategoryRow, ...]
    items: tuple[ItemRow, ...]
    users: tuple[UserRow, ...]
    hazards: tuple[HazardRow, ...]
    phrases: dict[str, tuple[str, ...]]

    def category(self, code: str) -> CategoryRow:
        return next(c for c in self.categories if c.code == code)

    def depot(self, code: str) -> DepotRow:
        return next(d for d in self.depots if d.code == code)

    def hazard(self, code: str) -> HazardRow:
        return next(h for h in self.hazards if h.code == code)

    @property
    def prefecture_depot(self) -> DepotRow:
        return next(d for d in self.depots if d.level == "prefecture")

    def is_own_reserve(self, depot_code: str, owner_code: str) -> bool:
        """The one ownership rule (``stock.ownership``), on the reference rows."""
        depot = self.depot(depot_code)
        owner = next(o for o in self.owners if o.code == owner_code)
        return ownership.is_own_reserve(
            Holder(depot.level, depot.county), Holder(owner.level, owner.county)
        )


class Holder(NamedTuple):
    """A depot or an owner as the ownership rule sees it (its county by code)."""

    level: str
    county_id: str | None


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _grant(text: str) -> tuple[str, str | None]:
    role, _, scope = text.partition(":")
    return role, scope or None


@cache
def load_reference() -> Reference:
    phrases: dict[str, list[str]] = {}
    for row in _rows("phrases.csv"):
        phrases.setdefault(row["kind"], []).append(row["text"])
    return Reference(
        counties=tuple(CountyRow(**row) for row in _rows("counties.csv")),
        depots=tuple(
            DepotRow(**{**row, "weight": float(row["weight"]), "major": row["major"] == "1"})  # type: ignore[arg-type]
            for row in _rows("depots.csv")
        ),
        owners=tuple(
            OwnerRow(r["code"], r["name"], r["level"], r["county"] or None)
            for r in _rows("owners.csv")
        ),
        categories=tuple(
            CategoryRow(
                code=r["code"],
                name=r["name"],
                sort_order=int(r["sort_order"]),
                on_hand=int(r["on_hand"]),
                issued=int(r["issued_2024"]),
                lot_size=int(r["lot_size"]),
                issue_chunk=int(r["issue_chunk"]),
                hazards=tuple(r["hazards"].split()),
            )
            for r in _rows("categories.csv")
        ),
        items=tuple(
            ItemRow(
                code=r["code"],
                category=r["category"],
                name=r["name"],
                specification=r["specification"],
                unit=r["unit"],
                unit_value=r["unit_value"],
                shelf_life_days=int(r["shelf_life_days"]) if r["shelf_life_days"] else None,
                tracking=r["tracking"],
                reusable=r["reusable"] == "1",
                share=float(r["share"]),
                stocked_at=r["stocked_at"],
            )
            for r in _rows("items.csv")
        ),
        users=tuple(
            UserRow(
                r["username"],
                r["display_name"],
                r["password"],
                tuple(_grant(g) for g in r["grants"].split()),
            )
            for r in _rows("users.csv")
        ),
        hazards=tuple(
            HazardRow(
                r["code"],
                r["name"],
                tuple(int(m) for m in r["months"].split()),
                int(r["weight"]),
                r["reason"],
            )
            for r in _rows("hazards.csv")
        ),
        phrases={kind: tuple(texts) for kind, texts in phrases.items()},
    )
