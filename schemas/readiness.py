"""Schemas of the readiness API: the scenario check asked and answered, and the parameters
the bureau edits (codes, never ids; measures as exact decimal strings)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from relief_inventory.allocation.models import DisasterType
from relief_inventory.readiness.check import MAX_DAYS, MAX_RELOCATED
from relief_inventory.readiness.disaster import MAX_HOUSES
from relief_inventory.readiness.disaster import MAX_PEOPLE as MAX_REPORT_PEOPLE
from relief_inventory.readiness.models import LOSS_SECTORS, ReportState
from relief_inventory.readiness.presets import NAMES
from relief_inventory.readiness.standards import Basis
from schemas.common import (
    MISSING_OR_NULL,
    Amount,
    Code,
    Day,
    Flag,
    InputSchema,
    JsonInt,
    MoneyText,
    PageArgsSchema,
    PageSchema,
    QueryInt,
    QuerySchema,
    Text,
)

MEASURE = {"pattern": r"^[0-9]+(\.[0-9])?$", "example": "13.2"}

# -- input ---------------------------------------------------------------------------------


class ScenarioArgsSchema(InputSchema):
    preset = Text(
        32,
        choices=NAMES,
        load_default=None,
        metadata={"description": "a named scenario; the other fields override its figures"},
    )
    county = Code(required=False, max_length=12, metadata={"description": "county code"})
    township = Code(
        required=False,
        max_length=12,
        metadata={"description": "township code: the place instead of the county seat"},
    )
    relocated = JsonInt(
        minimum=1,
        maximum=MAX_RELOCATED,
        message=f"转移安置人数须为 1–{MAX_RELOCATED} 的整数",
        load_default=None,
    )
    days = JsonInt(
        minimum=1, maximum=MAX_DAYS, message=f"保障天数须为 1–{MAX_DAYS} 的整数", load_default=None
    )
    cut_off = fields.List(
        Code(),
        load_default=list,
        validate=validate.Length(max=200, error="最多 200 个仓库"),
        metadata={"description": "codes of depots the disaster cuts off"},
    )
    household_size = JsonInt(
        minimum=1, maximum=20, message="户均人数须为 1–20 的整数", load_default=None
    )
    allow_other_counties = Flag(
        load_default=True,
        metadata={"description": "other counties' county reserves may be drawn on (by order)"},
    )


# -- output --------------------------------------------------------------------------------


class ItemQuantitySchema(Schema):
    item = fields.String()
    item_name = fields.String()
    unit = fields.String()
    quantity = fields.Integer()


class PlanLineSchema(ItemQuantitySchema):
    category = fields.String()


class SendingDepotSchema(Schema):
    depot = fields.String()
    depot_name = fields.String()
    km = fields.Float()
    hours = fields.Float(metadata={"description": "loading plus driving"})
    estimated = fields.Boolean(metadata={"description": "no road in the table: estimated"})
    measures = fields.String(metadata=MEASURE)
    higher_level_pieces = fields.Integer(
        metadata={"description": "of which provincial or central reserve (needs their order)"}
    )
    items = fields.List(fields.Nested(ItemQuantitySchema))


class CategorySchema(Schema):
    category = fields.String()
    category_name = fields.String()
    measure = fields.String()
    standard = fields.String()


class WindowLineSchema(CategorySchema):
    needed = fields.Integer()
    arrived = fields.String(metadata=MEASURE)
    shortfall = fields.Integer()
    covered_percent = fields.Integer()
    depots = fields.List(fields.Nested(SendingDepotSchema))


class WindowSchema(Schema):
    hours = fields.Integer()
    lines = fields.List(fields.Nested(WindowLineSchema))


class ExternalSchema(CategorySchema):
    quantity = fields.Integer()


class ScenarioSourceSchema(Schema):
    depot = fields.String()
    depot_name = fields.String()
    km = fields.Float()
    drive_hours = fields.Float()
    hours = fields.Float()
    estimated = fields.Boolean()
    cut_off = fields.Boolean()
    reachable = fields.Boolean()


class ScenarioSchema(Schema):
    county = fields.String()
    county_name = fields.String()
    township = fields.String(allow_none=True)
    township_name = fields.String(allow_none=True)
    place_name = fields.String(metadata={"description": "the county, or county and township"})
    title = fields.String()
    preset = fields.String()
    hazard = fields.String(metadata={"enum": list(DisasterType.ALL)})
    relocated = fields.Integer()
    days = fields.Integer()
    household_size = fields.Integer()
    allow_other_counties = fields.Boolean()
    cut_off = fields.List(fields.String())
    computed_at = fields.DateTime()
    windows = fields.List(fields.Nested(WindowSchema))
    external = fields.List(
        fields.Nested(ExternalSchema),
        metadata={"description": "what the provincial and central reserves would have to send"},
    )
    plan = fields.List(
        fields.Nested(PlanLineSchema), metadata={"description": "pieces per item, all windows"}
    )
    sources = fields.List(fields.Nested(ScenarioSourceSchema))


# -- disaster reports ----------------------------------------------------------------------

_COUNT_FIELDS = ("people_affected", "people_relocated", "people_needing_aid")
_HOUSE_FIELDS = ("houses_collapsed", "houses_damaged")


def _figure_fields(*, defaults: bool) -> dict[str, fields.Field]:
    """Counts and losses; a new report defaults them to 0, a correction carries over what
    it does not give."""
    extra = {"load_default": 0} if defaults else {"load_default": None}
    money_extra = {"load_default": "0.00"} if defaults else {"load_default": None}
    out: dict[str, fields.Field] = {}
    for name in (*_COUNT_FIELDS, *_HOUSE_FIELDS):
        limit = MAX_REPORT_PEOPLE if name in _COUNT_FIELDS else MAX_HOUSES
        out[name] = JsonInt(minimum=0, maximum=limit, message=f"须为 0–{limit} 的整数", **extra)
    for name, label in LOSS_SECTORS.items():
        out[name] = Amount(metadata={"description": f"{label}损失（元）"}, **money_extra)
    return out


_EVENT_FIELDS = {
    "hazard": Text(16, blank=False, required=True, choices=DisasterType.ALL),
    "event_date": Day(required=True),
    "title": Text(128, blank=False, required=True),
    "note": Text(4000),
}

ReportCreateSchema = InputSchema.from_dict(
    {"county": Code(max_length=12), **_EVENT_FIELDS, **_figure_fields(defaults=True)},
    name="DisasterReportCreate",
)
ReportCorrectSchema = InputSchema.from_dict(
    {
        "hazard": Text(16, blank=False, choices=DisasterType.ALL, load_default=None),
        "event_date": Day(load_default=None),
        "title": Text(128, blank=False, load_default=None),
        "note": Text(4000, load_default=None),
        **_figure_fields(defaults=False),
    },
    name="DisasterReportCorrect",
)


class ReportQuerySchema(PageArgsSchema):
    year = QueryInt(minimum=1900, maximum=2999, message="年份须为四位数字", load_default=None)
    county = Code(required=False, max_length=12)
    state = Text(16, choices=ReportState.ALL, load_default=None)


class YearSchema(QuerySchema):
    year = QueryInt(minimum=1900, maximum=2999, message="年份须为四位数字", required=True)


class VerifyReportSchema(InputSchema):
    note = Text(500)


def _figures_out() -> dict[str, fields.Field]:
    out: dict[str, fields.Field] = {
        name: fields.Integer() for name in (*_COUNT_FIELDS, *_HOUSE_FIELDS)
    }
    out.update({name: MoneyText() for name in (*LOSS_SECTORS, "direct_loss")})
    return out


ReportSchema = Schema.from_dict(
    {
        "number": fields.String(),
        "version": fields.Integer(),
        "county": fields.String(),
        "county_name": fields.String(),
        "hazard": fields.String(),
        "hazard_label": fields.String(),
        "event_date": fields.Date(),
        "title": fields.String(),
        **_figures_out(),
        "note": fields.String(),
        "state": fields.String(metadata={"enum": list(ReportState.ALL)}),
        "state_label": fields.String(),
        "created_by": fields.String(allow_none=True),
        "created_at": fields.AwareDateTime(),
        "verified_by": fields.String(allow_none=True),
        "verified_at": fields.AwareDateTime(allow_none=True),
        "verification_note": fields.String(),
    },
    name="DisasterReport",
)


class ReportPageSchema(PageSchema):
    results = fields.List(fields.Nested(ReportSchema))


class ReportVersionsSchema(Schema):
    number = fields.String()
    versions = fields.List(fields.Nested(ReportSchema), metadata={"description": "newest first"})


CountyFiguresSchema = Schema.from_dict(
    {
        "county": fields.String(),
        "county_name": fields.String(),
        "reports": fields.Integer(),
        **_figures_out(),
    },
    name="CountyDisasterFigures",
)
TotalFiguresSchema = Schema.from_dict(
    {"reports": fields.Integer(), **_figures_out()}, name="DisasterFigures"
)


class AnnualFiguresSchema(Schema):
    year = fields.Integer()
    counties = fields.List(fields.Nested(CountyFiguresSchema))
    total = fields.Nested(TotalFiguresSchema)
    awaiting_verification = fields.Integer(
        metadata={"description": "reports filed but not yet verified (not counted)"}
    )


# -- coverage ------------------------------------------------------------------------------


class SuggestedTransferSchema(Schema):
    from_depot = fields.String()
    item = fields.String()
    item_name = fields.String()
    unit = fields.String()
    quantity = fields.Integer()
    measures = fields.String(metadata=MEASURE)
    hours = fields.Float()


class CoverageLineSchema(Schema):
    category = fields.String()
    category_name = fields.String()
    measure = fields.String()
    target = fields.Integer()
    held = fields.String(metadata=MEASURE)
    gap = fields.Integer()
    covered_percent = fields.Integer()
    transfer = fields.Nested(SuggestedTransferSchema, allow_none=True)


class CountyCoverageSchema(Schema):
    county = fields.String()
    county_name = fields.String()
    population_at_risk = fields.Integer()
    depot = fields.String(allow_none=True, metadata={"description": "the county's own depot"})
    short_categories = fields.Integer()
    lines = fields.List(fields.Nested(CoverageLineSchema))


class CoverageSchema(Schema):
    computed_at = fields.DateTime()
    share = fields.String(metadata={"description": "share of the people at risk supported"})
    days = fields.Integer()
    counties = fields.List(fields.Nested(CountyCoverageSchema))


# -- inspection and rotation ---------------------------------------------------------------


class RotationQuerySchema(QuerySchema):
    depot = Code(required=False)


class DueLotSchema(Schema):
    depot = fields.String()
    item = fields.String()
    item_name = fields.String()
    unit = fields.String()
    lot = fields.String()
    owner = fields.String()
    category = fields.String()
    expiry_date = fields.Date()
    days_left = fields.Integer()
    expired = fields.Boolean()
    quantity = fields.Integer()
    action = fields.String(metadata={"enum": ["rotate_out", "donate", "scrap"]})
    action_label = fields.String()
    replacement = fields.Integer(metadata={"description": "pieces to buy in its place"})


class InspectionDueSchema(Schema):
    depot = fields.String()
    category = fields.String()
    category_name = fields.String()
    last = fields.Date(allow_none=True)
    due_on = fields.Date()
    overdue_days = fields.Integer()
    never = fields.Boolean()


class RotationOverviewSchema(Schema):
    today = fields.Date()
    due = fields.List(fields.Nested(DueLotSchema))
    inspections = fields.List(fields.Nested(InspectionDueSchema))


class NewPlanSchema(InputSchema):
    depot = Code()


class RotationLineSchema(Schema):
    id = fields.Integer()
    item = fields.String()
    item_name = fields.String()
    unit = fields.String()
    lot = fields.String()
    owner = fields.String()
    expiry_date = fields.Date()
    quantity = fields.Integer()
    action = fields.String()
    action_label = fields.String()
    replacement = fields.Integer()
    document = fields.String(allow_none=True)
    done = fields.Boolean()


class RotationPlanSchema(Schema):
    number = fields.String()
    depot = fields.String()
    depot_name = fields.String()
    planned_on = fields.Date()
    state = fields.String(metadata={"enum": ["open", "done"]})
    state_label = fields.String()
    lines = fields.List(fields.Nested(RotationLineSchema))


class LineDoneSchema(InputSchema):
    document = Code(metadata={"description": "the CK/BF/LH/YK document that carried it out"})
    note = Text(500)


class InspectionSchema(InputSchema):
    depot = Code()
    category = Code()
    note = Text(500)
    on = Day(load_default=None, metadata={"description": "inspection day (default today)"})


class InspectionRecordSchema(Schema):
    depot = fields.String()
    category = fields.String()
    inspected_on = fields.Date()
    note = fields.String()


# -- the parameters the bureau edits -------------------------------------------------------

DECIMAL_OUT = {"pattern": r"^[0-9]+(\.[0-9]+)?$", "example": "0.5"}


class DecimalText(fields.String):
    """A measure on the way in: a JSON string of plain digits with at most ``places``
    decimals ("0.025", "36"). JSON numbers are refused (``1.5`` is a float to every JSON
    parser), and so are ``"1e3"``, signs and blanks; the service checks the range."""

    default_error_messages = {
        **MISSING_OR_NULL,
        "invalid": '须以字符串给出，如 "12.5"（不接受 JSON 数字）',
    }

    def __init__(self, digits: int, places: int, **kwargs: Any):
        self.shape = re.compile(rf"[0-9]{{1,{digits}}}(\.[0-9]{{1,{places}}})?")
        self.refusal = (
            f'须为最多 {digits} 位整数、{places} 位小数的数字文本，如 "12.5"'
            "（不接受指数、正负号或空格）"
        )
        metadata = {
            "pattern": f"^{self.shape.pattern}$",
            "example": "12.5",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not self.shape.fullmatch(text):
            raise ValidationError(self.refusal)
        return text


class PlainDecimal(fields.String):
    """A measure on the way out: the exact decimal without trailing zeros ("0.5", "36")."""

    def __init__(self, **kwargs: Any):
        super().__init__(metadata={**DECIMAL_OUT, **kwargs.pop("metadata", {})}, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format(Decimal(value).normalize(), "f")


def _days(label: str) -> fields.Integer:
    return JsonInt(
        minimum=1,
        maximum=3650,
        message="天数须为 1–3650 的整数",
        load_default=None,
        metadata={"description": f"{label}; omitted or null: none"},
    )


class StandardInputSchema(InputSchema):
    basis = Text(16, blank=False, required=True, choices=Basis.ALL)
    amount = DecimalText(
        5, 4, required=True, metadata={"description": "measures per person, household or day"}
    )
    measure = Text(16, blank=False, required=True, metadata={"example": "kg"})
    target_per_1000 = DecimalText(
        8,
        2,
        load_default=None,
        metadata={"description": "coverage target: measures per 1,000 people at risk"},
    )
    inspection_days = _days("inspection interval")
    rotation_days = _days("rotate out this many days before expiry")


class StandardRowSchema(Schema):
    category = fields.String()
    category_name = fields.String()
    basis = fields.String(metadata={"enum": list(Basis.ALL)})
    amount = PlainDecimal()
    measure = fields.String()
    target_per_1000 = PlainDecimal(allow_none=True)
    inspection_days = fields.Integer(allow_none=True)
    rotation_days = fields.Integer(allow_none=True)
    is_default = fields.Boolean(metadata={"description": "the built-in default: none set yet"})
    updated_at = fields.DateTime(allow_none=True)


class RoadInputSchema(InputSchema):
    depot = Code(metadata={"description": "depot or township stock point code"})
    county = Code(required=False, max_length=12, metadata={"description": "to the county seat"})
    township = Code(required=False, max_length=12, metadata={"description": "or to a township"})
    km = DecimalText(4, 1, required=True, metadata={"description": "road kilometres"})
    hours = DecimalText(
        3,
        1,
        load_default=None,
        metadata={"description": "driving hours; omitted or null: km at the truck speed"},
    )
    note = Text(255)


class RoadRowSchema(Schema):
    depot = fields.String()
    depot_name = fields.String()
    county = fields.String(allow_none=True)
    township = fields.String(allow_none=True)
    place_name = fields.String()
    km = PlainDecimal()
    hours = PlainDecimal(allow_none=True)
    note = fields.String()
    updated_at = fields.DateTime()


class RiskInputSchema(InputSchema):
    population_at_risk = JsonInt(
        minimum=0,
        maximum=100_000_000,
        message="受威胁人口须为 0–100000000 的整数",
        required=True,
    )


class RiskRowSchema(Schema):
    county = fields.String()
    county_name = fields.String()
    population_at_risk = fields.Integer(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
