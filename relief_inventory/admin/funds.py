"""Relief funds in the back office: releases (资金拨付) with their road 草稿 → 已提交 → 已核实
→ 已批准 → 已拨付, three signatures by three people, the notice to print; sources (资金来源)
and appropriations (资金下达) with their forms. Each step is the funds service's, and its
button shows only when the service's own check (``funds.services.check_*``) passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from relief_inventory.admin import choices, sheets
from relief_inventory.admin.base import (
    ScopedFilter,
    SearchedLedgerView,
    allowed,
    local_time,
    printed,
    read_session,
    try_service,
)
from relief_inventory.admin.formpage import form_page
from relief_inventory.admin.forms import DocForm, Field
from relief_inventory.admin.history import chatter
from relief_inventory.admin.labels import label, options
from relief_inventory.admin.login import current_actor
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.errors import DomainError, PermissionDenied
from relief_inventory.funds import queries as fund_queries
from relief_inventory.funds import services as funds
from relief_inventory.funds.models import (
    Appropriation,
    FundKind,
    FundLevel,
    FundRelease,
    FundReversalRequest,
    FundSource,
    Purpose,
    ReleaseState,
    ReversalTarget,
)
from relief_inventory.funds.models import RequestState as ReversalState
from relief_inventory.timeutil import format_local
from relief_inventory.warehouse.models import County

ROAD = [
    (ReleaseState.DRAFT, _l("草稿")),
    (ReleaseState.SUBMITTED, _l("已提交")),
    (ReleaseState.VERIFIED, _l("已核实")),
    (ReleaseState.APPROVED, _l("已批准")),
    (ReleaseState.RELEASED, _l("已拨付")),
]
PRINTABLE = (ReleaseState.APPROVED, ReleaseState.RELEASED)


def money(value: Any) -> str:
    return "" if value is None else f"{value:,.2f}"


def county_clause(actor: Actor, column: Any) -> ColumnElement[bool]:
    """The counties ``funds.queries.county_scope`` lets the actor read."""
    try:
        counties = fund_queries.county_scope(actor)
    except PermissionDenied:
        return false()
    return true() if counties is None else column.in_(counties)


def my_appropriations() -> list[tuple[str, str]]:
    actor = current_actor()
    with read_session() as session:
        rows = session.execute(
            select(Appropriation.number, Appropriation.document_number, County.name)
            .join(County, County.id == Appropriation.county_id)
            .where(county_clause(actor, Appropriation.county_id))
            .order_by(Appropriation.number.desc())
            .limit(500)
        )
        return [(n, f"{n} {c} {d}") for n, d, c in rows]


def sources() -> list[tuple[str, str]]:
    with read_session() as session:
        rows = session.execute(
            select(FundSource.number, FundSource.document_number)
            .order_by(FundSource.number.desc())
            .limit(500)
        )
        return [(n, f"{n} {d}") for n, d in rows]


RELEASE_FORM = DocForm(
    "release",
    _l("资金拨付申请"),
    [
        Field("appropriation", _l("资金下达（指标）"), "select", True, my_appropriations),
        Field("purpose", _l("用途"), "select", True, lambda: options(Purpose.LABELS)),
        Field("amount", _l("金额（元，如 12000.00）"), required=True),
        Field("beneficiaries", _l("救助人数"), "int"),
        Field("households", _l("户数"), "int"),
        Field("description", _l("说明")),
        Field("evidence", _l("申请依据（花名册、评议公示等）"), "textarea"),
        Field("submit", _l("保存后立即提交"), "flag"),
    ],
    [],
    lambda values: funds.create_release,
    roles=(Role.REQUESTER, Role.FINANCE),
)
SOURCE_FORM = DocForm(
    "source",
    _l("资金来源"),
    [
        Field("level", _l("来源层级"), "select", True, lambda: options(FundLevel.LABELS)),
        Field("kind", _l("资金类别"), "select", True, lambda: options(FundKind.LABELS)),
        Field("year", _l("年度"), "int", True),
        Field("document_number", _l("文号"), required=True),
        Field("amount", _l("金额（元）"), required=True),
        Field("title", _l("标题")),
        Field("issued_on", _l("下达日期"), "date"),
    ],
    [],
    lambda values: funds.create_source,
    roles=(Role.FINANCE,),
)
APPROPRIATION_FORM = DocForm(
    "appropriation",
    _l("资金下达"),
    [
        Field("source", _l("资金来源"), "select", True, sources),
        Field("county", _l("下达县市"), "select", True, choices.counties),
        Field("document_number", _l("文号"), required=True),
        Field("amount", _l("金额（元）"), required=True),
        Field("issued_on", _l("下达日期"), "date"),
        Field("note", _l("备注")),
    ],
    [],
    lambda values: funds.appropriate,
    roles=(Role.FINANCE,),
)


def link(endpoint: str, number: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, number=number), number)


class FundDocumentsView(SearchedLedgerView):
    """What the funds lists share: newest first, each number a link to its page (plain
    text in exports), the page being the document (no Flask-Admin detail view), amounts
    in yuan with two places."""

    roles: tuple[str, ...] = ()
    can_view_details = False
    list_template = "backoffice/funds_list.html"
    column_default_sort = ("id", True)

    def __init__(self, *args: Any, **kwargs: Any):
        self.column_formatters = {
            **self.column_formatters,
            "number": lambda _v, _c, m, _n: link(".view", m.number),
            "amount": lambda _v, _c, m, _n: money(m.amount),
        }
        self.column_formatters_export = {
            **self.column_formatters,
            "number": lambda _v, _c, m, _n: m.number,
        }
        super().__init__(*args, **kwargs)


def reversal_notes(actor: Actor, detail: dict) -> tuple[str | None, list[tuple[str, str]]]:
    """The banner of a reversed fund document, or of one being reversed, and the link to
    its reversal (for finance and auditors, who may open reversals)."""
    banner = None
    if detail["reversed_by"]:
        banner = _("作废：已冲销（%(number)s）", number=detail["reversed_by"])
    elif detail["reversal_pending"]:
        banner = _("冲销待审批（%(number)s）", number=detail["reversal_pending"])
    related = [
        (f"{_('冲销单')} {detail[key]}", url_for("reversals.view", number=detail[key]))
        for key in ("reversed_by", "reversal_pending")
        if detail[key] and fund_queries.county_scope(actor) is None
    ]
    return banner, related


class ReversibleView(FundDocumentsView):
    """A fund document (source, appropriation, release) whose page proposes its reversal
    (冲销) to finance, as ``funds.services.reverse_*`` does for the API: the button shows
    when ``check_propose_reversal`` passes and nothing is reversed or being reversed;
    whether this one may be reversed (its appropriations, its releases …) is the service's
    to say under its locks, on the page. A second finance person decides the proposal on
    the reversal's own page."""

    reverse: Callable[..., FundReversalRequest]  # the service proposing it, a staticmethod

    def reversal_actions(self, actor: Actor, detail: dict) -> list[sheets.Action]:
        if detail["reversed_by"] or detail["reversal_pending"]:
            return []
        if not allowed(lambda: funds.check_propose_reversal(actor)):
            return []
        reason = sheets.Input("reason", _("理由（必填）"), required=True)
        confirm = _("确定提出冲销？须由另一名财务人员审批。")
        return [sheets.Action("reverse", _("冲销"), "warning", [reason], confirm=confirm)]

    def propose_reversal(self, number: str) -> Any:
        """The proposal's page when the service accepts, this page with its message if not."""
        reason = request.form.get("reason", "")
        done = try_service(
            lambda uow: type(self).reverse(uow, number, reason=reason),
            what=f"reverse {number}",
            done=_("操作成功"),
        )
        if done is not None:
            return redirect(url_for("reversals.view", number=done.number))
        return redirect(url_for(".view", number=number))

    detail: Callable[[Session, Actor, str], dict]  # the query reading it, as a staticmethod

    def readable(self, session: Session, number: str) -> dict:
        """This document's detail as the user may read it; 404 as for a missing one."""
        try:
            return type(self).detail(session, current_actor(), number[:32])
        except DomainError:
            abort(404)

    @expose("/act/<number>/<action>", methods=("POST",))
    def act(self, number: str, action: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            self.readable(session, number)
        if action != "reverse":
            abort(404)
        return self.propose_reversal(number)


class ReleasesView(ReversibleView):
    reverse = staticmethod(funds.reverse_release)
    new_label = _l("申请资金拨付")
    search_hint = _l("拨付单号")
    column_list = (
        "number",
        "county_id",
        "purpose",
        "amount",
        "beneficiaries",
        "state",
        "created_at",
    )
    column_sortable_list = ("number", "created_at", "amount")
    column_labels = {
        "number": _l("拨付单号"),
        "county_id": _l("县市"),
        "purpose": _l("用途"),
        "amount": _l("金额（元）"),
        "beneficiaries": _l("救助人数"),
        "state": _l("状态"),
        "created_at": _l("申请时间"),
    }
    column_formatters = {
        "county_id": lambda view, _c, m, _n: view.lookup().label(County, m.county_id),
        "purpose": lambda _v, _c, m, _n: label(Purpose.LABELS, m.purpose),
        "state": lambda _v, _c, m, _n: label(ReleaseState.LABELS, m.state),
        "created_at": local_time,
    }

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        return county_clause(actor, FundRelease.county_id)

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return FundRelease.number == term.upper()

    def get_filters(self) -> list[Any]:
        return [
            ScopedFilter(
                FundRelease.state,
                _l("状态"),
                lambda: options(ReleaseState.LABELS),
                lambda v: FundRelease.state == v,
            ),
            ScopedFilter(
                FundRelease.county_id,
                _l("县市"),
                choices.counties,
                lambda code: (
                    FundRelease.county_id
                    == select(County.id).where(County.code == code).scalar_subquery()
                ),
            ),
            ScopedFilter(
                FundRelease.id,
                _l("待我处理"),
                lambda: [("yes", _l("是"))],
                lambda _v: fund_queries.waiting_for(current_actor()),
            ),
        ]

    def prefetch(self, rows: list[Any]) -> None:
        self.lookup().small(County)

    def _readable(self, session: Session, number: str) -> tuple[FundRelease, dict]:
        if len(number) > 32:
            abort(404)
        found = session.scalar(select(FundRelease).where(FundRelease.number == number))
        if found is None:
            abort(404)
        try:
            return found, fund_queries.release_detail(session, current_actor(), number)
        except DomainError:
            abort(404)

    @expose("/view/<number>")
    def view(self, number: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            found, detail = self._readable(session, number)
            sheet = self._sheet(session, found, detail)
        return self.render("backoffice/sheet.html", sheet=sheet)

    def _sheet(self, session: Session, found: FundRelease, detail: dict) -> sheets.Sheet:
        actor = current_actor()
        reason = sheets.Input("reason", _l("理由（必填）"), required=True)
        candidates: list[tuple[Callable[[], object], sheets.Action]] = [
            (lambda: funds.check_submit(actor, found), sheets.Action("submit", _l("提交"))),
            (
                lambda: funds.check_verify(actor, found),
                sheets.Action(
                    "verify", _l("核实"), "success", [sheets.Input("note", _l("核实意见"))]
                ),
            ),
            (
                lambda: funds.check_approve(actor, found),
                sheets.Action("approve", _l("批准"), "success"),
            ),
            (
                lambda: funds.check_pay(actor, found),
                sheets.Action(
                    "release",
                    _l("拨付"),
                    "success",
                    [sheets.Input("payment_reference", _l("支付凭证号"))],
                ),
            ),
            (
                lambda: funds.check_reject(actor, found),
                sheets.Action("reject", _l("驳回"), "danger", [reason]),
            ),
        ]
        paid_reversal = (
            self.reversal_actions(actor, detail) if found.state == ReleaseState.RELEASED else []
        )
        fields: list[tuple[str, Any]] = [
            (_l("县市"), f"{detail['county_name']}（{detail['county']}）"),
            (
                _l("资金下达"),
                {
                    "text": detail["appropriation"],
                    "href": url_for("appropriations.view", number=detail["appropriation"]),
                },
            ),
            (_l("用途"), label(Purpose.LABELS, detail["purpose"])),
            (_l("金额（元）"), money(detail["amount"])),
            (_l("救助人数 / 户数"), f"{detail['beneficiaries']} / {detail['households']}"),
            (_l("说明"), detail["description"]),
            (_l("申请依据"), detail["evidence"]),
            (_l("支付凭证号"), detail["payment_reference"]),
        ]
        signatures = sheets.Table(
            _l("签字（三人分离）"),
            [_l("环节"), _l("经办人"), _l("时间"), _l("意见")],
            [
                [_l("申请"), detail["created_by"], format_local(detail["created_at"]), ""],
                [
                    _l("核实"),
                    detail["verified_by"] or "",
                    format_local(detail["verified_at"]),
                    detail["verification_note"],
                ],
                [_l("批准"), detail["approved_by"] or "", format_local(detail["approved_at"]), ""],
                [_l("拨付"), detail["released_by"] or "", format_local(detail["released_at"]), ""],
                [
                    _l("驳回"),
                    detail["rejected_by"] or "",
                    format_local(detail["rejected_at"]),
                    detail["reject_reason"],
                ],
            ],
        )
        related = [
            (
                f"{_('资金下达')} {detail['appropriation']}",
                url_for("appropriations.view", number=detail["appropriation"]),
            ),
        ]
        if fund_queries.county_scope(actor) is None:
            related.append(
                (
                    f"{_('资金来源')} {detail['source']}",
                    url_for("sources.view", number=detail["source"]),
                )
            )
        banner, reversals = reversal_notes(actor, detail)
        related += reversals
        return sheets.Sheet(
            kind_label=_l("资金拨付"),
            number=found.number,
            states=ROAD,
            state=found.state,
            state_label=label(ReleaseState.LABELS, found.state),
            act_url=url_for(".act", number=found.number, action="x")[:-1],
            actions=[a for check, a in candidates if allowed(check)] + paid_reversal,
            fields=fields,
            tables=[signatures],
            related=related,
            prints=[(_l("打印拨付通知（PDF）"), url_for(".print_pdf", number=found.number))]
            if found.state in PRINTABLE
            else [],
            history=chatter(
                session,
                "fund_release",
                found.id,
                found.number,
                {"state": ReleaseState.LABELS, "purpose": Purpose.LABELS},
            ),
            banner=banner,
        )

    @expose("/act/<number>/<action>", methods=("POST",))
    def act(self, number: str, action: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            self._readable(session, number)
        form = request.form
        work: dict[str, Callable[[Any], Any]] = {
            "submit": lambda uow: funds.submit(uow, number),
            "verify": lambda uow: funds.verify(uow, number, note=form.get("note", "")),
            "approve": lambda uow: funds.approve(uow, number),
            "release": lambda uow: funds.pay(
                uow, number, payment_reference=form.get("payment_reference", "")
            ),
            "reject": lambda uow: funds.reject(uow, number, reason=form.get("reason", "")),
        }
        if action == "reverse":
            return self.propose_reversal(number)
        if action not in work:
            abort(404)
        try_service(work[action], what=f"{action} {number}", done=_("操作成功"))
        return redirect(url_for(".view", number=number))

    @expose("/print/<number>")
    def print_pdf(self, number: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            self._readable(session, number)
        return printed(number)

    @expose("/new", methods=("GET", "POST"))
    def new(self):  # type: ignore[no-untyped-def]
        return form_page(self, RELEASE_FORM, cancel_url=url_for(".index_view"))


class AppropriationsView(ReversibleView):
    new_label = _l("新建资金下达")
    new_roles = (Role.FINANCE,)
    search_hint = _l("下达单号或文号")
    column_list = ("number", "county_id", "document_number", "amount", "issued_on", "created_at")
    column_sortable_list = ("number", "created_at")
    column_labels = {
        "number": _l("下达单号"),
        "county_id": _l("县市"),
        "document_number": _l("文号"),
        "amount": _l("金额（元）"),
        "issued_on": _l("下达日期"),
        "created_at": _l("录入时间"),
    }
    column_formatters = {
        "county_id": lambda view, _c, m, _n: view.lookup().label(County, m.county_id),
        "created_at": local_time,
    }

    def scope(self, actor: Actor) -> ColumnElement[bool]:
        return county_clause(actor, Appropriation.county_id)

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return (Appropriation.number == term.upper()) | (Appropriation.document_number == term)

    def prefetch(self, rows: list[Any]) -> None:
        self.lookup().small(County)

    reverse = staticmethod(funds.reverse_appropriation)
    detail = staticmethod(fund_queries.appropriation_detail)

    @expose("/view/<number>")
    def view(self, number: str):  # type: ignore[no-untyped-def]
        actor = current_actor()
        with read_session() as session:
            detail = self.readable(session, number)
            found = session.scalar(select(Appropriation).where(Appropriation.number == number))
            releases = session.execute(
                select(FundRelease.number, FundRelease.amount, FundRelease.state)
                .where(FundRelease.appropriation_id == found.id)
                .order_by(FundRelease.id)
            ).all()
            remaining = detail["amount"] - detail["committed"] - detail["released"]
            related = [
                (f"{_('拨付')} {n}", url_for("releases.view", number=n)) for n, _a, _s in releases
            ]
            if fund_queries.county_scope(actor) is None:
                related.insert(
                    0,
                    (
                        f"{_('资金来源')} {detail['source']}",
                        url_for("sources.view", number=detail["source"]),
                    ),
                )
            banner, reversals = reversal_notes(actor, detail)
            sheet = sheets.Sheet(
                kind_label=_l("资金下达"),
                number=number,
                states=[("live", _l("已下达"))],
                state="reversed" if detail["reversed_by"] else "live",
                state_label=_l("已冲销") if detail["reversed_by"] else _l("已下达"),
                act_url=url_for(".act", number=number, action="x")[:-1],
                actions=self.reversal_actions(actor, detail),
                fields=[
                    (_l("县市"), f"{detail['county_name']}（{detail['county']}）"),
                    (_l("文号"), detail["document_number"]),
                    (_l("资金来源"), f"{detail['source']} {detail['source_document']}"),
                    (_l("金额（元）"), money(detail["amount"])),
                    (_l("已批准未付"), money(detail["committed"])),
                    (_l("已拨付"), money(detail["released"])),
                    (_l("可用余额"), money(remaining)),
                    (_l("下达日期"), str(detail["issued_on"] or "")),
                    (_l("备注"), detail["note"]),
                ],
                tables=[
                    sheets.Table(
                        _l("拨付"),
                        [_l("单号"), _l("金额（元）"), _l("状态")],
                        [
                            [
                                {"text": n, "href": url_for("releases.view", number=n)},
                                money(a),
                                label(ReleaseState.LABELS, s),
                            ]
                            for n, a, s in releases
                        ],
                        numeric={1},
                    )
                ],
                related=related + reversals,
                banner=banner,
                history=chatter(session, "appropriation", found.id, number),
            )
        return self.render("backoffice/sheet.html", sheet=sheet)

    @expose("/new", methods=("GET", "POST"))
    def new(self):  # type: ignore[no-untyped-def]
        return form_page(self, APPROPRIATION_FORM, cancel_url=url_for(".index_view"))


class SourcesView(ReversibleView):
    roles = (Role.FINANCE, Role.AUDITOR)
    new_label = _l("新建资金来源")
    new_roles = (Role.FINANCE,)
    search_hint = _l("来源单号或文号")
    column_list = ("number", "level", "kind", "year", "document_number", "amount", "issued_on")
    column_sortable_list = ("number", "year")
    column_labels = {
        "number": _l("来源单号"),
        "level": _l("层级"),
        "kind": _l("类别"),
        "year": _l("年度"),
        "document_number": _l("文号"),
        "amount": _l("金额（元）"),
        "issued_on": _l("下达日期"),
    }
    column_formatters = {
        "level": lambda _v, _c, m, _n: label(FundLevel.LABELS, m.level),
        "kind": lambda _v, _c, m, _n: label(FundKind.LABELS, m.kind),
    }

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return (FundSource.number == term.upper()) | (FundSource.document_number == term)

    reverse = staticmethod(funds.reverse_source)
    detail = staticmethod(fund_queries.source_detail)

    @expose("/view/<number>")
    def view(self, number: str):  # type: ignore[no-untyped-def]
        actor = current_actor()
        with read_session() as session:
            detail = self.readable(session, number)
            found = session.scalar(select(FundSource).where(FundSource.number == number))
            children = session.execute(
                select(Appropriation.number, County.name, Appropriation.amount)
                .join(County, County.id == Appropriation.county_id)
                .where(Appropriation.source_id == found.id)
                .order_by(Appropriation.number)
            ).all()
            banner, reversals = reversal_notes(actor, detail)
            sheet = sheets.Sheet(
                kind_label=_l("资金来源"),
                number=number,
                states=[("live", _l("已到账"))],
                state="reversed" if detail["reversed_by"] else "live",
                state_label=_l("已冲销") if detail["reversed_by"] else _l("已到账"),
                act_url=url_for(".act", number=number, action="x")[:-1],
                actions=self.reversal_actions(actor, detail),
                fields=[
                    (_l("层级"), label(FundLevel.LABELS, detail["level"])),
                    (_l("类别"), label(FundKind.LABELS, detail["kind"])),
                    (_l("年度"), detail["year"]),
                    (_l("文号"), detail["document_number"]),
                    (_l("标题"), detail["title"]),
                    (_l("金额（元）"), money(detail["amount"])),
                    (_l("已下达"), money(detail["appropriated"])),
                    (_l("未下达"), money(detail["amount"] - detail["appropriated"])),
                ],
                tables=[
                    sheets.Table(
                        _l("下达县市"),
                        [_l("下达单号"), _l("县市"), _l("金额（元）")],
                        [
                            [
                                {"text": n, "href": url_for("appropriations.view", number=n)},
                                c,
                                money(a),
                            ]
                            for n, c, a in children
                        ],
                        numeric={2},
                    )
                ],
                related=[
                    (f"{_('资金下达')} {n}", url_for("appropriations.view", number=n))
                    for n, _c, _a in children
                ]
                + reversals,
                banner=banner,
                history=chatter(
                    session,
                    "fund_source",
                    found.id,
                    number,
                    {"kind": FundKind.LABELS, "level": FundLevel.LABELS},
                ),
            )
        return self.render("backoffice/sheet.html", sheet=sheet)

    @expose("/new", methods=("GET", "POST"))
    def new(self):  # type: ignore[no-untyped-def]
        return form_page(self, SOURCE_FORM, cancel_url=url_for(".index_view"))


REVERSAL_STATES = [("proposed", _l("待审批")), ("approved", _l("已生效"))]
TARGET_VIEWS = {
    "source": "sources.view",
    "appropriation": "appropriations.view",
    "release": "releases.view",
}


class ReversalsView(FundDocumentsView):
    """冲销单 (CZ-…): a proposal takes effect only when a second finance person approves."""

    roles = (Role.FINANCE, Role.AUDITOR)
    list_template = SearchedLedgerView.list_template
    search_hint = _l("冲销单号")
    column_list = ("number", "target", "amount", "reason", "state", "created_at")
    column_sortable_list = ("number", "created_at")
    column_labels = {
        "number": _l("冲销单号"),
        "target": _l("冲销对象"),
        "amount": _l("金额（元）"),
        "reason": _l("理由"),
        "state": _l("状态"),
        "created_at": _l("提出时间"),
    }
    column_formatters = {
        "target": lambda _v, _c, m, _n: label(ReversalTarget.LABELS, m.target),
        "state": lambda _v, _c, m, _n: label(ReversalState.LABELS, m.state),
        "created_at": local_time,
    }

    def search_clause(self, term: str) -> ColumnElement[bool]:
        return FundReversalRequest.number == term.upper()

    def _steps(self, session: Session, actor: Actor, found: FundReversalRequest) -> list:
        reason = sheets.Input("reason", _l("理由（必填）"), required=True)
        withdraw = found.created_by_id == actor.user_id
        candidates: list[tuple[Callable[[], object], sheets.Action]] = [
            (
                lambda: funds.check_decide_reversal(session, actor, found, approving=True),
                sheets.Action("approve", _l("批准冲销"), "success"),
            ),
            (
                lambda: funds.check_decide_reversal(session, actor, found, approving=False),
                sheets.Action(
                    "reject", _l("撤回") if withdraw else _l("驳回冲销"), "danger", [reason]
                ),
            ),
        ]
        return [action for check, action in candidates if allowed(check)]

    @expose("/view/<number>")
    def view(self, number: str):  # type: ignore[no-untyped-def]
        actor = current_actor()
        with read_session() as session:
            try:
                detail = fund_queries.reversal_detail(session, actor, number[:32])
            except DomainError:
                abort(404)
            found = session.scalar(
                select(FundReversalRequest).where(FundReversalRequest.number == number)
            )
            original = url_for(TARGET_VIEWS[detail["target"]], number=detail["reverses"])
            sheet = sheets.Sheet(
                kind_label=_l("资金冲销单"),
                number=number,
                states=REVERSAL_STATES,
                state=found.state,
                state_label=label(ReversalState.LABELS, found.state),
                act_url=url_for(".act", number=number, action="x")[:-1],
                actions=self._steps(session, actor, found),
                fields=[
                    (_l("冲销对象"), label(ReversalTarget.LABELS, detail["target"])),
                    (_l("原单据"), {"text": detail["reverses"], "href": original}),
                    (_l("金额（元）"), money(detail["amount"])),
                    (_l("理由"), detail["reason"]),
                    (_l("提出人"), detail["created_by"]),
                    (_l("提出时间"), format_local(detail["created_at"])),
                    (_l("审批人"), detail["decided_by"] or ""),
                    (_l("审批时间"), format_local(detail["decided_at"])),
                    (_l("审批意见"), detail["decision_note"]),
                ],
                related=[(f"{_('原单据')} {detail['reverses']}", original)],
                history=chatter(
                    session,
                    "fund_reversal_request",
                    found.id,
                    number,
                    {"state": ReversalState.LABELS, "target": ReversalTarget.LABELS},
                ),
            )
        return self.render("backoffice/sheet.html", sheet=sheet)

    @expose("/act/<number>/<action>", methods=("POST",))
    def act(self, number: str, action: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            try:
                fund_queries.reversal_detail(session, current_actor(), number[:32])
            except DomainError:
                abort(404)
        reason = request.form.get("reason", "")
        work: dict[str, Callable[[Any], Any]] = {
            "approve": lambda uow: funds.approve_reversal(uow, number),
            "reject": lambda uow: funds.reject_reversal(uow, number, reason=reason),
        }
        if action not in work:
            abort(404)
        try_service(work[action], what=f"{action} {number}", done=_l("操作成功"))
        return redirect(url_for(".view", number=number))
