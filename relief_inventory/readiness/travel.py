"""Road distance and travel time between a depot and a place. Pure: no database.

The bureau keeps a table of road distances and hours; where a pair has none, the
straight-line distance times a mountain detour factor, driven at an assumed truck speed, is
used instead and marked as estimated, so nobody mistakes a guess for a measured road.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from relief_inventory.allocation.allocator import Point, straight_line_km

DEFAULT_DETOUR_FACTOR = Decimal("1.5")
DEFAULT_TRUCK_KMH = Decimal("40")
DEFAULT_LOADING_HOURS = Decimal("1")


@dataclass(frozen=True)
class TravelSettings:
    detour_factor: Decimal = DEFAULT_DETOUR_FACTOR
    truck_kmh: Decimal = DEFAULT_TRUCK_KMH
    loading_hours: Decimal = DEFAULT_LOADING_HOURS  # from the call to the trucks leaving

    @classmethod
    def of(cls, settings: Any) -> TravelSettings:
        """The assumptions configured in ``config.Settings`` (RELIEF_DETOUR_FACTOR,
        RELIEF_TRUCK_KMH, RELIEF_LOADING_HOURS)."""
        return cls(settings.detour_factor, settings.truck_kmh, settings.loading_hours)


@dataclass(frozen=True)
class Leg:
    km: float
    hours: float
    estimated: bool


def estimated_leg(a: Point, b: Point, settings: TravelSettings = TravelSettings()) -> Leg:
    """Straight line × detour factor, at the truck speed; 0.1 km and 0.1 h precision."""
    km = straight_line_km(a, b) * float(settings.detour_factor)
    return Leg(round(km, 1), round(km / float(settings.truck_kmh), 1), True)


def measured_leg(
    km: Decimal | float, hours: Decimal | float | None, settings: TravelSettings
) -> Leg:
    """A road in the table: its hours when given, else its length at the truck speed."""
    km = float(km)
    if hours is None:
        hours = km / float(settings.truck_kmh)
    return Leg(round(km, 1), round(float(hours), 1), False)
