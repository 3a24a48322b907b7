"""``relief report NAME``: the reports as PDF or Excel (stock, expiry, dispatch, funds,
annual). Run as the ``system`` user; each export is logged in the audit chain."""

from __future__ import annotations

from pathlib import Path

import click

from relief_inventory.auth.services import system_actor
from relief_inventory.cli import current_engine, main
from relief_inventory.config import Settings
from reports.catalog import FORMATS, NAMES, filename
from reports.exports import export_report


@main.command("report")
@click.argument("name", type=click.Choice(NAMES))
@click.option("--period", default=None, help="stock/dispatch: 2024, 2024-06, 2024-Q2, A..B")
@click.option("--year", type=int, default=None, help="funds/annual (default: last year)")
@click.option("--depot", default=None, help="stock/expiry: one depot's code")
@click.option("--county", default=None, help="dispatch: one county's code")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="expiry")
@click.option("--days", type=int, default=None, help="expiry: horizon (180); scenario: days")
@click.option("--preset", default=None, help="scenario: e.g. shuangbai-m6 (the default)")
@click.option("--relocated", type=int, default=None, help="scenario: people to relocate")
@click.option("--format", "fmt", type=click.Choice(tuple(FORMATS)), default="pdf")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def report(name: str, fmt: str, output: Path | None, **params: object) -> None:
    """Render report NAME, e.g. ``relief report annual --year 2024 --format xlsx -o y.xlsx``."""
    params = {k: v for k, v in params.items() if v is not None}
    if params.get("as_of") is not None:
        params["as_of"] = params["as_of"].date()  # type: ignore[union-attr]
    engine = current_engine()
    settings = Settings.from_env()
    actor = system_actor(engine)
    result, data = export_report(engine, actor, name, params, fmt, settings.authority)
    path = output or Path(filename(result, fmt, params))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    click.echo(f"已生成 {path}（{len(data) // 1024} KiB）")
    for fact in result.facts:
        click.echo(f"  {fact.label}：{_shown(fact.value)} {fact.unit}")


def _shown(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}" if not isinstance(value, str) else value
