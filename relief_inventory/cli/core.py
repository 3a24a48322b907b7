"""Database set-up, invariant checks and the production server."""

from __future__ import annotations

import sys

import click

from relief_inventory.bootstrap import init_database
from relief_inventory.checks import run_checks
from relief_inventory.cli import current_engine, main
from relief_inventory.db import open_session


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    engine = current_engine()
    init_database(engine)
    click.echo(f"数据库已就绪：{engine.url.render_as_string(hide_password=True)}")


@main.command("check")
def check() -> None:
    """Recompute every balance from the ledger; exit 1 naming each difference."""
    with open_session(current_engine()) as session:
        results = run_checks(session)
    failed = False
    for name, problems in results.items():
        click.echo(f"[{'通过' if not problems else '不符'}] {name}")
        for problem in problems:
            click.echo(f"    {problem}")
        failed = failed or bool(problems)
    sys.exit(1 if failed else 0)


@main.command("serve")
@click.option("--host", default=None, help="Default RELIEF_HOST or 127.0.0.1.")
@click.option("--port", default=None, type=int, help="Default RELIEF_PORT or 5000.")
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str | None, port: int | None, threads: int) -> None:
    """Serve the application with waitress (a production WSGI server)."""
    from waitress import serve as waitress_serve

    from relief_inventory.app import create_app
    from relief_inventory.config import Settings

    settings = Settings.from_env()
    app = create_app(settings)
    host, port = host or settings.host, port or settings.port
    click.echo(f"服务已启动：http://{host}:{port}/  （OpenAPI：/api/openapi.json）")
    waitress_serve(app, host=host, port=port, threads=threads)
