"""Report periods as people write them: ``2024``, ``2024-06``, ``2024-Q2``,
``2024-03-01..2024-05-31``. Days are the bureau's calendar days (Asia/Shanghai); a period
is half-open, [start, end), so that periods next to each other never count a move twice.

Pure: no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from relief_inventory.errors import InvalidInput
from relief_inventory.timeutil import LOCAL_ZONE

MIN_YEAR, MAX_YEAR = 2000, 2100
_YEAR = re.compile(r"(\d{4})")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Period:
    start: date  # first day
    end: date  # the day after the last

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time(), LOCAL_ZONE)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, datetime.min.time(), LOCAL_ZONE)

    @property
    def label(self) -> str:
        if (self.start.month, self.start.day) == (1, 1) and self.end == date(
            self.start.year + 1, 1, 1
        ):
            return f"{self.start.year}年"
        return f"{self.start.isoformat()} 至 {self.last.isoformat()}"


def year_period(year: int, field: str = "year") -> Period:
    check_year(year, field)
    return Period(date(year, 1, 1), date(year + 1, 1, 1))


def check_year(year: int, field: str = "year") -> int:
    if not isinstance(year, int) or isinstance(year, bool) or not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"年份须在 {MIN_YEAR}–{MAX_YEAR} 之间", field=field)
    return year


def _month_end(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def parse_period(text: str, field: str = "period") -> Period:
    """One of the four forms above, or a 422 naming the field."""
    value = (text or "").strip() if isinstance(text, str) else ""
    try:
        if match := _YEAR.fullmatch(value):
            return year_period(int(match[1]), field)
        if match := _QUARTER.fullmatch(value):
            year, quarter = check_year(int(match[1]), field), int(match[2])
            return Period(date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter))
        if match := _MONTH.fullmatch(value):
            year, month = check_year(int(match[1]), field), int(match[2])
            return Period(date(year, month, 1), _month_end(year, month))
        if match := _RANGE.fullmatch(value):
            start, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            check_year(start.year, field)
            check_year(last.year, field)
            if last < start:
                raise InvalidInput("期间的结束日不能早于开始日", field=field)
            return Period(start, last + timedelta(days=1))
    except ValueError:
        pass
    raise InvalidInput("期间格式应为 2024、2024-06、2024-Q2 或 2024-03-01..2024-05-31", field=field)
