"""Eight worker processes at once: retries of one filing with the same Idempotency-Key file
one request; then, as dispatchers allocating against scarce stock, they never reserve more
than is on hand and never lose a request. Each worker is its own process (spawn) with its own
engine on the test database, on PostgreSQL (and on SQLite, where the write lock serialises
them).
"""

from __future__ import annotations

import multiprocessing
from collections import defaultdict
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation.check import check_reservations
from relief_inventory.allocation.models import DispatchLine, DispatchRequest, Reservation
from relief_inventory.audit.verify import verify
from relief_inventory.auth.actor import Actor
from relief_inventory.cli import main
from relief_inventory.db import make_engine
from relief_inventory.stock import services as stock
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.models import Owner, Quant
from relief_inventory.timeutil import local_today
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import Location
from tests.factories import build_world, file_dispatch_request

WORKERS = 8
PER_WORKER = 5


def _worker(
    db_url: str, actors: dict[str, Actor], phases: list, barrier: Any, results: Any
) -> None:
    """Runs in a fresh process: connect, then for each phase wait until every worker is at
    the start line and hammer. Phases: ("create", actor, [filing, ...]) and
    ("allocate", actor, [number, ...])."""
    engine = make_engine(db_url)
    try:
        with engine.connect():
            pass  # connected before the start line, so the workers really overlap
        outcomes: list[list[tuple[str, object]]] = []
        for task, who, payload in phases:
            barrier.wait(timeout=120)
            done = []
            for item in payload:
                with UnitOfWork(engine, actors[who]) as uow:
                    if task == "allocate":
                        done.append((item, dispatch.allocate(uow, item).state))
                    else:
                        request, created = dispatch.create(uow, **item)
                        done.append((request.number, created))
            outcomes.append(done)
        results.put(outcomes)
    except BaseException as error:  # reported to the parent, which fails the test
        results.put(repr(error))
        barrier.abort()
    finally:
        engine.dispose()


def run_workers(db_url: str, actors: dict[str, Actor], plans: list[list]) -> list[list]:
    """One process per plan; returns, per phase, every worker's outcomes together."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(plans)), context.Queue()
    processes = [
        context.Process(target=_worker, args=(db_url, actors, plan, barrier, results))
        for plan in plans
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    failures = [o for o in outcomes if isinstance(o, str)]
    assert not failures, failures
    return [
        [pair for worker in outcomes for pair in worker[phase]] for phase in range(len(plans[0]))
    ]


@pytest.fixture
def world(engine):
    return build_world(engine)


def scarce_stock(world) -> None:
    """Tents and rice on several lots in three depots, far less than will be asked for."""
    today = local_today().isoformat()
    for depot, keeper in (("SB", "keeper_sb"), ("ZX", "keeper_zx")):
        with world.uow(keeper) as uow:
            stock.receive(
                uow,
                depot=depot,
                lines=[
                    *(
                        {"item": "TENT-12", "lot": f"T-{depot}-{n}", "quantity": 9}
                        for n in range(4)
                    ),
                    *(
                        {
                            "item": "RICE-10",
                            "lot": f"R-{depot}-{n}",
                            "quantity": 11,
                            "production_date": today,
                        }
                        for n in range(3)
                    ),
                ],
            )
    with world.uow("admin") as uow:  # 永仁's own reserve: only 永仁's requests may use it
        stock.receive(uow, depot="YR", lines=[{"item": "TENT-12", "lot": "T-YR-0", "quantity": 25}])


def approved_requests(world) -> list[str]:
    numbers = []
    for n in range(WORKERS * PER_WORKER):
        lines = [{"item": "TENT-12", "quantity": 1 + n % 7}]
        if n % 3 == 0:
            lines.append({"item": "RICE-10", "quantity": 2 + n % 5})
        if n % 4 == 3:  # a dispatcher files for 永仁; the other dispatcher approves
            number = file_dispatch_request(world, lines, county="532327", who="dispatcher")
            approver = "dispatcher2"
        else:
            number = file_dispatch_request(world, lines)
            approver = "dispatcher"
        with world.uow(approver) as uow:
            dispatch.approve(uow, number, allocate=False)
        numbers.append(number)
    return numbers


def usable_free(session: Session, county_id: int, item_id: int) -> int:
    """Free stock of an item that a request of this county could still take."""
    total = 0
    for quant, owner in session.execute(
        select(Quant, Owner)
        .join(Owner, Owner.id == Quant.owner_id)
        .join(Location, Location.id == Quant.location_id)
        .where(Quant.item_id == item_id, Location.kind == "internal")
    ):
        if owner.county_id in (None, county_id):
            total += quant.on_hand - quant.reserved
    return total


FILING = {
    "county": "532322",
    "disaster_type": "earthquake",
    "urgency": "critical",
    "people_affected": 800,
    "lines": [{"item": "TENT-12", "quantity": 20}],
    "idempotency_key": "retry-storm-1",
}


def test_eight_processes_never_oversell_never_lose_a_request_nor_file_twice(world, engine, db_url):
    scarce_stock(world)
    numbers = approved_requests(world)
    plans = [
        [
            ("create", "requester_sb", [FILING]),  # a retry storm with one key
            ("allocate", ("dispatcher", "dispatcher2")[w % 2], numbers[w::WORKERS]),
        ]
        for w in range(WORKERS)
    ]
    filed, allocated = run_workers(db_url, world.actors, plans)

    assert len({number for number, _ in filed}) == 1  # one request, the same for everyone
    assert sum(created for _, created in filed) == 1
    outcomes = dict(allocated)
    assert sorted(outcomes) == sorted(numbers)  # every request answered
    with Session(engine) as session:
        for quant in session.scalars(select(Quant)):
            assert 0 <= quant.reserved <= quant.on_hand
        assert check_quants(session) == []
        assert check_reservations(session) == []
        assert verify(session).ok
        requests = {r.number: r for r in session.scalars(select(DispatchRequest))}
        assert len(requests) == len(numbers) + 1
        held: dict[int, int] = defaultdict(int)
        for reservation in session.scalars(select(Reservation)):
            held[reservation.line_id] += reservation.quantity
        for number in numbers:
            request = requests[number]
            lines = session.scalars(
                select(DispatchLine).where(DispatchLine.request_id == request.id)
            ).all()
            for line in lines:
                assert line.allocated == held[line.id]
                assert line.allocated + line.shortage == line.quantity  # shortage recorded
                if line.shortage:  # short only when nothing usable was left for it
                    assert usable_free(session, request.county_id, line.item_id) == 0
            expected = "allocated" if any(line.allocated for line in lines) else "approved"
            assert request.state == outcomes[number] == expected
    checked = CliRunner().invoke(main, ["check"], env={"RELIEF_DATABASE_URL": db_url})
    assert checked.exit_code == 0, checked.output
