"""Crash safety: a worker killed with SIGKILL at the worst moment of a receipt, an
allocation and a fund release — every row and audit entry sent, COMMIT not — leaves the
database consistent and the operation wholly absent; a PostgreSQL connection dropped
mid-transaction is a clear error and half a document never exists."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from relief_inventory.allocation.models import DispatchRequest, Reservation
from relief_inventory.db import open_session
from relief_inventory.funds.models import FundRelease
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import StockDocument
from tests.factories import build_world, file_dispatch_request, receive_basic
from tests.funds_factories import make_appropriation, make_source
from tests.ops_tools import books_balance

PRELUDE = """
import sys
from relief_inventory.ops import crashpoints
crashpoints.install_from_env()
from relief_inventory.auth.services import actor_for, user_by_name
from relief_inventory.db import make_engine, open_session
from relief_inventory.uow import UnitOfWork
engine = make_engine(sys.argv[1])
def as_user(name):
    with open_session(engine) as session:
        return UnitOfWork(engine, actor_for(session, user_by_name(session, name)))
"""

OPERATIONS = {
    "receipt": (
        "stock_move",
        StockDocument,
        """
from relief_inventory.stock import services as stock
with as_user("keeper_zx") as uow:
    stock.receive(uow, depot="ZX", partner="昆明帐篷厂",
                  lines=[{"item": "TENT-12", "lot": "KILL-1", "quantity": 7}])
""",
    ),
    "allocation": (
        "dispatch_reservation",
        Reservation,
        """
from relief_inventory.allocation import requests as dispatch
with as_user("dispatcher") as uow:
    dispatch.approve(uow, sys.argv[2])
""",
    ),
    "fund release": (
        "fund_release",
        FundRelease,
        """
from relief_inventory.funds import services as funds
with as_user("requester_sb") as uow:
    funds.create_release(uow, appropriation=sys.argv[2], purpose="living_aid",
                         amount="1234.56", beneficiaries=3, evidence="花名册", submit=True)
""",
    ),
}


def _count(engine, model) -> int:
    with open_session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _run(db_url: str, code: str, argument: str, crash_at: str | None):
    env = {"PATH": "/usr/bin:/bin", "RELIEF_SCRYPT_N": "1024"}
    if crash_at:
        env["RELIEF_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + code, db_url, argument],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_operations_killed_before_commit_leave_nothing_half_done(engine, db_url) -> None:
    world = build_world(engine)
    receive_basic(world, quantity=50)
    request = file_dispatch_request(world, [{"item": "TENT-12", "quantity": 5}])
    appropriation = make_appropriation(world, make_source(world))
    arguments = {"allocation": request, "fund release": appropriation, "receipt": ""}
    for name, (table, model, code) in OPERATIONS.items():
        before = _count(engine, model)
        killed = _run(db_url, code, arguments[name], crash_at=table)
        assert killed.returncode == -9, (name, killed.stderr[-2000:])
        assert _count(engine, model) == before, name  # not a row of it
        books_balance(db_url)
        done = _run(db_url, code, arguments[name], crash_at=None)  # and it can be done now
        assert done.returncode == 0, (name, done.stderr[-2000:])
        assert _count(engine, model) > before, name
    with open_session(engine) as session:
        assert session.scalar(select(DispatchRequest.state)) == "allocated"
    books_balance(db_url)


def test_a_postgresql_connection_dropped_mid_transaction(engine, db_url) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a dropped server connection is a PostgreSQL matter")
    world = build_world(engine)
    before = _count(engine, StockDocument)
    with pytest.raises(DBAPIError), world.uow("keeper_zx") as uow:
        stock.receive(
            uow,
            depot="ZX",
            partner="昆明帐篷厂",
            lines=[{"item": "TENT-12", "lot": "DROP-1", "quantity": 3}],
        )
        uow.session.flush()
        pid = uow.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert _count(engine, StockDocument) == before
    books_balance(db_url)
    receive_basic(world)  # the pool recovers: the next unit of work succeeds
    assert _count(engine, StockDocument) == before + 1
