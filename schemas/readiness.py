"""Schemas of the readiness API: the scenario check asked and answered (codes, never ids;
measures as exact decimal strings)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from relief_inventory.allocation.models import DisasterType
from relief_inventory.readiness.check import MAX_DAYS, MAX_RELOCATED
from relief_inventory.readiness.presets import NAMES
from schemas.common import Code, Flag, InputSchema, JsonInt, Text

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
