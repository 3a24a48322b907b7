"""Money as Decimal with exactly two places in Python, integer fen in the database.

SQLite has no exact decimal type (SQLAlchemy's Numeric would go through float there), so
every amount is stored as an integer number of fen and surfaces as ``Decimal('0.00')``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from relief_inventory.errors import InvalidInput

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000000000.00")  # 1e11 yuan: far above any relief budget
# What an amount looks like on the way in: ASCII digits, at most two decimals, no sign, no
# exponent, no blanks, no digit separators. The API publishes this very pattern.
AMOUNT_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
# What an amount looks like on the way out: always two decimals (a difference may be < 0).
AMOUNT_OUT_PATTERN = r"^-?[0-9]{1,15}\.[0-9]{2}$"
AMOUNT_EXAMPLE = '"1450.00"'
_AMOUNT = re.compile(AMOUNT_PATTERN.strip("^$"))


def parse_amount(value: Any, field: str = "amount", *, allow_zero: bool = False) -> Decimal:
    """Turn input into an exact two-place Decimal, or refuse it naming the field.

    Text must match ``AMOUNT_PATTERN`` as given: ``"1e6"``, ``"+100"``, ``" 100.00 "``,
    ``".5"``, ``"1_000"`` and full-width or Arabic-Indic digits are refused, although
    ``Decimal`` would read them all. Numbers are refused too — floats because 0.1 + 0.2
    is how books stop tying out, integers so that there is one spelling of an amount. A
    ``Decimal`` (from code, not from a user) is taken when it is finite with at most two
    places.
    """
    if isinstance(value, Decimal):
        if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
            raise InvalidInput("金额最多保留两位小数", field=field)
        amount = value
    elif isinstance(value, str):
        if not _AMOUNT.fullmatch(value):
            raise InvalidInput(
                f"金额格式不正确：须为不带符号的十进制数字，最多两位小数，如 {AMOUNT_EXAMPLE}",
                field=field,
            )
        amount = Decimal(value)
    else:
        raise InvalidInput(
            f"金额须以字符串给出，如 {AMOUNT_EXAMPLE}（不接受数字、浮点数）", field=field
        )
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput("金额必须大于零", field=field)
    if amount > MAX_AMOUNT:
        raise InvalidInput("金额超出允许范围", field=field)
    return amount.quantize(CENT)


def to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


class Money(TypeDecorator[Decimal]):
    """A column of integer fen that reads and writes two-place Decimals."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        if value != value.quantize(CENT):
            raise ValueError(f"money has more than two decimal places: {value}")
        return to_fen(value)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else from_fen(int(value))
