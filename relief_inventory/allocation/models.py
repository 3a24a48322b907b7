"""Emergency dispatch requests (应急调拨申请), their lines and the stock reserved for them.

A request travels draft -> submitted -> approved -> allocated -> dispatched -> received ->
closed (or rejected / cancelled); every transition stamps its own time so lead times can be
reported. A reservation holds a quantity on one quant for one line until the goods leave
(dispatched) or the request is cancelled (released). All three tables are audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from relief_inventory.audit.registry import audited
from relief_inventory.timeutil import utcnow


class DisasterType:
    EARTHQUAKE = "earthquake"
    FLOOD = "flood"
    DROUGHT = "drought"
    WIND_HAIL = "wind_hail"
    GEOLOGICAL = "geological"
    FOREST_FIRE = "forest_fire"
    FREEZE = "freeze"
    OTHER = "other"
    LABELS = {
        EARTHQUAKE: "地震",
        FLOOD: "洪涝",
        DROUGHT: "干旱",
        WIND_HAIL: "风雹",
        GEOLOGICAL: "地质灾害",
        FOREST_FIRE: "森林火灾",
        FREEZE: "低温雨雪冰冻",
        OTHER: "其他",
    }
    ALL = tuple(LABELS)


class Urgency:
    CRITICAL = "critical"
    URGENT = "urgent"
    NORMAL = "normal"
    LABELS = {CRITICAL: "特急", URGENT: "紧急", NORMAL: "一般"}
    ALL = tuple(LABELS)


class RequestState:
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ALLOCATED = "allocated"
    DISPATCHED = "dispatched"  # every pick has left its depot: the goods are in transit
    RECEIVED = "received"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    LABELS = {
        DRAFT: "草稿",
        SUBMITTED: "已提交",
        APPROVED: "已审批",
        ALLOCATED: "已分配",
        DISPATCHED: "已发运",
        RECEIVED: "已签收",
        CLOSED: "已结案",
        REJECTED: "已驳回",
        CANCELLED: "已取消",
    }
    ALL = tuple(LABELS)


class ReservationState:
    RESERVED = "reserved"
    DISPATCHED = "dispatched"
    RELEASED = "released"
    ALL = (RESERVED, DISPATCHED, RELEASED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


@audited()
class DispatchRequest(SQLModel, table=True):
    __tablename__ = "dispatch_request"
    __table_args__ = (
        UniqueConstraint("requester_id", "idempotency_key", name="uq_dispatch_request_idempotency"),
        CheckConstraint(_in("state", RequestState.ALL), name="ck_dispatch_request_state"),
        CheckConstraint(
            _in("disaster_type", DisasterType.ALL), name="ck_dispatch_request_disaster"
        ),
        CheckConstraint(_in("urgency", Urgency.ALL), name="ck_dispatch_request_urgency"),
        CheckConstraint("people_affected >= 0", name="ck_dispatch_request_people"),
        Index("ix_dispatch_request_state_county", "state", "county_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    county_id: int = Field(foreign_key="county.id")
    disaster_type: str = Field(max_length=16)
    urgency: str = Field(max_length=16)
    people_affected: int = 0
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    state: str = Field(default=RequestState.DRAFT, max_length=16)
    requester_id: int = Field(foreign_key="app_user.id", index=True)
    approver_id: int | None = Field(default=None, foreign_key="app_user.id")
    receiver_id: int | None = Field(default=None, foreign_key="app_user.id")
    # May the allocator take other counties' county reserves? The dispatcher decides.
    allow_other_counties: bool = False
    # 先调拨、后补手续: approved and dispatched at once under a declared emergency response,
    # to be countersigned by a second dispatcher before ``countersign_due_at``.
    emergency: bool = False
    emergency_response: str = Field(default="", max_length=128)
    countersigner_id: int | None = Field(default=None, foreign_key="app_user.id")
    countersign_due_at: datetime | None = None
    countersigned_at: datetime | None = None
    overdue_flagged_at: datetime | None = None
    decision_note: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default="")
    )
    idempotency_key: str | None = Field(default=None, max_length=128)
    # The disaster report (灾情报告 number, any version) the request answers, if cited.
    disaster_report: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    allocated_at: datetime | None = None
    dispatched_at: datetime | None = None
    received_at: datetime | None = None
    closed_at: datetime | None = None
    rejected_at: datetime | None = None
    cancelled_at: datetime | None = None


@audited()
class DispatchLine(SQLModel, table=True):
    """One item of a request: asked, reserved, short of stock, shipped, and what arrived."""

    __tablename__ = "dispatch_line"
    __table_args__ = (
        UniqueConstraint("request_id", "item_id", name="uq_dispatch_line_item"),
        CheckConstraint("quantity > 0", name="ck_dispatch_line_quantity"),
        CheckConstraint(
            "allocated >= 0 AND allocated <= quantity AND shortage >= 0 "
            "AND dispatched >= 0 AND dispatched <= allocated",
            name="ck_dispatch_line_allocation",
        ),
        CheckConstraint(
            "received >= 0 AND short >= 0 AND damaged >= 0 "
            "AND received + short + damaged <= dispatched AND returned >= 0 "
            "AND returned <= received",
            name="ck_dispatch_line_receipt",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="dispatch_request.id", index=True)
    item_id: int = Field(foreign_key="item.id")
    quantity: int
    allocated: int = 0
    shortage: int = 0
    dispatched: int = 0
    received: int = 0
    short: int = 0
    damaged: int = 0
    returned: int = 0  # reusable goods booked back into a depot (回收)


@audited()
class Reservation(SQLModel, table=True):
    """Stock held on one quant for one line, until it leaves or is released; then what of it
    the county received and, for reusable goods, what came back."""

    __tablename__ = "dispatch_reservation"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_dispatch_reservation_quantity"),
        CheckConstraint(
            "received >= 0 AND received <= quantity AND returned >= 0 AND returned <= received",
            name="ck_dispatch_reservation_received",
        ),
        CheckConstraint(_in("state", ReservationState.ALL), name="ck_dispatch_reservation_state"),
        Index("ix_dispatch_reservation_quant_state", "quant_id", "state"),
        Index("ix_dispatch_reservation_depot_state", "depot_id", "state"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    request_id: int = Field(foreign_key="dispatch_request.id", index=True)
    line_id: int = Field(foreign_key="dispatch_line.id", index=True)
    depot_id: int = Field(foreign_key="depot.id")
    quant_id: int = Field(foreign_key="quant.id")
    item_id: int = Field(foreign_key="item.id")
    lot_id: int = Field(foreign_key="lot.id")
    owner_id: int = Field(foreign_key="owner.id")
    quantity: int
    state: str = Field(default=ReservationState.RESERVED, max_length=16)
    document_id: int | None = Field(default=None, foreign_key="stock_document.id")
    received: int = 0
    returned: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
