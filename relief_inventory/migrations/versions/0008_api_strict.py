"""strict API: idempotent requests for every creating POST, login limits per client address

Revision ID: 0008_api_strict
Revises: 0007_audit_path

- ``idempotent_request``: one row per (user, Idempotency-Key), naming the operation, a
  digest of the request and the document it made (relief_inventory/idempotency.py).
  Append-only; on PostgreSQL writes must name their actor.
- ``login_failure``: failed logins by client address and name, counted by the login limits
  in a sliding window (pruned as it slides).
- ``app_user.failed_logins`` and ``app_user.locked_until`` go: the lock is now per name and
  client address (from ``login_failure``), so one guesser cannot lock an account for all.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from relief_inventory import guards

revision: str = "0008_api_strict"
down_revision: str | None = "0007_audit_path"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "idempotent_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("key", String(length=128), nullable=False),
        sa.Column("operation", String(length=96), nullable=False),
        sa.Column("request_digest", String(length=64), nullable=False),
        sa.Column("entity_type", String(length=64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotent_request_user_key"),
    )
    guards.append_only("idempotent_request")
    guards.ledger_table("idempotent_request")
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client", String(length=64), nullable=False),
        sa.Column("username", String(length=64), nullable=False),
        sa.Column("at", UTC(), nullable=False),
    )
    op.create_index("ix_login_failure_client_at", "login_failure", ["client", "at"])
    op.create_index("ix_login_failure_at", "login_failure", ["at"])
    # Plain ALTER TABLE on both databases (SQLite >= 3.35): no table rebuild, so the rows
    # that reference app_user and the guards on it stay untouched.
    op.execute("ALTER TABLE app_user DROP COLUMN failed_logins")
    op.execute("ALTER TABLE app_user DROP COLUMN locked_until")


def downgrade() -> None:
    op.execute("ALTER TABLE app_user ADD COLUMN locked_until TIMESTAMP")
    op.execute("ALTER TABLE app_user ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0")
    op.drop_index("ix_login_failure_at", table_name="login_failure")
    op.drop_index("ix_login_failure_client_at", table_name="login_failure")
    op.drop_table("login_failure")
    op.drop_table("idempotent_request")
