"""The stock ledger's operations, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.errors import (
    Conflict,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from relief_inventory.stock import services as stock
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.models import DocState, Move, Quant
from tests.factories import build_world, receive_basic


@pytest.fixture
def world(engine):
    return build_world(engine)


def on_hand(engine, depot_code: str, item_code: str) -> int:
    from relief_inventory.stock.queries import depot_item_on_hand

    with Session(engine) as session:
        return depot_item_on_hand(session, depot_code, item_code)


def assert_ledger_ok(engine) -> None:
    with Session(engine) as session:
        assert check_quants(session) == []


def test_receive_creates_lots_moves_and_quants(world, engine):
    number = receive_basic(world, 100)
    assert number.startswith("RK-")
    assert on_hand(engine, "ZX", "TENT-12") == 100
    assert on_hand(engine, "ZX", "RICE-10") == 100
    assert_ledger_ok(engine)


def test_transfer_goes_through_transit_then_arrives(world, engine):
    receive_basic(world, 50)
    with world.uow("keeper_zx") as uow:
        document = stock.transfer(
            uow,
            from_depot="ZX",
            to_depot="SB",
            authority_order="楚应急调〔2024〕3号",  # prefecture stock into a county depot
            lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 20}],
        )
        number = document.number
    assert document.state == DocState.IN_TRANSIT
    assert on_hand(engine, "ZX", "TENT-12") == 30
    assert on_hand(engine, "SB", "TENT-12") == 0
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        stock.complete_transfer(uow, number)  # only the receiving depot's keeper
    with world.uow("keeper_sb") as uow:
        stock.complete_transfer(uow, number)
    assert on_hand(engine, "SB", "TENT-12") == 20
    assert_ledger_ok(engine)


def test_issue_uses_first_expiry_first_out_without_lot(world, engine):
    today = date.today()
    with world.uow("keeper_zx") as uow:
        stock.receive(
            uow,
            depot="ZX",
            lines=[
                {
                    "item": "RICE-10",
                    "lot": "LATE",
                    "quantity": 10,
                    "expiry_date": (today + timedelta(days=300)).isoformat(),
                },
                {
                    "item": "RICE-10",
                    "lot": "EARLY",
                    "quantity": 10,
                    "expiry_date": (today + timedelta(days=30)).isoformat(),
                },
            ],
        )
    with world.uow("keeper_zx") as uow:
        document = stock.issue(
            uow, depot="ZX", county="532322", lines=[{"item": "RICE-10", "quantity": 15}]
        )
        doc_id = document.id
    with Session(engine) as session:
        moves = session.scalars(select(Move).where(Move.document_id == doc_id)).all()
        from relief_inventory.stock.models import Lot

        taken = {session.get(Lot, m.lot_id).number: m.quantity for m in moves}
    assert taken == {"EARLY": 10, "LATE": 5}
    assert_ledger_ok(engine)


@pytest.mark.parametrize(
    ("line", "error", "field"),
    [
        ({"item": "TENT-12", "lot": "T-ZX-1", "quantity": 0}, InvalidInput, "lines[0].quantity"),
        ({"item": "TENT-12", "lot": "T-ZX-1", "quantity": -3}, InvalidInput, "lines[0].quantity"),
        ({"item": "TENT-12", "lot": "T-ZX-1", "quantity": 2.5}, InvalidInput, "lines[0].quantity"),
        ({"item": "TENT-12", "lot": "T-ZX-1", "quantity": "7"}, InvalidInput, "lines[0].quantity"),
        (
            {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 10**9},
            InvalidInput,
            "lines[0].quantity",
        ),
        (
            {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 101},
            InsufficientStock,
            "lines[0].quantity",
        ),
        ({"item": "NOPE", "lot": "T-ZX-1", "quantity": 1}, NotFound, "lines[0].item"),
        ({"item": "TENT-12", "lot": "R-ZX-1", "quantity": 1}, NotFound, "lines[0].lot"),
    ],
)
def test_bad_issue_lines_are_refused_and_change_nothing(world, engine, line, error, field):
    receive_basic(world, 100)
    with Session(engine) as session:
        moves_before = session.scalar(select(func.count()).select_from(Move))
    with pytest.raises(error) as caught, world.uow("keeper_zx") as uow:
        stock.issue(uow, depot="ZX", county="532322", lines=[line])
    assert caught.value.field == field
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Move)) == moves_before
    assert on_hand(engine, "ZX", "TENT-12") == 100


def test_quarantined_and_expired_lots_cannot_be_issued_but_can_be_written_off(world, engine):
    with world.uow("keeper_zx") as uow:
        stock.receive(
            uow,
            depot="ZX",
            quarantine=True,
            lines=[{"item": "TENT-12", "lot": "Q1", "quantity": 5}],
        )
    with pytest.raises(InvalidInput) as caught, world.uow("keeper_zx") as uow:
        stock.issue(
            uow,
            depot="ZX",
            county="532322",
            lines=[{"item": "TENT-12", "lot": "Q1", "quantity": 1}],
        )
    assert caught.value.field == "lines[0].lot"
    with world.uow("keeper_zx") as uow:
        number = stock.propose_scrap(
            uow,
            depot="ZX",
            reason="受潮霉变",
            lines=[{"item": "TENT-12", "lot": "Q1", "quantity": 2}],
        ).number
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        stock.approve(uow, number)  # segregation of duties: not the author
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, number)
    assert on_hand(engine, "ZX", "TENT-12") == 3
    assert_ledger_ok(engine)


def test_scrap_requires_a_reason(world):
    receive_basic(world, 10)
    with pytest.raises(InvalidInput) as caught, world.uow("keeper_zx") as uow:
        stock.propose_scrap(
            uow,
            depot="ZX",
            reason="  ",
            lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 1}],
        )
    assert caught.value.field == "reason"


def test_count_books_the_difference_after_approval(world, engine):
    receive_basic(world, 100)
    with world.uow("keeper_zx") as uow:
        number = stock.propose_count(
            uow,
            depot="ZX",
            lines=[
                {"item": "TENT-12", "lot": "T-ZX-1", "counted": 97},
                {"item": "RICE-10", "lot": "R-ZX-1", "counted": 102},
            ],
        ).number
    assert on_hand(engine, "ZX", "TENT-12") == 100
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, number)
    assert on_hand(engine, "ZX", "TENT-12") == 97
    assert on_hand(engine, "ZX", "RICE-10") == 102
    assert_ledger_ok(engine)


def test_a_draft_count_holds_its_stock_until_decided(world, engine):
    receive_basic(world, 100)
    with world.uow("keeper_zx") as uow:
        number = stock.propose_count(
            uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "T-ZX-1", "counted": 90}]
        ).number
    with pytest.raises(InsufficientStock), world.uow("keeper_zx") as uow:
        stock.issue(
            uow,
            depot="ZX",
            county="532322",
            lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 5}],
        )
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, number)
    assert on_hand(engine, "ZX", "TENT-12") == 90


def test_rotation_swaps_old_lot_for_new_in_one_document(world, engine):
    receive_basic(world, 40)
    with world.uow("keeper_zx") as uow:
        document = stock.rotate(
            uow,
            depot="ZX",
            partner="粮食公司",
            out_lines=[{"item": "RICE-10", "lot": "R-ZX-1", "quantity": 40}],
            in_lines=[
                {
                    "item": "RICE-10",
                    "lot": "R-NEW",
                    "quantity": 40,
                    "expiry_date": (date.today() + timedelta(days=400)).isoformat(),
                }
            ],
        )
    assert document.state == DocState.DONE
    with Session(engine) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Move).where(Move.document_id == document.id)
            )
            == 2
        )
    assert on_hand(engine, "ZX", "RICE-10") == 40
    assert_ledger_ok(engine)


def test_reversal_undoes_a_receipt_once(world, engine):
    number = receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        reversal = stock.reverse(uow, number, reason="重复录入").number
    assert on_hand(engine, "ZX", "TENT-12") == 10  # proposed: it only holds the stock
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, reversal)
    assert on_hand(engine, "ZX", "TENT-12") == 0
    with pytest.raises(Conflict), world.uow("keeper_zx") as uow:
        stock.reverse(uow, number, reason="再次冲销")
    assert_ledger_ok(engine)


def test_keeper_cannot_touch_another_depot(world, engine):
    with pytest.raises(PermissionDenied), world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "X", "quantity": 1}])
    assert on_hand(engine, "ZX", "TENT-12") == 0


def test_higher_level_stock_needs_its_dispatch_order(world, engine):
    with world.uow("keeper_sb") as uow:
        stock.receive(
            uow,
            depot="SB",
            authority_order="楚应急调〔2024〕7号",
            lines=[{"item": "TENT-12", "lot": "C1", "quantity": 5, "owner": "532300"}],
        )
    with pytest.raises(InvalidInput) as caught, world.uow("keeper_sb") as uow:
        stock.issue(
            uow,
            depot="SB",
            county="532322",
            lines=[{"item": "TENT-12", "lot": "C1", "quantity": 1, "owner": "532300"}],
        )
    assert caught.value.field == "lines[0].owner"
    with world.uow("keeper_sb") as uow:
        document = stock.issue(
            uow,
            depot="SB",
            county="532322",
            authority_order="楚应急调〔2024〕8号",
            lines=[{"item": "TENT-12", "lot": "C1", "quantity": 1, "owner": "532300"}],
        )
    assert document.authority_order == "楚应急调〔2024〕8号"


def test_serial_items_take_one_per_line(world):
    with pytest.raises(InvalidInput) as caught, world.uow("keeper_zx") as uow:
        stock.receive(uow, depot="ZX", lines=[{"item": "GEN-5", "lot": "SN001", "quantity": 2}])
    assert caught.value.field == "lines[0].quantity"


def test_database_refuses_negative_balances(world, engine):
    receive_basic(world, 1)
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), world.uow("admin") as uow:
        uow.session.execute(Quant.__table__.update().values(on_hand=-5))
