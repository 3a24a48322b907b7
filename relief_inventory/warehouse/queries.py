"""Read-side queries over counties and depots (lists for the API and exports)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, aliased

from relief_inventory.warehouse.models import County, Depot, Township


def county_rows(session: Session) -> list[RowMapping]:
    return list(
        session.execute(
            select(County.code, County.name, County.lat, County.lon)
            .where(County.active.is_(True))
            .order_by(County.code)
        ).mappings()
    )


def township_rows(session: Session) -> list[RowMapping]:
    """Active townships with their county and the active stock points serving each."""
    points: dict[int, list[str]] = {}
    for township_id, code in session.execute(
        select(Depot.township_id, Depot.code)
        .where(Depot.township_id.is_not(None), Depot.active.is_(True))
        .order_by(Depot.code)
    ):
        points.setdefault(township_id, []).append(code)
    rows = session.execute(
        select(
            Township.id,
            Township.code,
            Township.name,
            County.code.label("county"),
            County.name.label("county_name"),
            Township.lat,
            Township.lon,
            Township.high_risk,
        )
        .join(County, County.id == Township.county_id)
        .where(Township.active.is_(True))
        .order_by(Township.code)
    ).mappings()
    return [{**row, "points": points.get(row["id"], [])} for row in rows]  # type: ignore[misc]


def depot_rows(session: Session) -> list[RowMapping]:
    """Active depots and township stock points with their county (a point also with the
    depot above it and its township), in code order."""
    parent = aliased(Depot)
    return list(
        session.execute(
            select(
                Depot.code,
                Depot.name,
                County.code.label("county"),
                County.name.label("county_name"),
                Depot.level,
                Depot.address,
                Depot.lat,
                Depot.lon,
                Depot.keeper_name,
                Depot.keeper_phone,
                parent.code.label("parent"),
                Township.code.label("township"),
                Township.name.label("township_name"),
            )
            .join(County, County.id == Depot.county_id)
            .outerjoin(parent, parent.id == Depot.parent_id)
            .outerjoin(Township, Township.id == Depot.township_id)
            .where(Depot.active.is_(True))
            .order_by(Depot.code)
        ).mappings()
    )
