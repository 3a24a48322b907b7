"""The audit log searched by business number, item and lot; unknown entity types refused;
refusals naming what was attempted; the CSV export escaped reversibly and checkable
against its hashes (``relief audit verify --csv``). SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from relief_inventory.audit.csvfile import csv_cell, read_cell, verify_csv
from relief_inventory.audit.models import AuditEntry
from relief_inventory.audit.queries import AuditFilters, filtered, filters_from, iter_csv
from relief_inventory.auth import services as auth
from relief_inventory.cli import main
from relief_inventory.errors import InvalidInput, NotFound
from relief_inventory.stock import services as stock
from tests.factories import bearer, build_world, file_dispatch_request, receive_basic

TRIGGERS = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    "＝1",
    "＋1",
    "－1",
    "＠x",
    " =1",
    "\t=1",
    "\r=1",
    "\n=1",
    "'quoted",
    "\u3000x",
]


@pytest.fixture
def world(engine):
    world = build_world(engine)
    receive_basic(world, 10)
    return world


def found(engine, **filters) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(filtered(filters_from(filters), session=session)))


def relief(db_url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": db_url})


# -- searching -----------------------------------------------------------------------------


def test_search_by_document_number_finds_the_document_and_its_moves(world, engine):
    number = receive_basic(world, 5, depot="SB")
    entries = found(engine, number=number)
    kinds = {entry.entity_type for entry in entries}
    assert kinds == {"stock_document", "stock_move"}
    assert sum(e.entity_type == "stock_move" for e in entries) == 2  # tents and rice


def test_search_by_request_number_finds_its_lines_and_transitions(world, engine):
    number = file_dispatch_request(world, [{"item": "TENT-12", "quantity": 2}])
    entries = found(engine, number=number)
    assert {e.entity_type for e in entries} == {"dispatch_request", "dispatch_line"}
    assert "dispatch_submitted" in {e.action for e in entries}


def test_search_by_item_and_by_lot(world, engine):
    by_item = found(engine, item="RICE-10")
    assert {e.entity_type for e in by_item} >= {"item", "lot", "stock_move"}
    by_lot = found(engine, item="TENT-12", lot="T-ZX-1")
    assert {e.entity_type for e in by_lot} == {"lot", "stock_move"}
    assert found(engine, lot="T-ZX-1") == by_lot  # lot numbers alone, across items
    assert found(engine, item="TENT-12", lot="T-ZX-1", action="create")


@pytest.mark.parametrize(
    ("filters", "error", "field"),
    [
        ({"entity_type": "stock_moves"}, InvalidInput, "entity_type"),
        ({"entity_type": "x" * 500}, InvalidInput, "entity_type"),
        ({"number": "RK-2020-999999"}, NotFound, "number"),
        ({"item": "NOPE"}, NotFound, "item"),
        ({"lot": "NOPE"}, NotFound, "lot"),
        ({"since": "20250601"}, InvalidInput, "since"),
        ({"since": "2025-06-01 08:00"}, InvalidInput, "since"),
    ],
)
def test_bad_search_filters_are_refused(world, engine, filters, error, field):
    with pytest.raises(error) as refused:
        found(engine, **filters)
    assert refused.value.field == field


def test_the_api_searches_by_number_and_refuses_unknown_types(client, app):
    world = build_world(app.extensions["relief_engine"])
    number = receive_basic(world, 3)
    headers = bearer(world, "auditor")
    listed = client.get(f"/api/v1/audit?number={number}", headers=headers).json
    assert listed["total"] == 4  # the receipt (created, then done) and its two moves
    assert client.get("/api/v1/audit?entity_type=nope", headers=headers).status_code == 422
    assert client.get("/api/v1/audit?number=XX-1", headers=headers).status_code == 404
    exported = client.get(f"/api/v1/audit/export.csv?number={number}", headers=headers)
    assert exported.get_data(as_text=True).count("\r\n") == 5
    missing = client.get("/api/v1/audit/export.csv?item=NOPE", headers=headers)
    assert missing.status_code == 404 and missing.json["code"] == "not_found"


# -- refusals name what was attempted ------------------------------------------------------


def test_a_refused_entry_names_what_was_attempted(client, app):
    world = build_world(app.extensions["relief_engine"])
    number = receive_basic(world, 3)
    headers = bearer(world, "keeper_sb")
    response = client.post(
        f"/api/v1/documents/{number}/reverse", json={"reason": "试试"}, headers=headers
    )
    assert response.status_code == 403
    (entry,) = found(app.extensions["relief_engine"], action="refused", actor="keeper_sb")
    changes = json.loads(entry.changes)
    assert changes["attempted"] == f"POST /api/v1/documents/{number}/reverse"
    assert changes["code"] == "forbidden" and changes["message"]


# -- the CSV export ------------------------------------------------------------------------


@pytest.mark.parametrize("text", TRIGGERS)
def test_every_formula_trigger_is_escaped(text):
    cell = csv_cell(text)
    assert cell.startswith("'") and read_cell(cell) == text


@given(st.text(max_size=30) | st.none())
def test_the_escape_is_reversible(text):
    cell = csv_cell(text)
    assert read_cell(cell) == text
    if cell:
        assert cell[0] not in "=+-@＝＋－＠" and not cell[0].isspace()


def _export(engine, **filters) -> str:
    with Session(engine) as session:
        return "".join(iter_csv(session, filters_from(filters)))


def test_an_exported_log_with_hostile_text_still_verifies(world, engine, db_url, tmp_path):
    for name in TRIGGERS:  # typed as user names at login: logged, then exported
        with pytest.raises(auth.Unauthenticated):
            auth.authenticate(engine, name, "x", client="198.51.100.1")
    with world.uow("keeper_zx", reason="\t=cmd|' /C calc'!A0") as uow:
        stock.receive(uow, depot="ZX", lines=[{"item": "TENT-12", "lot": "=A1", "quantity": 1}])
    text = _export(engine)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    for row in rows:
        for cell in row[3:9]:
            assert not cell or cell[0] not in "=+-@＝＋－＠\t\r\n "
    assert verify_csv(io.StringIO(text)) == (len(rows), [])
    path = tmp_path / "audit.csv"
    path.write_text(text, encoding="utf-8")
    result = relief(db_url, "audit", "verify", "--csv", str(path))
    assert result.exit_code == 0 and f"已核验 {len(rows)} 条" in result.output
    head = relief(db_url, "audit", "head").stdout.strip()
    assert relief(db_url, "audit", "verify", "--csv", str(path), "--head", head).exit_code == 0


def _write(path, header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")
    return str(path)


def test_a_tampered_export_is_found(world, engine, db_url, tmp_path):
    header, *rows = list(csv.reader(io.StringIO(_export(engine).lstrip("\ufeff"))))
    forged = [list(row) for row in rows]
    forged[2][3] = "someone_else"  # the actor of entry 3
    result = relief(db_url, "audit", "verify", "--csv", _write(tmp_path / "f.csv", header, forged))
    assert result.exit_code == 1 and "第 3 条" in result.stderr
    gap = [*rows[:2], *rows[3:]]  # a gap may be a filter: the entries still hash right
    assert (
        relief(
            db_url, "audit", "verify", "--csv", _write(tmp_path / "g.csv", header, gap)
        ).exit_code
        == 0
    )
    swapped = [rows[0], rows[2], rows[1], *rows[3:]]
    result = relief(db_url, "audit", "verify", "--csv", _write(tmp_path / "s.csv", header, swapped))
    assert result.exit_code == 1


def test_a_filtered_export_verifies_entry_by_entry(world, engine):
    text = _export(engine, entity_type="stock_move")
    count, problems = verify_csv(io.StringIO(text))
    assert count == 2 and problems == []
    with Session(engine) as session:
        assert count == len(
            session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "stock_move")).all()
        )


def test_filters_dataclass_refuses_unknown_types():
    with pytest.raises(InvalidInput):
        AuditFilters(entity_type="nothing")
