"""Appending to the chain. Called only by the unit of work, just before it commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from relief_inventory.audit.chain import GENESIS_HASH, canonical_json, link_hash
from relief_inventory.audit.models import AuditEntry
from relief_inventory.timeutil import canonical_utc, utcnow

# Any constant works; it only has to be the same in every process that appends.
AUDIT_LOCK_KEY = 72_300_001


@dataclass
class PendingEntry:
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any]
    reason: str | None = None


def lock_chain(session: Session) -> None:
    """Serialise appends so that two writers can never both extend the same head.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the write transaction was
    opened with BEGIN IMMEDIATE, so the database lock is already held.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def chain_head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def append(
    session: Session, actor_id: int | None, actor: str, entries: list[PendingEntry]
) -> tuple[int, str]:
    """Write the entries after the current head; returns the new head."""
    if not entries:
        return chain_head(session)
    lock_chain(session)
    seq, prev_hash = chain_head(session)
    moment = utcnow()
    at_text = canonical_utc(moment)
    rows = []
    for pending in entries:
        seq += 1
        changes = canonical_json(pending.changes)
        digest = link_hash(
            seq,
            at_text,
            actor_id,
            actor,
            pending.action,
            pending.entity_type,
            pending.entity_id,
            changes,
            pending.reason,
            prev_hash,
        )
        rows.append(
            {
                "seq": seq,
                "at": moment,
                "actor_id": actor_id,
                "actor": actor,
                "action": pending.action,
                "entity_type": pending.entity_type,
                "entity_id": pending.entity_id,
                "changes": changes,
                "reason": pending.reason,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    # A Core insert: the rows are final, the ORM's bulk machinery would only slow it down.
    session.execute(AuditEntry.__table__.insert(), rows)  # type: ignore[attr-defined]
    return seq, prev_hash
