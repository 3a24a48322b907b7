"""Dispatch requests through the services, on SQLite and PostgreSQL: the state machine,
reservations, dispatch documents, receipt with differences, emergencies, returns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation import shipping
from relief_inventory.allocation.check import check_reservations
from relief_inventory.allocation.common import request_by_number
from relief_inventory.allocation.models import DispatchLine, DispatchRequest, Reservation
from relief_inventory.allocation.queries import overdue_countersignatures, request_view
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.verify import verify
from relief_inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from relief_inventory.stock import services as stock
from relief_inventory.stock.check import check_quants
from relief_inventory.stock.models import DocKind, DocState, Lot, Move, Quant, StockDocument
from relief_inventory.timeutil import local_today, utcnow
from relief_inventory.warehouse.models import Location
from tests.factories import build_world, file_dispatch_request

TENTS = {"item": "TENT-12", "quantity": 50}


@pytest.fixture
def world(engine):
    return build_world(engine)


def stock_up(world, depot: str, item: str, lot: str, quantity: int, **extra) -> None:
    keeper = {"ZX": "keeper_zx", "SB": "keeper_sb", "YR": "admin"}[depot]
    line = {"item": item, "lot": lot, "quantity": quantity, **extra}
    if item == "RICE-10" and "production_date" not in extra:
        line["production_date"] = local_today().isoformat()
    with world.uow(keeper) as uow:
        stock.receive(uow, depot=depot, lines=[line])


def snapshot(engine, number: str) -> dict:
    with Session(engine) as session:
        request = request_by_number(session, number)
        admin_view = request_view(session, _admin(session), request)
    return admin_view


def _admin(session):
    from relief_inventory.auth.services import actor_for, user_by_name

    return actor_for(session, user_by_name(session, "admin"))


def reserved_total(engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.coalesce(func.sum(Quant.reserved), 0))))


def assert_books_balance(engine) -> None:
    with Session(engine) as session:
        assert check_quants(session) == []
        assert check_reservations(session) == []
        assert verify(session).ok


def line(view: dict, item: str = "TENT-12") -> dict:
    return next(row for row in view["lines"] if row["item"] == item)


# -- filing ---------------------------------------------------------------------------------


def test_request_is_numbered_and_submitted(world, engine):
    number = file_dispatch_request(world, [TENTS])
    assert number.startswith("DB-") and len(number) == len("DB-2025-000001")
    view = snapshot(engine, number)
    assert view["state"] == "submitted"
    assert view["requester"] == "requester_sb"
    assert view["submitted_at"] is not None


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"county": "532327"}, None, PermissionDenied),  # not the requester's county
        ({"disaster_type": "meteor"}, "disaster_type", InvalidInput),
        ({"urgency": "特急"}, "urgency", InvalidInput),
        ({"people_affected": -1}, "people_affected", InvalidInput),
        ({"lines": []}, "lines", InvalidInput),
        ({"lines": [{"item": "NOPE", "quantity": 1}]}, "lines[0].item", NotFound),
        ({"lines": [{"item": "TENT-12", "quantity": 0}]}, "lines[0].quantity", InvalidInput),
        ({"lines": [TENTS, TENTS]}, "lines[1].item", InvalidInput),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(world, engine, changes, field, error):
    body = {
        "county": "532322",
        "disaster_type": "flood",
        "urgency": "urgent",
        "people_affected": 10,
        "lines": [TENTS],
        **changes,
    }
    with pytest.raises(error) as caught, world.uow("requester_sb") as uow:
        dispatch.create(uow, **body)
    if field:
        assert caught.value.field == field
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DispatchRequest)) == 0


def test_idempotency_key_returns_the_same_request(world, engine):
    body = {
        "county": "532322",
        "disaster_type": "earthquake",
        "urgency": "critical",
        "people_affected": 300,
        "lines": [TENTS],
        "idempotency_key": "phone-call-0815",
    }
    with world.uow("requester_sb") as uow:
        first, created = dispatch.create(uow, **body)
        number = first.number
    assert created
    with world.uow("requester_sb") as uow:
        again, created = dispatch.create(uow, **body)
        assert (again.number, created) == (number, False)
    with pytest.raises(Conflict) as caught, world.uow("requester_sb") as uow:
        dispatch.create(uow, **{**body, "lines": [{"item": "TENT-12", "quantity": 51}]})
    assert caught.value.field == "Idempotency-Key"
    with world.uow("dispatcher") as uow:  # keys are per requester
        other, created = dispatch.create(uow, **body)
        assert created and other.number != number
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DispatchRequest)) == 2


# -- approval and allocation ---------------------------------------------------------------


def test_approval_allocates_nearest_first_with_the_prefecture_depot_last(world, engine):
    stock_up(world, "SB", "TENT-12", "T-SB", 30)
    stock_up(world, "ZX", "TENT-12", "T-ZX", 100)
    number = file_dispatch_request(world, [TENTS])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    view = snapshot(engine, number)
    assert view["state"] == "allocated"
    assert view["approver"] == "dispatcher"
    assert line(view)["allocated"] == 50 and line(view)["shortage"] == 0
    assert sorted((p["depot"], p["lot"], p["quantity"]) for p in view["picks"]) == [
        ("SB", "T-SB", 30),
        ("ZX", "T-ZX", 20),
    ]
    assert reserved_total(engine) == 50
    assert_books_balance(engine)


def test_nobody_approves_their_own_request_and_requesters_never_approve(world):
    number = file_dispatch_request(world, [TENTS], who="dispatcher")
    with pytest.raises(PermissionDenied), world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    with pytest.raises(PermissionDenied), world.uow("requester_sb") as uow:
        dispatch.approve(uow, number)
    with world.uow("dispatcher2") as uow:
        assert dispatch.approve(uow, number).state == "approved"  # no stock: nothing held


def test_partial_fill_shows_its_shortage_and_tops_up_later(world, engine):
    stock_up(world, "SB", "TENT-12", "T-SB", 30)
    number = file_dispatch_request(world, [TENTS, {"item": "RICE-10", "quantity": 5}])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    view = snapshot(engine, number)
    assert view["state"] == "allocated"
    assert (line(view)["allocated"], line(view)["shortage"]) == (30, 20)
    assert (line(view, "RICE-10")["allocated"], line(view, "RICE-10")["shortage"]) == (0, 5)
    stock_up(world, "ZX", "TENT-12", "T-ZX", 100)
    with world.uow("dispatcher") as uow:
        dispatch.allocate(uow, number)
    view = snapshot(engine, number)
    assert (line(view)["allocated"], line(view)["shortage"]) == (50, 0)
    assert reserved_total(engine) == 50
    assert_books_balance(engine)


def test_no_stock_at_all_stays_approved_with_the_shortage_recorded(world, engine):
    number = file_dispatch_request(world, [TENTS])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    view = snapshot(engine, number)
    assert view["state"] == "approved"
    assert line(view)["shortage"] == 50
    with Session(engine) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "dispatch_allocation_short" in actions


def test_other_counties_reserves_need_the_dispatchers_permission(world, engine):
    stock_up(world, "YR", "TENT-12", "T-YR", 100)  # 永仁 county's own reserve
    number = file_dispatch_request(world, [TENTS])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    assert line(snapshot(engine, number))["allocated"] == 0
    with world.uow("dispatcher") as uow:
        dispatch.allocate(uow, number, allow_other_counties=True)
    view = snapshot(engine, number)
    assert view["allow_other_counties"] is True
    assert line(view)["allocated"] == 50


def test_expired_and_unavailable_lots_are_never_reserved(world, engine):
    today = local_today()  # expiry dates are Asia/Shanghai calendar days
    stock_up(world, "SB", "RICE-10", "OLD", 10, expiry_date=today.isoformat())
    stock_up(world, "SB", "RICE-10", "GOOD", 10, production_date=today.isoformat())
    number = file_dispatch_request(world, [{"item": "RICE-10", "quantity": 15}])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    view = snapshot(engine, number)
    assert [(p["lot"], p["quantity"]) for p in view["picks"]] == [("GOOD", 10)]
    assert line(view, "RICE-10")["shortage"] == 5


def test_cancelling_an_allocated_request_releases_its_reservations(world, engine):
    stock_up(world, "SB", "TENT-12", "T-SB", 80)
    number = file_dispatch_request(world, [TENTS])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    assert reserved_total(engine) == 50
    with pytest.raises(Conflict), world.uow("requester_sb") as uow:
        dispatch.cancel(uow, number, reason="灾情缓解")  # requesters only before approval
    with world.uow("dispatcher") as uow:
        dispatch.cancel(uow, number, reason="灾情缓解，改由县级自筹")
    view = snapshot(engine, number)
    assert view["state"] == "cancelled" and view["cancelled_at"] is not None
    assert all(p["state"] == "released" for p in view["picks"])
    assert reserved_total(engine) == 0
    assert_books_balance(engine)


def test_reject_needs_a_reason_and_a_submitted_request(world, engine):
    number = file_dispatch_request(world, [TENTS], submit=False)
    with pytest.raises(Conflict), world.uow("dispatcher") as uow:
        dispatch.reject(uow, number, reason="重复申请")
    with world.uow("requester_sb") as uow:
        dispatch.submit(uow, number)
    with pytest.raises(InvalidInput) as caught, world.uow("dispatcher") as uow:
        dispatch.reject(uow, number, reason=" ")
    assert caught.value.field == "reason"
    with world.uow("dispatcher") as uow:
        dispatch.reject(uow, number, reason="重复申请")
    view = snapshot(engine, number)
    assert (view["state"], view["decision_note"]) == ("rejected", "重复申请")


def test_unknown_and_malformed_numbers_are_not_found(world):
    for number in ("DB-2025-999999", "nope", "DB-2025-1\x00", 12):
        with pytest.raises(NotFound), world.uow("dispatcher") as uow:
            dispatch.submit(uow, number)


# -- dispatch, receipt, return -------------------------------------------------------------


def allocated_request(world, tents: int = 50) -> str:
    stock_up(world, "SB", "TENT-12", "T-SB", 30)
    stock_up(world, "ZX", "TENT-12", "T-ZX", 100)
    number = file_dispatch_request(world, [{"item": "TENT-12", "quantity": tents}])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    return number


def test_keepers_dispatch_their_own_depots_picks(world, engine):
    number = allocated_request(world)
    with pytest.raises(PermissionDenied), world.uow("keeper_sb") as uow:
        shipping.dispatch(uow, number, depot="ZX")
    with pytest.raises(PermissionDenied), world.uow("dispatcher") as uow:
        shipping.dispatch(uow, number)
    with world.uow("keeper_sb") as uow:
        [document] = shipping.dispatch(uow, number)
        sb_number = document.number
    view = snapshot(engine, number)
    assert view["state"] == "allocated"  # ZX's picks are still on the shelf
    assert line(view)["dispatched"] == 30
    with pytest.raises(Conflict), world.uow("keeper_sb") as uow:
        shipping.dispatch(uow, number)  # nothing left for SB
    with world.uow("keeper_zx") as uow:
        shipping.dispatch(uow, number, depot="ZX")
    view = snapshot(engine, number)
    assert view["state"] == "dispatched" and view["dispatched_at"] is not None
    assert {p["state"] for p in view["picks"]} == {"dispatched"}
    with Session(engine) as session:
        document = session.scalar(select(StockDocument).where(StockDocument.number == sb_number))
        assert (document.kind, document.state) == (DocKind.DISPATCH, DocState.IN_TRANSIT)
        assert document.authority_order == number
        transit = session.scalar(select(Location).where(Location.code == "VIRT-TRANSIT"))
        in_transit = session.scalar(
            select(func.sum(Quant.on_hand)).where(Quant.location_id == transit.id)
        )
    assert in_transit == 50
    assert reserved_total(engine) == 0
    assert_books_balance(engine)


def test_cancel_is_refused_once_goods_are_on_the_road(world):
    number = allocated_request(world)
    with world.uow("keeper_sb") as uow:
        shipping.dispatch(uow, number)
    with pytest.raises(Conflict), world.uow("dispatcher") as uow:
        dispatch.cancel(uow, number, reason="误操作")


def dispatched_request(world) -> str:
    number = allocated_request(world)
    with world.uow("keeper_sb") as uow:
        shipping.dispatch(uow, number)
    with world.uow("keeper_zx") as uow:
        shipping.dispatch(uow, number)
    return number


def test_receipt_with_shortfall_and_damage_becomes_documented_moves(world, engine):
    number = dispatched_request(world)
    confirm = [{"item": "TENT-12", "received": 45, "damaged": 2}]
    with pytest.raises(InvalidInput) as caught, world.uow("requester_sb") as uow:
        shipping.receive(uow, number, lines=confirm)
    assert caught.value.field == "note"
    with pytest.raises(InvalidInput) as caught, world.uow("requester_sb") as uow:
        shipping.receive(uow, number, lines=[{"item": "TENT-12", "received": 51}], note="x")
    assert caught.value.field == "lines[0].received"
    with pytest.raises(PermissionDenied), world.uow("dispatcher") as uow:
        shipping.receive(uow, number, lines=confirm, note="途中翻车")
    with world.uow("requester_sb") as uow:
        shipping.receive(uow, number, lines=confirm, note="途中遇塌方，3 顶遗失，2 顶破损")
    view = snapshot(engine, number)
    assert view["state"] == "received" and view["receiver"] == "requester_sb"
    assert (line(view)["received"], line(view)["damaged"], line(view)["short"]) == (45, 2, 3)
    assert view["hours_to_receipt"] is not None
    with Session(engine) as session:
        places = dict(session.execute(select(Location.id, Location.code)).all())
        moves = session.scalars(
            select(Move)
            .join(StockDocument, StockDocument.id == Move.document_id)
            .where(StockDocument.source_ref == number)
        ).all()
        documents = session.scalars(
            select(StockDocument).where(StockDocument.source_ref == number)
        ).all()
    arrived = sum(m.quantity for m in moves if places[m.to_location_id] == "CTY-532322")
    lost = sum(m.quantity for m in moves if places[m.to_location_id] == "VIRT-LOSS")
    assert (arrived, lost) == (45, 5)
    assert {d.state for d in documents} == {DocState.DONE}
    assert any("塌方" in d.reason for d in documents)
    assert_books_balance(engine)


def test_close_after_receipt_stamps_every_transition(world, engine):
    number = dispatched_request(world)
    with world.uow("requester_sb") as uow:
        shipping.receive(uow, number, lines=[{"item": "TENT-12", "received": 50}])
    with world.uow("dispatcher") as uow:
        dispatch.close(uow, number, note="物资已全部发放")
    view = snapshot(engine, number)
    assert view["state"] == "closed"
    stamps = [view[f"{s}_at"] for s in ("created", "submitted", "approved", "allocated")]
    stamps += [view[f"{s}_at"] for s in ("dispatched", "received", "closed")]
    assert all(stamps) and stamps == sorted(stamps)
    assert view["hours_to_dispatch"] <= view["hours_to_receipt"]


def test_reusable_goods_come_back_inspected(world, engine):
    number = dispatched_request(world)
    with world.uow("requester_sb") as uow:
        shipping.receive(uow, number, lines=[{"item": "TENT-12", "received": 50}])
    back = [
        {"item": "TENT-12", "lot": "T-SB", "available": 20, "damaged": 5, "scrap": 3},
    ]
    with pytest.raises(PermissionDenied), world.uow("keeper_zx") as uow:
        shipping.return_goods(uow, number, depot="SB", lines=back)
    with pytest.raises(InvalidInput) as caught, world.uow("keeper_sb") as uow:
        shipping.return_goods(
            uow, number, depot="SB", lines=[{"item": "TENT-12", "lot": "T-SB", "available": 31}]
        )
    assert caught.value.field == "lines[0].available"
    with world.uow("keeper_sb") as uow:
        document = shipping.return_goods(uow, number, depot="SB", lines=back, note="灾后回收")
        assert (document.kind, document.state) == (DocKind.RETURN, DocState.DONE)
    view = snapshot(engine, number)
    assert line(view)["returned"] == 28
    with Session(engine) as session:
        damaged = session.scalar(select(Lot).where(Lot.number == "T-SB-DMG"))
        assert damaged.status == "damaged"
    from relief_inventory.stock.queries import depot_item_on_hand

    with Session(engine) as session:
        assert depot_item_on_hand(session, "SB", "TENT-12") == 25  # 20 good + 5 damaged
    with pytest.raises(InvalidInput), world.uow("keeper_sb") as uow:  # only 2 left of T-SB
        shipping.return_goods(
            uow, number, depot="SB", lines=[{"item": "TENT-12", "lot": "T-SB", "available": 3}]
        )
    assert_books_balance(engine)


def test_consumables_cannot_be_returned(world, engine):
    stock_up(world, "SB", "RICE-10", "R-SB", 10)
    number = file_dispatch_request(world, [{"item": "RICE-10", "quantity": 10}])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    with world.uow("keeper_sb") as uow:
        shipping.dispatch(uow, number)
    with world.uow("requester_sb") as uow:
        shipping.receive(uow, number, lines=[{"item": "RICE-10", "received": 10}])
    with pytest.raises(InvalidInput) as caught, world.uow("keeper_sb") as uow:
        shipping.return_goods(
            uow, number, depot="SB", lines=[{"item": "RICE-10", "lot": "R-SB", "available": 1}]
        )
    assert caught.value.field == "lines[0].item"


# -- emergency: dispatch first, paperwork after (先调拨、后补手续) ---------------------------


def test_emergency_approval_dispatches_at_once_and_needs_a_countersignature(world, engine):
    stock_up(world, "SB", "TENT-12", "T-SB", 80)
    number = file_dispatch_request(world, [TENTS], urgency="critical")
    with world.uow("dispatcher") as uow:
        dispatch.approve(
            uow, number, emergency_response="州启动地震Ⅲ级应急响应", countersign_hours=24
        )
    view = snapshot(engine, number)
    assert view["state"] == "dispatched" and view["emergency"] is True
    assert view["countersign_due_at"] is not None and not view["countersign_overdue"]
    later = utcnow() + timedelta(hours=25)
    with Session(engine) as session:
        assert [r.number for r in overdue_countersignatures(session, later)] == [number]
    with world.uow("dispatcher2") as uow:
        flagged = dispatch.flag_overdue_countersignatures(uow, now=later)
        assert [r.number for r in flagged] == [number]
    with world.uow("dispatcher2") as uow:  # flagged once only
        assert dispatch.flag_overdue_countersignatures(uow, now=later) == []
    with Session(engine) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "countersign_overdue")
        ).all()
    assert len(entries) == 1 and number in entries[0].changes
    with world.uow("requester_sb") as uow:
        shipping.receive(uow, number, lines=[{"item": "TENT-12", "received": 50}])
    with pytest.raises(Conflict), world.uow("dispatcher2") as uow:
        dispatch.close(uow, number)  # not before the countersignature
    with pytest.raises(PermissionDenied), world.uow("dispatcher") as uow:
        dispatch.countersign(uow, number)  # not the approver
    with world.uow("dispatcher2") as uow:
        dispatch.countersign(uow, number, note="补办审批手续")
    with pytest.raises(Conflict), world.uow("dispatcher2") as uow:
        dispatch.countersign(uow, number)
    with world.uow("dispatcher2") as uow:
        dispatch.close(uow, number)
    view = snapshot(engine, number)
    assert view["countersigner"] == "dispatcher2" and view["state"] == "closed"
    assert_books_balance(engine)


def test_emergency_mode_is_only_for_critical_requests(world):
    number = file_dispatch_request(world, [TENTS], urgency="urgent")
    with pytest.raises(InvalidInput) as caught, world.uow("dispatcher") as uow:
        dispatch.approve(uow, number, emergency_response="州启动Ⅳ级响应")
    assert caught.value.field == "emergency_response"


def test_countersign_is_only_for_emergencies(world):
    number = allocated_request(world)
    with pytest.raises(Conflict), world.uow("dispatcher2") as uow:
        dispatch.countersign(uow, number)


def test_line_totals_match_reservations(world, engine):
    dispatched_request(world)
    with Session(engine) as session:
        for dispatch_line in session.scalars(select(DispatchLine)):
            held = session.scalar(
                select(func.sum(Reservation.quantity)).where(
                    Reservation.line_id == dispatch_line.id, Reservation.state != "released"
                )
            )
            assert held == dispatch_line.allocated == dispatch_line.dispatched
