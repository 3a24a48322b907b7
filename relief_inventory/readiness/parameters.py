"""The bureau's readiness parameters as rows to read and edit: each category's standard
(its row, else the default, marked so), the measured roads (depot to county seat, depot to
township) and each county's population at risk. The writers are ``services.set_standard``,
``set_road_distance``, ``set_township_road`` and ``set_population_at_risk``; the API, the
CLI and the back office list these rows and call those."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.readiness.models import (
    CountyRisk,
    ReadinessStandard,
    RoadDistance,
    TownshipRoad,
)
from relief_inventory.readiness.standards import DEFAULT_STANDARDS
from relief_inventory.stock.models import Category
from relief_inventory.warehouse.models import County, Depot, Township


def standard_rows(session: Session) -> list[dict[str, Any]]:
    """Every active category: the bureau's standard where it set one, else the default
    (``is_default``), with the coverage target and the inspection and rotation rhythm."""
    rows = {row.category_id: row for row in session.scalars(select(ReadinessStandard))}
    out = []
    for category in session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.sort_order)
    ):
        row = rows.get(category.id)
        default = DEFAULT_STANDARDS.get(category.code)
        if row is None and default is None:
            continue
        out.append(
            {
                "category": category.code,
                "category_name": category.name,
                "basis": row.basis if row else default.basis,  # type: ignore[union-attr]
                "amount": row.amount if row else default.amount,  # type: ignore[union-attr]
                "measure": row.measure if row else default.measure,  # type: ignore[union-attr]
                "target_per_1000": row.target_per_1000 if row else None,
                "inspection_days": row.inspection_days if row else None,
                "rotation_days": row.rotation_days if row else None,
                "is_default": row is None,
                "updated_at": row.updated_at if row else None,
            }
        )
    return out


def road_rows(session: Session) -> list[dict[str, Any]]:
    """The measured roads, to county seats and to townships, in depot then place order."""
    to_counties = session.execute(
        select(RoadDistance, Depot.code, Depot.name, County.code, County.name)
        .join(Depot, Depot.id == RoadDistance.depot_id)
        .join(County, County.id == RoadDistance.county_id)
    )
    to_townships = session.execute(
        select(TownshipRoad, Depot.code, Depot.name, Township.code, County.name + Township.name)
        .join(Depot, Depot.id == TownshipRoad.depot_id)
        .join(Township, Township.id == TownshipRoad.township_id)
        .join(County, County.id == Township.county_id)
    )
    out = [
        {
            "depot": depot,
            "depot_name": depot_name,
            "county": place if kind == "county" else None,
            "township": place if kind == "township" else None,
            "place_name": place_name,
            "km": road.km,
            "hours": road.hours,
            "note": road.note,
            "updated_at": road.updated_at,
        }
        for kind, rows in (("county", to_counties), ("township", to_townships))
        for road, depot, depot_name, place, place_name in rows
    ]
    return sorted(out, key=lambda r: (r["depot"], r["county"] or r["township"]))


def risk_rows(session: Session) -> list[dict[str, Any]]:
    """Every active county with its population at risk (None where the bureau set none)."""
    return [
        {
            "county": county.code,
            "county_name": county.name,
            "population_at_risk": risk.population_at_risk if risk else None,
            "updated_at": risk.updated_at if risk else None,
        }
        for county, risk in session.execute(
            select(County, CountyRisk)
            .outerjoin(CountyRisk, CountyRisk.county_id == County.id)
            .where(County.active.is_(True))
            .order_by(County.code)
        )
    ]
