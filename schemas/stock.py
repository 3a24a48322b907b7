"""Schemas of the stock API: master data, balances, documents and the operations' bodies.

Everything is named by code (depot, item, county, owner, lot number, document number);
database ids never leave the server.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from relief_inventory.stock.lines import MAX_LINES
from relief_inventory.stock.models import MAX_QUANTITY, DocKind, DocState, LotOrigin, LotStatus
from schemas.common import (
    Amount,
    Code,
    Coordinate,
    Day,
    Flag,
    InputSchema,
    Lines,
    LocalTime,
    MoneyText,
    PageArgsSchema,
    PageSchema,
    Quantity,
    QueryFlag,
    Text,
)

LOT = 64
PARTNER = 128
ORDER = 64
REASON = 2000

# -- master data ---------------------------------------------------------------------------


class CountySchema(Schema):
    code = fields.String()
    name = fields.String()
    lat = Coordinate()
    lon = Coordinate()


class CategorySchema(Schema):
    code = fields.String()
    name = fields.String()
    sort_order = fields.Integer()


class DepotSchema(Schema):
    code = fields.String()
    name = fields.String()
    county = fields.String(metadata={"description": "county code"})
    county_name = fields.String()
    level = fields.String(metadata={"description": "prefecture or county (a point: county)"})
    address = fields.String()
    lat = Coordinate()
    lon = Coordinate()
    keeper_name = fields.String()
    keeper_phone = fields.String()
    parent = fields.String(
        allow_none=True,
        metadata={"description": "township stock points only: the county depot above"},
    )
    township = fields.String(allow_none=True, metadata={"description": "township code"})
    township_name = fields.String(allow_none=True)


class TownshipSchema(Schema):
    code = fields.String()
    name = fields.String()
    county = fields.String(metadata={"description": "county code"})
    county_name = fields.String()
    lat = Coordinate()
    lon = Coordinate()
    high_risk = fields.Boolean()
    points = fields.List(fields.String(), metadata={"description": "stock points serving it"})


class ItemSchema(Schema):
    code = fields.String()
    name = fields.String()
    specification = fields.String()
    unit = fields.String()
    category = fields.String(metadata={"description": "category code"})
    category_name = fields.String()
    unit_value = MoneyText()
    shelf_life_days = fields.Integer(allow_none=True)
    tracking = fields.String(metadata={"description": "lot or serial"})
    reusable = fields.Boolean()


# -- balances ------------------------------------------------------------------------------


class StockQuerySchema(PageArgsSchema):
    depot = Code(required=False)
    item = Code(required=False)
    category = Code(required=False)
    county = Code(required=False, max_length=12, metadata={"description": "depots of a county"})
    include_zero = QueryFlag(load_default=False)


class StockRowSchema(Schema):
    depot = fields.String()
    depot_name = fields.String()
    item = fields.String()
    item_name = fields.String()
    unit = fields.String()
    category = fields.String()
    category_name = fields.String()
    lot = fields.String()
    expiry_date = fields.Date(allow_none=True)
    lot_status = fields.String(
        metadata={
            "description": "in this depot, today: available, quarantined, damaged or expired "
            "(past its expiry date)"
        }
    )
    owner = fields.String()
    owner_name = fields.String()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class StockPageSchema(PageSchema):
    results = fields.List(fields.Nested(StockRowSchema))


class CodeNameSchema(Schema):
    code = fields.String()
    name = fields.String()


STATUS_SPLIT = "usable, expired, quarantined, damaged: pieces by the status they read today"


class SummaryRowSchema(Schema):
    depot = fields.String()
    depot_name = fields.String()
    cells = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "by category"}
    )
    total = fields.Integer()
    by_status = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": STATUS_SPLIT}
    )


class SummaryTotalsSchema(Schema):
    categories = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()
    by_status = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": STATUS_SPLIT}
    )
    by_category_status = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata={"description": "per category: " + STATUS_SPLIT},
    )


class StockSummarySchema(Schema):
    depots = fields.List(fields.Nested(CodeNameSchema))
    categories = fields.List(fields.Nested(CodeNameSchema))
    rows = fields.List(fields.Nested(SummaryRowSchema))
    totals = fields.Nested(SummaryTotalsSchema)


# -- documents -----------------------------------------------------------------------------


class DocumentQuerySchema(PageArgsSchema):
    kind = Text(16, choices=DocKind.ALL, load_default=None)
    state = Text(16, choices=DocState.ALL, load_default=None)
    depot = Code(required=False, metadata={"description": "documents from or to this depot"})


class MoveSchema(Schema):
    item = fields.String()
    lot = fields.String()
    owner = fields.String()
    quantity = fields.Integer()
    from_location = fields.String()
    to_location = fields.String()
    state = fields.String()
    done_at = fields.AwareDateTime(allow_none=True, metadata={"description": "UTC"})
    done_at_local = LocalTime("done_at", metadata={"description": "Asia/Shanghai"})


class CountedSchema(Schema):
    item = fields.String()
    lot = fields.String()
    owner = fields.String()
    system_quantity = fields.Integer()
    counted_quantity = fields.Integer()


def _state_label(row: Any) -> str:
    if row["state"] == DocState.CANCELLED and row.get("rejected_by"):
        return "已驳回"
    return DocState.LABELS.get(row["state"], row["state"])


class HeldSchema(Schema):
    item = fields.String()
    lot = fields.String()
    owner = fields.String()
    location = fields.String()
    quantity = fields.Integer()
    state = fields.String(metadata={"description": "held, used (approved) or released"})


class DocumentHeaderSchema(Schema):
    number = fields.String()
    kind = fields.String()
    kind_label = fields.Function(lambda row: DocKind.LABELS.get(row["kind"], row["kind"]))
    state = fields.String()
    state_label = fields.Function(_state_label)
    depot = fields.String(allow_none=True)
    depot_name = fields.String(allow_none=True)
    dest_depot = fields.String(allow_none=True)
    county = fields.String(allow_none=True)
    partner = fields.String()
    origin = fields.String(allow_none=True)
    authority_order = fields.String()
    reason = fields.String()
    source_ref = fields.String()
    reverses = fields.String(allow_none=True)
    reversed = fields.Function(
        lambda row: row["reversed_by"] is not None,
        metadata={"description": "an approved reversal undid this document"},
    )
    reversed_by = fields.String(allow_none=True, metadata={"description": "that reversal"})
    pending_reversal = fields.String(
        allow_none=True, metadata={"description": "a reversal waiting for its second person"}
    )
    created_by = fields.String()
    validated_by = fields.String(allow_none=True)
    rejected_by = fields.String(
        allow_none=True, metadata={"description": "who rejected the draft or refused the transfer"}
    )
    created_at = fields.AwareDateTime(metadata={"description": "UTC"})
    created_at_local = LocalTime("created_at", metadata={"description": "Asia/Shanghai"})
    done_at = fields.AwareDateTime(allow_none=True, metadata={"description": "UTC"})
    done_at_local = LocalTime("done_at", metadata={"description": "Asia/Shanghai"})


class DocumentSchema(DocumentHeaderSchema):
    moves = fields.List(fields.Nested(MoveSchema))
    count_lines = fields.List(fields.Nested(CountedSchema))
    holds = fields.List(
        fields.Nested(HeldSchema), metadata={"description": "stock a draft holds (reserved)"}
    )


class DocumentPageSchema(PageSchema):
    results = fields.List(fields.Nested(DocumentHeaderSchema))


# -- operations ----------------------------------------------------------------------------


class IncomingLineSchema(InputSchema):
    """New stock: the lot is created (or matched) from its number and dates."""

    item = Code()
    lot = Text(LOT, blank=False, required=True)
    quantity = Quantity()
    owner = Code(required=False, metadata={"description": "default: the depot's own reserve"})
    production_date = Day(load_default=None)
    expiry_date = Day(load_default=None)


class OutgoingLineSchema(InputSchema):
    """Stock leaving a depot; without a lot, lots are taken first-expiry-first."""

    item = Code()
    lot = Text(LOT, load_default=None)
    quantity = Quantity()
    owner = Code(required=False)


class NamedLotLineSchema(OutgoingLineSchema):
    """Write-offs and rotations name the lot they take."""

    lot = Text(LOT, blank=False, required=True)


class CountedLineSchema(InputSchema):
    item = Code()
    lot = Text(LOT, blank=False, required=True)
    owner = Code(
        required=False,
        metadata={"description": "default: the lot as a whole, where one owner holds it here"},
    )
    counted = Quantity(minimum=0)


class ReceiptSchema(InputSchema):
    depot = Code()
    partner = Text(PARTNER)
    origin = Text(16, choices=LotOrigin.ALL, load_default=LotOrigin.PURCHASE)
    authority_order = Text(ORDER)
    reason = Text(REASON)
    quarantine = Flag(load_default=False)
    lines = Lines(IncomingLineSchema)
    appropriation = Code(
        required=False, metadata={"description": "the fund appropriation that paid for it"}
    )
    amount = Amount(
        load_default=None, metadata={"description": 'yuan paid from it, e.g. "1450.00"'}
    )


class TransferSchema(InputSchema):
    from_depot = Code()
    to_depot = Code()
    authority_order = Text(ORDER)
    reason = Text(REASON)
    lines = Lines(OutgoingLineSchema)


class IssueSchema(InputSchema):
    depot = Code()
    county = Code(max_length=12)
    authority_order = Text(ORDER)
    reason = Text(REASON)
    lines = Lines(OutgoingLineSchema)


class ScrapSchema(InputSchema):
    depot = Code()
    reason = Text(REASON, blank=False, required=True)
    authority_order = Text(ORDER)
    lines = Lines(NamedLotLineSchema)


class CountSchema(InputSchema):
    depot = Code()
    reason = Text(REASON)
    authority_order = Text(
        ORDER, metadata={"description": "needed for differences in another reserve's stock"}
    )
    lines = Lines(CountedLineSchema)


class DifferenceSchema(InputSchema):
    """A rotation's declared difference: in minus out, per item and owner, with its reason."""

    item = Code()
    owner = Code(required=False)
    quantity = fields.Integer(
        strict=True,
        required=True,
        validate=[
            validate.Range(min=-MAX_QUANTITY, max=MAX_QUANTITY, error="差额超出范围"),
            validate.NoneOf([0], error="差额不能为零"),
        ],
        error_messages={"invalid": "差额须为整数", "required": "缺少必填字段"},
        metadata={"description": "pieces in minus pieces out (negative when fewer came in)"},
    )
    reason = Text(500, blank=False, required=True)


class RotationSchema(InputSchema):
    depot = Code()
    partner = Text(PARTNER)
    reason = Text(REASON)
    authority_order = Text(ORDER)
    out_lines = Lines(NamedLotLineSchema)
    in_lines = Lines(IncomingLineSchema)
    differences = fields.List(
        fields.Nested(DifferenceSchema),
        load_default=None,
        validate=validate.Length(max=MAX_LINES),
        metadata={"description": "only where in and out quantities of an item differ"},
    )


class ArrivalLineSchema(InputSchema):
    """What differed on arrival for an item (optionally one lot or owner of it)."""

    item = Code()
    lot = Text(LOT, load_default=None)
    owner = Code(required=False)
    received = Quantity(minimum=0, metadata={"description": "arrived in good order"})
    damaged = Quantity(minimum=0, required=False, load_default=0)


class ArrivalSchema(InputSchema):
    """Booking a transfer in; lines only for what arrived short or damaged."""

    lines = fields.List(
        fields.Nested(ArrivalLineSchema),
        load_default=None,
        validate=validate.Length(max=MAX_LINES),
    )
    note = Text(REASON, metadata={"description": "required when anything is short or damaged"})


class ReasonSchema(InputSchema):
    reason = Text(REASON, blank=False, required=True)


class LotStatusSchema(InputSchema):
    item = Code()
    lot = Text(LOT, blank=False, required=True)
    status = Text(16, blank=False, required=True, choices=LotStatus.ALL)
    reason = Text(REASON, blank=False, required=True)
    depot = Code(
        required=False,
        metadata={"description": "one of your depots; default: all of yours holding the lot"},
    )


class LotDepotSchema(Schema):
    depot = fields.String()
    status = fields.String()
    on_hand = fields.Integer()


class LotSchema(Schema):
    item = fields.String()
    lot = fields.String()
    production_date = fields.Date(allow_none=True)
    expiry_date = fields.Date(allow_none=True)
    origin = fields.String()
    status = fields.String(metadata={"description": "the lot's own status, where no depot set one"})
    depots = fields.List(
        fields.Nested(LotDepotSchema), metadata={"description": "its status in each depot"}
    )
