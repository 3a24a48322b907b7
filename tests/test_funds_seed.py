"""The seeded 2024 funds match FACTS.md to the fen and the books tie out."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.audit.verify import verify as verify_audit
from relief_inventory.auth.services import system_actor
from relief_inventory.funds.models import FundRelease, FundReversal, ReleaseState
from relief_inventory.funds.reconcile import reconcile
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse import services as warehouse
from seed.funds import COUNTY_WEIGHTS, seed_funds


@pytest.fixture
def seeded(engine):
    with UnitOfWork(engine, system_actor(engine)) as uow:
        for code in COUNTY_WEIGHTS:
            warehouse.create_county(uow, code, f"县{code}", "25.0", "101.5")
    seed_funds(engine, random.Random(2024), 1)
    return engine


def test_seed_matches_the_facts_to_the_fen(seeded):
    with Session(seeded) as session:
        result = reconcile(session, 2024)
        kinds = {row.key: row for row in result.by_kind}
        assert result.problems == []
        assert kinds["winter_spring"].amount == Decimal("32270000.00")
        assert kinds["winter_spring"].appropriated == Decimal("32270000.00")
        flood_and_geological = kinds["flood_drought"].amount + kinds["geological"].amount
        assert flood_and_geological == Decimal("12350000.00")
        assert result.total.appropriated == Decimal("44620000.00")
        assert result.total.beneficiaries == 206_600
        assert {row.key for row in result.by_county} == set(COUNTY_WEIGHTS)
        assert {row.key for row in result.by_level} == {"central", "provincial", "prefecture"}
        states = dict(
            session.execute(
                select(FundRelease.state, func.count()).group_by(FundRelease.state)
            ).all()
        )
        assert states[ReleaseState.SUBMITTED] == states[ReleaseState.VERIFIED] == 1
        assert states[ReleaseState.APPROVED] == 1
        assert session.scalar(select(func.count(FundReversal.id))) == 1
        assert verify_audit(session).problems == []


def test_seed_runs_once(seeded):
    with Session(seeded) as session:
        before = session.scalar(select(func.count(FundRelease.id)))
    seed_funds(seeded, random.Random(1), 1)
    with Session(seeded) as session:
        assert session.scalar(select(func.count(FundRelease.id))) == before
