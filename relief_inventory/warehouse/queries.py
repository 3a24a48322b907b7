"""Read-side queries over counties and depots (lists for the API and exports)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from relief_inventory.warehouse.models import County, Depot


def county_rows(session: Session) -> list[RowMapping]:
    return list(
        session.execute(
            select(County.code, County.name, County.lat, County.lon)
            .where(County.active.is_(True))
            .order_by(County.code)
        ).mappings()
    )


def depot_rows(session: Session) -> list[RowMapping]:
    """Active depots with their county, in code order."""
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
            )
            .join(County, County.id == Depot.county_id)
            .where(Depot.active.is_(True))
            .order_by(Depot.code)
        ).mappings()
    )
