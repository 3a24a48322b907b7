"""Counties and their townships, depots and the township stock points below them, and
locations (internal ones in depots and points, virtual ones elsewhere).

A township stock point (乡镇/村组预置点) is a depot row whose ``parent_id`` names the county
depot it hangs below: it has its own keeper, internal location and quants, is stocked by
transfer like any depot, and so the keeper scopes, the ledger and ``relief check`` cover it
without a second code path. Its level is ``county``: what it holds is the county's reserve
(the one ownership rule, ``stock.ownership``). "Depots" in the bureau's figures (the 11 of
FACTS.md) are the rows without a parent.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Numeric
from sqlmodel import Field, SQLModel

from relief_inventory.audit.registry import audited


class DepotLevel:
    PREFECTURE = "prefecture"
    COUNTY = "county"
    ALL = (PREFECTURE, COUNTY)
    LABELS = {PREFECTURE: "州级", COUNTY: "县级"}


class LocationKind:
    """Internal locations hold stock; the others are the ledger's other side."""

    INTERNAL = "internal"
    SUPPLIER = "supplier"  # suppliers, donors and higher levels sending stock in
    COUNTY = "county"  # a county receiving relief goods
    TRANSIT = "transit"  # goods on the road between depots or to a county
    LOSS = "loss"  # scrap and write-off
    ADJUSTMENT = "adjustment"  # stock-count differences
    ALL = (INTERNAL, SUPPLIER, COUNTY, TRANSIT, LOSS, ADJUSTMENT)
    # Locations whose balance is kept as quants (and so can never go negative).
    BALANCED = (INTERNAL, TRANSIT)
    LABELS = {
        INTERNAL: "库内库位",
        SUPPLIER: "供应商/捐赠方",
        COUNTY: "县市接收点",
        TRANSIT: "在途",
        LOSS: "报损报废",
        ADJUSTMENT: "盘点调整",
    }


@audited()
class County(SQLModel, table=True):
    __tablename__ = "county"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True, index=True)
    name: str = Field(max_length=64)
    # Seat coordinates, for the straight-line distance used when choosing depots.
    lat: Decimal = Field(sa_column=Column(Numeric(9, 5), nullable=False))
    lon: Decimal = Field(sa_column=Column(Numeric(9, 5), nullable=False))
    active: bool = True


@audited()
class Township(SQLModel, table=True):
    """A township (乡镇) of a county: a place a scenario can name and a stock point serves."""

    __tablename__ = "township"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True, index=True)
    name: str = Field(max_length=64)
    county_id: int = Field(foreign_key="county.id", index=True)
    lat: Decimal = Field(sa_column=Column(Numeric(9, 5), nullable=False))
    lon: Decimal = Field(sa_column=Column(Numeric(9, 5), nullable=False))
    high_risk: bool = False
    active: bool = True


@audited()
class Depot(SQLModel, table=True):
    __tablename__ = "depot"
    __table_args__ = (CheckConstraint("level IN ('prefecture','county')", name="ck_depot_level"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=128)
    county_id: int = Field(foreign_key="county.id", index=True)
    level: str = Field(max_length=16)
    address: str = Field(default="", max_length=255)
    lat: Decimal = Field(sa_column=Column(Numeric(9, 5), nullable=False))
    lon: Decimal = Field(sa_column=Column(Numeric(9, 5), nullable=False))
    keeper_name: str = Field(default="", max_length=64)
    keeper_phone: str = Field(default="", max_length=32)
    active: bool = True
    # Township stock points only: the county depot above and the township served.
    parent_id: int | None = Field(default=None, foreign_key="depot.id", index=True)
    township_id: int | None = Field(default=None, foreign_key="township.id", index=True)

    @property
    def is_point(self) -> bool:
        return self.parent_id is not None


@audited()
class Location(SQLModel, table=True):
    __tablename__ = "location"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('internal','supplier','county','transit','loss','adjustment')",
            name="ck_location_kind",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=128)
    kind: str = Field(max_length=16, index=True)
    depot_id: int | None = Field(default=None, foreign_key="depot.id", index=True)
    county_id: int | None = Field(default=None, foreign_key="county.id", index=True)
    active: bool = True
