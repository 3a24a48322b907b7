"""Money -> materials -> counties: purchase links and the trace both ways."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from relief_inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from relief_inventory.funds import queries
from relief_inventory.funds import services as funds
from relief_inventory.funds.check import check_funds
from relief_inventory.funds.models import Purpose
from relief_inventory.stock import services as stock
from tests.factories import bearer, build_world, receive_basic
from tests.funds_factories import (
    funded_appropriation,
    make_appropriation,
    make_source,
    paid_release,
)


@pytest.fixture
def world(engine):
    return build_world(engine)


def buy_tents(world, appropriation: str, amount: str = "14500.00", lot: str = "T-2024-07") -> str:
    """What the receipt API does: receive and link in one unit of work."""
    with world.uow("keeper_zx") as uow:
        receipt = stock.receive(
            uow,
            depot="ZX",
            partner="昆明军需帐篷厂",
            lines=[{"item": "TENT-12", "lot": lot, "quantity": 10}],
        )
        funds.record_purchase(uow, appropriation, receipt.number, amount)
        return receipt.number


def test_a_tent_traces_back_to_the_fund_and_forward_to_the_county(world, engine):
    appropriation = funded_appropriation(world, materials="20000.00")
    receipt = buy_tents(world, appropriation)
    with world.uow("keeper_zx") as uow:
        stock.issue(
            uow,
            depot="ZX",
            county="532322",
            lines=[{"item": "TENT-12", "lot": "T-2024-07", "quantity": 6}],
        )
    with Session(engine) as session:
        back = queries.trace_lot(session, world.actors["finance"], "TENT-12", "T-2024-07")
        forward = queries.trace_appropriation(session, world.actors["auditor"], appropriation)
        assert check_funds(session) == []
    [found] = back["receipts"]
    assert found["receipt"] == receipt
    assert found["quantity"] == 10
    [fund] = found["funds"]
    assert fund["appropriation"] == appropriation
    assert fund["amount"] == Decimal("14500.00")
    assert fund["county"] == "532322"
    assert fund["source"].startswith("ZJ-")
    assert fund["kind"] == "winter_spring"
    assert back["destinations"] == [
        {
            "item": "TENT-12",
            "lot": "T-2024-07",
            "county": "532322",
            "county_name": "双柏县",
            "quantity": 6,
        }
    ]
    [purchase] = forward["purchases"]
    assert purchase["receipt"] == receipt
    assert purchase["lines"][0]["quantity"] == 10
    assert forward["destinations"][0]["quantity"] == 6


def test_trace_over_http(app, client):
    world = build_world(app.extensions["relief_engine"])
    appropriation = funded_appropriation(world)
    buy_tents(world, appropriation)
    headers = bearer(world, "auditor")
    back = client.get("/api/v1/funds/trace?item=TENT-12&lot=T-2024-07", headers=headers)
    assert back.status_code == 200, back.json
    assert back.json["receipts"][0]["funds"][0]["appropriation"] == appropriation
    assert back.json["receipts"][0]["funds"][0]["amount"] == "14500.00"
    forward = client.get(f"/api/v1/funds/appropriations/{appropriation}/trace", headers=headers)
    assert forward.status_code == 200
    assert forward.json["purchases"][0]["amount"] == "14500.00"
    assert forward.json["purchases"][0]["lines"][0]["item"] == "TENT-12"
    refused = client.get(
        "/api/v1/funds/trace?item=TENT-12&lot=T-2024-07", headers=bearer(world, "requester_sb")
    )
    assert refused.status_code == 403


def test_a_purchase_needs_paid_materials_money(world, engine):
    appropriation = make_appropriation(world, make_source(world))
    paid_release(world, appropriation, "5000.00")  # living aid does not buy tents
    with pytest.raises(Conflict) as refused:
        buy_tents(world, appropriation, "100.00")
    assert refused.value.field == "amount"
    with Session(engine) as session, pytest.raises(NotFound):  # no link, no receipt either
        queries.trace_lot(session, world.actors["admin"], "TENT-12", "T-2024-07")


def test_purchase_links_are_bounded_and_checked(world):
    appropriation = funded_appropriation(world, materials="20000.00")
    buy_tents(world, appropriation, "14500.00")
    with pytest.raises(Conflict) as refused:
        buy_tents(world, appropriation, "5500.01", lot="T-2024-08")
    assert "5500.00" in refused.value.message
    buy_tents(world, appropriation, "5500.00", lot="T-2024-08")
    receipt = receive_basic(world, 5)
    with pytest.raises(Conflict), world.uow("finance") as uow:
        funds.record_purchase(uow, appropriation, receipt, "0.01")
    with pytest.raises(PermissionDenied), world.uow("keeper_sb") as uow:
        funds.record_purchase(uow, appropriation, receipt, "0.01")
    with world.uow("keeper_zx") as uow:
        issue = stock.issue(
            uow, depot="ZX", county="532322", lines=[{"item": "RICE-10", "quantity": 1}]
        )
    with pytest.raises(InvalidInput) as refused, world.uow("finance") as uow:
        funds.record_purchase(uow, appropriation, issue.number, "0.01")
    assert refused.value.field == "receipt"


def test_materials_money_behind_receipts_cannot_be_reversed(world):
    source = make_source(world)
    appropriation = make_appropriation(world, source)
    materials = paid_release(world, appropriation, "20000.00", purpose=Purpose.MATERIALS)
    buy_tents(world, appropriation, "14500.00")
    with pytest.raises(Conflict) as refused, world.uow("finance") as uow:
        funds.reverse_release(uow, materials, reason="误拨")
    assert "入库" in refused.value.message
