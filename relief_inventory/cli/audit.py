"""The tamper-evident audit log: head, verify."""

from __future__ import annotations

import sys

import click
from sqlalchemy.orm import Session

from relief_inventory.audit.services import chain_head
from relief_inventory.audit.verify import verify
from relief_inventory.cli import DomainAwareGroup, current_engine, main

# -- audit ---------------------------------------------------------------------------------


@main.group(cls=DomainAwareGroup)
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("head")
def audit_head() -> None:
    """Print the latest sequence number and hash: publish it to detect rewriting later."""
    with Session(current_engine()) as session:
        seq, digest = chain_head(session)
    click.echo(f"{seq}:{digest}")


@audit.command("verify")
@click.option("--head", "head", default=None, help="A head printed earlier, as SEQ:HASH.")
@click.option("--chain-only", is_flag=True, help="Skip replaying the log against the tables.")
def audit_verify(head: str | None, chain_only: bool) -> None:
    """Walk the hash chain and replay it against the ledger; exit 1 at the first fault."""
    expected = None
    if head:
        seq_text, _, digest = head.partition(":")
        if not seq_text.isdigit() or len(digest) != 64:
            raise click.BadParameter("须为 SEQ:HASH 形式", param_hint="--head")
        expected = (int(seq_text), digest)
    with Session(current_engine()) as session:
        result = verify(session, expected_head=expected, check_rows=not chain_only)
    if result.ok:
        click.echo(
            f"审计日志完整：已核验 {result.entries} 条，链头 {result.head[0]}:{result.head[1]}"
        )
        return
    for problem in result.problems:
        click.echo(problem, err=True)
    sys.exit(1)
