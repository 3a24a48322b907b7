"""Every creating operation at most once per (user, Idempotency-Key), on SQLite and
PostgreSQL: the helper (relief_inventory/idempotency.py) over each service, each creating
POST of the API, and eight processes retrying the same receipt and the same appropriation
at the same instant.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation.models import DispatchRequest
from relief_inventory.errors import Conflict, InvalidInput, NotFound
from relief_inventory.funds import services as funds
from relief_inventory.funds.models import Appropriation, FundRelease, FundSource
from relief_inventory.idempotency import IdempotentRequest, once
from relief_inventory.stock import services as stock
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.models import StockDocument
from relief_inventory.stock.queries import depot_item_on_hand
from tests.factories import bearer, build_world
from tests.funds_factories import make_appropriation, make_source

API = "/api/v1"
WORKERS = 8


@pytest.fixture
def world(engine):
    world = build_world(engine)
    with world.uow("keeper_zx") as uow:
        # T-CNT is counted (a draft count holds its lot); T-ZX serves the outgoing operations.
        stock.receive(
            uow,
            depot="ZX",
            lines=[
                {"item": "TENT-12", "lot": "T-ZX", "quantity": 50},
                {"item": "TENT-12", "lot": "T-CNT", "quantity": 10},
            ],
        )
    return world


def count(engine, model) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def today() -> str:
    return date.today().isoformat()


def _lines(quantity: int = 2) -> list[dict[str, Any]]:
    return [{"item": "TENT-12", "lot": "T-ZX", "owner": "532300", "quantity": quantity}]


# (who, operation, request, the table it writes): one per creating operation.
OPERATIONS: dict[str, tuple[str, Callable[..., Any], Callable[[Any], dict[str, Any]], type]] = {
    "receipt": (
        "keeper_zx",
        stock.receive,
        lambda world: {"depot": "ZX", "lines": [{"item": "TENT-12", "lot": "T-9", "quantity": 3}]},
        StockDocument,
    ),
    "transfer": (
        "keeper_zx",
        stock.transfer,
        lambda world: {
            "from_depot": "ZX",
            "to_depot": "SB",
            "authority_order": "楚应急调〔2025〕1号",
            "lines": _lines(),
        },
        StockDocument,
    ),
    "issue": (
        "keeper_zx",
        stock.issue,
        lambda world: {
            "depot": "ZX",
            "county": "532322",
            "authority_order": "楚应急调〔2025〕2号",
            "lines": _lines(),
        },
        StockDocument,
    ),
    "scrap": (
        "keeper_zx",
        stock.propose_scrap,
        lambda world: {"depot": "ZX", "reason": "破损", "lines": _lines(1)},
        StockDocument,
    ),
    "count": (
        "keeper_zx",
        stock.propose_count,
        lambda world: {
            "depot": "ZX",
            "lines": [{"item": "TENT-12", "lot": "T-CNT", "owner": "532300", "counted": 10}],
        },
        StockDocument,
    ),
    "rotation": (
        "keeper_zx",
        stock.rotate,
        lambda world: {
            "depot": "ZX",
            "authority_order": "楚应急调〔2025〕3号",
            "out_lines": _lines(1),
            "in_lines": [{"item": "TENT-12", "lot": "T-NEW", "owner": "532300", "quantity": 1}],
        },
        StockDocument,
    ),
    "source": (
        "finance",
        funds.create_source,
        lambda world: {
            "level": "central",
            "kind": "winter_spring",
            "year": 2024,
            "document_number": "云财社〔2024〕99号",
            "amount": "100.00",
        },
        FundSource,
    ),
    "appropriation": (
        "finance",
        funds.appropriate,
        lambda world: {
            "source": make_source(world),
            "county": "532322",
            "document_number": "楚财社〔2024〕99号",
            "amount": "100.00",
        },
        Appropriation,
    ),
    "release": (
        "requester_sb",
        funds.create_release,
        lambda world: {
            "appropriation": make_appropriation(world, make_source(world)),
            "purpose": "living_aid",
            "amount": "10.00",
            "beneficiaries": 2,
        },
        FundRelease,
    ),
    "dispatch request": (
        "requester_sb",
        dispatch.file_request,
        lambda world: {
            "county": "532322",
            "disaster_type": "flood",
            "urgency": "urgent",
            "people_affected": 10,
            "lines": [{"item": "TENT-12", "quantity": 1}],
        },
        DispatchRequest,
    ),
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_one_document_per_user_and_key(world, engine, name):
    who, operation, make, table = OPERATIONS[name]
    request = make(world)
    before = count(engine, table)
    with world.uow(who) as uow:
        first, created = once(uow, "key-0001", operation, **request)
        first_id = first.id
    assert created and count(engine, table) == before + 1
    with world.uow(who) as uow:  # the retry after a lost answer
        again, created = once(uow, "key-0001", operation, **request)
    assert (again.id, created) == (first_id, False)
    assert count(engine, table) == before + 1
    changed = {**request, "reason": "另一项请求"} if name != "source" else {**request, "title": "x"}
    with pytest.raises(Conflict) as refused, world.uow(who) as uow:
        once(uow, "key-0001", operation, **changed)
    assert refused.value.field == "Idempotency-Key"
    assert count(engine, table) == before + 1
    assert count(engine, IdempotentRequest) == 1


def test_keys_belong_to_their_user_and_no_key_means_no_replay(world, engine):
    body = OPERATIONS["receipt"][2](world)
    with world.uow("keeper_zx") as uow:
        mine, _ = once(uow, "shared-key", stock.receive, **body)
        mine_id = mine.id
    with world.uow("admin") as uow:
        theirs, created = once(uow, "shared-key", stock.receive, **body)
    assert created and theirs.id != mine_id
    with world.uow("keeper_zx") as uow:
        _doc, created = once(uow, None, stock.receive, **body)
    assert created
    transfer = OPERATIONS["transfer"][2](world)
    with pytest.raises(Conflict), world.uow("keeper_zx") as uow:  # another operation: refused
        once(uow, "shared-key", stock.transfer, **transfer)


@pytest.mark.parametrize("key", ["", " key", "key ", "键", "k" * 129, "a\nb", 12])
def test_a_malformed_key_is_refused(world, key):
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_zx") as uow:
        once(uow, key, stock.receive, **OPERATIONS["receipt"][2](world))
    assert refused.value.field == "Idempotency-Key"


def test_a_refused_first_try_leaves_no_record_and_its_retry_runs(world, engine):
    bad = {"depot": "ZX", "lines": [{"item": "NOPE", "lot": "X", "quantity": 1}]}
    with pytest.raises(NotFound), world.uow("keeper_zx") as uow:
        once(uow, "retry-1", stock.receive, **bad)
    assert count(engine, IdempotentRequest) == 0
    good = OPERATIONS["receipt"][2](world)
    with world.uow("keeper_zx") as uow:
        _doc, created = once(uow, "retry-1", stock.receive, **good)
    assert created


# -- over HTTP -----------------------------------------------------------------------------

HTTP = {
    "/receipts": ("keeper_zx", "receipt"),
    "/transfers": ("keeper_zx", "transfer"),
    "/issues": ("keeper_zx", "issue"),
    "/scraps": ("keeper_zx", "scrap"),
    "/counts": ("keeper_zx", "count"),
    "/rotations": ("keeper_zx", "rotation"),
    "/funds/sources": ("finance", "source"),
    "/funds/appropriations": ("finance", "appropriation"),
    "/funds/releases": ("requester_sb", "release"),
    "/dispatch-requests": ("requester_sb", "dispatch request"),
}


@pytest.fixture
def api_world(app):
    world = build_world(app.extensions["relief_engine"])
    with world.uow("keeper_zx") as uow:
        # T-CNT is counted (a draft count holds its lot); T-ZX serves the outgoing operations.
        stock.receive(
            uow,
            depot="ZX",
            lines=[
                {"item": "TENT-12", "lot": "T-ZX", "quantity": 50},
                {"item": "TENT-12", "lot": "T-CNT", "quantity": 10},
            ],
        )
    return world


def test_every_creating_post_honours_the_idempotency_key(client, app, api_world):
    engine = app.extensions["relief_engine"]
    for path, (who, name) in sorted(HTTP.items()):
        _who, _operation, make, table = OPERATIONS[name]
        body = make(api_world)
        headers = {**bearer(api_world, who), "Idempotency-Key": f"{name}-0001"}
        before = count(engine, table)
        first = client.post(API + path, json=body, headers=headers)
        assert first.status_code == 201, (path, first.json)
        again = client.post(API + path, json=body, headers=headers)
        assert again.status_code == 200 and again.json["number"] == first.json["number"], path
        assert count(engine, table) == before + 1, path
        other = {**body, "amount": "11.00"} if "amount" in body else {**body, "reason": "另一项"}
        different = client.post(API + path, json=other, headers=headers)
        assert different.status_code == 409, (path, different.json)
        assert "Idempotency-Key" in different.json["errors"]
        assert count(engine, table) == before + 1, path
        bad = client.post(API + path, json=body, headers={**headers, "Idempotency-Key": " x"})
        assert bad.status_code == 422 and "Idempotency-Key" in bad.json["errors"], path


# -- concurrent retries, processes ---------------------------------------------------------


def retry_worker(db_url: str, storms: list[tuple[str, str, dict]], barrier, results) -> None:
    """One process with its own engine: each storm, the same request with the same key as
    every other process, all released together by the barrier."""
    import os

    os.environ.setdefault("RELIEF_SCRYPT_N", "1024")
    from relief_inventory import transactions
    from relief_inventory.auth.services import actor_for, user_by_name
    from relief_inventory.db import make_engine
    from relief_inventory.errors import DomainError
    from relief_inventory.funds import services as funds_services
    from relief_inventory.idempotency import once as once_
    from relief_inventory.stock import services as stock_services

    operation = {"receipt": stock_services.receive, "appropriation": funds_services.appropriate}
    engine = make_engine(db_url)
    try:
        for kind, who, body in storms:
            with Session(engine) as session:
                actor = actor_for(session, user_by_name(session, who))

            def work(uow, kind=kind, body=body):
                made, created = once_(uow, f"storm-{kind}", operation[kind], **body)
                return made.number, created

            barrier.wait(timeout=120)
            try:
                results.put((kind, *transactions.run(engine, actor, work)))
            except DomainError as error:
                results.put((kind, error.code, False))
            except Exception as error:  # anything else is a bug the test must show
                results.put((kind, f"error: {error!r}", False))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_eight_processes_retrying_at_once_book_one_receipt_and_one_appropriation(
    world, engine, db_url
):
    receipt = {"depot": "ZX", "lines": [{"item": "TENT-12", "lot": "T-STORM", "quantity": 7}]}
    appropriation = {
        "source": make_source(world),
        "county": "532322",
        "document_number": "楚财社〔2024〕7号",
        "amount": "9.00",
    }
    storms = [("receipt", "keeper_zx", receipt), ("appropriation", "finance", appropriation)]
    before = depot_item_on_hand_total(engine)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(WORKERS), context.Queue()
    workers = [
        context.Process(target=retry_worker, args=(db_url, storms, barrier, results))
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=240) for _ in range(WORKERS * len(storms))]
    for worker in workers:
        worker.join(timeout=60)
    for kind, _who, _body in storms:
        mine = [(number, created) for k, number, created in answers if k == kind]
        assert len(mine) == WORKERS and len({number for number, _ in mine}) == 1, answers
        assert sum(created for _, created in mine) == 1, answers
    assert depot_item_on_hand_total(engine) == before + 7  # booked once
    with Session(engine) as session:
        assert session.scalar(select(func.count(Appropriation.id))) == 1
        assert check_quants(session) == []


def depot_item_on_hand_total(engine) -> int:
    with Session(engine) as session:
        return depot_item_on_hand(session, "ZX", "TENT-12")
