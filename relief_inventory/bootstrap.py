"""Bringing a database to a usable state: schema, system user, virtual locations."""

from __future__ import annotations

from sqlalchemy import Engine

from relief_inventory.auth.services import system_actor
from relief_inventory.migrate import upgrade
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.services import ensure_virtual_locations


def init_database(engine: Engine) -> None:
    """Idempotent: migrate to head, then create what every database needs once."""
    upgrade(engine)
    with UnitOfWork(engine, system_actor(engine), reason="初始化数据库") as uow:
        ensure_virtual_locations(uow)
