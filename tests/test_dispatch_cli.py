"""``relief dispatch list|show|overdue`` on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation import requests as dispatch
from relief_inventory.audit.models import AuditEntry
from relief_inventory.cli import main
from relief_inventory.stock import services as stock
from relief_inventory.timeutil import utcnow
from tests.factories import build_world, file_dispatch_request


@pytest.fixture
def world(engine):
    world = build_world(engine)
    with world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="SB", lines=[{"item": "TENT-12", "lot": "T-SB", "quantity": 30}])
    return world


def relief(db_url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": db_url})


def overdue_entries(engine) -> int:
    with Session(engine) as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "countersign_overdue")
        )


def test_overdue_countersignatures_are_listed_and_logged_once(world, engine, db_url):
    number = file_dispatch_request(world, [{"item": "TENT-12", "quantity": 10}], urgency="critical")
    with world.uow("dispatcher") as uow:  # approved 30 hours ago under an emergency response
        dispatch.approve(
            uow, number, emergency_response="州启动Ⅳ级响应", at=utcnow() - timedelta(hours=30)
        )
    first = relief(db_url, "dispatch", "overdue")
    assert first.exit_code == 1 and number in first.output and "本次记入审计日志" in first.output
    again = relief(db_url, "dispatch", "overdue")
    assert again.exit_code == 1 and "本次记入审计日志" not in again.output
    assert overdue_entries(engine) == 1
    listed = relief(db_url, "dispatch", "list", "--overdue")
    assert listed.exit_code == 0 and number in listed.output and "超时未补签" in listed.output
    shown = relief(db_url, "dispatch", "show", number)
    assert shown.exit_code == 0 and "T-SB" in shown.output and "FY-" in shown.output
    with world.uow("dispatcher2") as uow:
        dispatch.countersign(uow, number)
    done = relief(db_url, "dispatch", "overdue")
    assert done.exit_code == 0 and "没有超时未补签" in done.output


def test_list_filters_and_unknown_numbers(world, db_url):
    number = file_dispatch_request(world, [{"item": "TENT-12", "quantity": 5}])
    listed = relief(db_url, "dispatch", "list", "--state", "submitted", "--county", "532322")
    assert listed.exit_code == 0 and number in listed.output and "共 1 份" in listed.output
    assert "共 0 份" in relief(db_url, "dispatch", "list", "--state", "closed").output
    missing = relief(db_url, "dispatch", "show", "DB-2020-000001")
    assert missing.exit_code == 2 and "不存在" in missing.output
