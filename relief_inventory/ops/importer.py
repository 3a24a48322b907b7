"""Master-data import for the initial load of a real prefecture: counties, owners,
categories, depots, townships, township stock points, items and users (without secrets)
from CSV or Excel.

Every row goes through the same service a person would use (``create_county``,
``create_depot``, ``create_item``, ``create_user`` + ``grant_role`` …), audited, inside one
unit of work, each row in a savepoint of its own so that one bad row does not hide the next
one's error. Every problem is collected with its sheet, row and column; if there is any,
the whole unit of work is rolled back: nothing is written. Users get a random password
nobody knows; an administrator sets each one with ``relief user password``.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from relief_inventory.auth import services as auth
from relief_inventory.errors import DomainError, InvalidInput
from relief_inventory.stock import catalog
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse import services as warehouse


@dataclass(frozen=True)
class Sheet:
    """One kind of master data: its columns and how a row becomes a service call."""

    name: str
    label: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    create: Callable[[UnitOfWork, dict[str, str]], None]
    # service field names that differ from the column they come from
    fields: dict[str, str] = field(default_factory=dict)


def _int_or_none(value: str, column: str) -> int | None:
    if value == "":
        return None
    try:
        number = Decimal(value)
    except ArithmeticError:
        number = Decimal("NaN")
    if not number.is_finite() or number != number.to_integral_value():
        raise InvalidInput("须为整数", field=column)
    return int(number)


TRUE = {"1", "true", "yes", "y", "是", "✓"}
FALSE = {"", "0", "false", "no", "n", "否"}


def _bool(value: str, column: str) -> bool:
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise InvalidInput("须为 1/0、true/false 或 是/否", field=column)


def _county(uow: UnitOfWork, row: dict[str, str]) -> None:
    warehouse.create_county(uow, row["code"], row["name"], row["lat"], row["lon"])


def _owner(uow: UnitOfWork, row: dict[str, str]) -> None:
    catalog.create_owner(uow, row["code"], row["name"], row["level"], row.get("county") or None)


def _category(uow: UnitOfWork, row: dict[str, str]) -> None:
    order = _int_or_none(row.get("sort_order", ""), "sort_order") or 0
    catalog.create_category(uow, row["code"], row["name"], order)


def _depot(uow: UnitOfWork, row: dict[str, str]) -> None:
    warehouse.create_depot(
        uow,
        code=row["code"],
        name=row["name"],
        county_code=row["county"],
        level=row["level"],
        lat=row["lat"],
        lon=row["lon"],
        address=row.get("address", ""),
        keeper_name=row.get("keeper_name", ""),
        keeper_phone=row.get("keeper_phone", ""),
    )


def _township(uow: UnitOfWork, row: dict[str, str]) -> None:
    warehouse.create_township(
        uow,
        row["code"],
        row["name"],
        row["county"],
        row["lat"],
        row["lon"],
        high_risk=_bool(row.get("high_risk") or "0", "high_risk"),
    )


def _point(uow: UnitOfWork, row: dict[str, str]) -> None:
    warehouse.create_point(
        uow,
        code=row["code"],
        name=row["name"],
        parent_code=row["parent"],
        township_code=row["township"],
        address=row.get("address", ""),
        keeper_name=row.get("keeper_name", ""),
        keeper_phone=row.get("keeper_phone", ""),
    )


def _item(uow: UnitOfWork, row: dict[str, str]) -> None:
    catalog.create_item(
        uow,
        code=row["code"],
        name=row["name"],
        unit=row["unit"],
        category_code=row["category"],
        unit_value=row["unit_value"],
        specification=row.get("specification", ""),
        shelf_life_days=_int_or_none(row.get("shelf_life_days", ""), "shelf_life_days"),
        tracking=row.get("tracking") or "lot",
        reusable=_bool(row.get("reusable", ""), "reusable"),
    )


def _user(uow: UnitOfWork, row: dict[str, str]) -> None:
    """``grants``: blank-separated ``role`` or ``role:SCOPE`` (keeper:ZX, requester:532322)."""
    auth.create_user(
        uow, row["username"], secrets.token_urlsafe(24), display_name=row.get("display_name", "")
    )
    for grant in row["grants"].split():
        role, _, scope = grant.partition(":")
        auth.grant_role(
            uow,
            row["username"],
            role,
            depot_code=scope if role == "keeper" else None,
            county_code=scope if role == "requester" else None,
        )


# In the order they depend on each other.
SHEETS: dict[str, Sheet] = {
    sheet.name: sheet
    for sheet in (
        Sheet("counties", "县市", ("code", "name", "lat", "lon"), (), _county),
        Sheet("owners", "储备权属", ("code", "name", "level"), ("county",), _owner),
        Sheet("categories", "物资类别", ("code", "name"), ("sort_order",), _category),
        Sheet(
            "depots",
            "储备库",
            ("code", "name", "county", "level", "lat", "lon"),
            ("address", "keeper_name", "keeper_phone"),
            _depot,
            {"depot": "code"},
        ),
        Sheet(
            "townships",
            "乡镇",
            ("code", "name", "county", "lat", "lon"),
            ("high_risk",),
            _township,
            {"township": "code"},
        ),
        Sheet(
            "points",
            "乡镇预置点",
            ("code", "name", "parent", "township"),
            ("address", "keeper_name", "keeper_phone"),
            _point,
            {"depot": "code"},
        ),
        Sheet(
            "items",
            "物资",
            ("code", "name", "category", "unit", "unit_value"),
            ("specification", "shelf_life_days", "tracking", "reusable"),
            _item,
        ),
        Sheet(
            "users",
            "用户",
            ("username", "grants"),
            ("display_name",),
            _user,
            {"role": "grants", "depot": "grants", "county": "grants"},
        ),
    )
}


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None  # as a spreadsheet numbers it (the header is row 1); None: the sheet
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"第 {self.row} 行" if self.row else "表头"
        column = f" {self.column} 列" if self.column else ""
        return f"{self.sheet}：{where}{column}：{self.message}"


@dataclass
class Table:
    sheet: Sheet
    source: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


class ImportRefused(InvalidInput):
    """Some rows are bad: nothing was imported."""

    def __init__(self, problems: list[Problem]):
        super().__init__(
            f"导入未执行：发现 {len(problems)} 处错误，未写入任何数据",
            errors={f"{p.sheet}[{p.row or 0}].{p.column or '_'}": [p.message] for p in problems},
        )
        self.problems = problems


# -- reading -------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A cell as text: Excel's numbers without a spurious ``.0`` (codes like 532301)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_tables(path: Path, kind: str | None = None) -> list[tuple[str, list[list[str]]]]:
    """(sheet name, rows of text) from a CSV file (its kind from ``kind`` or the file name)
    or from every sheet of an Excel workbook (its kind from the sheet's name)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            return [
                (
                    sheet.title,
                    [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)],
                )
                for sheet in workbook.worksheets
            ]
        finally:
            workbook.close()
    text = path.read_bytes().decode("utf-8-sig")  # Excel writes CSV with a BOM
    return [(kind or path.stem, [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text))])]


def parse(sources: Iterable[tuple[str, list[list[str]]]]) -> tuple[list[Table], list[Problem]]:
    tables: list[Table] = []
    problems: list[Problem] = []
    for name, rows in sources:
        sheet = SHEETS.get(name.strip().lower())
        if sheet is None:
            problems.append(
                Problem(name, None, None, f"未知的表：可用 {'、'.join(SHEETS)}（文件名或工作表名）")
            )
            continue
        header = [h.strip().lower() for h in (rows[0] if rows else [])]
        known = set(sheet.required) | set(sheet.optional)
        problems += [
            Problem(name, None, column, "未知的列") for column in header if column not in known
        ]
        problems += [
            Problem(name, None, column, "缺少必需的列")
            for column in sheet.required
            if column not in header
        ]
        body = []
        for number, values in enumerate(rows[1:], start=2):
            if not any(values):
                continue  # blank lines at the end of a sheet
            if len(values) > len(header):
                problems.append(Problem(name, number, None, "列数多于表头"))
                continue
            row = dict(zip(header, values + [""] * (len(header) - len(values)), strict=True))
            missing = [c for c in sheet.required if c in header and not row.get(c)]
            problems += [Problem(name, number, c, "不能为空") for c in missing]
            if not missing:
                body.append((number, row))
        tables.append(Table(sheet, name, header, body))
    order = list(SHEETS)
    tables.sort(key=lambda table: order.index(table.sheet.name))
    return tables, problems


# -- writing -------------------------------------------------------------------------------


@dataclass
class ImportReport:
    counts: dict[str, int]
    users: list[str]


def import_tables(uow: UnitOfWork, tables: list[Table], problems: list[Problem]) -> ImportReport:
    """Apply every row through the services; raise ``ImportRefused`` (so the unit of work
    rolls back) if any row or the parsing found a problem."""
    problems = list(problems)
    counts: dict[str, int] = {}
    users: list[str] = []
    for table in tables:
        for number, row in table.rows:
            try:
                with uow.savepoint():
                    table.sheet.create(uow, row)
            except DomainError as error:
                column = table.sheet.fields.get(error.field or "", error.field)
                problems.append(Problem(table.source, number, column, error.message))
                continue
            counts[table.sheet.name] = counts.get(table.sheet.name, 0) + 1
            if table.sheet.name == "users":
                users.append(row["username"])
    if problems:
        raise ImportRefused(problems)
    return ImportReport(counts, users)
