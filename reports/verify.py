"""QR verification codes: what a printed paper carries, and checking it against the record.

A code is ``<document number>.<digest>``: the digest is an HMAC-SHA256, keyed with the
server's secret (``RELIEF_SECRET_KEY``), of the canonical JSON of exactly what the paper
shows (``reports.papers``), truncated to 120 bits (24 base32 characters, so the QR code
stays small enough to scan off a crumpled page). Only the server can make a code that
matches; anyone can ask it whether one still does.

Every print is an audit event (``print``, entity ``print``/<number>) in the same hash chain
as everything else; its entry keeps the digest and, the first time that digest is printed,
the paper itself. A scan whose digest no longer matches the record is compared with that
kept paper, so the answer can say what changed (a reversal, a different quantity) and
nothing the paper did not show already.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from relief_inventory.audit.chain import canonical_json, canonical_value
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.queries import AuditFilters, filtered
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.errors import DomainError, NotFound
from relief_inventory.uow import UnitOfWork
from reports.papers import Letterhead, read_paper

DIGEST_BYTES = 15  # 120 bits -> 24 base32 characters, no padding
CODE_PATTERN = re.compile(r"(?P<number>[A-Z]{2}-\d{4}-\d{6})\.(?P<digest>[A-Z2-7]{24})")
PRINT_ACTION = "print"
PRINT_ENTITY = "print"
# The public page reads like an auditor: every record, nothing written.
VERIFIER = Actor(user_id=None, username="verify", roles=frozenset({Role.AUDITOR}))


class Status:
    MATCHES = "matches"
    CHANGED = "changed"
    UNKNOWN = "unknown"
    LABELS = {
        MATCHES: "与系统记录一致",
        CHANGED: "与系统记录不一致",
        UNKNOWN: "无法核验",
    }


# -- codes (pure) --------------------------------------------------------------------------


def printed_form(paper: dict[str, Any]) -> dict[str, Any]:
    """The paper as plain JSON values (Decimal as text), as it is sealed and kept."""
    return json.loads(canonical_json(paper))


def digest(secret: str, paper: dict[str, Any]) -> str:
    mac = hmac.new(secret.encode(), canonical_json(paper).encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:DIGEST_BYTES]).decode()


def make_code(secret: str, paper: dict[str, Any]) -> str:
    return f"{paper['number']}.{digest(secret, paper)}"


def parse_code(text: str) -> tuple[str, str]:
    """(number, digest) of a code as scanned or typed; a 404 for anything else."""
    cleaned = text.strip().upper() if isinstance(text, str) else ""
    match = CODE_PATTERN.fullmatch(cleaned)
    if match is None:
        raise NotFound("核验码格式不正确", field="code")
    return match["number"], match["digest"]


def verify_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/verify/{code}"


def find_code(text: str) -> str | None:
    """The first verification code in a text (a PDF's metadata or extracted text)."""
    match = CODE_PATTERN.search(text.upper())
    return match.group(0) if match else None


# -- printing ------------------------------------------------------------------------------


def _prints(number: str, sealed: str) -> Any:
    """The audit entries of the prints of ``number`` whose digest was ``sealed``."""
    filters = AuditFilters(entity_type=PRINT_ENTITY, entity_id=number, action=PRINT_ACTION)
    return filtered(filters).where(AuditEntry.changes.contains(sealed))


def record_print(uow: UnitOfWork, paper: dict[str, Any], code: str) -> None:
    """Log one print in the audit chain; keep the paper the first time its digest prints."""
    number, sealed = parse_code(code)
    seen = uow.session.scalar(_prints(number, sealed).limit(1))
    changes: dict[str, Any] = {"kind": paper["kind"], "digest": sealed}
    if seen is None:
        changes["paper"] = printed_form(paper)
    uow.record(PRINT_ACTION, PRINT_ENTITY, number, changes)


def record_untracked_print(uow: UnitOfWork, kind: str, subject: str) -> None:
    """A print without a code (a blank count sheet, a report): logged, nothing to verify."""
    uow.record(PRINT_ACTION, PRINT_ENTITY, subject[:64], {"kind": kind})


# -- verifying -----------------------------------------------------------------------------


@dataclass
class Verification:
    code: str
    number: str
    status: str
    paper: dict[str, Any] | None = None  # what the paper shows (as printed)
    changes: list[str] = field(default_factory=list)
    first_printed_at: datetime | None = None

    @property
    def status_label(self) -> str:
        return Status.LABELS[self.status]

    @property
    def matches(self) -> bool:
        return self.status == Status.MATCHES


def _kept_paper(session: Session, number: str, sealed: str) -> tuple[dict | None, datetime | None]:
    for entry in session.scalars(_prints(number, sealed)):
        changes = json.loads(entry.changes)
        if changes.get("digest") == sealed and "paper" in changes:
            return changes["paper"], entry.at
    return None, None


def verify_code(session: Session, secret: str, letterhead: Letterhead, code: str) -> Verification:
    """Does the paper with this code still match the record? If not, what changed."""
    number, sealed = parse_code(code)
    normal = f"{number}.{sealed}"
    kept, printed_at = _kept_paper(session, number, sealed)
    try:
        current = printed_form(read_paper(session, VERIFIER, number, letterhead, for_print=False))
    except DomainError:
        current = None
    if current is not None and hmac.compare_digest(digest(secret, current), sealed):
        return Verification(normal, number, Status.MATCHES, current, [], printed_at)
    if kept is None:
        return Verification(
            normal,
            number,
            Status.UNKNOWN,
            changes=["系统中没有这个核验码的打印记录：纸面可能是伪造的，或核验码抄录有误"],
        )
    if current is None:
        changes = [f"系统中已找不到单据 {number}"]
    else:
        changes = differences(kept, current) or ["单据内容与打印时不同"]
    return Verification(normal, number, Status.CHANGED, kept, changes, printed_at)


# -- what changed (pure) -------------------------------------------------------------------

LABELS = {
    "title": "标题",
    "date": "日期",
    "authority": "签发机关",
    "document_number": "文号",
    "addressee": "主送机关",
    "amount": "金额（元）",
    "amount_capital": "金额大写",
    "beneficiaries": "惠及人数",
    "households": "惠及户数",
    "purpose": "资金用途",
    "description": "用途说明",
    "evidence": "佐证材料",
    "quantity": "数量",
    "allocated": "已分配",
    "shortage": "缺口",
    "unit_price": "单价",
    "expiry": "有效期",
    "lot": "批次",
    "owner": "储备属性",
    "direction": "方向",
    "where": "对方",
    "book": "账面数量",
    "difference": "差异",
    "name": "名称",
    "spec": "规格型号",
    "unit": "单位",
    "signatures": "签批信息",
    "subtotal": "小计",
    "total": "合计",
}
SILENT = {"key", "kind", "number", "amount_capital", "item", "doc_kind", "two_way"}


def _line_label(line: dict[str, Any]) -> str:
    name = line.get("name") or line.get("key", "")
    return f"{name}（批次 {line['lot']}）" if line.get("lot") else str(name)


def _changed(where: str, what: str, old: Any, new: Any) -> str:
    return f"{where}{what}：纸面为 {old}，现为 {new}"


def _compare_dicts(old: dict, new: dict, where: str) -> list[str]:
    out = []
    for key in dict.fromkeys([*old, *new]):
        if key in SILENT or isinstance(old.get(key), list | dict):
            continue
        if old.get(key) != new.get(key):
            out.append(_changed(where, LABELS.get(key, key), old.get(key), new.get(key)))
    return out


def _compare_lines(old: list[dict], new: list[dict], where: str) -> list[str]:
    before = {line["key"]: line for line in old}
    after = {line["key"]: line for line in new}
    out = []
    for key, line in before.items():
        if key not in after:
            out.append(f"{where}{_line_label(line)}：已不在记录中（纸面数量 {line['quantity']}）")
        else:
            out.extend(_compare_dicts(line, after[key], f"{where}{_line_label(line)} "))
    for key, line in after.items():
        if key not in before:
            out.append(f"{where}{_line_label(line)}：纸面没有，记录中现有 {line['quantity']}")
    return out


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between the paper as printed and the record's paper today, in Chinese."""
    old, new = canonical_value(old), canonical_value(new)
    out: list[str] = []
    if old.get("standing") != new.get("standing"):
        out.append(f"单据已作废：{new['standing']}" if new.get("standing") else "单据状态已变化")
    out.extend(
        _compare_dicts(
            {k: v for k, v in old.items() if k != "standing"},
            {k: v for k, v in new.items() if k != "standing"},
            "",
        )
    )
    old_fields = {f["key"]: f for f in old.get("fields", [])}
    for f in new.get("fields", []):
        before = old_fields.pop(f["key"], None)
        if before is None:
            out.append(f"{f['label']}：纸面没有，现为 {f['value']}")
        elif before["value"] != f["value"]:
            out.append(_changed("", f["label"], before["value"], f["value"]))
    out.extend(f"{f['label']}：纸面为 {f['value']}，记录中已没有" for f in old_fields.values())
    out.extend(_compare_lines(old.get("requested", []), new.get("requested", []), "申请 "))
    out.extend(_compare_lines(old.get("lines", []), new.get("lines", []), ""))
    old_groups = {g["key"]: g for g in old.get("groups", [])}
    new_groups = {g["key"]: g for g in new.get("groups", [])}
    for key in dict.fromkeys([*old_groups, *new_groups]):
        before, after = old_groups.get(key), new_groups.get(key)
        title = (before or after or {}).get("title", key)
        out.extend(
            _compare_lines(
                (before or {}).get("lines", []), (after or {}).get("lines", []), f"{title}："
            )
        )
    if isinstance(old.get("total"), dict) and isinstance(new.get("total"), dict):
        out.extend(_compare_dicts(old["total"], new["total"], LABELS["total"]))
    if old.get("signatures") != new.get("signatures"):
        out.append("签批信息与纸面不同")
    return out


# -- what the reader is shown (pure) -------------------------------------------------------


def _yuan(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"


def summary(paper: dict[str, Any]) -> dict[str, Any]:
    """The paper's main content, for the reader to hold against the sheet in their hand
    (a genuine code copied onto a forged sheet is caught this way). Only what the paper
    itself shows."""
    facts: list[tuple[str, str]] = [("单据", f"{paper.get('title', '')} {paper['number']}")]
    if paper.get("document_number"):
        facts.append(("文号", paper["document_number"]))
    if paper.get("date"):
        facts.append(("日期", paper["date"]))
    facts.extend((f["label"], str(f["value"])) for f in paper.get("fields", []))
    for key in ("county", "purpose", "beneficiaries"):
        if key in paper and paper[key] not in ("", None):
            facts.append((LABELS.get(key, "县市"), str(paper[key])))
    if "amount" in paper:
        facts.append(("金额", f"¥{_yuan(paper['amount'])}（{paper['amount_capital']}）"))
    total = paper.get("total") or {}
    if "quantity" in total:
        facts.append(("合计数量", str(total["quantity"])))
    if "amount" in total:
        facts.append(("合计金额", f"¥{_yuan(total['amount'])}（{total['amount_capital']}）"))
    lines: list[tuple[str, str]] = []
    for group in paper.get("groups", []):
        lines.extend(
            (f"{group['title']} · {_line_label(line)}", f"{line['quantity']} {line['unit']}")
            for line in group["lines"]
        )
    lines.extend(
        (_line_label(line), f"{line['quantity']} {line['unit']}") for line in paper.get("lines", [])
    )
    return {"facts": facts, "lines": lines}
