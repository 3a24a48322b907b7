"""Emergency dispatch requests over HTTP: file, approve, allocate, dispatch, receive, close.

Each transition is one service call in one unit of work, answered with the request read
back (lines, picks, dispatch documents, time stamps). Roles, county and depot scope and
segregation of duties are the services' business, so the API cannot bypass them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask.views import MethodView

from relief_inventory.allocation import queries, shipping
from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation.common import request_by_number
from relief_inventory.api.common import (
    actor,
    create,
    protected_blueprint,
    read_session,
    report_session,
    run,
)
from relief_inventory.stock.queries import document_detail
from schemas.common import EmptySchema, IdempotencySchema
from schemas.dispatch import (
    AllocateSchema,
    ApproveSchema,
    DispatchSchema,
    NewRequestSchema,
    NoteSchema,
    ReceiveSchema,
    RequestPageSchema,
    RequestQuerySchema,
    RequestSchema,
    ReturnSchema,
)
from schemas.stock import DocumentSchema, ReasonSchema

blp = protected_blueprint(
    "dispatch", __name__, "/dispatch-requests", "应急调拨申请：审批、分配、发运、签收、回收"
)


def _view(number: str) -> dict[str, Any]:
    with read_session() as session:
        return queries.request_view(session, actor(), request_by_number(session, number))


def _act(service: Callable[..., Any], number: str, **kwargs: Any) -> dict[str, Any]:
    """One transition in its own unit of work, answered with the request read back."""
    run(lambda uow: service(uow, number, **kwargs), kwargs.get("reason") or kwargs.get("note"))
    return _view(number)


@blp.route("")
class Requests(MethodView):
    @blp.arguments(RequestQuerySchema, location="query")
    @blp.response(200, RequestPageSchema)
    def get(self, args: dict) -> Any:
        """Requests, newest first; filter by state, county code, overdue countersignature.

        Requesters see their own county's requests, keepers those their depots serve.
        """
        with report_session() as session:
            return queries.list_requests(session, actor(), **args)

    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(NewRequestSchema)
    @blp.response(201, RequestSchema)
    @blp.alt_response(200, schema=RequestSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """File a dispatch request (a draft, or submitted with ``submit: true``).

        With an ``Idempotency-Key`` header a retry returns the request the first call
        filed, with 200 instead of 201, and never files a second one.
        """
        request, status = create(
            dispatch.file_request, headers["idempotency_key"], body["reason"] or None, **body
        )
        return _view(request.number), status


@blp.route("/<number>")
class Request(MethodView):
    @blp.response(200, RequestSchema)
    def get(self, number: str) -> dict:
        """One request with its lines, picks, dispatch documents and time stamps."""
        return _view(number)


@blp.route("/<number>/submit")
class Submit(MethodView):
    @blp.arguments(EmptySchema, required=False)
    @blp.response(200, RequestSchema)
    def post(self, _body: dict, number: str) -> dict:
        """Submit a draft (a requester of the county)."""
        return _act(dispatch.submit, number)


@blp.route("/<number>/approve")
class Approve(MethodView):
    @blp.arguments(ApproveSchema, required=False)
    @blp.response(200, RequestSchema)
    def post(self, body: dict, number: str) -> dict:
        """Approve (a dispatcher other than the requester); allocates at once unless
        ``allocate: false``. With ``emergency_response`` a 特急 request is also dispatched
        at once and must be countersigned within RELIEF_COUNTERSIGN_HOURS."""
        hours = current_app.config["RELIEF_SETTINGS"].countersign_hours
        return _act(dispatch.approve, number, countersign_hours=hours, **body)


@blp.route("/<number>/reject")
class Reject(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, RequestSchema)
    def post(self, body: dict, number: str) -> dict:
        """Reject a submitted request, with the reason (a dispatcher)."""
        return _act(dispatch.reject, number, **body)


@blp.route("/<number>/cancel")
class Cancel(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, RequestSchema)
    def post(self, body: dict, number: str) -> dict:
        """Cancel: requesters before approval, dispatchers until goods leave (reservations
        are released)."""
        return _act(dispatch.cancel, number, **body)


@blp.route("/<number>/allocate")
class Allocate(MethodView):
    @blp.arguments(AllocateSchema, required=False)
    @blp.response(200, RequestSchema)
    def post(self, body: dict, number: str) -> dict:
        """Reserve stock for an approved request, or top up an allocated one's shortage."""
        return _act(dispatch.allocate, number, **body)


@blp.route("/<number>/dispatch")
class Dispatch(MethodView):
    @blp.arguments(DispatchSchema, required=False)
    @blp.response(200, RequestSchema)
    def post(self, body: dict, number: str) -> dict:
        """Ship the picks of the keeper's depot (one in-transit dispatch document per
        depot); the request is dispatched once every pick has left."""
        return _act(shipping.dispatch, number, **body)


@blp.route("/<number>/receive")
class Receive(MethodView):
    @blp.arguments(ReceiveSchema)
    @blp.response(200, RequestSchema)
    def post(self, body: dict, number: str) -> dict:
        """The county confirms per item what arrived and what was damaged; the rest is
        short. Differences are written off from transit with the note."""
        return _act(shipping.receive, number, **body)


@blp.route("/<number>/countersign")
class Countersign(MethodView):
    @blp.arguments(NoteSchema, required=False)
    @blp.response(200, RequestSchema)
    def post(self, body: dict, number: str) -> dict:
        """A second dispatcher countersigns an emergency dispatch (补签)."""
        return _act(dispatch.countersign, number, **body)


@blp.route("/<number>/close")
class Close(MethodView):
    @blp.arguments(NoteSchema, required=False)
    @blp.response(200, RequestSchema)
    def post(self, body: dict, number: str) -> dict:
        """Close a received request (a dispatcher; emergencies must be countersigned)."""
        return _act(dispatch.close, number, **body)


@blp.route("/<number>/return")
class Return(MethodView):
    @blp.arguments(ReturnSchema)
    @blp.response(201, DocumentSchema)
    def post(self, body: dict, number: str) -> dict:
        """Book reusable goods back in (回收), inspected into available, damaged or scrap
        (a keeper of the receiving depot). Answers with the return document."""
        document = run(lambda uow: shipping.return_goods(uow, number, **body), body["note"] or None)
        with read_session() as session:
            return document_detail(session, document.number)
