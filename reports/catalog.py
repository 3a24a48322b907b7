"""The reports by name, their parameters, and their two formats (PDF and Excel).

``make_report`` is what the API and the command line call; each report function checks
who may read it with its module's own rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor
from relief_inventory.errors import InvalidInput, NotFound
from relief_inventory.timeutil import local_today
from reports import render
from reports.annual import annual_report
from reports.dispatch import dispatch_report
from reports.excel import xlsx_bytes
from reports.expiry import expiry_report
from reports.funds import funds_report
from reports.ledger import stock_ledger
from reports.period import check_year, parse_period
from reports.readiness import coverage_report, scenario_report
from reports.tables import Report

FORMATS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _period(params: dict[str, Any]) -> Any:
    return parse_period(params.get("period") or str(local_today().year))


def _year(params: dict[str, Any]) -> int:
    return check_year(params.get("year") or local_today().year - 1)


BUILDERS: dict[str, Callable[[Session, Actor, dict[str, Any], str], Report]] = {
    "stock": lambda s, a, p, auth: stock_ledger(
        s, a, _period(p), depot=p.get("depot"), authority=auth
    ),
    "expiry": lambda s, a, p, auth: expiry_report(
        s, a, as_of=p.get("as_of"), days=p.get("days") or 180, depot=p.get("depot"), authority=auth
    ),
    "dispatch": lambda s, a, p, auth: dispatch_report(
        s, a, _period(p), county=p.get("county"), authority=auth
    ),
    "funds": lambda s, a, p, auth: funds_report(s, a, _year(p), authority=auth),
    "annual": lambda s, a, p, auth: annual_report(s, a, _year(p), authority=auth),
    "scenario": scenario_report,
    "coverage": coverage_report,
}
NAMES = tuple(BUILDERS)
LABELS = {
    "stock": "库存台账（期初、入库、出库、期末，按仓库和类别）",
    "expiry": "临期预警与轮换",
    "dispatch": "应急调拨时效与缺口",
    "funds": "救灾资金对账（按来源、县市、类别、级别）",
    "annual": "年度工作统计",
    "scenario": "战备情景推演（preset，或 county + relocated + days）",
    "coverage": "救灾物资储备覆盖情况",
}


def make_report(
    session: Session, actor: Actor, name: str, params: dict[str, Any], authority: str
) -> Report:
    builder = BUILDERS.get(name)
    if builder is None:
        raise NotFound(f"报表不存在：{name[:40]}（可选：{'/'.join(NAMES)}）", field="name")
    return builder(session, actor, params, authority)


def render_report(report: Report, fmt: str, printed: str) -> bytes:
    if fmt == "xlsx":
        return xlsx_bytes(report)
    if fmt == "pdf":
        return render.pdf(
            render.html(
                "report.html",
                paper=report_paper(report),
                report=report,
                code=None,
                url=None,
                qr=None,
                printed=printed,
            )
        )
    raise InvalidInput(f"格式须为 {'/'.join(FORMATS)} 之一", field="format")


def report_paper(report: Report) -> dict[str, Any]:
    """What base.html needs of any paper."""
    return {"title": report.title, "number": report.period, "authority": report.authority}


def filename(report: Report, fmt: str, params: dict[str, Any]) -> str:
    suffix = params.get("period") or params.get("year") or params.get("as_of") or date.today()
    return f"{report.title}-{suffix}.{fmt}"
