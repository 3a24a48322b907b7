"""Schema pieces every API module shares: storable text, codes, quantities, amounts, dates,
booleans, paging, and the empty body of an action.

The strict rules themselves live in ``relief_inventory/inputs.py`` and ``money.py``, so the
API refuses exactly what the services refuse.

Input is refused here, naming the field, before a service or the database sees it:
PostgreSQL cannot store NUL characters and no driver can encode lone surrogates, so text
that contains them would otherwise surface as a server error.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from relief_inventory import inputs
from relief_inventory.errors import InvalidInput
from relief_inventory.idempotency import HEADER as IDEMPOTENCY_HEADER
from relief_inventory.idempotency import KEY_PATTERN as IDEMPOTENCY_KEY_PATTERN
from relief_inventory.idempotency import MAX_KEY as IDEMPOTENCY_MAX_KEY
from relief_inventory.money import AMOUNT_EXAMPLE, AMOUNT_OUT_PATTERN, AMOUNT_PATTERN, parse_amount
from relief_inventory.paging import MAX_PAGE, MAX_PER_PAGE
from relief_inventory.stock.lines import MAX_LINES
from relief_inventory.stock.models import MAX_QUANTITY
from relief_inventory.timeutil import format_local

MISSING_OR_NULL = {"required": "缺少必填字段", "null": "不能为 null"}


def unstorable(value: str) -> str | None:
    """Why the database could not store this text, or None when it can."""
    if "\x00" in value:
        return "不能包含 NUL（\\u0000）字符"
    if any("\ud800" <= char <= "\udfff" for char in value):
        return "包含无效的 Unicode 字符"
    return None


def path_text(value: str, field: str, max_length: int = 64) -> str:
    """The same rule for a value taken from the URL path (a document number)."""
    problem = unstorable(value) or (
        f"不能超过 {max_length} 个字符" if len(value) > max_length else None
    )
    if problem:
        raise InvalidInput(problem, field=field)
    return value


class InputSchema(Schema):
    """Request bodies and query strings; unknown body fields are refused (marshmallow RAISE)."""

    error_messages = {"unknown": "未知字段", "type": "须为 JSON 对象"}


class Text(fields.String):
    """Text the database can store, with surrounding blanks trimmed."""

    default_error_messages = {**MISSING_OR_NULL, "invalid": "须为文本"}

    def __init__(
        self, max_length: int, *, blank: bool = True, choices: tuple[str, ...] = (), **kwargs: Any
    ):
        rules: list[Any] = [
            validate.Length(
                min=0 if blank else 1,
                max=max_length,
                error=f"长度须为 {0 if blank else 1}–{max_length} 个字符",
            )
        ]
        if choices:
            rules.append(validate.OneOf(choices, error=f"须为 {'/'.join(choices)} 之一"))
        if blank and "required" not in kwargs and "load_default" not in kwargs:
            kwargs["load_default"] = ""
        super().__init__(validate=rules, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = unstorable(text)
        if problem:
            raise ValidationError(problem)
        return text.strip()


def Code(*, required: bool = True, max_length: int = 32, **kwargs: Any) -> Text:
    """A depot, item, category, county or owner code (never a database id)."""
    if not required:
        kwargs.setdefault("load_default", None)
    return Text(max_length, blank=False, required=required, **kwargs)


class Quantity(fields.Integer):
    """A whole number of pieces; JSON numbers only (no "5", no 5.0)."""

    default_error_messages = {**MISSING_OR_NULL, "invalid": "数量必须为整数"}

    def __init__(self, *, minimum: int = 1, **kwargs: Any):
        kwargs.setdefault("required", True)
        super().__init__(
            strict=True,
            validate=validate.Range(
                min=minimum, max=MAX_QUANTITY, error=f"数量须在 {minimum}–{MAX_QUANTITY} 之间"
            ),
            **kwargs,
        )


class Day(fields.Date):
    """A calendar date, exactly ``YYYY-MM-DD`` (not ``20261101``, not ``2027-W05-1``)."""

    default_error_messages = {**MISSING_OR_NULL, "invalid": inputs.DATE_MESSAGE}

    def __init__(self, **kwargs: Any):
        metadata = {"pattern": inputs.DATE_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        parsed = inputs.date_text(value)
        if parsed is None:
            raise self.make_error("invalid")
        return parsed


class Flag(fields.Boolean):
    """A JSON boolean: ``true`` or ``false``, never ``"false"``, ``0`` or ``1``."""

    default_error_messages = {**MISSING_OR_NULL, "invalid": inputs.FLAG_MESSAGE}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class QueryFlag(fields.Boolean):
    """A boolean in a query string: the text ``true`` or ``false`` exactly."""

    default_error_messages = {**MISSING_OR_NULL, "invalid": inputs.QUERY_FLAG_MESSAGE}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        parsed = inputs.query_flag(value)
        if parsed is None:
            raise self.make_error("invalid")
        return parsed


def JsonInt(*, minimum: int, maximum: int, message: str, **kwargs: Any) -> fields.Integer:
    """A whole number in a JSON body: a JSON integer (no ``"5"``, no ``5.0``, no ``true``)."""
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=minimum, max=maximum, error=message),
        error_messages={**MISSING_OR_NULL, "invalid": message},
        **kwargs,
    )


class QueryInt(fields.Integer):
    """A whole number in a query string: ASCII digits only (no sign, blank, ``1_000``, ``１``)."""

    default_error_messages = {**MISSING_OR_NULL, "invalid": inputs.QUERY_INT_MESSAGE}

    def __init__(self, *, minimum: int, maximum: int, message: str, **kwargs: Any):
        super().__init__(validate=validate.Range(min=minimum, max=maximum, error=message), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        parsed = inputs.query_int(value)
        if parsed is None:
            raise self.make_error("invalid")
        return parsed


class Lines(fields.List):
    """The lines of a document: at least one, at most the services' limit."""

    default_error_messages = {**MISSING_OR_NULL, "invalid": "须为明细数组"}

    def __init__(self, line_schema: type[Schema], **kwargs: Any):
        kwargs.setdefault("required", True)
        super().__init__(
            fields.Nested(
                line_schema, error_messages={**MISSING_OR_NULL, "type": "须为 JSON 对象"}
            ),
            validate=validate.Length(min=1, max=MAX_LINES, error=f"明细须为 1–{MAX_LINES} 行"),
            **kwargs,
        )


class QuerySchema(InputSchema):
    """A query string: every parameter optional or required, never null (a query string
    cannot say null; a missing parameter takes its default)."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.allow_none = False


class PageArgsSchema(QuerySchema):
    page = QueryInt(minimum=1, maximum=MAX_PAGE, message=f"须在 1–{MAX_PAGE} 之间", load_default=1)
    per_page = QueryInt(
        minimum=1, maximum=MAX_PER_PAGE, message=f"须在 1–{MAX_PER_PAGE} 之间", load_default=100
    )


class PageSchema(Schema):
    """The envelope of a paged list; subclasses add ``results``."""

    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class LocalTime(fields.Field):
    """The same moment as the UTC field beside it, shown in Asia/Shanghai for people."""

    def __init__(self, attribute: str, **kwargs: Any):
        super().__init__(attribute=attribute, dump_only=True, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return format_local(value) or None


class Coordinate(fields.Decimal):
    """Latitude or longitude as an exact string ("25.03000"), never a float."""

    PATTERN = r"^-?[0-9]{1,3}\.[0-9]{5}$"

    def __init__(self, **kwargs: Any):
        metadata = {"pattern": self.PATTERN, "example": "25.03000", **kwargs.pop("metadata", {})}
        super().__init__(places=5, as_string=True, metadata=metadata, **kwargs)


class MoneyText(fields.Decimal):
    """An amount on the way out: an exact two-place string ("1450.00"), never a float."""

    def __init__(self, **kwargs: Any):
        metadata = {
            "pattern": AMOUNT_OUT_PATTERN,
            "example": "1450.00",
            "description": "yuan, an exact decimal string with two places",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(places=2, as_string=True, metadata=metadata, **kwargs)


class Amount(fields.String):
    """An amount of yuan on the way in: a JSON string matching ``AMOUNT_PATTERN``, checked
    by ``money.parse_amount`` — the same rule the services apply. JSON numbers are refused:
    ``1450.0`` is a float to every JSON parser, and ``"1e3"`` is not how books are kept."""

    default_error_messages = {
        **MISSING_OR_NULL,
        "invalid": f"金额须以字符串给出，如 {AMOUNT_EXAMPLE}（不接受 JSON 数字）",
    }

    def __init__(self, **kwargs: Any):
        metadata = {"pattern": AMOUNT_PATTERN, "example": "1450.00", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_amount(text, attr or "amount")
        except InvalidInput as error:
            raise ValidationError(error.message) from None


class EmptySchema(InputSchema):
    """The body of an action that needs nothing: none at all, or ``{}``. Any field is
    refused (``{"approve": false}`` does not approve; it is a 422)."""


class IdempotencySchema(Schema):
    """The ``Idempotency-Key`` header of a creating POST (``relief_inventory/idempotency.py``)."""

    idempotency_key = fields.String(
        data_key=IDEMPOTENCY_HEADER,
        load_default=None,
        validate=validate.Length(
            max=IDEMPOTENCY_MAX_KEY, error=f"不能超过 {IDEMPOTENCY_MAX_KEY} 个字符"
        ),
        error_messages={"invalid": "须为文本"},
        metadata={
            "pattern": IDEMPOTENCY_KEY_PATTERN,
            "description": "a retry with the same key from the same user returns the document "
            "the first call made (200 instead of 201) and books nothing twice; the same key "
            "with a different body is a 409",
        },
    )


# Output fields whose JSON type differs from what apispec would guess from the Python type.
OPENAPI_FIELD_TYPES: tuple[tuple[type[fields.Field], str, str | None], ...] = (
    (Coordinate, "string", None),
    (MoneyText, "string", None),
)


class ErrorSchema(Schema):
    """Every error the API sends, from any route (for the OpenAPI document)."""

    code = fields.String(
        required=True,
        metadata={
            "description": "stable English code: bad_request, unauthenticated, forbidden, "
            "not_found, method_not_allowed, conflict, insufficient_stock, too_large, "
            "unsupported_media_type, invalid, too_many_requests, server_error"
        },
    )
    status = fields.Integer(required=True, metadata={"description": "the HTTP status"})
    message = fields.String(required=True, metadata={"description": "what went wrong, in Chinese"})
    request_id = fields.String(
        metadata={"description": "the request's id, as in the X-Request-ID header and the logs"}
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "field (as lines[0].quantity) -> messages; may be empty"},
    )
