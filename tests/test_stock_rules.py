"""Every stock rule on every path, through the services, on SQLite and PostgreSQL: the one
ownership rule, counts per (lot, owner), drafts that hold their stock, lot status per
depot and expiry, rotations that are swaps, four-eyes reversals and rejections, transfer
arrivals with differences, lot dates, and the logic moved out of the adapters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation import shipping
from relief_inventory.allocation.check import check_reservations
from relief_inventory.errors import (
    Conflict,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from relief_inventory.funds import services as funds
from relief_inventory.stock import quants
from relief_inventory.stock import services as stock
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.models import DocKind, DocState, Move, Quant, StockDocument
from relief_inventory.stock.queries import (
    StockFilters,
    document_detail,
    stock_rows,
    stock_summary,
)
from relief_inventory.timeutil import local_today, utcnow
from tests.factories import build_world, file_dispatch_request, receive_basic
from tests.funds_factories import funded_appropriation

ORDER = "楚应急调〔2025〕9号"
KEEPER = {"ZX": "keeper_zx", "SB": "keeper_sb", "YR": "admin"}


@pytest.fixture
def world(engine):
    return build_world(engine)


def receive(world, depot: str, *lines: dict, order: str = "", **options) -> str:
    full = []
    for line in lines:
        line = dict(line)
        if line["item"] == "RICE-10" and not {"production_date", "expiry_date"} & set(line):
            line["production_date"] = local_today().isoformat()
        full.append(line)
    with world.uow(KEEPER[depot]) as uow:
        return stock.receive(uow, depot=depot, lines=full, authority_order=order, **options).number


def shelf(engine, depot: str, item: str, lot: str | None = None) -> dict[str, int]:
    """On hand by owner code at a depot."""
    filters = StockFilters(depot=depot, item=item)
    with Session(engine) as session:
        rows = stock_rows(session, filters, per_page=500).results
    return {r["owner"]: r["on_hand"] for r in rows if lot is None or r["lot"] == lot}


def row(engine, depot: str, item: str, lot: str) -> dict:
    with Session(engine) as session:
        rows = stock_rows(session, StockFilters(depot=depot, item=item), per_page=500).results
    return next(dict(r) for r in rows if r["lot"] == lot)


def moves_of(engine, number: str) -> list[dict]:
    with Session(engine) as session:
        return document_detail(session, number)["moves"]


def assert_books_ok(engine) -> None:
    with Session(engine) as session:
        assert check_quants(session) == []
        assert check_reservations(session) == []


def counted_moves(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Move)) or 0


# -- ownership: one rule for every document -----------------------------------------------


def test_central_stock_is_received_only_on_its_order(world, engine):
    line = {"item": "TENT-12", "lot": "CN-1", "quantity": 10, "owner": "CN"}
    with pytest.raises(InvalidInput) as refused:
        receive(world, "ZX", line)
    assert refused.value.field == "lines[0].owner" and "CN" in refused.value.message
    assert counted_moves(engine) == 0
    receive(world, "ZX", line, order="民发〔2025〕3号")
    assert shelf(engine, "ZX", "TENT-12") == {"CN": 10}


def test_another_countys_reserve_is_never_issued_without_its_order(world, engine):
    receive(
        world,
        "SB",
        {"item": "TENT-12", "lot": "YR-1", "quantity": 8, "owner": "532327"},
        order=ORDER,
    )
    line = {"item": "TENT-12", "lot": "YR-1", "quantity": 2, "owner": "532327"}
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_sb") as uow:
        stock.issue(uow, depot="SB", county="532322", lines=[line])
    assert refused.value.field == "lines[0].owner"
    with world.uow("keeper_sb") as uow:
        stock.issue(uow, depot="SB", county="532322", lines=[line], authority_order=ORDER)
    assert shelf(engine, "SB", "TENT-12") == {"532327": 6}


def test_a_line_without_owner_means_the_depots_own_reserve(world, engine):
    receive(world, "SB", {"item": "TENT-12", "lot": "OWN", "quantity": 10})
    receive(
        world,
        "SB",
        {"item": "TENT-12", "lot": "PRE", "quantity": 10, "owner": "532300"},
        order=ORDER,
    )
    with world.uow("keeper_sb") as uow:  # own county stock at the county depot: no order
        stock.issue(
            uow,
            depot="SB",
            county="532322",
            lines=[{"item": "TENT-12", "lot": "OWN", "quantity": 3}],
        )
    with world.uow("keeper_sb") as uow:  # first expiry first, from the own reserve only
        number = stock.issue(
            uow, depot="SB", county="532322", lines=[{"item": "TENT-12", "quantity": 7}]
        ).number
    assert {m["owner"] for m in moves_of(engine, number)} == {"532322"}
    with pytest.raises(InsufficientStock) as short, world.uow("keeper_sb") as uow:
        stock.issue(uow, depot="SB", county="532322", lines=[{"item": "TENT-12", "quantity": 1}])
    assert "532300" in short.value.message  # says whose stock is left
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_sb") as uow:
        stock.issue(
            uow,
            depot="SB",
            county="532322",
            lines=[{"item": "TENT-12", "lot": "PRE", "quantity": 1}],
            authority_order=ORDER,
        )
    assert refused.value.field == "lines[0].owner"
    assert "只有" in refused.value.message and "532300" in refused.value.message


def test_a_lot_held_under_several_owners_needs_the_owner_named(world, engine):
    receive(world, "SB", {"item": "TENT-12", "lot": "MIX", "quantity": 5})
    receive(
        world,
        "SB",
        {"item": "TENT-12", "lot": "MIX", "quantity": 5, "owner": "532300"},
        order=ORDER,
    )
    line = {"item": "TENT-12", "lot": "MIX", "quantity": 1}
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_sb") as uow:
        stock.issue(uow, depot="SB", county="532322", lines=[line])
    assert "532300" in refused.value.message and "532322" in refused.value.message
    with world.uow("keeper_sb") as uow:
        stock.issue(uow, depot="SB", county="532322", lines=[{**line, "owner": "532322"}])
    assert shelf(engine, "SB", "TENT-12", "MIX") == {"532322": 4, "532300": 5}


def test_a_transfer_needs_the_order_where_the_stock_is_not_the_depots_own(world, engine):
    receive_basic(world, 20)  # prefecture stock at the prefecture depot: its own
    line = {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 5}
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_zx") as uow:
        stock.transfer(uow, from_depot="ZX", to_depot="SB", lines=[line])
    assert refused.value.field == "lines[0].owner"  # it would enter SB as someone else's
    with world.uow("keeper_zx") as uow:
        stock.transfer(uow, from_depot="ZX", to_depot="SB", lines=[line], authority_order=ORDER)
    assert_books_ok(engine)


def test_a_return_without_owner_is_the_depots_own_reserve_or_refused(world, engine):
    receive(
        world,
        "SB",
        {"item": "TENT-12", "lot": "P-T", "quantity": 10, "owner": "532300"},
        order=ORDER,
    )
    number = file_dispatch_request(world, [{"item": "TENT-12", "quantity": 10}])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    with world.uow("keeper_sb") as uow:
        shipping.dispatch(uow, number)
    with world.uow("requester_sb") as uow:
        shipping.receive(uow, number, lines=[{"item": "TENT-12", "received": 10}])
    back = {"item": "TENT-12", "lot": "P-T", "available": 4}
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_sb") as uow:
        shipping.return_goods(uow, number, depot="SB", lines=[back])
    assert refused.value.field == "lines[0].owner" and "532300" in refused.value.message
    with world.uow("keeper_sb") as uow:
        shipping.return_goods(uow, number, depot="SB", lines=[{**back, "owner": "532300"}])
    assert shelf(engine, "SB", "TENT-12") == {"532300": 4}
    assert_books_ok(engine)


# -- counts per (lot, owner) ---------------------------------------------------------------


def test_counting_what_is_on_hand_books_nothing_whoever_owns_it(world, engine):
    """The reported bug: 6 pieces of prefecture stock counted as 6 became 12."""
    receive(
        world, "SB", {"item": "TENT-12", "lot": "P6", "quantity": 6, "owner": "532300"}, order=ORDER
    )
    with world.uow("keeper_sb") as uow:
        number = stock.propose_count(
            uow, depot="SB", lines=[{"item": "TENT-12", "lot": "P6", "counted": 6}]
        ).number
    with Session(engine) as session:
        (line,) = document_detail(session, number)["count_lines"]
    assert (line["owner"], line["system_quantity"], line["counted_quantity"]) == ("532300", 6, 6)
    with world.uow("admin") as uow:
        stock.approve(uow, number)
    assert moves_of(engine, number) == []
    assert shelf(engine, "SB", "TENT-12") == {"532300": 6}
    assert_books_ok(engine)


def test_count_lines_are_refused_when_ambiguous_or_duplicated(world, engine):
    receive(world, "SB", {"item": "TENT-12", "lot": "M", "quantity": 4})
    receive(
        world, "SB", {"item": "TENT-12", "lot": "M", "quantity": 4, "owner": "532300"}, order=ORDER
    )
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_sb") as uow:
        stock.propose_count(uow, depot="SB", lines=[{"item": "TENT-12", "lot": "M", "counted": 8}])
    assert refused.value.field == "lines[0].owner" and "532300" in refused.value.message
    twice = [{"item": "TENT-12", "lot": "M", "owner": "532322", "counted": 4}] * 2
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_sb") as uow:
        stock.propose_count(uow, depot="SB", lines=twice)
    assert refused.value.field == "lines[1].lot"
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_sb") as uow:
        stock.propose_count(  # another reserve's difference needs its order
            uow,
            depot="SB",
            lines=[{"item": "TENT-12", "lot": "M", "owner": "532300", "counted": 3}],
        )
    assert refused.value.field == "lines[0].owner"
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(StockDocument)) == 2


def test_the_book_quantity_is_frozen_when_the_count_is_entered(world, engine):
    receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        number = stock.propose_count(
            uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "T-ZX-1", "counted": 8}]
        ).number
    receive(world, "ZX", {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 5})  # arrives later
    with pytest.raises(InsufficientStock), world.uow("keeper_zx") as uow:  # the 8 are held
        stock.issue(
            uow,
            depot="ZX",
            county="532322",
            lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 6}],
        )
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, number)
    assert shelf(engine, "ZX", "TENT-12") == {"532300": 13}  # 10 - 2 found missing + 5
    assert_books_ok(engine)


def test_stock_a_draft_still_waits_on_is_not_counted(world, engine):
    """The scale-100 seed crash: a count entered while a reversal held a mistyped receipt
    froze a book of 506 for 47 pieces; approving both booked the 460 twice and failed with a
    misleading shortage. Such a count is refused until the draft is decided."""
    line = {"item": "TENT-12", "lot": "L46", "quantity": 460}
    mistyped = receive(world, "ZX", line)
    with world.uow("keeper_zx") as uow:
        reversal = stock.reverse(uow, mistyped, reason="多录一位").number
    receive(world, "ZX", {**line, "quantity": 46})
    counted = [{"item": "TENT-12", "lot": "L46", "counted": 47}]
    with pytest.raises(Conflict) as refused, world.uow("keeper_zx") as uow:
        stock.propose_count(uow, depot="ZX", lines=counted)
    assert refused.value.field == "lines[0].lot" and reversal in refused.value.message
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, reversal)
    with world.uow("keeper_zx") as uow:
        number = stock.propose_count(uow, depot="ZX", lines=counted).number
    with pytest.raises(Conflict) as refused, world.uow("keeper_zx2") as uow:  # counted twice
        stock.propose_count(uow, depot="ZX", lines=[{**counted[0], "counted": 46}])
    assert number in refused.value.message
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, number)
    assert shelf(engine, "ZX", "TENT-12", "L46") == {"532300": 47}
    with world.uow("keeper_zx") as uow:
        scrap = stock.propose_scrap(uow, depot="ZX", reason="破损", lines=[{**line, "quantity": 2}])
    with pytest.raises(Conflict) as refused, world.uow("keeper_zx") as uow:
        stock.propose_count(uow, depot="ZX", lines=counted)
    assert scrap.number in refused.value.message
    assert_books_ok(engine)


def test_a_loss_that_shipped_after_counting_is_a_conflict_not_a_shortage(world, engine):
    receive(
        world,
        "SB",
        {"item": "TENT-12", "lot": "P-T", "quantity": 10, "owner": "532300"},
        order=ORDER,
    )
    request = file_dispatch_request(world, [{"item": "TENT-12", "quantity": 6}])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, request)  # 6 reserved: a count may still be taken
    with world.uow("keeper_sb") as uow:
        number = stock.propose_count(
            uow,
            depot="SB",
            authority_order=ORDER,
            lines=[{"item": "TENT-12", "lot": "P-T", "counted": 0}],
        ).number
    with world.uow("keeper_sb") as uow:
        shipping.dispatch(uow, request)
    moves = counted_moves(engine)
    with pytest.raises(Conflict) as refused, world.uow("admin") as uow:
        stock.approve(uow, number)
    assert refused.value.field == "lines[0].counted" and "重新盘点" in refused.value.message
    assert counted_moves(engine) == moves
    assert shelf(engine, "SB", "TENT-12", "P-T") == {"532300": 4}
    with world.uow("admin") as uow:
        stock.reject(uow, number, "盘点后已发运，重新盘点")
    assert row(engine, "SB", "TENT-12", "P-T")["reserved"] == 0
    assert_books_ok(engine)


# -- drafts hold their stock ---------------------------------------------------------------


def test_a_draft_write_off_holds_its_stock_until_decided(world, engine):
    receive_basic(world, 10)
    line = {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 8}
    with world.uow("keeper_zx") as uow:
        number = stock.propose_scrap(uow, depot="ZX", reason="霉变", lines=[line]).number
    assert row(engine, "ZX", "TENT-12", "T-ZX-1")["reserved"] == 8
    with Session(engine) as session:
        assert [h["quantity"] for h in document_detail(session, number)["holds"]] == [8]
    assert_books_ok(engine)
    with pytest.raises(InsufficientStock), world.uow("keeper_zx2") as uow:
        stock.issue(uow, depot="ZX", county="532322", lines=[{**line, "quantity": 3}])
    with pytest.raises(InsufficientStock), world.uow("keeper_zx2") as uow:
        stock.propose_scrap(uow, depot="ZX", reason="再报废", lines=[{**line, "quantity": 3}])
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, number)
    assert row(engine, "ZX", "TENT-12", "T-ZX-1")["on_hand"] == 2
    assert row(engine, "ZX", "TENT-12", "T-ZX-1")["reserved"] == 0
    assert_books_ok(engine)


def test_drafts_are_rejected_by_the_second_person_or_cancelled_by_their_author(world, engine):
    receive_basic(world, 10)
    line = {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 4}
    drafts = []
    for _ in range(2):
        with world.uow("keeper_zx") as uow:
            drafts.append(stock.propose_scrap(uow, depot="ZX", reason="破损", lines=[line]).number)
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        stock.reject(uow, drafts[0], "不同意")
    with pytest.raises(PermissionDenied), world.uow("keeper_zx2") as uow:
        stock.cancel(uow, drafts[1], "撤回")
    with pytest.raises(InvalidInput), world.uow("keeper_zx2") as uow:
        stock.reject(uow, drafts[0], "  ")
    with world.uow("keeper_zx2") as uow:
        stock.reject(uow, drafts[0], "经复核未破损")
    with world.uow("keeper_zx") as uow:
        stock.cancel(uow, drafts[1], "录入重复")
    with Session(engine) as session:
        rejected, cancelled = (document_detail(session, n) for n in drafts)
    assert (rejected["state"], rejected["rejected_by"]) == ("cancelled", "keeper_zx2")
    assert "驳回：经复核未破损" in rejected["reason"]
    assert (cancelled["state"], cancelled["rejected_by"]) == ("cancelled", None)
    assert {h["state"] for h in rejected["holds"] + cancelled["holds"]} == {"released"}
    assert row(engine, "ZX", "TENT-12", "T-ZX-1")["available"] == 10
    with pytest.raises(Conflict), world.uow("keeper_zx2") as uow:
        stock.approve(uow, drafts[0])
    assert_books_ok(engine)


def test_approve_checks_the_kind_the_caller_means(world):
    receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        number = stock.propose_scrap(
            uow,
            depot="ZX",
            reason="破损",
            lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 1}],
        ).number
    with pytest.raises(NotFound), world.uow("keeper_zx2") as uow:
        stock.approve(uow, number, kind=DocKind.COUNT)
    with world.uow("keeper_zx2") as uow:
        assert stock.approve(uow, number, kind=DocKind.SCRAP).state == DocState.DONE


# -- lot status per depot, and expiry ------------------------------------------------------


def test_lot_status_applies_to_the_keepers_own_depot_only(world, engine):
    receive_basic(world, 20)
    with world.uow("keeper_zx") as uow:
        transfer = stock.transfer(
            uow,
            from_depot="ZX",
            to_depot="SB",
            authority_order=ORDER,
            lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 8}],
        ).number
    with world.uow("keeper_sb") as uow:
        stock.complete_transfer(uow, transfer)
    with pytest.raises(PermissionDenied), world.uow("keeper_sb") as uow:
        stock.set_lot_status(
            uow, item="TENT-12", lot="T-ZX-1", status="damaged", reason="雨淋", depot="ZX"
        )
    with world.uow("keeper_zx") as uow:  # the keeper's own depots holding it: ZX only
        stock.set_lot_status(uow, item="TENT-12", lot="T-ZX-1", status="damaged", reason="雨淋")
    assert row(engine, "ZX", "TENT-12", "T-ZX-1")["lot_status"] == "damaged"
    assert row(engine, "SB", "TENT-12", "T-ZX-1")["lot_status"] == "available"
    line = {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 1, "owner": "532300"}
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_zx") as uow:
        stock.issue(uow, depot="ZX", county="532322", lines=[line])
    assert refused.value.field == "lines[0].lot"
    with world.uow("keeper_sb") as uow:
        stock.issue(uow, depot="SB", county="532322", lines=[line], authority_order=ORDER)
    with world.uow("keeper_zx") as uow:
        stock.set_lot_status(uow, item="TENT-12", lot="T-ZX-1", status="available", reason="修复")
    assert row(engine, "ZX", "TENT-12", "T-ZX-1")["lot_status"] == "available"


def test_quarantine_on_receipt_is_the_receiving_depots(world, engine):
    receive_basic(world, 10)
    receive(world, "SB", {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 3}, quarantine=True)
    assert row(engine, "SB", "TENT-12", "T-ZX-1")["lot_status"] == "quarantined"
    assert row(engine, "ZX", "TENT-12", "T-ZX-1")["lot_status"] == "available"


def test_stock_past_its_expiry_reads_expired_and_cannot_leave(world, engine):
    received = utcnow() - timedelta(days=40)
    expiry = (local_today() - timedelta(days=2)).isoformat()
    with world.uow("keeper_zx") as uow:
        stock.receive(
            uow,
            depot="ZX",
            at=received,
            lines=[{"item": "RICE-10", "lot": "OLD", "quantity": 9, "expiry_date": expiry}],
        )
    assert row(engine, "ZX", "RICE-10", "OLD")["lot_status"] == "expired"
    line = {"item": "RICE-10", "lot": "OLD", "quantity": 1}
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_zx") as uow:
        stock.issue(uow, depot="ZX", county="532322", lines=[line])
    assert "过期" in refused.value.message
    with pytest.raises(InvalidInput), world.uow("keeper_zx") as uow:
        stock.transfer(uow, from_depot="ZX", to_depot="SB", lines=[line], authority_order=ORDER)
    with pytest.raises(InsufficientStock), world.uow("keeper_zx") as uow:
        stock.issue(uow, depot="ZX", county="532322", lines=[{"item": "RICE-10", "quantity": 1}])
    with Session(engine) as session:
        summary = stock_summary(session)
    assert summary.status("expired", depot="ZX") == 9 and summary.status("usable") == 0
    number = file_dispatch_request(world, [{"item": "RICE-10", "quantity": 1}])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)  # nothing usable to reserve
    with Session(engine) as session:
        assert session.scalar(select(func.sum(Quant.reserved))) == 0
    with world.uow("keeper_zx") as uow:  # written off: any status may go
        stock.propose_scrap(uow, depot="ZX", reason="过期", lines=[{**line, "quantity": 9}])


def test_the_summary_separates_usable_expired_quarantined_and_damaged(world, engine):
    receive_basic(world, 10)
    receive(world, "ZX", {"item": "TENT-12", "lot": "Q", "quantity": 4}, quarantine=True)
    receive(world, "ZX", {"item": "TENT-12", "lot": "D", "quantity": 3})
    with world.uow("keeper_zx") as uow:
        stock.set_lot_status(uow, item="TENT-12", lot="D", status="damaged", reason="压损")
    with Session(engine) as session:
        summary = stock_summary(session)
    assert summary.cell("ZX", "TENT") == 17 and summary.total == 27
    assert summary.status("usable", depot="ZX", category="TENT") == 10
    assert summary.status("quarantined") == 4 and summary.status("damaged") == 3
    assert summary.status("usable", category="FOOD") == 10


# -- rotation is a swap --------------------------------------------------------------------


def fresh_rice(quantity: int, lot: str = "R-NEW", days: int = 720) -> dict:
    return {
        "item": "RICE-10",
        "lot": lot,
        "quantity": quantity,
        "expiry_date": (local_today() + timedelta(days=days)).isoformat(),
    }


def test_a_rotation_swaps_like_for_like(world, engine):
    receive_basic(world, 57)
    out = [{"item": "RICE-10", "lot": "R-ZX-1", "quantity": 57}]
    cases = [
        ([fresh_rice(5000)], None, "in_lines[0].quantity"),  # 57 out, 5,000 in
        ([{"item": "TENT-12", "lot": "NEWT", "quantity": 1}], None, "in_lines[0].item"),
        ([fresh_rice(57, days=100)], None, "in_lines[0].lot"),  # older than what went out
        ([fresh_rice(57, lot="R-ZX-1")], None, "in_lines[0].lot"),  # the same lot back
        (
            [fresh_rice(55)],
            [{"item": "RICE-10", "quantity": -3, "reason": "少"}],
            "differences[0].quantity",
        ),  # declared wrongly
    ]
    for in_lines, differences, field in cases:
        with pytest.raises(InvalidInput) as refused, world.uow("keeper_zx") as uow:
            stock.rotate(uow, depot="ZX", out_lines=out, in_lines=in_lines, differences=differences)
        assert refused.value.field == field, (in_lines, refused.value.as_dict())
    assert counted_moves(engine) == 2
    with world.uow("keeper_zx") as uow:
        number = stock.rotate(
            uow,
            depot="ZX",
            out_lines=out,
            in_lines=[fresh_rice(55)],
            differences=[{"item": "RICE-10", "quantity": -2, "reason": "供货方缺货两袋"}],
        ).number
    with Session(engine) as session:
        document = document_detail(session, number)
    assert "RICE-10 -2袋（供货方缺货两袋）" in document["reason"]
    assert shelf(engine, "ZX", "RICE-10") == {"532300": 55}
    assert_books_ok(engine)


# -- reversals and rejections need a second person ------------------------------------------


def test_a_receipt_is_reversed_by_two_people(world, engine):
    number = receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        reversal = stock.reverse(uow, number, reason="重复录入").number
    with Session(engine) as session:
        original = document_detail(session, number)
    assert (original["pending_reversal"], original["reversed_by"]) == (reversal, None)
    assert row(engine, "ZX", "TENT-12", "T-ZX-1")["reserved"] == 10  # held meanwhile
    with pytest.raises(Conflict), world.uow("keeper_zx2") as uow:
        stock.reverse(uow, number, reason="又一次")
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        stock.approve(uow, reversal)  # proposer and creator of the receipt
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, reversal)
    with Session(engine) as session:
        original = document_detail(session, number)
    assert (original["state"], original["reversed_by"], original["pending_reversal"]) == (
        "done",
        reversal,
        None,
    )
    assert shelf(engine, "ZX", "TENT-12") == {}
    assert_books_ok(engine)


def test_a_rejected_reversal_frees_its_hold_and_may_be_proposed_again(world, engine):
    number = receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        first = stock.reverse(uow, number, reason="疑似重复").number
    with world.uow("keeper_zx2") as uow:
        stock.reject(uow, first, "核实无误")
    assert row(engine, "ZX", "TENT-12", "T-ZX-1")["reserved"] == 0
    with world.uow("keeper_zx2") as uow:
        second = stock.reverse(uow, number, reason="确认重复").number
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        stock.approve(uow, second)  # created the receipt
    with world.uow("admin") as uow:
        stock.approve(uow, second)
    assert_books_ok(engine)


def test_a_done_transfer_is_not_reversed_by_its_receiver(world, engine):
    receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        number = stock.transfer(
            uow,
            from_depot="ZX",
            to_depot="SB",
            authority_order=ORDER,
            lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 4}],
        ).number
    with world.uow("keeper_sb") as uow:
        stock.complete_transfer(uow, number)
    with world.uow("keeper_sb") as uow:
        reversal = stock.reverse(uow, number, reason="调错仓库").number
    for who in ("keeper_sb", "keeper_zx"):  # proposer and validator; creator
        with pytest.raises(PermissionDenied), world.uow(who) as uow:
            stock.approve(uow, reversal)
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, reversal)
    assert shelf(engine, "ZX", "TENT-12") == {"532300": 10}
    assert shelf(engine, "SB", "TENT-12") == {}
    assert_books_ok(engine)


def test_an_in_transit_transfer_with_a_pending_reversal_cannot_arrive(world, engine):
    receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        number = stock.transfer(
            uow,
            from_depot="ZX",
            to_depot="SB",
            authority_order=ORDER,
            lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 4}],
        ).number
    with world.uow("keeper_zx") as uow:
        reversal = stock.reverse(uow, number, reason="车辆故障，未发出").number
    with pytest.raises(Conflict), world.uow("keeper_sb") as uow:
        stock.complete_transfer(uow, number)
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, reversal)
    with Session(engine) as session:
        assert document_detail(session, number)["state"] == "cancelled"
    assert shelf(engine, "ZX", "TENT-12") == {"532300": 10}
    assert_books_ok(engine)


# -- transfers: refusal and arrival differences ----------------------------------------------


def test_the_receiving_depot_refuses_a_transfer_and_the_goods_go_back(world, engine):
    receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        number = stock.transfer(
            uow,
            from_depot="ZX",
            to_depot="SB",
            authority_order=ORDER,
            lines=[{"item": "TENT-12", "lot": "T-ZX-1", "quantity": 4}],
        ).number
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        stock.reject(uow, number, "拒收")
    with world.uow("keeper_sb") as uow:
        stock.reject(uow, number, "非本库申请物资")
    with Session(engine) as session:
        document = document_detail(session, number)
    assert (document["state"], document["rejected_by"]) == ("cancelled", "keeper_sb")
    assert [m["to_location"] for m in document["moves"]] == ["VIRT-TRANSIT", "ZX-STOCK"]
    assert shelf(engine, "ZX", "TENT-12") == {"532300": 10}
    assert_books_ok(engine)


def test_an_arrival_records_what_is_short_or_damaged(world, engine):
    receive_basic(world, 30)
    with world.uow("keeper_zx") as uow:
        number = stock.transfer(
            uow,
            from_depot="ZX",
            to_depot="SB",
            authority_order=ORDER,
            lines=[
                {"item": "TENT-12", "lot": "T-ZX-1", "quantity": 20},
                {"item": "RICE-10", "lot": "R-ZX-1", "quantity": 10},
            ],
        ).number
    lines = [{"item": "TENT-12", "received": 16, "damaged": 3}]
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_sb") as uow:
        stock.complete_transfer(uow, number, lines=lines)
    assert refused.value.field == "note"
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_sb") as uow:
        stock.complete_transfer(
            uow, number, lines=[{"item": "TENT-12", "received": 21}], note="多了"
        )
    assert refused.value.field == "lines[0].received"
    with pytest.raises(InvalidInput), world.uow("keeper_sb") as uow:
        stock.complete_transfer(uow, number, lines=[*lines, lines[0]], note="重复")
    with world.uow("keeper_sb") as uow:
        stock.complete_transfer(uow, number, lines=lines, note="途中翻车，1顶遗失3顶破损")
    with Session(engine) as session:
        document = document_detail(session, number)
    arrived: dict[tuple[str, str], int] = {}
    for move in document["moves"]:
        place = (move["item"], move["to_location"])
        arrived[place] = arrived.get(place, 0) + move["quantity"]
    assert arrived[("TENT-12", "SB-STOCK")] == 16 and arrived[("RICE-10", "SB-STOCK")] == 10
    assert arrived[("TENT-12", "VIRT-LOSS")] == 4  # 3 damaged + 1 short
    assert "途中翻车" in document["reason"] and document["state"] == "done"
    assert_books_ok(engine)


# -- lot dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (
            {"item": "RICE-10", "production_date": "2999-01-01"},
            "lines[0].production_date",
        ),
        ({"item": "TENT-12", "expiry_date": "2030-01-01"}, "lines[0].expiry_date"),
    ],
)
def test_lot_dates_are_refused_when_impossible(world, engine, line, field):
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_zx") as uow:
        stock.receive(uow, depot="ZX", lines=[{"lot": "X", "quantity": 1, **line}])
    assert refused.value.field == field
    assert counted_moves(engine) == 0


# -- logic that moved out of the adapters ----------------------------------------------------


def test_a_receipt_bought_with_a_fund_is_linked_or_refused_as_one(world, engine):
    appropriation = funded_appropriation(world, materials="1000.00")
    line = {"item": "TENT-12", "lot": "F-1", "quantity": 2}
    with pytest.raises(InvalidInput) as refused, world.uow("keeper_zx") as uow:
        funds.receive_purchase(uow, appropriation=appropriation, depot="ZX", lines=[line])
    assert refused.value.field == "amount"
    with pytest.raises(Conflict), world.uow("keeper_zx") as uow:
        funds.receive_purchase(
            uow, appropriation=appropriation, amount="1000.01", depot="ZX", lines=[line]
        )
    assert counted_moves(engine) == 0  # a refused link refuses the receipt
    with world.uow("keeper_zx") as uow:
        document = funds.receive_purchase(
            uow, appropriation=appropriation, amount="900.00", depot="ZX", lines=[line]
        )
        assert document.kind == DocKind.RECEIPT
    with world.uow("keeper_zx") as uow:
        reversal = stock.reverse(uow, document.number, reason="退货").number
    with pytest.raises(Conflict), world.uow("finance") as uow:  # pending reversal: no link
        funds.record_purchase(uow, appropriation, document.number, "10.00")
    assert reversal.startswith("CX-")


def test_dead_helpers_are_gone():
    assert not hasattr(quants, "remove_any") and not hasattr(quants, "reserve")
    assert not hasattr(stock, "document_date")
