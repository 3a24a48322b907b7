"""Reconciliation (对账): per source, county, kind and level, how much came in, was issued to
counties, was promised and was paid, and proof that the levels tie out to the fen.

Each grouping and the grand total are summed by the database separately; the tie-out then
adds each grouping's rows up in Python and compares them with the total. Any row outside a
group (a release whose county or source went missing), any appropriation above its source
or payment above its appropriation shows up as a problem, together with the invariants of
``funds.check``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from relief_inventory.funds import balances
from relief_inventory.funds.check import check_funds
from relief_inventory.funds.models import (
    Appropriation,
    FundKind,
    FundLevel,
    FundRelease,
    FundReversal,
    FundSource,
)
from relief_inventory.warehouse.models import County

ZERO = balances.ZERO
TOTAL_KEY = "TOTAL"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    amount: Decimal | None  # money received; None for counties (they receive appropriations)
    appropriated: Decimal
    committed: Decimal  # approved but not yet paid
    released: Decimal
    beneficiaries: int

    @property
    def unappropriated(self) -> Decimal | None:
        return None if self.amount is None else self.amount - self.appropriated

    @property
    def balance(self) -> Decimal:
        """Issued to counties and not yet paid out."""
        return self.appropriated - self.released

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "amount": self.amount,
            "appropriated": self.appropriated,
            "committed": self.committed,
            "released": self.released,
            "balance": self.balance,
            "unappropriated": self.unappropriated,
            "beneficiaries": self.beneficiaries,
        }


MEASURES = ("amount", "appropriated", "committed", "released", "beneficiaries")


@dataclass
class Reconciliation:
    year: int | None
    by_source: list[Row]
    by_county: list[Row]
    by_kind: list[Row]
    by_level: list[Row]
    total: Row
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def groupings(self) -> dict[str, list[Row]]:
        return {
            "source": self.by_source,
            "county": self.by_county,
            "kind": self.by_kind,
            "level": self.by_level,
        }


# -- sums ----------------------------------------------------------------------------------


def _live_source() -> ColumnElement[bool]:
    return balances.not_reversed(FundSource.id, FundReversal.source_id)


def _grouped(
    session: Session, key: Any, columns: list[Any], year: int | None, *, start: Any
) -> dict[Any, tuple[Any, ...]]:
    """Sum ``columns`` per ``key`` (or in all, when ``key`` is None) over the rows of
    ``start`` joined up to their source."""
    query = select(*([] if key is None else [key]), *columns)
    if start is FundSource:
        query = query.select_from(FundSource).where(_live_source())
    else:
        if start is FundRelease:
            query = query.select_from(FundRelease).join(
                Appropriation, Appropriation.id == FundRelease.appropriation_id
            )
        else:
            query = query.select_from(Appropriation).where(balances.live_appropriation())
        query = query.join(FundSource, FundSource.id == Appropriation.source_id)
    if year is not None:
        query = query.where(FundSource.year == year)
    if key is None:
        return {TOTAL_KEY: tuple(session.execute(query).one())}
    return {row[0]: tuple(row[1:]) for row in session.execute(query.group_by(key))}


def _measures(
    session: Session, key: Any, year: int | None, *, with_amount: bool = True
) -> dict[Any, dict[str, Any]]:
    amounts = (
        _grouped(session, key, [func.sum(FundSource.amount)], year, start=FundSource)
        if with_amount
        else {}
    )
    given = _grouped(session, key, [func.sum(Appropriation.amount)], year, start=Appropriation)
    paid = balances.paid_release()
    promised = balances.committed_release()
    released = _grouped(
        session,
        key,
        [
            func.sum(FundRelease.amount).filter(paid),
            func.sum(FundRelease.amount).filter(promised),
            func.sum(FundRelease.beneficiaries).filter(paid),
        ],
        year,
        start=FundRelease,
    )
    result: dict[Any, dict[str, Any]] = {}
    for k in {*amounts, *given, *released}:
        paid_sum, promised_sum, people = released.get(k, (None, None, None))
        values = {
            "amount": (amounts.get(k, (None,))[0] or ZERO) if with_amount else None,
            "appropriated": given.get(k, (None,))[0] or ZERO,
            "committed": promised_sum or ZERO,
            "released": paid_sum or ZERO,
            "beneficiaries": int(people or 0),
        }
        if key is None or any(values.values()):  # reversed or rejected only: nothing to show
            result[k] = values
    return result


def _rows(measures: dict[Any, dict[str, Any]], labels: dict[Any, tuple[str, str]]) -> list[Row]:
    rows = []
    for k, values in measures.items():
        key, label = labels.get(k, (str(k), f"（未知：{k}）"))
        rows.append(Row(key, label, **values))
    return sorted(rows, key=lambda r: r.key)


# -- the reconciliation --------------------------------------------------------------------


def reconcile(session: Session, year: int | None = None) -> Reconciliation:
    sources = {
        s.id: (
            s.number,
            f"{s.document_number} {FundLevel.LABELS[s.level]}{FundKind.LABELS[s.kind]}",
        )
        for s in session.scalars(select(FundSource))
    }
    counties = {c.id: (c.code, c.name) for c in session.scalars(select(County))}
    result = Reconciliation(
        year=year,
        by_source=_rows(_measures(session, FundSource.id, year), sources),
        by_county=_rows(
            _measures(session, Appropriation.county_id, year, with_amount=False), counties
        ),
        by_kind=_rows(
            _measures(session, FundSource.kind, year),
            {k: (k, v) for k, v in FundKind.LABELS.items()},
        ),
        by_level=_rows(
            _measures(session, FundSource.level, year),
            {k: (k, v) for k, v in FundLevel.LABELS.items()},
        ),
        total=_total(session, year),
    )
    result.problems = tie_out(result) + check_funds(session)
    return result


def _total(session: Session, year: int | None) -> Row:
    return Row(TOTAL_KEY, "合计", **_measures(session, None, year)[TOTAL_KEY])


def tie_out(result: Reconciliation) -> list[str]:
    """Every grouping adds up to the total, and no row spends more than it has."""
    problems = []
    total = result.total
    for name, rows in result.groupings().items():
        for measure in MEASURES:
            if name == "county" and measure == "amount":
                continue
            summed = sum((getattr(r, measure) for r in rows), start=0)
            if summed != getattr(total, measure):
                problems.append(
                    f"按{name}汇总的 {measure} 合计 {summed} 与总计 {getattr(total, measure)} 不符"
                )
        for row in rows:
            problems.extend(_row_problems(name, row))
    return problems + _row_problems("total", total)


def _row_problems(name: str, row: Row) -> list[str]:
    label = f"{name} {row.key}"
    problems = []
    if row.amount is not None and row.appropriated > row.amount:
        problems.append(f"{label}：下达 {row.appropriated} 超过来源金额 {row.amount}")
    if row.released + row.committed > row.appropriated:
        problems.append(
            f"{label}：已拨付 {row.released} 加已审批 {row.committed} 超过下达 {row.appropriated}"
        )
    return problems
