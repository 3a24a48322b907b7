"""dispatch requests and reservations

Revision ID: 0003_dispatch
Revises: 0002_guards
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from relief_inventory import guards

revision: str = "0003_dispatch"
down_revision: str | None = "0002_guards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("dispatch_request", "dispatch_line", "dispatch_reservation")
STATES = "'draft','submitted','approved','allocated','dispatched','received','closed','rejected','cancelled'"
DISASTERS = "'earthquake','flood','drought','wind_hail','geological','forest_fire','freeze','other'"

String = sqlmodel.sql.sqltypes.AutoString
When = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "dispatch_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", String(length=32), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("disaster_type", String(length=16), nullable=False),
        sa.Column("urgency", String(length=16), nullable=False),
        sa.Column("people_affected", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("receiver_id", sa.Integer(), nullable=True),
        sa.Column("allow_other_counties", sa.Boolean(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("emergency_response", String(length=128), nullable=False),
        sa.Column("countersigner_id", sa.Integer(), nullable=True),
        sa.Column("countersign_due_at", When(), nullable=True),
        sa.Column("countersigned_at", When(), nullable=True),
        sa.Column("overdue_flagged_at", When(), nullable=True),
        sa.Column("decision_note", sa.Text(), server_default="", nullable=False),
        sa.Column("idempotency_key", String(length=128), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("submitted_at", When(), nullable=True),
        sa.Column("approved_at", When(), nullable=True),
        sa.Column("allocated_at", When(), nullable=True),
        sa.Column("dispatched_at", When(), nullable=True),
        sa.Column("received_at", When(), nullable=True),
        sa.Column("closed_at", When(), nullable=True),
        sa.Column("rejected_at", When(), nullable=True),
        sa.Column("cancelled_at", When(), nullable=True),
        sa.CheckConstraint(f"state IN ({STATES})", name="ck_dispatch_request_state"),
        sa.CheckConstraint(f"disaster_type IN ({DISASTERS})", name="ck_dispatch_request_disaster"),
        sa.CheckConstraint(
            "urgency IN ('critical', 'urgent', 'normal')", name="ck_dispatch_request_urgency"
        ),
        sa.CheckConstraint("people_affected >= 0", name="ck_dispatch_request_people"),
        sa.ForeignKeyConstraint(["county_id"], ["county.id"]),
        sa.ForeignKeyConstraint(["requester_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["approver_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["receiver_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["countersigner_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "requester_id", "idempotency_key", name="uq_dispatch_request_idempotency"
        ),
    )
    with op.batch_alter_table("dispatch_request") as batch_op:
        batch_op.create_index("ix_dispatch_request_number", ["number"], unique=True)
        batch_op.create_index("ix_dispatch_request_requester_id", ["requester_id"])
        batch_op.create_index("ix_dispatch_request_state_county", ["state", "county_id"])

    op.create_table(
        "dispatch_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("shortage", sa.Integer(), nullable=False),
        sa.Column("dispatched", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("short", sa.Integer(), nullable=False),
        sa.Column("damaged", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_dispatch_line_quantity"),
        sa.CheckConstraint(
            "allocated >= 0 AND allocated <= quantity AND shortage >= 0 "
            "AND dispatched >= 0 AND dispatched <= allocated",
            name="ck_dispatch_line_allocation",
        ),
        sa.CheckConstraint(
            "received >= 0 AND short >= 0 AND damaged >= 0 "
            "AND received + short + damaged <= dispatched AND returned >= 0 "
            "AND returned <= received",
            name="ck_dispatch_line_receipt",
        ),
        sa.ForeignKeyConstraint(["request_id"], ["dispatch_request.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "item_id", name="uq_dispatch_line_item"),
    )
    with op.batch_alter_table("dispatch_line") as batch_op:
        batch_op.create_index("ix_dispatch_line_request_id", ["request_id"])

    op.create_table(
        "dispatch_reservation",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("depot_id", sa.Integer(), nullable=False),
        sa.Column("quant_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("closed_at", When(), nullable=True),
        sa.CheckConstraint("quantity > 0", name="ck_dispatch_reservation_quantity"),
        sa.CheckConstraint(
            "received >= 0 AND received <= quantity AND returned >= 0 AND returned <= received",
            name="ck_dispatch_reservation_received",
        ),
        sa.CheckConstraint(
            "state IN ('reserved', 'dispatched', 'released')",
            name="ck_dispatch_reservation_state",
        ),
        sa.ForeignKeyConstraint(["request_id"], ["dispatch_request.id"]),
        sa.ForeignKeyConstraint(["line_id"], ["dispatch_line.id"]),
        sa.ForeignKeyConstraint(["depot_id"], ["depot.id"]),
        sa.ForeignKeyConstraint(["quant_id"], ["quant.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"]),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["owner.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["stock_document.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dispatch_reservation") as batch_op:
        batch_op.create_index("ix_dispatch_reservation_request_id", ["request_id"])
        batch_op.create_index("ix_dispatch_reservation_line_id", ["line_id"])
        batch_op.create_index("ix_dispatch_reservation_quant_state", ["quant_id", "state"])
        batch_op.create_index("ix_dispatch_reservation_depot_state", ["depot_id", "state"])

    guards.require_actor(*TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        guards.drop_trigger(f"{table}_require_actor", table)
        op.drop_table(table)
