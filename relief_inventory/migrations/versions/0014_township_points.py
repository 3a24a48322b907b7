"""township stock points, township roads, each user's language

Revision ID: 0014_township_points
Revises: 0013_readiness_rotation

- ``township``: a county's townships (乡镇), with coordinates and a high-risk mark.
- ``depot.parent_id`` / ``depot.township_id``: a township stock point (乡镇/村组预置点) is a
  depot below a county depot, serving a township.
- ``township_road``: measured roads from depots to townships (km, hours).
- ``app_user.locale``: the back office's language per user.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from relief_inventory import guards

revision: str = "0014_township_points"
down_revision: str | None = "0013_readiness_rotation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime
TABLES = ("township", "township_road")


def upgrade() -> None:
    op.create_table(
        "township",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", String(length=12), nullable=False),
        sa.Column("name", String(length=64), nullable=False),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("county.id"), nullable=False),
        sa.Column("lat", sa.Numeric(9, 5), nullable=False),
        sa.Column("lon", sa.Numeric(9, 5), nullable=False),
        sa.Column("high_risk", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_township_code", "township", ["code"], unique=True)
    op.create_index("ix_township_county_id", "township", ["county_id"])
    with op.batch_alter_table("depot") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("township_id", sa.Integer(), nullable=True))
    if op.get_context().dialect.name == "postgresql":
        op.create_foreign_key("fk_depot_parent_id", "depot", "depot", ["parent_id"], ["id"])
        op.create_foreign_key(
            "fk_depot_township_id", "depot", "township", ["township_id"], ["id"]
        )
    op.create_index("ix_depot_parent_id", "depot", ["parent_id"])
    op.create_index("ix_depot_township_id", "depot", ["township_id"])
    op.create_table(
        "township_road",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("depot_id", sa.Integer(), sa.ForeignKey("depot.id"), nullable=False),
        sa.Column("township_id", sa.Integer(), sa.ForeignKey("township.id"), nullable=False),
        sa.Column("km", sa.Numeric(7, 1), nullable=False),
        sa.Column("hours", sa.Numeric(5, 1), nullable=True),
        sa.Column("note", String(length=255), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.UniqueConstraint("depot_id", "township_id", name="uq_township_road_pair"),
        sa.CheckConstraint("km >= 0", name="ck_township_road_km"),
        sa.CheckConstraint("hours IS NULL OR hours >= 0", name="ck_township_road_hours"),
    )
    op.create_index("ix_township_road_depot_id", "township_road", ["depot_id"])
    op.create_index("ix_township_road_township_id", "township_road", ["township_id"])
    guards.ledger_table(*TABLES)
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(
            sa.Column(
                "locale", String(length=16), nullable=False, server_default="zh_Hans_CN"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("locale")
    for table in TABLES:
        guards.drop_trigger(f"{table}_require_actor", table)
        guards.drop_trigger(f"{table}_no_truncate", table)
    op.drop_table("township_road")
    op.drop_index("ix_depot_township_id", "depot")
    op.drop_index("ix_depot_parent_id", "depot")
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint("fk_depot_township_id", "depot", type_="foreignkey")
        op.drop_constraint("fk_depot_parent_id", "depot", type_="foreignkey")
    with op.batch_alter_table("depot") as batch:
        batch.drop_column("township_id")
        batch.drop_column("parent_id")
    op.drop_table("township")
