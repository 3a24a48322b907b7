"""Relief funds: sources, appropriations, the release workflow, reversals, on both backends."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from relief_inventory.audit.verify import verify as verify_audit
from relief_inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from relief_inventory.funds import balances
from relief_inventory.funds import services as funds
from relief_inventory.funds.check import check_funds
from relief_inventory.funds.models import (
    Appropriation,
    FundKind,
    FundLevel,
    FundRelease,
    FundSource,
    Purpose,
    ReleaseState,
)
from tests.conftest import outside_sql
from tests.factories import build_world
from tests.funds_factories import (
    file_release,
    make_appropriation,
    make_source,
    paid_release,
    raw_sql,
    reverse_approved,
    verify_and_approve,
)


@pytest.fixture
def world(engine):
    return build_world(engine)


def release_state(engine, number: str) -> str:
    with Session(engine) as session:
        return funds.release_by_number(session, number).state


def count(engine, model) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def assert_books_ok(engine) -> None:
    with Session(engine) as session:
        assert check_funds(session) == []
        assert verify_audit(session).problems == []


# -- sources -------------------------------------------------------------------------------


def test_source_is_numbered_and_keeps_exact_money(world, engine):
    number = make_source(world, "32270000.00")
    assert number.startswith("ZJ-")
    with Session(engine) as session:
        source = funds.source_by_number(session, number)
        assert source.amount == Decimal("32270000.00")
        assert isinstance(source.amount, Decimal)
        assert source.title == "2024年省级冬春救助资金"
    assert_books_ok(engine)


BAD_AMOUNTS = [
    (0.1, "浮点数"),
    ("100.001", "两位小数"),
    ("-5.00", "不带符号"),
    ("0", "大于零"),
    ("0.00", "大于零"),
    ("abc", "格式"),
    ("NaN", "格式"),
    (True, "浮点数"),
]


def test_bad_amounts_are_refused_naming_the_field(world, engine):
    for amount, message in BAD_AMOUNTS:
        with pytest.raises(InvalidInput) as refused, world.uow("finance") as uow:
            funds.create_source(
                uow,
                level=FundLevel.CENTRAL,
                kind=FundKind.WINTER_SPRING,
                year=2024,
                document_number="云财社〔2024〕12号",
                amount=amount,
            )
        assert refused.value.field == "amount", amount
        assert message in refused.value.message, amount
    assert count(engine, FundSource) == 0


BAD_SOURCE_FIELDS = [
    ({"level": "county"}, "level"),
    ({"kind": "flood"}, "kind"),
    ({"year": 1999}, "year"),
    ({"year": "2024"}, "year"),
    ({"document_number": "  "}, "document_number"),
    ({"issued_on": "2024-13-01"}, "issued_on"),
    ({"issued_on": "2999-01-01"}, "issued_on"),
]


def test_bad_source_fields_are_refused(world, engine):
    for change, field in BAD_SOURCE_FIELDS:
        fields = {
            "level": FundLevel.CENTRAL,
            "kind": FundKind.WINTER_SPRING,
            "year": 2024,
            "document_number": "云财社〔2024〕12号",
            "amount": "100.00",
            **change,
        }
        with pytest.raises(InvalidInput) as refused, world.uow("finance") as uow:
            funds.create_source(uow, **fields)
        assert refused.value.field == field, change
    assert count(engine, FundSource) == 0


def test_same_document_and_kind_is_booked_once(world):
    fields = {
        "level": FundLevel.CENTRAL,
        "kind": FundKind.WINTER_SPRING,
        "year": 2024,
        "document_number": "云财社〔2024〕12号",
        "amount": "100.00",
    }
    with world.uow("finance") as uow:
        funds.create_source(uow, **fields)
    with pytest.raises(Conflict) as refused, world.uow("finance") as uow:
        funds.create_source(uow, **fields)
    assert refused.value.field == "document_number"


def test_only_finance_books_sources_and_appropriations(world):
    source = make_source(world)
    for who in ("requester_sb", "keeper_zx", "auditor", "dispatcher"):
        with pytest.raises(PermissionDenied), world.uow(who) as uow:
            funds.create_source(
                uow,
                level=FundLevel.CENTRAL,
                kind=FundKind.OTHER,
                year=2024,
                document_number="x",
                amount="1.00",
            )
        with pytest.raises(PermissionDenied), world.uow(who) as uow:
            funds.appropriate(
                uow, source=source, county="532322", document_number="y", amount="1.00"
            )


# -- appropriations ------------------------------------------------------------------------


def test_appropriations_never_exceed_their_source(world, engine):
    source = make_source(world, "1000.00")
    make_appropriation(world, source, "600.00", "532322")
    make_appropriation(world, source, "399.99", "532301")
    with pytest.raises(Conflict) as refused:
        make_appropriation(world, source, "0.02", "532327")
    assert refused.value.field == "amount"
    assert "0.01" in refused.value.message
    make_appropriation(world, source, "0.01", "532327")
    with Session(engine) as session:
        found = funds.source_by_number(session, source)
        assert balances.appropriated(session, found.id) == Decimal("1000.00")
    assert_books_ok(engine)


def test_appropriation_needs_a_known_source_and_county(world):
    source = make_source(world)
    with pytest.raises(NotFound) as refused:
        make_appropriation(world, "ZJ-2024-999999")
    assert refused.value.field == "source"
    with pytest.raises(NotFound) as refused:
        make_appropriation(world, source, county="999999")
    assert refused.value.field == "county"


# -- releases ------------------------------------------------------------------------------


def test_release_goes_through_every_state_with_three_people(world, engine):
    appropriation = make_appropriation(world, make_source(world))
    with world.uow("requester_sb") as uow:
        release = funds.create_release(
            uow,
            appropriation=appropriation,
            purpose=Purpose.LIVING_AID,
            amount="12000.00",
            beneficiaries=60,
            households=20,
            description="冬春生活救助 20 户 60 人",
        )
        number = release.number
    assert number.startswith("ZF-")
    assert release.state == ReleaseState.DRAFT
    with pytest.raises(InvalidInput) as refused, world.uow("requester_sb") as uow:
        funds.submit(uow, number)
    assert refused.value.field == "evidence"
    assert release_state(engine, number) == ReleaseState.DRAFT
    number = file_release(world, appropriation, "12000.00", beneficiaries=60)
    assert release_state(engine, number) == ReleaseState.SUBMITTED
    with world.uow("finance") as uow:
        funds.verify(uow, number, note="已核对花名册 20 户 60 人")
    assert release_state(engine, number) == ReleaseState.VERIFIED
    with pytest.raises(PermissionDenied), world.uow("finance") as uow:
        funds.approve(uow, number)
    with world.uow("finance2") as uow:
        funds.approve(uow, number)
    assert release_state(engine, number) == ReleaseState.APPROVED
    with pytest.raises(PermissionDenied), world.uow("requester_sb") as uow:
        funds.pay(uow, number)
    with world.uow("finance") as uow:
        funds.pay(uow, number, payment_reference="国库支付 0012")
    with Session(engine) as session:
        paid = funds.release_by_number(session, number)
        assert paid.state == ReleaseState.RELEASED
        signers = {paid.created_by_id, paid.verified_by_id, paid.approved_by_id}
        assert len(signers) == 3
    with pytest.raises(Conflict) as refused, world.uow("finance") as uow:
        funds.pay(uow, number)
    assert refused.value.field == "state"
    assert_books_ok(engine)


def test_creator_can_neither_verify_nor_approve(world):
    appropriation = make_appropriation(world, make_source(world), county="532301")
    with world.uow("finance") as uow:
        number = funds.create_release(
            uow,
            appropriation=appropriation,
            purpose=Purpose.MATERIALS,
            amount="100.00",
            evidence="采购合同",
            submit=True,
        ).number
    with pytest.raises(PermissionDenied) as refused, world.uow("finance") as uow:
        funds.verify(uow, number)
    assert "职责分离" in refused.value.message
    with world.uow("finance2") as uow:
        funds.verify(uow, number)
    for who in ("finance", "finance2"):
        with pytest.raises(PermissionDenied), world.uow(who) as uow:
            funds.approve(uow, number)
    with world.uow("admin") as uow:
        funds.approve(uow, number)


def test_requesters_file_only_for_their_county_and_auditors_never(world):
    source = make_source(world)
    elsewhere = make_appropriation(world, source, county="532301")
    mine = make_appropriation(world, source, county="532322")
    fields = {"purpose": Purpose.LIVING_AID, "amount": "10.00", "beneficiaries": 1}
    with pytest.raises(PermissionDenied), world.uow("requester_sb") as uow:
        funds.create_release(uow, appropriation=elsewhere, **fields)
    for who in ("auditor", "keeper_zx", "dispatcher"):
        with pytest.raises(PermissionDenied), world.uow(who) as uow:
            funds.create_release(uow, appropriation=mine, **fields)
    number = file_release(world, mine, "10.00")
    for who in ("auditor", "requester_sb", "keeper_zx"):
        with pytest.raises(PermissionDenied), world.uow(who) as uow:
            funds.verify(uow, number)


BAD_RELEASE_FIELDS = [
    ({"purpose": "party"}, "purpose"),
    ({"beneficiaries": 0}, "beneficiaries"),
    ({"beneficiaries": -1}, "beneficiaries"),
    ({"beneficiaries": 1.5}, "beneficiaries"),
    ({"households": 99}, "households"),
    ({"amount": "1.234"}, "amount"),
    ({"amount": 10.0}, "amount"),
]


def test_bad_release_fields_are_refused(world, engine):
    appropriation = make_appropriation(world, make_source(world))
    for change, field in BAD_RELEASE_FIELDS:
        fields = {"purpose": Purpose.LIVING_AID, "amount": "10.00", "beneficiaries": 5, **change}
        with pytest.raises(InvalidInput) as refused, world.uow("requester_sb") as uow:
            funds.create_release(uow, appropriation=appropriation, **fields)
        assert refused.value.field == field, change
    assert count(engine, FundRelease) == 0


def test_a_release_never_exceeds_what_remains(world, engine):
    appropriation = make_appropriation(world, make_source(world), "1000.00")
    with pytest.raises(Conflict) as refused:
        file_release(world, appropriation, "1000.01")
    assert refused.value.field == "amount"
    first = file_release(world, appropriation, "700.00")
    second = file_release(world, appropriation, "700.00")  # fits while nothing is approved
    verify_and_approve(world, first)
    with pytest.raises(Conflict) as refused:
        verify_and_approve(world, second)
    assert "300.00" in refused.value.message
    assert release_state(engine, second) == ReleaseState.VERIFIED
    with world.uow("finance") as uow:
        funds.reject(uow, second, reason="超出下达余额，请按余额重新申请")
    third = paid_release(world, appropriation, "300.00")
    assert release_state(engine, third) == ReleaseState.RELEASED
    with Session(engine) as session:
        found = funds.appropriation_by_number(session, appropriation)
        assert balances.drawn(session, found.id) == Decimal("1000.00")
    assert_books_ok(engine)


def test_rejection_needs_a_reason_and_is_final(world, engine):
    appropriation = make_appropriation(world, make_source(world))
    number = file_release(world, appropriation, "50.00")
    with pytest.raises(InvalidInput) as refused, world.uow("finance") as uow:
        funds.reject(uow, number, reason=" ")
    assert refused.value.field == "reason"
    with pytest.raises(PermissionDenied), world.uow("requester_sb") as uow:
        funds.reject(uow, number, reason="撤回")
    with world.uow("finance") as uow:
        funds.reject(uow, number, reason="花名册与低保名单不符")
    with Session(engine) as session:
        rejected = funds.release_by_number(session, number)
        assert rejected.state == ReleaseState.REJECTED
        assert rejected.reject_reason == "花名册与低保名单不符"
    with pytest.raises(Conflict), world.uow("finance2") as uow:
        funds.verify(uow, number)


def test_the_author_may_withdraw_a_draft(world, engine):
    appropriation = make_appropriation(world, make_source(world))
    with world.uow("requester_sb") as uow:
        number = funds.create_release(
            uow,
            appropriation=appropriation,
            purpose=Purpose.RESETTLEMENT,
            amount="80.00",
            beneficiaries=4,
        ).number
    with world.uow("requester_sb") as uow:
        funds.reject(uow, number, reason="录入有误，撤回")
    assert release_state(engine, number) == ReleaseState.REJECTED


# -- idempotency ---------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_same_release(world, engine):
    appropriation = make_appropriation(world, make_source(world))
    fields = {
        "appropriation": appropriation,
        "purpose": Purpose.LIVING_AID,
        "amount": "100.00",
        "beneficiaries": 3,
    }
    with world.uow("requester_sb") as uow:
        first, replayed = funds.create_release_once(uow, "key-1", **fields)
        number = first.number
    assert not replayed
    with world.uow("requester_sb") as uow:
        again, replayed = funds.create_release_once(uow, "key-1", **fields)
    assert replayed and again.number == number
    with pytest.raises(Conflict) as refused, world.uow("requester_sb") as uow:
        funds.create_release_once(uow, "key-1", **{**fields, "amount": "200.00"})
    assert refused.value.field == "Idempotency-Key"
    with world.uow("finance") as uow:
        other, replayed = funds.create_release_once(uow, "key-1", **fields)
    assert not replayed and other.number != number
    assert count(engine, FundRelease) == 2


# -- reversals -----------------------------------------------------------------------------


def test_a_paid_release_is_corrected_by_a_reversal_two_people_sign(world, engine):
    appropriation = make_appropriation(world, make_source(world), "1000.00")
    number = paid_release(world, appropriation, "1000.00")  # filed by requester_sb, paid by finance
    with pytest.raises(Conflict):
        file_release(world, appropriation, "0.01")
    with pytest.raises(InvalidInput), world.uow("finance") as uow:
        funds.reverse_release(uow, number, reason="")
    with pytest.raises(PermissionDenied), world.uow("requester_sb") as uow:
        funds.reverse_release(uow, number, reason="误拨")
    with world.uow("finance") as uow:  # the payer may propose it ...
        proposed = funds.reverse_release(uow, number, reason="重复拨付，资金已追回")
    assert proposed.number.startswith("CZ-") and proposed.state == "proposed"
    assert proposed.amount == Decimal("1000.00")
    with pytest.raises(Conflict):  # ... but until approved, the money stays paid
        file_release(world, appropriation, "0.01")
    with pytest.raises(Conflict), world.uow("finance2") as uow:
        funds.reverse_release(uow, number, reason="再次冲销")  # one proposal at a time
    with pytest.raises(PermissionDenied), world.uow("finance") as uow:
        funds.approve_reversal(uow, proposed.number)  # neither proposer nor payer
    with pytest.raises(PermissionDenied), world.uow("requester_sb") as uow:
        funds.approve_reversal(uow, proposed.number)
    with world.uow("finance2") as uow:
        reversal = funds.approve_reversal(uow, proposed.number)
    assert (reversal.number, reversal.approved_by_id) == (
        proposed.number,
        world.actors["finance2"].user_id,
    )
    with pytest.raises(Conflict), world.uow("admin") as uow:
        funds.approve_reversal(uow, proposed.number)  # decided once
    with pytest.raises(Conflict), world.uow("finance") as uow:
        funds.reverse_release(uow, number, reason="再次冲销")
    assert release_state(engine, number) == ReleaseState.RELEASED  # the original stays
    paid_release(world, appropriation, "1000.00")  # the money is available again
    assert_books_ok(engine)


def test_a_rejected_reversal_leaves_the_original_as_it_was(world, engine):
    appropriation = make_appropriation(world, make_source(world), "1000.00")
    number = paid_release(world, appropriation, "600.00")
    with world.uow("finance") as uow:
        proposed = funds.reverse_release(uow, number, reason="疑似重复").number
    with pytest.raises(InvalidInput), world.uow("finance2") as uow:
        funds.reject_reversal(uow, proposed, reason=" ")
    with world.uow("finance2") as uow:
        funds.reject_reversal(uow, proposed, reason="核实并非重复拨付")
    with pytest.raises(Conflict), world.uow("admin") as uow:
        funds.approve_reversal(uow, proposed)
    with pytest.raises(Conflict):
        file_release(world, appropriation, "400.01")  # 600 still paid out
    with world.uow("finance") as uow:  # a new proposal may follow a rejected one
        again = funds.reverse_release(uow, number, reason="确认重复").number
    assert again != proposed
    assert_books_ok(engine)


def test_only_paid_releases_are_reversed(world):
    appropriation = make_appropriation(world, make_source(world))
    number = file_release(world, appropriation, "10.00")
    with pytest.raises(Conflict), world.uow("finance") as uow:
        funds.reverse_release(uow, number, reason="误录")


def test_reversals_go_top_down_only_when_nothing_depends_on_them(world, engine):
    source = make_source(world, "1000.00")
    appropriation = make_appropriation(world, source, "1000.00")
    release = paid_release(world, appropriation, "100.00")
    with pytest.raises(Conflict) as refused, world.uow("finance") as uow:
        funds.reverse_source(uow, source, reason="文号录错")
    assert "下达" in refused.value.message
    with pytest.raises(Conflict), world.uow("finance") as uow:
        funds.reverse_appropriation(uow, appropriation, reason="县市录错")
    pending = file_release(world, appropriation, "10.00")
    reverse_approved(world, funds.reverse_release, release)
    with pytest.raises(Conflict) as refused, world.uow("finance") as uow:
        funds.reverse_appropriation(uow, appropriation, reason="县市录错")
    assert "未办结" in refused.value.message
    with world.uow("finance") as uow:
        funds.reject(uow, pending, reason="下达将冲销")
    with world.uow("finance") as uow:  # the creator may propose ...
        proposed = funds.reverse_appropriation(uow, appropriation, reason="县市录错").number
    with pytest.raises(PermissionDenied), world.uow("finance") as uow:
        funds.approve_reversal(uow, proposed)  # ... never approve
    with world.uow("finance2") as uow:
        funds.approve_reversal(uow, proposed)
    with pytest.raises(Conflict):
        file_release(world, appropriation, "1.00")
    corrected = make_appropriation(world, source, "1000.00", "532301")
    assert corrected.startswith("XD-")
    with pytest.raises(Conflict), world.uow("finance") as uow:
        funds.reverse_source(uow, source, reason="再试")
    reverse_approved(world, funds.reverse_appropriation, corrected)
    reverse_approved(world, funds.reverse_source, source)
    with pytest.raises(Conflict):
        make_appropriation(world, source, "1.00")
    assert_books_ok(engine)


# -- the database stands behind the services -----------------------------------------------


def test_database_refuses_edits_of_final_money_rows(world, engine):
    source = make_source(world, "1000.00")
    appropriation = make_appropriation(world, source, "1000.00")
    paid = paid_release(world, appropriation, "100.00")
    draft = file_release(world, appropriation, "10.00")
    for statement in (
        "UPDATE fund_source SET amount = 1",
        "DELETE FROM fund_source",
        "UPDATE appropriation SET amount = 1",
        f"UPDATE fund_release SET amount = 1 WHERE number = '{paid}'",
        f"UPDATE fund_release SET state = 'draft' WHERE number = '{paid}'",
        f"DELETE FROM fund_release WHERE number = '{draft}'",
        f"UPDATE fund_release SET amount = 999999 WHERE number = '{draft}'",
    ):
        with pytest.raises(DatabaseError):
            raw_sql(engine, statement)
    assert release_state(engine, paid) == ReleaseState.RELEASED
    assert_books_ok(engine)


@pytest.mark.parametrize("db_url", ["pg"], indirect=True)
def test_postgres_refuses_money_writes_without_an_actor(world, engine):
    make_source(world, "1000.00")
    with pytest.raises(DatabaseError, match=r"relief\.actor"):
        outside_sql(
            engine,
            "INSERT INTO fund_reversal (number, target, source_id, amount, reason, "
            "created_by_id, created_at) SELECT 'CZ-X', 'source', id, amount, 'x', "
            "created_by_id, now() FROM fund_source",
        )


def test_check_finds_money_written_behind_the_services_back(world, engine):
    source = make_source(world, "1000.00")
    appropriation = make_appropriation(world, source, "1000.00")
    paid_release(world, appropriation, "1000.00")
    raw_sql(
        engine,
        "INSERT INTO appropriation (number, source_id, county_id, document_number, issued_on, "
        "amount, note, created_by_id, created_at) SELECT 'XD-FAKE', source_id, county_id, "
        "'伪造', issued_on, 50000, '', created_by_id, created_at FROM appropriation",
    )
    raw_sql(
        engine,
        "INSERT INTO fund_release (number, appropriation_id, county_id, purpose, description, "
        "amount, beneficiaries, households, evidence, state, created_by_id, created_at, "
        "verification_note, payment_reference, reject_reason) SELECT 'ZF-FAKE', "
        "appropriation_id, county_id, purpose, '', 100, 0, 0, '', 'released', created_by_id, "
        "created_at, '', '', '' FROM fund_release",
    )
    with Session(engine) as session:
        problems = check_funds(session)
    assert any("下达合计 1500.00 超过" in p for p in problems)
    assert any("1001.00 超过可用金额 1000.00" in p for p in problems)
    assert any("ZF-FAKE" in p and "签署" in p for p in problems)


def test_money_survives_the_round_trip_to_the_fen(world, engine):
    source = make_source(world, "0.03")
    appropriation = make_appropriation(world, source, "0.03")
    for _ in range(3):
        paid_release(world, appropriation, "0.01", beneficiaries=1)
    with Session(engine) as session:
        found = session.scalar(select(Appropriation).where(Appropriation.number == appropriation))
        assert balances.drawn(session, found.id) == Decimal("0.03")
        assert session.scalar(select(func.sum(FundRelease.amount))) == Decimal("0.03")
