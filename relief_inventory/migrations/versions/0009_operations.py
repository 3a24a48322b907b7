"""operations: marks of long operations (a seed) so an interrupted one is never taken as done

Revision ID: 0009_operations
Revises: 0008_api_strict

- ``operation_mark``: one row per long operation (``seed``), ``started`` before its first
  write and ``completed`` after its last (relief_inventory/ops/marks.py). Not audited.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_operations"
down_revision: str | None = "0008_api_strict"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
UTC = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "operation_mark",
        sa.Column("name", String(length=32), primary_key=True),
        sa.Column("state", String(length=16), nullable=False),
        sa.Column("detail", String(length=400), nullable=False),
        sa.Column("started_at", UTC(), nullable=False),
        sa.Column("finished_at", UTC(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("operation_mark")
