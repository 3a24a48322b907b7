"""What each printed document shows, read from the record: one plain dict per paper.

A paper is exactly what is printed, no more: the templates render it, its canonical JSON
is what the QR code's digest seals (``reports.verify``), and the audit entry of each print
keeps it, so that a scan can later say what changed. Anything that may legitimately move
on after printing without making the paper wrong (a transfer arriving, a request being
dispatched, a release being paid) is left off the paper.

Who may print what is who may read the record: the scope checks are the modules' own
(``allocation.queries.require_readable``, ``funds.queries.release_detail``); documents and
balances are readable by every signed-in user, as in the API.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from relief_inventory.allocation.common import request_by_number
from relief_inventory.allocation.models import (
    DisasterType,
    DispatchLine,
    DispatchRequest,
    RequestState,
    Reservation,
    ReservationState,
    Urgency,
)
from relief_inventory.allocation.queries import readable, require_readable
from relief_inventory.auth.actor import Actor
from relief_inventory.auth.models import User
from relief_inventory.errors import Conflict, NotFound
from relief_inventory.funds.models import (
    Appropriation,
    FundKind,
    FundLevel,
    FundRelease,
    FundReversal,
    FundSource,
    Purpose,
    ReleaseState,
)
from relief_inventory.funds.queries import release_detail
from relief_inventory.stock.models import (
    Category,
    CountLine,
    DocKind,
    DocState,
    Item,
    Lot,
    LotOrigin,
    Move,
    Owner,
    Quant,
    StockDocument,
)
from relief_inventory.timeutil import format_local, to_local
from relief_inventory.warehouse.models import County, Depot, Location, LocationKind
from relief_inventory.warehouse.services import depot_by_code
from reports.numerals import rmb_capital

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Letterhead:
    """Who issues the papers (from Settings): the bureau's name and its 文号 prefix."""

    authority: str = "楚雄州应急管理局"
    notice_prefix: str = "楚应急拨"


class PaperKind:
    ALLOCATION_ORDER = "allocation_order"
    STOCK_NOTE = "stock_note"
    RELEASE_NOTICE = "release_notice"
    COUNT_SHEET = "count_sheet"


def kind_of_number(number: str) -> str:
    """Which paper a document number prints as (DB- request, ZF- release, stock prefixes)."""
    prefix = number.split("-", 1)[0]
    if prefix == "DB":
        return PaperKind.ALLOCATION_ORDER
    if prefix == "ZF":
        return PaperKind.RELEASE_NOTICE
    if prefix in DocKind.PREFIX.values():
        return PaperKind.STOCK_NOTE
    raise NotFound(f"单据不存在：{number[:40]}", field="number")


# -- small helpers -------------------------------------------------------------------------


def _field(key: str, label: str, value: Any) -> dict[str, Any]:
    return {"key": key, "label": label, "value": "" if value is None else value}


def _day(moment: datetime | None) -> str:
    return "" if moment is None else to_local(moment).date().isoformat()


def _expiry(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names (or user names) of the people a paper names."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(wanted))
    )
    return {uid: display or username for uid, display, username in rows}


def _money_total(lines: list[dict[str, Any]]) -> dict[str, Any]:
    amount = sum((line["amount"] for line in lines), start=ZERO)
    return {
        "quantity": sum(line["quantity"] for line in lines),
        "amount": amount,
        "amount_capital": rmb_capital(amount),
    }


def _line(
    key: str,
    item: Item,
    lot: Lot,
    quantity: int,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "key": key,
        "item": item.code,
        "name": item.name,
        "spec": item.specification,
        "unit": item.unit,
        "lot": lot.number,
        "expiry": _expiry(lot.expiry_date),
        "quantity": quantity,
        "unit_price": item.unit_value,
        "amount": item.unit_value * quantity,
        **extra,
    }


# -- allocation order (救灾物资调拨单) ------------------------------------------------------

PRINTABLE_REQUESTS = (
    RequestState.ALLOCATED,
    RequestState.DISPATCHED,
    RequestState.RECEIVED,
    RequestState.CLOSED,
)


def allocation_order(
    session: Session,
    actor: Actor,
    number: str,
    letterhead: Letterhead,
    *,
    for_print: bool = True,
) -> dict[str, Any]:
    """The allocation order of an allocated (or later) request: per depot its picks.

    ``for_print=False`` reads the same paper for verification, whatever the state now.
    """
    request = request_by_number(session, number)
    require_readable(session, actor, request)
    if for_print and request.state not in PRINTABLE_REQUESTS:
        label = RequestState.LABELS.get(request.state, request.state)
        raise Conflict(
            f"调拨申请 {request.number} 当前为“{label}”，尚无分配结果，不能打印调拨单",
            field="state",
        )
    county = session.get(County, request.county_id)
    assert county is not None
    names = _names(session, (request.requester_id, request.approver_id))
    groups = _allocation_groups(session, request)
    all_lines = [line for group in groups for line in group["lines"]]
    standing = None
    if request.state == RequestState.CANCELLED:
        standing = f"已取消（{format_local(request.cancelled_at)}）"
    return {
        "kind": PaperKind.ALLOCATION_ORDER,
        "number": request.number,
        "title": "救灾物资调拨单",
        "authority": letterhead.authority,
        "date": _day(request.allocated_at or request.approved_at),
        "standing": standing,
        "fields": [
            _field("county", "申请县市", county.name),
            _field("disaster", "灾害类型", DisasterType.LABELS.get(request.disaster_type, "")),
            _field("urgency", "紧急程度", Urgency.LABELS.get(request.urgency, "")),
            _field("people", "受灾人数", request.people_affected),
            _field("response", "应急响应", request.emergency_response or "—"),
            _field("reason", "申请事由", request.reason),
            _field("submitted", "申请时间", format_local(request.submitted_at)),
            _field("requester", "申请人", names.get(request.requester_id, "")),
            _field("approved", "审批时间", format_local(request.approved_at)),
            _field("approver", "审批人", names.get(request.approver_id, "")),
        ],
        "requested": _requested_lines(session, request),
        "groups": groups,
        "total": _money_total(all_lines),
    }


def _allocation_groups(session: Session, request: DispatchRequest) -> list[dict[str, Any]]:
    """The picks still standing, merged per depot, item and lot, depots in code order."""
    rows = session.execute(
        select(Depot, Item, Lot, func.sum(Reservation.quantity))
        .join(Depot, Depot.id == Reservation.depot_id)
        .join(Item, Item.id == Reservation.item_id)
        .join(Lot, Lot.id == Reservation.lot_id)
        .where(
            Reservation.request_id == request.id,
            Reservation.state != ReservationState.RELEASED,
        )
        .group_by(Depot.id, Item.id, Lot.id)
        .order_by(Depot.code, Item.code, Lot.expiry_date, Lot.number)
    ).all()
    groups: dict[str, dict[str, Any]] = {}
    for depot, item, lot, quantity in rows:
        group = groups.get(depot.code)
        if group is None:
            group = groups[depot.code] = {
                "key": depot.code,
                "title": depot.name,
                "info": [
                    _field("address", "地址", depot.address),
                    _field("keeper", "保管员", depot.keeper_name),
                    _field("phone", "电话", depot.keeper_phone),
                ],
                "lines": [],
            }
        group["lines"].append(_line(f"{item.code}|{lot.number}", item, lot, int(quantity)))
    for group in groups.values():
        group["subtotal"] = _money_total(group["lines"])
    return list(groups.values())


def _requested_lines(session: Session, request: DispatchRequest) -> list[dict[str, Any]]:
    return [
        {
            "key": item.code,
            "name": item.name,
            "unit": item.unit,
            "quantity": line.quantity,
            "allocated": line.allocated,
            "shortage": line.shortage,
        }
        for line, item in session.execute(
            select(DispatchLine, Item)
            .join(Item, Item.id == DispatchLine.item_id)
            .where(DispatchLine.request_id == request.id)
            .order_by(DispatchLine.id)
        )
    ]


def open_requests(session: Session, actor: Actor) -> list[str]:
    """Numbers of the requests whose goods are allocated or on the road, oldest first,
    that the actor may read (for batch printing)."""
    query = select(DispatchRequest.number).where(
        DispatchRequest.state.in_((RequestState.ALLOCATED, RequestState.DISPATCHED))
    )
    return list(session.scalars(readable(query, actor).order_by(DispatchRequest.id)))


# -- stock notes (入库单, 出库单, 调拨单, 报废记录, 盘点表 ...) ---------------------------------

NOTE_TITLES = {
    DocKind.RECEIPT: "救灾物资入库单",
    DocKind.ISSUE: "救灾物资出库单",
    DocKind.DISPATCH: "救灾物资出库单（应急调拨发运）",
    DocKind.TRANSFER: "救灾物资库间调拨单",
    DocKind.SCRAP: "救灾物资报损报废记录",
    DocKind.COUNT: "救灾物资盘点表",
    DocKind.ROTATION: "救灾物资轮换单",
    DocKind.RETURN: "救灾物资回收入库单",
    DocKind.REVERSAL: "冲销单",
}
NOTE_SIGNATURES = {
    DocKind.RECEIPT: ("交货人", "验收人", "保管员", "制单人"),
    DocKind.ISSUE: ("发货人", "审核人", "领用人", "制单人"),
    DocKind.DISPATCH: ("发货人", "承运人", "接收人", "制单人"),
    DocKind.TRANSFER: ("调出保管员", "承运人", "调入保管员", "制单人"),
    DocKind.SCRAP: ("报损人", "监督人", "审批人", "制单人"),
    DocKind.COUNT: ("盘点人", "监盘人", "审批人", "制单人"),
}
DEFAULT_SIGNATURES = ("经手人", "审核人", "保管员", "制单人")
# Kinds whose arrival leg (moves out of transit) is booked later on the same document: the
# paper shows what left, so that it still matches once the goods have arrived.
ARRIVES_LATER = (DocKind.TRANSFER, DocKind.DISPATCH)
# Kinds validated later by someone else (completion, approval): that name is not printed.
VALIDATED_LATER = (DocKind.TRANSFER, DocKind.DISPATCH)


def stock_note(
    session: Session, actor: Actor, number: str, letterhead: Letterhead, *, for_print: bool = True
) -> dict[str, Any]:
    """Any stock document as its note. Documents are readable by every signed-in user."""
    del actor, for_print  # every state prints; readable by all (as GET /documents/<n>)
    document = session.scalar(select(StockDocument).where(StockDocument.number == number))
    if document is None:
        raise NotFound(f"单据不存在：{number}", field="number")
    depot = session.get(Depot, document.depot_id) if document.depot_id else None
    dest = session.get(Depot, document.dest_depot_id) if document.dest_depot_id else None
    county = session.get(County, document.county_id) if document.county_id else None
    names = _names(session, (document.created_by_id, document.validated_by_id))
    fields = [_field("depot", _depot_label(document.kind), depot.name if depot else "")]
    if dest is not None:
        fields.append(_field("dest", "调入仓库", dest.name))
    if county is not None:
        fields.append(_field("county", "接收县市", county.name))
    if document.partner:
        fields.append(_field("partner", "供货/来源单位", document.partner))
    if document.origin:
        fields.append(_field("origin", "来源", LotOrigin.LABELS.get(document.origin, "")))
    if document.authority_order:
        fields.append(_field("authority", "调令/申请文号", document.authority_order))
    if document.reverses_id:
        original = session.get(StockDocument, document.reverses_id)
        fields.append(_field("reverses", "冲销原单", original.number if original else ""))
    fields.append(_field("reason", "事由", document.reason or "—"))
    fields.append(_field("created_by", "制单人", names.get(document.created_by_id, "")))
    if document.kind not in VALIDATED_LATER and document.validated_by_id:
        fields.append(_field("validated_by", "审核人", names.get(document.validated_by_id, "")))
    if document.state == DocState.DRAFT:
        fields.append(_field("state", "状态", "草稿，待审批，尚未记账"))
    if document.kind == DocKind.COUNT:
        lines = _count_lines(session, document)
    else:
        lines = _note_lines(session, document)
    return {
        "kind": PaperKind.STOCK_NOTE,
        "doc_kind": document.kind,
        "number": document.number,
        "title": NOTE_TITLES.get(document.kind, DocKind.LABELS.get(document.kind, "单据")),
        "authority": letterhead.authority,
        "date": _day(document.created_at),
        "standing": _note_standing(session, document),
        "fields": fields,
        "lines": lines,
        "two_way": len({line.get("direction") for line in lines}) > 1,
        "total": _money_total(lines) if document.kind != DocKind.COUNT else _count_total(lines),
        "signatures": list(NOTE_SIGNATURES.get(document.kind, DEFAULT_SIGNATURES)),
    }


def _depot_label(kind: str) -> str:
    if kind in (DocKind.RECEIPT, DocKind.RETURN):
        return "入库仓库"
    if kind == DocKind.TRANSFER:
        return "调出仓库"
    if kind in (DocKind.ISSUE, DocKind.DISPATCH):
        return "发出仓库"
    return "仓库"


def _note_standing(session: Session, document: StockDocument) -> str | None:
    reversal = session.execute(
        select(StockDocument.number, StockDocument.done_at).where(
            StockDocument.reverses_id == document.id, StockDocument.state == DocState.DONE
        )
    ).first()
    if reversal is not None:
        return f"已冲销（冲销单 {reversal.number}，{format_local(reversal.done_at)}）"
    if document.state == DocState.CANCELLED:
        return "已取消"
    return None


def _note_lines(session: Session, document: StockDocument) -> list[dict[str, Any]]:
    source, destination = aliased(Location), aliased(Location)
    query = (
        select(Move, Item, Lot, Owner, source, destination)
        .join(Item, Item.id == Move.item_id)
        .join(Lot, Lot.id == Move.lot_id)
        .join(Owner, Owner.id == Move.owner_id)
        .join(source, source.id == Move.from_location_id)
        .join(destination, destination.id == Move.to_location_id)
        .where(Move.document_id == document.id)
        .order_by(Move.id)
    )
    if document.kind in ARRIVES_LATER:
        query = query.where(source.kind != LocationKind.TRANSIT)
    lines = []
    for index, (move, item, lot, owner, src, dst) in enumerate(session.execute(query)):
        outgoing = src.kind == LocationKind.INTERNAL
        lines.append(
            _line(
                f"{index}|{item.code}|{lot.number}",
                item,
                lot,
                move.quantity,
                owner=owner.name,
                direction="出" if outgoing else "入",
                where=(dst if outgoing else src).name,
            )
        )
    return lines


def _count_lines(session: Session, document: StockDocument) -> list[dict[str, Any]]:
    rows = session.execute(
        select(CountLine, Item, Lot, Owner)
        .join(Item, Item.id == CountLine.item_id)
        .join(Lot, Lot.id == CountLine.lot_id)
        .join(Owner, Owner.id == CountLine.owner_id)
        .where(CountLine.document_id == document.id)
        .order_by(CountLine.id)
    )
    return [
        _line(
            f"{item.code}|{lot.number}|{owner.code}",
            item,
            lot,
            line.counted_quantity,
            owner=owner.name,
            book=line.system_quantity,
            difference=line.counted_quantity - line.system_quantity,
        )
        for line, item, lot, owner in rows
    ]


def _count_total(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "book": sum(line["book"] for line in lines),
        "quantity": sum(line["quantity"] for line in lines),
        "difference": sum(line["difference"] for line in lines),
    }


def count_sheet(
    session: Session, actor: Actor, depot_code: str, letterhead: Letterhead
) -> dict[str, Any]:
    """A blank stock-count sheet (盘点表) of one depot: what the books say now, per item,
    lot and owner, with empty columns for the keepers to write in what they count."""
    del actor  # balances are readable by every signed-in user
    depot = depot_by_code(session, depot_code)
    rows = session.execute(
        select(Category.name, Item, Lot, Owner, Quant.on_hand)
        .join(Location, Location.id == Quant.location_id)
        .join(Item, Item.id == Quant.item_id)
        .join(Category, Category.id == Item.category_id)
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Owner, Owner.id == Quant.owner_id)
        .where(
            Location.depot_id == depot.id,
            Location.kind == LocationKind.INTERNAL,
            Quant.on_hand > 0,
        )
        .order_by(Category.sort_order, Item.code, Lot.expiry_date, Lot.number, Owner.code)
    ).all()
    lines = [
        {
            "category": category,
            "name": item.name,
            "spec": item.specification,
            "unit": item.unit,
            "lot": lot.number,
            "expiry": _expiry(lot.expiry_date),
            "owner": owner.name,
            "book": int(on_hand),
        }
        for category, item, lot, owner, on_hand in rows
    ]
    return {
        "kind": PaperKind.COUNT_SHEET,
        "number": f"PDB-{depot.code}",
        "title": "救灾物资盘点表",
        "authority": letterhead.authority,
        "depot": depot.name,
        "depot_code": depot.code,
        "lines": lines,
        "book_total": sum(line["book"] for line in lines),
        "signatures": ["盘点人", "监盘人", "保管员", "复核人"],
    }


# -- fund release notice (资金拨付通知) -----------------------------------------------------

PRINTABLE_RELEASES = (ReleaseState.APPROVED, ReleaseState.RELEASED)


def notice_number(release_number: str, approved_at: datetime | None, prefix: str) -> str:
    """The notice's 文号 from the release's sequence: ZF-2024-000201 -> 楚应急拨〔2024〕201号."""
    _, year, sequence = release_number.split("-")
    if approved_at is not None:
        year = str(to_local(approved_at).year)
    return f"{prefix}〔{year}〕{int(sequence)}号"


def release_notice(
    session: Session, actor: Actor, number: str, letterhead: Letterhead, *, for_print: bool = True
) -> dict[str, Any]:
    """The notice of an approved (or paid) release, read with the funds module's scope."""
    detail = release_detail(session, actor, number)
    if for_print and detail["state"] not in PRINTABLE_RELEASES:
        label = ReleaseState.LABELS.get(detail["state"], detail["state"])
        raise Conflict(
            f"资金拨付申请 {number} 当前为“{label}”，审批通过后才能打印拨付通知", field="state"
        )
    release = session.scalar(select(FundRelease).where(FundRelease.number == number))
    assert release is not None
    appropriation = session.get(Appropriation, release.appropriation_id)
    assert appropriation is not None
    source = session.get(FundSource, appropriation.source_id)
    assert source is not None
    names = _names(session, (release.created_by_id, release.verified_by_id, release.approved_by_id))
    county = detail["county_name"]
    amount: Decimal = release.amount
    fund = f"{source.year}年{FundLevel.LABELS[source.level]}{FundKind.LABELS[source.kind]}资金"
    standing = None
    reversal = session.execute(
        select(FundReversal.number, FundReversal.created_at).where(
            FundReversal.release_id == release.id
        )
    ).first()
    if reversal is not None:
        standing = f"已冲销（冲销单 {reversal.number}，{format_local(reversal.created_at)}）"
    elif release.state == ReleaseState.REJECTED:
        standing = f"已退回（{release.reject_reason}）"
    return {
        "kind": PaperKind.RELEASE_NOTICE,
        "number": release.number,
        "title": f"关于拨付{county}{fund}的通知",
        "authority": letterhead.authority,
        "document_number": notice_number(
            release.number, release.approved_at, letterhead.notice_prefix
        ),
        "addressee": f"{county}应急管理局、{county}财政局",
        "date": _day(release.approved_at),
        "date_text": _chinese_date(release.approved_at),
        "standing": standing,
        "county": county,
        "fund": fund,
        "source_document": source.document_number,
        "appropriation_document": appropriation.document_number,
        "appropriation": appropriation.number,
        "purpose": Purpose.LABELS.get(release.purpose, release.purpose),
        "description": release.description,
        "amount": amount,
        "amount_capital": rmb_capital(amount),
        "beneficiaries": release.beneficiaries,
        "households": release.households,
        "evidence": release.evidence,
        "attachments": ["资金拨付审核表"],
        "signatures": [
            {
                "role": "申报（经办）",
                "name": names.get(release.created_by_id, ""),
                "at": format_local(release.submitted_at or release.created_at),
                "note": "",
            },
            {
                "role": "财务核验",
                "name": names.get(release.verified_by_id, ""),
                "at": format_local(release.verified_at),
                "note": release.verification_note,
            },
            {
                "role": "审批",
                "name": names.get(release.approved_by_id, ""),
                "at": format_local(release.approved_at),
                "note": "",
            },
        ],
    }


def _chinese_date(moment: datetime | None) -> str:
    """成文日期 in Arabic numerals, as GB/T 9704-2012 (7.3.5.1) prescribes: 2024年6月5日."""
    if moment is None:
        return ""
    day = to_local(moment).date()
    return f"{day.year}年{day.month}月{day.day}日"


# -- one entry point -----------------------------------------------------------------------


def read_paper(
    session: Session,
    actor: Actor,
    number: str,
    letterhead: Letterhead,
    *,
    for_print: bool = True,
) -> dict[str, Any]:
    """The paper a document number prints as, read with its record's scope."""
    kind = kind_of_number(number)
    builder = {
        PaperKind.ALLOCATION_ORDER: allocation_order,
        PaperKind.STOCK_NOTE: stock_note,
        PaperKind.RELEASE_NOTICE: release_notice,
    }[kind]
    return builder(session, actor, number, letterhead, for_print=for_print)
