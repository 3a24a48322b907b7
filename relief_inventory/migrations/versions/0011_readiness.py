"""readiness: standards, item contents, road distances, population at risk, disaster reports

Revision ID: 0011_readiness
Revises: 0010_backoffice

- ``readiness_standard``: per category the per-person standard, the coverage target per
  1,000 people at risk, the inspection interval and the rotation window.
- ``item_content``: how much of its category's measure one piece holds.
- ``road_distance``: measured roads from depots to county seats (km, hours).
- ``county_risk``: each county's population at risk.
- ``disaster_report``: versions of county disaster reports (灾情报告), verified by a second
  person; one current (submitted or verified) version per number.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from relief_inventory import guards

revision: str = "0011_readiness"
down_revision: str | None = "0010_backoffice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime
Money = sa.BigInteger  # integer fen (relief_inventory.money.Money)
TABLES = ("readiness_standard", "item_content", "road_distance", "county_risk", "disaster_report")


def upgrade() -> None:
    op.create_table(
        "readiness_standard",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "category_id", sa.Integer(), sa.ForeignKey("category.id"), nullable=False, unique=True
        ),
        sa.Column("basis", String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(12, 4), nullable=False),
        sa.Column("measure", String(length=16), nullable=False),
        sa.Column("target_per_1000", sa.Numeric(12, 2), nullable=True),
        sa.Column("inspection_days", sa.Integer(), nullable=True),
        sa.Column("rotation_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.CheckConstraint(
            "basis IN ('per_person','per_household','per_person_day')",
            name="ck_readiness_standard_basis",
        ),
        sa.CheckConstraint("amount >= 0", name="ck_readiness_standard_amount"),
    )
    op.create_table(
        "item_content",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("item.id"), nullable=False, unique=True),
        sa.Column("content", sa.Numeric(12, 4), nullable=False),
        sa.CheckConstraint("content > 0", name="ck_item_content_positive"),
    )
    op.create_table(
        "road_distance",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("depot_id", sa.Integer(), sa.ForeignKey("depot.id"), nullable=False),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("county.id"), nullable=False),
        sa.Column("km", sa.Numeric(7, 1), nullable=False),
        sa.Column("hours", sa.Numeric(5, 1), nullable=True),
        sa.Column("note", String(length=255), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.UniqueConstraint("depot_id", "county_id", name="uq_road_distance_pair"),
        sa.CheckConstraint("km >= 0", name="ck_road_distance_km"),
        sa.CheckConstraint("hours IS NULL OR hours >= 0", name="ck_road_distance_hours"),
    )
    op.create_index("ix_road_distance_depot_id", "road_distance", ["depot_id"])
    op.create_index("ix_road_distance_county_id", "road_distance", ["county_id"])
    op.create_table(
        "county_risk",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "county_id", sa.Integer(), sa.ForeignKey("county.id"), nullable=False, unique=True
        ),
        sa.Column("population_at_risk", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.CheckConstraint("population_at_risk >= 0", name="ck_county_risk_pop"),
    )
    op.create_table(
        "disaster_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("county.id"), nullable=False),
        sa.Column("hazard", String(length=16), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("title", String(length=128), nullable=False),
        sa.Column("people_affected", sa.Integer(), nullable=False),
        sa.Column("people_relocated", sa.Integer(), nullable=False),
        sa.Column("people_needing_aid", sa.Integer(), nullable=False),
        sa.Column("houses_collapsed", sa.Integer(), nullable=False),
        sa.Column("houses_damaged", sa.Integer(), nullable=False),
        sa.Column("loss_housing", Money(), nullable=False),
        sa.Column("loss_agriculture", Money(), nullable=False),
        sa.Column("loss_industry", Money(), nullable=False),
        sa.Column("loss_infrastructure", Money(), nullable=False),
        sa.Column("loss_public", Money(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column(
            "supersedes_id", sa.Integer(), sa.ForeignKey("disaster_report.id"), nullable=True
        ),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("verified_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("verified_at", UTC(), nullable=True),
        sa.Column("verification_note", String(length=500), nullable=False),
        sa.UniqueConstraint("number", "version", name="uq_disaster_report_version"),
        sa.CheckConstraint(
            "state IN ('submitted','verified','rejected','superseded')",
            name="ck_disaster_report_state",
        ),
        sa.CheckConstraint(
            "people_affected >= 0 AND people_relocated >= 0 AND people_needing_aid >= 0 "
            "AND houses_collapsed >= 0 AND houses_damaged >= 0",
            name="ck_disaster_report_counts",
        ),
    )
    op.create_index("ix_disaster_report_number", "disaster_report", ["number"])
    op.create_index("ix_disaster_report_county_id", "disaster_report", ["county_id"])
    op.create_index("ix_disaster_report_event_date", "disaster_report", ["event_date"])
    op.create_index(
        "uq_disaster_report_current",
        "disaster_report",
        ["number"],
        unique=True,
        sqlite_where=sa.text("state IN ('submitted','verified')"),
        postgresql_where=sa.text("state IN ('submitted','verified')"),
    )
    guards.ledger_table(*TABLES)


def downgrade() -> None:
    for table in TABLES:
        guards.drop_trigger(f"{table}_require_actor", table)
        guards.drop_trigger(f"{table}_no_truncate", table)
    for table in reversed(TABLES):
        op.drop_table(table)
