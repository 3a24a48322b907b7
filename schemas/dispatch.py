"""Schemas of the dispatch-request API: filing, the transitions' bodies, and the request as
read back (by county, item, depot, lot and owner codes; never database ids)."""

from __future__ import annotations

from marshmallow import Schema, fields

from relief_inventory.allocation.models import DisasterType, RequestState, Urgency
from relief_inventory.allocation.queries import STAMPS
from relief_inventory.allocation.requests import MAX_PEOPLE
from schemas.common import (
    Code,
    Flag,
    InputSchema,
    JsonInt,
    Lines,
    LocalTime,
    PageArgsSchema,
    PageSchema,
    Quantity,
    QueryFlag,
    Text,
)

NOTE = 2000
LOT = 64

# -- input ---------------------------------------------------------------------------------


class RequestLineSchema(InputSchema):
    item = Code()
    quantity = Quantity()


class NewRequestSchema(InputSchema):
    county = Code(max_length=12, metadata={"description": "requesting county's code"})
    disaster_type = Text(
        16,
        blank=False,
        required=True,
        choices=DisasterType.ALL,
        metadata={"description": ", ".join(f"{k}={v}" for k, v in DisasterType.LABELS.items())},
    )
    urgency = Text(
        16,
        blank=False,
        required=True,
        choices=Urgency.ALL,
        metadata={"description": ", ".join(f"{k}={v}" for k, v in Urgency.LABELS.items())},
    )
    people_affected = JsonInt(
        minimum=0, maximum=MAX_PEOPLE, message=f"受灾人数须为 0–{MAX_PEOPLE} 的整数", required=True
    )
    reason = Text(NOTE)
    submit = Flag(load_default=False, metadata={"description": "submit at once"})
    disaster_report = Code(
        required=False,
        metadata={"description": "the county's disaster report (灾情报告 ZQ-…) it answers"},
    )
    lines = Lines(RequestLineSchema)


class RequestQuerySchema(PageArgsSchema):
    state = Text(16, choices=RequestState.ALL, load_default=None)
    county = Code(required=False, max_length=12)
    overdue = QueryFlag(load_default=False, metadata={"description": "countersignature overdue"})


class ApproveSchema(InputSchema):
    allocate = Flag(load_default=True, metadata={"description": "allocate stock at once"})
    allow_other_counties = Flag(
        load_default=False, metadata={"description": "may use other counties' county reserves"}
    )
    emergency_response = Text(
        128,
        metadata={
            "description": "the declared emergency response: a 特急 request is then approved, "
            "allocated and dispatched at once, to be countersigned by a second dispatcher"
        },
    )
    note = Text(NOTE)


class AllocateSchema(InputSchema):
    allow_other_counties = Flag(load_default=None)


class NoteSchema(InputSchema):
    note = Text(NOTE)


class DispatchSchema(InputSchema):
    depot = Code(required=False, metadata={"description": "default: all the keeper's depots"})


class ReceivedLineSchema(InputSchema):
    item = Code()
    received = Quantity(minimum=0)
    damaged = Quantity(minimum=0, required=False, load_default=0)


class ReceiveSchema(InputSchema):
    lines = Lines(ReceivedLineSchema)
    note = Text(NOTE, metadata={"description": "required when anything is short or damaged"})


class ReturnedLineSchema(InputSchema):
    item = Code()
    lot = Text(LOT, blank=False, required=True)
    owner = Code(required=False)
    available = Quantity(minimum=0, required=False, load_default=0)
    damaged = Quantity(minimum=0, required=False, load_default=0)
    scrap = Quantity(minimum=0, required=False, load_default=0)


class ReturnSchema(InputSchema):
    depot = Code()
    lines = Lines(ReturnedLineSchema)
    note = Text(NOTE)


# -- output --------------------------------------------------------------------------------


class LineSchema(Schema):
    item = fields.String()
    item_name = fields.String()
    unit = fields.String()
    quantity = fields.Integer()
    allocated = fields.Integer()
    shortage = fields.Integer(metadata={"description": "what no depot could serve"})
    dispatched = fields.Integer()
    received = fields.Integer()
    short = fields.Integer()
    damaged = fields.Integer()
    returned = fields.Integer()


class PickSchema(Schema):
    item = fields.String()
    depot = fields.String()
    lot = fields.String()
    owner = fields.String()
    quantity = fields.Integer()
    state = fields.String(metadata={"description": "reserved, dispatched or released"})
    document = fields.String(allow_none=True, metadata={"description": "dispatch document"})


class AgainstStandardSchema(Schema):
    item = fields.String()
    quantity = fields.Integer()
    measure = fields.String()
    per_relocated = fields.String(
        allow_none=True, metadata={"description": "measures asked per relocated person"}
    )
    standard = fields.String(allow_none=True)
    standard_per_person = fields.String(
        allow_none=True, metadata={"description": "the standard per person (and day if daily)"}
    )


class ReportCheckSchema(Schema):
    number = fields.String()
    version = fields.Integer()
    state = fields.String()
    state_label = fields.String()
    people_affected = fields.Integer()
    people_relocated = fields.Integer()
    lines = fields.List(fields.Nested(AgainstStandardSchema))


_REQUEST_FIELDS = {
    "number": fields.String(),
    "county": fields.String(),
    "county_name": fields.String(),
    "disaster_type": fields.String(),
    "disaster_label": fields.String(),
    "urgency": fields.String(),
    "urgency_label": fields.String(),
    "people_affected": fields.Integer(),
    "reason": fields.String(),
    "state": fields.String(),
    "state_label": fields.String(),
    "requester": fields.String(),
    "approver": fields.String(allow_none=True),
    "receiver": fields.String(allow_none=True),
    "countersigner": fields.String(allow_none=True),
    "allow_other_counties": fields.Boolean(),
    "emergency": fields.Boolean(),
    "emergency_response": fields.String(),
    "countersign_due_at": fields.AwareDateTime(allow_none=True),
    "countersign_due_at_local": LocalTime("countersign_due_at"),
    "countersigned_at": fields.AwareDateTime(allow_none=True),
    "countersigned_at_local": LocalTime("countersigned_at"),
    "countersign_overdue": fields.Boolean(),
    "decision_note": fields.String(),
    "disaster_report": fields.String(allow_none=True),
    **{stamp: fields.AwareDateTime(allow_none=True) for stamp in STAMPS},
    **{f"{stamp}_local": LocalTime(stamp) for stamp in STAMPS},
    "hours_to_dispatch": fields.Float(allow_none=True),
    "hours_to_receipt": fields.Float(allow_none=True),
    "lines": fields.List(fields.Nested(LineSchema)),
}

RequestSummarySchema = Schema.from_dict(_REQUEST_FIELDS, name="DispatchRequestSummary")
RequestSchema = Schema.from_dict(
    {
        **_REQUEST_FIELDS,
        "picks": fields.List(fields.Nested(PickSchema)),
        "report_check": fields.Nested(
            ReportCheckSchema,
            allow_none=True,
            metadata={"description": "what is asked per relocated person against the standard"},
        ),
    },
    name="DispatchRequest",
)


class RequestPageSchema(PageSchema):
    results = fields.List(fields.Nested(RequestSummarySchema))
