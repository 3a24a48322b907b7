"""One export of a report: read it with the reader's scope, log it, render it.

The reading happens inside a unit of work so that a refusal is a logged security event and
a successful export leaves an audit entry (``print``, kind ``report``) naming the report
and its parameters; rendering happens after the commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from relief_inventory.auth.actor import Actor
from relief_inventory.db import open_session
from relief_inventory.timeutil import format_local, utcnow
from relief_inventory.uow import UnitOfWork
from reports.catalog import make_report, render_report
from reports.tables import Report
from reports.verify import PRINT_ACTION, PRINT_ENTITY


def export_report(
    engine: Engine,
    actor: Actor,
    name: str,
    params: dict[str, Any],
    fmt: str,
    authority: str,
    read_engine: Engine | None = None,
) -> tuple[Report, bytes]:
    """``read_engine``: a streaming standby to read the figures from (RELIEF_REPLICA_URL);
    the audit entry is still written on the primary, in the unit of work around the read."""
    with UnitOfWork(engine, actor, reason="导出报表") as uow:
        if read_engine is None or read_engine is engine:
            report = make_report(uow.session, actor, name, params, authority)
        else:
            with open_session(read_engine) as session:
                report = make_report(session, actor, name, params, authority)
        shown = {k: str(v) for k, v in params.items() if v is not None}
        uow.record(
            PRINT_ACTION,
            PRINT_ENTITY,
            f"report:{name}",
            {"kind": "report", "format": fmt, "params": shown},
        )
    return report, render_report(report, fmt, f"{format_local(utcnow())} {actor.username}")
