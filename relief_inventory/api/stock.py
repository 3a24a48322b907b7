"""Stock balances, documents and the ledger operations over HTTP.

Every operation is one service call in one unit of work; the answer is the resulting
document read back with its moves, by code. Role, depot scope and segregation of duties
are the services' business (auth/policy.py), so the API cannot bypass them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.views import MethodView

from relief_inventory.api.common import (
    create,
    protected_blueprint,
    read_session,
    report_session,
    run,
)
from relief_inventory.funds import services as funds
from relief_inventory.stock import queries
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import DocKind, StockDocument
from relief_inventory.stock.queries import DocumentFilters, StockFilters
from schemas.common import EmptySchema, IdempotencySchema, path_text
from schemas.stock import (
    ArrivalSchema,
    CountSchema,
    DocumentPageSchema,
    DocumentQuerySchema,
    DocumentSchema,
    IssueSchema,
    LotSchema,
    LotStatusSchema,
    ReasonSchema,
    ReceiptSchema,
    RotationSchema,
    ScrapSchema,
    StockPageSchema,
    StockQuerySchema,
    StockSummarySchema,
    TransferSchema,
)

blp = protected_blueprint("stock", __name__, "", "库存余额、单据与出入库操作")

NUMBER = 32  # StockDocument.number


def _detail(number: str) -> dict[str, Any]:
    with read_session() as session:
        return queries.document_detail(session, number)


def _run(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """One stock operation in its own unit of work, answered with the resulting document."""
    number = run(lambda uow: operation(uow, *args, **kwargs).number, kwargs.get("reason") or None)
    return _detail(number)


def _create(
    operation: Callable[..., StockDocument], headers: dict, body: dict
) -> tuple[dict[str, Any], int]:
    """A new document, at most once per ``Idempotency-Key``: 201, or 200 for a replay."""
    key, reason = headers["idempotency_key"], body.get("reason") or None
    document, status = create(operation, key, reason, **body)
    return _detail(document.number), status


def _number(value: str) -> str:
    return path_text(value, "document", NUMBER)


def _approve(number: str, kind: str) -> dict[str, Any]:
    """Approve a draft of the kind the URL names (a count is not approved as a write-off)."""
    return _run(stock.approve, _number(number), kind=kind)


# -- reading -------------------------------------------------------------------------------


@blp.route("/stock")
class Stock(MethodView):
    @blp.arguments(StockQuerySchema, location="query")
    @blp.response(200, StockPageSchema)
    def get(self, args: dict) -> Any:
        """Balances per depot, item, lot and owner: on hand, reserved, available.

        Filters take codes; ``county`` means the depots located in that county. Rows with
        nothing on hand are left out unless ``include_zero=true``.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        with report_session() as session:
            return queries.stock_rows(session, StockFilters(**args), page=page, per_page=per_page)


@blp.route("/stock/summary")
class Summary(MethodView):
    @blp.response(200, StockSummarySchema)
    def get(self) -> dict:
        """Pieces on hand per depot and category, with row and column totals, and how many
        of them are usable, expired, quarantined or damaged today."""
        with report_session() as session:
            summary = queries.stock_summary(session)
        categories = [code for code, _ in summary.categories]
        statuses = list(queries.SUMMARY_STATUSES)
        return {
            "depots": [{"code": c, "name": n} for c, n in summary.depots],
            "categories": [{"code": c, "name": n} for c, n in summary.categories],
            "rows": [
                {
                    "depot": depot,
                    "depot_name": name,
                    "cells": {c: summary.cell(depot, c) for c in categories},
                    "total": summary.depot_total(depot),
                    "by_status": {s: summary.status(s, depot=depot) for s in statuses},
                }
                for depot, name in summary.depots
            ],
            "totals": {
                "categories": {c: summary.category_total(c) for c in categories},
                "total": summary.total,
                "by_status": {s: summary.status(s) for s in statuses},
                "by_category_status": {
                    c: {s: summary.status(s, category=c) for s in statuses} for c in categories
                },
            },
        }


@blp.route("/documents")
class Documents(MethodView):
    @blp.arguments(DocumentQuerySchema, location="query")
    @blp.response(200, DocumentPageSchema)
    def get(self, args: dict) -> Any:
        """Document headers, newest first; filter by kind, state and depot (from or to)."""
        page, per_page = args.pop("page"), args.pop("per_page")
        with report_session() as session:
            return queries.document_rows(
                session, DocumentFilters(**args), page=page, per_page=per_page
            )


@blp.route("/documents/<number>")
class Document(MethodView):
    @blp.response(200, DocumentSchema)
    def get(self, number: str) -> dict:
        """One document with its moves (times in UTC and in Asia/Shanghai)."""
        return _detail(_number(number))


# -- operations ----------------------------------------------------------------------------


@blp.route("/receipts")
class Receipts(MethodView):
    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(ReceiptSchema)
    @blp.response(201, DocumentSchema)
    @blp.alt_response(200, schema=DocumentSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """Receive goods into a depot (its keeper); lots are created from the lines.

        With ``appropriation`` and ``amount`` the receipt is linked, in the same transaction,
        to the relief-fund appropriation that paid for it (refused link, no receipt).
        """
        return _create(funds.receive_purchase, headers, body)


@blp.route("/transfers")
class Transfers(MethodView):
    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(TransferSchema)
    @blp.response(201, DocumentSchema)
    @blp.alt_response(200, schema=DocumentSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """Ship stock to another depot (keeper of the source); it stays in transit."""
        return _create(stock.transfer, headers, body)


@blp.route("/transfers/<number>/complete")
class TransferComplete(MethodView):
    @blp.arguments(ArrivalSchema, required=False)
    @blp.response(200, DocumentSchema)
    def post(self, body: dict, number: str) -> dict:
        """Book a transfer in at the receiving depot (its keeper). ``lines`` name only what
        arrived short or damaged (it goes to VIRT-LOSS, with ``note``)."""
        return _run(stock.complete_transfer, _number(number), **body)


@blp.route("/issues")
class Issues(MethodView):
    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(IssueSchema)
    @blp.response(201, DocumentSchema)
    @blp.alt_response(200, schema=DocumentSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """Issue stock from a depot to a county (keeper of the depot)."""
        return _create(stock.issue, headers, body)


@blp.route("/scraps")
class Scraps(MethodView):
    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(ScrapSchema)
    @blp.response(201, DocumentSchema)
    @blp.alt_response(200, schema=DocumentSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """Propose a write-off (a draft; another keeper of the depot approves it)."""
        return _create(stock.propose_scrap, headers, body)


@blp.route("/scraps/<number>/approve")
class ScrapApprove(MethodView):
    @blp.arguments(EmptySchema, required=False)
    @blp.response(200, DocumentSchema)
    def post(self, _body: dict, number: str) -> dict:
        """Approve a write-off: a keeper of the depot other than the one who entered it."""
        return _approve(number, DocKind.SCRAP)


@blp.route("/counts")
class Counts(MethodView):
    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(CountSchema)
    @blp.response(201, DocumentSchema)
    @blp.alt_response(200, schema=DocumentSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """Record a stock count beside the book quantities (a draft)."""
        return _create(stock.propose_count, headers, body)


@blp.route("/counts/<number>/approve")
class CountApprove(MethodView):
    @blp.arguments(EmptySchema, required=False)
    @blp.response(200, DocumentSchema)
    def post(self, _body: dict, number: str) -> dict:
        """Approve a count (another keeper): the differences are booked."""
        return _approve(number, DocKind.COUNT)


@blp.route("/rotations")
class Rotations(MethodView):
    @blp.arguments(IdempotencySchema, location="headers")
    @blp.arguments(RotationSchema)
    @blp.response(201, DocumentSchema)
    @blp.alt_response(200, schema=DocumentSchema, description="Replay of an Idempotency-Key")
    def post(self, headers: dict, body: dict) -> Any:
        """Rotate stock: named old lots go out and fresh lots come in, as one document."""
        return _create(stock.rotate, headers, body)


@blp.route("/documents/<number>/reverse")
class Reverse(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(201, DocumentSchema)
    def post(self, body: dict, number: str) -> dict:
        """Propose correcting a done or in-transit document: a draft reversal that holds
        the stock it takes back, until a second person approves it."""
        return _run(stock.reverse, _number(number), **body)


@blp.route("/reversals/<number>/approve")
class ReversalApprove(MethodView):
    @blp.arguments(EmptySchema, required=False)
    @blp.response(200, DocumentSchema)
    def post(self, _body: dict, number: str) -> dict:
        """Approve a reversal: a keeper of the depot who neither proposed it nor created or
        validated the original. Its moves are booked; the original reads ``reversed``."""
        return _approve(number, DocKind.REVERSAL)


@blp.route("/documents/<number>/reject")
class Reject(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, DocumentSchema)
    def post(self, body: dict, number: str) -> dict:
        """Reject a draft write-off, count or reversal (the second person, with a reason),
        or refuse a transfer in transit (a keeper of the receiving depot): its goods go
        back to the sending depot."""
        return _run(stock.reject, _number(number), **body)


@blp.route("/documents/<number>/cancel")
class Cancel(MethodView):
    @blp.arguments(ReasonSchema)
    @blp.response(200, DocumentSchema)
    def post(self, body: dict, number: str) -> dict:
        """Withdraw one's own draft (write-off, count, reversal); its holds are released."""
        return _run(stock.cancel, _number(number), **body)


@blp.route("/lots/status")
class LotStatus(MethodView):
    @blp.arguments(LotStatusSchema)
    @blp.response(200, LotSchema)
    def post(self, body: dict) -> dict:
        """Quarantine, mark damaged or expired, or release a lot in your own depots holding
        it (or the one ``depot`` names); the lot elsewhere is untouched."""
        lot = run(lambda uow: stock.set_lot_status(uow, **body), body["reason"])
        with read_session() as session:
            return {
                "item": body["item"],
                "lot": lot.number,
                "production_date": lot.production_date,
                "expiry_date": lot.expiry_date,
                "origin": lot.origin,
                "status": lot.status,
                "depots": queries.lot_statuses(session, lot),
            }
