"""Per-person relief standards and the needs they imply. Pure: no database.

A standard says how much of a category one relocated person (or household) needs, in the
category's measure (tents, kg of rice, litres of water). Items carry how much of that measure
one piece holds (a 10 kg bag of rice is 10 kg), so stock of several items of a category can
be weighed against one need. Needs are rounded up to whole measures: half a tent is a tent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


class Basis:
    PER_PERSON = "per_person"  # once for the whole relocation (a quilt)
    PER_HOUSEHOLD = "per_household"  # once per household (a tent)
    PER_PERSON_DAY = "per_person_day"  # every day (rice, water)
    ALL = (PER_PERSON, PER_HOUSEHOLD, PER_PERSON_DAY)
    LABELS = {PER_PERSON: "每人", PER_HOUSEHOLD: "每户", PER_PERSON_DAY: "每人每天"}


DEFAULT_HOUSEHOLD_SIZE = 4


@dataclass(frozen=True)
class Standard:
    category: str  # category code
    basis: str
    amount: Decimal  # measures per person, household or person-day
    measure: str  # the unit of the need: 顶, kg, L, 床


# Sensible defaults (the bureau edits them): one tent and one folding bed per household of
# four, one quilt and one set of warm clothing per person, 0.5 kg rice, 25 ml cooking oil and
# 3 L drinking water per person per day, a light per household, a blanket or sleeping bag
# for every second person, rescue gear for one person in twenty.
DEFAULT_STANDARDS: dict[str, Standard] = {
    s.category: s
    for s in (
        Standard("TENT", Basis.PER_HOUSEHOLD, Decimal("1"), "顶"),
        Standard("QUILT", Basis.PER_PERSON, Decimal("1"), "床"),
        Standard("CLOTH", Basis.PER_PERSON, Decimal("1"), "件"),
        Standard("RICE", Basis.PER_PERSON_DAY, Decimal("0.5"), "kg"),
        Standard("OIL", Basis.PER_PERSON_DAY, Decimal("0.025"), "L"),
        Standard("BED", Basis.PER_HOUSEHOLD, Decimal("1"), "张"),
        Standard("BLANKET", Basis.PER_PERSON, Decimal("0.5"), "条"),
        Standard("POWER", Basis.PER_HOUSEHOLD, Decimal("1"), "套"),
        Standard("WATER", Basis.PER_PERSON_DAY, Decimal("3"), "L"),
        Standard("RESCUE", Basis.PER_PERSON, Decimal("0.05"), "件"),
    )
}

# How much of its category's measure one piece of a seeded item holds; an item not named
# counts one measure per piece. Generators and lighting towers light many households;
# purifiers count the water they make during a relocation.
DEFAULT_ITEM_CONTENTS: dict[str, Decimal] = {
    "RICE-10": Decimal("10"),
    "RICE-25": Decimal("25"),
    "OIL-5": Decimal("5"),
    "OIL-10": Decimal("10"),
    "WATER-24": Decimal("13.2"),
    "WATER-EM": Decimal("12"),
    "PURIF-P": Decimal("1000"),
    "PURIF-1": Decimal("20000"),
    "TENT-36": Decimal("3"),
    "GEN-5": Decimal("10"),
    "LAMP-T": Decimal("25"),
}


def households(people: int, household_size: int = DEFAULT_HOUSEHOLD_SIZE) -> int:
    return -(-people // household_size)


def need(
    standard: Standard, people: int, days: int, household_size: int = DEFAULT_HOUSEHOLD_SIZE
) -> int:
    """Whole measures of the category that ``people`` need for ``days`` days."""
    if standard.basis == Basis.PER_HOUSEHOLD:
        exact = standard.amount * households(people, household_size)
    elif standard.basis == Basis.PER_PERSON_DAY:
        exact = standard.amount * people * days
    else:
        exact = standard.amount * people
    return math.ceil(exact)


def needs(
    standards: Mapping[str, Standard],
    people: int,
    days: int,
    household_size: int = DEFAULT_HOUSEHOLD_SIZE,
) -> dict[str, int]:
    """Need per category code, for every standard."""
    return {code: need(s, people, days, household_size) for code, s in standards.items()}
