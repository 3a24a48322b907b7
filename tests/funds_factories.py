"""Money for tests: a source, an appropriation, and releases taken all the way to paid.

Uses the world of tests/factories.py: ``requester_sb`` files for 双柏县 (532322), finance
files for the other counties; ``finance``, ``finance2`` and ``admin`` verify, approve and pay
so that the three signatures always belong to three different people.
"""

from __future__ import annotations

from itertools import count

from sqlalchemy import Engine

from relief_inventory.funds import services as funds
from relief_inventory.funds.models import FundKind, FundLevel, Purpose
from tests.conftest import outside_sql
from tests.factories import World

_documents = count(1)
FINANCE_PEOPLE = ("finance", "finance2", "admin")


def make_source(
    world: World,
    amount: str = "1000000.00",
    *,
    kind: str = FundKind.WINTER_SPRING,
    level: str = FundLevel.PROVINCIAL,
    year: int = 2024,
) -> str:
    with world.uow("finance") as uow:
        return funds.create_source(
            uow,
            level=level,
            kind=kind,
            year=year,
            document_number=f"云财社〔{year}〕{next(_documents)}号",
            amount=amount,
        ).number


def make_appropriation(
    world: World, source: str, amount: str = "100000.00", county: str = "532322"
) -> str:
    with world.uow("finance") as uow:
        return funds.appropriate(
            uow,
            source=source,
            county=county,
            document_number=f"楚财社〔2024〕{next(_documents)}号",
            amount=amount,
        ).number


def creator_for(county: str) -> str:
    return "requester_sb" if county == "532322" else "finance"


def file_release(
    world: World,
    appropriation: str,
    amount: str,
    *,
    county: str = "532322",
    purpose: str = Purpose.LIVING_AID,
    beneficiaries: int = 10,
) -> str:
    """A submitted release, filed by the county (or finance for counties without a requester)."""
    with world.uow(creator_for(county)) as uow:
        return funds.create_release(
            uow,
            appropriation=appropriation,
            purpose=purpose,
            amount=amount,
            beneficiaries=beneficiaries if purpose in Purpose.NEEDS_BENEFICIARIES else 0,
            evidence="花名册及村级评议公示",
            submit=True,
        ).number


def signers(county: str) -> tuple[str, str]:
    """A verifier and an approver, neither of them the creator nor each other."""
    others = [p for p in FINANCE_PEOPLE if p != creator_for(county)]
    return others[0], others[1]


def verify_and_approve(world: World, number: str, county: str = "532322") -> None:
    verifier, approver = signers(county)
    with world.uow(verifier) as uow:
        funds.verify(uow, number, note="已核对花名册")
    with world.uow(approver) as uow:
        funds.approve(uow, number)


def pay(world: World, number: str, county: str = "532322") -> None:
    verifier, _approver = signers(county)
    with world.uow(verifier) as uow:
        funds.pay(uow, number, payment_reference="国库集中支付")


def paid_release(
    world: World,
    appropriation: str,
    amount: str,
    *,
    county: str = "532322",
    purpose: str = Purpose.LIVING_AID,
    beneficiaries: int = 10,
) -> str:
    number = file_release(
        world,
        appropriation,
        amount,
        county=county,
        purpose=purpose,
        beneficiaries=beneficiaries,
    )
    verify_and_approve(world, number, county)
    pay(world, number, county)
    return number


def funded_appropriation(
    world: World, amount: str = "100000.00", materials: str = "50000.00", county: str = "532322"
) -> str:
    """An appropriation with ``materials`` yuan of purchase money already paid out, ready
    for stock receipts to name it (``record_purchase``)."""
    appropriation = make_appropriation(world, make_source(world), amount, county)
    paid_release(world, appropriation, materials, county=county, purpose=Purpose.MATERIALS)
    return appropriation


def reverse_approved(
    world: World,
    service,
    number: str,
    *,
    proposer: str = "finance2",
    approver: str = "admin",
    reason: str = "录入错误，冲销",
) -> str:
    """Propose a reversal and have a second person approve it; returns its number."""
    with world.uow(proposer) as uow:
        reversal = service(uow, number, reason=reason).number
    with world.uow(approver) as uow:
        funds.approve_reversal(uow, reversal)
    return reversal


def raw_sql(engine: Engine, statement: str) -> None:
    """Write behind the services' back, as an intruder with database access would (naming an
    actor, so PostgreSQL's require-actor triggers let it through)."""
    outside_sql(engine, statement, as_actor="intruder")
