"""Stock documents (入库、出库、库间调拨、报废、盘点、轮换、回收、冲销、发运): the list, the
document page with its next steps, prints, and the documents' own create forms.

Every step calls the stock service in a unit of work; whether a button is shown is decided
by the very check the service runs first (``stock.services.check_*``), so a button the
user may not press is neither shown nor accepted when posted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from relief_inventory.admin import choices, sheets
from relief_inventory.admin.base import (
    DayFilter,
    ScopedFilter,
    SearchedLedgerView,
    allowed,
    local_time,
    printed,
    read_session,
    try_service,
)
from relief_inventory.admin.formpage import form_page
from relief_inventory.admin.forms import (
    DocForm,
    Field,
    LineTable,
)
from relief_inventory.admin.history import chatter
from relief_inventory.admin.labels import label, options
from relief_inventory.admin.login import current_actor
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import User
from relief_inventory.funds import services as funds
from relief_inventory.stock import scope
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import DocKind, DocState, StockDocument
from relief_inventory.stock.queries import document_detail
from relief_inventory.timeutil import format_local
from relief_inventory.warehouse.models import County, Depot

ORIGINS = [("purchase", _l("采购")), ("donation", _l("捐赠")), ("allocation", _l("上级调拨"))]
ROADS = {
    DocKind.TRANSFER: [(DocState.IN_TRANSIT, _l("在途")), (DocState.DONE, _l("已入库"))],
    DocKind.DISPATCH: [(DocState.IN_TRANSIT, _l("已发运")), (DocState.DONE, _l("已签收"))],
    DocKind.SCRAP: [(DocState.DRAFT, _l("草稿")), (DocState.DONE, _l("已审批"))],
    DocKind.COUNT: [(DocState.DRAFT, _l("草稿")), (DocState.DONE, _l("已审批"))],
    DocKind.REVERSAL: [(DocState.DRAFT, _l("草稿")), (DocState.DONE, _l("已审批"))],
}
DEFAULT_ROAD = [(DocState.DONE, _l("完成"))]
MOVE_STATES = {"draft": _l("待审批"), "done": _l("完成"), "cancelled": _l("已取消")}
HOLD_STATES = {"held": _l("占用中"), "used": _l("已使用"), "released": _l("已释放")}
STATE_LABELS = {**DocState.LABELS, DocState.CANCELLED: _l("已驳回/已取消")}


def _item_col() -> Field:
    return Field("item", _l("物资"), "item", required=True)


def _owner_col() -> Field:
    return Field("owner", _l("储备权属（可空）"), "owner", choices=choices.owners)


def _lot_col(required: bool = False) -> Field:
    return Field(
        "lot", _l("批次") if required else _l("批次（可空：先到期先出）"), "lot", required=required
    )


def _out_lines(
    name: str = "lines", title: str = _l("物资明细"), lot_required: bool = False
) -> LineTable:
    return LineTable(
        name,
        title,
        [
            _item_col(),
            _lot_col(lot_required),
            Field("quantity", _l("数量"), "int", True),
            _owner_col(),
        ],
    )


def _in_lines(name: str = "lines", title: str = _l("物资明细")) -> LineTable:
    return LineTable(
        name,
        title,
        [
            _item_col(),
            Field("lot", _l("批次"), "lot", required=True),
            Field("quantity", _l("数量"), "int", True),
            _owner_col(),
            Field("production_date", _l("生产日期"), "date"),
            Field("expiry_date", _l("有效期至"), "date"),
        ],
    )


def _depot(name: str = "depot", label: str = _l("仓库")) -> Field:
    return Field(name, label, "depot", required=True, choices=choices.my_depots)


AUTHORITY = Field("authority_order", _l("调令文号（代储物资必填）"))
REASON = Field("reason", _l("事由"), "textarea")

FORMS: dict[str, DocForm] = {
    form.kind: form
    for form in (
        DocForm(
            "receipt",
            _l("入库单"),
            [
                _depot(),
                Field("partner", _l("供货单位 / 捐赠方")),
                Field("origin", _l("来源"), "select", choices=lambda: ORIGINS),
                AUTHORITY,
                REASON,
                Field("quarantine", _l("入库待检（本库隔离）"), "flag"),
                Field("appropriation", _l("资金下达编号（用救灾资金采购时）")),
                Field("amount", _l("采购金额（元，与资金下达同填）")),
            ],
            [_in_lines()],
            lambda values: funds.receive_purchase,
        ),
        DocForm(
            "issue",
            _l("出库单"),
            [
                _depot(),
                Field("county", _l("调往县市"), "select", True, choices.counties),
                AUTHORITY,
                REASON,
            ],
            [_out_lines()],
            lambda values: stock.issue,
        ),
        DocForm(
            "transfer",
            _l("库间调拨单"),
            [
                _depot("from_depot", _l("调出仓库")),
                Field("to_depot", _l("调入仓库"), "depot", True, choices.all_depots),
                AUTHORITY,
                REASON,
            ],
            [_out_lines()],
            lambda values: stock.transfer,
        ),
        DocForm(
            "scrap",
            _l("报废单"),
            [_depot(), Field("reason", _l("报废原因"), "textarea", required=True), AUTHORITY],
            [_out_lines(lot_required=True)],
            lambda values: stock.propose_scrap,
        ),
        DocForm(
            "count",
            _l("盘点单"),
            [_depot(), REASON, AUTHORITY],
            [
                LineTable(
                    "lines",
                    _l("盘点明细"),
                    [
                        _item_col(),
                        _lot_col(True),
                        _owner_col(),
                        Field("counted", _l("实盘数量"), "int", True),
                    ],
                )
            ],
            lambda values: stock.propose_count,
        ),
        DocForm(
            "rotation",
            _l("轮换单"),
            [_depot(), Field("partner", _l("轮换单位")), REASON, AUTHORITY],
            [
                _out_lines("out_lines", _l("换出（旧批次）"), True),
                _in_lines("in_lines", _l("换入（新批次）")),
                LineTable(
                    "differences",
                    _l("差异申报（换入与换出数量不同时）"),
                    [
                        _item_col(),
                        _owner_col(),
                        Field("quantity", _l("差额（换入减换出，如 -2）"), "signed", True),
                        Field("reason", _l("差异原因"), required=True),
                    ],
                ),
            ],
            lambda values: stock.rotate,
        ),
    )
}


def _kind_options() -> list[tuple[str, str]]:
    return [(k, label(DocKind.LABELS, k)) for k in DocKind.ALL]


def _state_options() -> list[tuple[str, str]]:
    return options(DocState.LABELS)


def _depot_id(code: str) -> Any:
    return select(Depot.id).where(Depot.code == code).scalar_subquery()


def doc_link(number: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for("documents.view", number=number), number)


class DocumentsView(SearchedLedgerView):
    """库存单据: the list (scoped like every list), each document's page, its steps and
    prints, and the create forms."""

    roles = ()
    can_view_details = False
    list_template = "backoffice/documents_list.html"
    search_hint = _l("单号、调令文号或来源单号")
    column_list = (
        "number",
        "kind",
        "state",
        "depot_id",
        "dest_depot_id",
        "county_id",
        "partner",
        "reason",
        "created_by_id",
        "created_at",
    )
    column_sortable_list = ("number", "created_at")
    column_default_sort = ("id", True)
    column_labels = {
        "number": _l("单号"),
        "kind": _l("类型"),
        "state": _l("状态"),
        "depot_id": _l("仓库"),
        "dest_depot_id": _l("调入仓库"),
        "county_id": _l("县市"),
        "partner": _l("往来单位"),
        "reason": _l("事由"),
        "created_by_id": _l("制单人"),
        "created_at": _l("制单时间"),
    }

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        return scope.documents_clause(actor)

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return or_(
            StockDocument.number == term.upper(),
            StockDocument.authority_order == term,
            StockDocument.source_ref == term,
        )

    def get_filters(self) -> list[Any]:
        return [
            ScopedFilter(
                StockDocument.kind, _l("类型"), _kind_options, lambda v: StockDocument.kind == v
            ),
            ScopedFilter(
                StockDocument.state, _l("状态"), _state_options, lambda v: StockDocument.state == v
            ),
            ScopedFilter(
                StockDocument.depot_id,
                _l("仓库"),
                choices.visible_depots,
                lambda code: or_(
                    StockDocument.depot_id == _depot_id(code),
                    StockDocument.dest_depot_id == _depot_id(code),
                ),
            ),
            DayFilter(StockDocument.created_at, _l("制单日期"), after=True),
            DayFilter(StockDocument.created_at, _l("制单日期"), after=False),
        ]

    def prefetch(self, rows: list[Any]) -> None:
        lookup = self.lookup()
        lookup.small(County)
        lookup.preload(Depot, (i for r in rows for i in (r.depot_id, r.dest_depot_id)))
        lookup.preload(User, (r.created_by_id for r in rows))

    column_formatters = {
        "number": lambda _v, _c, model, _n: doc_link(model.number),
        "kind": lambda _v, _c, model, _n: label(DocKind.LABELS, model.kind),
        "state": lambda _v, _c, model, _n: label(DocState.LABELS, model.state),
        "depot_id": lambda view, _c, model, _n: view.lookup().label(Depot, model.depot_id),
        "dest_depot_id": lambda view, _c, model, _n: view.lookup().label(
            Depot, model.dest_depot_id
        ),
        "county_id": lambda view, _c, model, _n: view.lookup().label(County, model.county_id),
        "reason": lambda _v, _c, model, _n: model.reason[:60],
        "created_by_id": lambda view, _c, model, _n: view.lookup().label(
            User, model.created_by_id, "username"
        ),
        "created_at": local_time,
    }
    column_formatters_export = {**column_formatters, "number": lambda _v, _c, m, _n: m.number}

    # -- one document ------------------------------------------------------------------

    def _visible(self, session: Session, number: str) -> StockDocument:
        """The document, if this user may see it; otherwise 404 as for a missing one."""
        if len(number) > 32:
            abort(404)
        document = session.scalar(select(StockDocument).where(StockDocument.number == number))
        if document is None or not scope.document_visible(current_actor(), document):
            abort(404)
        return document

    @expose("/view/<number>")
    def view(self, number: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            document = self._visible(session, number)
            sheet = self._sheet(session, document)
        return self.render("backoffice/sheet.html", sheet=sheet)

    def _steps(
        self, session: Session, actor: Actor, document: StockDocument
    ) -> list[sheets.Action]:
        reason = sheets.Input("reason", _l("理由（必填）"), required=True)
        candidates: list[tuple[Callable[[], object], sheets.Action]] = [
            (
                lambda: stock.check_approve(session, actor, document),
                sheets.Action("approve", _l("审批通过"), "success"),
            ),
            (
                lambda: stock.check_complete(session, actor, document),
                sheets.Action(
                    "complete",
                    _l("签收入库"),
                    "success",
                    [sheets.Input("note", _l("到货差异说明（有短少/损坏时必填）"))],
                ),
            ),
            (
                lambda: stock.check_reject(session, actor, document),
                sheets.Action(
                    "reject",
                    _l("拒收退回") if document.kind == DocKind.TRANSFER else _l("驳回"),
                    "danger",
                    [reason],
                ),
            ),
            (
                lambda: stock.check_cancel(actor, document),
                sheets.Action("cancel", _l("撤回草稿"), "secondary", [reason]),
            ),
            (
                lambda: stock.check_reverse(session, actor, document),
                sheets.Action(
                    "reverse",
                    _l("冲销"),
                    "warning",
                    [reason],
                    confirm=_l("确定提出冲销？冲销须由另一名保管员审批。"),
                ),
            ),
        ]
        return [action for check, action in candidates if allowed(check)]

    def _sheet(self, session: Session, document: StockDocument) -> sheets.Sheet:
        actor = current_actor()
        detail = document_detail(session, document.number)
        road = ROADS.get(document.kind, DEFAULT_ROAD)
        owner = sheets.owner_names(session)
        fields: list[tuple[str, Any]] = [
            (_l("仓库"), detail["depot_name"] or ""),
            (_l("县市"), detail["county"] or ""),
            (_l("往来单位"), detail["partner"]),
            (_l("调令 / 申请号"), detail["authority_order"]),
            (_l("事由"), detail["reason"]),
            (_l("制单人"), detail["created_by"]),
            (_l("制单时间"), format_local(detail["created_at"])),
            (_l("审核人"), detail["validated_by"] or ""),
            (_l("完成时间"), format_local(detail["done_at"])),
        ]
        if detail["dest_depot"]:
            fields.insert(1, (_l("调入仓库"), detail["dest_depot"]))
        tables = [
            sheets.Table(
                _l("流水（库存移动）"),
                [
                    _l("物资"),
                    _l("批次"),
                    _l("储备权属"),
                    _l("数量"),
                    _l("从"),
                    _l("到"),
                    _l("状态"),
                    _l("完成时间"),
                ],
                [
                    [
                        m["item"],
                        m["lot"],
                        owner.get(m["owner"], m["owner"]),
                        m["quantity"],
                        m["from_location"],
                        m["to_location"],
                        MOVE_STATES.get(m["state"], m["state"]),
                        format_local(m["done_at"]),
                    ]
                    for m in detail["moves"]
                ],
                numeric={3},
            )
        ]
        if detail["count_lines"]:
            tables.append(
                sheets.Table(
                    _l("盘点明细"),
                    [_l("物资"), _l("批次"), _l("储备权属"), _l("账面"), _l("实盘"), _l("差异")],
                    [
                        [
                            c["item"],
                            c["lot"],
                            owner.get(c["owner"], c["owner"]),
                            c["system_quantity"],
                            c["counted_quantity"],
                            c["counted_quantity"] - c["system_quantity"],
                        ]
                        for c in detail["count_lines"]
                    ],
                    numeric={3, 4, 5},
                )
            )
        if detail["holds"]:
            tables.append(
                sheets.Table(
                    _l("草稿占用的库存"),
                    [_l("物资"), _l("批次"), _l("储备权属"), _l("位置"), _l("数量"), _l("状态")],
                    [
                        [
                            h["item"],
                            h["lot"],
                            owner.get(h["owner"], h["owner"]),
                            h["location"],
                            h["quantity"],
                            HOLD_STATES.get(h["state"], h["state"]),
                        ]
                        for h in detail["holds"]
                    ],
                    numeric={4},
                )
            )
        related = []
        for key, title in (
            ("reverses", _l("被冲销的原单")),
            ("reversed_by", _l("冲销单")),
            ("pending_reversal", _l("待审批的冲销单")),
        ):
            if detail[key]:
                related.append((f"{title} {detail[key]}", url_for(".view", number=detail[key])))
        if document.kind == DocKind.DISPATCH and document.authority_order:
            related.append(
                (
                    f"{_('调拨申请')} {document.authority_order}",
                    f"/dispatch/view/{document.authority_order}",
                )
            )
        banner = None
        if detail["reversed_by"]:
            banner = _("作废：已冲销（冲销单 %(number)s）", number=detail["reversed_by"])
        elif document.state == DocState.CANCELLED:
            who = f"（{detail['rejected_by']}）" if detail["rejected_by"] else ""
            banner = _("已驳回/已取消") + who
        return sheets.Sheet(
            kind_label=label(DocKind.LABELS, document.kind),
            number=document.number,
            states=road,
            state=document.state,
            state_label=label(STATE_LABELS, document.state),
            act_url=url_for(".act", number=document.number, action="x")[:-1],
            actions=self._steps(session, actor, document),
            fields=fields,
            tables=tables,
            related=related,
            prints=[(_l("打印单据（PDF）"), url_for(".print_pdf", number=document.number))],
            history=chatter(
                session,
                "stock_document",
                document.id,
                document.number,
                {"state": STATE_LABELS, "kind": DocKind.LABELS, "origin": dict(ORIGINS)},
            ),
            banner=banner,
        )

    @expose("/act/<number>/<action>", methods=("POST",))
    def act(self, number: str, action: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            document = self._visible(session, number)
        form = request.form
        reason = form.get("reason", "")
        work: dict[str, Callable[[Any], Any]] = {
            "approve": lambda uow: stock.approve(uow, number),
            "complete": lambda uow: stock.complete_transfer(uow, number, note=form.get("note", "")),
            "reject": lambda uow: stock.reject(uow, number, reason),
            "cancel": lambda uow: stock.cancel(uow, number, reason),
            "reverse": lambda uow: stock.reverse(uow, number, reason=reason),
        }
        if action not in work:
            abort(404)
        done = try_service(work[action], what=f"{action} {number}", done=_l("操作成功"))
        target = (
            done.number
            if isinstance(done, StockDocument) and action == "reverse"
            else document.number
        )
        return redirect(url_for(".view", number=target))

    @expose("/print/<number>")
    def print_pdf(self, number: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            self._visible(session, number)
        return printed(number)

    @expose("/lot-options")
    def lot_options(self):  # type: ignore[no-untyped-def]
        args = request.args
        with read_session() as session:
            found = lot_options(
                session,
                current_actor(),
                args.get("item", ""),
                args.get("depot", ""),
                args.get("q", ""),
            )
        return jsonify(found)

    @expose("/item-options")
    def item_options(self):  # type: ignore[no-untyped-def]
        return jsonify(choices.item_options(request.args.get("q", "")))

    @expose("/depot-options")
    def depot_options(self):  # type: ignore[no-untyped-def]
        args = request.args
        return jsonify(choices.depot_options(args.get("q", ""), args.get("scope", "mine")))

    # -- creating ----------------------------------------------------------------------

    @expose("/new/<kind>", methods=("GET", "POST"))
    def new(self, kind: str):  # type: ignore[no-untyped-def]
        form = FORMS.get(kind)
        if form is None:
            abort(404)
        return form_page(self, form, cancel_url=url_for(".index_view"), roles=(Role.KEEPER,))


LOT_OPTIONS = 20


def lot_options(session: Session, actor: Actor, item: str, depot: str, term: str) -> list[dict]:
    """Lots of an item on the shelves of the user's depots, matching what was typed."""
    from relief_inventory.stock.models import Item, Lot, Quant
    from relief_inventory.warehouse.models import Location, LocationKind

    query = (
        select(Lot.number, Lot.expiry_date, Depot.code)
        .join(Quant, Quant.lot_id == Lot.id)
        .join(Location, Location.id == Quant.location_id)
        .join(Depot, Depot.id == Location.depot_id)
        .join(Item, Item.id == Lot.item_id)
        .where(
            Location.kind == LocationKind.INTERNAL, Quant.on_hand > 0, scope.quants_clause(actor)
        )
        .distinct()
        .order_by(Lot.number)
        .limit(LOT_OPTIONS)
    )
    if item:
        query = query.where(Item.code == item[:32])
    if depot:
        query = query.where(Depot.code == depot[:32])
    if term:
        query = query.where(Lot.number.startswith(term[:64], autoescape=True))
    return [
        {
            "number": number,
            "label": _("%(depot)s 有效期 %(expiry)s", depot=depot_code, expiry=expiry or "—"),
        }
        for number, expiry, depot_code in session.execute(query)
    ]
