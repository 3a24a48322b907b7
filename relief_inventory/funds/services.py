"""Relief-fund operations: sources, appropriations, the release workflow, reversals and
purchase links. The only code that writes the funds tables.

Every check of an amount against what remains runs after the row it draws on is locked
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite already holds its write lock), always in the
order source -> appropriation -> release, so concurrent approvals queue instead of
overspending and never deadlock.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor, Role
from relief_inventory.auth.policy import (
    require_county,
    require_depot,
    require_other_person,
    require_role,
)
from relief_inventory.errors import Conflict, Hidden, InvalidInput, NotFound
from relief_inventory.funds import balances
from relief_inventory.funds.models import (
    Appropriation,
    FundKind,
    FundLevel,
    FundRelease,
    FundReversal,
    FundReversalRequest,
    FundSource,
    PurchaseLink,
    Purpose,
    ReleaseState,
    RequestState,
    ReversalTarget,
)
from relief_inventory.idempotency import once
from relief_inventory.money import parse_amount
from relief_inventory.stock import lines as parse
from relief_inventory.stock import services as stock
from relief_inventory.stock.models import DocKind, DocState, StockDocument
from relief_inventory.stock.numbering import next_number
from relief_inventory.stock.services import document_by_number
from relief_inventory.timeutil import to_local
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.services import county_by_code

T = TypeVar("T")

PREFIX_SOURCE = "ZJ"
PREFIX_APPROPRIATION = "XD"
PREFIX_RELEASE = "ZF"
PREFIX_REVERSAL = "CZ"
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_PEOPLE = 10_000_000
WHAT = "资金拨付申请"


# -- lookups -------------------------------------------------------------------------------


def _by_number(session: Session, model: type[T], number: object, field: str, label: str) -> T:
    row = session.scalar(select(model).where(model.number == str(number)))  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"{label}不存在：{number}", field=field)
    return row


def source_by_number(session: Session, number: object, field: str = "source") -> FundSource:
    return _by_number(session, FundSource, number, field, "资金来源")


def appropriation_by_number(
    session: Session, number: object, field: str = "appropriation"
) -> Appropriation:
    return _by_number(session, Appropriation, number, field, "资金下达")


def release_by_number(session: Session, number: object, field: str = "release") -> FundRelease:
    return _by_number(session, FundRelease, number, field, WHAT)


def _hidden(number: str, field: str) -> Hidden:
    """Another county's document is answered exactly as a missing one."""
    label = "资金下达" if field == "appropriation" else WHAT
    return Hidden(f"{label}不存在：{number}", field=field)


def _lock(session: Session, model: type[T], row_id: int | None) -> T:
    """Re-read a row under ``FOR UPDATE`` (a no-op on SQLite, which is already locked)."""
    return session.execute(
        select(model)
        .where(model.id == row_id)  # type: ignore[attr-defined]
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


# -- input ---------------------------------------------------------------------------------


def _choice(value: Any, choices: tuple[str, ...], field: str, labels: dict[str, str]) -> str:
    if value not in choices:
        options = "、".join(f"{c}（{labels[c]}）" for c in choices)
        raise InvalidInput(f"取值须为：{options}", field=field)
    return str(value)


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("人数须为整数", field=field)
    if not 0 <= value <= MAX_PEOPLE:
        raise InvalidInput(f"人数须在 0–{MAX_PEOPLE} 之间", field=field)
    return value


def _year(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_YEAR <= value <= MAX_YEAR:
        raise InvalidInput(f"年度须为 {MIN_YEAR}–{MAX_YEAR} 的整数", field="year")
    return value


def _issued_on(value: Any, when: datetime) -> date:
    issued = parse.optional_date(value, "issued_on") or to_local(when).date()
    if issued > to_local(when).date():
        raise InvalidInput("文件日期不能晚于录入时间", field="issued_on")
    return issued


def _document_number(value: Any) -> str:
    return parse.text(value, "document_number", max_length=64, required=True)


# -- sources -------------------------------------------------------------------------------


def create_source(
    uow: UnitOfWork,
    *,
    level: str,
    kind: str,
    year: int,
    document_number: str,
    amount: Any,
    title: str = "",
    issued_on: Any = None,
    at: datetime | None = None,
) -> FundSource:
    """Book money received from a level of government under its document (文号)."""
    require_role(uow.actor, Role.FINANCE)
    session = uow.session
    level = _choice(level, FundLevel.ALL, "level", FundLevel.LABELS)
    kind = _choice(kind, FundKind.ALL, "kind", FundKind.LABELS)
    year = _year(year)
    document = _document_number(document_number)
    money = parse_amount(amount)
    when = parse.moment(at)
    issued = _issued_on(issued_on, when)
    title = parse.text(title, "title", max_length=255)
    duplicate = session.scalar(
        select(FundSource.number).where(
            FundSource.document_number == document, FundSource.kind == kind
        )
    )
    if duplicate is not None:
        raise Conflict(f"该文号的同类资金已登记：{duplicate}", field="document_number")
    source = FundSource(
        number=next_number(session, PREFIX_SOURCE, when),
        level=level,
        kind=kind,
        year=year,
        document_number=document,
        title=title or f"{year}年{FundLevel.LABELS[level]}{FundKind.LABELS[kind]}资金",
        amount=money,
        issued_on=issued,
        created_by_id=uow.actor.user_id,
        created_at=when,
    )
    session.add(source)
    session.flush()
    return source


# -- appropriations ------------------------------------------------------------------------


def appropriate(
    uow: UnitOfWork,
    *,
    source: str,
    county: str,
    document_number: str,
    amount: Any,
    issued_on: Any = None,
    note: str = "",
    at: datetime | None = None,
) -> Appropriation:
    """Issue part of a source to a county. The source row is locked before the sum is read,
    so two appropriations racing for the last yuan cannot both get it."""
    require_role(uow.actor, Role.FINANCE)
    session = uow.session
    found = source_by_number(session, source)
    target = county_by_code(session, county)
    document = _document_number(document_number)
    money = parse_amount(amount)
    when = parse.moment(at)
    issued = _issued_on(issued_on, when)
    note = parse.text(note, "note", max_length=255)
    locked = _lock(session, FundSource, found.id)
    if balances.is_reversed(session, FundReversal.source_id, locked.id):
        raise Conflict(f"资金来源 {locked.number} 已冲销，不能再下达", field="source")
    remaining = locked.amount - balances.appropriated(session, locked.id)
    if money > remaining:
        raise Conflict(
            f"下达金额 {money} 超过资金来源 {locked.number} 的未下达余额 {remaining}",
            field="amount",
        )
    appropriation = Appropriation(
        number=next_number(session, PREFIX_APPROPRIATION, when),
        source_id=locked.id,
        county_id=target.id,
        document_number=document,
        issued_on=issued,
        amount=money,
        note=note,
        created_by_id=uow.actor.user_id,
        created_at=when,
    )
    session.add(appropriation)
    session.flush()
    return appropriation


def _remaining(session: Session, appropriation: Appropriation) -> Decimal:
    return appropriation.amount - balances.drawn(session, appropriation.id)  # type: ignore[arg-type]


def _require_live(session: Session, appropriation: Appropriation) -> None:
    if balances.is_reversed(session, FundReversal.appropriation_id, appropriation.id):  # type: ignore[arg-type]
        raise Conflict(f"资金下达 {appropriation.number} 已冲销", field="appropriation")


def _require_within(session: Session, appropriation: Appropriation, amount: Decimal) -> None:
    remaining = _remaining(session, appropriation)
    if amount > remaining:
        raise Conflict(
            f"拨付金额 {amount} 超过资金下达 {appropriation.number} 的可用余额 {remaining}",
            field="amount",
        )


# -- releases ------------------------------------------------------------------------------


def create_release(
    uow: UnitOfWork,
    *,
    appropriation: str,
    purpose: str,
    amount: Any,
    beneficiaries: Any = 0,
    households: Any = 0,
    description: str = "",
    evidence: str = "",
    submit: bool = False,
    at: datetime | None = None,
) -> FundRelease:
    """A county asks to pay out part of its appropriation (a draft, or submitted at once)."""
    require_role(uow.actor, Role.REQUESTER, Role.FINANCE)
    session = uow.session
    found = appropriation_by_number(session, appropriation)
    require_county(uow.actor, found.county_id, hidden=_hidden(found.number, "appropriation"))
    purpose = _choice(purpose, Purpose.ALL, "purpose", Purpose.LABELS)
    money = parse_amount(amount)
    people = _count(beneficiaries, "beneficiaries")
    homes = _count(households, "households")
    if purpose in Purpose.NEEDS_BENEFICIARIES and people == 0:
        raise InvalidInput("救助类拨付须填写受益人数", field="beneficiaries")
    if homes > people:
        raise InvalidInput("户数不能多于人数", field="households")
    description = parse.text(description, "description", max_length=255)
    evidence = parse.text(evidence, "evidence", max_length=2000)
    submit = parse.flag(submit, "submit")
    when = parse.moment(at)
    _require_live(session, found)
    _require_within(session, found, money)
    release = FundRelease(
        number=next_number(session, PREFIX_RELEASE, when),
        appropriation_id=found.id,
        county_id=found.county_id,
        purpose=purpose,
        description=description or Purpose.LABELS[purpose],
        amount=money,
        beneficiaries=people,
        households=homes,
        evidence=evidence,
        created_by_id=uow.actor.user_id,
        created_at=when,
    )
    session.add(release)
    session.flush()
    if submit:
        _submit(uow, release, when)
    return release


def create_release_once(
    uow: UnitOfWork, idempotency_key: str | None, **fields: Any
) -> tuple[FundRelease, bool]:
    """``create_release`` for clients that retry: the same key from the same user returns
    the release made the first time (and ``True``); the same key for a different request
    is refused (``idempotency.once``)."""
    release, created = once(uow, idempotency_key, create_release, **fields)
    return release, not created


def _locked_release(uow: UnitOfWork, number: str, *states: str) -> FundRelease:
    release = release_by_number(uow.session, number)
    release = _lock(uow.session, FundRelease, release.id)
    _require_release_state(release, *states)
    return release


def _submit(uow: UnitOfWork, release: FundRelease, when: datetime) -> None:
    if not release.evidence:
        raise InvalidInput("提交前须写明申请依据（花名册、评议公示等）", field="evidence")
    release.state = ReleaseState.SUBMITTED
    release.submitted_at = when
    uow.session.flush()


# -- who may take each next step ----------------------------------------------------------
# One function per step of a release: the service calls it, and the back office calls the
# same function to decide whether to show the step's button. Creator, verifier and
# approver are three different people.


def _require_release_state(release: FundRelease, *states: str) -> None:
    if release.state not in states:
        wanted = "或".join(ReleaseState.LABELS[s] for s in states)
        raise Conflict(
            f"{WHAT} {release.number} 当前为{ReleaseState.LABELS[release.state]}，"
            f"此操作要求{wanted}",
            field="state",
        )


def check_submit(actor: Actor, release: FundRelease) -> None:
    require_role(actor, Role.REQUESTER, Role.FINANCE)
    require_county(actor, release.county_id, hidden=_hidden(release.number, "release"))
    _require_release_state(release, ReleaseState.DRAFT)


def check_verify(actor: Actor, release: FundRelease) -> None:
    require_role(actor, Role.FINANCE)
    _require_release_state(release, ReleaseState.SUBMITTED)
    require_other_person(actor, release.created_by_id, what=WHAT)


def check_approve(actor: Actor, release: FundRelease) -> None:
    require_role(actor, Role.FINANCE)
    _require_release_state(release, ReleaseState.VERIFIED)
    require_other_person(actor, release.created_by_id, release.verified_by_id, what=WHAT)


def check_pay(actor: Actor, release: FundRelease) -> None:
    require_role(actor, Role.FINANCE)
    _require_release_state(release, ReleaseState.APPROVED)
    require_other_person(actor, release.created_by_id, what=WHAT)


def check_reject(actor: Actor, release: FundRelease) -> None:
    """Finance, not the creator, until payment; the creator may withdraw their own draft."""
    _require_release_state(
        release,
        ReleaseState.DRAFT,
        ReleaseState.SUBMITTED,
        ReleaseState.VERIFIED,
        ReleaseState.APPROVED,
    )
    own_draft = release.state == ReleaseState.DRAFT and release.created_by_id == actor.user_id
    if not own_draft:
        require_role(actor, Role.FINANCE)
        require_other_person(actor, release.created_by_id, what=WHAT)


def submit(uow: UnitOfWork, number: str, *, at: datetime | None = None) -> FundRelease:
    require_role(uow.actor, Role.REQUESTER, Role.FINANCE)
    release = release_by_number(uow.session, number)
    require_county(uow.actor, release.county_id, hidden=_hidden(release.number, "release"))
    release = _locked_release(uow, number, ReleaseState.DRAFT)
    check_submit(uow.actor, release)
    _submit(uow, release, parse.moment(at))
    return release


def verify(
    uow: UnitOfWork, number: str, *, note: str = "", at: datetime | None = None
) -> FundRelease:
    """Finance checks the supporting data (rolls, lists, invoices) of someone else's request."""
    require_role(uow.actor, Role.FINANCE)
    release = _locked_release(uow, number, ReleaseState.SUBMITTED)
    check_verify(uow.actor, release)
    release.verification_note = parse.text(note, "note", max_length=500)
    release.state = ReleaseState.VERIFIED
    release.verified_by_id = uow.actor.user_id
    release.verified_at = parse.moment(at)
    uow.session.flush()
    return release


def approve(uow: UnitOfWork, number: str, *, at: datetime | None = None) -> FundRelease:
    """A third person approves; the money is then committed against the appropriation."""
    require_role(uow.actor, Role.FINANCE)
    session = uow.session
    found = release_by_number(session, number)
    appropriation = _lock(session, Appropriation, found.appropriation_id)
    release = _locked_release(uow, number, ReleaseState.VERIFIED)
    check_approve(uow.actor, release)
    _require_live(session, appropriation)
    _require_within(session, appropriation, release.amount)
    release.state = ReleaseState.APPROVED
    release.approved_by_id = uow.actor.user_id
    release.approved_at = parse.moment(at)
    session.flush()
    return release


def pay(
    uow: UnitOfWork, number: str, *, payment_reference: str = "", at: datetime | None = None
) -> FundRelease:
    """拨付: the approved money is paid out. Not by the person who asked for it."""
    require_role(uow.actor, Role.FINANCE)
    release = _locked_release(uow, number, ReleaseState.APPROVED)
    check_pay(uow.actor, release)
    release.payment_reference = parse.text(payment_reference, "payment_reference", max_length=64)
    release.state = ReleaseState.RELEASED
    release.released_by_id = uow.actor.user_id
    release.released_at = parse.moment(at)
    uow.session.flush()
    return release


def reject(uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None) -> FundRelease:
    """Send a request back with a reason. Its author may withdraw a draft; anything further
    along is rejected by finance, never by the author."""
    reason = parse.text(reason, "reason", max_length=500, required=True)
    release = _locked_release(
        uow,
        number,
        ReleaseState.DRAFT,
        ReleaseState.SUBMITTED,
        ReleaseState.VERIFIED,
        ReleaseState.APPROVED,
    )
    check_reject(uow.actor, release)
    release.state = ReleaseState.REJECTED
    release.rejected_by_id = uow.actor.user_id
    release.rejected_at = parse.moment(at)
    release.reject_reason = reason
    uow.session.flush()
    return release


# -- reversals (four eyes: one proposes, another approves) --------------------------------


def check_propose_reversal(actor: Actor) -> None:
    """Proposing a reversal is finance's (what may be reversed is checked under its locks)."""
    require_role(actor, Role.FINANCE)


def check_decide_reversal(
    session: Session, actor: Actor, request: FundReversalRequest, *, approving: bool
) -> None:
    """Deciding a proposed reversal: finance; approving it, neither its proposer, nor whoever
    created the original, nor (for a release) whoever paid it. The proposer may withdraw
    (reject) their own proposal."""
    require_role(actor, Role.FINANCE)
    if request.state != RequestState.PROPOSED:
        raise Conflict(
            f"冲销单 {request.number} 当前为{RequestState.LABELS[request.state]}，不能再审批",
            field="state",
        )
    if not approving:
        return
    column, _reversible = REVERSIBLE[request.target]
    original = session.get(REVERSED_MODELS[request.target], getattr(request, column))
    assert original is not None
    involved = [request.created_by_id, original.created_by_id]
    if isinstance(original, FundRelease):
        involved.append(original.released_by_id)
    require_other_person(actor, *involved, what="冲销单")


def _reversal_input(uow: UnitOfWork, reason: str, at: datetime | None) -> tuple[str, datetime]:
    check_propose_reversal(uow.actor)
    return parse.text(reason, "reason", max_length=2000, required=True), parse.moment(at)


def _refuse_if_reversed(session: Session, column: Any, row_id: int, number: str) -> None:
    if balances.is_reversed(session, column, row_id):
        raise Conflict(f"{number} 已被冲销", field="number")


def _reversible_source(session: Session, source_id: int) -> FundSource:
    """A source may be reversed once nothing is appropriated from it (locked)."""
    source = _lock(session, FundSource, source_id)
    _refuse_if_reversed(session, FundReversal.source_id, source.id, source.number)  # type: ignore[arg-type]
    if balances.appropriated(session, source.id) > 0:  # type: ignore[arg-type]
        raise Conflict("该资金来源已有下达，须先冲销其下达", field="number")
    return source


def _reversible_appropriation(session: Session, appropriation_id: int) -> Appropriation:
    """An appropriation may be reversed when nothing was approved or paid from it."""
    found = session.get(Appropriation, appropriation_id)
    assert found is not None
    _lock(session, FundSource, found.source_id)
    appropriation = _lock(session, Appropriation, appropriation_id)
    _refuse_if_reversed(
        session, FundReversal.appropriation_id, appropriation_id, appropriation.number
    )
    if balances.open_releases(session, appropriation_id):
        raise Conflict("该下达尚有未办结的拨付申请，须先退回", field="number")
    if balances.drawn(session, appropriation_id) > 0:
        raise Conflict("该下达已有拨付，须先冲销其拨付", field="number")
    return appropriation


def _reversible_release(session: Session, release_id: int) -> FundRelease:
    """Only a paid release is reversed; materials money never below what receipts bought."""
    found = session.get(FundRelease, release_id)
    assert found is not None
    _lock(session, Appropriation, found.appropriation_id)
    release = _lock(session, FundRelease, release_id)
    if release.state != ReleaseState.RELEASED:
        raise Conflict("只有已拨付的申请可以冲销；未拨付的请退回", field="number")
    _refuse_if_reversed(session, FundReversal.release_id, release_id, release.number)
    if release.purpose == Purpose.MATERIALS:
        left = balances.purchase_paid(session, release.appropriation_id) - release.amount
        if balances.linked(session, release.appropriation_id) > left:
            raise Conflict("该笔采购资金已关联入库单，冲销后将不足以覆盖已入库物资", field="number")
    return release


# target -> (its column on requests and reversals, the check that locks and validates it)
REVERSED_MODELS: dict[str, Any] = {
    ReversalTarget.SOURCE: FundSource,
    ReversalTarget.APPROPRIATION: Appropriation,
    ReversalTarget.RELEASE: FundRelease,
}
REVERSIBLE: dict[str, tuple[str, Any]] = {
    ReversalTarget.SOURCE: ("source_id", _reversible_source),
    ReversalTarget.APPROPRIATION: ("appropriation_id", _reversible_appropriation),
    ReversalTarget.RELEASE: ("release_id", _reversible_release),
}


def _propose(
    uow: UnitOfWork, target: str, row_id: int, reason: str, when: datetime
) -> FundReversalRequest:
    session = uow.session
    column, reversible = REVERSIBLE[target]
    original = reversible(session, row_id)
    pending = session.scalar(
        select(FundReversalRequest.number).where(
            getattr(FundReversalRequest, column) == row_id,
            FundReversalRequest.state == RequestState.PROPOSED,
        )
    )
    if pending is not None:
        raise Conflict(f"{original.number} 已有待审批的冲销单 {pending}", field="number")
    request = FundReversalRequest(
        number=next_number(session, PREFIX_REVERSAL, when),
        target=target,
        amount=original.amount,
        reason=reason,
        created_by_id=uow.actor.user_id,
        created_at=when,
        **{column: row_id},
    )
    session.add(request)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{original.number} 已有待审批的冲销单", field="number") from None
    return request


def reverse_source(
    uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None
) -> FundReversalRequest:
    """Propose undoing a wrongly booked source; its appropriations must be reversed first."""
    reason, when = _reversal_input(uow, reason, at)
    found = source_by_number(uow.session, number, "number")
    return _propose(uow, ReversalTarget.SOURCE, found.id, reason, when)  # type: ignore[arg-type]


def reverse_appropriation(
    uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None
) -> FundReversalRequest:
    """Propose undoing a wrong appropriation; nothing may have been approved or paid."""
    reason, when = _reversal_input(uow, reason, at)
    found = appropriation_by_number(uow.session, number, "number")
    return _propose(uow, ReversalTarget.APPROPRIATION, found.id, reason, when)  # type: ignore[arg-type]


def reverse_release(
    uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None
) -> FundReversalRequest:
    """Propose undoing a payment (money recovered or booked by mistake). Until a second
    person approves, the money stays paid: nothing becomes spendable again."""
    reason, when = _reversal_input(uow, reason, at)
    found = release_by_number(uow.session, number, "number")
    return _propose(uow, ReversalTarget.RELEASE, found.id, reason, when)  # type: ignore[arg-type]


def reversal_request_by_number(session: Session, number: object) -> FundReversalRequest:
    return _by_number(session, FundReversalRequest, number, "number", "冲销单")


def _open_request(session: Session, request_id: int | None) -> FundReversalRequest:
    request = _lock(session, FundReversalRequest, request_id)
    if request.state != RequestState.PROPOSED:
        raise Conflict(
            f"冲销单 {request.number} 当前为{RequestState.LABELS[request.state]}，不能再审批",
            field="state",
        )
    return request


def approve_reversal(uow: UnitOfWork, number: str, *, at: datetime | None = None) -> FundReversal:
    """The second person makes a proposed reversal take effect: neither its proposer, nor
    whoever created the original, nor (for a release) whoever paid it. Everything the
    proposal was checked against is checked again, under the same locks."""
    require_role(uow.actor, Role.FINANCE)
    session = uow.session
    found = reversal_request_by_number(session, number)
    column, reversible = REVERSIBLE[found.target]
    original = reversible(session, getattr(found, column))
    request = _open_request(session, found.id)
    check_decide_reversal(session, uow.actor, request, approving=True)
    when = parse.moment(at)
    reversal = FundReversal(
        number=request.number,
        target=request.target,
        amount=original.amount,
        reason=request.reason,
        created_by_id=request.created_by_id,
        created_at=request.created_at,
        approved_by_id=uow.actor.user_id,
        approved_at=when,
        **{column: getattr(request, column)},
    )
    session.add(reversal)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("该单据已被冲销", field="number") from None
    request.state = RequestState.APPROVED
    request.decided_by_id = uow.actor.user_id
    request.decided_at = when
    request.reversal_id = reversal.id
    session.flush()
    return reversal


def reject_reversal(
    uow: UnitOfWork, number: str, *, reason: str, at: datetime | None = None
) -> FundReversalRequest:
    """Turn a proposed reversal down with a reason (or its proposer withdraws it): the
    original stays as it was."""
    require_role(uow.actor, Role.FINANCE)
    reason = parse.text(reason, "reason", max_length=500, required=True)
    session = uow.session
    request = _open_request(session, reversal_request_by_number(session, number).id)
    check_decide_reversal(session, uow.actor, request, approving=False)
    request.state = RequestState.REJECTED
    request.decided_by_id = uow.actor.user_id
    request.decided_at = parse.moment(at)
    request.decision_note = reason
    session.flush()
    return request


def receive_purchase(
    uow: UnitOfWork,
    *,
    appropriation: str | None = None,
    amount: Any = None,
    **receipt: Any,
) -> StockDocument:
    """A stock receipt, linked in the same unit of work to the appropriation that paid for
    it when ``appropriation`` and ``amount`` are given (a refused link refuses the
    receipt). What the API, the CLI and the back office call to receive goods."""
    if bool(appropriation) != (amount is not None):
        missing = "amount" if appropriation else "appropriation"
        raise InvalidInput("资金下达编号与金额须同时填写", field=missing)
    document = stock.receive(uow, **receipt)
    if appropriation:
        record_purchase(uow, appropriation, document.number, amount)
    return document


# -- materials bought with a fund ----------------------------------------------------------


def record_purchase(
    uow: UnitOfWork, appropriation: str, receipt_number: str, amount: Any
) -> PurchaseLink:
    """Say which appropriation paid for a stock receipt, and how much of it.

    Called by ``receive_purchase`` in the same unit of work as ``stock.services.receive``
    (so a refused link also refuses the receipt). The amount must be covered by materials money
    already paid out from the appropriation and not yet linked to other receipts.
    """
    require_role(uow.actor, Role.KEEPER, Role.FINANCE)
    session = uow.session
    found = appropriation_by_number(session, appropriation)
    document = _receipt(session, receipt_number)
    if not uow.actor.has(Role.FINANCE):
        assert document.depot_id is not None
        require_depot(uow.actor, document.depot_id)
    money = parse_amount(amount)
    locked = _lock(session, Appropriation, found.id)
    _require_live(session, locked)
    duplicate = session.scalar(
        select(PurchaseLink.id).where(
            PurchaseLink.appropriation_id == locked.id,
            PurchaseLink.stock_document_id == document.id,
        )
    )
    if duplicate is not None:
        raise Conflict("该入库单已关联此资金下达", field="appropriation")
    available = balances.purchase_paid(session, locked.id) - balances.linked(session, locked.id)  # type: ignore[arg-type]
    if money > available:
        raise Conflict(
            f"资金下达 {locked.number} 已拨付且未关联的物资采购资金仅 {available}",
            field="amount",
        )
    link = PurchaseLink(
        appropriation_id=locked.id,
        stock_document_id=document.id,
        amount=money,
        created_by_id=uow.actor.user_id,
    )
    session.add(link)
    session.flush()
    return link


def _receipt(session: Session, number: str) -> StockDocument:
    document = document_by_number(session, number)
    if document.kind != DocKind.RECEIPT or document.state != DocState.DONE:
        raise InvalidInput("只能关联已完成的入库单", field="receipt")
    reversed_by = session.scalar(
        select(StockDocument.number).where(
            StockDocument.reverses_id == document.id, StockDocument.state != DocState.CANCELLED
        )
    )
    if reversed_by is not None:
        raise Conflict(f"入库单已被冲销或正待冲销（{reversed_by}）", field="receipt")
    return document
