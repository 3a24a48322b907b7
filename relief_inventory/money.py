"""Money as Decimal with exactly two places in Python, integer fen in the database.

SQLite has no exact decimal type (SQLAlchemy's Numeric would go through float there), so
every amount is stored as an integer number of fen and surfaces as ``Decimal('0.00')``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from relief_inventory.errors import InvalidInput

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000000000.00")  # 1e11 yuan: far above any relief budget


def parse_amount(value: Any, field: str = "amount", *, allow_zero: bool = False) -> Decimal:
    """Turn user input into an exact two-place Decimal, or refuse it naming the field.

    Floats are refused outright: 0.1 + 0.2 is how books stop tying out.
    """
    if isinstance(value, bool | float):
        raise InvalidInput("金额必须以字符串或十进制数给出，不接受浮点数", field=field)
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise InvalidInput("金额格式不正确", field=field) from None
    if not amount.is_finite():
        raise InvalidInput("金额格式不正确", field=field)
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidInput("金额最多保留两位小数", field=field)
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
