"""ledger guards: append-only audit, final done moves, actor required on PostgreSQL

Revision ID: 0002_guards
Revises: 0001_core
"""

from collections.abc import Sequence

from relief_inventory import guards

revision: str = "0002_guards"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEDGER_TABLES = ("stock_move", "quant", "lot", "stock_document", "item", "count_line", "owner")


def upgrade() -> None:
    guards.install_functions()
    guards.append_only("audit_entry")
    guards.final_once_done("stock_move")
    guards.require_actor(*LEDGER_TABLES)


def downgrade() -> None:
    raise NotImplementedError("the ledger guards are not removed by a downgrade")
