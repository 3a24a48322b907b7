"""Reports over HTTP: ``GET /reports/<name>?format=pdf|xlsx&…`` (stock, expiry, dispatch,
funds, annual). Each report applies its module's read rule; each export is logged."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app
from flask.views import MethodView

from relief_inventory.api.common import actor, engine, protected_blueprint, report_engine
from relief_inventory.errors import NotFound
from relief_inventory.readiness.presets import NAMES as PRESET_NAMES
from reports.catalog import FORMATS, LABELS, NAMES, filename
from reports.exports import export_report
from schemas.common import Code, Day, QueryInt, QuerySchema, Text
from schemas.funds import YearQuery

blp = protected_blueprint(
    "reports", __name__, "/reports", "报表：库存台账、临期、调拨、资金对账、年度统计（PDF/Excel）"
)


class ReportQuerySchema(QuerySchema):
    format = Text(8, choices=tuple(FORMATS), load_default="pdf")
    period = Text(40, load_default=None)
    year = YearQuery()
    depot = Code(required=False)
    county = Code(required=False)
    as_of = Day(load_default=None)
    days = QueryInt(minimum=1, maximum=3650, message="须在 1–3650 之间", load_default=None)
    preset = Text(32, choices=PRESET_NAMES, load_default=None)
    relocated = QueryInt(
        minimum=1, maximum=10_000_000, message="须在 1–10000000 之间", load_default=None
    )


@blp.route("/<name>")
class ReportFile(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.doc(
        parameters=[
            {
                "in": "path",
                "name": "name",
                "required": True,
                "schema": {"type": "string", "enum": list(NAMES)},
                "description": "；".join(f"{k}：{v}" for k, v in LABELS.items()),
            }
        ],
        responses={
            "200": {
                "description": "PDF or Excel",
                "content": {
                    m: {"schema": {"type": "string", "format": "binary"}} for m in FORMATS.values()
                },
            }
        },
    )
    def get(self, args: dict, name: str) -> Response:
        """A report as PDF (A4) or Excel: period ``2024``/``2024-06``/``2024-Q2``/
        ``2024-03-01..2024-05-31`` for stock and dispatch, ``year`` for funds and annual,
        ``as_of`` and ``days`` for expiry; ``depot``/``county`` narrow some of them."""
        if name not in NAMES:
            raise NotFound(f"报表不存在：{name[:40]}", field="name")
        fmt = args.pop("format")
        params = {k: v for k, v in args.items() if v not in (None, "")}
        settings = current_app.config["RELIEF_SETTINGS"]
        report, data = export_report(
            engine(), actor(), name, params, fmt, settings.authority, read_engine=report_engine()
        )
        return Response(
            data,
            mimetype=FORMATS[fmt],
            headers={
                "Content-Disposition": (
                    f"attachment; filename*=UTF-8''{quote(filename(report, fmt, params))}"
                ),
                "Cache-Control": "no-store",
            },
        )
