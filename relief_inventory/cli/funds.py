"""Relief funds on the command line: book sources and appropriations, list, trace, reconcile.

The release workflow needs three different people, so it lives in the API; the command line
acts as the ``system`` administrator.
"""

from __future__ import annotations

import sys
from decimal import Decimal

import click

from relief_inventory.auth.services import system_actor
from relief_inventory.cli import DomainAwareGroup, admin_run, current_engine, main
from relief_inventory.db import open_session
from relief_inventory.funds import queries
from relief_inventory.funds import services as fund_services
from relief_inventory.funds.models import FundKind, FundLevel, ReleaseState
from relief_inventory.funds.reconcile import Row, reconcile

MONEY_WIDTH = 18
ALL_ROWS = 100_000


def yuan(amount: Decimal | None) -> str:
    return "—".rjust(MONEY_WIDTH) if amount is None else f"{amount:,.2f}".rjust(MONEY_WIDTH)


@main.group(cls=DomainAwareGroup)
def funds() -> None:
    """Relief funds: sources, appropriations to counties, releases, reconciliation."""


@funds.command("add-source")
@click.option("--level", required=True, type=click.Choice(FundLevel.ALL))
@click.option("--kind", required=True, type=click.Choice(FundKind.ALL))
@click.option("--year", required=True, type=int)
@click.option("--document", "document_number", required=True, help="文号, e.g. 云财社〔2024〕12号")
@click.option("--amount", required=True, help='Yuan with at most two decimals, e.g. "19360000.00"')
@click.option("--title", default="")
@click.option("--issued-on", default=None, help="Date of the document, YYYY-MM-DD.")
def add_source(**options: object) -> None:
    """Book money received from a level of government."""
    source = admin_run(lambda uow: fund_services.create_source(uow, **options), "登记资金来源")  # type: ignore[arg-type]
    click.echo(f"已登记资金来源 {source.number}：{source.title} {source.amount:,.2f} 元")


@funds.command("appropriate")
@click.option("--source", required=True, help="Source number, e.g. ZJ-2024-000001")
@click.option("--county", required=True, help="County code, e.g. 532322")
@click.option("--document", "document_number", required=True, help="文号, e.g. 楚财社〔2024〕35号")
@click.option("--amount", required=True)
@click.option("--issued-on", default=None)
@click.option("--note", default="")
def appropriate(**options: object) -> None:
    """Issue part of a source to a county."""
    row = admin_run(lambda uow: fund_services.appropriate(uow, **options), "资金下达")  # type: ignore[arg-type]
    click.echo(f"已下达 {row.number}：{row.amount:,.2f} 元")


@funds.command("sources")
@click.option("--year", type=int, default=None)
def list_sources(year: int | None) -> None:
    """List fund sources with what has been appropriated from each."""
    engine = current_engine()
    actor = system_actor(engine)
    with open_session(engine) as session:
        page = queries.source_rows(
            session, actor, queries.SourceFilters(year=year), per_page=ALL_ROWS
        )
    for row in page.results:
        click.echo(
            f"{row['number']}  {row['document_number']:<18} {row['title']:<24}"
            f"{yuan(row['amount'])}{yuan(row['appropriated'] or Decimal('0.00'))}{_reversal(row)}"
        )


@funds.command("releases")
@click.option("--state", type=click.Choice(ReleaseState.ALL), default=None)
@click.option("--county", default=None)
def list_releases(state: str | None, county: str | None) -> None:
    """List releases (newest first)."""
    engine = current_engine()
    actor = system_actor(engine)
    with open_session(engine) as session:
        page = queries.release_rows(
            session,
            actor,
            queries.ReleaseFilters(state=state, county=county),
            per_page=ALL_ROWS,
        )
    for row in page.results:
        click.echo(
            f"{row['number']}  {row['county']} {row['county_name']:<6} "
            f"{ReleaseState.LABELS[row['state']]:<6}{yuan(row['amount'])}  "
            f"{row['beneficiaries']:>7} 人  {row['description']}{_reversal(row)}"
        )


def _reversal(row: dict) -> str:
    """已冲销 once a reversal took effect; 冲销待审批 while one waits for its second person."""
    if row["reversed_by"]:
        return f"  已冲销（{row['reversed_by']}）"
    if row.get("reversal_pending"):
        return f"  冲销待审批（{row['reversal_pending']}）"
    return ""


def _table(title: str, rows: list[Row], total: Row) -> None:
    click.echo(f"\n{title}")
    header = ("来源金额", "已下达", "已审批未拨付", "已拨付", "结余", "受益人数")
    click.echo(" " * 16 + "".join(h.rjust(MONEY_WIDTH - len(h)) for h in header))
    for row in [*rows, total]:
        click.echo(
            f"{row.key:<16}{yuan(row.amount)}{yuan(row.appropriated)}{yuan(row.committed)}"
            f"{yuan(row.released)}{yuan(row.balance)}"
            f"{row.beneficiaries:>{MONEY_WIDTH},}  {row.label}"
        )


@funds.command("reconcile")
@click.option("--year", type=int, default=None, help="Only sources of this budget year.")
def reconcile_command(year: int | None) -> None:
    """Per source, county, kind and level: amount, appropriated, released, balance.
    Exits 1 if any level does not tie out to the fen."""
    with open_session(current_engine()) as session:
        result = reconcile(session, year)
    click.echo(f"资金对账（{year or '全部'}年度，单位：元）")
    for title, rows in (
        ("按资金来源", result.by_source),
        ("按县市", result.by_county),
        ("按资金类别", result.by_kind),
        ("按资金层级", result.by_level),
    ):
        _table(title, rows, result.total)
    if result.ok:
        click.echo("\n[通过] 各层级合计一致，下达未超来源，拨付未超下达")
        return
    click.echo("\n[不符]")
    for problem in result.problems:
        click.echo(f"    {problem}")
    sys.exit(1)


@funds.command("trace")
@click.option("--item", default=None, help="Item code (with --lot).")
@click.option("--lot", default=None, help="Lot number (with --item).")
@click.option("--appropriation", default=None, help="Appropriation number.")
def trace(item: str | None, lot: str | None, appropriation: str | None) -> None:
    """Trace a lot back to the fund that bought it, or an appropriation forward to the
    materials it bought and the counties that received them."""
    if bool(item and lot) == bool(appropriation):
        raise click.UsageError("give either --item and --lot, or --appropriation")
    engine = current_engine()
    actor = system_actor(engine)
    with open_session(engine) as session:
        if appropriation:
            found = queries.trace_appropriation(session, actor, appropriation)
            click.echo(f"{found['number']}  {found['county_name']}  {found['amount']:,.2f} 元")
            click.echo(f"  来源 {found['source']} {found['source_document']}")
            receipts = found["purchases"]
        else:
            found = queries.trace_lot(session, actor, str(item), str(lot))
            click.echo(f"{found['item']} {found['item_name']} 批次 {found['lot']}")
            receipts = found["receipts"]
        for receipt in receipts:
            click.echo(f"  入库单 {receipt['receipt']}  {receipt['depot_name']}")
            for line in receipt.get("lines", []):
                click.echo(
                    f"    {line['item']} {line['item_name']} {line['lot']} × {line['quantity']}"
                )
            for fund in receipt.get("funds", []):
                click.echo(
                    f"    资金 {fund['appropriation']}（{fund['county_name']}）"
                    f"<- {fund['source']} {fund['source_document']}  {fund['amount']:,.2f} 元"
                )
        for place in found["destinations"]:
            click.echo(
                f"  发往 {place['county']} {place['county_name']}：{place['item']} "
                f"{place['lot']} × {place['quantity']}"
            )
