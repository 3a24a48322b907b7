"""Relief funds over HTTP: sources, appropriations, the release workflow, reversals, the
reconciliation summary and the trace from money to materials.

Each write is one service call in one unit of work, answered with the document read back.
Roles, county scope and segregation of duties are the services' business (auth/policy.py),
so the API cannot bypass them; reads are scoped the same way (funds/queries.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.views import MethodView

from relief_inventory.api.common import (
    actor,
    create,
    protected_blueprint,
    read_session,
    report_session,
    run,
)
from relief_inventory.funds import queries
from relief_inventory.funds import services as funds
from relief_inventory.funds.reconcile import reconcile
from schemas.common import EmptySchema, IdempotencySchema, PageArgsSchema, path_text
from schemas.funds import (
    AppropriationCreateSchema,
    AppropriationPageSchema,
    AppropriationQuerySchema,
    AppropriationSchema,
    AppropriationTraceSchema,
    LotQuerySchema,
    LotTraceSchema,
    PaySchema,
    ReleaseCreateSchema,
    ReleasePageSchema,
    ReleaseQuerySchema,
    ReleaseSchema,
    ReversalPageSchema,
    ReversalSchema,
    SourceCreateSchema,
    SourcePageSchema,
    SourceQuerySchema,
    SourceSchema,
    SummarySchema,
    VerifySchema,
    YearQuerySchema,
)
from schemas.stock import ReasonSchema

blp = protected_blueprint(
    "funds", __name__, "/funds", "救灾资金：来源、下达、拨付审核、冲销、对账与追溯"
)

NUMBER = 32


def _number(value: str) -> str:
    return path_text(value, "number", NUMBER)


def _paging(args: dict[str, Any]) -> dict[str, int]:
    return {"page": args.pop("page"), "per_page": args.pop("per_page")}


def _read(query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with read_session() as session:
        return query(session, actor(), *args, **kwargs)


def _list(query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A list or summary: may come from the hot standby (``report_session``)."""
    with report_session() as session:
        return query(session, actor(), *args, **kwargs)


def _release(number: str) -> dict[str, Any]:
    return _read(queries.release_detail, number)


def _act(service: Callable[..., Any], number: str, **kwargs: Any) -> dict[str, Any]:
    """One release transition in its own unit of work, answered with the release."""
    number = _number(number)
    run(lambda uow: service(uow, number, **kwargs), kwargs.get("reason") or kwargs.get("note"))
    return _release(number)


def _reverse(service: Callable[..., Any], number: str, reason: str) -> dict[str, Any]:
    reversal = run(lambda uow: service(uow, _number(number), reason=reason).number, reason)
    return _read(queries.reversal_detail, reversal)


# -- sources -------------------------------------------------------------------------------


@blp.route("/sources")
class Sources(MethodView):
    @blp.arguments(SourceQuerySchema, location="query")
    @blp.response(200, SourcePageSchema)
    def get(self, args: dict) -> Any:
        """Fund sources with what has been appropriated from each (finance, audit, admin)."""
        paging = _paging(args)
        return _list(queries.source_rows, queries.SourceFilters(**args), **paging)

    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(SourceCreateSchema)
    @blp.response(201, SourceSchema)
    @blp.alt_response(200, schema=SourceSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """Book money received from a level of government under its document (finance).
        Honours ``Idempotency-Key`` (a replay answers 200 with the first source)."""
        source, status = create(
            funds.create_source, headers["idempotency_key"], "登记资金来源", **body
        )
        return _read(queries.source_detail, source.number), status


@blp.route("/sources/<number>")
class Source(MethodView):
    @blp.response(200, SourceSchema)
    def get(self, number: str) -> Any:
        return _read(queries.source_detail, _number(number))


@blp.route("/sources/<number>/reverse")
class SourceReverse(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(201, ReversalSchema)
    def post(self, body: dict, number: str) -> Any:
        """Reverse a wrongly booked source (its appropriations must be reversed first)."""
        return _reverse(funds.reverse_source, number, body["reason"])


# -- appropriations ------------------------------------------------------------------------


@blp.route("/appropriations")
class Appropriations(MethodView):
    @blp.arguments(AppropriationQuerySchema, location="query")
    @blp.response(200, AppropriationPageSchema)
    def get(self, args: dict) -> Any:
        """Appropriations to counties; requesters see their own county's only."""
        paging = _paging(args)
        return _list(queries.appropriation_rows, queries.AppropriationFilters(**args), **paging)

    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(AppropriationCreateSchema)
    @blp.response(201, AppropriationSchema)
    @blp.alt_response(200, schema=AppropriationSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """Issue part of a source to a county; never more than the source has left.
        Honours ``Idempotency-Key`` (a replay answers 200 with the first appropriation)."""
        made, status = create(funds.appropriate, headers["idempotency_key"], "资金下达", **body)
        return _read(queries.appropriation_detail, made.number), status


@blp.route("/appropriations/<number>")
class AppropriationOne(MethodView):
    @blp.response(200, AppropriationSchema)
    def get(self, number: str) -> Any:
        return _read(queries.appropriation_detail, _number(number))


@blp.route("/appropriations/<number>/reverse")
class AppropriationReverse(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(201, ReversalSchema)
    def post(self, body: dict, number: str) -> Any:
        """Reverse an appropriation nothing has been approved or paid from."""
        return _reverse(funds.reverse_appropriation, number, body["reason"])


@blp.route("/appropriations/<number>/trace")
class AppropriationTrace(MethodView):
    @blp.response(200, AppropriationTraceSchema)
    def get(self, number: str) -> Any:
        """Forward: the receipts this money paid for, their lots, the counties they reached."""
        return _read(queries.trace_appropriation, _number(number))


# -- releases ------------------------------------------------------------------------------


@blp.route("/releases")
class Releases(MethodView):
    @blp.arguments(ReleaseQuerySchema, location="query")
    @blp.response(200, ReleasePageSchema)
    def get(self, args: dict) -> Any:
        """Releases, newest first. ``waiting=true``: what awaits my next step (finance:
        requests of others to verify, approve or pay). Requesters see their county's."""
        paging = _paging(args)
        return _list(queries.release_rows, queries.ReleaseFilters(**args), **paging)

    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(ReleaseCreateSchema)
    @blp.response(201, ReleaseSchema)
    @blp.alt_response(200, schema=ReleaseSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """File a release request (a draft, or submitted with ``submit: true``).

        With an ``Idempotency-Key`` header a retry returns the release the first call
        filed, with 200 instead of 201, and never files a second one.
        """
        release, status = create(funds.create_release, headers["idempotency_key"], None, **body)
        return _release(release.number), status


@blp.route("/releases/<number>")
class Release(MethodView):
    @blp.response(200, ReleaseSchema)
    def get(self, number: str) -> Any:
        return _release(_number(number))


@blp.route("/releases/<number>/submit")
class Submit(MethodView):
    @blp.arguments(EmptySchema, required=False)
    @blp.response(200, ReleaseSchema)
    def post(self, _body: dict, number: str) -> Any:
        """Submit a draft to finance (a requester of the county)."""
        return _act(funds.submit, number)


@blp.route("/releases/<number>/verify")
class Verify(MethodView):
    @blp.arguments(VerifySchema, required=False)
    @blp.response(200, ReleaseSchema)
    def post(self, body: dict, number: str) -> Any:
        """Finance has checked the supporting data (not the requester)."""
        return _act(funds.verify, number, **body)


@blp.route("/releases/<number>/approve")
class Approve(MethodView):
    @blp.arguments(EmptySchema, required=False)
    @blp.response(200, ReleaseSchema)
    def post(self, _body: dict, number: str) -> Any:
        """Approve: a third person, neither requester nor verifier. Refused (409) when the
        appropriation has not enough left."""
        return _act(funds.approve, number)


@blp.route("/releases/<number>/release")
class Pay(MethodView):
    @blp.arguments(PaySchema, required=False)
    @blp.response(200, ReleaseSchema)
    def post(self, body: dict, number: str) -> Any:
        """Pay out an approved release (finance, not the requester)."""
        return _act(funds.pay, number, **body)


@blp.route("/releases/<number>/reject")
class Reject(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, ReleaseSchema)
    def post(self, body: dict, number: str) -> Any:
        """Send back with a reason (finance; the author may withdraw a draft)."""
        return _act(funds.reject, number, **body)


@blp.route("/releases/<number>/reverse")
class ReleaseReverse(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(201, ReversalSchema)
    def post(self, body: dict, number: str) -> Any:
        """Propose reversing a paid release (冲销); it takes effect once a second person
        approves it (``/reversals/<number>/approve``); the original stays, marked by it."""
        return _reverse(funds.reverse_release, number, body["reason"])


# -- reversals, summary, trace -------------------------------------------------------------


@blp.route("/reversals")
class Reversals(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ReversalPageSchema)
    def get(self, args: dict) -> Any:
        """Reversal documents (冲销单) with what each reversed."""
        return _read(queries.reversal_rows, **args)


@blp.route("/reversals/<number>")
class Reversal(MethodView):
    @blp.response(200, ReversalSchema)
    def get(self, number: str) -> Any:
        return _read(queries.reversal_detail, _number(number))


@blp.route("/reversals/<number>/approve")
class ReversalApprove(MethodView):
    @blp.arguments(EmptySchema, required=False)
    @blp.response(200, ReversalSchema)
    def post(self, _body: dict, number: str) -> Any:
        """A second person makes a proposed reversal take effect (finance: neither its
        proposer, nor the original's creator, nor the payer of a release)."""
        number = _number(number)
        run(lambda uow: funds.approve_reversal(uow, number), "冲销审批")
        return _read(queries.reversal_detail, number)


@blp.route("/reversals/<number>/reject")
class ReversalReject(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, ReversalSchema)
    def post(self, body: dict, number: str) -> Any:
        """Turn a proposed reversal down (or withdraw one's own), with a reason."""
        number = _number(number)
        run(lambda uow: funds.reject_reversal(uow, number, **body), body["reason"])
        return _read(queries.reversal_detail, number)


@blp.route("/summary")
class Summary(MethodView):
    @blp.arguments(YearQuerySchema, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args: dict) -> Any:
        """Reconciliation per source, county, kind and level: amount, appropriated,
        approved-unpaid, released, balance and people reached, with the tie-out result."""
        with report_session() as session:
            queries.require_reader(actor())
            result = reconcile(session, args["year"])
        rows = {name: [r.as_dict() for r in rs] for name, rs in result.groupings().items()}
        return {
            "year": result.year,
            "ok": result.ok,
            "problems": result.problems,
            "total": result.total.as_dict(),
            **{f"by_{name}": value for name, value in rows.items()},
        }


@blp.route("/trace")
class Trace(MethodView):
    @blp.arguments(LotQuerySchema, location="query")
    @blp.response(200, LotTraceSchema)
    def get(self, args: dict) -> Any:
        """Backward: a lot (e.g. of tents) -> its receipts -> appropriation -> source."""
        return _read(queries.trace_lot, args["item"], args["lot"])
