"""Where a database's schema stands against the migrations this code carries."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from relief_inventory.migrate import alembic_config


@cache
def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


@cache
def known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # None: no alembic_version table (never migrated)

    @property
    def at_head(self) -> bool:
        return self.revision == head_revision()

    @property
    def newer_than_code(self) -> bool:
        """A revision this code does not know: written by a newer release."""
        return self.revision is not None and self.revision not in known_revisions()

    def problem(self) -> str | None:
        """What an operator must do, in Chinese, or None when the schema is current."""
        if self.revision is None:
            return "数据库尚未初始化（没有数据库结构）：请先运行 relief init-db"
        if self.newer_than_code:
            return f"数据库结构版本 {self.revision} 比本程序新：请升级程序后再使用"
        if not self.at_head:
            return (
                f"数据库结构版本 {self.revision} 落后于程序（{head_revision()}）："
                "请运行 relief init-db 升级"
            )
        return None


def schema_state(bind: Engine | Connection) -> SchemaState:
    """Read ``alembic_version``; raises the driver's error if the database is unreachable."""
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return schema_state(connection)
    if not inspect(bind).has_table("alembic_version"):
        return SchemaState(None)
    return SchemaState(bind.execute(text("SELECT version_num FROM alembic_version")).scalar())
