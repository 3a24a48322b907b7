"""``relief check`` for money: every rule the services enforce, proved again over the tables.

A difference means something wrote behind the services' back (or a service has a bug):
appropriations above their source, releases above their appropriation, reversals that do not
match what they reverse, purchase links not covered by paid materials money.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relief_inventory.funds import balances
from relief_inventory.funds.models import (
    Appropriation,
    FundRelease,
    FundReversal,
    FundSource,
    PurchaseLink,
    Purpose,
    ReleaseState,
)
from relief_inventory.stock.models import DocKind, StockDocument

ZERO = balances.ZERO


def _sums(session: Session, key: object, amount: object, *conditions: object) -> dict[int, Decimal]:
    rows = session.execute(
        select(key, func.sum(amount)).where(*conditions).group_by(key)  # type: ignore[arg-type]
    )
    return {int(k): v for k, v in rows}


def check_funds(session: Session) -> list[str]:
    return [
        *_check_sources(session),
        *_check_appropriations(session),
        *_check_releases(session),
        *_check_reversals(session),
        *_check_purchases(session),
    ]


def _check_sources(session: Session) -> list[str]:
    given = _sums(
        session, Appropriation.source_id, Appropriation.amount, balances.live_appropriation()
    )
    reversed_ids = set(
        session.scalars(select(FundReversal.source_id).where(FundReversal.source_id.is_not(None)))
    )
    problems = []
    for source in session.scalars(select(FundSource).order_by(FundSource.id)):
        total = given.get(source.id, ZERO)  # type: ignore[arg-type]
        limit = ZERO if source.id in reversed_ids else source.amount
        if total > limit:
            problems.append(f"资金来源 {source.number}：下达合计 {total} 超过可下达金额 {limit}")
    return problems


def _check_appropriations(session: Session) -> list[str]:
    used = _sums(
        session, FundRelease.appropriation_id, FundRelease.amount, balances.drawn_release()
    )
    reversed_ids = set(
        session.scalars(
            select(FundReversal.appropriation_id).where(FundReversal.appropriation_id.is_not(None))
        )
    )
    problems = []
    for appropriation in session.scalars(select(Appropriation).order_by(Appropriation.id)):
        total = used.get(appropriation.id, ZERO)  # type: ignore[arg-type]
        limit = ZERO if appropriation.id in reversed_ids else appropriation.amount
        if total > limit:
            problems.append(
                f"资金下达 {appropriation.number}：审批及拨付合计 {total} 超过可用金额 {limit}"
            )
    return problems


def _check_releases(session: Session) -> list[str]:
    problems = []
    rows = session.execute(
        select(FundRelease, Appropriation.county_id)
        .join(Appropriation, Appropriation.id == FundRelease.appropriation_id)
        .order_by(FundRelease.id)
    )
    for release, county_id in rows:
        label = f"资金拨付 {release.number}"
        if release.county_id != county_id:
            problems.append(f"{label}：县市与其资金下达不一致")
        people = [release.created_by_id, release.verified_by_id, release.approved_by_id]
        signed = [p for p in people if p is not None]
        if len(signed) != len(set(signed)):
            problems.append(f"{label}：申请、核验、审批人有重复（违反职责分离）")
        steps = {
            ReleaseState.VERIFIED: 2,
            ReleaseState.APPROVED: 3,
            ReleaseState.RELEASED: 3,
        }.get(release.state, 0)
        if len(signed) < steps or (
            release.state == ReleaseState.RELEASED and release.released_by_id is None
        ):
            problems.append(f"{label}：状态为{release.state}但缺少经办人签署")
    return problems


def _check_reversals(session: Session) -> list[str]:
    problems = []
    targets = (
        (FundReversal.source_id, FundSource, None),
        (FundReversal.appropriation_id, Appropriation, None),
        (FundReversal.release_id, FundRelease, ReleaseState.RELEASED),
    )
    for column, model, required_state in targets:
        rows = session.execute(
            select(FundReversal, model).join(model, model.id == column).order_by(FundReversal.id)  # type: ignore[attr-defined]
        )
        for reversal, original in rows:
            if reversal.amount != original.amount:
                problems.append(
                    f"冲销单 {reversal.number}：金额 {reversal.amount} 与原单 "
                    f"{original.number} 的 {original.amount} 不符"
                )
            if required_state and original.state != required_state:
                problems.append(f"冲销单 {reversal.number}：原单 {original.number} 并未拨付")
            signers = {reversal.created_by_id, original.created_by_id}
            if isinstance(original, FundRelease):
                signers.add(original.released_by_id)
            if reversal.approved_by_id is not None and reversal.approved_by_id in signers:
                problems.append(
                    f"冲销单 {reversal.number}：审批人也是提出人或原单经办人（违反职责分离）"
                )
    return problems


def _check_purchases(session: Session) -> list[str]:
    linked = _sums(session, PurchaseLink.appropriation_id, PurchaseLink.amount)
    paid = _sums(
        session,
        FundRelease.appropriation_id,
        FundRelease.amount,
        FundRelease.purpose == Purpose.MATERIALS,
        balances.paid_release(),
    )
    numbers = dict(session.execute(select(Appropriation.id, Appropriation.number)).all())
    problems = [
        f"资金下达 {numbers[appropriation_id]}：关联入库金额 {total} 超过已拨付采购资金 "
        f"{paid.get(appropriation_id, ZERO)}"
        for appropriation_id, total in sorted(linked.items())
        if total > paid.get(appropriation_id, ZERO)
    ]
    strays = session.execute(
        select(StockDocument.kind, func.count(PurchaseLink.id))
        .join(PurchaseLink, PurchaseLink.stock_document_id == StockDocument.id)
        .where(StockDocument.kind != DocKind.RECEIPT)
        .group_by(StockDocument.kind)
    )
    problems.extend(f"有 {count} 条资金关联指向非入库单（{kind}）" for kind, count in strays)
    return problems
