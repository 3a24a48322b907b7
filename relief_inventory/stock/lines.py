"""Reading operation input: each bad value is refused naming its field (``lines[2].quantity``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from relief_inventory import inputs
from relief_inventory.errors import InvalidInput
from relief_inventory.stock.models import MAX_QUANTITY
from relief_inventory.timeutil import utcnow

MAX_LINES = 500


def quantity(value: Any, field: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("数量必须为整数", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput("数量必须大于零", field=field)
    if value > MAX_QUANTITY:
        raise InvalidInput(f"数量超出上限 {MAX_QUANTITY}", field=field)
    return value


# The strict date and boolean rules (relief_inventory/inputs.py), under the names the
# services have always called them by.
optional_date = inputs.optional_date
flag = inputs.parse_flag


def text(value: Any, field: str, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput("须为文本", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput("不能为空", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"不能超过 {max_length} 个字符", field=field)
    return value


def line_list(lines: Any, field: str = "lines") -> list[Mapping[str, Any]]:
    if not isinstance(lines, Sequence) or isinstance(lines, str | bytes) or not lines:
        raise InvalidInput("至少需要一行明细", field=field)
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"明细不能超过 {MAX_LINES} 行", field=field)
    for index, line in enumerate(lines):
        if not isinstance(line, Mapping):
            raise InvalidInput("明细格式不正确", field=f"{field}[{index}]")
    return list(lines)


def moment(value: datetime | None, field: str = "at") -> datetime:
    """The business time of a document: now, or an earlier time the user states."""
    if value is None:
        return utcnow()
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput("业务时间须带时区", field=field)
    if value > utcnow() + timedelta(minutes=5):
        raise InvalidInput("业务时间不能晚于当前时间", field=field)
    return value
