"""Emergency dispatch requests: list them, show one, and chase overdue countersignatures."""

from __future__ import annotations

import sys
from typing import Any

import click

from relief_inventory.allocation import queries
from relief_inventory.allocation.common import request_by_number
from relief_inventory.allocation.models import RequestState
from relief_inventory.allocation.requests import flag_overdue_countersignatures
from relief_inventory.auth.services import system_actor
from relief_inventory.cli import DomainAwareGroup, admin_run, current_engine, main
from relief_inventory.db import open_session
from relief_inventory.timeutil import format_local


@main.group(cls=DomainAwareGroup)
def dispatch() -> None:
    """Emergency dispatch requests (应急调拨申请)."""


def _line_summary(view: dict[str, Any]) -> str:
    return "；".join(
        f"{line['item_name']}{line['quantity']}{line['unit']}"
        + (f"（缺{line['shortage']}）" if line["shortage"] else "")
        for line in view["lines"]
    )


@dispatch.command("list")
@click.option("--state", type=click.Choice(RequestState.ALL), default=None)
@click.option("--county", default=None, help="County code, e.g. 532322.")
@click.option("--overdue", is_flag=True, help="Only emergencies whose countersignature is late.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
def dispatch_list(state: str | None, county: str | None, overdue: bool, limit: int) -> None:
    """Requests, newest first: number, county, urgency, state, filed at, lines."""
    engine = current_engine()
    actor = system_actor(engine)
    with open_session(engine) as session:
        page = queries.list_requests(
            session, actor, state=state, county=county, overdue=overdue, per_page=limit
        )
    for view in page.results:
        flag = "  ⚠ 超时未补签" if view["countersign_overdue"] else ""
        click.echo(
            f"{view['number']}  {view['county_name']:<6} {view['urgency_label']}  "
            f"{view['state_label']:<4} {format_local(view['created_at'])}  "
            f"{_line_summary(view)}{flag}"
        )
    click.echo(f"共 {page.total} 份")


@dispatch.command("show")
@click.argument("number")
def dispatch_show(number: str) -> None:
    """One request: lines, picks (depot, lot, owner), dispatch documents, time stamps."""
    engine = current_engine()
    actor = system_actor(engine)
    with open_session(engine) as session:
        view = queries.request_view(session, actor, request_by_number(session, number))
    click.echo(
        f"{view['number']}  {view['county_name']}（{view['county']}）  "
        f"{view['disaster_label']}  {view['urgency_label']}  受灾 {view['people_affected']} 人"
    )
    click.echo(
        f"状态：{view['state_label']}  申请人：{view['requester']}  审批：{view['approver']}"
    )
    if view["emergency"]:
        signed = view["countersigner"] or (
            "超时未补签" if view["countersign_overdue"] else "待补签"
        )
        click.echo(
            f"应急先行调拨：{view['emergency_response']}；补签期限 "
            f"{format_local(view['countersign_due_at'])}；补签：{signed}"
        )
    for line in view["lines"]:
        click.echo(
            f"  {line['item']} {line['item_name']}：申请 {line['quantity']}，分配 "
            f"{line['allocated']}，缺口 {line['shortage']}，发运 {line['dispatched']}，"
            f"实收 {line['received']}，短少 {line['short']}，损坏 {line['damaged']}"
        )
    for pick in view["picks"]:
        click.echo(
            f"    {pick['depot']} 批次 {pick['lot']} 权属 {pick['owner']} × {pick['quantity']}"
            f"  {pick['state']}  {pick['document'] or ''}"
        )
    for stamp in queries.STAMPS:
        if view[stamp]:
            click.echo(f"  {stamp:<14} {format_local(view[stamp])}")


@dispatch.command("overdue")
@click.option(
    "--flag/--no-flag",
    default=True,
    show_default=True,
    help="Log each newly overdue countersignature in the audit log (once per request).",
)
def dispatch_overdue(flag: bool) -> None:
    """Emergency dispatches not countersigned in time (先调拨、后补手续); exit 1 if any.

    Run it from cron: each newly overdue request is logged once in the audit log.
    """
    if flag:
        flagged = admin_run(flag_overdue_countersignatures, "应急调拨补签超时检查")
        newly = {request.number for request in flagged}
    else:
        newly = set()
    with open_session(current_engine()) as session:
        overdue = queries.overdue_countersignatures(session)
        for request in overdue:
            mark = "（本次记入审计日志）" if request.number in newly else ""
            click.echo(
                f"{request.number}  补签期限 {format_local(request.countersign_due_at)}  "
                f"应急响应：{request.emergency_response}{mark}"
            )
    if not overdue:
        click.echo("没有超时未补签的应急调拨")
        return
    sys.exit(1)
