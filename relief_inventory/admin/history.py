"""A document's history under its page (Odoo's "chatter"), readable by the people who
work with it: times in Asia/Shanghai, who acted by name (and username), what changed with
field labels instead of column names, and references to depots, items, lots, owners,
counties and users shown by their names or codes instead of database ids.

The audit log stores exactly what was written (UTC instants, ids) because its hash chain
is computed over that; this module only changes how it is shown. One function serves the
histories of every document family.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from relief_inventory.admin.base import Lookup
from relief_inventory.admin.labels import label
from relief_inventory.audit.models import AuditEntry
from relief_inventory.auth.models import User
from relief_inventory.funds.models import Appropriation, FundRelease, FundSource
from relief_inventory.stock.models import Item, Lot, Owner
from relief_inventory.timeutil import format_local
from relief_inventory.warehouse.models import County, Depot

HISTORY_LIMIT = 200
# the row's own database id says nothing to a reader; a print's copy of the whole paper is
# kept for its digest, which is shown
HIDDEN = {"id", "paper"}
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _coded(row: Any) -> str:
    return f"{row.name}（{row.code}）"


def _numbered(row: Any) -> str:
    return str(row.number)


def person(user: User | None, username: str = "") -> str:
    """``张三（keeper_zx）``: the name people know, and the login the log records."""
    if user is None:
        return username
    name = user.display_name
    return f"{name}（{user.username}）" if name and name != user.username else user.username


# column -> (the model it points to, how a row of it is shown)
REFERENCES: dict[str, tuple[Any, Callable[[Any], str]]] = {
    "depot_id": (Depot, _coded),
    "dest_depot_id": (Depot, _coded),
    "item_id": (Item, _coded),
    "lot_id": (Lot, lambda lot: lot.number),
    "owner_id": (Owner, lambda owner: owner.name),
    "county_id": (County, _coded),
    "source_id": (FundSource, _numbered),
    "appropriation_id": (Appropriation, _numbered),
    "release_id": (FundRelease, _numbered),
}
PEOPLE = {"user_id", "requester_id", "receiver_id", "approver_id", "countersigner_id"}

FIELD_LABELS = {
    "number": _l("单号"),
    "kind": _l("类型"),
    "state": _l("状态"),
    "reason": _l("事由"),
    "note": _l("备注"),
    "partner": _l("往来单位"),
    "authority_order": _l("调令文号"),
    "source_ref": _l("来源单号"),
    "origin": _l("来源"),
    "depot_id": _l("仓库"),
    "dest_depot_id": _l("调入仓库"),
    "item_id": _l("物资"),
    "lot_id": _l("批次"),
    "owner_id": _l("储备权属"),
    "county_id": _l("县市"),
    "quantity": _l("数量"),
    "amount": _l("金额"),
    "urgency": _l("紧急程度"),
    "disaster_type": _l("灾害类型"),
    "people_affected": _l("受灾人数"),
    "allow_other_counties": _l("动用其他县储备"),
    "emergency": _l("应急调拨"),
    "emergency_response": _l("应急响应"),
    "decision_note": _l("审批意见"),
    "countersign_due_at": _l("会签期限"),
    "source_id": _l("资金来源"),
    "appropriation_id": _l("资金下达"),
    "release_id": _l("资金拨付"),
    "target": _l("冲销对象"),
    "purpose": _l("用途"),
    "beneficiaries": _l("救助人数"),
    "households": _l("户数"),
    "description": _l("说明"),
    "evidence": _l("申请依据"),
    "document_number": _l("文号"),
    "issued_on": _l("下达日期"),
    "title": _l("标题"),
    "year": _l("年度"),
    "level": _l("层级"),
    "payment_reference": _l("支付凭证号"),
    "verification_note": _l("核实意见"),
    "reject_reason": _l("驳回理由"),
    "created_by_id": _l("制单人"),
    "created_at": _l("创建时间"),
    "validated_by_id": _l("审核人"),
    "verified_by_id": _l("核实人"),
    "approved_by_id": _l("批准人"),
    "rejected_by_id": _l("驳回人"),
    "released_by_id": _l("拨付人"),
    "decided_by_id": _l("决定人"),
    "requester_id": _l("申请人"),
    "done_at": _l("完成时间"),
    "submitted_at": _l("提交时间"),
    "verified_at": _l("核实时间"),
    "approved_at": _l("批准时间"),
    "allocated_at": _l("分配时间"),
    "dispatched_at": _l("发运时间"),
    "received_at": _l("签收时间"),
    "released_at": _l("拨付时间"),
    "rejected_at": _l("驳回时间"),
    "decided_at": _l("决定时间"),
    "closed_at": _l("结案时间"),
    "cancelled_at": _l("取消时间"),
    "countersigned_at": _l("会签时间"),
    "updated_at": _l("修改时间"),
    "digest": _l("摘要"),
}

ACTION_LABELS = {
    "create": _l("创建"),
    "update": _l("修改"),
    "print": _l("打印"),
    "refused": _l("拒绝"),
    "dispatch_submitted": _l("提交"),
    "dispatch_approved": _l("审批通过"),
    "dispatch_rejected": _l("驳回"),
    "dispatch_allocated": _l("分配"),
    "dispatch_dispatched": _l("发运"),
    "dispatch_received": _l("签收"),
    "dispatch_countersigned": _l("会签"),
    "dispatch_closed": _l("结案"),
    "dispatch_cancelled": _l("取消"),
}


def _reference(key: str) -> tuple[Any, Callable[[Any], str]] | None:
    if key in REFERENCES:
        return REFERENCES[key]
    if key.endswith("_by_id") or key in PEOPLE:
        return User, person
    return None


def _changes(text: str) -> dict[str, Any] | str:
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    return data if isinstance(data, dict) else str(data)[:300]


def _pairs(data: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``{"column": [old, new]}`` (or ``{"key": value}`` for events) as (key, old, new)."""
    pairs = []
    for key, value in data.items():
        if key in HIDDEN:
            continue
        if isinstance(value, list) and len(value) == 2:
            pairs.append((key, value[0], value[1]))
        else:
            pairs.append((key, None, value))
    return pairs


class _Reader:
    """Shows the values of one page's entries, looking up what they reference in batches."""

    def __init__(self, session: Session, values: Mapping[str, Mapping[str, str]]):
        self.lookup = Lookup(session)
        self.values = values

    def preload(self, pairs: list[tuple[str, Any, Any]], actor_ids: set[int]) -> None:
        wanted: dict[Any, set[Any]] = {User: set(actor_ids)}
        for key, old, new in pairs:
            target = _reference(key)
            if target is not None:
                wanted.setdefault(target[0], set()).update(
                    v for v in (old, new) if isinstance(v, int)
                )
        for model, ids in wanted.items():
            self.lookup.preload(model, ids)

    def show(self, key: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        target = _reference(key)
        if target is not None and isinstance(value, int):
            row = self.lookup.get(target[0], value)
            return target[1](row) if row is not None else f"#{value}"
        if key in self.values and isinstance(value, str):
            return label(self.values[key], value)
        if isinstance(value, bool):
            return _("是") if value else _("否")
        if isinstance(value, str) and INSTANT.match(value):
            try:
                return format_local(datetime.fromisoformat(value))
            except ValueError:
                return value
        return str(value)

    def line(self, key: str, old: Any, new: Any) -> str | None:
        if old is None and new in (None, ""):
            return None
        label = str(FIELD_LABELS.get(key, key))
        if old is None:
            return _("%(field)s：%(value)s", field=label, value=self.show(key, new))
        return _(
            "%(field)s：%(old)s → %(new)s",
            field=label,
            old=self.show(key, old),
            new=self.show(key, new),
        )


def chatter(
    session: Session,
    entity_type: str,
    entity_id: Any,
    number: str,
    values: Mapping[str, Mapping[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """The audit entries of this record and the prints of its number (both indexed),
    oldest first. ``values`` shows coded columns by their labels (``state``: 草稿 …)."""
    entries = list(
        session.scalars(
            select(AuditEntry)
            .where(
                or_(
                    and_(
                        AuditEntry.entity_type == entity_type,
                        AuditEntry.entity_id == str(entity_id),
                    ),
                    and_(AuditEntry.entity_type == "print", AuditEntry.entity_id == number),
                )
            )
            .order_by(AuditEntry.seq)
            .limit(HISTORY_LIMIT)
        )
    )
    reader = _Reader(session, values or {})
    parsed = [_changes(entry.changes) for entry in entries]
    reader.preload(
        [pair for data in parsed if isinstance(data, dict) for pair in _pairs(data)],
        {entry.actor_id for entry in entries if entry.actor_id is not None},
    )
    shown = []
    for entry, data in zip(entries, parsed, strict=True):
        lines = (
            [data]
            if isinstance(data, str)
            else [text for pair in _pairs(data) if (text := reader.line(*pair))]
        )
        shown.append(
            {
                "seq": entry.seq,
                "at": format_local(entry.at),
                "actor": person(reader.lookup.get(User, entry.actor_id), entry.actor),
                "action": str(ACTION_LABELS.get(entry.action, entry.action)),
                "changes": lines,
                "reason": entry.reason or "",
            }
        )
    return shown
