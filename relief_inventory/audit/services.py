"""Appending to the chain: seal a transaction's entries, then link them under a short lock.

Called by the session hooks (``audit/capture.py``) as the last thing before a commit. The
work is split so that almost none of it happens while the chain is locked:

1. ``seal`` (no lock): the canonical JSON of every entry's changes, its time and the two
   parts of its hash payload around the link (``chain.payload_parts``).
2. ``append_and_commit`` (locked): read the head, hash each sealed payload with its link,
   insert all of the transaction's entries in one statement, commit. On PostgreSQL the first
   three steps are one call of the server function ``relief_audit_append`` (migration 0007),
   sent with COMMIT in one message, so the lock is taken, used and released by the server
   within one round trip; on SQLite the write lock is already held (``BEGIN IMMEDIATE`` or
   the flush's own writes) and Python does the same steps before the session commits.

The transaction-scoped advisory lock (PostgreSQL) is held until COMMIT, so no two writers
can extend the same head; ``prev_hash`` is UNIQUE behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from relief_inventory.audit.chain import (
    GENESIS_HASH,
    canonical_json,
    payload_parts,
    sealed_hash,
)
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.registry import (
    AUDIT_LOG_TABLE,
    AuditSpec,
    UnauditedWrite,
    permit,
)
from relief_inventory.timeutil import canonical_utc, utcnow

# Any constant works; it only has to be the same in every process that appends.
AUDIT_LOCK_KEY = 72_300_001

_ENTRY_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]


@dataclass
class PendingEntry:
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any]
    reason: str | None = None


@dataclass
class SealedEntries:
    """A transaction's entries, ready to be linked: everything but ``seq``, ``prev_hash``
    and ``hash``, which only the chain's head decides."""

    at: datetime
    actor_id: int | None
    actor: str
    actions: list[str] = field(default_factory=list)
    entity_types: list[str] = field(default_factory=list)
    entity_ids: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    tails: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.actions)


def seal(
    entries: Sequence[PendingEntry], actor_id: int | None, actor: str, reason: str | None
) -> SealedEntries:
    """Build every entry's canonical payload (``reason`` fills entries without their own)."""
    moment = utcnow()
    at_text = canonical_utc(moment)
    sealed = SealedEntries(moment, actor_id, actor)
    for entry in entries:
        changes = canonical_json(entry.changes)
        why = entry.reason if entry.reason is not None else reason
        head, tail = payload_parts(
            at_text, actor_id, actor, entry.action, entry.entity_type, entry.entity_id, changes, why
        )
        sealed.actions.append(entry.action)
        sealed.entity_types.append(entry.entity_type)
        sealed.entity_ids.append(entry.entity_id)
        sealed.changes.append(changes)
        sealed.reasons.append(why)
        sealed.heads.append(head)
        sealed.tails.append(tail)
    return sealed


def chain_head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def append_and_commit(session: Session, sealed: SealedEntries) -> tuple[int, str]:
    """The last step of a commit: link the sealed entries after the current head, write
    them, and commit as soon as possible; returns the new head.

    PostgreSQL: the append call and COMMIT leave in one network message (libpq pipeline),
    so the chain lock is taken, used and released by the server alone: no client round
    trip, and no client process waiting for a CPU, happens while it is held. The session's
    own COMMIT that follows finds nothing left to commit. SQLite: append; the session
    commits right after, under the write lock it has held since BEGIN IMMEDIATE (or since
    its first write).
    """
    if not sealed:
        return chain_head(session)
    if session.get_bind().dialect.name == "postgresql":
        return _append_and_commit_postgresql(session, sealed)
    return _append_here(session, sealed)


# Arrays go in binary (``%b``): psycopg's text format would escape every JSON quote again.
_PG_APPEND = (
    "SELECT head_seq, head_hash FROM relief_audit_append(%(lock_key)s::bigint, "
    "%(at)s::timestamptz, %(actor_id)s::bigint, %(actor)s::text, %(actions)b::text[], "
    "%(entity_types)b::text[], %(entity_ids)b::text[], %(changes)b::text[], "
    "%(reasons)b::text[], %(heads)b::text[], %(tails)b::text[])"
)


def _append_and_commit_postgresql(session: Session, sealed: SealedEntries) -> tuple[int, str]:
    params = {
        "lock_key": AUDIT_LOCK_KEY,
        "at": sealed.at,
        "actor_id": sealed.actor_id,
        "actor": sealed.actor,
        "actions": sealed.actions,
        "entity_types": sealed.entity_types,
        "entity_ids": sealed.entity_ids,
        "changes": sealed.changes,
        "reasons": sealed.reasons,
        "heads": sealed.heads,
        "tails": sealed.tails,
    }
    # psycopg's own connection, for its pipeline mode; the statement is the audit package's,
    # so it need not pass the engine hook that guards audited tables.
    driver = session.connection().connection.driver_connection
    with driver.pipeline():  # type: ignore[union-attr]
        cursor = driver.cursor()  # type: ignore[union-attr]
        cursor.execute(_PG_APPEND, params)
        driver.commit()  # type: ignore[union-attr]
    head = cursor.fetchone()
    return int(head[0]), str(head[1])


_INSERT_ENTRIES = permit(insert(_ENTRY_TABLE), AUDIT_LOG_TABLE)


def _append_here(session: Session, sealed: SealedEntries) -> tuple[int, str]:
    """SQLite: the transaction holds the database's write lock, which serialises appends."""
    seq, prev_hash = chain_head(session)
    rows = []
    for index in range(len(sealed)):
        seq += 1
        digest = sealed_hash(sealed.heads[index], prev_hash, sealed.tails[index], seq)
        rows.append(
            {
                "seq": seq,
                "at": sealed.at,
                "actor_id": sealed.actor_id,
                "actor": sealed.actor,
                "action": sealed.actions[index],
                "entity_type": sealed.entity_types[index],
                "entity_id": sealed.entity_ids[index],
                "changes": sealed.changes[index],
                "reason": sealed.reasons[index],
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    session.execute(_INSERT_ENTRIES, rows)
    return seq, prev_hash


def creation_entry(spec: AuditSpec, row: Mapping[str, Any]) -> PendingEntry:
    """The ``create`` entry of an audited row given as a column -> value mapping."""
    changes = {name: [None, spec.logged_value(name, row.get(name))] for name in spec.columns()}
    key = "-".join(str(row[c.key]) for c in spec.model.__table__.primary_key.columns)  # type: ignore[attr-defined]
    return PendingEntry("create", spec.entity_type, key, changes)


# PostgreSQL: lock, head, link and insert in one call. Each statement of a VOLATILE plpgsql
# function takes a new snapshot (READ COMMITTED), so the head is read after the lock is held.
# The hash is sealed_hash() of audit/chain.py: sha256 over head || prev_hash || tail || seq
# || '}', the parts built by the application (tests check the two agree entry by entry).
PG_APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION relief_audit_append(
    lock_key bigint, at_ timestamptz, actor_id_ bigint, actor_ text, actions text[],
    entity_types text[], entity_ids text[], changes_ text[], reasons text[], heads text[],
    tails text[]
) RETURNS TABLE (head_seq bigint, head_hash text) AS $$
DECLARE
    s bigint;
    h text;
    seqs bigint[] := '{}';
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT e.seq, e.hash INTO s, h FROM audit_entry e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        s := 0;
        h := repeat('0', 64);
    END IF;
    FOR i IN 1 .. cardinality(actions) LOOP
        prevs[i] := h;
        s := s + 1;
        h := encode(sha256(convert_to(heads[i] || h || tails[i] || s::text || '}', 'UTF8')),
                    'hex');
        seqs[i] := s;
        hashes[i] := h;
    END LOOP;
    INSERT INTO audit_entry (seq, at, actor_id, actor, action, entity_type, entity_id,
                             changes, reason, prev_hash, hash)
    SELECT u.seq, at_, actor_id_, actor_, u.action, u.entity_type, u.entity_id, u.changes,
           u.reason, u.prev_hash, u.hash
    FROM unnest(seqs, actions, entity_types, entity_ids, changes_, reasons, prevs, hashes)
         AS u(seq, action, entity_type, entity_id, changes, reason, prev_hash, hash);
    RETURN QUERY SELECT s, h;
END $$ LANGUAGE plpgsql VOLATILE
"""


def _refuse_orm_entry(_mapper: Any, _connection: Any, _target: Any) -> None:
    raise UnauditedWrite("audit entries are written only by the chain append")


for _hook in ("before_insert", "before_update", "before_delete"):
    event.listen(AuditEntry, _hook, _refuse_orm_entry)
