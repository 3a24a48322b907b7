"""Database set-up, invariant checks and the production server."""

from __future__ import annotations

import sys

import click

from relief_inventory.bootstrap import init_database
from relief_inventory.checks import run_checks
from relief_inventory.cli import current_engine, main
from relief_inventory.db import open_session
from relief_inventory.ops.schema import schema_state


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    engine = current_engine(create=True)
    init_database(engine)
    click.echo(f"数据库已就绪：{engine.url.render_as_string(hide_password=True)}")


@main.command("check")
def check() -> None:
    """Recompute every balance from the ledger; exit 1 naming each difference."""
    engine = current_engine()
    problem = schema_state(engine).problem()
    if problem:
        click.echo(f"[不符] 数据库结构\n    {problem}")
        sys.exit(1)
    with open_session(engine) as session:
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
@click.option("--threads", default=None, type=int, help="Default RELIEF_WORKERS or 8.")
def serve(host: str | None, port: int | None, threads: int | None) -> None:
    """Serve the application with waitress (a production WSGI server), JSON-lines logs."""
    import dataclasses

    from relief_inventory.app import create_app
    from relief_inventory.config import ConfigError, Settings
    from relief_inventory.ops.logs import configure_logging
    from relief_inventory.ops.serving import serve as serve_forever

    settings = Settings.from_env()
    if threads:
        settings = dataclasses.replace(settings, threads=threads)
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except ConfigError as error:
        click.echo(f"无法启动：{error}", err=True)
        sys.exit(2)
    host, port = host or settings.host, port or settings.port
    click.echo(
        f"服务已启动：http://{host}:{port}/  （OpenAPI：/api/openapi.json，"
        f"{settings.processes} 个进程 × {settings.threads} 个工作线程，环境 {settings.env}）",
        err=True,
    )
    serve_forever(app, settings, host, port)
