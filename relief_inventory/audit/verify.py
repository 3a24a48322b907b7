"""``relief audit verify``: walk the chain, then replay it against the audited tables.

The chain proves no entry was altered, removed or inserted; the replay proves no audited
row (a move, a lot, a money document) was changed, added or deleted behind the log's back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.audit.chain import GENESIS_HASH, entry_hash
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.registry import AUDITED, AuditSpec
from relief_inventory.timeutil import canonical_utc

MAX_ROW_PROBLEMS = 50
BATCH = 20_000


@dataclass
class Verification:
    entries: int = 0
    head: tuple[int, str] = (0, GENESIS_HASH)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    session: Session,
    *,
    expected_head: tuple[int, str] | None = None,
    check_rows: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Verification:
    result = Verification()
    states: dict[tuple[str, str], dict[str, Any]] = {}
    if not _walk_chain(session, result, states, expected_head, progress):
        return result
    if check_rows:
        _compare_rows(session, states, result)
    return result


def _walk_chain(
    session: Session,
    result: Verification,
    states: dict[tuple[str, str], dict[str, Any]],
    expected_head: tuple[int, str] | None,
    progress: Callable[[int], None] | None,
) -> bool:
    columns = [
        getattr(AuditEntry, name)
        for name in (
            "seq",
            "at",
            "actor_id",
            "actor",
            "action",
            "entity_type",
            "entity_id",
            "changes",
            "reason",
            "prev_hash",
            "hash",
        )
    ]
    prev_hash, expected_seq, seen_head = GENESIS_HASH, 1, expected_head is None
    stream = session.execute(
        select(*columns).order_by(AuditEntry.seq).execution_options(yield_per=BATCH)
    )
    for row in stream:
        seq, at, actor_id, actor, action, etype, eid, changes, reason, link, digest = row
        where = f"审计日志第 {seq} 条"
        if seq != expected_seq:
            result.problems.append(
                f"{where}：序号不连续（应为 {expected_seq}），有记录被删除或插入"
            )
            return False
        if link != prev_hash:
            result.problems.append(f"{where}：前一条哈希不符，链条断裂")
            return False
        fields = {
            "seq": seq,
            "at": canonical_utc(at),
            "actor_id": actor_id,
            "actor": actor,
            "action": action,
            "entity_type": etype,
            "entity_id": eid,
            "changes": changes,
            "reason": reason,
            "prev_hash": link,
        }
        if entry_hash(fields) != digest:
            result.problems.append(f"{where}：内容与哈希不符，记录被篡改")
            return False
        if expected_head is not None and seq == expected_head[0]:
            if digest != expected_head[1]:
                result.problems.append(f"{where}：与此前公布的链头哈希不符，日志被整体改写")
                return False
            seen_head = True
        if etype in AUDITED and action in ("create", "update"):
            state = states.setdefault((etype, eid), {})
            for name, (_old, new) in json.loads(changes).items():
                state[name] = new
        prev_hash, expected_seq = digest, expected_seq + 1
        result.entries += 1
        if progress and result.entries % BATCH == 0:
            progress(result.entries)
    result.head = (expected_seq - 1, prev_hash)
    if not seen_head:
        assert expected_head is not None
        result.problems.append(
            f"此前公布的链头（第 {expected_head[0]} 条）已不在日志中，日志被截短"
        )
        return False
    return True


def _compare_rows(
    session: Session, states: dict[tuple[str, str], dict[str, Any]], result: Verification
) -> None:
    for etype, spec in AUDITED.items():
        remaining = {eid for (kind, eid) in states if kind == etype}
        for eid, snapshot in _rows(session, spec):
            remaining.discard(eid)
            logged = states.get((etype, eid))
            if logged is None:
                _flag(result, f"{etype} #{eid}：数据库中存在但审计日志中没有记录（绕过系统写入）")
                continue
            changed = sorted(k for k, v in snapshot.items() if logged.get(k, v) != v)
            if changed:
                _flag(result, f"{etype} #{eid}：字段 {', '.join(changed)} 与审计日志不符（被篡改）")
        for eid in sorted(remaining):
            _flag(result, f"{etype} #{eid}：审计日志有记录但数据库中已不存在（被删除）")


def _rows(session: Session, spec: AuditSpec) -> Any:
    table = spec.model.__table__  # type: ignore[attr-defined]
    names = spec.columns()
    keys = [c.key for c in table.primary_key.columns]
    stream = session.execute(
        select(*[table.c[n] for n in names], *[table.c[k] for k in keys]).execution_options(
            yield_per=BATCH
        )
    )
    for row in stream:
        values = row[: len(names)]
        eid = "-".join(str(v) for v in row[len(names) :])
        yield eid, {n: spec.logged_value(n, v) for n, v in zip(names, values, strict=True)}


def _flag(result: Verification, message: str) -> None:
    if len(result.problems) < MAX_ROW_PROBLEMS:
        result.problems.append(message)
    elif len(result.problems) == MAX_ROW_PROBLEMS:
        result.problems.append("……问题过多，其余从略")
