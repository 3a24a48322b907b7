"""The 2024 relief funds of the demo prefecture, booked through the funds services.

What FACTS.md gives, to the fen: 32,270,000.00 yuan of winter-spring relief funds from the
central, provincial and prefecture levels issued to the 10 counties, and 12,350,000.00 yuan
of flood/drought and geological-disaster relief funds; paid releases reaching 206,600 people.
Everything else (the split between levels and counties, the dates, the document numbers)
is a plausible invention, drawn from ``rng`` so that a seed is repeatable.

Each release is filed by its county's requester, verified by ``finance``, approved by
``finance2`` and paid by ``finance``: three different people, as the services insist. A few
materials purchases are linked to stock receipts of tents already in the ledger (when the
stock seed ran first), a few releases are left waiting for finance, and one duplicated
payment is corrected by a reversal (冲销), as a real year's books would show.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select

from relief_inventory.auth import services as auth
from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.models import RoleGrant, User
from relief_inventory.db import open_session
from relief_inventory.funds import services as funds
from relief_inventory.funds.models import FundKind, FundLevel, FundSource, Purpose
from relief_inventory.money import from_fen, to_fen
from relief_inventory.stock.models import Category, DocKind, DocState, Item, Move, StockDocument
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import County, Depot

YEAR = 2024
PEOPLE_SERVED = 206_600
UNIT = 10_000  # amounts are split in whole hundreds of yuan (10,000 fen)
WINTER_SPRING_TOTAL = Decimal("32270000.00")
FLOOD_GEOLOGICAL_TOTAL = Decimal("12350000.00")

# Relative need of each county (population, poverty, 2024 disasters); jittered by rng.
COUNTY_WEIGHTS = {
    "532301": 13,
    "532302": 12,
    "532322": 9,
    "532323": 8,
    "532324": 10,
    "532325": 8,
    "532326": 11,
    "532327": 8,
    "532328": 9,
    "532329": 12,
}


@dataclass(frozen=True)
class SourcePlan:
    level: str
    kind: str
    document: str
    amount: str
    issued: date
    appropriation_document: str
    counties: tuple[str, ...]  # empty: all ten
    purposes: tuple[str, ...]  # what its releases pay for, in turn


SOURCES = (
    SourcePlan(FundLevel.CENTRAL, FundKind.WINTER_SPRING, "云财社〔2024〕12号", "19360000.00",
               date(2024, 1, 12), "楚财社〔2024〕15号", (), (Purpose.LIVING_AID,)),
    SourcePlan(FundLevel.PROVINCIAL, FundKind.WINTER_SPRING, "云财社〔2024〕28号", "9680000.00",
               date(2024, 2, 2), "楚财社〔2024〕24号", (), (Purpose.LIVING_AID,)),
    SourcePlan(FundLevel.PREFECTURE, FundKind.WINTER_SPRING, "楚财社〔2024〕35号", "3230000.00",
               date(2024, 2, 26), "楚财社〔2024〕36号", (), (Purpose.LIVING_AID,)),
    SourcePlan(FundLevel.CENTRAL, FundKind.FLOOD_DROUGHT, "云财社〔2024〕96号", "6000000.00",
               date(2024, 6, 25), "楚财社〔2024〕71号", (),
               (Purpose.RESETTLEMENT, Purpose.LIVING_AID)),
    SourcePlan(FundLevel.PROVINCIAL, FundKind.FLOOD_DROUGHT, "云财社〔2024〕118号", "2850000.00",
               date(2024, 7, 16), "楚财社〔2024〕80号",
               ("532301", "532302", "532322", "532326", "532328", "532329"),
               (Purpose.RESETTLEMENT, Purpose.LIVING_AID)),
    SourcePlan(FundLevel.PROVINCIAL, FundKind.GEOLOGICAL, "云财社〔2024〕131号", "2000000.00",
               date(2024, 8, 9), "楚财社〔2024〕86号",
               ("532322", "532324", "532326", "532327", "532329"),
               (Purpose.RESETTLEMENT, Purpose.REBUILDING)),
    SourcePlan(FundLevel.PREFECTURE, FundKind.GEOLOGICAL, "楚财社〔2024〕88号", "1500000.00",
               date(2024, 8, 27), "楚财社〔2024〕89号",
               ("532302", "532322", "532326", "532329"),
               (Purpose.REBUILDING, Purpose.RESETTLEMENT)),
)  # fmt: skip

DESCRIPTIONS = {
    Purpose.LIVING_AID: "冬春困难群众基本生活救助（口粮、衣被、取暖）",
    Purpose.RESETTLEMENT: "受灾群众紧急转移安置及过渡期生活救助",
    Purpose.REBUILDING: "地质灾害倒损民房恢复重建补助",
    Purpose.MATERIALS: "采购救灾帐篷等应急物资",
}
EVIDENCE = {
    Purpose.LIVING_AID: "救助对象花名册、村级民主评议及公示记录、乡镇审核意见",
    Purpose.RESETTLEMENT: "转移安置人员台账、灾情核查报告、乡镇审核意见",
    Purpose.REBUILDING: "倒损房屋核查认定表、户主身份证明、公示记录",
    Purpose.MATERIALS: "政府采购合同、中标通知书、发票及入库单",
}
WAITING = (Purpose.MATERIALS, "采购折叠床、毛毯睡袋（待财务审核）")


@dataclass
class Planned:
    """One release the seed will take through the workflow (or leave part of the way)."""

    appropriation: str
    county: str
    purpose: str
    amount_fen: int
    filed: datetime
    beneficiaries: int = 0
    stop_at: str = "released"  # or submitted / verified / approved
    receipt: str | None = None  # the stock receipt this purchase paid for
    description: str = ""


def seed_funds(engine: Engine, rng: random.Random, scale: int) -> None:
    """Book the 2024 funds; does nothing if any fund source exists already."""
    with open_session(engine) as session:
        if session.scalar(select(func.count(FundSource.id))):
            return
    people = _people(engine)
    appropriations = _sources_and_appropriations(engine, people["finance"], rng)
    plan = _plan_releases(engine, appropriations, rng, scale)
    _run(engine, people, plan)


# -- people --------------------------------------------------------------------------------


def _people(engine: Engine) -> dict[str, Actor]:
    """finance verifies and pays, finance2 approves, each county's requester files.
    Returns actors by username for finance and by county code for the requesters."""
    system = auth.system_actor(engine)
    with open_session(engine) as session:
        counties = dict(session.execute(select(County.code, County.id)).all())
        holders = dict(
            session.execute(
                select(RoleGrant.county_id, User.username)
                .join(User, User.id == RoleGrant.user_id)
                .where(RoleGrant.role == Role.REQUESTER, RoleGrant.active.is_(True))
                .order_by(User.id.desc())
            ).all()
        )
        existing = set(session.scalars(select(User.username)))
    missing = [code for code in COUNTY_WEIGHTS if code not in counties]
    if missing:
        raise RuntimeError(f"seed_funds needs the counties seeded first (missing {missing})")
    users = {"finance": "finance", "finance2": "finance2"}
    grants: dict[str, tuple[str, str | None]] = {u: (Role.FINANCE, None) for u in users}
    for code in COUNTY_WEIGHTS:
        users[code] = holders.get(counties[code], f"requester_{code}")
        grants.setdefault(users[code], (Role.REQUESTER, code))
    with UnitOfWork(engine, system, reason="资金演示数据：经办人员") as uow:
        for username, (role, county) in grants.items():
            if username not in existing:
                auth.create_user(uow, username, f"demo-{username}-{YEAR}")
                auth.grant_role(uow, username, role, county_code=county)
    with open_session(engine) as session:
        return {
            key: auth.actor_for(session, auth.user_by_name(session, username))
            for key, username in users.items()
        }


# -- sources and appropriations ------------------------------------------------------------


def _split(total: int, weights: Sequence[float], unit: int = 1) -> list[int]:
    """Split ``total`` (a multiple of ``unit``) in proportion to ``weights``, largest
    remainders first, every share at least one unit; the shares add up exactly."""
    units = total // unit
    count = len(weights)
    spare = units - count
    scaled = [spare * w / sum(weights) for w in weights]
    shares = [int(s) for s in scaled]
    by_remainder = sorted(range(count), key=lambda i: scaled[i] - shares[i], reverse=True)
    for index in by_remainder[: spare - sum(shares)]:
        shares[index] += 1
    return [(share + 1) * unit for share in shares]


def _moment(day: date, rng: random.Random, days: int = 0) -> datetime:
    """A working-hours moment ``days`` after ``day`` (local 09:00–17:00, stored in UTC)."""
    return datetime(day.year, day.month, day.day, 1, tzinfo=UTC) + timedelta(
        days=days, minutes=rng.randrange(0, 8 * 60)
    )


def _sources_and_appropriations(
    engine: Engine, finance: Actor, rng: random.Random
) -> list[tuple[SourcePlan, str, str, int]]:
    """Returns (plan, appropriation number, county code, amount in fen) per appropriation."""
    made = []
    with UnitOfWork(engine, finance, reason="2024 年救灾资金来源及下达") as uow:
        for plan in SOURCES:
            source = funds.create_source(
                uow,
                level=plan.level,
                kind=plan.kind,
                year=YEAR,
                document_number=plan.document,
                amount=plan.amount,
                issued_on=plan.issued,
                at=_moment(plan.issued, rng, 3),
            )
            counties = plan.counties or tuple(COUNTY_WEIGHTS)
            weights = [COUNTY_WEIGHTS[c] * rng.uniform(0.9, 1.1) for c in counties]
            issued = plan.issued + timedelta(days=rng.randint(7, 12))
            for county, fen in zip(
                counties, _split(to_fen(source.amount), weights, UNIT), strict=True
            ):
                row = funds.appropriate(
                    uow,
                    source=source.number,
                    county=county,
                    document_number=plan.appropriation_document,
                    amount=from_fen(fen),
                    issued_on=issued,
                    at=_moment(issued, rng),
                )
                made.append((plan, row.number, county, fen))
    return made


# -- releases ------------------------------------------------------------------------------


def _tent_receipts(engine: Engine) -> dict[str, tuple[str, int]]:
    """One done receipt of tents per county depot: county code -> (number, value in fen)."""
    with open_session(engine) as session:
        rows = session.execute(
            select(
                County.code,
                StockDocument.number,
                func.sum(Move.quantity * Item.unit_value),
            )
            .join(Depot, Depot.id == StockDocument.depot_id)
            .join(County, County.id == Depot.county_id)
            .join(Move, Move.document_id == StockDocument.id)
            .join(Item, Item.id == Move.item_id)
            .join(Category, Category.id == Item.category_id)
            .where(
                StockDocument.kind == DocKind.RECEIPT,
                StockDocument.state == DocState.DONE,
                StockDocument.origin == "purchase",
                Depot.level == "county",
                Category.code == "TENT",
            )
            .group_by(County.code, StockDocument.number)
            .order_by(County.code, StockDocument.number)
        ).all()
    found: dict[str, tuple[str, int]] = {}
    for county, number, value in rows:  # value: a Money sum, Decimal yuan
        found.setdefault(county, (number, to_fen(value)))
    return found


def _plan_releases(
    engine: Engine,
    appropriations: list[tuple[SourcePlan, str, str, int]],
    rng: random.Random,
    scale: int,
) -> list[Planned]:
    receipts = _tent_receipts(engine)
    per_appropriation = max(1, min(12, 3 * scale))
    planned: list[Planned] = []
    waiting = iter(("submitted", "verified", "approved"))
    for plan, number, county, fen in appropriations:
        start = plan.issued + timedelta(days=20)
        if plan.kind == FundKind.FLOOD_DROUGHT and plan.level == FundLevel.CENTRAL:
            # Part of the central flood money buys tents; a little waits for finance.
            receipt = receipts.get(county)
            share = min(receipt[1], fen * 2 // 5) if receipt else fen // 10
            share -= share % UNIT
            if share >= UNIT:
                planned.append(
                    Planned(number, county, Purpose.MATERIALS, share, _moment(start, rng),
                            receipt=receipt[0] if receipt else None)
                )  # fmt: skip
                fen -= share
            stop = next(waiting, None)
            if stop:
                tail = fen // 20 - (fen // 20) % UNIT
                planned.append(
                    Planned(number, county, WAITING[0], tail, _moment(start, rng, 60),
                            stop_at=stop, description=WAITING[1])
                )  # fmt: skip
                fen -= tail
        shares = _split(fen, [rng.uniform(0.6, 1.4) for _ in range(per_appropriation)], UNIT)
        for index, share in enumerate(shares):
            purpose = plan.purposes[index % len(plan.purposes)]
            filed = _moment(start, rng, 10 * index + rng.randint(0, 5))
            planned.append(Planned(number, county, purpose, share, filed))
    aided = [p for p in planned if p.purpose in Purpose.NEEDS_BENEFICIARIES]
    for release, people in zip(
        aided, _split(PEOPLE_SERVED, [p.amount_fen for p in aided]), strict=True
    ):
        release.beneficiaries = people
    return planned


def _run(engine: Engine, people: dict[str, Actor], plan: list[Planned]) -> None:
    """File per county, then verify, approve and pay in one unit of work per person."""
    _duplicate_and_reverse(engine, people, next(p for p in plan if p.purpose == Purpose.LIVING_AID))
    numbers: dict[int, str] = {}
    for county in COUNTY_WEIGHTS:
        with UnitOfWork(engine, people[county], reason="县级资金拨付申请") as uow:
            for index, item in enumerate(plan):
                if item.county == county:
                    numbers[index] = _file(uow, item)
    for offset, (who, state) in enumerate(STEPS, start=1):
        with UnitOfWork(engine, people[who], reason="财务审核拨付") as uow:
            for index, item in enumerate(plan):
                if ORDER.index(item.stop_at) >= ORDER.index(state):
                    _step(uow, state, numbers[index], item.filed + timedelta(days=2 * offset))
    with UnitOfWork(engine, people["finance"], reason="物资采购资金关联入库单") as uow:
        for item in plan:
            if item.receipt:
                funds.record_purchase(
                    uow, item.appropriation, item.receipt, from_fen(item.amount_fen)
                )


ORDER = ("submitted", "verified", "approved", "released")
STEPS = (("finance", "verified"), ("finance2", "approved"), ("finance", "released"))


def _step(uow: UnitOfWork, state: str, number: str, at: datetime) -> None:
    if state == "verified":
        funds.verify(uow, number, note="已核对申请依据", at=at)
    elif state == "approved":
        funds.approve(uow, number, at=at)
    else:
        funds.pay(uow, number, payment_reference="国库集中支付", at=at)


def _file(uow: UnitOfWork, item: Planned) -> str:
    people = item.beneficiaries
    return funds.create_release(
        uow,
        appropriation=item.appropriation,
        purpose=item.purpose,
        amount=from_fen(item.amount_fen),
        beneficiaries=people,
        households=round(people / 2.9),
        description=item.description or DESCRIPTIONS[item.purpose],
        evidence=EVIDENCE[item.purpose],
        submit=True,
        at=item.filed,
    ).number


def _duplicate_and_reverse(engine: Engine, people: dict[str, Actor], item: Planned) -> None:
    """A payment entered twice, caught at month end and reversed (冲销), never deleted.
    Booked before the year's other releases so the appropriation has room for it; once
    reversed it counts for nothing, neither its money nor its people."""
    with UnitOfWork(engine, people[item.county], reason="县级资金拨付申请") as uow:
        number = _file(uow, item)
    for offset, (who, state) in enumerate(STEPS, start=1):
        with UnitOfWork(engine, people[who], reason="财务审核拨付") as uow:
            _step(uow, state, number, item.filed + timedelta(days=2 * offset))
    with UnitOfWork(engine, people["finance"], reason="月末对账发现重复拨付") as uow:
        reversal = funds.reverse_release(
            uow,
            number,
            reason="同一花名册重复申请拨付，资金已由县财政退回",
            at=item.filed + timedelta(days=25),
        ).number
    with UnitOfWork(engine, people["finance2"], reason="冲销审批") as uow:  # the second person
        funds.approve_reversal(uow, reversal, at=item.filed + timedelta(days=26))
