"""audit and auth additions: the actor guard on every other audited table

Revision ID: 0005_audit
Revises: 0004_funds

0002 put the PostgreSQL ``relief.actor`` guard on the stock ledger, 0003 and 0004 on the
dispatch and money tables. This adds it to the rest of what the audit log covers (master
data, users, role grants, tokens) and to the audit log itself, so that a row written from
outside the application (psql, a bulk tool) is refused unless it says who is acting.
"""

from collections.abc import Sequence

from relief_inventory import guards

revision: str = "0005_audit"
down_revision: str | None = "0004_funds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "county",
    "depot",
    "location",
    "category",
    "document_sequence",
    "app_user",
    "role_grant",
    "api_token",
    "audit_entry",
)


def upgrade() -> None:
    guards.require_actor(*TABLES)


def downgrade() -> None:
    for table in TABLES:
        guards.drop_trigger(f"{table}_require_actor", table)
