"""readiness: dispatch requests cite their disaster report

Revision ID: 0012_readiness_reports
Revises: 0011_readiness

- ``dispatch_request.disaster_report``: the number of the disaster report (灾情报告) a
  request answers, if it cites one (any version: the current one is shown).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_readiness_reports"
down_revision: str | None = "0011_readiness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: no table rebuild, the guards stay untouched.
    op.execute("ALTER TABLE dispatch_request ADD COLUMN disaster_report VARCHAR(32)")


def downgrade() -> None:
    op.execute("ALTER TABLE dispatch_request DROP COLUMN disaster_report")
