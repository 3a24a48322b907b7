"""``relief seed`` at scale 1 shows the facts of FACTS.md, on SQLite and PostgreSQL.

Seeding takes a while (ten thousand moves through the audited services), so each backend is
seeded once for the whole module, through the CLI; the last test resets and seeds again.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, aliased

from relief_inventory.auth.services import system_actor
from relief_inventory.cli import main
from relief_inventory.db import make_engine
from relief_inventory.stock.models import Category, Item, Lot, Move, Quant, StockDocument
from relief_inventory.stock.queries import stock_summary
from relief_inventory.timeutil import LOCAL_ZONE, to_local
from relief_inventory.warehouse.models import Depot, Location, LocationKind
from seed.execute import Executor
from seed.generate import database_is_empty, issued_to_counties, reset_database
from seed.plan import plan_replica
from seed.reference import load_reference
from seed.timeline import Step
from tests.conftest import BACKENDS, PG_URL, pg_schema_url, require_pg
from tests.factories import build_world, receive_basic

FACT_DEPOTS = 11
SEEDED_POINTS = 13  # township stock points below the county depots (seed/points.py)
FACT_CATEGORIES = 10
FACT_ON_HAND = 217_300
FACT_QUILTS_AND_CLOTHING = 8_496


def relief(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": url})


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Result]]:
    """A database of its own per backend, seeded once through ``relief seed``."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("seed") / "relief.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        schema = None
    else:
        require_pg()
        schema = f"seed_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = pg_schema_url(schema)
    result = relief(url, "seed", "--quiet")
    assert result.exit_code == 0, result.output
    yield url, result
    if schema:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def session(seeded: tuple[str, Result]) -> Iterator[Session]:
    engine = make_engine(seeded[0])
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_seed_prints_the_facts_and_the_demo_logins(seeded):
    output = seeded[1].output
    assert "217,300" in output and "8,496" in output
    for user in load_reference().users:
        assert f"{user.username}" in output and user.password in output


def _parents(session: Session) -> dict[str, str]:
    """Each depot's code, a township stock point mapped to the depot above it."""
    above = aliased(Depot)
    return {
        code: parent or code
        for code, parent in session.execute(
            select(Depot.code, above.code).outerjoin(above, above.id == Depot.parent_id)
        )
    }


def test_eleven_depots_ten_categories_217300_pieces(session):
    summary = stock_summary(session)
    parents = _parents(session)
    assert len({parents[code] for code, _ in summary.depots}) == FACT_DEPOTS
    assert sum(parents[code] != code for code, _ in summary.depots) == SEEDED_POINTS
    assert len(summary.categories) == FACT_CATEGORIES
    assert summary.total == FACT_ON_HAND
    expected = {c.code: c.on_hand for c in load_reference().categories}
    assert {code: summary.category_total(code) for code in expected} == expected
    assert all(summary.depot_total(code) > 0 for code, _ in summary.depots)
    in_transit = session.scalar(
        select(func.coalesce(func.sum(Quant.on_hand), 0))
        .join(Location, Location.id == Quant.location_id)
        .where(Location.kind == LocationKind.TRANSIT)
    )
    assert in_transit == 0  # every 2024 transfer arrived


def test_8496_quilts_and_clothes_went_to_the_counties_in_2024(session):
    assert issued_to_counties(session, ("QUILT", "CLOTH"), 2024) == FACT_QUILTS_AND_CLOTHING
    assert issued_to_counties(session, ("QUILT", "CLOTH"), 2025) == 0


def test_history_is_2024_and_big_enough_for_the_scale_benchmark(session):
    first, last = session.execute(
        select(func.min(StockDocument.created_at), func.max(StockDocument.created_at))
    ).one()
    assert to_local(first).year == to_local(last).year == 2024
    assert session.scalar(select(func.count()).select_from(Move)) >= 10_000
    kinds = set(session.scalars(select(StockDocument.kind).distinct()))
    assert kinds >= {"receipt", "transfer", "issue", "scrap", "count", "rotation", "reversal"}


def test_food_and_water_lots_are_valid_through_2024_and_partly_still_good(session):
    expiries = session.scalars(select(Lot.expiry_date).where(Lot.expiry_date.is_not(None))).all()
    assert expiries and min(expiries) >= date(2025, 1, 1)
    perishable = (
        select(func.coalesce(func.sum(Quant.on_hand), 0))
        .join(Lot, Lot.id == Quant.lot_id)
        .join(Location, Location.id == Quant.location_id)
        .where(Location.kind == LocationKind.INTERNAL, Lot.expiry_date.is_not(None))
    )
    total = session.scalar(perishable)
    still_good = session.scalar(perishable.where(Lot.expiry_date >= date(2026, 11, 28)))
    assert 0.25 * total < still_good < total  # a good part, and some to rotate


def test_every_category_has_realistic_items(session):
    rows = session.execute(
        select(Category.code, Item.unit, Item.unit_value, Item.shelf_life_days).join(
            Item, Item.category_id == Category.id
        )
    ).all()
    assert {code for code, *_ in rows} == {c.code for c in load_reference().categories}
    assert all(value > 0 and value.as_tuple().exponent == -2 for _, _, value, _ in rows)
    assert {code for code, _, _, shelf in rows if shelf} == {"RICE", "OIL", "WATER"}


def test_relief_check_and_audit_verify_pass(seeded):
    url = seeded[0]
    checked = relief(url, "check")
    assert checked.exit_code == 0, checked.output
    assert "不符" not in checked.output
    verified = relief(url, "audit", "verify")
    assert verified.exit_code == 0, verified.output


def test_seeding_again_is_refused_unless_if_empty(seeded, session):
    before = session.scalar(select(func.count()).select_from(Move))
    again = relief(seeded[0], "seed", "--quiet")
    assert again.exit_code == 2
    assert "--reset" in again.output
    skipped = relief(seeded[0], "seed", "--if-empty")
    assert skipped.exit_code == 0
    assert "跳过" in skipped.output
    assert relief(seeded[0], "seed", "--reset", "--if-empty").exit_code == 2
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Move)) == before


def test_the_plan_is_deterministic_and_is_what_was_seeded(session):
    reference = load_reference()
    plan = plan_replica(reference, 2024, 0)
    assert plan_replica(reference, 2024, 0).steps == plan.steps
    assert plan_replica(reference, 2025, 0).steps != plan.steps
    summary = stock_summary(session)
    parents = _parents(session)
    folded: dict[tuple[str, str], int] = {}
    for (depot, category), qty in summary.cells.items():  # the points' stock came from above
        key = (parents[depot], category)
        folded[key] = folded.get(key, 0) + qty
    assert {key: qty for key, qty in folded.items() if qty} == plan.on_hand


def test_stock_summary_cli_on_the_seeded_prefecture(seeded):
    shown = relief(seeded[0], "stock", "summary", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["total"] == FACT_ON_HAND


def test_demo_logins_work(seeded):
    """The printed passwords really log in (the API's token endpoint relies on this)."""
    from relief_inventory.auth.services import authenticate

    engine = make_engine(seeded[0])
    try:
        for user in load_reference().users:
            assert authenticate(engine, user.username, user.password).username == user.username
    finally:
        engine.dispose()


def test_reset_drops_everything_and_seeds_the_same_again(seeded, session):
    """Last in the module: a reset gives a new database with exactly the same content.

    SQLite only, to keep the suite fast; ``test_reset_database_on_every_backend`` covers the
    PostgreSQL way of dropping everything."""
    url = seeded[0]
    if not url.startswith("sqlite"):
        pytest.skip("a second full seed on PostgreSQL adds half a minute for no new code path")
    before = stock_summary(session).cells
    documents = session.scalar(select(func.count()).select_from(StockDocument))
    session.close()
    reset = relief(url, "seed", "--reset", "--quiet")
    assert reset.exit_code == 0, reset.output
    engine = make_engine(url)
    try:
        with Session(engine) as fresh:
            assert stock_summary(fresh).cells == before
            assert fresh.scalar(select(func.count()).select_from(StockDocument)) == documents
            first = fresh.scalar(select(func.min(StockDocument.created_at)))
            assert first >= datetime(2024, 1, 1, tzinfo=LOCAL_ZONE)
    finally:
        engine.dispose()
    assert relief(url, "check").exit_code == 0


def test_reset_database_on_every_backend(engine):
    """Dropping everything gets past the ledger's append-only guards and migrates afresh."""
    world = build_world(engine)
    receive_basic(world, 10)
    assert not database_is_empty(engine)
    reset_database(engine)
    assert database_is_empty(engine)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Move)) == 0
    again = build_world(engine)  # the schema, guards and virtual locations are back
    receive_basic(again, 10)


def test_a_stock_take_after_a_mistyped_receipt_in_its_batch(engine):
    """The smallest plan of the scale-100 crash (replica 37): a receipt mistyped tenfold and
    reversed, then, in the same batch, a count of that lot. The reversal is approved before
    the count is entered, so the count sees the settled book and finds the one extra piece."""
    world = build_world(engine)
    at = datetime(2024, 12, 20, 10, tzinfo=LOCAL_ZONE)
    lot = {"item": "TENT-12", "lot": "20241215-994", "owner": "532300"}
    steps = [
        Step(at, "receive", "ZX", [{**lot, "quantity": 46}], moves=3, mistake=True),
        Step(at.replace(day=23), "count", "ZX", [{**lot, "counted": 47}], {"reason": "年度盘点"}),
    ]
    Executor(engine, system_actor(engine), lambda depot: world.actors["keeper_zx2"], 0).run(steps)
    with Session(engine) as session:
        assert session.scalar(select(func.sum(Quant.on_hand))) == 47
        assert session.scalar(select(func.sum(Quant.reserved))) == 0
        states = session.scalars(select(StockDocument.state).order_by(StockDocument.id)).all()
    assert states == ["done", "done", "done", "done"]  # mistyped, its reversal, receipt, count
