"""The command line says when something is wrong: an interrupted seed, a database never
migrated or corrupt, a SQLite URL naming a file that does not exist."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from relief_inventory.checks import run_checks
from relief_inventory.cli import main
from relief_inventory.db import open_session
from relief_inventory.ops.marks import marked


def cli(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": url})


def test_an_operation_that_never_completed_fails_the_check(engine, db_url) -> None:
    with pytest.raises(RuntimeError), marked(engine, "seed"):
        raise RuntimeError("killed")
    with open_session(engine) as session:
        problems = [p for ps in run_checks(session).values() for p in ps]
    assert any("relief seed --if-empty" in p for p in problems)
    result = cli(db_url, "check")
    assert result.exit_code == 1 and "未完成" in result.output
    with marked(engine, "seed"):
        pass
    assert cli(db_url, "check").exit_code == 0


def test_missing_unmigrated_and_corrupt_databases_get_clear_messages(tmp_path) -> None:
    missing = tmp_path / "typo.db"
    url = f"sqlite:///{missing}"
    for args in (["check"], ["stock", "summary"], ["audit", "verify"]):
        result = cli(url, *args)
        assert result.exit_code == 2 and "relief init-db" in result.output, result.output
    assert not missing.exists()

    missing.touch()  # an empty file: a database with no schema
    result = cli(url, "check")
    assert result.exit_code == 1 and "relief init-db" in result.output
    result = cli(url, "stock", "summary")
    assert result.exit_code == 3 and "relief init-db" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database file at all " * 200)
    result = cli(f"sqlite:///{corrupt}", "check")
    assert result.exit_code == 3 and "损坏" in result.output
    assert isinstance(result.exception, SystemExit)

    assert cli(f"sqlite:///{tmp_path / 'new.db'}", "init-db").exit_code == 0
