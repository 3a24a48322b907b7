"""Eight worker processes at once write off and issue the same pieces: draft write-offs hold
their stock while others issue it, and nothing is ever held or issued twice. Each worker is
its own process (spawn) with its own engine on the test database, on PostgreSQL (and on
SQLite, where the write lock serialises them)."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.allocation.check import check_reservations
from relief_inventory.audit.verify import verify
from relief_inventory.auth.actor import Actor
from relief_inventory.db import make_engine
from relief_inventory.errors import InsufficientStock
from relief_inventory.stock import services as stock
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.models import DocState, Lot, Quant, StockDocument
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import Location, LocationKind
from tests.factories import build_world, receive_basic

WORKERS = 8
ATTEMPTS = 6
ON_HAND = 40  # far less than the 8 x 6 attempts of 2-3 pieces ask for
LINE = {"item": "TENT-12", "lot": "T-ZX-1"}


def _worker(db_url: str, actor: Actor, index: int, barrier: Any, results: Any) -> None:
    """Alternate draft write-offs of 3 and issues of 2 from the same lot; report each
    outcome as (kind, quantity, document number or None when refused for lack of stock)."""
    engine = make_engine(db_url)
    outcomes = []
    try:
        with engine.connect():
            pass
        barrier.wait(timeout=120)
        for attempt in range(ATTEMPTS):
            scrap = (attempt + index) % 2 == 0
            quantity = 3 if scrap else 2
            line = {**LINE, "quantity": quantity}
            try:
                with UnitOfWork(engine, actor) as uow:
                    if scrap:
                        number = stock.propose_scrap(
                            uow, depot="ZX", reason="并发报废", lines=[line]
                        ).number
                    else:
                        number = stock.issue(uow, depot="ZX", county="532322", lines=[line]).number
            except InsufficientStock:
                number = None
            outcomes.append(("scrap" if scrap else "issue", quantity, number))
        results.put(outcomes)
    except BaseException as error:  # reported to the parent, which fails the test
        results.put(repr(error))
        barrier.abort()
    finally:
        engine.dispose()


def shelf(engine) -> tuple[int, int]:
    """(on hand, reserved) of the contested lot on the prefecture depot's shelf."""
    with Session(engine) as session:
        on_hand, reserved = session.execute(
            select(Quant.on_hand, Quant.reserved)
            .join(Lot, Lot.id == Quant.lot_id)
            .join(Location, Location.id == Quant.location_id)
            .where(Lot.number == LINE["lot"], Location.kind == LocationKind.INTERNAL)
        ).one()
    return on_hand, reserved


@pytest.fixture
def world(engine):
    return build_world(engine)


def test_concurrent_write_offs_and_issues_never_take_the_same_pieces(world, engine, db_url):
    receive_basic(world, ON_HAND)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(WORKERS), context.Queue()
    actor = world.actors["keeper_zx"]
    processes = [
        context.Process(target=_worker, args=(db_url, actor, n, barrier, results))
        for n in range(WORKERS)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    failures = [o for o in outcomes if isinstance(o, str)]
    assert not failures, failures
    every = [o for worker in outcomes for o in worker]
    held = sum(q for kind, q, number in every if kind == "scrap" and number)
    issued = sum(q for kind, q, number in every if kind == "issue" and number)
    refused = [q for _kind, q, number in every if number is None]
    assert refused, "the stock was meant to run out"
    assert shelf(engine) == (ON_HAND - issued, held)  # exactly the successes, nothing twice
    assert held + issued <= ON_HAND
    assert ON_HAND - issued - held < min(refused)  # refused only when really short
    with Session(engine) as session:
        assert check_quants(session) == []
        assert check_reservations(session) == []
        drafts = list(
            session.scalars(
                select(StockDocument.number).where(StockDocument.state == DocState.DRAFT)
            )
        )
    for number in drafts:  # every held draft can still be approved: its pieces are there
        with world.uow("keeper_zx2") as uow:
            stock.approve(uow, number)
    assert shelf(engine) == (ON_HAND - issued - held, 0)
    with Session(engine) as session:
        assert check_quants(session) == [] and check_reservations(session) == []
        assert verify(session).ok
