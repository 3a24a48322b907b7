"""The engine a server or command runs on, built from the settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from relief_inventory.config import ConfigError, Settings
from relief_inventory.db import engine_for, sqlite_file
from relief_inventory.ops import crashpoints


def engine_options(settings: Settings) -> dict[str, Any]:
    """Lock timeout, and a pool sized for the server's threads (each thread holds at most
    one connection; the overflow covers the odd request that opens a second)."""
    options: dict[str, Any] = {"lock_timeout": settings.lock_timeout}
    if settings.database_url.startswith("postgres") or sqlite_file(settings.database_url):
        options.update(pool_size=settings.pool_size, max_overflow=settings.pool_size // 2)
        options.update(pool_timeout=10)
    return options


def require_database_file(url: str) -> None:
    """A SQLite URL naming a file that does not exist is a mistake (a typo, a wrong working
    directory), not a wish for an empty database: only ``relief init-db`` creates one."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise ConfigError(
            f"SQLite 数据库文件不存在：{path}。请检查 RELIEF_DATABASE_URL，"
            "或先运行 relief init-db 创建数据库"
        )


def replica_engine(settings: Settings) -> Engine | None:
    """The streaming standby for reads that decide nothing (RELIEF_REPLICA_URL), if any."""
    if not settings.replica_url:
        return None
    return engine_for(settings.replica_url, **engine_options(settings))


def server_engine(settings: Settings) -> Engine:
    require_database_file(settings.database_url)
    crashpoints.install_from_env()
    return engine_for(settings.database_url, **engine_options(settings))
