"""Database-level guards, installed by migrations: the last line behind the service layer.

- The audit log refuses UPDATE and DELETE (SQLite and PostgreSQL).
- A done stock move refuses UPDATE and DELETE: corrections are reversing documents.
- On PostgreSQL, ledger, money and dispatch tables refuse any write whose transaction did
  not say who is acting (``relief.actor``, set for every session with an actor), so raw SQL
  and bulk tools cannot quietly bypass the application and its audit entries.
- On PostgreSQL the same tables refuse TRUNCATE (a statement trigger: row triggers never see
  it). A new ledger table gets both with ``ledger_table``.
"""

from __future__ import annotations

from alembic import op

PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION relief_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION relief_guard_done_move() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.state <> 'draft' THEN
        RAISE EXCEPTION 'stock_move % is final: % refused', OLD.id, TG_OP;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION relief_require_actor() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('relief.actor', true), '') = '' THEN
        RAISE EXCEPTION 'writes to % must go through the application (relief.actor unset)',
            TG_TABLE_NAME;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


def _dialect() -> str:
    return op.get_bind().dialect.name


def install_functions() -> None:
    if _dialect() == "postgresql":
        op.execute(PG_FUNCTIONS)


def append_only(table: str) -> None:
    """Refuse every UPDATE and DELETE on ``table``."""
    if _dialect() == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION relief_refuse_change()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
        )


def final_once_done(table: str) -> None:
    """Rows may change only while ``state`` is 'draft', and are never deleted."""
    if _dialect() == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_final BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION relief_guard_done_move()"
        )
        return
    op.execute(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_final BEFORE UPDATE ON {table} WHEN OLD.state <> 'draft' "
        f"BEGIN SELECT RAISE(ABORT, '{table} row is final once done'); END"
    )


def require_actor(*tables: str) -> None:
    """PostgreSQL only: refuse writes from transactions that did not name their actor."""
    if _dialect() != "postgresql":
        return
    for table in tables:
        op.execute(
            f"CREATE TRIGGER {table}_require_actor BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION relief_require_actor()"
        )


def no_truncate(*tables: str) -> None:
    """PostgreSQL only: refuse TRUNCATE, which deletes every row without firing row triggers."""
    if _dialect() != "postgresql":
        return
    for table in tables:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION relief_refuse_change()"
        )


def ledger_table(*tables: str) -> None:
    """Every guard a table of the audited ledger needs beyond its own rules: the actor is
    required and TRUNCATE refused (PostgreSQL)."""
    require_actor(*tables)
    no_truncate(*tables)


def actor_guarded_tables() -> list[str]:
    """PostgreSQL: the tables of the current schema that carry the require-actor trigger."""
    rows = op.get_bind().exec_driver_sql(
        "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace "
        "AND t.tgname = c.relname || '_require_actor' ORDER BY c.relname"
    )
    return [name for (name,) in rows]


def drop_trigger(name: str, table: str) -> None:
    op.execute(
        f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if _dialect() == "postgresql" else "")
    )
