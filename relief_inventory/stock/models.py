"""The stock ledger: what there is (categories, items, lots, owners), the documents that
move it, the moves themselves (append-only) and the quants (the materialised balance).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from relief_inventory.audit.registry import audited
from relief_inventory.money import Money
from relief_inventory.stock.ownership import OwnerLevel as OwnerLevel  # re-exported
from relief_inventory.timeutil import utcnow

MAX_QUANTITY = 10_000_000  # no single line of relief goods is anywhere near ten million


class Tracking:
    LOT = "lot"
    SERIAL = "serial"
    ALL = (LOT, SERIAL)


class LotOrigin:
    PURCHASE = "purchase"
    DONATION = "donation"
    ALLOCATION = "allocation"  # allocated down from a higher level
    ALL = (PURCHASE, DONATION, ALLOCATION)
    LABELS = {PURCHASE: "采购", DONATION: "捐赠", ALLOCATION: "上级调拨"}


class LotStatus:
    AVAILABLE = "available"
    QUARANTINED = "quarantined"
    DAMAGED = "damaged"
    EXPIRED = "expired"
    ALL = (AVAILABLE, QUARANTINED, DAMAGED, EXPIRED)
    LABELS = {AVAILABLE: "可用", QUARANTINED: "待检", DAMAGED: "损坏", EXPIRED: "过期"}


class DocKind:
    RECEIPT = "receipt"
    TRANSFER = "transfer"
    ISSUE = "issue"
    SCRAP = "scrap"
    COUNT = "count"
    ROTATION = "rotation"
    RETURN = "return"
    REVERSAL = "reversal"
    DISPATCH = "dispatch"
    ALL = (RECEIPT, TRANSFER, ISSUE, SCRAP, COUNT, ROTATION, RETURN, REVERSAL, DISPATCH)
    PREFIX = {
        RECEIPT: "RK",
        TRANSFER: "YK",
        ISSUE: "CK",
        SCRAP: "BF",
        COUNT: "PD",
        ROTATION: "LH",
        RETURN: "HS",
        REVERSAL: "CX",
        DISPATCH: "FY",
    }
    LABELS = {
        RECEIPT: "入库单",
        TRANSFER: "库间调拨单",
        ISSUE: "出库单",
        SCRAP: "报废单",
        COUNT: "盘点单",
        ROTATION: "轮换单",
        RETURN: "回收单",
        REVERSAL: "冲销单",
        DISPATCH: "应急调拨发运单",
    }


class DocState:
    DRAFT = "draft"
    IN_TRANSIT = "in_transit"
    DONE = "done"
    CANCELLED = "cancelled"
    ALL = (DRAFT, IN_TRANSIT, DONE, CANCELLED)
    LABELS = {DRAFT: "草稿", IN_TRANSIT: "在途", DONE: "完成", CANCELLED: "已取消"}


class MoveState:
    DRAFT = "draft"
    DONE = "done"
    CANCELLED = "cancelled"


class HoldState:
    """A draft's hold on stock: held until the draft is approved (used) or rejected or
    cancelled (released)."""

    HELD = "held"
    USED = "used"
    RELEASED = "released"
    ALL = (HELD, USED, RELEASED)


@audited()
class Category(SQLModel, table=True):
    __tablename__ = "category"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=64)
    sort_order: int = 0
    active: bool = True


@audited()
class Item(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = (
        CheckConstraint("tracking IN ('lot','serial')", name="ck_item_tracking"),
        CheckConstraint("unit_value >= 0", name="ck_item_unit_value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=128)
    specification: str = Field(default="", max_length=255)
    unit: str = Field(max_length=8)
    category_id: int = Field(foreign_key="category.id", index=True)
    unit_value: Decimal = Field(sa_column=Column(Money, nullable=False))
    shelf_life_days: int | None = None
    tracking: str = Field(default=Tracking.LOT, max_length=8)
    reusable: bool = False  # tents, beds, equipment come back after use (回收)
    active: bool = True


@audited()
class Owner(SQLModel, table=True):
    __tablename__ = "owner"
    __table_args__ = (
        CheckConstraint(
            "level IN ('central','provincial','prefecture','county')", name="ck_owner_level"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=128)
    level: str = Field(max_length=16)
    county_id: int | None = Field(default=None, foreign_key="county.id")


@audited()
class Lot(SQLModel, table=True):
    __tablename__ = "lot"
    __table_args__ = (
        UniqueConstraint("item_id", "number", name="uq_lot_item_number"),
        CheckConstraint(
            "status IN ('available','quarantined','damaged','expired')", name="ck_lot_status"
        ),
        CheckConstraint("origin IN ('purchase','donation','allocation')", name="ck_lot_origin"),
        Index("ix_lot_number", "number"),  # search by lot number (0010)
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    number: str = Field(max_length=64)
    production_date: date | None = None
    expiry_date: date | None = Field(default=None, index=True)
    origin: str = Field(default=LotOrigin.PURCHASE, max_length=16)
    # The lot's own status, wherever no depot set one (``DepotLotStatus``): available, or
    # damaged for the lots that keep damaged returns apart. See ``stock.lot_status``.
    status: str = Field(default=LotStatus.AVAILABLE, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


@audited()
class StockDocument(SQLModel, table=True):
    """A receipt, transfer, issue, write-off, count, rotation, return or reversal."""

    __tablename__ = "stock_document"
    __table_args__ = (
        CheckConstraint(
            "state IN ('draft','in_transit','done','cancelled')", name="ck_stock_document_state"
        ),
        Index("ix_stock_document_kind_state", "kind", "state"),
        Index("ix_stock_document_created_at", "created_at"),  # back-office sort (0010)
        # A document has at most one reversal that is proposed or done (a rejected one is
        # cancelled and does not count).
        Index(
            "uq_stock_document_live_reversal",
            "reverses_id",
            unique=True,
            sqlite_where=text("reverses_id IS NOT NULL AND state <> 'cancelled'"),
            postgresql_where=text("reverses_id IS NOT NULL AND state <> 'cancelled'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, index=True)
    kind: str = Field(max_length=16)
    state: str = Field(default=DocState.DRAFT, max_length=16)
    depot_id: int | None = Field(default=None, foreign_key="depot.id", index=True)
    dest_depot_id: int | None = Field(default=None, foreign_key="depot.id", index=True)
    county_id: int | None = Field(default=None, foreign_key="county.id", index=True)
    partner: str = Field(default="", max_length=128)
    origin: str | None = Field(default=None, max_length=16)
    # The higher level's dispatch order (调令) that authorises moving its stock.
    authority_order: str = Field(default="", max_length=64)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    reverses_id: int | None = Field(default=None, foreign_key="stock_document.id")
    source_ref: str = Field(default="", max_length=64, index=True)
    created_by_id: int = Field(foreign_key="app_user.id")
    validated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    # The second person who rejected a draft (or refused a transfer on arrival): the
    # document is then cancelled, and its reason says why.
    rejected_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


@audited()
class Move(SQLModel, table=True):
    """One line of the ledger. Done moves are never updated or deleted (triggers refuse)."""

    __tablename__ = "stock_move"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_move_quantity_positive"),
        CheckConstraint("from_location_id <> to_location_id", name="ck_move_distinct_locations"),
        CheckConstraint("state IN ('draft','done','cancelled')", name="ck_move_state"),
        Index("ix_move_document", "document_id"),
        Index("ix_move_from", "from_location_id", "item_id"),
        Index("ix_move_to", "to_location_id", "item_id"),
        Index("ix_stock_move_item", "item_id", "id"),  # back-office lists (0010)
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    document_id: int = Field(foreign_key="stock_document.id")
    item_id: int = Field(foreign_key="item.id")
    lot_id: int = Field(foreign_key="lot.id", index=True)
    owner_id: int = Field(foreign_key="owner.id")
    quantity: int
    from_location_id: int = Field(foreign_key="location.id")
    to_location_id: int = Field(foreign_key="location.id")
    state: str = Field(default=MoveState.DONE, max_length=16)
    done_at: datetime | None = Field(default=None, index=True)
    user_id: int = Field(foreign_key="app_user.id")


class Quant(SQLModel, table=True):
    """The balance of one (location, item, lot, owner): on hand and reserved.

    Not audited row by row: it is derived from the moves, and ``relief check`` proves it.
    """

    __tablename__ = "quant"
    __table_args__ = (
        UniqueConstraint("location_id", "item_id", "lot_id", "owner_id", name="uq_quant_key"),
        CheckConstraint("on_hand >= 0", name="ck_quant_on_hand_nonneg"),
        CheckConstraint("reserved >= 0", name="ck_quant_reserved_nonneg"),
        CheckConstraint("reserved <= on_hand", name="ck_quant_reserved_le_on_hand"),
        Index("ix_quant_item", "item_id", "location_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    item_id: int = Field(foreign_key="item.id")
    lot_id: int = Field(foreign_key="lot.id", index=True)
    owner_id: int = Field(foreign_key="owner.id")
    on_hand: int = 0
    reserved: int = 0


@audited()
class CountLine(SQLModel, table=True):
    """What a stock count found, beside what the books said when it was entered."""

    __tablename__ = "count_line"

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="stock_document.id", index=True)
    location_id: int = Field(foreign_key="location.id")
    item_id: int = Field(foreign_key="item.id")
    lot_id: int = Field(foreign_key="lot.id")
    owner_id: int = Field(foreign_key="owner.id")
    system_quantity: int
    counted_quantity: int


@audited()
class StockHold(SQLModel, table=True):
    """Stock a draft holds (write-off, count, reversal): reserved on its quant, as an
    allocation is, so nothing else takes it before the draft is decided."""

    __tablename__ = "stock_hold"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_stock_hold_quantity"),
        CheckConstraint("state IN ('held','used','released')", name="ck_stock_hold_state"),
        Index("ix_stock_hold_quant_state", "quant_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="stock_document.id", index=True)
    quant_id: int = Field(foreign_key="quant.id")
    quantity: int
    state: str = Field(default=HoldState.HELD, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None


@audited()
class DepotLotStatus(SQLModel, table=True):
    """A lot's status in one depot: quarantine, damage and release apply to the stock in
    the depots of the keeper who decides them, never to the lot elsewhere. Without a row
    the lot's own status (``Lot.status``) holds."""

    __tablename__ = "depot_lot_status"
    __table_args__ = (
        UniqueConstraint("lot_id", "depot_id", name="uq_depot_lot_status"),
        CheckConstraint(
            "status IN ('available','quarantined','damaged','expired')",
            name="ck_depot_lot_status_status",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id")
    depot_id: int = Field(foreign_key="depot.id", index=True)
    status: str = Field(max_length=16)
    updated_at: datetime = Field(default_factory=utcnow)


class DocumentSequence(SQLModel, table=True):
    """Per-prefix, per-year counters for human document numbers (RK-2025-000123)."""

    __tablename__ = "document_sequence"

    prefix: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last_value: int = 0
