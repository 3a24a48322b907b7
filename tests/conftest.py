"""Test databases: every database test runs on SQLite and, when RELIEF_TEST_PG_URL is set,
on PostgreSQL too. Each run migrates once into a template (a SQLite file, a PostgreSQL
schema of its own) and each test starts from a clean copy, so runs never interfere.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("RELIEF_SCRYPT_N", "1024")  # before the password module is imported

from sqlalchemy import Engine, text

from relief_inventory.bootstrap import init_database
from relief_inventory.db import make_engine
from relief_inventory.migrate import upgrade

PG_URL = os.environ.get("RELIEF_TEST_PG_URL", "")
BACKENDS = ["sqlite", "pg"] if PG_URL else ["sqlite"]


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
    if not PG_URL:
        pytest.skip("RELIEF_TEST_PG_URL is not set")
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
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(tables)
        if names:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


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
