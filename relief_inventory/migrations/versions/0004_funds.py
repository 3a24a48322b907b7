"""relief funds

Revision ID: 0004_funds
Revises: 0003_dispatch
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from relief_inventory import guards

revision: str = "0004_funds"
down_revision: str | None = "0003_dispatch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("fund_source", "appropriation", "fund_release", "fund_reversal", "fund_purchase_link")
APPEND_ONLY = ("fund_source", "appropriation", "fund_reversal", "fund_purchase_link")

String = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime
Money = sa.BigInteger  # integer fen (relief_inventory.money.Money)

# A release moves through its workflow, then is final once released or rejected; what it
# is (its number, appropriation, county, amount and author) never changes at all.
FINAL_STATES = "('released','rejected')"
FIXED = ("number", "appropriation_id", "county_id", "amount", "created_by_id")

PG_RELEASE_GUARD = f"""
CREATE OR REPLACE FUNCTION relief_guard_fund_release() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'fund_release % is never deleted', OLD.number;
    END IF;
    IF OLD.state IN {FINAL_STATES} THEN
        RAISE EXCEPTION 'fund_release % is final: UPDATE refused', OLD.number;
    END IF;
    IF {" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FIXED)} THEN
        RAISE EXCEPTION 'fund_release %: {", ".join(FIXED)} never change', OLD.number;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER fund_release_final BEFORE UPDATE OR DELETE ON fund_release
    FOR EACH ROW EXECUTE FUNCTION relief_guard_fund_release();
"""

SQLITE_RELEASE_GUARD = (
    "CREATE TRIGGER fund_release_no_delete BEFORE DELETE ON fund_release "
    "BEGIN SELECT RAISE(ABORT, 'fund_release rows are never deleted'); END",
    f"CREATE TRIGGER fund_release_final BEFORE UPDATE ON fund_release "
    f"WHEN OLD.state IN {FINAL_STATES} "
    f"BEGIN SELECT RAISE(ABORT, 'fund_release row is final once released or rejected'); END",
    f"CREATE TRIGGER fund_release_fixed BEFORE UPDATE ON fund_release "
    f"WHEN {' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in FIXED)} "
    f"BEGIN SELECT RAISE(ABORT, 'fund_release: {', '.join(FIXED)} never change'); END",
)


def _audit_columns() -> list[sa.Column]:
    return [
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "fund_source",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", String(length=32), nullable=False),
        sa.Column("level", String(length=16), nullable=False),
        sa.Column("kind", String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("document_number", String(length=64), nullable=False),
        sa.Column("title", String(length=255), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        *_audit_columns(),
        sa.CheckConstraint("amount > 0", name="ck_fund_source_amount"),
        sa.CheckConstraint(
            "level IN ('central','provincial','prefecture')", name="ck_fund_source_level"
        ),
        sa.CheckConstraint(
            "kind IN ('winter_spring','flood_drought','geological','emergency','other')",
            name="ck_fund_source_kind",
        ),
        sa.UniqueConstraint("document_number", "kind", name="uq_fund_source_document_kind"),
    )
    op.create_index("ix_fund_source_number", "fund_source", ["number"], unique=True)
    op.create_index("ix_fund_source_kind", "fund_source", ["kind"])
    op.create_index("ix_fund_source_year", "fund_source", ["year"])

    op.create_table(
        "appropriation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("fund_source.id"), nullable=False),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("county.id"), nullable=False),
        sa.Column("document_number", String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("note", String(length=255), nullable=False),
        *_audit_columns(),
        sa.CheckConstraint("amount > 0", name="ck_appropriation_amount"),
    )
    op.create_index("ix_appropriation_number", "appropriation", ["number"], unique=True)
    op.create_index("ix_appropriation_source_id", "appropriation", ["source_id"])
    op.create_index("ix_appropriation_county_id", "appropriation", ["county_id"])

    user = lambda name: sa.Column(name, sa.Integer(), sa.ForeignKey("app_user.id"))  # noqa: E731
    op.create_table(
        "fund_release",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", String(length=32), nullable=False),
        sa.Column(
            "appropriation_id", sa.Integer(), sa.ForeignKey("appropriation.id"), nullable=False
        ),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("county.id"), nullable=False),
        sa.Column("purpose", String(length=16), nullable=False),
        sa.Column("description", String(length=255), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("beneficiaries", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.Text(), server_default="", nullable=False),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("idempotency_key", String(length=128), nullable=True),
        *_audit_columns(),
        sa.Column("submitted_at", UTC(), nullable=True),
        user("verified_by_id"),
        sa.Column("verified_at", UTC(), nullable=True),
        sa.Column("verification_note", String(length=500), nullable=False),
        user("approved_by_id"),
        sa.Column("approved_at", UTC(), nullable=True),
        user("released_by_id"),
        sa.Column("released_at", UTC(), nullable=True),
        sa.Column("payment_reference", String(length=64), nullable=False),
        user("rejected_by_id"),
        sa.Column("rejected_at", UTC(), nullable=True),
        sa.Column("reject_reason", String(length=500), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_fund_release_amount"),
        sa.CheckConstraint("beneficiaries >= 0", name="ck_fund_release_beneficiaries"),
        sa.CheckConstraint("households >= 0", name="ck_fund_release_households"),
        sa.CheckConstraint(
            "state IN ('draft','submitted','verified','approved','released','rejected')",
            name="ck_fund_release_state",
        ),
        sa.CheckConstraint(
            "purpose IN ('living_aid','materials','resettlement','rebuilding','other')",
            name="ck_fund_release_purpose",
        ),
        sa.UniqueConstraint("created_by_id", "idempotency_key", name="uq_fund_release_idempotency"),
    )
    op.create_index("ix_fund_release_number", "fund_release", ["number"], unique=True)
    op.create_index("ix_fund_release_county_id", "fund_release", ["county_id"])
    op.create_index("ix_fund_release_state", "fund_release", ["state"])
    op.create_index(
        "ix_fund_release_appropriation_state", "fund_release", ["appropriation_id", "state"]
    )

    op.create_table(
        "fund_reversal",
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
        *_audit_columns(),
        sa.CheckConstraint("amount > 0", name="ck_fund_reversal_amount"),
        sa.CheckConstraint(
            "target IN ('source','appropriation','release')", name="ck_fund_reversal_target"
        ),
        sa.CheckConstraint(
            "(CASE WHEN source_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN appropriation_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN release_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_fund_reversal_one_target",
        ),
        sa.UniqueConstraint("source_id", name="uq_fund_reversal_source"),
        sa.UniqueConstraint("appropriation_id", name="uq_fund_reversal_appropriation"),
        sa.UniqueConstraint("release_id", name="uq_fund_reversal_release"),
    )
    op.create_index("ix_fund_reversal_number", "fund_reversal", ["number"], unique=True)

    op.create_table(
        "fund_purchase_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "appropriation_id", sa.Integer(), sa.ForeignKey("appropriation.id"), nullable=False
        ),
        sa.Column(
            "stock_document_id", sa.Integer(), sa.ForeignKey("stock_document.id"), nullable=False
        ),
        sa.Column("amount", Money(), nullable=False),
        *_audit_columns(),
        sa.CheckConstraint("amount > 0", name="ck_fund_purchase_link_amount"),
        sa.UniqueConstraint(
            "appropriation_id", "stock_document_id", name="uq_fund_purchase_link_receipt"
        ),
    )
    op.create_index(
        "ix_fund_purchase_link_appropriation_id", "fund_purchase_link", ["appropriation_id"]
    )
    op.create_index(
        "ix_fund_purchase_link_stock_document_id", "fund_purchase_link", ["stock_document_id"]
    )

    for table in APPEND_ONLY:
        guards.append_only(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_RELEASE_GUARD)
    else:
        for statement in SQLITE_RELEASE_GUARD:
            op.execute(statement)
    guards.require_actor(*TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS relief_guard_fund_release()")
