"""Schemas for logging in."""

from marshmallow import Schema, fields, validate


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    days = fields.Integer(load_default=1, validate=validate.Range(min=1, max=366))


class TokenSchema(Schema):
    token = fields.String(metadata={"description": "Bearer token, shown only once"})
    prefix = fields.String()
    expires_at = fields.AwareDateTime()
