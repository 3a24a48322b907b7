"""``relief doc``: print documents as PDF, in batches too, and verify a printed one.

The command line prints as the ``system`` user (shell access is the credential); every
print is logged in the audit chain like the API's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from relief_inventory.auth.services import system_actor
from relief_inventory.cli import DomainAwareGroup, current_engine, main
from relief_inventory.config import Settings
from relief_inventory.db import open_session
from relief_inventory.errors import NotFound
from reports.papers import Letterhead, open_requests
from reports.pdfread import code_in_pdf
from reports.printing import PrintOptions, print_batch, print_count_sheet, print_document
from reports.verify import Status, summary, verify_code

Output = click.Path(dir_okay=True, path_type=Path)


@main.group(cls=DomainAwareGroup)
def doc() -> None:
    """Printed documents (PDF with a verifying QR code) and their verification."""


def _options() -> PrintOptions:
    return PrintOptions.from_settings(Settings.from_env())


def _write(data: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    click.echo(f"已生成 {path}（{len(data) // 1024} KiB）")


def _print_one(number: str, output: Path | None) -> None:
    engine = current_engine()
    data = print_document(engine, system_actor(engine), number, _options())
    _write(data, output or Path(f"{number}.pdf"))


@doc.command("allocation")
@click.argument("number", required=False)
@click.option("--all-open", is_flag=True, help="Every allocated or dispatched request.")
@click.option("-o", "--output", type=Output, help="File (one request) or folder (--all-open).")
@click.option("--workers", default=2, show_default=True, help="Rendering processes (batches).")
def allocation(number: str | None, all_open: bool, output: Path | None, workers: int) -> None:
    """救灾物资调拨单 of request NUMBER (DB-2025-000123), or of all open ones."""
    if bool(number) == all_open:
        raise click.UsageError("give either a request NUMBER or --all-open")
    if not all_open:
        _print_one(str(number), output)
        return
    engine = current_engine()
    actor = system_actor(engine)
    with open_session(engine) as session:
        numbers = open_requests(session, actor)
    directory = output or Path("allocation-orders")
    if not numbers:
        click.echo("没有已分配或在途的调拨申请")
        return
    with click.progressbar(length=len(numbers), label="打印调拨单") as bar:
        paths = print_batch(
            engine, actor, numbers, _options(), directory, workers=workers, progress=bar.update
        )
    click.echo(f"已生成 {len(paths)} 份调拨单：{directory}/")


@doc.command("note")
@click.argument("number")
@click.option("-o", "--output", type=Output)
def note(number: str, output: Path | None) -> None:
    """The note of stock document NUMBER (RK-, CK-, FY-, YK-, BF-, PD-, LH-, HS-, CX-…)."""
    _print_one(number, output)


@doc.command("release")
@click.argument("number")
@click.option("-o", "--output", type=Output)
def release(number: str, output: Path | None) -> None:
    """资金拨付通知 of an approved or paid release NUMBER (ZF-2024-000201)."""
    _print_one(number, output)


@doc.command("count-sheet")
@click.argument("depot")
@click.option("-o", "--output", type=Output)
def count_sheet(depot: str, output: Path | None) -> None:
    """A blank 盘点表 of DEPOT (book quantities, empty columns for the count)."""
    engine = current_engine()
    data = print_count_sheet(engine, system_actor(engine), depot, _options())
    _write(data, output or Path(f"盘点表-{depot}.pdf"))


@doc.command("verify")
@click.argument("pdf", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--code", default=None, help="A code as printed under the QR code instead.")
def verify(pdf: Path | None, code: str | None) -> None:
    """Does a printed PDF (or a code) still match the record? Exit 0 if it does, 1 if not."""
    if bool(pdf) == bool(code):
        raise click.UsageError("give either a PDF file or --code")
    if pdf is not None:
        code = code_in_pdf(pdf)
        if code is None:
            raise NotFound(f"{pdf} 中没有核验码（不是本系统打印的单据？）", field="pdf")
    settings = Settings.from_env()
    letterhead = Letterhead(settings.authority, settings.notice_prefix)
    with open_session(current_engine()) as session:
        result = verify_code(session, settings.secret_key, letterhead, str(code))
    click.echo(f"核验码 {result.code}：{result.status_label}")
    for change in result.changes:
        click.echo(f"  - {change}")
    if result.paper:
        shown = summary(result.paper)
        for label, value in shown["facts"]:
            click.echo(f"  {label}：{value}")
        click.echo(f"  明细 {len(shown['lines'])} 行")
    sys.exit(0 if result.status == Status.MATCHES else 1)
