"""Engines for SQLite (embedded default) and PostgreSQL (production), and the sessions on them.

SQLite runs in WAL mode with foreign keys on. Its driver's own transaction handling is
switched off so that a write transaction can start with ``BEGIN IMMEDIATE``: the write lock
is taken before anything is read, which is what makes check-then-write safe on SQLite.

Every session of the application comes from ``session_factory(engine)`` (or
``open_session``): the unit of work, API reads, the CLI, the seed and the back office. Who is
acting travels in ``session.info[ACTOR_KEY]``; the audit package's session hooks
(``audit/capture.py``) log every audited change a session flushes, append the entries when it
commits, and refuse audited changes from a session that names no actor.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

SQLITE_BEGIN_OPTION = "sqlite_begin"
# session.info keys: who is acting (an ``auth.actor.Actor``), and the default audit reason.
ACTOR_KEY = "relief_actor"
REASON_KEY = "relief_reason"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, lock_timeout: float = 60, **kwargs: Any) -> Engine:
    """``lock_timeout``: how long a SQLite write waits for another's lock before the
    database answers "locked" (the server turns that into 503). PostgreSQL gives up on an
    unreachable server after 10 s instead of the driver's forever."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, lock_timeout, **kwargs)
    if parsed.drivername in ("postgresql", "postgres"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_pre_ping", True)
    if "connect_timeout" not in parsed.query:
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 10)
    return create_engine(url, **kwargs)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None for PostgreSQL and in-memory databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _sqlite_engine(url: str, lock_timeout: float, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", lock_timeout)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


@cache
def engine_for(url: str, **options: Any) -> Engine:
    """One engine (and pool) per URL and options for the life of the process."""
    return make_engine(url, **options)


_FACTORIES: WeakKeyDictionary[Engine, sessionmaker[Session]] = WeakKeyDictionary()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """The one session factory per engine; hand it to anything that makes its own sessions
    (``scoped_session(session_factory(engine))`` for the back office). Objects stay loaded
    after commit: services return the rows they wrote."""
    factory = _FACTORIES.get(engine)
    if factory is None:
        factory = _FACTORIES[engine] = sessionmaker(engine, expire_on_commit=False)
    return factory


def open_session(engine: Engine, actor: Any = None, *, reason: str | None = None) -> Session:
    """A session from the factory; with ``actor`` it may write audited tables (its changes
    are logged as that actor's), without one it may only read them."""
    info = {ACTOR_KEY: actor, REASON_KEY: reason} if actor is not None else {}
    return session_factory(engine)(info=info)


def once_per_session(session: Session, key: Hashable, load: Callable[[], T | None]) -> T | None:
    """Memoise the lookup of a row by something that never changes (a code, the depot's main
    location) for the life of one session: a unit of work may carry thousands of document
    lines that each name their item, owner and depot. Misses are not remembered, and a row
    that is no longer persistent (added in a rolled-back savepoint) is looked up again."""
    memo = session.info.setdefault("once_per_session", {})
    row = memo.get(key)
    if row is None or not inspect(row).persistent:
        row = load()
        if row is not None:
            memo[key] = row
    return row
