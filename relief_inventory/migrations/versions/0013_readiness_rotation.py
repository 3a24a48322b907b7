"""readiness: inspection records and rotation plans

Revision ID: 0013_readiness_rotation
Revises: 0012_readiness_reports

- ``inspection_record``: a keeper inspected a category's stock in a depot (append-only).
- ``rotation_plan`` and ``rotation_plan_line``: a depot's lots due to rotate out, with the
  suggested action and replacement purchase, worked through by keepers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from relief_inventory import guards

revision: str = "0013_readiness_rotation"
down_revision: str | None = "0012_readiness_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime
TABLES = ("inspection_record", "rotation_plan", "rotation_plan_line")


def upgrade() -> None:
    op.create_table(
        "inspection_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("depot_id", sa.Integer(), sa.ForeignKey("depot.id"), nullable=False),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("category.id"), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("note", String(length=500), nullable=False),
        sa.Column("inspector_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
    )
    op.create_index("ix_inspection_record_depot_id", "inspection_record", ["depot_id"])
    guards.append_only("inspection_record")
    op.create_table(
        "rotation_plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", String(length=32), nullable=False, unique=True),
        sa.Column("depot_id", sa.Integer(), sa.ForeignKey("depot.id"), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("done_at", UTC(), nullable=True),
        sa.CheckConstraint("state IN ('open','done')", name="ck_rotation_plan_state"),
    )
    op.create_index("ix_rotation_plan_number", "rotation_plan", ["number"])
    op.create_index("ix_rotation_plan_depot_id", "rotation_plan", ["depot_id"])
    op.create_table(
        "rotation_plan_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("rotation_plan.id"), nullable=False),
        sa.Column("lot_id", sa.Integer(), sa.ForeignKey("lot.id"), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("item.id"), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owner.id"), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("action", String(length=16), nullable=False),
        sa.Column("replacement", sa.Integer(), nullable=False),
        sa.Column("document", String(length=32), nullable=False),
        sa.Column("note", String(length=500), nullable=False),
        sa.Column("done_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("done_at", UTC(), nullable=True),
        sa.CheckConstraint(
            "action IN ('rotate_out','donate','scrap')", name="ck_rotation_plan_line_action"
        ),
        sa.CheckConstraint(
            "quantity > 0 AND replacement >= 0", name="ck_rotation_plan_line_qty"
        ),
    )
    op.create_index("ix_rotation_plan_line_plan_id", "rotation_plan_line", ["plan_id"])
    guards.ledger_table(*TABLES)


def downgrade() -> None:
    for table in TABLES:
        guards.drop_trigger(f"{table}_require_actor", table)
        guards.drop_trigger(f"{table}_no_truncate", table)
    for table in reversed(TABLES):
        op.drop_table(table)
