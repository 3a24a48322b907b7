"""Schemas for logging in."""

from marshmallow import Schema, fields, validate

from relief_inventory.auth.services import MAX_TOKEN_DAYS
from schemas.common import MISSING_OR_NULL, InputSchema, JsonInt


def _text(max_length: int, **kwargs: object) -> fields.String:
    """Taken as given (a login name is looked up exactly as typed, never trimmed)."""
    return fields.String(
        required=True,
        validate=validate.Length(min=1, max=max_length, error=f"长度须为 1–{max_length} 个字符"),
        error_messages={**MISSING_OR_NULL, "invalid": "须为文本"},
        **kwargs,  # type: ignore[arg-type]
    )


class LoginSchema(InputSchema):
    username = _text(64)
    password = _text(256, load_only=True)
    days = JsonInt(
        minimum=1,
        maximum=MAX_TOKEN_DAYS,
        message=f"有效天数须为 1–{MAX_TOKEN_DAYS} 的整数",
        load_default=1,
        metadata={"description": "days the token is valid (a JSON integer)"},
    )


class TokenSchema(Schema):
    token = fields.String(metadata={"description": "Bearer token, shown only once"})
    prefix = fields.String()
    expires_at = fields.AwareDateTime()
