"""``relief audit head|export`` (verify is exercised in test_audit_tamper.py)."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from relief_inventory.audit.services import chain_head
from relief_inventory.cli import main
from tests.factories import build_world, receive_basic


@pytest.fixture
def world(engine):
    world = build_world(engine)
    receive_basic(world, 10)
    return world


def relief(db_url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": db_url})


def test_head_prints_seq_and_hash(world, engine, db_url):
    with Session(engine) as session:
        seq, digest = chain_head(session)
    assert relief(db_url, "audit", "head").stdout.strip() == f"{seq}:{digest}"


def test_export_writes_filtered_csv(world, engine, db_url, tmp_path):
    target = tmp_path / "moves.csv"
    result = relief(
        db_url,
        "audit", "export", "--entity-type", "stock_move", "--actor", "keeper_zx",
        "--since", "2020-01-01", "--until", "2999-12-31", "-o", str(target),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2  # tents and rice
    assert {row["entity_type"] for row in rows} == {"stock_move"}
    assert all(row["at"].endswith("+08:00") for row in rows)
    to_stdout = relief(db_url, "audit", "export", "--entity-type", "lot")
    assert to_stdout.exit_code == 0 and to_stdout.stdout.count("\n") == 3


def test_export_refuses_a_bad_time(world, db_url):
    result = relief(db_url, "audit", "export", "--since", "last week")
    assert result.exit_code == 2 and "since" in result.stderr
