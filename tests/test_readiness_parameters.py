"""The readiness parameters the bureau edits — standards, road distances (to county seats
and townships), population at risk — through the API (answers as documented, refusals with
the field named, writes audited) and the CLI, on SQLite and PostgreSQL; a scenario answers
differently once a road or a standard is set."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.audit.models import AuditEntry
from relief_inventory.cli import main
from relief_inventory.stock import services as stock
from relief_inventory.warehouse import services as warehouse
from tests.factories import bearer, build_world
from tests.spec_check import validate_answer

API = "/api/v1/readiness"
DAZHUANG = "532322102"
SCENARIO = {"county": "532322", "relocated": 400, "days": 2}


@pytest.fixture
def world(engine):
    world = build_world(engine)
    with world.uow() as uow:
        warehouse.create_township(uow, DAZHUANG, "大庄镇", "532322", "24.66", "101.50")
    with world.uow("keeper_zx") as uow:
        stock.receive(uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "T-ZX", "quantity": 400}])
    with world.uow("keeper_sb") as uow:
        stock.receive(uow, depot="SB", lines=[{"item": "TENT-12", "lot": "T-SB", "quantity": 40}])
    return world


def tents(client, headers, hours: int) -> dict:
    answer = client.post(f"{API}/scenario", json=SCENARIO, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    window = next(w for w in answer.get_json()["windows"] if w["hours"] == hours)
    return next(line for line in window["lines"] if line["category"] == "TENT")


def put(client, path: str, body: dict, headers: dict):
    answer = client.put(f"{API}/{path}", json=body, headers=headers)
    validate_answer("PUT", f"{API}/{path}", answer)
    return answer


def test_set_and_read_back_and_the_scenario_follows(world, client, engine):
    dispatcher = bearer(world, "dispatcher")
    listed = client.get(f"{API}/standards", headers=bearer(world, "keeper_sb"))
    validate_answer("GET", f"{API}/standards", listed)
    assert [(r["category"], r["amount"], r["is_default"]) for r in listed.get_json()] == [
        ("TENT", "1", True)  # the test world's food category has no default
    ]
    assert (tents(client, dispatcher, 6)["needed"], tents(client, dispatcher, 6)["shortfall"]) == (
        100,
        0,
    )

    # a standard: one tent per person instead of per household of four
    body = {"basis": "per_person", "amount": "1.0", "measure": "顶", "target_per_1000": "250"}
    answer = put(client, "standards/TENT", {**body, "inspection_days": 90}, dispatcher)
    assert answer.status_code == 200, answer.get_json()
    row = answer.get_json()
    assert (row["basis"], row["amount"], row["target_per_1000"], row["is_default"]) == (
        "per_person",
        "1",
        "250",
        False,
    )
    assert (row["inspection_days"], row["rotation_days"]) == (90, None)
    assert client.get(f"{API}/standards", headers=dispatcher).get_json()[0] == row
    assert tents(client, dispatcher, 6)["needed"] == 400
    put(
        client,
        "standards/TENT",
        {"basis": "per_household", "amount": "1", "measure": "顶"},
        bearer(world, "admin"),
    )

    # a measured road: ZX's tents now arrive after 1 + 7.5 hours, too late for 6
    road = {"depot": "ZX", "county": "532322", "km": "180", "hours": "7.5", "note": "塌方绕行"}
    answer = put(client, "roads", road, dispatcher)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() | {"updated_at": None} == {
        **road,
        "depot_name": "州级救灾物资储备库",
        "township": None,
        "place_name": "双柏县",
        "updated_at": None,
    }
    assert (
        tents(client, dispatcher, 6)["shortfall"],
        tents(client, dispatcher, 12)["shortfall"],
    ) == (60, 0)
    township = {"depot": "SB", "township": DAZHUANG, "km": "36"}
    assert put(client, "roads", township, dispatcher).get_json()["hours"] is None
    roads = client.get(f"{API}/roads", headers=bearer(world, "auditor"))
    validate_answer("GET", f"{API}/roads", roads)
    assert [
        (r["depot"], r["county"], r["township"], r["place_name"], r["km"]) for r in roads.get_json()
    ] == [
        ("SB", None, DAZHUANG, "双柏县大庄镇", "36"),
        ("ZX", "532322", None, "双柏县", "180"),
    ]
    again = put(client, "roads", {**road, "km": "150.5", "hours": None}, dispatcher).get_json()
    assert (
        again["km"],
        again["hours"],
        len(client.get(f"{API}/roads", headers=dispatcher).get_json()),
    ) == ("150.5", None, 2)

    # population at risk
    answer = put(client, "population-at-risk/532322", {"population_at_risk": 4000}, dispatcher)
    assert answer.status_code == 200 and answer.get_json()["population_at_risk"] == 4000
    risks = client.get(f"{API}/population-at-risk", headers=bearer(world, "finance"))
    validate_answer("GET", f"{API}/population-at-risk", risks)
    assert {r["county"]: r["population_at_risk"] for r in risks.get_json()} == {
        "532301": None,
        "532322": 4000,
        "532327": None,
    }
    with Session(engine) as session:
        audited = set(session.scalars(select(AuditEntry.entity_type)))
    assert {"readiness_standard", "road_distance", "township_road", "county_risk"} <= audited


def test_refusals_name_the_field_and_change_nothing(world, client):
    dispatcher = bearer(world, "dispatcher")
    road = {"depot": "ZX", "county": "532322", "km": "180"}
    for who in ("requester_sb", "keeper_sb", "finance", "auditor"):
        headers = bearer(world, who)
        assert put(client, "roads", road, headers).status_code == 403
        assert (
            put(client, "population-at-risk/532322", {"population_at_risk": 1}, headers).status_code
            == 403
        )
    standard = {"basis": "per_person", "amount": "1", "measure": "顶"}
    for path, body, status, field in (
        ("standards/TENT", {**standard, "amount": "1e3"}, 422, "amount"),
        ("standards/TENT", {**standard, "amount": 1.5}, 422, "amount"),
        ("standards/TENT", {**standard, "amount": " 1"}, 422, "amount"),
        ("standards/TENT", {**standard, "amount": "10001"}, 422, "amount"),
        ("standards/TENT", {**standard, "basis": "per_week"}, 422, "basis"),
        ("standards/TENT", {**standard, "rotation_days": 0}, 422, "rotation_days"),
        ("standards/NOPE", standard, 422, "category"),
        ("roads", {**road, "township": DAZHUANG}, 422, "township"),
        ("roads", {"depot": "ZX", "km": "1"}, 422, "county"),
        ("roads", {**road, "km": 36}, 422, "km"),
        ("roads", {**road, "hours": "-1"}, 422, "hours"),
        ("roads", {**road, "depot": "NOPE"}, 404, "depot"),
        ("roads", {**road, "county": "999999"}, 404, "county"),
        ("roads", {"depot": "SB", "township": "999999999", "km": "1"}, 404, "township"),
        ("population-at-risk/532322", {"population_at_risk": "5"}, 422, "population_at_risk"),
        ("population-at-risk/999999", {"population_at_risk": 5}, 404, "county"),
    ):
        answer = put(client, path, body, dispatcher)
        assert (answer.status_code, list(answer.get_json()["errors"])) == (status, [field]), body
    assert client.get(f"{API}/roads", headers=dispatcher).get_json() == []
    assert client.get(f"{API}/standards", headers=dispatcher).get_json()[0]["is_default"] is True


def test_cli_lists_and_sets_the_parameters(world, db_url):
    def relief(*args: str):
        return CliRunner().invoke(main, ["readiness", *args], env={"RELIEF_DATABASE_URL": db_url})

    run = relief(
        "set-standard",
        "FOOD",
        "--basis",
        "per_person_day",
        "--amount",
        "0.5",
        "--measure",
        "kg",
        "--rotation-days",
        "120",
    )
    assert run.exit_code == 0 and "大米（FOOD）" in run.output and "0.5 kg" in run.output, (
        run.output
    )
    assert "每人每天" in relief("standards").output
    run = relief(
        "set-road",
        "--depot",
        "SB",
        "--township",
        DAZHUANG,
        "--km",
        "36",
        "--hours",
        "0.9",
        "--note",
        "乡道",
    )
    assert run.exit_code == 0 and "双柏县大庄镇（532322102）" in run.output, run.output
    assert "乡道" in relief("roads").output
    run = relief("set-population", "532322", "4000")
    assert run.exit_code == 0 and "4,000" in run.output, run.output
    assert '"population_at_risk": 4000' in relief("population", "--format", "json").output
    for args, field in (
        (
            (
                "set-road",
                "--depot",
                "SB",
                "--county",
                "532322",
                "--township",
                DAZHUANG,
                "--km",
                "1",
            ),
            "township",
        ),
        (("set-road", "--depot", "SB", "--county", "532322", "--km", "1e3"), "km"),
        (
            ("set-standard", "FOOD", "--basis", "per_person", "--amount", "x", "--measure", "kg"),
            "amount",
        ),
        (("set-population", "999999", "5"), "county"),
    ):
        run = relief(*args)
        assert run.exit_code == 2 and f"错误（{field}）" in run.output, run.output
