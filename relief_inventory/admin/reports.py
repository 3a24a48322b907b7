"""报表: the bureau's reports (stock ledger, expiry, dispatch, funds, annual) as PDF or
Excel, from the same builders, read rules and audit entry as ``GET /api/v1/reports/…``
(``reports.exports.export_report``). A POST with the CSRF token, since every export is
logged."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, current_app, flash, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from relief_inventory.admin.base import OfficeView, engine
from relief_inventory.admin.labels import options
from relief_inventory.admin.login import current_actor
from relief_inventory.errors import DomainError, InvalidInput
from relief_inventory.inputs import date_text
from reports.catalog import FORMATS, LABELS, filename
from reports.exports import export_report

TEXT_FIELDS = ("period", "depot", "county")


def _params(form: Any) -> dict[str, Any]:
    """The form's values as the report builders take them (the API's query types)."""
    params: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            params[name] = value[:40]
    for name in ("year", "days"):
        value = (form.get(name) or "").strip()
        if value:
            if not (value.isascii() and value.isdigit() and len(value) <= 4):
                raise InvalidInput(_l("须为不带符号的十进制整数"), field=name)
            params[name] = int(value)
    as_of = (form.get("as_of") or "").strip()
    if as_of:
        day = date_text(as_of)
        if day is None:
            raise InvalidInput(_l("日期格式须为 YYYY-MM-DD"), field="as_of")
        params["as_of"] = day
    return params


class ReportsView(OfficeView):
    @expose("/", methods=("GET", "POST"))
    def index(self):  # type: ignore[no-untyped-def]
        if request.method == "POST":
            name = request.form.get("report", "")
            fmt = request.form.get("format", "pdf")
            if name in LABELS and fmt in FORMATS:
                try:
                    params = _params(request.form)
                    settings = current_app.config["RELIEF_SETTINGS"]
                    report, data = export_report(
                        engine(), current_actor(), name, params, fmt, settings.authority
                    )
                except DomainError as error:
                    field = f"（{error.field}）" if error.field else ""
                    flash(f"{error.message}{field}", "error")
                else:
                    disposition = (
                        f"attachment; filename*=UTF-8''{quote(filename(report, fmt, params))}"
                    )
                    return Response(
                        data,
                        mimetype=FORMATS[fmt],
                        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
                    )
            else:
                flash(_("请选择报表和格式"), "error")
        return self.render("backoffice/reports.html", reports=options(LABELS))
