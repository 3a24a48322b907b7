"""The ``relief`` command line: thin adapters, every write goes through the services.

Each module's commands live in their own file here and register on ``main``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from relief_inventory import attempts, transactions
from relief_inventory.auth.services import system_actor
from relief_inventory.config import ConfigError, Settings
from relief_inventory.db import engine_for
from relief_inventory.errors import DomainError
from relief_inventory.uow import UnitOfWork

T = TypeVar("T")


def current_engine(create: bool = False) -> Engine:
    """The configured database; a SQLite file that does not exist is refused unless the
    command is one that creates it (``init-db``, ``seed``)."""
    from relief_inventory.ops import crashpoints
    from relief_inventory.ops.engines import require_database_file

    url = Settings.from_env().database_url
    if not create:
        require_database_file(url)
    crashpoints.install_from_env()
    return engine_for(url)


def admin_uow(reason: str | None = None) -> UnitOfWork:
    """Administrative commands act as the ``system`` user (shell access is the credential)."""
    engine = current_engine()
    return UnitOfWork(engine, system_actor(engine), reason=reason)


def admin_run(work: Callable[[UnitOfWork], T], reason: str | None = None) -> T:
    """``work(uow)`` as the ``system`` user, done again if the database broke a deadlock
    with a server's transaction (``transactions.run``)."""
    engine = current_engine()
    return transactions.run(engine, system_actor(engine), work, reason=reason)


def fail(error: DomainError) -> None:
    where = f"（{error.field}）" if error.field else ""
    click.echo(f"错误{where}：{error.message}", err=True)
    sys.exit(2)


class DomainAwareGroup(click.Group):
    """Turns domain refusals into a message and exit status 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            if ctx.parent is None:  # the whole command line names what is attempted
                with attempts.attempting(" ".join(["relief", *sys.argv[1:]])):
                    return super().invoke(ctx)
            return super().invoke(ctx)
        except DomainError as error:
            fail(error)
            return None
        except ConfigError as error:
            click.echo(f"错误：{error}", err=True)
            sys.exit(2)
        except DBAPIError as error:
            if isinstance(error, IntegrityError | DataError):
                raise
            click.echo(f"错误：{database_trouble(error)}", err=True)
            sys.exit(3)


def database_trouble(error: DBAPIError) -> str:
    """What an operator should read instead of a driver's traceback."""
    detail = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    if isinstance(error, OperationalError) and "no such table" not in detail:
        return f"数据库无法访问或正忙（{detail}）：请检查 RELIEF_DATABASE_URL 与数据库服务"
    return (
        f"数据库结构缺失或文件已损坏（{detail}）：未初始化的库请运行 relief init-db，"
        "损坏的库请从备份恢复（relief restore）"
    )


@click.group(cls=DomainAwareGroup)
def main() -> None:
    """Relief-material inventory and relief-fund disbursement (楚雄州救灾物资与资金管理)."""


# Command modules register themselves on ``main`` when imported.
from relief_inventory.cli import (  # noqa: E402, F401
    audit,
    core,
    dispatch,
    doc,
    funds,
    ops,
    readiness,
    report,
    seed,
    stock,
    users,
)
