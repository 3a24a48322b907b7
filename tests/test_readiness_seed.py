"""Readiness on the seeded prefecture (scale 1, SQLite; seeded once for the module): the
2024 disaster figures equal FACTS.md, and the presets' answers equal an independent
calculation over the same stock (plain SQL, no readiness code)."""

from __future__ import annotations

import math
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from relief_inventory.allocation.reservations import delivery_date
from relief_inventory.cli import main
from relief_inventory.db import make_engine, open_session
from relief_inventory.readiness import check
from relief_inventory.readiness.queries import annual_figures
from relief_inventory.timeutil import utcnow

# FACTS.md, section 一: the bureau's published figures (losses by sector in 万元, 2 places)
PEOPLE_AFFECTED = 422_423
DIRECT_LOSS = Decimal("262116300.00")
SECTORS_WAN = {
    "loss_housing": Decimal("308.95"),
    "loss_agriculture": Decimal("24868.91"),
    "loss_industry": Decimal("100.00"),
    "loss_infrastructure": Decimal("910.02"),
    "loss_public": Decimal("23.76"),
}


def relief(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": url})


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> str:
    path = tmp_path_factory.mktemp("readiness") / "relief.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    result = relief(url, "seed", "--quiet")
    assert result.exit_code == 0, result.output
    return url


def test_2024_figures_roll_up_to_the_facts(seeded):
    engine = make_engine(seeded)
    with open_session(engine) as session:
        total = annual_figures(session, 2024)["total"]
        superseded = session.execute(
            text("SELECT count(*) FROM disaster_report WHERE state <> 'verified'")
        ).scalar()
    assert total["people_affected"] == PEOPLE_AFFECTED
    assert total["direct_loss"] == DIRECT_LOSS
    for sector, wan in SECTORS_WAN.items():  # as the bureau rounded them
        assert (total[sector] / 10_000).quantize(Decimal("0.01"), ROUND_HALF_UP) == wan, sector
    assert superseded >= 4  # corrected first versions exist and do not count
    printed = relief(seeded, "readiness", "reports", "--year", "2024")
    assert printed.exit_code == 0 and "422,423" in printed.output
    assert "262,116,300.00" in printed.output


def independent_free(engine, county: str, cut_off: tuple[str, ...], own_only: bool) -> dict:
    """Free measures per category of usable stock (plain SQL): on hand − reserved of lots
    available in their depot and unexpired on the delivery day, times the item's content."""
    delivery = delivery_date(utcnow()).isoformat()  # the day after today in 楚雄
    owners = "o.level <> 'county' OR oc.code = :county" if own_only else "1 = 1"
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"""
            SELECT c.code, SUM((q.on_hand - q.reserved) * COALESCE(ic.content, 1))
            FROM quant q
            JOIN location l ON l.id = q.location_id AND l.kind = 'internal' AND l.active
            JOIN depot d ON d.id = l.depot_id AND d.active
            JOIN lot ON lot.id = q.lot_id
            JOIN item i ON i.id = q.item_id
            JOIN category c ON c.id = i.category_id
            JOIN owner o ON o.id = q.owner_id
            LEFT JOIN county oc ON oc.id = o.county_id
            LEFT JOIN item_content ic ON ic.item_id = i.id
            LEFT JOIN depot_lot_status s ON s.lot_id = lot.id AND s.depot_id = d.id
            WHERE COALESCE(s.status, lot.status) = 'available'
              AND (lot.expiry_date IS NULL OR lot.expiry_date >= :delivery)
              AND d.code NOT IN ({",".join(f"'{c}'" for c in cut_off) or "''"})
              AND ({owners})
            GROUP BY c.code
            """
            ),
            {"delivery": delivery, "county": county},
        ).all()
    return {code: Decimal(str(total)) for code, total in rows}


@pytest.mark.parametrize(
    "preset, cut_off, own_only",
    [
        ("shuangbai-m6", (), False),
        ("shuangbai-m6", ("CXS", "ZX"), True),
        ("yuanmou-flood", (), True),
    ],
)
def test_presets_agree_with_an_independent_calculation(seeded, preset, cut_off, own_only):
    engine = make_engine(seeded)
    with open_session(engine) as session:
        spec = check.parse(
            session=session, preset=preset, cut_off=cut_off, allow_other_counties=not own_only
        )
        answer = check.run(session, spec)
    free = independent_free(engine, spec.county, cut_off, own_only)
    last = {line["category"]: line for line in answer["windows"][-1]["lines"]}
    people, days = spec.relocated, spec.days
    households = math.ceil(people / 4)
    by_hand = {  # the default standards, worked out by hand
        "TENT": households,
        "QUILT": people,
        "CLOTH": people,
        "RICE": math.ceil(Decimal("0.5") * people * days),
        "OIL": math.ceil(Decimal("0.025") * people * days),
        "BED": households,
        "BLANKET": math.ceil(people / 2),
        "POWER": households,
        "WATER": 3 * people * days,
        "RESCUE": math.ceil(people / 20),
    }
    assert {code: line["needed"] for code, line in last.items()} == by_hand
    for code, need in by_hand.items():
        assert last[code]["shortfall"] == max(0, math.ceil(need - free.get(code, 0))), code
    external = {e["category"]: e["quantity"] for e in answer["external"]}
    assert external == {c: line["shortfall"] for c, line in last.items() if line["shortfall"]}
    for depot in cut_off:
        assert all(d["depot"] != depot for line in last.values() for d in line["depots"])


def test_worst_2024_is_the_verified_report_with_most_relocated(seeded):
    engine = make_engine(seeded)
    most = (
        engine.connect()
        .execute(
            text(
                "SELECT c.code, r.people_relocated FROM disaster_report r "
                "JOIN county c ON c.id = r.county_id WHERE r.state = 'verified' "
                "ORDER BY r.people_relocated DESC, r.number LIMIT 1"
            )
        )
        .one()
    )
    run = relief(seeded, "readiness", "scenario", "--preset", "worst-2024")
    assert run.exit_code == 0, run.output
    assert f"（{most[0]}）转移安置 {most[1]:,} 人，保障 7 天" in run.output
