"""Schemas of the audit log API and of ``GET /me``."""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.common import PageArgsSchema, PageSchema, QueryFlag, QuerySchema, Text


class AuditFilterSchema(QuerySchema):
    """Filters shared by the listing and the CSV export. Times: ISO 8601; without an
    offset they are Asia/Shanghai; a bare date as ``until`` includes that whole day."""

    entity_type = Text(
        64, metadata={"description": "an audited table (stock_move, lot, app_user…) or security"}
    )
    entity_id = Text(64)
    number = Text(
        32,
        metadata={
            "description": "a business number (RK-2025-000001, DB-…, ZF-…, XD-…, ZJ-…, CZ-…): "
            "entries about that document and the rows that belong to it"
        },
    )
    item = Text(32, metadata={"description": "an item code: the item, its lots, moves and lines"})
    lot = Text(64, metadata={"description": "a lot number (with item: that item's lot)"})
    actor = Text(64, metadata={"description": "username"})
    action = Text(64, metadata={"description": "create, update, refused, login_failed…"})
    since = Text(40, metadata={"description": "inclusive, e.g. 2025-06-01 or 2025-06-01T08:00"})
    until = Text(40, metadata={"description": "exclusive; a bare date means through that day"})


class AuditQuerySchema(AuditFilterSchema, PageArgsSchema):
    """Filters plus paging (newest entries first)."""


class AuditEntrySchema(Schema):
    seq = fields.Integer()
    at = fields.AwareDateTime(metadata={"description": "UTC"})
    at_local = fields.String(metadata={"description": "Asia/Shanghai, with its offset"})
    actor_id = fields.Integer(allow_none=True)
    actor = fields.String()
    action = fields.String()
    entity_type = fields.String()
    entity_id = fields.String()
    changes = fields.Dict(metadata={"description": "column: [old, new], or event details"})
    reason = fields.String(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


class AuditPageSchema(PageSchema):
    results = fields.List(fields.Nested(AuditEntrySchema))


class AuditHeadSchema(Schema):
    seq = fields.Integer()
    hash = fields.String()
    head = fields.String(metadata={"description": "SEQ:HASH, to publish and verify against"})


class VerifyQuerySchema(QuerySchema):
    head = Text(90, metadata={"description": "a head published earlier, SEQ:HASH"})
    chain_only = QueryFlag(load_default=False)


class VerificationSchema(Schema):
    ok = fields.Boolean()
    entries = fields.Integer()
    head = fields.String(metadata={"description": "SEQ:HASH of the last entry checked"})
    problems = fields.List(fields.String())


class GrantSchema(Schema):
    role = fields.String()
    depot = fields.String(allow_none=True)
    county = fields.String(allow_none=True)


class MeSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    depots = fields.List(fields.String(), metadata={"description": "keeper scope"})
    counties = fields.List(fields.String(), metadata={"description": "requester scope"})
    grants = fields.List(fields.Nested(GrantSchema))
