"""Readiness tables: standards per category, what an item holds of its category's measure,
road distances the bureau keeps, each county's population at risk, and disaster reports.

Disaster reports are never edited: a correction is a new version of the same report number,
and only a version another person verified (核查) counts.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Numeric, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from relief_inventory.audit.registry import audited
from relief_inventory.money import Money
from relief_inventory.timeutil import utcnow


@audited()
class ReadinessStandard(SQLModel, table=True):
    """Per category: the per-person standard, the coverage target and the inspection and
    rotation rhythm. Without a row the defaults of ``standards.py`` hold."""

    __tablename__ = "readiness_standard"
    __table_args__ = (
        CheckConstraint(
            "basis IN ('per_person','per_household','per_person_day')",
            name="ck_readiness_standard_basis",
        ),
        CheckConstraint("amount >= 0", name="ck_readiness_standard_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    category_id: int = Field(foreign_key="category.id", unique=True)
    basis: str = Field(max_length=16)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 4), nullable=False))
    measure: str = Field(max_length=16)
    # Target stock per 1,000 people at risk, in measures (coverage); None: no target.
    target_per_1000: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    inspection_days: int | None = None  # inspect stock of the category this often
    rotation_days: int | None = None  # rotate lots out this many days before expiry
    updated_at: datetime = Field(default_factory=utcnow)


@audited()
class ItemContent(SQLModel, table=True):
    """How much of its category's measure one piece holds (a 10 kg bag: 10 kg)."""

    __tablename__ = "item_content"
    __table_args__ = (CheckConstraint("content > 0", name="ck_item_content_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", unique=True)
    content: Decimal = Field(sa_column=Column(Numeric(12, 4), nullable=False))


@audited()
class RoadDistance(SQLModel, table=True):
    """A measured road from a depot to a county seat: km and, where known, hours."""

    __tablename__ = "road_distance"
    __table_args__ = (
        UniqueConstraint("depot_id", "county_id", name="uq_road_distance_pair"),
        CheckConstraint("km >= 0", name="ck_road_distance_km"),
        CheckConstraint("hours IS NULL OR hours >= 0", name="ck_road_distance_hours"),
    )

    id: int | None = Field(default=None, primary_key=True)
    depot_id: int = Field(foreign_key="depot.id", index=True)
    county_id: int = Field(foreign_key="county.id", index=True)
    km: Decimal = Field(sa_column=Column(Numeric(7, 1), nullable=False))
    hours: Decimal | None = Field(default=None, sa_column=Column(Numeric(5, 1)))
    note: str = Field(default="", max_length=255)
    updated_at: datetime = Field(default_factory=utcnow)


@audited()
class TownshipRoad(SQLModel, table=True):
    """A measured road from a depot (or stock point) to a township: km and, where known,
    hours. Kept apart from the county table so that each pair stays unique."""

    __tablename__ = "township_road"
    __table_args__ = (
        UniqueConstraint("depot_id", "township_id", name="uq_township_road_pair"),
        CheckConstraint("km >= 0", name="ck_township_road_km"),
        CheckConstraint("hours IS NULL OR hours >= 0", name="ck_township_road_hours"),
    )

    id: int | None = Field(default=None, primary_key=True)
    depot_id: int = Field(foreign_key="depot.id", index=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    km: Decimal = Field(sa_column=Column(Numeric(7, 1), nullable=False))
    hours: Decimal | None = Field(default=None, sa_column=Column(Numeric(5, 1)))
    note: str = Field(default="", max_length=255)
    updated_at: datetime = Field(default_factory=utcnow)


@audited()
class CountyRisk(SQLModel, table=True):
    """A county's population at risk (受威胁人口), the base of its coverage target."""

    __tablename__ = "county_risk"
    __table_args__ = (CheckConstraint("population_at_risk >= 0", name="ck_county_risk_pop"),)

    id: int | None = Field(default=None, primary_key=True)
    county_id: int = Field(foreign_key="county.id", unique=True)
    population_at_risk: int
    updated_at: datetime = Field(default_factory=utcnow)


class ReportState:
    SUBMITTED = "submitted"  # filed, waiting for a second person's verification
    VERIFIED = "verified"  # 已核查: counts in the roll-up
    REJECTED = "rejected"  # verification refused it (a corrected version may follow)
    SUPERSEDED = "superseded"  # a later version replaced it
    ALL = (SUBMITTED, VERIFIED, REJECTED, SUPERSEDED)
    LABELS = {SUBMITTED: "待核查", VERIFIED: "已核查", REJECTED: "核查退回", SUPERSEDED: "已更正"}


# The sectors of direct economic loss (FACTS.md), as columns of a report.
LOSS_SECTORS = {
    "loss_housing": "住房及家庭财产",
    "loss_agriculture": "农林牧渔业",
    "loss_industry": "工矿商贸业",
    "loss_infrastructure": "基础设施",
    "loss_public": "公共服务",
}


@audited()
class DisasterReport(SQLModel, table=True):
    """One version of a county's report on one event (灾情报告). Never updated but for its
    state; a correction is the next version of the same number."""

    __tablename__ = "disaster_report"
    __table_args__ = (
        UniqueConstraint("number", "version", name="uq_disaster_report_version"),
        CheckConstraint(
            "state IN ('submitted','verified','rejected','superseded')",
            name="ck_disaster_report_state",
        ),
        CheckConstraint(
            "people_affected >= 0 AND people_relocated >= 0 AND people_needing_aid >= 0 "
            "AND houses_collapsed >= 0 AND houses_damaged >= 0",
            name="ck_disaster_report_counts",
        ),
        Index(
            "uq_disaster_report_current",
            "number",
            unique=True,
            sqlite_where=text("state IN ('submitted','verified')"),
            postgresql_where=text("state IN ('submitted','verified')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, index=True)
    version: int = 1
    county_id: int = Field(foreign_key="county.id", index=True)
    hazard: str = Field(max_length=16)
    event_date: date = Field(index=True)
    title: str = Field(max_length=128)
    people_affected: int = 0
    people_relocated: int = 0
    people_needing_aid: int = 0
    houses_collapsed: int = 0
    houses_damaged: int = 0
    loss_housing: Decimal = Field(default=Decimal(0), sa_column=Column(Money, nullable=False))
    loss_agriculture: Decimal = Field(default=Decimal(0), sa_column=Column(Money, nullable=False))
    loss_industry: Decimal = Field(default=Decimal(0), sa_column=Column(Money, nullable=False))
    loss_infrastructure: Decimal = Field(
        default=Decimal(0), sa_column=Column(Money, nullable=False)
    )
    loss_public: Decimal = Field(default=Decimal(0), sa_column=Column(Money, nullable=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    state: str = Field(default=ReportState.SUBMITTED, max_length=16)
    supersedes_id: int | None = Field(default=None, foreign_key="disaster_report.id")
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    verified_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    verified_at: datetime | None = None
    verification_note: str = Field(default="", max_length=500)


@audited()
class InspectionRecord(SQLModel, table=True):
    """A keeper inspected (检测维护) a category's stock in a depot. Never updated."""

    __tablename__ = "inspection_record"

    id: int | None = Field(default=None, primary_key=True)
    depot_id: int = Field(foreign_key="depot.id", index=True)
    category_id: int = Field(foreign_key="category.id")
    inspected_on: date
    note: str = Field(default="", max_length=500)
    inspector_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class PlanState:
    OPEN = "open"  # keepers work through its lines
    DONE = "done"  # every line done
    ALL = (OPEN, DONE)
    LABELS = {OPEN: "执行中", DONE: "已完成"}


@audited()
class RotationPlan(SQLModel, table=True):
    """A depot's rotation plan (轮换计划 LP-…): the lots due, as keepers work through them."""

    __tablename__ = "rotation_plan"
    __table_args__ = (CheckConstraint("state IN ('open','done')", name="ck_rotation_plan_state"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    depot_id: int = Field(foreign_key="depot.id", index=True)
    planned_on: date
    state: str = Field(default=PlanState.OPEN, max_length=16)
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


@audited()
class RotationPlanLine(SQLModel, table=True):
    """One lot of a plan: the suggested action, the replacement purchase, and the document
    that carried it out once a keeper has done it."""

    __tablename__ = "rotation_plan_line"
    __table_args__ = (
        CheckConstraint(
            "action IN ('rotate_out','donate','scrap')", name="ck_rotation_plan_line_action"
        ),
        CheckConstraint("quantity > 0 AND replacement >= 0", name="ck_rotation_plan_line_qty"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="rotation_plan.id", index=True)
    lot_id: int = Field(foreign_key="lot.id")
    item_id: int = Field(foreign_key="item.id")
    owner_id: int = Field(foreign_key="owner.id")
    expiry_date: date
    quantity: int
    action: str = Field(max_length=16)
    replacement: int
    document: str = Field(default="", max_length=32)  # the CK/BF/LH/YK that did it
    note: str = Field(default="", max_length=500)
    done_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    done_at: datetime | None = None
