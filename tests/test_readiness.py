"""Readiness on a small prefecture, on SQLite and PostgreSQL: the scenario check through
the services, the API (answers as documented) and the CLI; it reserves nothing; road
distances replace estimates, in the scenario and in the dispatch allocator; the plan
becomes a draft dispatch request in one action."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.allocation import requests as dispatch
from relief_inventory.allocation.allocator import Point, straight_line_km
from relief_inventory.allocation.models import DispatchRequest, Reservation
from relief_inventory.cli import main
from relief_inventory.db import open_session
from relief_inventory.errors import InvalidInput
from relief_inventory.readiness import check, services
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import Quant
from relief_inventory.warehouse.models import Depot
from tests.factories import bearer, build_world
from tests.spec_check import validate_answer

API = "/api/v1"
ZX_TO_SB_KM = round(straight_line_km(Point(25.03, 101.55), Point(24.69, 101.64)) * 1.5, 1)
ZX_HOURS = round(1 + round(ZX_TO_SB_KM / 40, 1), 1)  # loading 1 h, then 40 km/h


@pytest.fixture
def world(engine):
    world = build_world(engine)
    with world.uow("keeper_zx") as uow:
        stock.receive(
            uow,
            depot="ZX",
            lines=[
                {"item": "TENT-12", "lot": "T-ZX", "quantity": 100},
                {
                    "item": "RICE-10",
                    "lot": "R-ZX",
                    "quantity": 100,
                    "production_date": date.today().isoformat(),
                },
            ],
        )
    with world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="SB", lines=[{"item": "TENT-12", "lot": "T-SB", "quantity": 40}])
    with world.uow("dispatcher") as uow:  # the test world's food category has no default
        services.set_standard(uow, "FOOD", basis="per_person_day", amount="0.5", measure="kg")
    return world


def reserved(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.coalesce(func.sum(Quant.reserved), 0)))


def scenario(engine, **kwargs):
    with open_session(engine) as session:
        spec = check.parse(session=session, **kwargs)
        return check.run(session, spec)


def window(answer, hours):
    return {
        line["category"]: line
        for line in next(w for w in answer["windows"] if w["hours"] == hours)["lines"]
    }


def test_scenario_from_live_stock_reserves_nothing(world, engine):
    answer = scenario(engine, county="532322", relocated=400, days=2)
    six = window(answer, 6)
    tents, food = six["TENT"], six["FOOD"]
    assert (tents["needed"], tents["arrived"], tents["shortfall"]) == (100, "100", 0)
    assert [(d["depot"], d["hours"], d["items"][0]["quantity"]) for d in tents["depots"]] == [
        ("SB", 1.0, 40),
        ("ZX", ZX_HOURS, 60),
    ]
    assert tents["depots"][1]["estimated"] is True and tents["depots"][1]["km"] == ZX_TO_SB_KM
    assert (food["needed"], food["arrived"], food["depots"][0]["items"][0]["quantity"]) == (
        400,
        "400",
        40,
    )  # 0.5 kg × 400 × 2 days in 10 kg bags
    assert {p["item"]: p["quantity"] for p in answer["plan"]} == {"TENT-12": 100, "RICE-10": 40}
    assert reserved(engine) == 0 and answer["external"] == []
    cut = scenario(engine, county="532322", relocated=400, days=2, cut_off=["ZX"])
    assert {e["category"]: e["quantity"] for e in cut["external"]} == {"TENT": 60, "FOOD": 400}


def test_a_measured_road_replaces_the_estimate_here_and_in_the_allocator(world, engine):
    with world.uow("dispatcher") as uow:
        services.set_road_distance(uow, "ZX", "532322", km="180", hours="7.5", note="塌方绕行")
    answer = scenario(engine, county="532322", relocated=400, days=2)
    assert window(answer, 6)["TENT"]["shortfall"] == 60  # ZX's 60 now arrive after 8.5 h
    assert window(answer, 12)["TENT"]["shortfall"] == 0
    zx = next(s for s in answer["sources"] if s["depot"] == "ZX")
    assert (zx["km"], zx["drive_hours"], zx["hours"], zx["estimated"]) == (180.0, 7.5, 8.5, False)
    # the dispatch allocator measures by the same table: for 楚雄市 the prefecture depot ZX
    # (in the city) goes first, then the nearest county depot — SB by straight line, YR once
    # SB's road is recorded as 300 km
    with world.uow("admin") as uow:
        stock.receive(uow, depot="YR", lines=[{"item": "TENT-12", "lot": "T-YR", "quantity": 5}])
    assert allocated_from(world, engine) == {"ZX": 100, "SB": 3}
    with world.uow("dispatcher") as uow:
        services.set_road_distance(uow, "SB", "532301", km="300")
    assert allocated_from(world, engine) == {"ZX": 100, "YR": 3}


def allocated_from(world, engine) -> dict[str, int]:
    """Depot -> pieces reserved for a new 楚雄市 request of 103 tents (then cancelled)."""
    with world.uow("dispatcher") as uow:
        request, _ = dispatch.create(
            uow,
            county="532301",
            disaster_type="flood",
            urgency="urgent",
            people_affected=10,
            lines=[{"item": "TENT-12", "quantity": 103}],
            submit=True,
        )
        number = request.number
    with world.uow("dispatcher2") as uow:
        dispatch.approve(uow, number, allow_other_counties=True)
    with open_session(engine) as session:
        got = dict(
            session.execute(
                select(Depot.code, func.sum(Reservation.quantity))
                .join(Depot, Depot.id == Reservation.depot_id)
                .join(DispatchRequest, DispatchRequest.id == Reservation.request_id)
                .where(DispatchRequest.number == number)
                .group_by(Depot.code)
            ).all()
        )
    with world.uow("dispatcher") as uow:
        dispatch.cancel(uow, number, reason="测试后取消")
    return got


def test_bad_scenarios_are_refused_naming_the_field(world, engine):
    from relief_inventory.errors import InvalidInput, NotFound

    for kwargs, field in (
        ({"county": "532322", "relocated": 0, "days": 3}, "relocated"),
        ({"county": "532322", "relocated": 10, "days": 91}, "days"),
        ({"county": "532322", "relocated": 10}, "days"),
        ({"preset": "nowhere"}, "preset"),
        ({"county": "532322", "relocated": 10, "days": 1, "cut_off": ["NOPE"]}, "cut_off[0]"),
        ({"preset": "worst-2024"}, "preset"),
    ):
        with pytest.raises((InvalidInput, NotFound)) as refused:
            scenario(engine, **kwargs)
        assert refused.value.field == field, kwargs


def test_api_scenario_and_filing_the_plan(world, app, client, engine):
    dispatcher = bearer(world, "dispatcher")
    body = {"county": "532322", "relocated": 400, "days": 2, "cut_off": ["YR"]}
    answer = client.post(f"{API}/readiness/scenario", json=body, headers=dispatcher)
    assert answer.status_code == 200, answer.get_json()
    validate_answer("POST", f"{API}/readiness/scenario", answer)
    assert answer.get_json()["cut_off"] == ["YR"] and reserved(engine) == 0
    bad = client.post(f"{API}/readiness/scenario", json={**body, "days": "3"}, headers=dispatcher)
    assert bad.status_code == 422 and "days" in bad.get_json()["errors"]
    requester = bearer(world, "requester_sb")
    other = client.post(
        f"{API}/readiness/scenario", json={**body, "county": "532327"}, headers=requester
    )
    assert other.status_code == 403
    headers = {**dispatcher, "Idempotency-Key": "sb-m6-plan-1"}
    filed = client.post(f"{API}/readiness/scenario/requests", json=body, headers=headers)
    assert filed.status_code == 201, filed.get_json()
    validate_answer("POST", f"{API}/readiness/scenario/requests", filed)
    request = filed.get_json()
    assert request["state"] == "draft" and request["urgency"] == "critical"
    assert {(line["item"], line["quantity"]) for line in request["lines"]} == {
        ("TENT-12", 100),
        ("RICE-10", 40),
    }
    again = client.post(f"{API}/readiness/scenario/requests", json=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["number"] == request["number"]
    refused = client.post(f"{API}/readiness/scenario/requests", json=body, headers=requester)
    assert refused.status_code == 403
    assert reserved(engine) == 0  # a draft reserves nothing until approved


def test_cli_prints_a_table_per_window_and_files_the_plan(world, db_url):
    run = CliRunner().invoke(
        main,
        [
            "readiness",
            "scenario",
            "--county",
            "532322",
            "--relocated",
            "400",
            "--days",
            "2",
            "--cut-off",
            "ZX",
            "--file-requests",
        ],
        env={"RELIEF_DATABASE_URL": db_url},
    )
    assert run.exit_code == 0, run.output
    for hours in (6, 12, 24, 72):
        assert f"{hours} 小时内到达" in run.output
    assert (
        "需请求省级、中央支援：帐篷 60 顶" in run.output and "已生成调拨申请草稿 DB-" in run.output
    )
    bad = CliRunner().invoke(
        main,
        ["readiness", "scenario", "--county", "532322", "--relocated", "0", "--days", "1"],
        env={"RELIEF_DATABASE_URL": db_url},
    )
    assert bad.exit_code == 2 and "relocated" in bad.output


def test_coverage_through_the_api_and_the_cli(world, client, db_url):
    with world.uow("dispatcher") as uow:
        services.set_population_at_risk(uow, "532322", 4000)  # 400 people -> 100 tents
        services.set_population_at_risk(uow, "532327", 100)
    answer = client.get(f"{API}/readiness/coverage", headers=bearer(world, "auditor"))
    assert answer.status_code == 200
    validate_answer("GET", f"{API}/readiness/coverage", answer)
    counties = {c["county"]: c for c in answer.get_json()["counties"]}
    assert set(counties) == {"532322", "532327"}
    tents = next(x for x in counties["532322"]["lines"] if x["category"] == "TENT")
    assert (tents["target"], tents["held"], tents["gap"], tents["covered_percent"]) == (
        100,
        "40",
        60,
        40,
    )
    assert tents["transfer"]["from_depot"] == "ZX" and tents["transfer"]["quantity"] == 60
    run = CliRunner().invoke(
        main, ["readiness", "coverage", "--county", "532322"], env={"RELIEF_DATABASE_URL": db_url}
    )
    assert run.exit_code == 0 and "ZX → 12平方米单帐篷 60顶" in run.output


def test_back_office_scenario_filing_and_coverage_transfer(world, app, engine):
    from tests.backoffice_tools import csrf_token, login

    with world.uow("dispatcher") as uow:
        services.set_population_at_risk(uow, "532322", 4000)
    dispatcher = app.test_client()
    login(dispatcher, "dispatcher")
    page = dispatcher.get("/readiness/?county=532322&relocated=400&days=2&cut_off=ZX&cut_off=YR")
    assert page.status_code == 200
    html = page.text
    for hours in (6, 12, 24, 72):
        assert f'id="window-{hours}"' in html
    assert "<svg" in html and "需请求省级、中央支援：帐篷 60 顶" in html
    bad = dispatcher.get("/readiness/?county=532322&relocated=0&days=2")
    assert bad.status_code == 200 and "relocated" in bad.text
    filed = dispatcher.post(
        "/readiness/file",
        data={
            "csrf_token": csrf_token(html),
            "county": "532322",
            "relocated": "400",
            "days": "2",
            "cut_off": ["ZX", "YR"],
        },
    )
    assert filed.status_code == 302 and "/dispatch/view/DB-" in filed.headers["Location"]
    coverage = dispatcher.get("/readiness/coverage")
    assert coverage.status_code == 200 and "发起预置调拨" in coverage.text
    keeper = app.test_client()
    login(keeper, "keeper_zx")
    page = keeper.get("/readiness/coverage")
    shipped = keeper.post(
        "/readiness/coverage/transfer",
        data={
            "csrf_token": csrf_token(page.text),
            "from_depot": "ZX",
            "to_depot": "SB",
            "item": "TENT-12",
            "quantity": "60",
            "authority_order": "楚应急调〔2026〕8号",
            "county_name": "双柏县",
        },
    )
    assert shipped.status_code == 302
    with open_session(engine) as session:
        from relief_inventory.stock.models import StockDocument

        moved = session.scalars(select(StockDocument).where(StockDocument.kind == "transfer")).all()
        assert [(d.state, d.authority_order) for d in moved] == [
            ("in_transit", "楚应急调〔2026〕8号")
        ]
    rotation = keeper.get("/readiness/rotation")
    assert rotation.status_code == 200 and "检测维护到期或逾期" in rotation.text
    requester = app.test_client()
    login(requester, "requester_sb")
    assert requester.get("/readiness/").status_code == 403
    assert "储备覆盖" not in requester.get("/").text and "储备覆盖" in keeper.get("/").text


def test_back_office_parameters_edited_by_dispatchers_only(world, app, engine):
    from tests.backoffice_tools import csrf_token, login

    dispatcher = app.test_client()
    login(dispatcher, "dispatcher")
    page = dispatcher.get("/readiness/parameters")
    assert page.status_code == 200 and 'id="road-form"' in page.text
    assert "（默认）" in page.text  # TENT has no row yet: the default standard
    token = csrf_token(page.text)
    saved = dispatcher.post(
        "/readiness/parameters/road",
        data={"csrf_token": token, "depot": "ZX", "county": "532322", "km": "66", "hours": "1.3"},
    )
    assert saved.status_code == 302
    dispatcher.post(
        "/readiness/parameters/standard",
        data={
            "csrf_token": token,
            "category": "TENT",
            "basis": "per_household",
            "amount": "1",
            "measure": "顶",
            "target_per_1000": "80",
            "inspection_days": "90",
            "rotation_days": "",
        },
    )
    dispatcher.post(
        "/readiness/parameters/risk",
        data={"csrf_token": token, "county": "532322", "population_at_risk": "12000"},
    )
    bad = dispatcher.post(
        "/readiness/parameters/road",
        data={"csrf_token": token, "depot": "ZX", "county": "532322", "km": "1e3"},
        follow_redirects=True,
    )
    assert "km" in bad.text  # the service's refusal, named, on the page
    with open_session(engine) as session:
        from relief_inventory.readiness import parameters

        roads = parameters.road_rows(session)
        standards = {r["category"]: r for r in parameters.standard_rows(session)}
        risks = {r["county"]: r["population_at_risk"] for r in parameters.risk_rows(session)}
    assert [(r["depot"], str(r["km"]), str(r["hours"])) for r in roads] == [("ZX", "66.0", "1.3")]
    assert standards["TENT"]["is_default"] is False and standards["TENT"]["inspection_days"] == 90
    assert risks["532322"] == 12000
    assert scenario(engine, county="532322", relocated=400, days=2)["sources"]  # still runs
    keeper = app.test_client()
    login(keeper, "keeper_zx")
    shown = keeper.get("/readiness/parameters")
    assert shown.status_code == 200 and 'id="road-form"' not in shown.text
    keeper.post(
        "/readiness/parameters/risk",
        data={"csrf_token": csrf_token(shown.text), "county": "532322", "population_at_risk": "1"},
    )
    with open_session(engine) as session:
        assert {r["county"]: r["population_at_risk"] for r in parameters.risk_rows(session)}[
            "532322"
        ] == 12000  # the service refused the keeper


def test_rotation_plan_worked_through(world, engine, client):
    from datetime import timedelta

    from relief_inventory.readiness import upkeep

    today = date.today()
    with world.uow("keeper_zx") as uow:  # RICE-10 keeps 365 days
        stock.receive(
            uow,
            depot="ZX",
            lines=[
                {
                    "item": "RICE-10",
                    "lot": "R-OLD",
                    "quantity": 20,
                    "production_date": (today - timedelta(days=300)).isoformat(),
                },
                {
                    "item": "RICE-10",
                    "lot": "R-OLDER",
                    "quantity": 5,
                    "production_date": (today - timedelta(days=352)).isoformat(),
                },
            ],
        )
    with world.uow("dispatcher") as uow:  # the test world's food category: rotate 120 days out
        services.set_standard(
            uow, "FOOD", basis="per_person_day", amount="0.5", measure="kg", rotation_days=120
        )
    view = client.get(f"{API}/readiness/rotation", headers=bearer(world, "keeper_zx"))
    assert view.status_code == 200
    validate_answer("GET", f"{API}/readiness/rotation", view)
    due = {d["lot"]: d for d in view.get_json()["due"]}
    assert set(due) == {"R-OLD", "R-OLDER"}
    assert (due["R-OLD"]["action"], due["R-OLDER"]["action"]) == ("rotate_out", "donate")
    assert due["R-OLD"]["replacement"] == 20
    assert any(i["never"] for i in view.get_json()["inspections"])
    keeper = {**bearer(world, "keeper_zx"), "Idempotency-Key": "zx-plan-1"}
    made = client.post(f"{API}/readiness/rotation-plans", json={"depot": "ZX"}, headers=keeper)
    assert made.status_code == 201, made.get_json()
    validate_answer("POST", f"{API}/readiness/rotation-plans", made)
    plan = made.get_json()
    assert [line["lot"] for line in plan["lines"]] == ["R-OLDER", "R-OLD"]
    with world.uow("keeper_zx") as uow:
        issued = stock.issue(
            uow,
            depot="ZX",
            county="532322",
            lines=[{"item": "RICE-10", "lot": "R-OLD", "quantity": 20}],
            reason="轮出至双柏县常规救助",
        ).number
    other = bearer(world, "keeper_sb")
    first = plan["lines"][1]["id"]
    path = f"{API}/readiness/rotation-plans/{plan['number']}/lines/{first}/done"
    assert client.post(path, json={"document": issued}, headers=other).status_code == 403
    done = client.post(path, json={"document": issued}, headers=keeper)
    assert done.status_code == 200 and done.get_json()["lines"][1]["done"] is True
    assert done.get_json()["state"] == "open"
    with world.uow("keeper_zx") as uow:
        upkeep.record_inspection(uow, depot="ZX", category="FOOD", note="包装完好")
        with pytest.raises(InvalidInput):
            upkeep.complete_line(uow, plan["number"], plan["lines"][0]["id"], document="RK-1")
    after = client.get(f"{API}/readiness/rotation", headers=bearer(world, "keeper_zx")).get_json()
    assert not any(i["category"] == "FOOD" and i["depot"] == "ZX" for i in after["inspections"])


def test_reading_the_nearest_depots_first_gives_the_full_answer(world, engine, monkeypatch):
    with world.uow("admin") as uow:
        stock.receive(uow, depot="YR", lines=[{"item": "TENT-12", "lot": "T-YR", "quantity": 500}])
    for people in (100, 400, 900, 4000):  # covered by SB alone, by SB and ZX, by all, by none
        monkeypatch.setattr(check, "READ_CHUNK", 1000)
        full = scenario(engine, county="532322", relocated=people, days=2)
        monkeypatch.setattr(check, "READ_CHUNK", 1)
        nearest = scenario(engine, county="532322", relocated=people, days=2)
        for answer in (full, nearest):
            answer.pop("computed_at")
        assert nearest == full, people


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # rendering is engine-blind
def test_scenario_and_coverage_reports_as_pdf_and_excel(world, client):
    import io

    from openpyxl import load_workbook

    from tests.pdf_tools import text as pdf_text

    with world.uow("dispatcher") as uow:
        services.set_population_at_risk(uow, "532322", 4000)
    headers = bearer(world, "dispatcher")
    pdf = client.get(f"{API}/reports/scenario?preset=shuangbai-m6&format=pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "72小时内到达" in text and "需请求省级、中央支援：帐篷4,860顶" in text
    xlsx = client.get(f"{API}/reports/coverage?format=xlsx", headers=headers)
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data))
    cells = [c.value for ws in book for row in ws.iter_rows() for c in row if c.value is not None]
    assert "双柏县" in cells and "建议预置调拨" in cells
    bad = client.get(f"{API}/reports/scenario?county=532322&days=3", headers=headers)
    assert bad.status_code == 422
