"""A small world with one of every printable document, for the printing tests."""

from __future__ import annotations

from dataclasses import dataclass

from relief_inventory.allocation import requests as dispatch
from relief_inventory.stock import services as stock
from tests.factories import World, build_world, file_dispatch_request, receive_basic
from tests.funds_factories import make_appropriation, make_source, paid_release


@dataclass
class Papers:
    world: World
    receipt: str
    transfer: str
    issue: str
    scrap: str
    count: str
    request: str
    release: str


def build_papers(engine) -> Papers:
    world = build_world(engine)
    receipt = receive_basic(world, 300)
    receive_basic(world, 200, depot="SB")
    with world.uow("keeper_zx") as uow:
        transfer = stock.transfer(
            uow,
            from_depot="ZX",
            to_depot="SB",
            reason="汛前预置<script>alert(1)</script>",
            authority_order="楚应急调〔2024〕5号",
            lines=[{"item": "TENT-12", "quantity": 20}],
        ).number
    with world.uow("keeper_sb") as uow:
        issue = stock.issue(
            uow,
            depot="SB",
            county="532322",
            reason="安置受灾群众",
            lines=[{"item": "RICE-10", "quantity": 30}],
        ).number
    with world.uow("keeper_zx") as uow:
        scrap = stock.propose_scrap(
            uow,
            depot="ZX",
            reason="霉变报废",
            lines=[{"item": "RICE-10", "lot": "R-ZX-1", "quantity": 5}],
        ).number
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, scrap)
    request = file_dispatch_request(
        world, [{"item": "TENT-12", "quantity": 350}, {"item": "RICE-10", "quantity": 600}]
    )
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, request)
    # After the allocation: a draft count holds its lot until it is approved.
    with world.uow("keeper_zx") as uow:
        count = stock.propose_count(
            uow,
            depot="ZX",
            reason="季度盘点",
            lines=[{"item": "RICE-10", "lot": "R-ZX-1", "counted": 293}],
        ).number
    appropriation = make_appropriation(world, make_source(world), "200000.00")
    release = paid_release(world, appropriation, "12345.60", beneficiaries=60)
    return Papers(world, receipt, transfer, issue, scrap, count, request, release)
