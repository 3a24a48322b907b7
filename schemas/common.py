"""Schema pieces every API module shares: storable text, codes, quantities, paging.

Input is refused here, naming the field, before a service or the database sees it:
PostgreSQL cannot store NUL characters and no driver can encode lone surrogates, so text
that contains them would otherwise surface as a server error.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from relief_inventory.errors import InvalidInput
from relief_inventory.money import parse_amount
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
    default_error_messages = {**MISSING_OR_NULL, "invalid": "日期格式须为 YYYY-MM-DD"}


class Flag(fields.Boolean):
    default_error_messages = {**MISSING_OR_NULL, "invalid": "须为 true 或 false"}


class Lines(fields.List):
    """The lines of a document: at least one, at most the services' limit."""

    default_error_messages = {**MISSING_OR_NULL, "invalid": "须为明细数组"}

    def __init__(self, line_schema: type[Schema], **kwargs: Any):
        kwargs.setdefault("required", True)
        super().__init__(
            fields.Nested(line_schema),
            validate=validate.Length(min=1, max=MAX_LINES, error=f"明细须为 1–{MAX_LINES} 行"),
            **kwargs,
        )


class PageNumber(fields.Integer):
    default_error_messages = {"invalid": "须为整数"}


class PageArgsSchema(InputSchema):
    page = PageNumber(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE, error=f"须在 1–{MAX_PAGE} 之间"),
    )
    per_page = PageNumber(
        load_default=100,
        validate=validate.Range(min=1, max=MAX_PER_PAGE, error=f"须在 1–{MAX_PER_PAGE} 之间"),
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


def Coordinate() -> fields.Decimal:
    """Latitude or longitude as an exact string ("25.03000"), never a float."""
    return fields.Decimal(places=5, as_string=True)


def MoneyText() -> fields.Decimal:
    """An amount as an exact two-place string ("1450.00"), never a float."""
    return fields.Decimal(places=2, as_string=True)


class Amount(fields.String):
    """An amount of yuan given as a string ("1450.00"): exact, two places, never a float."""

    default_error_messages = {**MISSING_OR_NULL, "invalid": '金额须以字符串给出，如 "1450.00"'}

    def __init__(self, **kwargs: Any):
        metadata = {"pattern": r"^\d{1,12}(\.\d{1,2})?$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_amount(text, attr or "amount")
        except InvalidInput as error:
            raise ValidationError(error.message) from None
