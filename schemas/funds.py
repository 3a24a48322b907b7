"""Schemas of the funds API: sources, appropriations, releases, reversals, the summary and
the trace. Money goes in as strings ("12000.00", never a float, never more than two
places) and comes out as exact two-place strings; documents are named by number, counties
by code.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from relief_inventory.funds.models import (
    FundKind,
    FundLevel,
    Purpose,
    ReleaseState,
    RequestState,
    ReversalTarget,
)
from relief_inventory.funds.services import MAX_PEOPLE, MAX_YEAR, MIN_YEAR
from relief_inventory.money import AMOUNT_OUT_PATTERN
from schemas.common import (
    Amount,
    Code,
    Day,
    Flag,
    InputSchema,
    JsonInt,
    LocalTime,
    MoneyText,
    PageArgsSchema,
    PageSchema,
    QueryFlag,
    QueryInt,
    QuerySchema,
    Text,
)

DOCUMENT = 64  # 文号
NOTE = 500
EVIDENCE = 2000


YEAR_MESSAGE = f"年度须为 {MIN_YEAR}–{MAX_YEAR} 的整数"


def Year(**kwargs: Any) -> fields.Integer:
    """A year in a JSON body: a JSON integer (no "2024")."""
    return JsonInt(minimum=MIN_YEAR, maximum=MAX_YEAR, message=YEAR_MESSAGE, **kwargs)


def YearQuery() -> QueryInt:
    """A year in a query string: four ASCII digits."""
    return QueryInt(minimum=MIN_YEAR, maximum=MAX_YEAR, message=YEAR_MESSAGE, load_default=None)


def People(**kwargs: Any) -> fields.Integer:
    return JsonInt(
        minimum=0,
        maximum=MAX_PEOPLE,
        message=f"人数须为 0–{MAX_PEOPLE} 的整数",
        load_default=0,
        **kwargs,
    )


def _label(labels: dict[str, str], key: str) -> fields.Function:
    return fields.Function(lambda row: labels.get(row[key], row[key]))


# -- input ---------------------------------------------------------------------------------


class SourceCreateSchema(InputSchema):
    level = Text(16, blank=False, required=True, choices=FundLevel.ALL)
    kind = Text(16, blank=False, required=True, choices=FundKind.ALL)
    year = Year(required=True)
    document_number = Text(
        DOCUMENT, blank=False, required=True, metadata={"description": "文号, 云财社〔2024〕12号"}
    )
    amount = Amount(required=True, metadata={"description": 'yuan, e.g. "19360000.00"'})
    title = Text(255)
    issued_on = Day(load_default=None, metadata={"description": "date of the document"})


class AppropriationCreateSchema(InputSchema):
    source = Code(metadata={"description": "fund source number"})
    county = Code(max_length=12)
    document_number = Text(DOCUMENT, blank=False, required=True)
    amount = Amount(required=True)
    issued_on = Day(load_default=None)
    note = Text(255)


class ReleaseCreateSchema(InputSchema):
    appropriation = Code(metadata={"description": "appropriation number"})
    purpose = Text(16, blank=False, required=True, choices=Purpose.ALL)
    amount = Amount(required=True)
    beneficiaries = People(metadata={"description": "people reached (aid purposes: > 0)"})
    households = People()
    description = Text(255)
    evidence = Text(EVIDENCE, metadata={"description": "supporting data; required to submit"})
    submit = Flag(load_default=False)


class VerifySchema(InputSchema):
    note = Text(NOTE, metadata={"description": "what finance checked"})


class PaySchema(InputSchema):
    payment_reference = Text(64, metadata={"description": "treasury payment reference"})


class SourceQuerySchema(PageArgsSchema):
    year = YearQuery()
    kind = Text(16, choices=FundKind.ALL, load_default=None)
    level = Text(16, choices=FundLevel.ALL, load_default=None)


class AppropriationQuerySchema(PageArgsSchema):
    year = YearQuery()
    source = Code(required=False)
    county = Code(required=False, max_length=12)
    kind = Text(16, choices=FundKind.ALL, load_default=None)


class ReleaseQuerySchema(PageArgsSchema):
    state = Text(16, choices=ReleaseState.ALL, load_default=None)
    county = Code(required=False, max_length=12)
    appropriation = Code(required=False)
    purpose = Text(16, choices=Purpose.ALL, load_default=None)
    waiting = QueryFlag(
        load_default=False,
        metadata={"description": "only what awaits my next step (finance: verify/approve/pay)"},
    )


class YearQuerySchema(QuerySchema):
    year = YearQuery()


class LotQuerySchema(QuerySchema):
    item = Code()
    lot = Text(64, blank=False, required=True)


# -- output --------------------------------------------------------------------------------


class SourceSchema(Schema):
    number = fields.String()
    level = fields.String()
    level_label = _label(FundLevel.LABELS, "level")
    kind = fields.String()
    kind_label = _label(FundKind.LABELS, "kind")
    year = fields.Integer()
    document_number = fields.String()
    title = fields.String()
    amount = MoneyText()
    appropriated = MoneyText()
    issued_on = fields.Date()
    reversed = fields.Function(
        lambda row: row["reversed_by"] is not None,
        metadata={"description": "an approved reversal undid it"},
    )
    reversed_by = fields.String(allow_none=True)
    reversal_pending = fields.String(
        allow_none=True, metadata={"description": "a reversal proposed, not yet decided"}
    )
    created_by = fields.String()
    created_at = fields.AwareDateTime(metadata={"description": "UTC"})
    created_at_local = LocalTime("created_at", metadata={"description": "Asia/Shanghai"})


class SourcePageSchema(PageSchema):
    results = fields.List(fields.Nested(SourceSchema))


class AppropriationSchema(Schema):
    number = fields.String()
    source = fields.String()
    source_document = fields.String()
    level = fields.String()
    kind = fields.String()
    kind_label = _label(FundKind.LABELS, "kind")
    year = fields.Integer()
    county = fields.String()
    county_name = fields.String()
    document_number = fields.String()
    issued_on = fields.Date()
    amount = MoneyText()
    committed = MoneyText(metadata={"description": "approved, not yet paid"})
    released = MoneyText(metadata={"description": "paid out"})
    remaining = fields.Function(
        lambda row: (
            None
            if row["reversed_by"]
            else f"{row['amount'] - row['committed'] - row['released']:.2f}"
        ),
        metadata={
            "description": "amount - committed - released: what new releases may still take "
            "(null once reversed)",
            "type": "string",
            "pattern": AMOUNT_OUT_PATTERN,
            "nullable": True,
        },
    )
    note = fields.String()
    reversed = fields.Function(
        lambda row: row["reversed_by"] is not None,
        metadata={"description": "an approved reversal undid it"},
    )
    reversed_by = fields.String(allow_none=True)
    reversal_pending = fields.String(
        allow_none=True, metadata={"description": "a reversal proposed, not yet decided"}
    )
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    created_at_local = LocalTime("created_at")


class AppropriationPageSchema(PageSchema):
    results = fields.List(fields.Nested(AppropriationSchema))


class ReleaseSchema(Schema):
    number = fields.String()
    appropriation = fields.String()
    source = fields.String()
    kind = fields.String()
    county = fields.String()
    county_name = fields.String()
    purpose = fields.String()
    purpose_label = _label(Purpose.LABELS, "purpose")
    description = fields.String()
    amount = MoneyText()
    beneficiaries = fields.Integer()
    households = fields.Integer()
    evidence = fields.String()
    state = fields.String()
    state_label = _label(ReleaseState.LABELS, "state")
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    created_at_local = LocalTime("created_at")
    submitted_at = fields.AwareDateTime(allow_none=True)
    verified_by = fields.String(allow_none=True)
    verified_at = fields.AwareDateTime(allow_none=True)
    verification_note = fields.String()
    approved_by = fields.String(allow_none=True)
    approved_at = fields.AwareDateTime(allow_none=True)
    released_by = fields.String(allow_none=True)
    released_at = fields.AwareDateTime(allow_none=True)
    released_at_local = LocalTime("released_at")
    payment_reference = fields.String()
    rejected_by = fields.String(allow_none=True)
    rejected_at = fields.AwareDateTime(allow_none=True)
    reject_reason = fields.String()
    reversed = fields.Function(
        lambda row: row["reversed_by"] is not None,
        metadata={"description": "an approved reversal undid it"},
    )
    reversed_by = fields.String(allow_none=True)
    reversal_pending = fields.String(
        allow_none=True, metadata={"description": "a reversal proposed, not yet decided"}
    )


class ReleasePageSchema(PageSchema):
    results = fields.List(fields.Nested(ReleaseSchema))


class ReversalSchema(Schema):
    number = fields.String()
    target = fields.String()
    target_label = _label(ReversalTarget.LABELS, "target")
    reverses = fields.String(metadata={"description": "number of the reversed document"})
    amount = MoneyText()
    reason = fields.String()
    state = fields.String(
        metadata={"description": "proposed; approved (in effect) or rejected by a second person"}
    )
    state_label = _label(RequestState.LABELS, "state")
    created_by = fields.String(metadata={"description": "who proposed it"})
    created_at = fields.AwareDateTime()
    created_at_local = LocalTime("created_at")
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    decided_at_local = LocalTime("decided_at")
    decision_note = fields.String()


class ReversalPageSchema(PageSchema):
    results = fields.List(fields.Nested(ReversalSchema))


class FundSummaryRowSchema(Schema):
    key = fields.String(metadata={"description": "source number, county code, kind or level"})
    label = fields.String()
    amount = MoneyText(
        allow_none=True, metadata={"description": "received; null for counties (they receive none)"}
    )
    appropriated = MoneyText()
    committed = MoneyText(metadata={"description": "approved, not yet paid"})
    released = MoneyText(metadata={"description": "paid out"})
    balance = MoneyText(metadata={"description": "appropriated - released"})
    unappropriated = MoneyText(allow_none=True, metadata={"description": "null for counties"})
    beneficiaries = fields.Integer()


class SummarySchema(Schema):
    year = fields.Integer(allow_none=True)
    ok = fields.Boolean(metadata={"description": "every level ties out to the total"})
    problems = fields.List(fields.String())
    total = fields.Nested(FundSummaryRowSchema)
    by_source = fields.List(fields.Nested(FundSummaryRowSchema))
    by_county = fields.List(fields.Nested(FundSummaryRowSchema))
    by_kind = fields.List(fields.Nested(FundSummaryRowSchema))
    by_level = fields.List(fields.Nested(FundSummaryRowSchema))


class FundingSchema(Schema):
    amount = MoneyText()
    appropriation = fields.String()
    appropriation_document = fields.String()
    county = fields.String()
    county_name = fields.String()
    source = fields.String()
    source_document = fields.String()
    level = fields.String()
    kind = fields.String()
    year = fields.Integer()


class LotLineSchema(Schema):
    item = fields.String()
    item_name = fields.String()
    lot = fields.String()
    quantity = fields.Integer()


class DestinationSchema(Schema):
    item = fields.String()
    lot = fields.String()
    county = fields.String()
    county_name = fields.String()
    quantity = fields.Integer(metadata={"description": "pieces that reached the county, net"})


class ReceiptHeaderSchema(Schema):
    receipt = fields.String()
    depot = fields.String()
    depot_name = fields.String()
    partner = fields.String()
    done_at = fields.AwareDateTime(allow_none=True)
    reversed = fields.Function(
        lambda row: row["reversed_by"] is not None,
        metadata={"description": "an approved reversal undid it"},
    )
    reversed_by = fields.String(allow_none=True)


class LotReceiptSchema(ReceiptHeaderSchema):
    quantity = fields.Integer(metadata={"description": "pieces of this lot it brought in"})
    funds = fields.List(fields.Nested(FundingSchema))


class PurchaseSchema(ReceiptHeaderSchema):
    amount = MoneyText()
    lines = fields.List(fields.Nested(LotLineSchema))


class LotTraceSchema(Schema):
    item = fields.String()
    item_name = fields.String()
    lot = fields.String()
    receipts = fields.List(fields.Nested(LotReceiptSchema))
    destinations = fields.List(fields.Nested(DestinationSchema))


class AppropriationTraceSchema(AppropriationSchema):
    purchases = fields.List(fields.Nested(PurchaseSchema))
    destinations = fields.List(fields.Nested(DestinationSchema))
