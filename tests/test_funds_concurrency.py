"""Concurrency: approvals never overspend an appropriation; racing retries never file twice.

Eight processes (multiprocessing spawn, each with its own engine on the database) start at
the same instant and each approve and pay one release. The appropriation covers only three
of them: on PostgreSQL the approvals queue on the appropriation's row lock; on SQLite on the
write lock. Either way exactly three are paid and five are refused with a clean conflict.
"""

from __future__ import annotations

import multiprocessing
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.funds import services as funds
from relief_inventory.funds.check import check_funds
from relief_inventory.funds.models import FundRelease, ReleaseState
from tests.factories import build_world
from tests.funds_factories import file_release, make_appropriation, make_source

WORKERS = 8


def approve_and_pay(db_url: str, number: str, barrier, results) -> None:
    """One worker: its own engine and actors, released by the barrier with the others."""
    import os

    os.environ.setdefault("RELIEF_SCRYPT_N", "1024")
    from relief_inventory.auth.services import actor_for, user_by_name
    from relief_inventory.db import make_engine
    from relief_inventory.errors import DomainError
    from relief_inventory.uow import UnitOfWork

    engine = make_engine(db_url)
    with Session(engine) as session:
        approver = actor_for(session, user_by_name(session, "finance2"))
        payer = actor_for(session, user_by_name(session, "finance"))
    barrier.wait(timeout=60)
    try:
        with UnitOfWork(engine, approver) as uow:
            funds.approve(uow, number)
        with UnitOfWork(engine, payer) as uow:
            funds.pay(uow, number)
        results.put((number, "paid"))
    except DomainError as error:
        results.put((number, error.code))
    except Exception as error:  # anything else is a bug the test must show
        results.put((number, f"error: {error!r}"))
    finally:
        engine.dispose()


@pytest.fixture
def world(engine):
    return build_world(engine)


def test_concurrent_approvals_never_exceed_the_appropriation(world, engine, db_url):
    appropriation = make_appropriation(world, make_source(world), "1000.00")
    numbers = [file_release(world, appropriation, "300.00") for _ in range(WORKERS)]
    for number in numbers:
        with world.uow("finance") as uow:
            funds.verify(uow, number)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    workers = [
        context.Process(target=approve_and_pay, args=(db_url, number, barrier, results))
        for number in numbers
    ]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(outcomes.values()) == ["conflict"] * 5 + ["paid"] * 3, outcomes
    with Session(engine) as session:
        paid = session.scalar(
            select(func.sum(FundRelease.amount)).where(FundRelease.state == ReleaseState.RELEASED)
        )
        assert paid == Decimal("900.00")
        left = session.scalar(
            select(func.count(FundRelease.id)).where(FundRelease.state == ReleaseState.VERIFIED)
        )
        assert left == 5
        assert check_funds(session) == []


def test_racing_retries_with_one_idempotency_key_file_one_release(world, engine):
    """Six threads send the same request with the same key at once: one release, six
    answers naming it (PostgreSQL: the advisory lock, with the unique column behind it)."""
    appropriation = make_appropriation(world, make_source(world))
    barrier = threading.Barrier(6)
    answers: list[str] = []

    def retry() -> None:
        barrier.wait(timeout=30)
        with world.uow("requester_sb") as uow:
            release, _replayed = funds.create_release_once(
                uow,
                "retry-0001",
                appropriation=appropriation,
                purpose="living_aid",
                amount="300.00",
                beneficiaries=3,
            )
            answers.append(release.number)

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 6 and len(set(answers)) == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count(FundRelease.id))) == 1
