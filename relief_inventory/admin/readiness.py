"""Readiness screens (战备): the scenario check with a table per window and a chart, filing
its plan as a draft dispatch request; coverage per county with the suggested
pre-positioning transfer as a button; the bureau's parameters (standards, measured roads,
population at risk), edited by dispatchers. Reads through ``readiness.check``; writes through the
readiness and stock services."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_admin import expose
from flask_admin.menu import MenuLink
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from relief_inventory.admin import charts
from relief_inventory.admin.base import OfficeAccess, OfficeView, read_session, try_service
from relief_inventory.admin.login import current_actor
from relief_inventory.auth.actor import Role
from relief_inventory.errors import DomainError
from relief_inventory.readiness import check, parameters, services, upkeep
from relief_inventory.readiness.presets import NAMES, PRESETS, WORST_2024
from relief_inventory.readiness.standards import Basis
from relief_inventory.readiness.travel import TravelSettings
from relief_inventory.stock import services as stock
from relief_inventory.warehouse.models import County, Depot, Township

PRESET_LABELS = {**{p.name: p.title for p in PRESETS.values()}, WORST_2024: _l("2024年最重灾情")}


def _travel() -> TravelSettings:
    return TravelSettings.of(current_app.config["RELIEF_SETTINGS"])


def _int(value: str | None) -> Any:
    """Digits as an integer; anything else is passed on for the check to refuse by name."""
    if value is None or value == "":
        return None
    return int(value) if value.isascii() and value.isdigit() else value


def _spec_args(form: Any) -> dict[str, Any]:
    return {
        "preset": form.get("preset") or None,
        "county": form.get("county") or None,
        "township": form.get("township") or None,
        "relocated": _int(form.get("relocated")),
        "days": _int(form.get("days")),
        "cut_off": [code for code in form.getlist("cut_off") if code],
        "allow_other_counties": form.get("own_only") != "on",
    }


def chart(answer: dict[str, Any]) -> Markup:
    """Share of each category's need met, one series per window."""
    labels = [line["category_name"] for line in answer["windows"][0]["lines"]]
    series = {
        _("%(n)s 小时", n=w["hours"]): [line["covered_percent"] for line in w["lines"]]
        for w in answer["windows"]
    }
    return charts.bars(_l("各时段需求满足率（%）"), labels, series)


ROLES = (Role.DISPATCHER, Role.KEEPER, Role.AUDITOR)


class ReadinessLink(OfficeAccess, MenuLink):
    """A menu entry of the readiness screens, shown to whom may open them."""

    roles = ROLES


class ReadinessView(OfficeView):
    roles = ROLES

    def _choices(self) -> tuple[list, list, list]:
        with read_session() as session:
            counties = [(c.code, c.name) for c in session.query(County).order_by(County.code)]
            townships = [
                (t.code, t.name, name)
                for t, name in session.query(Township, County.name)
                .join(County, County.id == Township.county_id)
                .filter(Township.active.is_(True))
                .order_by(Township.code)
            ]
            depots = [(d.code, d.name) for d in session.query(Depot).order_by(Depot.code)]
        return counties, townships, depots

    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        """The scenario form; with a preset or a county named, the answer under it."""
        args = request.args
        answer = error = None
        if args.get("preset") or args.get("county") or args.get("township"):
            try:
                with read_session() as session:
                    spec = check.parse(session=session, **_spec_args(args))
                    check.require_may_check(current_actor(), spec, session)
                    answer = check.run(session, spec, _travel())
            except DomainError as refused:
                error = refused.message + (f"（{refused.field}）" if refused.field else "")
        counties, townships, depots = self._choices()
        return self.render(
            "backoffice/readiness_scenario.html",
            args=args,
            presets=[(name, PRESET_LABELS[name]) for name in NAMES],
            counties=counties,
            townships=townships,
            depots=depots,
            answer=answer,
            error=error,
            chart=chart(answer) if answer else None,
            may_file=current_actor().is_admin or current_actor().has(Role.DISPATCHER),
        )

    @expose("/file", methods=("POST",))
    def file(self):  # type: ignore[no-untyped-def]
        """The plan as one draft dispatch request for the county (a dispatcher)."""
        form = request.form

        def work(uow: Any) -> Any:
            spec = check.parse(session=uow.session, **_spec_args(form))
            return services.file_requests(uow, spec, _travel())

        made = try_service(work, what="战备情景生成调拨申请", done=_l("已生成调拨申请草稿"))
        if made is None:
            return redirect(
                url_for(".index", **{k: v for k, v in form.items() if k != "csrf_token"})
            )
        return redirect(url_for("requests.view", number=made.number))

    @expose("/coverage")
    def coverage(self):  # type: ignore[no-untyped-def]
        with read_session() as session:
            report = check.coverage_report(session, _travel())
        return self.render("backoffice/readiness_coverage.html", report=report)

    @expose("/coverage/transfer", methods=("POST",))
    def transfer(self):  # type: ignore[no-untyped-def]
        """Ship the suggested pre-positioning transfer (a keeper of the sending depot; the
        order of the stock's level where it is not the depot's own reserve)."""
        form = request.form
        if not form.get("to_depot"):
            abort(400)
        quantity = _int(form.get("quantity"))
        try_service(
            lambda uow: stock.transfer(
                uow,
                from_depot=form.get("from_depot", ""),
                to_depot=form.get("to_depot", ""),
                lines=[{"item": form.get("item", ""), "quantity": quantity}],
                authority_order=form.get("authority_order", ""),
                reason=f"战备预置：补足{form.get('county_name', '')}储备缺口",
            ),
            what="战备预置调拨",
            done=_l("预置调拨已发出，待调入仓库签收"),
        )
        return redirect(url_for(".coverage"))

    @expose("/rotation")
    def rotation(self):  # type: ignore[no-untyped-def]
        """Lots due per depot with the button drafting the depot's plan; inspections due."""
        depot = request.args.get("depot") or None
        with read_session() as session:
            view = upkeep.overview(session, current_actor(), depot=depot)
            plans = upkeep.open_plans(session, current_actor())
        groups: dict[str, list] = {}
        for lot in view["due"]:
            groups.setdefault(lot["depot"], []).append(lot)
        return self.render(
            "backoffice/readiness_rotation.html", view=view, groups=groups, plans=plans
        )

    @expose("/rotation/plan", methods=("POST",))
    def draft_plan(self):  # type: ignore[no-untyped-def]
        depot = request.form.get("depot", "")
        plan = try_service(
            lambda uow: upkeep.draft_plan(uow, depot=depot),
            what="编制轮换计划",
            done=_l("轮换计划已编制"),
        )
        if plan is None:
            return redirect(url_for(".rotation"))
        return redirect(url_for(".plan", number=plan.number))

    @expose("/rotation/inspect", methods=("POST",))
    def inspect(self):  # type: ignore[no-untyped-def]
        form = request.form
        try_service(
            lambda uow: upkeep.record_inspection(
                uow,
                depot=form.get("depot", ""),
                category=form.get("category", ""),
                note=form.get("note", ""),
            ),
            what="记录检测维护",
            done=_l("已记录检测维护"),
        )
        return redirect(url_for(".rotation"))

    @expose("/rotation/<number>")
    def plan(self, number: str):  # type: ignore[no-untyped-def]
        with read_session() as session:
            view = upkeep.plan_view(session, current_actor(), number)
        return self.render("backoffice/readiness_plan.html", plan=view)

    @expose("/rotation/<number>/done/<int:line>", methods=("POST",))
    def line_done(self, number: str, line: int):  # type: ignore[no-untyped-def]
        form = request.form
        try_service(
            lambda uow: upkeep.complete_line(
                uow, number, line, document=form.get("document", ""), note=form.get("note", "")
            ),
            what="完成轮换计划行",
            done=_l("已登记完成"),
        )
        return redirect(url_for(".plan", number=number))

    # -- the bureau's parameters ---------------------------------------------------------

    @expose("/parameters")
    def parameters(self):  # type: ignore[no-untyped-def]
        """Standards, measured roads and population at risk; dispatchers edit them."""
        actor = current_actor()
        counties, townships, depots = self._choices()
        with read_session() as session:
            standards = parameters.standard_rows(session)
            roads = parameters.road_rows(session)
            risks = parameters.risk_rows(session)
        return self.render(
            "backoffice/readiness_parameters.html",
            standards=standards,
            roads=roads,
            risks=risks,
            bases=[(key, label) for key, label in Basis.LABELS.items()],
            counties=counties,
            townships=townships,
            depots=depots,
            may_edit=actor.is_admin or actor.has(Role.DISPATCHER),
        )

    @expose("/parameters/standard", methods=("POST",))
    def set_standard(self):  # type: ignore[no-untyped-def]
        form = request.form
        try_service(
            lambda uow: services.set_standard(
                uow,
                form.get("category", ""),
                basis=form.get("basis", ""),
                amount=form.get("amount", ""),
                measure=form.get("measure", ""),
                target_per_1000=form.get("target_per_1000") or None,
                inspection_days=_int(form.get("inspection_days")),
                rotation_days=_int(form.get("rotation_days")),
            ),
            what="设置保障标准",
            done=_l("保障标准已保存"),
        )
        return redirect(url_for(".parameters"))

    @expose("/parameters/road", methods=("POST",))
    def set_road(self):  # type: ignore[no-untyped-def]
        """A road to a township when one is chosen, else to the county seat."""
        form = request.form
        township = form.get("township") or ""
        measured = {
            "km": form.get("km", ""),
            "hours": form.get("hours") or None,
            "note": form.get("note", ""),
        }
        county = None if township else form.get("county", "")
        try_service(
            lambda uow: services.set_road(
                uow, form.get("depot", ""), county=county, township=township or None, **measured
            ),
            what="设置道路里程",
            done=_l("道路里程已保存"),
        )
        return redirect(url_for(".parameters"))

    @expose("/parameters/risk", methods=("POST",))
    def set_risk(self):  # type: ignore[no-untyped-def]
        form = request.form
        try_service(
            lambda uow: services.set_population_at_risk(
                uow, form.get("county", ""), _int(form.get("population_at_risk"))
            ),
            what="设置受威胁人口",
            done=_l("受威胁人口已保存"),
        )
        return redirect(url_for(".parameters"))
