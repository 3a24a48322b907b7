"""stock and money rules: drafts hold stock, lot status per depot, four-eyes reversals

Revision ID: 0006_stock_rules
Revises: 0005_audit

- ``stock_hold``: what a draft write-off, count or reversal holds (reserved on the quant
  until the draft is decided). Rows change only while ``held`` and are never deleted.
- ``depot_lot_status``: a lot's status in one depot (quarantine, damage, release).
- ``stock_document.rejected_by_id``: the second person who rejected a draft or refused a
  transfer on arrival; a partial unique index keeps one live reversal per document.
- ``fund_reversal_request``: a proposed fund reversal, decided by a second person; final
  once decided. ``fund_reversal.approved_by_id/approved_at``: who made it take effect.

All new tables are audited and, on PostgreSQL, refuse writes that name no actor.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from relief_inventory import guards

revision: str = "0006_stock_rules"
down_revision: str | None = "0005_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime
Money = sa.BigInteger  # integer fen (relief_inventory.money.Money)

NEW_TABLES = ("stock_hold", "depot_lot_status", "fund_reversal_request")
OPEN_REQUEST = "state = 'proposed'"
# Rows of these tables may change only while open; what they are never changes.
FINAL_ONCE_CLOSED = {
    "stock_hold": ("held", ("document_id", "quant_id", "quantity")),
    "fund_reversal_request": (
        "proposed",
        ("number", "target", "source_id", "appropriation_id", "release_id", "amount"),
    ),
}


def _user(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True)


def _add_user_column(table: str, name: str) -> None:
    """A nullable reference to a user. SQLite adds the column with its REFERENCES clause
    in place (Alembic would want to rebuild the table for the foreign key)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {name} INTEGER REFERENCES app_user (id)")
    else:
        op.add_column(table, _user(name))


def _final_once_closed(table: str, open_state: str, fixed: tuple[str, ...]) -> None:
    """Refuse DELETE, any UPDATE once the row left ``open_state``, and changes of ``fixed``."""
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in fixed)
        op.execute(
            f"""
CREATE OR REPLACE FUNCTION relief_guard_{table}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '{table} % is never deleted', OLD.id;
    END IF;
    IF OLD.state <> '{open_state}' THEN
        RAISE EXCEPTION '{table} % is final: UPDATE refused', OLD.id;
    END IF;
    IF {changed} THEN
        RAISE EXCEPTION '{table} %: {", ".join(fixed)} never change', OLD.id;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER {table}_final BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION relief_guard_{table}();
"""
        )
        return
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in fixed)
    op.execute(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_final BEFORE UPDATE ON {table} "
        f"WHEN OLD.state <> '{open_state}' "
        f"BEGIN SELECT RAISE(ABORT, '{table} row is final once closed'); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_fixed BEFORE UPDATE ON {table} WHEN {changed} "
        f"BEGIN SELECT RAISE(ABORT, '{table}: {', '.join(fixed)} never change'); END"
    )


def upgrade() -> None:
    op.create_table(
        "stock_hold",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "document_id", sa.Integer(), sa.ForeignKey("stock_document.id"), nullable=False
        ),
        sa.Column("quant_id", sa.Integer(), sa.ForeignKey("quant.id"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("closed_at", UTC(), nullable=True),
        sa.CheckConstraint("quantity > 0", name="ck_stock_hold_quantity"),
        sa.CheckConstraint("state IN ('held','used','released')", name="ck_stock_hold_state"),
    )
    op.create_index("ix_stock_hold_document_id", "stock_hold", ["document_id"])
    op.create_index("ix_stock_hold_quant_state", "stock_hold", ["quant_id", "state"])

    op.create_table(
        "depot_lot_status",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("lot_id", sa.Integer(), sa.ForeignKey("lot.id"), nullable=False),
        sa.Column("depot_id", sa.Integer(), sa.ForeignKey("depot.id"), nullable=False),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.UniqueConstraint("lot_id", "depot_id", name="uq_depot_lot_status"),
        sa.CheckConstraint(
            "status IN ('available','quarantined','damaged','expired')",
            name="ck_depot_lot_status_status",
        ),
    )
    op.create_index("ix_depot_lot_status_depot_id", "depot_lot_status", ["depot_id"])

    _add_user_column("stock_document", "rejected_by_id")
    live = sa.text("reverses_id IS NOT NULL AND state <> 'cancelled'")
    op.create_index(
        "uq_stock_document_live_reversal",
        "stock_document",
        ["reverses_id"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )

    op.create_table(
        "fund_reversal_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", String(length=32), nullable=False),
        sa.Column("target", String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("fund_source.id"), nullable=True),
        sa.Column(
            "appropriation_id", sa.Integer(), sa.ForeignKey("appropriation.id"), nullable=True
        ),
        sa.Column("release_id", sa.Integer(), sa.ForeignKey("fund_release.id"), nullable=True),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        _user("decided_by_id"),
        sa.Column("decided_at", UTC(), nullable=True),
        sa.Column("decision_note", String(length=500), nullable=False),
        sa.Column(
            "reversal_id", sa.Integer(), sa.ForeignKey("fund_reversal.id"), nullable=True
        ),
        sa.CheckConstraint("amount > 0", name="ck_fund_reversal_request_amount"),
        sa.CheckConstraint(
            "target IN ('source','appropriation','release')",
            name="ck_fund_reversal_request_target",
        ),
        sa.CheckConstraint(
            "state IN ('proposed','approved','rejected')", name="ck_fund_reversal_request_state"
        ),
        sa.CheckConstraint(
            "(CASE WHEN source_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN appropriation_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN release_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_fund_reversal_request_one_target",
        ),
        sa.UniqueConstraint("reversal_id"),
    )
    op.create_index(
        "ix_fund_reversal_request_number", "fund_reversal_request", ["number"], unique=True
    )
    for column in ("source_id", "appropriation_id", "release_id"):
        where = sa.text(f"{column} IS NOT NULL AND {OPEN_REQUEST}")
        op.create_index(
            f"uq_fund_reversal_request_open_{column.removesuffix('_id')}",
            "fund_reversal_request",
            [column],
            unique=True,
            sqlite_where=where,
            postgresql_where=where,
        )
    _add_user_column("fund_reversal", "approved_by_id")
    op.add_column("fund_reversal", sa.Column("approved_at", UTC(), nullable=True))

    for table, (open_state, fixed) in FINAL_ONCE_CLOSED.items():
        _final_once_closed(table, open_state, fixed)
    guards.require_actor(*NEW_TABLES)


def downgrade() -> None:
    raise NotImplementedError("the ledger guards are not removed by a downgrade")
