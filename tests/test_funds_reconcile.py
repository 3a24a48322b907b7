"""Reconciliation: on random books made through the services, every level ties out and
matches an independent model to the fen; tampering makes ``relief funds reconcile`` fail."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from relief_inventory.cli import main
from relief_inventory.errors import Conflict
from relief_inventory.funds import services as funds
from relief_inventory.funds.models import FundKind, FundLevel, Purpose
from relief_inventory.funds.reconcile import Reconciliation, Row, reconcile, tie_out
from relief_inventory.money import from_fen
from tests.factories import build_world
from tests.funds_factories import (
    creator_for,
    make_appropriation,
    make_source,
    paid_release,
    raw_sql,
    reverse_approved,
    signers,
)

COUNTIES = ("532301", "532322", "532327")
STATES = ("draft", "submitted", "verified", "approved", "released", "rejected")
years = itertools.count(2001)

sources_st = st.lists(
    st.tuples(
        st.sampled_from(FundKind.ALL), st.sampled_from(FundLevel.ALL), st.integers(1, 500_000)
    ),
    min_size=1,
    max_size=3,
)
appropriations_st = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(COUNTIES), st.integers(1, 300_000), st.booleans()),
    max_size=5,
)
releases_st = st.lists(
    st.tuples(
        st.integers(0, 4),
        st.integers(1, 200_000),
        st.sampled_from(STATES),
        st.booleans(),
        st.integers(1, 50),
    ),
    max_size=6,
)


@dataclass
class Tally:
    amount: int = 0
    appropriated: int = 0
    committed: int = 0
    released: int = 0
    beneficiaries: int = 0


@dataclass
class Appr:
    number: str
    source: int
    county: str
    fen: int
    committed: int = 0
    open: int = 0
    reversed: bool = False
    releases: list[tuple[int, str, int]] = field(default_factory=list)  # fen, state, people


@pytest.fixture
def world(engine):
    return build_world(engine)


def _expect(refused: bool, action) -> bool:
    """Run ``action``; it must be refused (Conflict) exactly when the model says so."""
    if refused:
        with pytest.raises(Conflict):
            action()
        return False
    action()
    return True


def _release(world, appr: Appr, fen: int, target: str, people: int, reverse: bool) -> None:
    remaining = appr.fen - appr.committed
    if not _expect(fen > remaining, lambda: _file(world, appr, fen, target, people)):
        return
    number = _file.last  # type: ignore[attr-defined]
    state = "draft" if target == "draft" else "submitted"
    verifier, approver = signers(appr.county)
    if target == "rejected":
        with world.uow(verifier) as uow:
            funds.reject(uow, number, reason="测试退回")
        state = "rejected"
    if target in ("verified", "approved", "released"):
        with world.uow(verifier) as uow:
            funds.verify(uow, number)
        state = "verified"
    if target in ("approved", "released"):

        def approve() -> None:
            with world.uow(approver) as uow:
                funds.approve(uow, number)

        if _expect(fen > appr.fen - appr.committed, approve):
            appr.committed += fen
            state = "approved"
    if target == "released" and state == "approved":
        with world.uow(verifier) as uow:
            funds.pay(uow, number)
        state = "released"
        if reverse:
            reverse_approved(world, funds.reverse_release, number, proposer=verifier)
            appr.committed -= fen
            state = "reversed"
    if state in ("draft", "submitted", "verified"):
        appr.open += 1
    appr.releases.append((fen, state, people))


def _file(world, appr: Appr, fen: int, target: str, people: int) -> None:
    with world.uow(creator_for(appr.county)) as uow:
        _file.last = funds.create_release(  # type: ignore[attr-defined]
            uow,
            appropriation=appr.number,
            purpose=Purpose.LIVING_AID,
            amount=from_fen(fen),
            beneficiaries=people,
            evidence="花名册",
            submit=target != "draft",
        ).number


def _money(tally: Tally) -> tuple:
    return (
        from_fen(tally.amount),
        from_fen(tally.appropriated),
        from_fen(tally.committed),
        from_fen(tally.released),
        tally.beneficiaries,
    )


def _row(row: Row) -> tuple:
    return (row.amount, row.appropriated, row.committed, row.released, row.beneficiaries)


@settings(
    max_examples=25,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # no shrinking: one year each
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sources=sources_st, appropriations=appropriations_st, releases=releases_st)
def test_random_books_tie_out_at_every_level(world, engine, sources, appropriations, releases):
    year = next(years)
    made = []  # (number, kind, level, fen)
    for kind, level, fen in sources:
        made.append((make_source(world, str(from_fen(fen)), kind=kind, level=level, year=year),
                     kind, level, fen))  # fmt: skip
    given_out: dict[int, int] = defaultdict(int)
    apprs: list[Appr] = []
    for index, county, fen, _reverse in appropriations:
        source = index % len(made)
        over = given_out[source] + fen > made[source][3]
        action = lambda s=source, c=county, f=fen: apprs.append(  # noqa: E731
            Appr(make_appropriation(world, made[s][0], str(from_fen(f)), c), s, c, f)
        )
        if _expect(over, action):
            given_out[source] += fen
    for index, fen, target, reverse, people in releases:
        if apprs:
            _release(world, apprs[index % len(apprs)], fen, target, people, reverse)
    for appr, (_i, _c, _f, reverse) in zip(apprs, [a for a in appropriations], strict=False):
        if reverse:
            refused = appr.open > 0 or appr.committed > 0

            def undo(number: str = appr.number) -> None:
                with world.uow("finance") as uow:
                    reversal = funds.reverse_appropriation(uow, number, reason="测试冲销")
                with world.uow("admin") as uow:
                    funds.approve_reversal(uow, reversal.number)

            appr.reversed = _expect(refused, undo)

    expected: dict[str, dict[str, Tally]] = {
        n: defaultdict(Tally) for n in ("source", "county", "kind", "level", "total")
    }
    for number, kind, level, fen in made:
        for group, key in (("source", number), ("kind", kind), ("level", level), ("total", "")):
            expected[group][key].amount += fen
    for appr in apprs:
        number, kind, level, _fen = made[appr.source]
        keys = (("source", number), ("county", appr.county), ("kind", kind), ("level", level),
                ("total", ""))  # fmt: skip
        for group, key in keys:
            tally = expected[group][key]
            tally.appropriated += 0 if appr.reversed else appr.fen
            for fen, state, people in appr.releases:
                tally.committed += fen if state == "approved" else 0
                tally.released += fen if state == "released" else 0
                tally.beneficiaries += people if state == "released" else 0

    with Session(engine) as session:
        result = reconcile(session, year)
    assert result.problems == []
    assert _row(result.total) == _money(expected["total"][""])
    for group, rows in result.groupings().items():
        got = {row.key: _row(row) for row in rows}
        want = {}
        for key, tally in expected[group].items():
            values = _money(tally)
            if group == "county":
                values = (None, *values[1:])
            if any(values):
                want[key] = values
        assert got == want, group
    for row in [*result.by_source, result.total]:
        assert row.balance == row.appropriated - row.released
        assert row.unappropriated == row.amount - row.appropriated


def test_tie_out_names_a_level_that_does_not_add_up():
    def row(key: str, amount: str | None, given: str) -> Row:
        return Row(key, key, None if amount is None else Decimal(amount), Decimal(given),
                   Decimal("0.00"), Decimal("0.00"), 0)  # fmt: skip

    result = Reconciliation(
        year=2024,
        by_source=[row("ZJ-1", "100.00", "60.00"), row("ZJ-2", "50.00", "60.00")],
        by_county=[row("532322", None, "119.99")],
        by_kind=[row("winter_spring", "150.00", "120.00")],
        by_level=[row("central", "150.00", "120.00")],
        total=row("TOTAL", "150.00", "120.00"),
    )
    problems = tie_out(result)
    assert any("county" in p and "119.99" in p for p in problems)
    assert any("ZJ-2" in p and "超过来源金额" in p for p in problems)
    assert len(problems) == 2


def test_reconcile_command_exits_nonzero_when_books_do_not_tie(world, engine, db_url):
    source = make_source(world, "1000.00")
    appropriation = make_appropriation(world, source, "1000.00")
    paid_release(world, appropriation, "400.00", beneficiaries=12)
    runner = CliRunner()
    env = {"RELIEF_DATABASE_URL": db_url}
    ok = runner.invoke(main, ["funds", "reconcile", "--year", "2024"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "[通过]" in ok.output
    assert "600.00" in ok.output  # the balance
    raw_sql(
        engine,
        "INSERT INTO appropriation (number, source_id, county_id, document_number, issued_on, "
        "amount, note, created_by_id, created_at) SELECT 'XD-FAKE', source_id, county_id, "
        "'伪造', issued_on, 100, '', created_by_id, created_at FROM appropriation",
    )
    bad = runner.invoke(main, ["funds", "reconcile", "--year", "2024"], env=env)
    assert bad.exit_code == 1
    assert "[不符]" in bad.output
    assert "1001.00 超过来源金额 1000.00" in bad.output
    checked = runner.invoke(main, ["check"], env=env)
    assert checked.exit_code == 1
    assert "资金" in checked.output
