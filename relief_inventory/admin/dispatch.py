"""Dispatch requests (应急调拨申请): the list, the request's page with its road (提交 → 审批
→ 分配 → 发运 → 签收 → 结案), its picks per depot and lot, the dispatch notes one click
away, the allocation order to print, and the county's request form.

Each step is the allocation service's; its button is shown when the service's own check
(``allocation.requests.check_*``, ``allocation.shipping.check_*``) passes for this user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import ColumnElement, false, select
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
from relief_inventory.allocation import queries as dispatch_queries
from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation import shipping
from relief_inventory.allocation.models import (
    DisasterType,
    DispatchRequest,
    RequestState,
    Urgency,
)
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.errors import DomainError, PermissionDenied
from relief_inventory.timeutil import format_local
from relief_inventory.warehouse.models import County

ROAD = [
    (RequestState.DRAFT, _l("草稿")),
    (RequestState.SUBMITTED, _l("已提交")),
    (RequestState.APPROVED, _l("已审批")),
    (RequestState.ALLOCATED, _l("已分配")),
    (RequestState.DISPATCHED, _l("已发运")),
    (RequestState.RECEIVED, _l("已签收")),
    (RequestState.CLOSED, _l("已结案")),
]
PRINTABLE = (
    RequestState.ALLOCATED,
    RequestState.DISPATCHED,
    RequestState.RECEIVED,
    RequestState.CLOSED,
)
PICK_STATES = {"reserved": _l("已预留"), "dispatched": _l("已发运"), "released": _l("已释放")}
NO_YES = [("false", _l("否")), ("true", _l("是"))]

RETURN_FORM = DocForm(
    "return",
    _l("回收单（可回收物资回库）"),
    [
        Field("depot", _l("回收入库仓库"), "depot", True, choices.my_depots),
        Field("note", _l("验收说明"), "textarea"),
    ],
    [
        LineTable(
            "lines",
            _l("回收明细（逐批次验收）"),
            [
                Field("item", _l("物资"), "item", True),
                Field("lot", _l("批次"), "lot", True),
                Field("owner", _l("储备权属（可空）"), "owner", choices=choices.owners),
                Field("available", _l("完好回库"), "int"),
                Field("damaged", _l("损坏（单独批次）"), "int"),
                Field("scrap", _l("报废"), "int"),
            ],
        )
    ],
    lambda values: shipping.return_goods,
    roles=(Role.KEEPER,),
)

REQUEST_FORM = DocForm(
    "request",
    _l("应急调拨申请"),
    [
        Field("county", _l("申请县市"), "select", True, choices.counties),
        Field(
            "disaster_type",
            _l("灾害类型"),
            "select",
            True,
            lambda: options(DisasterType.LABELS),
        ),
        Field("urgency", _l("紧急程度"), "select", True, lambda: options(Urgency.LABELS)),
        Field("people_affected", _l("受灾人数"), "int", True),
        Field("reason", _l("灾情与申请理由"), "textarea"),
        Field("submit", _l("保存后立即提交"), "flag"),
    ],
    [
        LineTable(
            "lines",
            _l("申请物资"),
            [
                Field("item", _l("物资"), "item", True),
                Field("quantity", _l("数量"), "int", True),
            ],
        )
    ],
    lambda values: dispatch.file_request,
    roles=(Role.REQUESTER, Role.DISPATCHER),
)


def request_link(number: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for("requests.view", number=number), number)


def _state_options() -> list[tuple[str, str]]:
    return options(RequestState.LABELS)


def _flag(value: str | None) -> bool:
    return value == "true"


class DispatchView(SearchedLedgerView):
    roles = ()
    can_view_details = False
    list_template = "backoffice/dispatch_list.html"
    search_hint = _l("申请单号")
    column_list = (
        "number",
        "county_id",
        "disaster_type",
        "urgency",
        "people_affected",
        "state",
        "created_at",
        "dispatched_at",
        "received_at",
    )
    column_sortable_list = ("number", "created_at")
    column_default_sort = ("id", True)
    column_labels = {
        "number": _l("申请单号"),
        "county_id": _l("县市"),
        "disaster_type": _l("灾害类型"),
        "urgency": _l("紧急程度"),
        "people_affected": _l("受灾人数"),
        "state": _l("状态"),
        "created_at": _l("申请时间"),
        "dispatched_at": _l("发运时间"),
        "received_at": _l("签收时间"),
    }
    column_formatters = {
        "number": lambda _v, _c, m, _n: request_link(m.number),
        "county_id": lambda view, _c, m, _n: view.lookup().label(County, m.county_id),
        "disaster_type": lambda _v, _c, m, _n: label(DisasterType.LABELS, m.disaster_type),
        "urgency": lambda _v, _c, m, _n: label(Urgency.LABELS, m.urgency),
        "state": lambda _v, _c, m, _n: label(RequestState.LABELS, m.state),
        "created_at": local_time,
        "dispatched_at": local_time,
        "received_at": local_time,
    }
    column_formatters_export = {**column_formatters, "number": lambda _v, _c, m, _n: m.number}

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        """The requests ``allocation.queries.readable`` lets the actor read."""
        try:
            readable = dispatch_queries.readable(select(DispatchRequest.id), actor)
        except PermissionDenied:
            return false()
        return DispatchRequest.id.in_(readable)

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return DispatchRequest.number == term.upper()

    def get_filters(self) -> list[Any]:
        return [
            ScopedFilter(
                DispatchRequest.state,
                _l("状态"),
                _state_options,
                lambda v: DispatchRequest.state == v,
            ),
            ScopedFilter(
                DispatchRequest.county_id,
                _l("县市"),
                choices.counties,
                lambda code: (
                    DispatchRequest.county_id
                    == select(County.id).where(County.code == code).scalar_subquery()
                ),
            ),
            DayFilter(DispatchRequest.created_at, _l("申请日期"), after=True),
            DayFilter(DispatchRequest.created_at, _l("申请日期"), after=False),
        ]

    def prefetch(self, rows: list[Any]) -> None:
        self.lookup().small(County)

    # -- one request -------------------------------------------------------------------

    def _readable(self, session: Session, number: str) -> DispatchRequest:
        """The request if this user may read it; otherwise 404, as for a missing one."""
        if len(number) > 32:
            abort(404)
        found = session.scalar(select(DispatchRequest).where(DispatchRequest.number == number))
        if found is None:
            abort(404)
        try:
            dispatch_queries.require_readable(session, current_actor(), found)
        except PermissionDenied:
            abort(404)
        return found

    @expose("/view/<number>")
    def view(self, number: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            found = self._readable(session, number)
            sheet = self._sheet(session, found)
        return self.render("backoffice/sheet.html", sheet=sheet)

    def _steps(self, session: Session, actor: Actor, found: DispatchRequest, view: dict) -> list:
        reason = sheets.Input("reason", _l("理由（必填）"), required=True)
        note = sheets.Input("note", _l("意见（可空）"))
        others = sheets.Input(
            "allow_other_counties", _l("动用其他县储备"), kind="select", choices=NO_YES
        )
        receive_inputs = (
            [
                sheets.Input(
                    f"received:{line['item']}",
                    _(
                        "%(item)s 实收（发运 %(shipped)s）",
                        item=line["item_name"],
                        shipped=line["dispatched"],
                    ),
                    kind="number",
                )
                for line in view["lines"]
                if line["dispatched"]
            ]
            + [
                sheets.Input(
                    f"damaged:{line['item']}",
                    _("%(item)s 损坏", item=line["item_name"]),
                    kind="number",
                )
                for line in view["lines"]
                if line["dispatched"]
            ]
            + [sheets.Input("note", _l("短少/损坏说明"))]
        )
        approve_inputs = [note, others]
        if found.urgency == Urgency.CRITICAL:
            approve_inputs.append(
                sheets.Input("emergency_response", _l("应急响应（先调拨后补手续，可空）"))
            )
        candidates: list[tuple[Callable[[], object], sheets.Action]] = [
            (
                lambda: dispatch.check_submit(actor, found),
                sheets.Action("submit", _l("提交"), "primary"),
            ),
            (
                lambda: dispatch.check_decide(actor, found),
                sheets.Action("approve", _l("审批（并分配库存）"), "success", approve_inputs),
            ),
            (
                lambda: dispatch.check_decide(actor, found, action=_l("驳回")),
                sheets.Action("reject", _l("驳回"), "danger", [reason]),
            ),
            (
                lambda: dispatch.check_allocate(actor, found),
                sheets.Action("allocate", _l("补充分配"), "info", [others]),
            ),
            (
                lambda: shipping.check_dispatch(session, actor, found),
                sheets.Action("dispatch", _l("发运（本库）"), "success"),
            ),
            (
                lambda: shipping.check_receive(actor, found),
                sheets.Action("receive", _l("签收"), "success", receive_inputs),
            ),
            (
                lambda: dispatch.check_countersign(actor, found),
                sheets.Action("countersign", _l("会签"), "warning", [note]),
            ),
            (
                lambda: dispatch.check_close(actor, found),
                sheets.Action("close", _l("结案"), "secondary", [note]),
            ),
            (
                lambda: dispatch.check_cancel(session, actor, found),
                sheets.Action(
                    "cancel",
                    _l("取消申请"),
                    "outline-danger",
                    [reason],
                    confirm=_l("确定取消该申请？已预留的库存将释放。"),
                ),
            ),
        ]
        topping_up = found.state == RequestState.APPROVED or any(
            line["shortage"] for line in view["lines"]
        )
        if not topping_up:  # allocating again only makes sense while something is short
            candidates = [c for c in candidates if c[1].name != "allocate"]
        return [action for check, action in candidates if allowed(check)]

    def _sheet(self, session: Session, found: DispatchRequest) -> sheets.Sheet:
        actor = current_actor()
        view = dispatch_queries.request_view(session, actor, found)
        owner = sheets.owner_names(session)
        fields: list[tuple[str, Any]] = [
            (_l("申请县市"), f"{view['county_name']}（{view['county']}）"),
            (_l("灾害类型"), view["disaster_label"]),
            (_l("紧急程度"), view["urgency_label"]),
            (_l("受灾人数"), view["people_affected"]),
            (_l("灾情与理由"), view["reason"]),
            (_l("申请人"), view["requester"] or ""),
            (_l("审批人"), view["approver"] or ""),
            (_l("签收人"), view["receiver"] or ""),
            (_l("提交时间"), format_local(view["submitted_at"])),
            (_l("发运时间"), format_local(view["dispatched_at"])),
            (_l("签收时间"), format_local(view["received_at"])),
            (_l("审批意见"), view["decision_note"]),
        ]
        if view["emergency"]:
            fields += [
                (_l("应急响应"), view["emergency_response"]),
                (_l("会签期限"), format_local(view["countersign_due_at"])),
                (
                    _l("会签人"),
                    view["countersigner"]
                    or (_l("已超期") if view["countersign_overdue"] else _l("待会签")),
                ),
            ]
        lines = sheets.Table(
            _l("申请物资"),
            [
                _l("物资"),
                _l("单位"),
                _l("申请"),
                _l("已分配"),
                _l("缺口"),
                _l("已发运"),
                _l("实收"),
                _l("短少"),
                _l("损坏"),
            ],
            [
                [
                    f"{line['item_name']}（{line['item']}）",
                    line["unit"],
                    line["quantity"],
                    line["allocated"],
                    line["shortage"],
                    line["dispatched"],
                    line["received"],
                    line["short"],
                    line["damaged"],
                ]
                for line in view["lines"]
            ],
            numeric={2, 3, 4, 5, 6, 7, 8},
        )
        picks = sheets.Table(
            _l("分配明细（各库批次）"),
            [
                _l("仓库"),
                _l("物资"),
                _l("批次"),
                _l("储备权属"),
                _l("数量"),
                _l("状态"),
                _l("发运单"),
            ],
            [
                [
                    p["depot"],
                    p["item"],
                    p["lot"],
                    owner.get(p["owner"], p["owner"]),
                    p["quantity"],
                    PICK_STATES.get(p["state"], p["state"]),
                    {"text": p["document"], "href": f"/documents/view/{p['document']}"}
                    if p["document"]
                    else "",
                ]
                for p in view["picks"]
            ],
            numeric={4},
        )
        notes = sorted({p["document"] for p in view["picks"] if p["document"]})
        forms = []
        if allowed(lambda: shipping.check_return(actor, found)) and shipping.returnable_items(
            session, found
        ):
            forms.append((_l("回收（可回收物资）"), url_for(".return_goods", number=found.number)))
        prints = []
        if found.state in PRINTABLE:
            prints.append((_l("打印调拨单（PDF）"), url_for(".print_pdf", number=found.number)))
        return sheets.Sheet(
            kind_label=_l("应急调拨申请"),
            number=found.number,
            states=ROAD,
            state=found.state,
            state_label=label(RequestState.LABELS, found.state),
            act_url=url_for(".act", number=found.number, action="x")[:-1],
            actions=self._steps(session, actor, found, view),
            fields=fields,
            tables=[lines, picks],
            related=[(f"{_('发运单')} {n}", f"/documents/view/{n}") for n in notes],
            prints=prints,
            forms=forms,
            history=chatter(
                session,
                "dispatch_request",
                found.id,
                found.number,
                {
                    "state": RequestState.LABELS,
                    "urgency": Urgency.LABELS,
                    "disaster_type": DisasterType.LABELS,
                },
            ),
            banner=_l("应急会签已超期") if view["countersign_overdue"] else None,
        )

    @expose("/act/<number>/<action>", methods=("POST",))
    def act(self, number: str, action: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            found = self._readable(session, number)
            item_codes = [
                line["item"]
                for line in dispatch_queries.request_view(session, current_actor(), found)["lines"]
            ]
        form = request.form
        hours = current_app.config["RELIEF_SETTINGS"].countersign_hours
        work: dict[str, Callable[[Any], Any]] = {
            "submit": lambda uow: dispatch.submit(uow, number),
            "approve": lambda uow: dispatch.approve(
                uow,
                number,
                note=form.get("note", ""),
                allow_other_counties=_flag(form.get("allow_other_counties")),
                emergency_response=form.get("emergency_response", ""),
                countersign_hours=hours,
            ),
            "reject": lambda uow: dispatch.reject(uow, number, reason=form.get("reason", "")),
            "allocate": lambda uow: dispatch.allocate(
                uow, number, allow_other_counties=_flag(form.get("allow_other_counties"))
            ),
            "dispatch": lambda uow: shipping.dispatch(uow, number),
            "receive": lambda uow: shipping.receive(
                uow, number, lines=_received(form, item_codes), note=form.get("note", "")
            ),
            "countersign": lambda uow: dispatch.countersign(uow, number, note=form.get("note", "")),
            "close": lambda uow: dispatch.close(uow, number, note=form.get("note", "")),
            "cancel": lambda uow: dispatch.cancel(uow, number, reason=form.get("reason", "")),
        }
        if action not in work:
            abort(404)
        try_service(work[action], what=f"{action} {number}", done=_l("操作成功"))
        return redirect(url_for(".view", number=number))

    @expose("/print/<number>")
    def print_pdf(self, number: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            self._readable(session, number)
        return printed(number)

    @expose("/return/<number>", methods=("GET", "POST"))
    def return_goods(self, number: str):  # type: ignore[no-untyped-def]
        """回收: the keeper inspects what comes back, lot by lot."""
        with read_session() as session:
            found = self._readable(session, number)
            try:
                shipping.check_return(current_actor(), found)
            except DomainError:
                abort(403)
            left = shipping.returnable_items(session, found)
        return form_page(
            self,
            RETURN_FORM,
            cancel_url=url_for(".view", number=number),
            submit=lambda uow, _key, values: shipping.return_goods(uow, number, **values),
            opened_to=lambda made: url_for("documents.view", number=made.number),
            initial_rows={
                "lines": [
                    {"item": item, "lot": lot, "available": str(pieces)}
                    for item, lot, pieces in left
                ]
            },
            keyed=False,
        )

    @expose("/new", methods=("GET", "POST"))
    def new(self):  # type: ignore[no-untyped-def]
        return form_page(
            self,
            REQUEST_FORM,
            cancel_url=url_for(".index_view"),
            submit=lambda uow, key, values: dispatch.create(uow, idempotency_key=key, **values)[0],
        )


def _received(form: Any, items: list[str]) -> list[dict[str, Any]]:
    """The receipt's lines as the service takes them: per shipped item, received and
    damaged as integers (text that is not digits is passed on, for the service to refuse)."""
    rows = []
    for code in items:
        received = form.get(f"received:{code}")
        if received is None:
            continue
        damaged = form.get(f"damaged:{code}", "") or "0"
        rows.append(
            {
                "item": code,
                "received": int(received)
                if received.isascii() and received.isdigit()
                else received,
                "damaged": int(damaged) if damaged.isascii() and damaged.isdigit() else damaged,
            }
        )
    return rows
