"""Strict input rules, written once for every door: the API's schemas, the services, the CLI.

A value is taken exactly as given or refused naming its field; nothing is stripped,
converted or guessed. Python's own parsers are far more forgiving than a bureau's books
may be — ``date.fromisoformat`` reads ``"20261101"`` and ``"2027-W05-1"``, ``int`` reads
``"１２"``, ``"1_000"`` and ``" 7 "`` — so each rule here is a regular expression over
ASCII first, and only then the parse. Money has its own module (``money.parse_amount``)
and follows the same idea.

JSON bodies carry booleans and integers as JSON values (``true``, ``12``); query strings
carry only text, so they have their own, equally strict spellings (``true``/``false``,
ASCII digits).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from relief_inventory.errors import InvalidInput

DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# A moment (audit filters): a date, 'T', hours and minutes, optional seconds and fraction,
# optional offset ('Z' or ±HH:MM).
MOMENT_PATTERN = (
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?"
    "(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
QUERY_INT_PATTERN = "^[0-9]{1,9}$"
# A plain non-negative decimal as text (measures, km, hours): digits, optionally a point and
# more digits; no sign, exponent, spaces or thousands separators ("1e3" is refused).
DECIMAL_PATTERN = "^[0-9]{1,12}([.][0-9]{1,6})?$"
QUERY_FLAGS = {"true": True, "false": False}

_DATE = re.compile(DATE_PATTERN.strip("^$"))
_QUERY_INT = re.compile(QUERY_INT_PATTERN.strip("^$"))
_MOMENT = re.compile(MOMENT_PATTERN.strip("^$"))
_DECIMAL = re.compile(DECIMAL_PATTERN.strip("^$"))

DATE_MESSAGE = "日期格式须为 YYYY-MM-DD（如 2025-06-01）"
FLAG_MESSAGE = "须为 JSON 布尔值 true 或 false"
QUERY_FLAG_MESSAGE = "须为 true 或 false"
INTEGER_MESSAGE = "须为 JSON 整数"
QUERY_INT_MESSAGE = "须为不带符号的十进制整数"


def is_decimal_text(value: str) -> bool:
    """Whether the text is a plain decimal (``DECIMAL_PATTERN``)."""
    return _DECIMAL.fullmatch(value) is not None


def date_text(value: str) -> date | None:
    """The date a ``YYYY-MM-DD`` text names, or None when it is not exactly that."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2025-02-30
        return None


def moment_text(value: str) -> datetime | None:
    """The moment an ISO 8601 text names (``MOMENT_PATTERN``; naive without an offset), or
    None when it is not spelled that way (``20250601T08``, ``2025-06-01 08:00``…)."""
    if not isinstance(value, str) or not _MOMENT.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # 25:00
        return None


def parse_date(value: Any, field: str) -> date:
    """A calendar date: a ``date`` (not a ``datetime``) or the text ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        raise InvalidInput("须为日期（YYYY-MM-DD），不是时间", field=field)
    if isinstance(value, date):
        return value
    parsed = date_text(value)
    if parsed is None:
        raise InvalidInput(DATE_MESSAGE, field=field)
    return parsed


def optional_date(value: Any, field: str) -> date | None:
    """``parse_date``, where leaving the date out (None, or an empty text) means none."""
    if value is None or value == "":
        return None
    return parse_date(value, field)


def parse_flag(value: Any, field: str) -> bool:
    """A boolean is True or False: not ``"false"`` (a true string), not 0 or 1."""
    if value is True or value is False:
        return value
    raise InvalidInput(FLAG_MESSAGE, field=field)


def parse_int(value: Any, field: str, *, minimum: int, maximum: int, message: str) -> int:
    """A whole number within a range: an ``int`` (never a bool, a float or a text)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(message or INTEGER_MESSAGE, field=field)
    if not minimum <= value <= maximum:
        raise InvalidInput(message, field=field)
    return value


def query_flag(value: str) -> bool | None:
    """``true`` or ``false`` exactly, or None for anything else."""
    return QUERY_FLAGS.get(value) if isinstance(value, str) else None


def query_int(value: str) -> int | None:
    """ASCII digits (at most nine), or None for anything else (signs, blanks, ``1_000``)."""
    if not isinstance(value, str) or not _QUERY_INT.fullmatch(value):
        return None
    return int(value)
