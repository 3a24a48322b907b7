"""Stock documents (入库、出库、库间调拨、报废、盘点、轮换、回收、冲销、发运): the list, the
document page with its next steps, prints, and the documents' own create forms.

Every step calls the stock service in a unit of work; whether a button is shown is decided
by the very check the service runs first (``stock.services.check_*``), so a button the
user may not press is neither shown nor accepted when posted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, jsonify, redirect, request, url_for
from flask_admin import expose
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
    read_session,
    try_service,
)
from relief_inventory.admin.forms import (
    DocForm,
    Field,
    LineTable,
    new_form_key,
    parse_header,
    parse_lines,
    rows_for_display,
)
from relief_inventory.admin.history import chatter
from relief_inventory.admin.login import current_actor
from relief_inventory.api.printing import pdf_response
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import User
from relief_inventory.idempotency import once
from relief_inventory.stock import scope
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import DocKind, DocState, StockDocument
from relief_inventory.stock.queries import document_detail
from relief_inventory.timeutil import format_local
from relief_inventory.warehouse.models import County, Depot
from reports.printing import PrintOptions, print_document

ORIGINS = [("purchase", "采购"), ("donation", "捐赠"), ("allocation", "上级调拨")]
ROADS = {
    DocKind.TRANSFER: [(DocState.IN_TRANSIT, "在途"), (DocState.DONE, "已入库")],
    DocKind.DISPATCH: [(DocState.IN_TRANSIT, "已发运"), (DocState.DONE, "已签收")],
    DocKind.SCRAP: [(DocState.DRAFT, "草稿"), (DocState.DONE, "已审批")],
    DocKind.COUNT: [(DocState.DRAFT, "草稿"), (DocState.DONE, "已审批")],
    DocKind.REVERSAL: [(DocState.DRAFT, "草稿"), (DocState.DONE, "已审批")],
}
DEFAULT_ROAD = [(DocState.DONE, "完成")]
MOVE_STATES = {"draft": "待审批", "done": "完成", "cancelled": "已取消"}
HOLD_STATES = {"held": "占用中", "used": "已使用", "released": "已释放"}
STATE_LABELS = {**DocState.LABELS, DocState.CANCELLED: "已驳回/已取消"}


def _item_col() -> Field:
    return Field("item", "物资", "item", required=True)


def _owner_col() -> Field:
    return Field("owner", "储备权属（可空）", "owner", choices=choices.owners)


def _lot_col(required: bool = False) -> Field:
    return Field(
        "lot", "批次" if required else "批次（可空：先到期先出）", "lot", required=required
    )


def _out_lines(
    name: str = "lines", title: str = "物资明细", lot_required: bool = False
) -> LineTable:
    return LineTable(
        name,
        title,
        [_item_col(), _lot_col(lot_required), Field("quantity", "数量", "int", True), _owner_col()],
    )


def _in_lines(name: str = "lines", title: str = "物资明细") -> LineTable:
    return LineTable(
        name,
        title,
        [
            _item_col(),
            Field("lot", "批次", "lot", required=True),
            Field("quantity", "数量", "int", True),
            _owner_col(),
            Field("production_date", "生产日期", "date"),
            Field("expiry_date", "有效期至", "date"),
        ],
    )


def _depot(name: str = "depot", label: str = "仓库") -> Field:
    return Field(name, label, "select", required=True, choices=choices.my_depots)


AUTHORITY = Field("authority_order", "调令文号（代储物资必填）")
REASON = Field("reason", "事由", "textarea")

FORMS: dict[str, DocForm] = {
    form.kind: form
    for form in (
        DocForm(
            "receipt",
            "入库单",
            [
                _depot(),
                Field("partner", "供货单位 / 捐赠方"),
                Field("origin", "来源", "select", choices=lambda: ORIGINS),
                AUTHORITY,
                REASON,
                Field("quarantine", "入库待检（本库隔离）", "flag"),
            ],
            [_in_lines()],
            lambda values: stock.receive,
        ),
        DocForm(
            "issue",
            "出库单",
            [
                _depot(),
                Field("county", "调往县市", "select", True, choices.counties),
                AUTHORITY,
                REASON,
            ],
            [_out_lines()],
            lambda values: stock.issue,
        ),
        DocForm(
            "transfer",
            "库间调拨单",
            [
                _depot("from_depot", "调出仓库"),
                Field("to_depot", "调入仓库", "select", True, choices.all_depots),
                AUTHORITY,
                REASON,
            ],
            [_out_lines()],
            lambda values: stock.transfer,
        ),
        DocForm(
            "scrap",
            "报废单",
            [_depot(), Field("reason", "报废原因", "textarea", required=True), AUTHORITY],
            [_out_lines(lot_required=True)],
            lambda values: stock.propose_scrap,
        ),
        DocForm(
            "count",
            "盘点单",
            [_depot(), REASON, AUTHORITY],
            [
                LineTable(
                    "lines",
                    "盘点明细",
                    [
                        _item_col(),
                        _lot_col(True),
                        _owner_col(),
                        Field("counted", "实盘数量", "int", True),
                    ],
                )
            ],
            lambda values: stock.propose_count,
        ),
        DocForm(
            "rotation",
            "轮换单",
            [_depot(), Field("partner", "轮换单位"), REASON, AUTHORITY],
            [
                _out_lines("out_lines", "换出（旧批次）", True),
                _in_lines("in_lines", "换入（新批次）"),
            ],
            lambda values: stock.rotate,
        ),
    )
}


def _kind_options() -> list[tuple[str, str]]:
    return [(k, DocKind.LABELS[k]) for k in DocKind.ALL]


def _state_options() -> list[tuple[str, str]]:
    return [(k, v) for k, v in DocState.LABELS.items()]


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
    search_hint = "单号、调令文号或来源单号"
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
        "number": "单号",
        "kind": "类型",
        "state": "状态",
        "depot_id": "仓库",
        "dest_depot_id": "调入仓库",
        "county_id": "县市",
        "partner": "单位",
        "reason": "事由",
        "created_by_id": "制单人",
        "created_at": "制单时间",
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
                StockDocument.kind, "类型", _kind_options, lambda v: StockDocument.kind == v
            ),
            ScopedFilter(
                StockDocument.state, "状态", _state_options, lambda v: StockDocument.state == v
            ),
            ScopedFilter(
                StockDocument.depot_id,
                "仓库",
                choices.visible_depots,
                lambda code: or_(
                    StockDocument.depot_id == _depot_id(code),
                    StockDocument.dest_depot_id == _depot_id(code),
                ),
            ),
            DayFilter(StockDocument.created_at, "制单日期", after=True),
            DayFilter(StockDocument.created_at, "制单日期", after=False),
        ]

    def prefetch(self, rows: list[Any]) -> None:
        lookup = self.lookup()
        lookup.small(County)
        lookup.preload(Depot, (i for r in rows for i in (r.depot_id, r.dest_depot_id)))
        lookup.preload(User, (r.created_by_id for r in rows))

    column_formatters = {
        "number": lambda _v, _c, model, _n: doc_link(model.number),
        "kind": lambda _v, _c, model, _n: DocKind.LABELS.get(model.kind, model.kind),
        "state": lambda _v, _c, model, _n: DocState.LABELS.get(model.state, model.state),
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
        reason = sheets.Input("reason", "理由（必填）", required=True)
        candidates: list[tuple[Callable[[], object], sheets.Action]] = [
            (
                lambda: stock.check_approve(session, actor, document),
                sheets.Action("approve", "审批通过", "success"),
            ),
            (
                lambda: stock.check_complete(session, actor, document),
                sheets.Action(
                    "complete",
                    "签收入库",
                    "success",
                    [sheets.Input("note", "到货差异说明（有短少/损坏时必填）")],
                ),
            ),
            (
                lambda: stock.check_reject(session, actor, document),
                sheets.Action(
                    "reject",
                    "拒收退回" if document.kind == DocKind.TRANSFER else "驳回",
                    "danger",
                    [reason],
                ),
            ),
            (
                lambda: stock.check_cancel(actor, document),
                sheets.Action("cancel", "撤回草稿", "secondary", [reason]),
            ),
            (
                lambda: stock.check_reverse(session, actor, document),
                sheets.Action(
                    "reverse",
                    "冲销",
                    "warning",
                    [reason],
                    confirm="确定提出冲销？冲销须由另一名保管员审批。",
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
            ("仓库", detail["depot_name"] or ""),
            ("县市", detail["county"] or ""),
            ("单位", detail["partner"]),
            ("调令 / 申请号", detail["authority_order"]),
            ("事由", detail["reason"]),
            ("制单人", detail["created_by"]),
            ("制单时间", format_local(detail["created_at"])),
            ("审核人", detail["validated_by"] or ""),
            ("完成时间", format_local(detail["done_at"])),
        ]
        if detail["dest_depot"]:
            fields.insert(1, ("调入仓库", detail["dest_depot"]))
        tables = [
            sheets.Table(
                "流水（库存移动）",
                ["物资", "批次", "储备权属", "数量", "从", "到", "状态", "完成时间"],
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
                    "盘点明细",
                    ["物资", "批次", "储备权属", "账面", "实盘", "差异"],
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
                    "草稿占用的库存",
                    ["物资", "批次", "储备权属", "位置", "数量", "状态"],
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
        for key, label in (
            ("reverses", "被冲销的原单"),
            ("reversed_by", "冲销单"),
            ("pending_reversal", "待审批的冲销单"),
        ):
            if detail[key]:
                related.append((f"{label} {detail[key]}", url_for(".view", number=detail[key])))
        if document.kind == DocKind.DISPATCH and document.authority_order:
            related.append(
                (
                    f"调拨申请 {document.authority_order}",
                    f"/dispatch/view/{document.authority_order}",
                )
            )
        banner = None
        if detail["reversed_by"]:
            banner = f"作废：已冲销（冲销单 {detail['reversed_by']}）"
        elif document.state == DocState.CANCELLED:
            who = f"（{detail['rejected_by']}）" if detail["rejected_by"] else ""
            banner = f"已驳回/已取消{who}"
        return sheets.Sheet(
            kind_label=DocKind.LABELS.get(document.kind, document.kind),
            number=document.number,
            states=road,
            state=document.state,
            state_label=STATE_LABELS.get(document.state, document.state),
            act_url=url_for(".act", number=document.number, action="x")[:-1],
            actions=self._steps(session, actor, document),
            fields=fields,
            tables=tables,
            related=related,
            prints=[("打印单据（PDF）", url_for(".print_pdf", number=document.number))],
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
        done = try_service(work[action], what=f"{action} {number}", done="操作成功")
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
        options = PrintOptions.from_settings(current_app.config["RELIEF_SETTINGS"])
        data = print_document(self._engine(), current_actor(), number, options)
        return pdf_response(data, f"{number}.pdf")

    def _engine(self):  # type: ignore[no-untyped-def]
        return current_app.extensions["relief_engine"]

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

    # -- creating ----------------------------------------------------------------------

    @expose("/new/<kind>", methods=("GET", "POST"))
    def new(self, kind: str):  # type: ignore[no-untyped-def]
        form = FORMS.get(kind)
        if form is None:
            abort(404)
        actor = current_actor()
        if not (actor.is_admin or actor.has(Role.KEEPER)):
            abort(403)
        posted = request.form if request.method == "POST" else None
        if posted is not None:
            values = parse_header(form, posted)
            for table in form.tables:
                values[table.name] = parse_lines(table, posted)
            operation = form.build(values)
            key = posted.get("form_key") or None
            made = try_service(
                lambda uow: once(uow, key, operation, **values)[0],
                what=f"新建{form.title}",
                done=f"{form.title}已保存",
            )
            if made is not None:
                return redirect(url_for(".view", number=made.number))
        return self.render(
            "backoffice/doc_form.html",
            form=form,
            posted=posted,
            rows={t.name: rows_for_display(t, posted) for t in form.tables},
            form_key=(posted.get("form_key") if posted else None) or new_form_key(),
        ), (422 if posted is not None else 200)


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
        {"number": number, "label": f"{depot_code} 有效期 {expiry or '—'}"}
        for number, expiry, depot_code in session.execute(query)
    ]
