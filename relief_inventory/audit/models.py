"""The append-only audit log. Triggers (see migrations) refuse UPDATE and DELETE."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entity", "entity_type", "entity_id"),
        Index("ix_audit_actor_at", "actor", "at"),
        # the back office's audit list: newest first per action / entity type, search (0010)
        Index("ix_audit_action_seq", "action", "seq"),
        Index("ix_audit_entity_type_seq", "entity_type", "seq"),
        Index("ix_audit_entity_id", "entity_id"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(index=True)
    actor_id: int | None = None
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=64)
    entity_id: str = Field(max_length=64)
    changes: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)
