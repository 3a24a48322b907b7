"""Operations commands: backup, restore, master-data import (issue 13)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from relief_inventory.cli import admin_run, current_engine, main
from relief_inventory.ops.backup import backup, describe_url, read_manifest, restore
from relief_inventory.ops.importer import (
    SHEETS,
    ImportRefused,
    ImportReport,
    Problem,
    Table,
    import_tables,
    parse,
    read_tables,
)
from relief_inventory.uow import UnitOfWork


@main.command("backup")
@click.option(
    "-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path)
)
def backup_command(output: Path) -> None:
    """Back up the database into one file (consistent while the server writes).

    The file records the schema revision and the audit chain head of the data it holds;
    publish the head next to the file (relief audit verify --head checks a restore)."""
    engine = current_engine()
    manifest = backup(engine, output)
    click.echo(
        f"备份完成：{output}（{manifest.size:,} 字节，{manifest.engine}，"
        f"结构版本 {manifest.revision}）\n审计链头：{manifest.head}"
    )


@main.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a database that holds data.")
def restore_command(backup_file: Path, force: bool) -> None:
    """Restore a backup into RELIEF_DATABASE_URL, then prove it: every relief check
    invariant, the audit chain up to the recorded head, the funds reconciliation."""
    manifest = read_manifest(backup_file)
    click.echo(
        f"恢复 {backup_file}（{manifest.created_at} 的备份，结构版本 {manifest.revision}，"
        f"审计链头 {manifest.head}）到 {describe_url(str(current_engine(create=True).url))}",
        err=True,
    )
    report = restore(current_engine(create=True), backup_file, force=force)
    if report.upgraded:
        click.echo("数据库结构已升级到本程序的版本", err=True)
    if not report.ok:
        click.echo("恢复失败：恢复后的数据未通过核验", err=True)
        for problem in report.problems:
            click.echo(f"    {problem}", err=True)
        sys.exit(1)
    click.echo(f"恢复完成并已核验：库存、预留、资金、审计链（链头 {manifest.head}）均一致")


@main.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--kind",
    type=click.Choice(list(SHEETS)),
    default=None,
    help="What a CSV file holds (default: its name, e.g. depots.csv).",
)
@click.option("--check", "check_only", is_flag=True, help="Validate every row, write nothing.")
def import_command(files: tuple[Path, ...], kind: str | None, check_only: bool) -> None:
    """Import master data (counties, owners, categories, depots, items, users) from CSV
    files or Excel workbooks (one sheet per kind): all rows or none."""
    sources = [table for path in files for table in read_tables(path, kind)]
    tables, problems = parse(sources)
    try:
        report = admin_run(lambda uow: _import(uow, tables, problems, check_only), "主数据导入")
    except _CheckOnly as done:
        report = done.report
    except ImportRefused as refused:
        for problem in refused.problems:
            click.echo(f"  {problem}", err=True)
        click.echo(f"错误：{refused.message}", err=True)
        sys.exit(2)
    summary = "、".join(f"{SHEETS[name].label} {count}" for name, count in report.counts.items())
    if check_only:
        click.echo(f"检查通过（未写入）：{summary or '无数据'}")
        return
    click.echo(f"已导入：{summary or '无数据'}")
    if report.users:
        click.echo(
            "导入的用户尚无可用密码，请逐个设置："
            + "、".join(report.users)
            + "（relief user password 用户名）"
        )


class _CheckOnly(Exception):
    def __init__(self, report: ImportReport):
        self.report = report


def _import(
    uow: UnitOfWork, tables: list[Table], problems: list[Problem], check_only: bool
) -> ImportReport:
    report = import_tables(uow, tables, problems)
    if check_only:
        raise _CheckOnly(report)  # rolls the unit of work back
    return report
