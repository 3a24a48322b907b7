"""Settings, read from environment variables only (twelve-factor style)."""

from __future__ import annotations

import os
from dataclasses import dataclass
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
    # Reverse proxies in front of the server whose X-Forwarded-For is trusted for the
    # client address (the login limits count per address): 0 when clients connect directly.
    proxy_hops: int

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "database_url": env.get("RELIEF_DATABASE_URL") or default_sqlite_url(),
            "secret_key": env.get("RELIEF_SECRET_KEY", "dev-only-change-me"),
            "host": env.get("RELIEF_HOST", "127.0.0.1"),
            "port": int(env.get("RELIEF_PORT", "5000")),
            "countersign_hours": int(env.get("RELIEF_COUNTERSIGN_HOURS", "24")),
            "proxy_hops": int(env.get("RELIEF_PROXY_HOPS", "0")),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
