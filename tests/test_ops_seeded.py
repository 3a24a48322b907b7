"""Operations on a seeded prefecture, one seed per backend for the whole module: on SQLite
the seed is first killed half-way and redone by ``seed --if-empty`` (as ``make run``
would), and the module's other tests run on the redone database."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from subprocess import CompletedProcess

import pytest
from sqlalchemy import func, select, text

from relief_inventory.db import make_engine, open_session
from relief_inventory.stock.models import Move
from tests.conftest import BACKENDS, PG_URL, pg_schema_url, require_pg
from tests.ops_tools import books_balance, relief


@dataclass
class Seeded:
    url: str
    backend: str
    killed: CompletedProcess | None = None  # the seed killed half-way (SQLite)
    moves_when_killed: int = 0
    check_after_kill: CompletedProcess | None = None
    redo: CompletedProcess | None = None


def _moves(url: str) -> int:
    engine = make_engine(url)
    with open_session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Move)) or 0
    engine.dispose()
    return count


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Seeded]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("ops-seed") / "relief.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        state = Seeded(f"sqlite:///{path}", "sqlite")
        state.killed = relief("seed", "--quiet", db_url=state.url, RELIEF_CRASH_AT="stock_move:2")
        state.moves_when_killed = _moves(state.url)
        state.check_after_kill = relief("check", db_url=state.url)
        state.redo = relief("seed", "--if-empty", "--quiet", db_url=state.url)
        assert state.redo.returncode == 0, state.redo.stderr[-3000:]
        yield state
        return
    require_pg()
    schema = f"ops_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    state = Seeded(pg_schema_url(schema), "pg")
    result = relief("seed", "--quiet", db_url=state.url)
    assert result.returncode == 0, result.stderr[-3000:]
    yield state
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_a_seed_killed_half_way_is_reported_and_redone(seeded: Seeded) -> None:
    if seeded.backend != "sqlite":
        pytest.skip("the interrupted seed is shown on SQLite (the marks are engine-neutral)")
    assert seeded.killed.returncode == -9, seeded.killed.stderr[-2000:]
    assert seeded.moves_when_killed > 0  # half a seed, which the ledger checks would accept
    assert seeded.check_after_kill.returncode == 1
    assert "relief seed --if-empty" in seeded.check_after_kill.stdout
    assert "重新写入" in seeded.redo.stderr and "217,300" in seeded.redo.stdout
    books_balance(seeded.url)
    again = relief("seed", "--if-empty", "--quiet", db_url=seeded.url)
    assert again.returncode == 0 and "跳过" in again.stdout
