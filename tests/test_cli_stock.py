"""``relief stock summary``: the depot x category matrix as a table, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from relief_inventory.cli import main
from relief_inventory.cli.tables import display_width, pad, render_table
from relief_inventory.stock import services as stock
from tests.factories import build_world, receive_basic


@pytest.fixture
def stocked(engine, db_url):
    """ZX: 100 tents + 100 rice; SB: 40 tents + 40 rice, of which 15 tents go to a county."""
    world = build_world(engine)
    receive_basic(world, 100, "ZX")
    receive_basic(world, 40, "SB")
    with world.uow("keeper_sb") as uow:
        stock.issue(
            uow,
            depot="SB",
            county="532322",
            lines=[{"item": "TENT-12", "lot": "T-SB-1", "quantity": 15}],
        )
    return db_url


def summary(url: str, *options: str) -> str:
    result = CliRunner().invoke(
        main, ["stock", "summary", *options], env={"RELIEF_DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_json_has_cells_and_both_totals(stocked):
    data = json.loads(summary(stocked, "--format", "json"))
    assert [c["name"] for c in data["categories"]] == ["帐篷", "大米"]
    depots = {d["code"]: d for d in data["depots"]}
    assert depots["ZX"]["on_hand"] == {"TENT": 100, "FOOD": 100}
    assert depots["SB"]["on_hand"] == {"TENT": 25, "FOOD": 40}
    assert depots["YR"]["total"] == 0
    assert data["category_totals"] == {"TENT": 125, "FOOD": 140}
    assert data["total"] == 265


def test_csv_has_chinese_headers_and_a_total_row(stocked):
    rows = list(csv.reader(io.StringIO(summary(stocked, "--format", "csv"))))
    assert rows[0] == ["编码", "仓库", "帐篷", "大米", "合计", "可用", "过期", "待检", "损坏"]
    assert rows[-1] == ["", "合计", "125", "140", "265", "265", "0", "0", "0"]
    assert ["SB", "双柏县救灾物资储备库", "25", "40", "65", "65", "0", "0", "0"] in rows


def test_table_is_aligned_for_chinese_text(stocked):
    lines = summary(stocked).rstrip("\n").split("\n")
    assert lines[0].split() == [
        "编码",
        "仓库",
        "帐篷",
        "大米",
        "合计",
        "可用",
        "过期",
        "待检",
        "损坏",
    ]
    assert "265" in lines[-1] and "合计" in lines[-1]
    # Right-aligned numbers end in the same terminal column on every row.
    ends = {display_width(line) for line in lines if not line.startswith("-")}
    assert len(ends) == 1


def test_empty_database_prints_zero_totals(db_url):
    data = json.loads(summary(db_url, "--format", "json"))
    assert data == {
        "categories": [],
        "depots": [],
        "category_totals": {},
        "total": 0,
        "status_totals": {"usable": 0, "expired": 0, "quarantined": 0, "damaged": 0},
    }


def test_unknown_format_is_a_usage_error(db_url):
    result = CliRunner().invoke(
        main, ["stock", "summary", "--format", "xml"], env={"RELIEF_DATABASE_URL": db_url}
    )
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("text", "width"), [("abc", 3), ("帐篷", 4), ("A帐", 3), ("１２", 4), ("", 0)]
)
def test_display_width_counts_wide_characters_twice(text, width):
    assert display_width(text) == width


def test_pad_and_render_line_up_mixed_text():
    assert pad("帐篷", 6) == "帐篷  "
    assert pad("12", 5, ">") == "   12"
    table = render_table(["名称", "qty"], [["帐篷", "1"], ["tent", "12,000"]], ["<", ">"])
    widths = {display_width(line) for line in table.split("\n")}
    assert len(widths) == 1


def run(url: str, *args: str):
    return CliRunner().invoke(main, ["stock", *args], env={"RELIEF_DATABASE_URL": url})


def test_documents_and_show_tell_a_reversal(engine, db_url):
    world = build_world(engine)
    number = receive_basic(world, 10)
    with world.uow("keeper_zx") as uow:
        reversal = stock.reverse(uow, number, reason="重复录入").number
    shown = run(db_url, "show", number)
    assert shown.exit_code == 0, shown.output
    assert f"冲销待审批（{reversal}）" in shown.output
    with world.uow("keeper_zx2") as uow:
        stock.approve(uow, reversal)
    listed = run(db_url, "documents", "--kind", "receipt")
    assert listed.exit_code == 0 and f"已冲销（{reversal}）" in listed.output
    shown = run(db_url, "show", reversal)
    assert "冲销原单：" + number in shown.output and "T-ZX-1" in shown.output
    assert run(db_url, "show", "RK-1999-000001").exit_code == 2
