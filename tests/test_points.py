"""Township stock points (乡镇/村组预置点) on SQLite and PostgreSQL: created below a county
depot in one of its county's townships, kept by that depot's keepers (and their own), stocked
by transfer under the one ownership rule, drawn first by their county's requests, named as a
scenario's place, covered by ``relief check``, listed by the API and the back office."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation.models import Reservation
from relief_inventory.auth import services as auth
from relief_inventory.auth.models import User
from relief_inventory.checks import run_checks
from relief_inventory.cli import main
from relief_inventory.errors import Conflict, InvalidInput, PermissionDenied
from relief_inventory.readiness import check
from relief_inventory.readiness import services as readiness
from relief_inventory.stock import services as stock
from relief_inventory.timeutil import local_today
from relief_inventory.warehouse import services as warehouse
from relief_inventory.warehouse.models import Depot
from tests.factories import PASSWORD, bearer, build_world, file_dispatch_request
from tests.spec_check import validate_answer

DAZHUANG = "532322102"


@pytest.fixture
def world(engine):
    world = build_world(engine)
    with world.uow() as uow:
        warehouse.create_township(
            uow, DAZHUANG, "大庄镇", "532322", "24.66", "101.50", high_risk=True
        )
        warehouse.create_township(uow, "532327201", "维的乡", "532327", "26.25", "101.50")
        warehouse.create_point(
            uow, code="SBDZ", name="大庄镇预置点", parent_code="SB", township_code=DAZHUANG
        )
        auth.create_user(uow, "keeper_dz", PASSWORD)
        auth.grant_role(uow, "keeper_dz", "keeper", depot_code="SBDZ")
    _refresh(world)
    return world


def _refresh(world) -> None:
    with Session(world.engine) as session:
        for user in session.scalars(select(User)):
            world.actors[user.username] = auth.actor_for(session, user)


def _receive(world, depot: str, owner: str, quantity: int, lot: str) -> None:
    keeper = {"SB": "keeper_sb", "ZX": "keeper_zx"}[depot]
    with world.uow(keeper) as uow:
        stock.receive(
            uow,
            depot=depot,
            lines=[{"item": "TENT-12", "lot": lot, "owner": owner, "quantity": quantity}],
            authority_order="" if owner in ("532322", "532300") else "民发〔2024〕1号",
        )


def _preposition(world, quantity: int, lot: str = "T-SB-OWN") -> None:
    with world.uow("keeper_sb") as uow:
        moved = stock.transfer(
            uow,
            from_depot="SB",
            to_depot="SBDZ",
            lines=[{"item": "TENT-12", "lot": lot, "owner": "532322", "quantity": quantity}],
        )
    with world.uow("keeper_dz") as uow:
        stock.complete_transfer(uow, moved.number)


def test_a_point_hangs_below_a_county_depot_of_its_township(world):
    with world.uow() as uow:
        with pytest.raises(InvalidInput) as refused:
            warehouse.create_point(
                uow, code="ZXDZ", name="x", parent_code="ZX", township_code=DAZHUANG
            )
        assert refused.value.field == "parent"
        with pytest.raises(InvalidInput) as refused:
            warehouse.create_point(
                uow, code="YRDZ", name="x", parent_code="YR", township_code=DAZHUANG
            )
        assert refused.value.field == "township"
        with pytest.raises(InvalidInput) as refused:
            warehouse.create_point(
                uow, code="SBDZ2", name="x", parent_code="SBDZ", township_code=DAZHUANG
            )
        assert refused.value.field == "parent"  # no point below a point
        with pytest.raises(InvalidInput) as refused:
            warehouse.create_township(uow, "532301101", "x", "532322", "24", "101")
        assert refused.value.field == "code"  # a township code begins with its county's
        for lat in ("2.5e1", "25,1", 25.1):  # no exponent, separator or float
            with pytest.raises(InvalidInput) as refused:
                warehouse.create_township(uow, "532322109", "x", "532322", lat, "101")
            assert refused.value.field == "lat"
    with Session(world.engine) as session:
        point = session.scalar(select(Depot).where(Depot.code == "SBDZ"))
        assert point.is_point and point.level == "county"  # it holds its county's reserve
        assert (str(point.lat), str(point.lon)) == ("24.66000", "101.50000")


def test_keepers_of_the_depot_above_keep_the_point_and_its_own_keeper_only_it(world):
    points = {world.actors["keeper_sb"].depot_ids, world.actors["keeper_dz"].depot_ids}
    with Session(world.engine) as session:
        sb, dz = (session.scalar(select(Depot.id).where(Depot.code == c)) for c in ("SB", "SBDZ"))
    assert points == {frozenset({sb, dz}), frozenset({dz})}
    _receive(world, "SB", "532322", 40, "T-SB-OWN")
    with world.uow("keeper_dz") as uow, pytest.raises(PermissionDenied):
        stock.transfer(
            uow, from_depot="SB", to_depot="SBDZ", lines=[{"item": "TENT-12", "quantity": 1}]
        )


def test_county_reserve_moves_to_its_point_freely_and_higher_reserves_need_an_order(world):
    _receive(world, "SB", "532322", 40, "T-SB-OWN")
    _receive(world, "SB", "CN", 30, "T-SB-CN")
    _preposition(world, 25)
    with world.uow("keeper_sb") as uow, pytest.raises(InvalidInput) as refused:
        stock.transfer(
            uow,
            from_depot="SB",
            to_depot="SBDZ",
            lines=[{"item": "TENT-12", "lot": "T-SB-CN", "owner": "CN", "quantity": 5}],
        )
    assert "调令" in refused.value.message
    with Session(world.engine) as session:
        assert all(not problems for problems in run_checks(session).values())


def test_a_countys_request_draws_on_its_own_points_first(world):
    _receive(world, "SB", "532322", 40, "T-SB-OWN")
    _preposition(world, 25)
    number = file_dispatch_request(world, [{"item": "TENT-12", "quantity": 30}])
    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    with Session(world.engine) as session:
        rows = session.execute(
            select(Depot.code, Reservation.quantity)
            .join(Depot, Depot.id == Reservation.depot_id)
            .order_by(Depot.code)
        ).all()
    assert dict(rows) == {"SBDZ": 25, "SB": 5}


def test_a_depot_with_an_active_point_stays_active_and_a_point_needs_its_depot(world):
    with world.uow() as uow, pytest.raises(Conflict) as refused:
        warehouse.set_depot_active(uow, "SB", False)
    assert "SBDZ" in refused.value.message
    with world.uow() as uow, pytest.raises(Conflict):
        warehouse.set_township_active(uow, DAZHUANG, False)
    with world.uow() as uow:
        warehouse.set_depot_active(uow, "SBDZ", False)
        warehouse.set_depot_active(uow, "SB", False)
    with world.uow() as uow, pytest.raises(Conflict):
        warehouse.set_depot_active(uow, "SBDZ", True)


def test_a_scenario_can_name_a_township_and_uses_its_measured_roads(world):
    _receive(world, "SB", "532322", 40, "T-SB-OWN")
    _preposition(world, 25)
    with Session(world.engine) as session:
        spec = check.parse(township=DAZHUANG, relocated=200, days=1, session=session)
        assert (spec.county, spec.township) == ("532322", DAZHUANG)
        with pytest.raises(InvalidInput) as refused:
            check.parse(county="532327", township=DAZHUANG, relocated=1, days=1, session=session)
        assert refused.value.field == "township"
        with pytest.raises(InvalidInput) as refused:
            check.parse(township="532322999", relocated=1, days=1, session=session)
        assert refused.value.field == "township"
    with world.uow("dispatcher") as uow:
        readiness.set_township_road(uow, "SBDZ", DAZHUANG, km="0", hours="0.2")
    with Session(world.engine) as session:
        answer = check.run(session, spec)
    assert (answer["township_name"], answer["place_name"]) == ("大庄镇", "双柏县大庄镇")
    tents = next(line for line in answer["windows"][0]["lines"] if line["category"] == "TENT")
    first = tents["depots"][0]
    assert (first["depot"], first["km"], first["estimated"]) == ("SBDZ", 0.0, False)
    assert first["items"][0]["quantity"] == 25


def test_api_lists_townships_and_points_with_the_depot_above(world, app):
    client = app.test_client()
    headers = bearer(world, "auditor")
    townships = client.get("/api/v1/townships", headers=headers).json
    assert [(t["code"], t["points"], t["high_risk"]) for t in townships] == [
        (DAZHUANG, ["SBDZ"], True),
        ("532327201", [], False),
    ]
    depots = {d["code"]: d for d in client.get("/api/v1/depots", headers=headers).json}
    assert (depots["SBDZ"]["parent"], depots["SBDZ"]["township_name"]) == ("SB", "大庄镇")
    assert depots["SB"]["parent"] is None


def test_api_and_cli_check_a_township_scenario(world, app, db_url):
    _receive(world, "SB", "532322", 40, "T-SB-OWN")
    _preposition(world, 25)
    client = app.test_client()
    body = {"township": DAZHUANG, "relocated": 200, "days": 1}
    answer = client.post(
        "/api/v1/readiness/scenario", json=body, headers=bearer(world, "dispatcher")
    )
    assert answer.status_code == 200, answer.get_json()
    validate_answer("POST", "/api/v1/readiness/scenario", answer)
    assert (answer.json["county"], answer.json["township"]) == ("532322", DAZHUANG)
    unknown = client.post(
        "/api/v1/readiness/scenario",
        json={**body, "township": "532322999"},
        headers=bearer(world, "dispatcher"),
    )
    assert unknown.status_code == 422 and "township" in unknown.json["errors"]
    other = client.post(
        "/api/v1/readiness/scenario",
        json={"township": "532327201", "relocated": 10, "days": 1},
        headers=bearer(world, "requester_sb"),
    )
    assert other.status_code == 403  # another county's township is another county's scenario
    run = CliRunner().invoke(
        main,
        ["readiness", "scenario", "--township", DAZHUANG, "--relocated", "200", "--days", "1"],
        env={"RELIEF_DATABASE_URL": db_url},
    )
    assert run.exit_code == 0, run.output
    assert "双柏县大庄镇（532322102）转移安置 200 人" in run.output and "SBDZ" in run.output


def test_back_office_lists_points_and_townships(world, app):
    from tests.backoffice_tools import login

    client = app.test_client()
    login(client, "admin")
    depots = client.get("/master/depots/").get_data(as_text=True)
    assert "乡镇预置点" in depots and "大庄镇预置点" in depots
    townships = client.get("/master/townships/").get_data(as_text=True)
    assert "大庄镇" in townships and "维的乡" in townships
    scenario = client.get(f"/readiness/?township={DAZHUANG}&relocated=100&days=1")
    assert "双柏县大庄镇转移安置" in scenario.get_data(as_text=True)
    requester = app.test_client()
    login(requester, "requester_sb")
    own = requester.get("/master/townships/").get_data(as_text=True)
    assert "大庄镇" in own and "维的乡" not in own  # another county's townships stay hidden


def test_stocked_point_keeps_fefo_and_usable_rules(world):
    """A point is a depot to the ledger: a lot expired there cannot leave it."""
    with world.uow("keeper_sb") as uow:
        stock.receive(
            uow,
            depot="SB",
            lines=[
                {
                    "item": "RICE-10",
                    "lot": "R-OWN",
                    "owner": "532322",
                    "quantity": 10,
                    "production_date": local_today().isoformat(),
                }
            ],
        )
        moved = stock.transfer(
            uow, from_depot="SB", to_depot="SBDZ", lines=[{"item": "RICE-10", "quantity": 10}]
        )
    with world.uow("keeper_dz") as uow:
        stock.complete_transfer(uow, moved.number)
        issued = stock.issue(
            uow, depot="SBDZ", county="532322", lines=[{"item": "RICE-10", "quantity": 4}]
        )
    assert issued.state == "done"
