"""Roles and scopes where they bite: the stock services, on SQLite and PostgreSQL.

Each refusal changes nothing but leaves a ``refused`` security entry in the audit log.
Segregation of duties for stock documents: nobody approves a write-off or a stock count
they entered themselves (dispatch and funds test their own documents).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.auth import services as auth
from relief_inventory.errors import PermissionDenied
from relief_inventory.stock import catalog
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import DocState, StockDocument
from tests.factories import PASSWORD, build_world, file_dispatch_request, receive_basic

TENT = [{"item": "TENT-12", "lot": "T-NEW", "quantity": 5}]


@pytest.fixture
def world(engine):
    return build_world(engine)


def counts(engine) -> tuple[int, int]:
    """(stock documents, audit entries that are not refusals)."""
    with Session(engine) as session:
        documents = session.scalar(select(func.count()).select_from(StockDocument))
        logged = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action != "refused")
        )
    return documents, logged


def refusals(engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "refused")))


@pytest.mark.parametrize("who", ["keeper_sb", "dispatcher", "requester_sb", "finance", "auditor"])
def test_only_the_depots_keeper_or_an_admin_receives_stock(world, engine, who):
    before = counts(engine)
    with pytest.raises(PermissionDenied), world.uow(who) as uow:
        stock.receive(uow, depot="ZX", lines=TENT)
    assert counts(engine) == before
    (refusal,) = refusals(engine)
    assert refusal.actor == who and json.loads(refusal.changes)["code"] == "forbidden"
    for allowed in ("keeper_zx", "admin"):
        with world.uow(allowed) as uow:
            stock.receive(uow, depot="ZX", lines=TENT)


def test_the_auditor_reads_but_never_writes(world, engine):
    receive_basic(world, 10)
    attempts = [
        lambda uow: auth.create_user(uow, "spy", PASSWORD),
        lambda uow: auth.grant_role(uow, "auditor", "admin"),
        lambda uow: catalog.create_category(uow, "SPY", "间谍", 9),
        lambda uow: stock.issue(
            uow, depot="ZX", county="532322", lines=[{"item": "TENT-12", "quantity": 1}]
        ),
        lambda uow: stock.set_lot_status(
            uow, item="TENT-12", lot="T-ZX-1", status="damaged", reason="x"
        ),
    ]
    before = counts(engine)
    for attempt in attempts:
        with pytest.raises(PermissionDenied), world.uow("auditor") as uow:
            attempt(uow)
    assert counts(engine) == before
    assert len(refusals(engine)) == len(attempts)


def test_a_keeper_cannot_move_another_depots_stock(world, engine):
    receive_basic(world, 10, depot="SB")
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        stock.issue(uow, depot="SB", county="532322", lines=[{"item": "TENT-12", "quantity": 1}])
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        stock.transfer(
            uow, from_depot="SB", to_depot="ZX", lines=[{"item": "TENT-12", "quantity": 1}]
        )
    assert len(refusals(engine)) == 2


@pytest.mark.parametrize("kind", ["scrap", "count"])
def test_nobody_approves_the_stock_document_they_entered(world, engine, kind):
    receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        if kind == "scrap":
            draft = stock.propose_scrap(
                uow,
                depot="ZX",
                reason="受潮霉变",
                lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 2}],
            )
        else:
            draft = stock.propose_count(
                uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "T-ZX-1", "counted": 8}]
            )
        number = draft.number
    with pytest.raises(PermissionDenied) as caught, world.uow("keeper_zx") as uow:
        stock.approve(uow, number)
    assert caught.value.message.startswith("职责分离")
    assert "职责分离" in json.loads(refusals(engine)[0].changes)["message"]
    with pytest.raises(PermissionDenied), world.uow("keeper_sb") as uow:
        stock.approve(uow, number)  # another person, but not a keeper of this depot
    with world.uow("keeper_zx2") as uow:
        assert stock.approve(uow, number).state == DocState.DONE


def test_an_admin_may_not_approve_their_own_write_off_either(world, engine):
    receive_basic(world, 10)
    with world.uow("admin") as uow:
        line = {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 1}
        number = stock.propose_scrap(uow, depot="ZX", reason="破损", lines=[line]).number
    with pytest.raises(PermissionDenied), world.uow("admin") as uow:
        stock.approve(uow, number)
    with world.uow("keeper_zx") as uow:
        stock.approve(uow, number)


def test_a_requester_files_only_for_their_own_county(world, engine):
    lines = [{"item": "TENT-12", "quantity": 5}]
    with pytest.raises(PermissionDenied):
        file_dispatch_request(world, lines, county="532327")  # 永仁县, not theirs
    assert refusals(engine)[0].actor == "requester_sb"
    assert file_dispatch_request(world, lines, county="532322")  # 双柏县, their own
    for who in ("keeper_zx", "auditor", "finance"):
        with pytest.raises(PermissionDenied):
            file_dispatch_request(world, lines, county="532322", who=who)
