"""Settings, read from environment variables only (twelve-factor style)."""

from __future__ import annotations

import os
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
            "secret_key": env.get("RELIEF_SECRET_KEY", "dev-only-change-me"),
            "host": env.get("RELIEF_HOST", "127.0.0.1"),
            "port": int(env.get("RELIEF_PORT", "5000")),
            "countersign_hours": int(env.get("RELIEF_COUNTERSIGN_HOURS", "24")),
            "authority": env.get("RELIEF_AUTHORITY", "楚雄州应急管理局"),
            "notice_prefix": env.get("RELIEF_NOTICE_PREFIX", "楚应急拨"),
            "proxy_hops": int(env.get("RELIEF_PROXY_HOPS", "0")),
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
