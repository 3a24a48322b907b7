"""Reports as Excel workbooks (openpyxl): one sheet per table, Chinese headers in a frozen
first row, real numbers with number formats, column widths that fit Chinese text, and
subtotals and totals as formulas (SUBTOTAL for grouped tables, so a grand total never
counts a subtotal twice) that the spreadsheet recomputes when someone corrects a cell.
"""

from __future__ import annotations

import io
import unicodedata
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.tables import HOURS, INT, MONEY, Report, Table

FORMATS = {INT: "#,##0", MONEY: "#,##0.00", HOURS: "0.0"}
HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
SUM_FILL = PatternFill("solid", fgColor="F2F2F2")
BOLD = Font(bold=True)
MAX_WIDTH = 60
INVALID_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def display_width(text: Any) -> int:
    """Columns a value takes on screen: Chinese characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _sheet_title(title: str, taken: set[str]) -> str:
    base = title.translate(INVALID_SHEET_CHARS)[:28] or "表"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


def _safe_text(value: Any) -> Any:
    """Text that starts like a formula is kept as text (a partner named "=cmd|...")."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _write_table(sheet: Worksheet, table: Table) -> None:
    columns = table.columns
    sheet.append([c.label for c in columns])
    for cell in sheet[1]:
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.freeze_panes = "A2"
    widths = [display_width(c.label) for c in columns]
    label_col = next((i for i, c in enumerate(columns) if not c.numeric), 0)
    function = "SUBTOTAL(9," if table.group_by else "SUM("
    first_data = 2
    for value, rows in table.groups():
        start = sheet.max_row + 1
        for row in rows:
            values = [row.get(c.key) for c in columns]
            sheet.append(
                [v if c.numeric else _safe_text(v) for v, c in zip(values, columns, strict=False)]
            )
            for i, v in enumerate(values):
                widths[i] = max(widths[i], display_width("" if v is None else v))
        end = sheet.max_row
        if table.group_by and table.has_totals:
            _sum_row(sheet, table, f"{value} 小计", label_col, function, start, end)
    if table.has_totals:
        _sum_row(sheet, table, table.total_label, label_col, function, first_data, sheet.max_row)
    for i, column in enumerate(columns, start=1):
        if column.numeric:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = FORMATS[column.kind]
        sheet.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, widths[i - 1] + 3)
    if table.note:
        sheet.cell(row=sheet.max_row + 2, column=1, value=table.note)


def _sum_row(
    sheet: Worksheet, table: Table, label: str, label_col: int, function: str, start: int, end: int
) -> None:
    row = sheet.max_row + 1
    for i, column in enumerate(table.columns, start=1):
        cell = sheet.cell(row=row, column=i)
        if column.total:
            letter = get_column_letter(i)
            cell.value = f"={function}{letter}{start}:{letter}{end})"
        elif i - 1 == label_col:
            cell.value = label
        cell.font, cell.fill = BOLD, SUM_FILL


def workbook(report: Report) -> Workbook:
    book = Workbook()
    summary = book.active
    summary.title = "概要"
    summary.append(["项目", "数值", "单位"])
    for cell in summary[1]:
        cell.font, cell.fill = BOLD, HEADER_FILL
    summary.freeze_panes = "A2"
    summary.append(["报表", report.title, ""])
    summary.append(["期间", report.period, ""])
    summary.append(["编制单位", report.authority, ""])
    for fact in report.facts:
        summary.append([fact.label, fact.value, fact.unit])
        if fact.kind in FORMATS:
            summary.cell(row=summary.max_row, column=2).number_format = FORMATS[fact.kind]
    for note in report.notes:
        summary.append(["说明", note, ""])
    widths = [max(display_width(c.value or "") for c in col) for col in summary.columns]
    for i, width in enumerate(widths, start=1):
        summary.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, width + 3)
    taken = {"概要"}
    for table in report.tables:
        _write_table(book.create_sheet(_sheet_title(table.title, taken)), table)
    book.properties.title = f"{report.title}（{report.period}）"
    book.properties.creator = report.authority
    return book


def xlsx_bytes(report: Report) -> bytes:
    buffer = io.BytesIO()
    workbook(report).save(buffer)
    return buffer.getvalue()
