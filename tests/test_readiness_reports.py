"""Disaster reports (灾情报告) on SQLite and PostgreSQL: filed by the county, verified by a
second person, corrected by new versions; only verified versions roll up; a dispatch
request cites its report and shows what it asks per relocated person against the standard."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation.queries import request_view
from relief_inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from relief_inventory.readiness import disaster
from relief_inventory.readiness.models import DisasterReport
from relief_inventory.readiness.queries import annual_figures
from relief_inventory.stock import services as stock
from tests.factories import bearer, build_world
from tests.spec_check import validate_answer

API = "/api/v1"
QUAKE = {
    "county": "532322",
    "hazard": "earthquake",
    "event_date": "2024-05-21",
    "title": "双柏县5.1级地震",
    "people_affected": 3200,
    "people_relocated": 800,
    "houses_damaged": 120,
    "loss_housing": "1200000.00",
    "loss_infrastructure": "350000.50",
}


@pytest.fixture
def world(engine):
    return build_world(engine)


def file(world, who="requester_sb", **overrides):
    with world.uow(who) as uow:
        return disaster.file_report(uow, **{**QUAKE, **overrides}).number


def test_versions_verification_and_the_roll_up(world, engine):
    number = file(world)
    with pytest.raises(PermissionDenied), world.uow("requester_sb") as uow:  # not the county
        disaster.verify(uow, number)
    with Session(engine) as session:
        assert annual_figures(session, 2024)["total"]["people_affected"] == 0
    with world.uow("requester_sb") as uow:  # a correction before verification
        disaster.correct(uow, number, people_affected=3400, loss_public="1000.00")
    with world.uow("dispatcher") as uow:
        disaster.verify(uow, number, note="已抽查核实")
    with pytest.raises(Conflict), world.uow("dispatcher2") as uow:
        disaster.verify(uow, number)
    own = file(world, who="dispatcher", people_affected=10, people_relocated=0)
    with pytest.raises(PermissionDenied), world.uow("dispatcher") as uow:  # not the filer
        disaster.verify(uow, own)
    with world.uow("dispatcher2") as uow:
        disaster.reject(uow, own, reason="人数待核实")
    with Session(engine) as session:
        versions = session.execute(
            select(DisasterReport.version, DisasterReport.state, DisasterReport.people_affected)
            .where(DisasterReport.number == number)
            .order_by(DisasterReport.version)
        ).all()
        assert versions == [(1, "superseded", 3200), (2, "verified", 3400)]
        figures = annual_figures(session, 2024)
    total = figures["total"]
    assert (total["reports"], total["people_affected"], total["people_relocated"]) == (1, 3400, 800)
    assert total["direct_loss"] == Decimal("1551000.50")
    assert figures["awaiting_verification"] == 0  # the rejected one is not pending either


def test_bad_reports_name_their_field(world):
    for overrides, field in (
        ({"people_relocated": 4000}, "people_relocated"),
        ({"hazard": "meteor"}, "hazard"),
        ({"event_date": "2024-13-01"}, "event_date"),
        ({"loss_housing": 12.5}, "loss_housing"),
        ({"title": ""}, "title"),
        ({"people_affected": -1}, "people_affected"),
    ):
        with pytest.raises(InvalidInput) as refused:
            file(world, **overrides)
        assert refused.value.field == field, overrides
    with pytest.raises(PermissionDenied):  # another county's requester
        file(world, county="532327")
    number = file(world)
    with pytest.raises(NotFound), world.uow("requester_sb") as uow:
        disaster.correct(uow, "ZQ-2024-999999", people_affected=1)
    with pytest.raises(InvalidInput) as refused, world.uow("requester_sb") as uow:
        disaster.correct(uow, number, houses=3)
    assert refused.value.field == "houses"


def test_a_request_cites_its_report_against_the_standard(world, engine):
    number = file(world)
    with world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="SB", lines=[{"item": "TENT-12", "lot": "T-SB", "quantity": 30}])
    with world.uow("requester_sb") as uow:
        request, _ = dispatch.create(
            uow,
            county="532322",
            disaster_type="earthquake",
            urgency="urgent",
            people_affected=3200,
            lines=[{"item": "TENT-12", "quantity": 100}],
            disaster_report=number,
        )
        asked = request.number
    with Session(engine) as session:
        view = request_view(session, world.actors["dispatcher"], dispatch_request(session, asked))
    check = view["report_check"]
    assert (view["disaster_report"], check["people_relocated"]) == (number, 800)
    assert check["lines"] == [
        {
            "item": "TENT-12",
            "quantity": 100,
            "measure": "顶",
            "per_relocated": "0.13",  # 100 tents for 800 people
            "standard": "每户1顶",
            "standard_per_person": "0.25",  # one per household of four
        }
    ]
    other = file(world, who="dispatcher", county="532327", title="永仁县洪涝")
    with pytest.raises(InvalidInput) as refused, world.uow("requester_sb") as uow:
        dispatch.create(
            uow,
            county="532322",
            disaster_type="flood",
            urgency="urgent",
            people_affected=1,
            lines=[{"item": "TENT-12", "quantity": 1}],
            disaster_report=other,
        )
    assert refused.value.field == "disaster_report"


def dispatch_request(session, number):
    from relief_inventory.allocation.common import request_by_number

    return request_by_number(session, number)


def test_api_reports_verify_correct_and_figures(world, client, app):
    requester, dispatcher = bearer(world, "requester_sb"), bearer(world, "dispatcher")

    def call(method, path, headers, status=200, **kwargs):
        response = client.open(API + path, method=method, headers=headers, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        validate_answer(method, API + path, response)
        return response.get_json()

    key = {**requester, "Idempotency-Key": "sb-quake-report-1"}
    made = call("POST", "/readiness/disaster-reports", key, 201, json=QUAKE)
    number = made["number"]
    assert made["versions"][0]["state"] == "submitted"
    assert call("POST", "/readiness/disaster-reports", key, 200, json=QUAKE)["number"] == number
    bad = {**QUAKE, "loss_housing": 1200000}
    assert (
        "loss_housing"
        in call("POST", "/readiness/disaster-reports", requester, 422, json=bad)["errors"]
    )
    call("POST", f"/readiness/disaster-reports/{number}/verify", requester, 403, json={})
    fixed = call(
        "POST",
        f"/readiness/disaster-reports/{number}/correct",
        requester,
        json={"people_relocated": 900},
    )
    assert [v["state"] for v in fixed["versions"]] == ["submitted", "superseded"]
    assert fixed["versions"][0]["people_affected"] == 3200  # carried over
    done = call(
        "POST", f"/readiness/disaster-reports/{number}/verify", dispatcher, json={"note": "属实"}
    )
    assert done["versions"][0]["verified_by"] == "dispatcher"
    figures = call("GET", "/readiness/disaster-figures?year=2024", dispatcher)
    assert figures["total"]["people_relocated"] == 900
    assert figures["total"]["direct_loss"] == "1550000.50"
    listed = call("GET", "/readiness/disaster-reports?year=2024", requester)
    assert [r["number"] for r in listed["results"]] == [number]
    yongren = bearer(world, "admin")
    call("GET", "/readiness/disaster-reports/ZQ-2024-999999", yongren, 404)
    call("GET", "/readiness/disaster-figures", dispatcher, 422)
