"""``transactions.run``: the unit of work done again when the database broke a deadlock
(the logic every adapter shares, moved out of the dispatch API), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from relief_inventory import transactions
from relief_inventory.errors import Conflict
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import StockDocument
from tests.factories import build_world


class _Aborted(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.fixture
def world(engine):
    return build_world(engine)


def documents(engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count(StockDocument.id))) or 0)


def receipt(uow):
    return stock.receive(uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "T", "quantity": 1}])


@pytest.mark.parametrize("sqlstate", sorted(transactions.RETRYABLE_SQLSTATES))
def test_an_aborted_try_is_done_again_and_books_once(world, engine, sqlstate):
    tries: list[int] = []

    def work(uow):
        tries.append(1)
        document = receipt(uow)
        if len(tries) == 1:  # written, then aborted by the database: rolled back
            raise OperationalError("UPDATE quant …", {}, _Aborted(sqlstate))
        return document.number

    number = transactions.run(engine, world.actors["keeper_zx"], work)
    assert number.startswith("RK-") and len(tries) == 2 and documents(engine) == 1


def test_after_the_last_attempt_a_conflict_and_nothing_written(world, engine):
    def work(uow):
        receipt(uow)
        raise OperationalError("UPDATE quant …", {}, _Aborted("40P01"))

    with pytest.raises(Conflict):
        transactions.run(engine, world.actors["keeper_zx"], work)
    assert documents(engine) == 0


def test_other_database_errors_are_not_retried(world, engine):
    tries: list[int] = []

    def work(uow):
        tries.append(1)
        raise IntegrityError("INSERT …", {}, _Aborted("23505"))

    with pytest.raises(IntegrityError):
        transactions.run(engine, world.actors["keeper_zx"], work)
    assert len(tries) == 1
