"""The vocabulary of the planned 2024 history: documents, dates, numbers. Pure, no database."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from relief_inventory.timeutil import LOCAL_ZONE
from seed.reference import ItemRow

YEAR = 2024
VALID_THROUGH = date(YEAR, 12, 31)  # every lot stays usable through the whole history
MAX_LINES = 25  # lines per document, as on a paper form
LEVEL_RANK = {"county": 1, "prefecture": 2, "provincial": 3, "central": 4}
ORDER_FORMATS = {
    "central": "应急厅函〔2024〕{}号",
    "provincial": "云应急函〔2024〕{}号",
    "prefecture": "楚应急发〔2024〕{}号",
}

Key = tuple[str, str, str]  # (depot, item, owner): one balance, whatever its lots
Want = tuple[str, str, int]  # (item, owner, quantity) wanted out of a depot


@dataclass
class Step:
    """One document for the executor: which operation, when, with which explicit lines."""

    at: datetime
    kind: str  # receive, transfer, arrive, issue, scrap, count, rotate
    depot: str
    lines: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
    moves: int = 0  # done moves the document will post
    ref: int = 0  # links a transfer with its arrival
    mistake: bool = False  # first received with a typo, reversed, then received right


@dataclass
class Intent:
    """A document before lots are chosen: what it wants out of (or into) a depot."""

    at: datetime
    kind: str
    depot: str
    wants: list[Want] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)  # receipts, arrivals: concrete
    options: dict[str, Any] = field(default_factory=dict)
    ref: int = 0
    mistake: bool = False


class Numbering:
    """Lot numbers (unique per item) and the dispatch orders (调令) of each level."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lots: set[tuple[str, str]] = set()
        self.orders: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))

    def lot(self, item: ItemRow, produced: date) -> str:
        """Manufacturer batch numbers start with the production date, so they sort by age."""
        while True:
            number = f"{produced:%Y%m%d}-{self.rng.randrange(1000):03d}"
            if item.tracking == "serial":
                number = f"{produced:%Y%m%d}-SN{self.rng.randrange(100000):05d}"
            if (item.code, number) not in self.lots:
                self.lots.add((item.code, number))
                return number

    def order(self, level: str) -> str:
        return ORDER_FORMATS[level].format(next(self.orders[level]))


def split(total: int, weights: Sequence[float]) -> list[int]:
    """Largest-remainder split: the parts always add up to ``total`` exactly."""
    scale = sum(weights)
    raw = [total * w / scale for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def chunks(total: int, size: int, rng: random.Random) -> list[int]:
    """Cut ``total`` into pieces of about ``size`` (half to one and a half of it)."""
    parts = []
    while total > 0:
        take = min(total, max(1, round(size * rng.uniform(0.5, 1.5))))
        parts.append(take)
        total -= take
    return parts


def batched(rows: list[Any]) -> list[list[Any]]:
    return [rows[i : i + MAX_LINES] for i in range(0, len(rows), MAX_LINES)]


def day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def moment(rng: random.Random, day: date, first_hour: int = 9, last_hour: int = 17) -> datetime:
    """A time in office hours on ``day``, in the bureau's zone."""
    minute = rng.randrange(first_hour * 60, last_hour * 60)
    return datetime.combine(day, time(minute // 60, minute % 60), LOCAL_ZONE)
