"""Printed documents as PDF: allocation orders, stock notes, fund release notices and the
blank stock-count sheet.

Each route prints exactly what its record's own read route lets the caller see (the scope
checks are the modules', applied by ``reports.papers``), and every print is logged in the
audit chain. The PDF carries a QR code that opens ``/verify/<code>``.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app
from flask.views import MethodView

from relief_inventory.api.common import actor, engine, protected_blueprint
from relief_inventory.errors import NotFound
from reports.papers import PaperKind, kind_of_number
from reports.printing import PrintOptions, print_count_sheet, print_document
from schemas.common import path_text

blp = protected_blueprint("printing", __name__, "", "打印：调拨单、库存单据、资金拨付通知（PDF）")

NUMBER = 32
PDF_RESPONSE = {
    "responses": {
        "200": {
            "description": "PDF（A4，含核验二维码）",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


def pdf_response(data: bytes, filename: str) -> Response:
    """Inline, so a browser's print button shows the paper; named for saving."""
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


def _print(number: str, kind: str, what: str) -> Response:
    number = path_text(number, "number", NUMBER)
    if kind_of_number(number) != kind:
        raise NotFound(f"{what}不存在：{number}", field="number")
    options = PrintOptions.from_settings(current_app.config["RELIEF_SETTINGS"])
    return pdf_response(print_document(engine(), actor(), number, options), f"{number}.pdf")


@blp.route("/dispatch-requests/<number>/pdf")
class AllocationOrderPdf(MethodView):
    @blp.doc(**PDF_RESPONSE)
    def get(self, number: str) -> Response:
        """救灾物资调拨单 of an allocated (or dispatched, received, closed) request, per depot
        its lots, values and the total in capitals. Requesters print their county's only."""
        return _print(number, PaperKind.ALLOCATION_ORDER, "调拨申请")


@blp.route("/documents/<number>/pdf")
class StockNotePdf(MethodView):
    @blp.doc(**PDF_RESPONSE)
    def get(self, number: str) -> Response:
        """The note of a stock document: 入库单, 出库单 (issues and per-depot dispatches),
        库间调拨单, 报损报废记录, 盘点表 (book and counted), 轮换单, 回收单, 冲销单."""
        return _print(number, PaperKind.STOCK_NOTE, "单据")


@blp.route("/funds/releases/<number>/pdf")
class ReleaseNoticePdf(MethodView):
    @blp.doc(**PDF_RESPONSE)
    def get(self, number: str) -> Response:
        """资金拨付通知 of an approved or paid release (GB/T 9704 layout, with the attached
        审核表 carrying the three signatures). Requesters print their county's only."""
        return _print(number, PaperKind.RELEASE_NOTICE, "资金拨付申请")


@blp.route("/depots/<code>/count-sheet/pdf")
class CountSheetPdf(MethodView):
    @blp.doc(**PDF_RESPONSE)
    def get(self, code: str) -> Response:
        """A blank 盘点表 of a depot: book quantities per item, lot and owner, with empty
        columns for the count. Logged as a print; it carries no QR code."""
        code = path_text(code, "depot", NUMBER)
        options = PrintOptions.from_settings(current_app.config["RELIEF_SETTINGS"])
        data = print_count_sheet(engine(), actor(), code, options)
        return pdf_response(data, f"盘点表-{code}.pdf")
