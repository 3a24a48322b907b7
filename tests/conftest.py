"""Test databases: every database test runs on SQLite and on PostgreSQL.

The PostgreSQL cases need RELIEF_TEST_PG_URL; without it each one is reported as skipped
(never silently left out of the run), and with ``CI=true`` the run fails instead. Each run
migrates once into a template (a SQLite file, a PostgreSQL schema of its own) and each test
starts from a clean copy, so runs never interfere.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("RELIEF_SCRYPT_N", "1024")  # before the password module is imported

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from relief_inventory.bootstrap import init_database
from relief_inventory.db import make_engine
from relief_inventory.migrate import upgrade

PG_URL = os.environ.get("RELIEF_TEST_PG_URL", "")
BACKENDS = ["sqlite", "pg"]
IN_CI = os.environ.get("CI", "").lower() == "true"
NO_PG = "RELIEF_TEST_PG_URL is not set: PostgreSQL case skipped"


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError(
            "CI=true but RELIEF_TEST_PG_URL is not set (is PostgreSQL running?): every "
            "database test must also run on PostgreSQL in CI"
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    missing = sum(1 for report in skipped if NO_PG in str(report.longrepr))
    if missing:
        terminalreporter.write_line(
            f"PostgreSQL NOT TESTED: {missing} cases skipped (set RELIEF_TEST_PG_URL)",
            yellow=True,
            bold=True,
        )


def require_pg() -> None:
    """Skip a PostgreSQL case visibly when there is no PostgreSQL (fail under CI=true)."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but RELIEF_TEST_PG_URL is not set")
        pytest.skip(NO_PG)


def outside_sql(
    engine: Engine,
    *statements: str | tuple[str, dict[str, Any]],
    as_actor: str | None = None,
    **params: Any,
) -> None:
    """SQL from outside the application, in one transaction of its own: a DBAPI connection
    of the engine's pool, past every SQLAlchemy hook, as psql or a bulk tool would write.
    On PostgreSQL it names ``as_actor`` (``relief.actor``) if given. Parameters are ``:name``,
    shared (``params``) or per statement (``(sql, {...})``). Errors come as SQLAlchemy's."""
    postgres = engine.dialect.name == "postgresql"
    dbapi_error = engine.dialect.loaded_dbapi.Error
    connection = engine.raw_connection()
    sql = ""
    try:
        cursor = connection.cursor()
        if as_actor and postgres:
            cursor.execute("SELECT set_config('relief.actor', %(a)s, true)", {"a": as_actor})
        for statement in statements:
            sql, values = statement if isinstance(statement, tuple) else (statement, params)
            if postgres and values:
                sql = re.sub(
                    r"(?<![:\w]):(\w+)",
                    lambda m, names=values: f"%({m[1]})s" if m[1] in names else m[0],
                    sql.replace("%", "%%"),
                )
            cursor.execute(sql, values if values or not postgres else None)
        connection.commit()
    except dbapi_error as error:  # as SQLAlchemy would report it: DBAPIError and kin
        connection.rollback()
        raise DBAPIError.instance(sql, params, error, dbapi_error) from error
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()


def pg_schema_url(schema: str) -> str:
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    require_pg()
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(pg_schema_url(schema))
    upgrade(engine)
    engine.dispose()
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _clean_pg(engine: Engine) -> None:
    """Empty every table for the next test. The ledger refuses TRUNCATE (a statement
    trigger); the test harness, like a database superuser restoring a dump, runs it with
    triggers off (``session_replication_role = replica``), outside the application."""
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(tables)
    if names:
        outside_sql(
            engine,
            "SET LOCAL session_replication_role = replica",
            f"TRUNCATE {names} RESTART IDENTITY CASCADE",
        )


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated, initialised database URL on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "relief.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = pg_schema_url(request.getfixturevalue("pg_schema"))
        engine = make_engine(url)
        _clean_pg(engine)
        engine.dispose()
    engine = make_engine(url)
    init_database(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app(db_url: str):
    from relief_inventory.app import create_app
    from relief_inventory.config import Settings

    application = create_app(Settings.from_env(database_url=db_url))
    application.config["TESTING"] = True
    yield application
    application.extensions["relief_engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()
