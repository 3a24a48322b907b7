"""How much is left: the sums every money rule is checked against.

Written once and used by the services (before they write, under a row lock), by
``relief check`` and by the reconciliation, so the rule a write obeys is the rule the
books are later proved against. Reversed rows count as nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from relief_inventory.funds.models import (
    Appropriation,
    FundRelease,
    FundReversal,
    PurchaseLink,
    Purpose,
    ReleaseState,
)

ZERO = Decimal("0.00")


def _total(session: Session, column: Any, *conditions: ColumnElement[bool]) -> Decimal:
    value = session.scalar(select(func.sum(column)).where(*conditions))
    return ZERO if value is None else value


def not_reversed(column: Any, reversal_column: Any) -> ColumnElement[bool]:
    """Rows whose id no reversal names."""
    return column.not_in(select(reversal_column).where(reversal_column.is_not(None)))


def live_appropriation() -> ColumnElement[bool]:
    return not_reversed(Appropriation.id, FundReversal.appropriation_id)


def drawn_release() -> ColumnElement[bool]:
    """Approved or paid, and not reversed: money the county has been promised or given."""
    return FundRelease.state.in_(ReleaseState.DRAWN) & not_reversed(
        FundRelease.id, FundReversal.release_id
    )


def committed_release() -> ColumnElement[bool]:
    """Approved and not yet paid: what ``committed`` means everywhere (API, reconcile)."""
    return (FundRelease.state == ReleaseState.APPROVED) & not_reversed(
        FundRelease.id, FundReversal.release_id
    )


def paid_release() -> ColumnElement[bool]:
    return (FundRelease.state == ReleaseState.RELEASED) & not_reversed(
        FundRelease.id, FundReversal.release_id
    )


def is_reversed(session: Session, reversal_column: Any, target_id: int) -> bool:
    return session.scalar(select(FundReversal.id).where(reversal_column == target_id)) is not None


def appropriated(session: Session, source_id: int) -> Decimal:
    return _total(
        session,
        Appropriation.amount,
        Appropriation.source_id == source_id,
        live_appropriation(),
    )


def drawn(session: Session, appropriation_id: int) -> Decimal:
    """Committed + released: what an appropriation's releases have taken of it."""
    return _total(
        session,
        FundRelease.amount,
        FundRelease.appropriation_id == appropriation_id,
        drawn_release(),
    )


def purchase_paid(session: Session, appropriation_id: int) -> Decimal:
    """Paid-out materials money: the most its stock receipts may account for."""
    return _total(
        session,
        FundRelease.amount,
        FundRelease.appropriation_id == appropriation_id,
        FundRelease.purpose == Purpose.MATERIALS,
        paid_release(),
    )


def linked(session: Session, appropriation_id: int) -> Decimal:
    return _total(session, PurchaseLink.amount, PurchaseLink.appropriation_id == appropriation_id)


def open_releases(session: Session, appropriation_id: int) -> int:
    """Releases still moving through the workflow (neither paid nor rejected)."""
    return int(
        session.scalar(
            select(func.count(FundRelease.id)).where(
                FundRelease.appropriation_id == appropriation_id,
                FundRelease.state.not_in(ReleaseState.FINAL),
            )
        )
        or 0
    )
