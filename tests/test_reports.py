"""Reports as PDF and Excel: the annual summary reproduces FACTS.md from the seeded data, the
stock ledger ties to the shelves, the Excel files hold real numbers and formulas.

The seeded prefecture is built once for this module, on SQLite (seeding is the slow part;
tests/test_seed.py covers seeding on PostgreSQL). The report queries also run on both
backends against the small test world (last tests).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from relief_inventory.auth.services import system_actor
from relief_inventory.cli import main
from relief_inventory.db import make_engine
from relief_inventory.stock.queries import stock_summary
from reports.catalog import make_report, render_report
from tests.factories import bearer, build_world, file_dispatch_request, receive_basic
from tests.pdf_tools import keep_png, text

FACTS = {
    "救灾物资储备库": 11,
    "储备物资类别": 10,
    "年末储备物资": 217_300,
    "全年调拨县市（棉被、衣服等）": 8_496,
    "冬春救助资金下达县市": Decimal("32270000.00"),
    "防汛抗旱、地质灾害救灾救助资金下达": Decimal("12350000.00"),
    "保障受灾困难群众": 206_600,
}


def relief(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": url})


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> str:
    path = tmp_path_factory.mktemp("reports") / "relief.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    result = relief(url, "seed", "--quiet")
    assert result.exit_code == 0, result.output
    return url


@pytest.fixture
def session(seeded: str) -> Iterator[Session]:
    engine = make_engine(seeded)
    with Session(engine) as session:
        yield session
    engine.dispose()


def report(session: Session, name: str, **params):
    actor = system_actor(session.get_bind())
    return make_report(session, actor, name, params, "楚雄州应急管理局")


def workbook(data: bytes):
    return load_workbook(io.BytesIO(data))


def summary_values(book) -> dict[str, object]:
    return {row[0].value: row[1].value for row in book["概要"].iter_rows(min_row=2)}


def total_row(sheet) -> list:
    return [cell.value for cell in sheet[sheet.max_row]]


# -- the annual summary ---------------------------------------------------------------------


def test_annual_summary_figures_equal_the_facts(session):
    annual = report(session, "annual", year=2024)
    for label, value in FACTS.items():
        assert annual.fact(label) == value, label
    assert annual.fact("资金下达县市") == 10


def test_annual_summary_pdf_reads_the_facts(session):
    annual = report(session, "annual", year=2024)
    pdf = render_report(annual, "pdf", "2025-01-05 09:00 system")
    shown = text(pdf)
    for label in (
        "2024年救灾物资储备与救灾资金工作统计",
        "救灾物资储备库11个",
        "储备物资类别10大类",
        "年末储备物资217,300件",
        "全年调拨县市（棉被、衣服等）8,496件（套）",
        "冬春救助资金下达县市32,270,000.00元",
        "防汛抗旱、地质灾害救灾救助资金下达12,350,000.00元",
        "保障受灾困难群众206,600人",
        "合计0262,17344,873217,300",  # by category: opening, in, out, closing
        "第1页共",
    ):
        assert label in shown, label
    keep_png(pdf, "report-annual")


def test_annual_summary_excel_has_numbers_and_formulas(session):
    annual = report(session, "annual", year=2024)
    book = workbook(render_report(annual, "xlsx", "now"))
    values = summary_values(book)
    assert values["年末储备物资"] == 217_300 and isinstance(values["年末储备物资"], int)
    assert values["冬春救助资金下达县市"] == 32_270_000
    assert values["保障受灾困难群众"] == 206_600
    sheet = book["储备物资（按类别）"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == [
        "类别",
        "年初库存",
        "全年入库",
        "全年出库",
        "年末库存",
        "调拨县市",
    ]
    closing = [row[4].value for row in sheet.iter_rows(min_row=2, max_row=sheet.max_row - 1)]
    assert all(isinstance(v, int) for v in closing) and sum(closing) == 217_300
    assert total_row(sheet)[4] == f"=SUM(E2:E{sheet.max_row - 1})"
    assert sheet.column_dimensions["A"].width >= 10


def test_annual_report_through_the_cli(seeded, tmp_path):
    out = tmp_path / "annual.xlsx"
    result = relief(
        seeded, "report", "annual", "--year", "2024", "--format", "xlsx", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "年末储备物资：217,300 件" in result.output
    assert "保障受灾困难群众：206,600 人" in result.output
    assert summary_values(load_workbook(out))["全年调拨县市（棉被、衣服等）"] == 8_496


# -- stock ledger, expiry, funds on the seeded year -----------------------------------------


def test_stock_ledger_closes_on_the_shelves_and_ties_in_excel(session):
    ledger = report(session, "stock", period="2024")
    table = ledger.table("库存台账")
    assert ledger.fact("期末库存") == stock_summary(session).total == 217_300
    for row in table.rows:
        assert row["closing"] == row["opening"] + row["receipts"] - row["issues"]
        assert (
            stock_summary(session).cell(row["depot_code"], _category_code(session, row))
            == row["closing"]
        )
    book = workbook(render_report(ledger, "xlsx", "now"))
    sheet = book["库存台账"]
    assert [c.value for c in sheet[1]][:4] == ["仓库编码", "仓库", "类别", "期初库存"]
    subtotals = [
        r for r in sheet.iter_rows(min_row=2) if str(r[6].value).startswith("=SUBTOTAL(9,G")
    ]
    # one per depot, one per township stock point (13, seed/points.py), the grand total
    assert len(subtotals) == 11 + 13 + 1
    assert total_row(sheet)[6] == f"=SUBTOTAL(9,G2:G{sheet.max_row - 1})"
    numbers = [r[6].value for r in sheet.iter_rows(min_row=2) if isinstance(r[6].value, int)]
    assert sum(numbers) == 217_300
    first_half = report(session, "stock", period="2024-01-01..2024-06-30")
    second_half = report(session, "stock", period="2024-07-01..2024-12-31")
    assert first_half.fact("期末库存") == second_half.fact("期初库存")


def _category_code(session: Session, row: dict) -> str:
    from sqlalchemy import select

    from relief_inventory.stock.models import Category

    return session.scalar(select(Category.code).where(Category.name == row["category"]))


def test_ledger_of_one_depot_and_a_month(session):
    ledger = report(session, "stock", period="2024-12", depot="SB")
    assert {row["depot_code"] for row in ledger.table("库存台账").rows} == {"SB"}
    assert ledger.fact("期末库存") == stock_summary(session).depot_total("SB")


def test_expiry_report_bands_and_rotations(session):
    expiry = report(session, "expiry", as_of=date(2024, 11, 28), days=365)
    rows = expiry.table("临期与过期库存").rows
    assert rows and all(r["days"] < 365 for r in rows)
    assert {r["band"] for r in rows} <= {"已过期", "30天内到期", "90天内到期", "预警期内到期"}
    assert expiry.fact("近一年轮换") == len(expiry.table("近一年轮换记录").rows) > 0
    later = report(session, "expiry", as_of=date(2026, 11, 28))
    assert later.fact("已过期") > 0
    assert all(
        r["advice"] == "报废核销或处置" for r in later.table("临期与过期库存").rows if r["days"] < 0
    )
    pdf = render_report(later, "pdf", "now")
    assert "救灾物资临期预警与轮换报表" in text(pdf)
    keep_png(pdf, "report-expiry")


def test_funds_reconciliation_report(session):
    funds = report(session, "funds", year=2024)
    assert funds.fact("资金来源") == Decimal("44620000.00")
    assert funds.fact("惠及人数") == 206_600
    assert funds.notes[0].startswith("对账结果：各分组合计与总计相符")
    by_county = funds.table("按县市")
    assert len(by_county.rows) == 10 and "amount" not in {c.key for c in by_county.columns}
    book = workbook(render_report(funds, "xlsx", "now"))
    assert {"概要", "按资金来源", "按县市", "按资金类别", "按资金级别"} <= set(book.sheetnames)
    sheet = book["按资金来源"]
    assert isinstance(sheet["C2"].value, float | int)
    assert sheet.cell(row=2, column=3).number_format == "#,##0.00"
    assert total_row(sheet)[2] == f"=SUM(C2:C{sheet.max_row - 1})"
    assert (
        sum(r[2].value for r in sheet.iter_rows(min_row=2, max_row=sheet.max_row - 1)) == 44_620_000
    )
    keep_png(render_report(funds, "pdf", "now"), "report-funds")


# -- the API and scope, on both backends ----------------------------------------------------


@pytest.fixture
def world(app):
    world = build_world(app.extensions["relief_engine"])
    receive_basic(world, 100)
    return world


def test_reports_over_http_in_both_formats_with_scope(client, world):
    number = file_dispatch_request(world, [{"item": "TENT-12", "quantity": 150}])
    from relief_inventory.allocation import requests as dispatch

    with world.uow("dispatcher") as uow:
        dispatch.approve(uow, number)
    year = date.today().year
    admin = bearer(world, "admin")
    response = client.get(f"/api/v1/reports/dispatch?format=xlsx&period={year}", headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = workbook(response.data)["调拨申请明细"]
    row = [c.value for c in sheet[2]]
    assert row[0] == number and row[10:13] == [150, 100, 50]  # asked, allocated, short
    pdf = client.get(f"/api/v1/reports/dispatch?period={year}", headers=admin)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert number in text(pdf.data)
    stock = client.get(f"/api/v1/reports/stock?format=xlsx&period={year}&depot=ZX", headers=admin)
    assert summary_values(workbook(stock.data))["期末库存"] == 200
    requester = bearer(world, "requester_sb")
    for name in ("funds", "annual"):
        refused = client.get(f"/api/v1/reports/{name}?year=2024", headers=requester)
        assert refused.status_code == 403, name
    mine = client.get(f"/api/v1/reports/dispatch?format=xlsx&period={year}", headers=requester)
    assert mine.status_code == 200  # their own county's requests
    keeper = bearer(world, "keeper_sb")  # SB serves nothing of it: the keeper sees no request
    url = f"/api/v1/reports/dispatch?format=xlsx&period={year}"
    theirs = workbook(client.get(url, headers=keeper).data)
    assert theirs["调拨申请明细"].max_row == 1


def test_report_parameters_are_checked(client, world):
    admin = bearer(world, "admin")
    for query, field in (
        ("stock?period=2024-13", "period"),
        ("stock?period=1e6", "period"),
        ("stock?format=docx", "format"),
        ("funds?year=99999", "year"),
        ("expiry?days=0", "days"),
        ("expiry?as_of=2024-02-30", "as_of"),
        ("stock?depot=NOPE", "depot"),
    ):
        response = client.get(f"/api/v1/reports/{query}", headers=admin)
        assert response.status_code in (404, 422), query
        assert field in response.get_json()["errors"], (query, response.get_json())
    assert client.get("/api/v1/reports/nonsense", headers=admin).status_code == 404
    assert client.get("/api/v1/reports/stock").status_code == 401
