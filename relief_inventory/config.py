"""Settings, read from environment variables only (twelve-factor style)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


def default_sqlite_url() -> str:
    """The embedded default: ``instance/relief.db`` under the working directory."""
    path = Path.cwd() / "instance" / "relief.db"
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    host: str
    port: int
    countersign_hours: int
    public_url: str  # where printed QR codes send a phone (the /verify page)
    authority: str  # the issuing authority printed on every paper
    notice_prefix: str  # 文号 prefix of fund release notices
    # Reverse proxies in front of the server whose X-Forwarded-For is trusted for the
    # client address (the login limits count per address): 0 when clients connect directly.
    proxy_hops: int
    # Operations (issue 13): see ``operations_from_env`` below and README's configuration.
    env: str = "development"
    log_level: str = "INFO"
    threads: int = 8
    processes: int = 1
    pool_size: int = 10
    max_body_bytes: int = 2 * 1024 * 1024
    lock_timeout: float = 15.0
    connection_limit: int = 1000
    channel_timeout: int = 60
    header_timeout: int = 10
    behind_tls: bool = False
    replica_url: str | None = None
    # Readiness: where no road distance is recorded, straight line × detour factor at the
    # assumed truck speed.
    detour_factor: Decimal = Decimal("1.5")
    truck_kmh: Decimal = Decimal("40")
    loading_hours: Decimal = Decimal("1")  # from the call to the trucks leaving

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "database_url": env.get("RELIEF_DATABASE_URL") or default_sqlite_url(),
            "secret_key": env.get("RELIEF_SECRET_KEY", DEV_SECRET),
            "host": env.get("RELIEF_HOST", "127.0.0.1"),
            "port": int(env.get("RELIEF_PORT", "5000")),
            "countersign_hours": int(env.get("RELIEF_COUNTERSIGN_HOURS", "24")),
            "authority": env.get("RELIEF_AUTHORITY", "楚雄州应急管理局"),
            "notice_prefix": env.get("RELIEF_NOTICE_PREFIX", "楚应急拨"),
            "proxy_hops": int(env.get("RELIEF_PROXY_HOPS", "0")),
            **operations_from_env(env),
            "detour_factor": Decimal(env.get("RELIEF_DETOUR_FACTOR", "1.5")),
            "truck_kmh": Decimal(env.get("RELIEF_TRUCK_KMH", "40")),
            "loading_hours": Decimal(env.get("RELIEF_LOADING_HOURS", "1")),
        }
        values.update(overrides)
        values.setdefault(
            "public_url",
            env.get("RELIEF_PUBLIC_URL") or f"http://{values['host']}:{values['port']}",
        )
        return cls(**values)  # type: ignore[arg-type]

    @property
    def production(self) -> bool:
        return self.env != "development"

    def require_safe(self) -> None:
        """Refuse to run outside development with the development secret: anyone could
        forge a session cookie with it."""
        if self.production and (not self.secret_key or self.secret_key == DEV_SECRET):
            raise ConfigError(
                f"RELIEF_ENV={self.env}: RELIEF_SECRET_KEY must be set to a long random value "
                '(python3 -c "import secrets; print(secrets.token_urlsafe(48))")'
            )


DEV_SECRET = "dev-only-change-me"


class ConfigError(RuntimeError):
    """Settings the server must not start with."""


def operations_from_env(env: os._Environ[str] | dict[str, str]) -> dict[str, object]:
    """The operations settings (issue 13); only those set are returned, so the dataclass
    defaults stay the one place defaults are written."""
    readers: dict[str, tuple[str, Callable[[str], object]]] = {
        "env": ("RELIEF_ENV", str),
        "log_level": ("RELIEF_LOG_LEVEL", str),
        "threads": ("RELIEF_WORKERS", int),
        "processes": ("RELIEF_PROCESSES", int),
        "pool_size": ("RELIEF_DB_POOL_SIZE", int),
        "max_body_bytes": ("RELIEF_MAX_BODY_BYTES", int),
        "lock_timeout": ("RELIEF_DB_LOCK_TIMEOUT", float),
        "connection_limit": ("RELIEF_CONNECTION_LIMIT", int),
        "channel_timeout": ("RELIEF_IDLE_TIMEOUT", int),
        "header_timeout": ("RELIEF_HEADER_TIMEOUT", int),
        "behind_tls": ("RELIEF_BEHIND_TLS", lambda v: v.lower() in ("1", "true", "yes")),
        "replica_url": ("RELIEF_REPLICA_URL", str),
    }
    return {key: kind(env[name]) for key, (name, kind) in readers.items() if env.get(name)}
