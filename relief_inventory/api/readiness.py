"""Readiness over HTTP: the scenario check, and its plan filed as a draft dispatch request;
disaster reports; coverage; rotation; and the parameters the bureau edits (standards, road
distances, population at risk).

The check reads and reserves nothing; filing goes through the dispatch services (roles,
county scope and the request's life are theirs), and the parameters through the readiness
services (dispatchers and admins)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from relief_inventory.allocation import queries as dispatch_queries
from relief_inventory.api.common import actor, create, protected_blueprint, read_session, run
from relief_inventory.readiness import check, disaster, parameters, queries, services, upkeep
from relief_inventory.readiness.travel import TravelSettings
from schemas.common import IdempotencySchema, path_text
from schemas.dispatch import RequestSchema
from schemas.readiness import (
    AnnualFiguresSchema,
    CoverageSchema,
    InspectionRecordSchema,
    InspectionSchema,
    LineDoneSchema,
    NewPlanSchema,
    ReportCorrectSchema,
    ReportCreateSchema,
    ReportPageSchema,
    ReportQuerySchema,
    ReportVersionsSchema,
    RiskInputSchema,
    RiskRowSchema,
    RoadInputSchema,
    RoadRowSchema,
    RotationOverviewSchema,
    RotationPlanSchema,
    RotationQuerySchema,
    ScenarioArgsSchema,
    ScenarioSchema,
    StandardInputSchema,
    StandardRowSchema,
    VerifyReportSchema,
    YearSchema,
)
from schemas.stock import ReasonSchema

blp = protected_blueprint(
    "readiness",
    __name__,
    "/readiness",
    "战备：情景推演（6/12/24/72小时可达物资与缺口）、灾情报告与核查、保障标准、道路里程、受威胁人口",
)


def _travel() -> TravelSettings:
    return TravelSettings.of(current_app.config["RELIEF_SETTINGS"])


def _spec(session: Any, body: dict[str, Any]) -> check.Scenario:
    return check.parse(session=session, **body)


@blp.route("/scenario")
class Scenario(MethodView):
    @blp.arguments(ScenarioArgsSchema)
    @blp.response(200, ScenarioSchema)
    def post(self, body: dict) -> dict:
        """Check a scenario on live stock: per window (6, 12, 24, 72 h) and category what
        arrives from which depots, the shortfall, and what the province and the centre would
        have to send. Reserves nothing."""
        with read_session() as session:
            spec = _spec(session, body)
            check.require_may_check(actor(), spec, session)
            return check.run(session, spec, _travel())


@blp.route("/scenario/requests")
class ScenarioRequests(MethodView):
    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(ScenarioArgsSchema)
    @blp.response(201, RequestSchema)
    @blp.alt_response(200, schema=RequestSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """File the scenario's plan as a draft dispatch request for the county (a
        dispatcher); the county submits it and another dispatcher approves, and only then is
        stock reserved."""

        def file(uow: Any, **request: Any) -> Any:
            return services.file_requests(uow, _spec(uow.session, request), _travel())

        request, status = create(file, headers["idempotency_key"], "战备情景生成调拨申请", **body)
        with read_session() as session:
            view = dispatch_queries.request_view(session, actor(), request)
        return view, status


# -- disaster reports ------------------------------------------------------------------------

NUMBER = 32


def _versions(number: str) -> dict[str, Any]:
    with read_session() as session:
        versions = queries.report_versions(session, actor(), number)
    return {"number": versions[0]["number"], "versions": versions}


@blp.route("/disaster-reports")
class Reports(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportPageSchema)
    def get(self, args: dict) -> dict:
        """Current versions of the disaster reports, newest event first; filter by year,
        county, state. Requesters see their own county's."""
        with read_session() as session:
            return queries.list_reports(session, actor(), **args)

    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(ReportCreateSchema)
    @blp.response(201, ReportVersionsSchema)
    @blp.alt_response(200, schema=ReportVersionsSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """A county files its report of an event (灾情报告, version 1): it counts once a
        dispatcher other than the filer verifies it (核查)."""
        report, status = create(disaster.file_report, headers["idempotency_key"], None, **body)
        return _versions(report.number), status


@blp.route("/disaster-reports/<number>")
class Report(MethodView):
    @blp.response(200, ReportVersionsSchema)
    def get(self, number: str) -> dict:
        """Every version of a report, newest first."""
        return _versions(path_text(number, "number", NUMBER))


@blp.route("/disaster-reports/<number>/correct")
class Correct(MethodView):
    @blp.arguments(ReportCorrectSchema)
    @blp.response(200, ReportVersionsSchema)
    def post(self, body: dict, number: str) -> dict:
        """A corrected version: the fields given replace the current version's, the rest
        carry over; the current version is superseded, the new one awaits verification."""
        number = path_text(number, "number", NUMBER)
        given = {k: v for k, v in body.items() if v is not None}
        run(lambda uow: disaster.correct(uow, number, **given), "更正灾情报告")
        return _versions(number)


@blp.route("/disaster-reports/<number>/verify")
class Verify(MethodView):
    @blp.arguments(VerifyReportSchema, required=False)
    @blp.response(200, ReportVersionsSchema)
    def post(self, body: dict, number: str) -> dict:
        """核查: a dispatcher who did not file the version confirms it."""
        number = path_text(number, "number", NUMBER)
        run(lambda uow: disaster.verify(uow, number, **body), body.get("note") or None)
        return _versions(number)


@blp.route("/disaster-reports/<number>/reject")
class Reject(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, ReportVersionsSchema)
    def post(self, body: dict, number: str) -> dict:
        """Verification sends the version back, with the reason."""
        number = path_text(number, "number", NUMBER)
        run(lambda uow: disaster.reject(uow, number, **body), body["reason"])
        return _versions(number)


@blp.route("/disaster-figures")
class Figures(MethodView):
    @blp.arguments(YearSchema, location="query")
    @blp.response(200, AnnualFiguresSchema)
    def get(self, args: dict) -> dict:
        """The year's figures per county and in all, from verified reports only."""
        with read_session() as session:
            return queries.annual_figures(session, args["year"])


@blp.route("/coverage")
class Coverage(MethodView):
    @blp.response(200, CoverageSchema)
    def get(self) -> dict:
        """Per county with a population at risk: target stock per category, what its
        depots hold free, the gap, and the pre-positioning transfer that closes it best."""
        with read_session() as session:
            return check.coverage_report(session, _travel())


# -- inspection and rotation -----------------------------------------------------------------


@blp.route("/rotation")
class Rotation(MethodView):
    @blp.arguments(RotationQuerySchema, location="query")
    @blp.response(200, RotationOverviewSchema)
    def get(self, args: dict) -> dict:
        """Lots due to rotate within their category's window (or past expiry), with the
        suggested action and replacement purchase, and the inspections due, in the depots
        the reader looks after."""
        with read_session() as session:
            return upkeep.overview(session, actor(), depot=args.get("depot"))


@blp.route("/rotation-plans")
class RotationPlans(MethodView):
    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(NewPlanSchema)
    @blp.response(201, RotationPlanSchema)
    @blp.alt_response(200, schema=RotationPlanSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """A rotation plan (轮换计划 LP-…) of every lot due in the depot."""
        plan, status = create(upkeep.draft_plan, headers["idempotency_key"], "编制轮换计划", **body)
        with read_session() as session:
            return upkeep.plan_view(session, actor(), plan.number), status


@blp.route("/rotation-plans/<number>")
class RotationPlanView(MethodView):
    @blp.response(200, RotationPlanSchema)
    def get(self, number: str) -> dict:
        """One plan with its lines."""
        with read_session() as session:
            return upkeep.plan_view(session, actor(), path_text(number, "number", NUMBER))


@blp.route("/rotation-plans/<number>/lines/<int:line>/done")
class LineDone(MethodView):
    @blp.arguments(LineDoneSchema)
    @blp.response(200, RotationPlanSchema)
    def post(self, body: dict, number: str, line: int) -> dict:
        """A keeper of the depot marks a line done, naming the document that did it."""
        number = path_text(number, "number", NUMBER)
        run(lambda uow: upkeep.complete_line(uow, number, line, **body), body["note"] or None)
        with read_session() as session:
            return upkeep.plan_view(session, actor(), number)


@blp.route("/inspections")
class Inspections(MethodView):
    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(InspectionSchema)
    @blp.response(201, InspectionRecordSchema)
    @blp.alt_response(
        200, schema=InspectionRecordSchema, description="Replay of an Idempotency-Key"
    )
    def post(self, headers: dict, body: dict) -> Any:
        """A keeper records an inspection (检测维护) of a category's stock in their depot."""
        row, status = create(upkeep.record_inspection, headers["idempotency_key"], None, **body)
        return {
            "depot": body["depot"],
            "category": body["category"],
            "inspected_on": row.inspected_on,
            "note": row.note,
        }, status


# -- the parameters the bureau edits ---------------------------------------------------------


def _row(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    """The row a write just changed, as its list shows it."""
    return next(row for row in rows if all(row[k] == v for k, v in match.items()))


@blp.route("/standards")
class Standards(MethodView):
    @blp.response(200, StandardRowSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every category's standard: the bureau's where it set one, else the default
        (``is_default``), with the coverage target and the inspection and rotation rhythm."""
        with read_session() as session:
            return parameters.standard_rows(session)


@blp.route("/standards/<category>")
class Standard(MethodView):
    @blp.arguments(StandardInputSchema)
    @blp.response(200, StandardRowSchema)
    def put(self, body: dict, category: str) -> dict[str, Any]:
        """Set a category's standard (dispatchers and admins); the fields not given are
        cleared. Scenarios, coverage and rotation use it from the next question on."""
        category = path_text(category, "category", 32)
        run(lambda uow: services.set_standard(uow, category, **body), "修改战备保障标准")
        with read_session() as session:
            return _row(parameters.standard_rows(session), category=category)


@blp.route("/roads")
class Roads(MethodView):
    @blp.response(200, RoadRowSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The measured roads, depot to county seat and depot to township; a pair not listed
        is estimated (straight line times the detour factor, at the truck speed)."""
        with read_session() as session:
            return parameters.road_rows(session)

    @blp.arguments(RoadInputSchema)
    @blp.response(200, RoadRowSchema)
    def put(self, body: dict) -> dict[str, Any]:
        """Record the road from a depot to exactly one of a county seat or a township
        (dispatchers and admins): a new pair is added, a known one replaced."""
        run(lambda uow: services.set_road(uow, **body), "修改道路里程")
        place = {"county": body["county"]} if body["county"] else {"township": body["township"]}
        with read_session() as session:
            return _row(parameters.road_rows(session), depot=body["depot"], **place)


@blp.route("/population-at-risk")
class Risks(MethodView):
    @blp.response(200, RiskRowSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every active county with its population at risk (null where none is set: such a
        county has no coverage target)."""
        with read_session() as session:
            return parameters.risk_rows(session)


@blp.route("/population-at-risk/<county>")
class Risk(MethodView):
    @blp.arguments(RiskInputSchema)
    @blp.response(200, RiskRowSchema)
    def put(self, body: dict, county: str) -> dict[str, Any]:
        """Set a county's population at risk (受威胁人口; dispatchers and admins)."""
        county = path_text(county, "county", 12)
        people = body["population_at_risk"]
        run(lambda uow: services.set_population_at_risk(uow, county, people), "修改受威胁人口")
        with read_session() as session:
            return _row(parameters.risk_rows(session), county=county)
