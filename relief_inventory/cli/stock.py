"""``relief stock``: what the depots hold, read from the quants."""

from __future__ import annotations

import csv
import io
import json

import click

from relief_inventory.cli import DomainAwareGroup, current_engine, main
from relief_inventory.cli.tables import render_table
from relief_inventory.db import open_session
from relief_inventory.stock.models import DocKind, DocState
from relief_inventory.stock.queries import (
    SUMMARY_LABELS,
    SUMMARY_STATUSES,
    DocumentFilters,
    StockSummary,
    document_detail,
    document_rows,
    stock_summary,
)
from relief_inventory.timeutil import format_local

FORMATS = ("table", "csv", "json")
DEPOT_HEADERS = ("编码", "仓库")
TOTAL = "合计"


@main.group(cls=DomainAwareGroup)
def stock() -> None:
    """Stock on hand in the depots."""


@stock.command("summary")
@click.option("--format", "output", type=click.Choice(FORMATS), default="table", show_default=True)
def summary(output: str) -> None:
    """Pieces on hand per depot and category, with row and column totals, and how many of
    them are usable, expired, quarantined or damaged today."""
    with open_session(current_engine()) as session:
        data = stock_summary(session)
    click.echo({"table": as_table, "csv": as_csv, "json": as_json}[output](data))


def _rows(data: StockSummary) -> list[list[object]]:
    """Depot rows then the total row: code, name, one cell per category, row total, then
    the row's pieces by status."""
    rows: list[list[object]] = [
        [
            code,
            name,
            *(data.cell(code, c) for c, _ in data.categories),
            data.depot_total(code),
            *(data.status(s, depot=code) for s in SUMMARY_STATUSES),
        ]
        for code, name in data.depots
    ]
    rows.append(
        [
            "",
            TOTAL,
            *(data.category_total(c) for c, _ in data.categories),
            data.total,
            *(data.status(s) for s in SUMMARY_STATUSES),
        ]
    )
    return rows


def _headers(data: StockSummary) -> list[str]:
    statuses = (SUMMARY_LABELS[s] for s in SUMMARY_STATUSES)
    return [*DEPOT_HEADERS, *(name for _, name in data.categories), TOTAL, *statuses]


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
                "by_status": {s: data.status(s, depot=code) for s in SUMMARY_STATUSES},
            }
            for code, name in data.depots
        ],
        "category_totals": {c: data.category_total(c) for c, _ in data.categories},
        "total": data.total,
        "status_totals": {s: data.status(s) for s in SUMMARY_STATUSES},
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


@stock.command("documents")
@click.option("--kind", type=click.Choice(DocKind.ALL), default=None)
@click.option("--state", type=click.Choice(DocState.ALL), default=None)
@click.option("--depot", default=None, help="Documents from or to this depot (code).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
def documents(kind: str | None, state: str | None, depot: str | None, limit: int) -> None:
    """Stock documents, newest first, with whether each was reversed or rejected."""
    with open_session(current_engine()) as session:
        page = document_rows(
            session, DocumentFilters(kind=kind, state=state, depot=depot), per_page=limit
        )
    rows = [
        [
            row["number"],
            DocKind.LABELS.get(row["kind"], row["kind"]),
            _state(row),
            row["depot"] or "",
            row["dest_depot"] or row["county"] or "",
            format_local(row["created_at"]),
            _reversal(row),
        ]
        for row in page.results
    ]
    headers = ["单号", "类型", "状态", "仓库", "去向", "制单时间", "冲销"]
    click.echo(render_table(headers, rows))
    click.echo(f"共 {page.total} 份")


@stock.command("show")
@click.argument("number")
def show(number: str) -> None:
    """One document: header, who did what, its reversal, moves, counted lines, holds."""
    with open_session(current_engine()) as session:
        doc = document_detail(session, number)
    click.echo(f"{doc['number']}  {DocKind.LABELS.get(doc['kind'], doc['kind'])}  {_state(doc)}")
    for label, value in (
        ("仓库", doc["depot"]),
        ("调入仓库", doc["dest_depot"]),
        ("县市", doc["county"]),
        ("调令文号", doc["authority_order"]),
        ("事由", doc["reason"]),
        ("冲销原单", doc["reverses"]),
        ("冲销", _reversal(doc)),
        ("制单", f"{doc['created_by']}  {format_local(doc['created_at'])}"),
        (
            "审核/完成",
            doc["validated_by"] and f"{doc['validated_by']}  {format_local(doc['done_at'])}",
        ),
        ("驳回", doc["rejected_by"]),
    ):
        if value:
            click.echo(f"  {label}：{value}")
    if doc["moves"]:
        click.echo(
            render_table(
                ["物资", "批次", "权属", "数量", "从", "到", "状态"],
                [
                    [
                        m["item"],
                        m["lot"],
                        m["owner"],
                        f"{m['quantity']:,}",
                        m["from_location"],
                        m["to_location"],
                        m["state"],
                    ]
                    for m in doc["moves"]
                ],
                ["<", "<", "<", ">", "<", "<", "<"],
            )
        )
    if doc["count_lines"]:
        click.echo(
            render_table(
                ["物资", "批次", "权属", "账面（录入时）", "实盘"],
                [
                    [
                        c["item"],
                        c["lot"],
                        c["owner"],
                        f"{c['system_quantity']:,}",
                        f"{c['counted_quantity']:,}",
                    ]
                    for c in doc["count_lines"]
                ],
                ["<", "<", "<", ">", ">"],
            )
        )
    held = [h for h in doc["holds"] if h["state"] == "held"]
    if held:
        click.echo(
            "  待审批占用："
            + "；".join(f"{h['item']} {h['lot']} {h['owner']} × {h['quantity']}" for h in held)
        )


def _state(row: dict) -> str:
    if row["state"] == DocState.CANCELLED and row.get("rejected_by"):
        return "已驳回"
    return DocState.LABELS.get(row["state"], row["state"])


def _reversal(row: dict) -> str:
    if row["reversed_by"]:
        return f"已冲销（{row['reversed_by']}）"
    if row["pending_reversal"]:
        return f"冲销待审批（{row['pending_reversal']}）"
    return ""
