"""Schemas of the stock API: master data, balances, documents and the operations' bodies.

Everything is named by code (depot, item, county, owner, lot number, document number);
database ids never leave the server.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from relief_inventory.stock.models import DocKind, DocState, LotOrigin, LotStatus
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
    level = fields.String(metadata={"description": "prefecture or county"})
    address = fields.String()
    lat = Coordinate()
    lon = Coordinate()
    keeper_name = fields.String()
    keeper_phone = fields.String()


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
    lot_status = fields.String()
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


class SummaryRowSchema(Schema):
    depot = fields.String()
    depot_name = fields.String()
    cells = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "by category"}
    )
    total = fields.Integer()


class SummaryTotalsSchema(Schema):
    categories = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()


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


class DocumentHeaderSchema(Schema):
    number = fields.String()
    kind = fields.String()
    kind_label = fields.Function(lambda row: DocKind.LABELS.get(row["kind"], row["kind"]))
    state = fields.String()
    state_label = fields.Function(lambda row: DocState.LABELS.get(row["state"], row["state"]))
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
    created_by = fields.String()
    validated_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(metadata={"description": "UTC"})
    created_at_local = LocalTime("created_at", metadata={"description": "Asia/Shanghai"})
    done_at = fields.AwareDateTime(allow_none=True, metadata={"description": "UTC"})
    done_at_local = LocalTime("done_at", metadata={"description": "Asia/Shanghai"})


class DocumentSchema(DocumentHeaderSchema):
    moves = fields.List(fields.Nested(MoveSchema))
    count_lines = fields.List(fields.Nested(CountedSchema))


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
    owner = Code(required=False)
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

    @validates_schema
    def _funds_together(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """A purchase link needs both the appropriation and the amount, or neither."""
        if bool(data.get("appropriation")) != (data.get("amount") is not None):
            missing = "amount" if data.get("appropriation") else "appropriation"
            raise ValidationError("资金下达编号与金额须同时填写", field_name=missing)


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
    lines = Lines(CountedLineSchema)


class RotationSchema(InputSchema):
    depot = Code()
    partner = Text(PARTNER)
    reason = Text(REASON)
    authority_order = Text(ORDER)
    out_lines = Lines(NamedLotLineSchema)
    in_lines = Lines(IncomingLineSchema)


class ReasonSchema(InputSchema):
    reason = Text(REASON, blank=False, required=True)


class LotStatusSchema(InputSchema):
    item = Code()
    lot = Text(LOT, blank=False, required=True)
    status = Text(16, blank=False, required=True, choices=LotStatus.ALL)
    reason = Text(REASON, blank=False, required=True)


class LotSchema(Schema):
    item = fields.String()
    lot = fields.String()
    production_date = fields.Date(allow_none=True)
    expiry_date = fields.Date(allow_none=True)
    origin = fields.String()
    status = fields.String()
