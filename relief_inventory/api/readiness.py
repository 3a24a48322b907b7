"""Readiness over HTTP: the scenario check, and its plan filed as a draft dispatch request.

The check reads and reserves nothing; filing goes through the dispatch services (roles,
county scope and the request's life are theirs)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from relief_inventory.allocation import queries as dispatch_queries
from relief_inventory.api.common import actor, create, protected_blueprint, read_session
from relief_inventory.readiness import check, services
from relief_inventory.readiness.travel import TravelSettings
from schemas.common import IdempotencySchema
from schemas.dispatch import RequestSchema
from schemas.readiness import ScenarioArgsSchema, ScenarioSchema

blp = protected_blueprint(
    "readiness", __name__, "/readiness", "战备：情景推演（6/12/24/72小时可达物资与缺口）"
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
