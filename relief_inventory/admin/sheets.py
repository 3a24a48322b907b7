"""An Odoo-style document page: the state bar, the buttons of the next steps this user may
take, the header fields, the lines, related documents one click away, the prints, and the
document's history from the audit log underneath (who, when, what changed).

Each document family (``documents``, ``dispatch``, ``funds``) builds a ``Sheet``; one
template (``backoffice/sheet.html``) draws them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.timeutil import format_local

HISTORY_LIMIT = 200


@dataclass
class Input:
    """A field of an action's form (a reason, a note, a payment reference…)."""

    name: str
    label: str
    required: bool = False
    kind: str = "text"  # text | textarea | number | select
    choices: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Action:
    name: str
    label: str
    style: str = "primary"  # a Bootstrap button colour
    inputs: list[Input] = field(default_factory=list)
    confirm: str | None = None


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]
    numeric: set[int] = field(default_factory=set)  # right-aligned columns


@dataclass
class Sheet:
    kind_label: str
    number: str
    states: list[tuple[str, str]]  # the main road, in order
    state: str
    state_label: str
    act_url: str
    actions: list[Action] = field(default_factory=list)
    fields: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    related: list[tuple[str, str]] = field(default_factory=list)  # (label, href)
    prints: list[tuple[str, str]] = field(default_factory=list)
    forms: list[tuple[str, str]] = field(default_factory=list)  # steps that need a page
    history: list[dict[str, Any]] = field(default_factory=list)
    banner: str | None = None  # 已冲销 / 已驳回 …

    def position(self, key: str) -> str:
        """done / current / todo on the state bar (off-road states show as ``off``)."""
        keys = [k for k, _ in self.states]
        if self.state not in keys:
            return "off" if key == self.state else "todo"
        here = keys.index(self.state)
        there = keys.index(key)
        return "done" if there < here else "current" if there == here else "todo"


def history(session: Session, entity_type: str, entity_id: Any, number: str) -> list[dict]:
    """The audit entries of this record and the prints of its number (both indexed),
    oldest first: the document's chatter."""
    rows = session.scalars(
        select(AuditEntry)
        .where(
            or_(
                and_(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id)),
                and_(AuditEntry.entity_type == "print", AuditEntry.entity_id == number),
            )
        )
        .order_by(AuditEntry.seq)
        .limit(HISTORY_LIMIT)
    )
    return [
        {
            "seq": entry.seq,
            "at": format_local(entry.at),
            "actor": entry.actor,
            "action": ACTION_LABELS.get(entry.action, entry.action),
            "changes": _changes(entry.changes),
            "reason": entry.reason or "",
        }
        for entry in rows
    ]


def _changes(text: str) -> list[str]:
    """``{"column": [old, new]}`` as lines ``column: old → new``."""
    try:
        data = json.loads(text)
    except ValueError:
        return [text[:300]]
    if not isinstance(data, dict):
        return [str(data)[:300]]
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and len(value) == 2:
            old, new = value
            if old is None and new in (None, ""):
                continue
            if old is None:
                lines.append(f"{key} = {new}")
            else:
                lines.append(f"{key}: {old} → {'' if new is None else new}")
        else:
            lines.append(f"{key}: {value}")
    return lines


ACTION_LABELS = {
    "create": "创建",
    "update": "修改",
    "print": "打印",
    "refused": "拒绝",
    "dispatch_submitted": "提交",
    "dispatch_approved": "审批通过",
    "dispatch_rejected": "驳回",
    "dispatch_allocated": "分配",
    "dispatch_dispatched": "发运",
    "dispatch_received": "签收",
    "dispatch_countersigned": "会签",
    "dispatch_closed": "结案",
    "dispatch_cancelled": "取消",
}
