"""The tamper-evident audit log: head, verify, export."""

from __future__ import annotations

import sys

import click

from relief_inventory.audit.csvfile import verify_csv
from relief_inventory.audit.queries import filters_from, iter_csv
from relief_inventory.audit.services import chain_head
from relief_inventory.audit.verify import parse_head, verify
from relief_inventory.cli import DomainAwareGroup, current_engine, main
from relief_inventory.db import open_session

# -- audit ---------------------------------------------------------------------------------


@main.group(cls=DomainAwareGroup)
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("head")
def audit_head() -> None:
    """Print the latest sequence number and hash: publish it to detect rewriting later."""
    with open_session(current_engine()) as session:
        seq, digest = chain_head(session)
    click.echo(f"{seq}:{digest}")


@audit.command("verify")
@click.option("--head", "head", default=None, help="A head printed earlier, as SEQ:HASH.")
@click.option("--chain-only", is_flag=True, help="Skip replaying the log against the tables.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Check an exported CSV file against its own hashes instead of the database.",
)
def audit_verify(head: str | None, chain_only: bool, csv_file: str | None) -> None:
    """Walk the hash chain and replay it against the ledger; exit 1 at the first fault.

    With --csv, check an export (`relief audit export`, GET /audit/export.csv): every
    entry hashes to what it says and consecutive entries link up."""
    expected = parse_head(head, "--head") if head else None
    if csv_file:
        _verify_csv(csv_file, expected)
        return
    with open_session(current_engine()) as session:
        result = verify(session, expected_head=expected, check_rows=not chain_only)
    if result.ok:
        click.echo(
            f"审计日志完整：已核验 {result.entries} 条，链头 {result.head[0]}:{result.head[1]}"
        )
        return
    for problem in result.problems:
        click.echo(problem, err=True)
    sys.exit(1)


def _verify_csv(path: str, expected: tuple[int, str] | None) -> None:
    with open(path, encoding="utf-8-sig", newline="") as lines:
        count, problems = verify_csv(lines, expected)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(1)
    click.echo(f"审计日志导出文件完整：已核验 {count} 条")


@audit.command("export")
@click.option("--entity-type", default=None, help="e.g. stock_move, lot, app_user.")
@click.option("--entity-id", default=None)
@click.option("--actor", default=None, help="Username.")
@click.option("--action", default=None, help="create, update, refused, login_failed, ...")
@click.option("--since", default=None, help="Inclusive; YYYY-MM-DD or ISO time (Shanghai).")
@click.option("--until", default=None, help="Exclusive; a bare date means through that day.")
@click.option("--number", default=None, help="A document, request or release number.")
@click.option("--item", default=None, help="An item code (its lots, moves and lines too).")
@click.option("--lot", default=None, help="A lot number (with --item: that item's lot).")
@click.option("-o", "--output", default="-", show_default=True, help="File, or - for stdout.")
def audit_export(output: str, **options: str | None) -> None:
    """Write matching entries as CSV (UTF-8, times in Asia/Shanghai with their offset)."""
    filters = filters_from(options)
    stream = sys.stdout.buffer if output == "-" else open(output, "wb")  # noqa: SIM115
    try:
        with open_session(current_engine()) as session:
            for chunk in iter_csv(session, filters):
                stream.write(chunk.encode("utf-8"))
    finally:
        stream.flush()
        if stream is not sys.stdout.buffer:
            stream.close()
