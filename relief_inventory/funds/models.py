"""Relief funds: where money came from (sources), which county it was issued to
(appropriations), what each county paid out (releases), corrections (reversals) and which
stock receipts the money bought (purchase links).

Sources, appropriations, reversals and purchase links are never updated (database
triggers refuse it); a release moves through its workflow and is final once released or
rejected. Nothing is deleted: a mistake is corrected by a reversal document.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from relief_inventory.audit.registry import audited
from relief_inventory.money import Money
from relief_inventory.timeutil import utcnow


class FundLevel:
    """Which level of government issued the money."""

    CENTRAL = "central"
    PROVINCIAL = "provincial"
    PREFECTURE = "prefecture"
    ALL = (CENTRAL, PROVINCIAL, PREFECTURE)
    LABELS = {CENTRAL: "中央", PROVINCIAL: "省级", PREFECTURE: "州级"}


class FundKind:
    WINTER_SPRING = "winter_spring"
    FLOOD_DROUGHT = "flood_drought"
    GEOLOGICAL = "geological"
    EMERGENCY = "emergency"
    OTHER = "other"
    ALL = (WINTER_SPRING, FLOOD_DROUGHT, GEOLOGICAL, EMERGENCY, OTHER)
    LABELS = {
        WINTER_SPRING: "冬春救助",
        FLOOD_DROUGHT: "防汛抗旱",
        GEOLOGICAL: "地质灾害",
        EMERGENCY: "自然灾害应急救助",
        OTHER: "其他",
    }


class Purpose:
    """What a release pays for. Materials purchases are what stock receipts link to."""

    LIVING_AID = "living_aid"
    MATERIALS = "materials"
    RESETTLEMENT = "resettlement"
    REBUILDING = "rebuilding"
    OTHER = "other"
    ALL = (LIVING_AID, MATERIALS, RESETTLEMENT, REBUILDING, OTHER)
    LABELS = {
        LIVING_AID: "困难群众生活救助",
        MATERIALS: "救灾物资采购",
        RESETTLEMENT: "紧急转移安置",
        REBUILDING: "倒损民房恢复重建",
        OTHER: "其他",
    }
    # Aid paid to people must say how many people it reached.
    NEEDS_BENEFICIARIES = (LIVING_AID, RESETTLEMENT, REBUILDING)


class ReleaseState:
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    APPROVED = "approved"
    RELEASED = "released"
    REJECTED = "rejected"
    ALL = (DRAFT, SUBMITTED, VERIFIED, APPROVED, RELEASED, REJECTED)
    FINAL = (RELEASED, REJECTED)
    # Drawn on the appropriation: approved (promised to the county, "committed") or paid
    # ("released"). Both count against what the appropriation has left.
    DRAWN = (APPROVED, RELEASED)
    LABELS = {
        DRAFT: "草稿",
        SUBMITTED: "已提交",
        VERIFIED: "财务已核验",
        APPROVED: "已审批",
        RELEASED: "已拨付",
        REJECTED: "已退回",
    }


class ReversalTarget:
    SOURCE = "source"
    APPROPRIATION = "appropriation"
    RELEASE = "release"
    ALL = (SOURCE, APPROPRIATION, RELEASE)
    LABELS = {SOURCE: "资金来源", APPROPRIATION: "资金下达", RELEASE: "资金拨付"}


_AMOUNT_POSITIVE = "amount > 0"


@audited()
class FundSource(SQLModel, table=True):
    """资金来源: money issued to the prefecture by one level under one document (文号)."""

    __tablename__ = "fund_source"
    __table_args__ = (
        CheckConstraint(_AMOUNT_POSITIVE, name="ck_fund_source_amount"),
        CheckConstraint(
            "level IN ('central','provincial','prefecture')", name="ck_fund_source_level"
        ),
        CheckConstraint(
            "kind IN ('winter_spring','flood_drought','geological','emergency','other')",
            name="ck_fund_source_kind",
        ),
        UniqueConstraint("document_number", "kind", name="uq_fund_source_document_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    level: str = Field(max_length=16)
    kind: str = Field(max_length=16, index=True)
    year: int = Field(index=True)
    document_number: str = Field(max_length=64)
    title: str = Field(default="", max_length=255)
    amount: Decimal = Field(sa_column=Column(Money, nullable=False))
    issued_on: date
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


@audited()
class Appropriation(SQLModel, table=True):
    """资金下达: part of a source issued to one county under its own document."""

    __tablename__ = "appropriation"
    __table_args__ = (CheckConstraint(_AMOUNT_POSITIVE, name="ck_appropriation_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    source_id: int = Field(foreign_key="fund_source.id", index=True)
    county_id: int = Field(foreign_key="county.id", index=True)
    document_number: str = Field(max_length=64)
    issued_on: date
    amount: Decimal = Field(sa_column=Column(Money, nullable=False))
    note: str = Field(default="", max_length=255)
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


@audited()
class FundRelease(SQLModel, table=True):
    """资金拨付: a county pays out part of an appropriation, checked and approved by finance.

    ``county_id`` repeats the appropriation's county so that scope filters need no join;
    ``relief check`` proves the two agree.
    """

    __tablename__ = "fund_release"
    __table_args__ = (
        CheckConstraint(_AMOUNT_POSITIVE, name="ck_fund_release_amount"),
        CheckConstraint("beneficiaries >= 0", name="ck_fund_release_beneficiaries"),
        CheckConstraint("households >= 0", name="ck_fund_release_households"),
        CheckConstraint(
            "state IN ('draft','submitted','verified','approved','released','rejected')",
            name="ck_fund_release_state",
        ),
        CheckConstraint(
            "purpose IN ('living_aid','materials','resettlement','rebuilding','other')",
            name="ck_fund_release_purpose",
        ),
        # Idempotency: one document per (creator, key), whatever the timing of retries.
        UniqueConstraint("created_by_id", "idempotency_key", name="uq_fund_release_idempotency"),
        Index("ix_fund_release_appropriation_state", "appropriation_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    appropriation_id: int = Field(foreign_key="appropriation.id")
    county_id: int = Field(foreign_key="county.id", index=True)
    purpose: str = Field(max_length=16)
    description: str = Field(default="", max_length=255)
    amount: Decimal = Field(sa_column=Column(Money, nullable=False))
    beneficiaries: int = 0
    households: int = 0
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    state: str = Field(default=ReleaseState.DRAFT, max_length=16, index=True)
    idempotency_key: str | None = Field(default=None, max_length=128)
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    verified_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    verified_at: datetime | None = None
    verification_note: str = Field(default="", max_length=500)
    approved_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_at: datetime | None = None
    released_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    released_at: datetime | None = None
    payment_reference: str = Field(default="", max_length=64)
    rejected_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    rejected_at: datetime | None = None
    reject_reason: str = Field(default="", max_length=500)


@audited()
class FundReversal(SQLModel, table=True):
    """冲销: undoes one source, appropriation or released release in full.

    Exactly one target column is set; each target can be reversed once (unique columns), so
    two people correcting the same mistake at once cannot reverse it twice.
    """

    __tablename__ = "fund_reversal"
    __table_args__ = (
        CheckConstraint(_AMOUNT_POSITIVE, name="ck_fund_reversal_amount"),
        CheckConstraint(
            "target IN ('source','appropriation','release')", name="ck_fund_reversal_target"
        ),
        CheckConstraint(
            "(CASE WHEN source_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN appropriation_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN release_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_fund_reversal_one_target",
        ),
        UniqueConstraint("source_id", name="uq_fund_reversal_source"),
        UniqueConstraint("appropriation_id", name="uq_fund_reversal_appropriation"),
        UniqueConstraint("release_id", name="uq_fund_reversal_release"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    target: str = Field(max_length=16)
    source_id: int | None = Field(default=None, foreign_key="fund_source.id")
    appropriation_id: int | None = Field(default=None, foreign_key="appropriation.id")
    release_id: int | None = Field(default=None, foreign_key="fund_release.id")
    amount: Decimal = Field(sa_column=Column(Money, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_by_id: int = Field(foreign_key="app_user.id")  # who proposed it
    created_at: datetime = Field(default_factory=utcnow)
    # The second person whose approval made it take effect (a ``FundReversalRequest``
    # decided); empty only on reversals booked before reversals needed four eyes.
    approved_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_at: datetime | None = None


class RequestState:
    """A proposed reversal waits for a second person's decision."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ALL = (PROPOSED, APPROVED, REJECTED)
    LABELS = {PROPOSED: "待审批", APPROVED: "已生效", REJECTED: "已驳回"}


def _one_open(column: str) -> Index:
    """At most one proposal waits per reversed document."""
    where = text(f"{column} IS NOT NULL AND state = 'proposed'")
    return Index(
        f"uq_fund_reversal_request_open_{column.removesuffix('_id')}",
        column,
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )


@audited()
class FundReversalRequest(SQLModel, table=True):
    """冲销单 as proposed: one person proposes undoing a source, an appropriation or a paid
    release; a second person approves (then the ``FundReversal`` is written and only from
    then on does the money count for nothing, or become spendable again) or rejects it.
    The reversal takes the request's number. Final once decided (triggers)."""

    __tablename__ = "fund_reversal_request"
    __table_args__ = (
        CheckConstraint(_AMOUNT_POSITIVE, name="ck_fund_reversal_request_amount"),
        CheckConstraint(
            "target IN ('source','appropriation','release')",
            name="ck_fund_reversal_request_target",
        ),
        CheckConstraint(
            "state IN ('proposed','approved','rejected')", name="ck_fund_reversal_request_state"
        ),
        CheckConstraint(
            "(CASE WHEN source_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN appropriation_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN release_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_fund_reversal_request_one_target",
        ),
        _one_open("source_id"),
        _one_open("appropriation_id"),
        _one_open("release_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    target: str = Field(max_length=16)
    source_id: int | None = Field(default=None, foreign_key="fund_source.id")
    appropriation_id: int | None = Field(default=None, foreign_key="appropriation.id")
    release_id: int | None = Field(default=None, foreign_key="fund_release.id")
    amount: Decimal = Field(sa_column=Column(Money, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default=RequestState.PROPOSED, max_length=16)
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = None
    decision_note: str = Field(default="", max_length=500)
    reversal_id: int | None = Field(default=None, foreign_key="fund_reversal.id", unique=True)


@audited()
class PurchaseLink(SQLModel, table=True):
    """Which stock receipt an appropriation's released purchase money paid for, and how much.

    Funds point at stock, never the other way round: the stock module knows nothing of money.
    """

    __tablename__ = "fund_purchase_link"
    __table_args__ = (
        CheckConstraint(_AMOUNT_POSITIVE, name="ck_fund_purchase_link_amount"),
        UniqueConstraint(
            "appropriation_id", "stock_document_id", name="uq_fund_purchase_link_receipt"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    appropriation_id: int = Field(foreign_key="appropriation.id", index=True)
    stock_document_id: int = Field(foreign_key="stock_document.id", index=True)
    amount: Decimal = Field(sa_column=Column(Money, nullable=False))
    created_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
