"""the audited write path: TRUNCATE refused on the ledger, the chain append in one call

Revision ID: 0007_audit_path
Revises: 0006_stock_rules

PostgreSQL only (SQLite has no TRUNCATE, and appends in Python under its write lock):

- every table that requires ``relief.actor`` (the whole audited ledger, its balances and
  the audit log; see 0002-0005) refuses TRUNCATE with a statement-level trigger;
- ``relief_audit_append``: lock the chain, read its head, link and insert a transaction's
  sealed entries, in one round trip (see ``relief_inventory/audit/services.py``).
"""

from collections.abc import Sequence

from alembic import op

from relief_inventory import guards
from relief_inventory.audit.services import PG_APPEND_FUNCTION

revision: str = "0007_audit_path"
down_revision: str | None = "0006_stock_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    guards.no_truncate(*guards.actor_guarded_tables())
    op.execute(PG_APPEND_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "DROP FUNCTION IF EXISTS relief_audit_append(bigint, timestamptz, bigint, text, text[], "
        "text[], text[], text[], text[], text[], text[])"
    )
    for table in guards.actor_guarded_tables():
        guards.drop_trigger(f"{table}_no_truncate", table)
