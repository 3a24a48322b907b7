"""A report as data: facts and tables of typed columns, rendered to PDF and to Excel from
the same object, so the two formats can never disagree on a figure.

Tables may be grouped (a subtotal after each group, e.g. per depot); columns marked
``total`` are summed in subtotal and total rows. The Excel writer turns those sums into
formulas; the PDF prints the sums computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import Any

TEXT, INT, MONEY, HOURS = "text", "int", "money", "hours"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = TEXT
    total: bool = False
    wrap: bool = False  # long text that may wrap on paper; other cells stay on one line

    @property
    def numeric(self) -> bool:
        return self.kind != TEXT


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    group_by: str | None = None  # a column key: a subtotal row after each run of equal values
    # On paper, these columns move into a heading row above each group (Excel keeps them).
    group_columns: tuple[str, ...] = ()
    total_label: str = "合计"
    note: str = ""

    @property
    def paper_columns(self) -> list[Column]:
        return [c for c in self.columns if c.key not in self.group_columns]

    def group_heading(self, rows: list[dict[str, Any]]) -> str:
        return " ".join(str(rows[0][key]) for key in self.group_columns)

    def groups(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        if not self.rows:
            return []
        if self.group_by is None:
            return [(None, self.rows)]
        key = self.group_by
        return [(value, list(rows)) for value, rows in groupby(self.rows, lambda r: r[key])]

    def sums(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column in self.columns:
            if column.total:
                values = [r[column.key] for r in rows if r.get(column.key) is not None]
                start: Any = Decimal("0.00") if column.kind == MONEY else 0
                out[column.key] = sum(values, start=start)
        return out

    @property
    def totals(self) -> dict[str, Any]:
        return self.sums(self.rows)

    @property
    def has_totals(self) -> bool:
        return any(c.total for c in self.columns) and bool(self.rows)


@dataclass(frozen=True)
class Fact:
    label: str
    value: Any
    unit: str = ""
    kind: str = INT


@dataclass
class Report:
    name: str
    title: str
    period: str
    authority: str
    facts: list[Fact] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    landscape: bool = False

    def fact(self, label: str) -> Any:
        return next(f.value for f in self.facts if f.label == label)

    def table(self, title: str) -> Table:
        return next(t for t in self.tables if t.title == title)
