"""``relief stock``: what the depots hold, read from the quants."""

from __future__ import annotations

import csv
import io
import json

import click

from relief_inventory.cli import DomainAwareGroup, current_engine, main
from relief_inventory.cli.tables import render_table
from relief_inventory.db import open_session
from relief_inventory.stock.queries import StockSummary, stock_summary

FORMATS = ("table", "csv", "json")
DEPOT_HEADERS = ("编码", "仓库")
TOTAL = "合计"


@main.group(cls=DomainAwareGroup)
def stock() -> None:
    """Stock on hand in the depots."""


@stock.command("summary")
@click.option("--format", "output", type=click.Choice(FORMATS), default="table", show_default=True)
def summary(output: str) -> None:
    """Pieces on hand per depot and category, with row and column totals."""
    with open_session(current_engine()) as session:
        data = stock_summary(session)
    click.echo({"table": as_table, "csv": as_csv, "json": as_json}[output](data))


def _rows(data: StockSummary) -> list[list[object]]:
    """Depot rows then the total row: code, name, one cell per category, row total."""
    rows: list[list[object]] = [
        [code, name, *(data.cell(code, c) for c, _ in data.categories), data.depot_total(code)]
        for code, name in data.depots
    ]
    rows.append(["", TOTAL, *(data.category_total(c) for c, _ in data.categories), data.total])
    return rows


def _headers(data: StockSummary) -> list[str]:
    return [*DEPOT_HEADERS, *(name for _, name in data.categories), TOTAL]


def as_table(data: StockSummary) -> str:
    rows = [
        [f"{cell:,}" if isinstance(cell, int) else str(cell) for cell in row] for row in _rows(data)
    ]
    headers = _headers(data)
    align = ["<", "<", *(">" for _ in headers[2:])]
    return render_table(headers, rows[:-1], align, footer=rows[-1:])


def as_csv(data: StockSummary) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_headers(data))
    writer.writerows(_rows(data))
    return buffer.getvalue().rstrip("\n")


def as_json(data: StockSummary) -> str:
    document = {
        "categories": [{"code": code, "name": name} for code, name in data.categories],
        "depots": [
            {
                "code": code,
                "name": name,
                "on_hand": {c: data.cell(code, c) for c, _ in data.categories},
                "total": data.depot_total(code),
            }
            for code, name in data.depots
        ],
        "category_totals": {c: data.category_total(c) for c, _ in data.categories},
        "total": data.total,
    }
    return json.dumps(document, ensure_ascii=False, indent=2)
