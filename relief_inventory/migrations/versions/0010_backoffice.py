"""back office: indexes for the lists' sort, filter and search columns

Revision ID: 0010_backoffice
Revises: 0009_operations

The back office lists the ledger (a million moves and audit entries at seed scale 100)
newest first, filtered by item, action or entity type and searched by lot number or
entity id. Each of those reads an index in key order and stops after a page, instead of
scanning the table:

- ``stock_move (item_id, id)``: a depot's or item's moves, newest first;
- ``audit_entry (action, seq)``, ``(entity_type, seq)``: refusals, prints, one kind of
  record, newest first; ``audit_entry (entity_id)``: search by document or record id;
- ``lot (number)``: search by lot number across items;
- ``stock_document (created_at)``: documents sorted by when they were entered.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_backoffice"
down_revision: str | None = "0009_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_stock_move_item", "stock_move", ["item_id", "id"]),
    ("ix_audit_action_seq", "audit_entry", ["action", "seq"]),
    ("ix_audit_entity_type_seq", "audit_entry", ["entity_type", "seq"]),
    ("ix_audit_entity_id", "audit_entry", ["entity_id"]),
    ("ix_lot_number", "lot", ["number"]),
    ("ix_stock_document_created_at", "stock_document", ["created_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
