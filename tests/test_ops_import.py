"""Master-data import: CSV files or one Excel workbook, through the audited services, every
error reported by sheet, row and column, nothing written when any row is bad."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import func, select

from relief_inventory.auth.models import User
from relief_inventory.cli import main
from relief_inventory.db import open_session
from relief_inventory.stock.models import Item
from relief_inventory.warehouse.models import County, Depot

GOOD = {
    "counties": [
        ["code", "name", "lat", "lon"],
        ["532301", "楚雄市", "25.03", "101.55"],
        ["532322", "双柏县", "24.69", "101.64"],
    ],
    "owners": [["code", "name", "level", "county"], ["532300", "楚雄州州级储备", "prefecture", ""]],
    "categories": [["code", "name", "sort_order"], ["TENT", "帐篷", "1"], ["FOOD", "食品", "2"]],
    "depots": [
        ["code", "name", "county", "level", "lat", "lon", "address"],
        ["ZX", "楚雄州救灾物资储备库", "532301", "prefecture", "25.04612", "101.51837", "永安大道"],
        ["SB", "双柏县救灾物资储备库", "532322", "county", "24.68841", "101.63572", ""],
    ],
    "townships": [
        ["code", "name", "county", "lat", "lon", "high_risk"],
        ["532322102", "大庄镇", "532322", "24.66300", "101.50200", "1"],
    ],
    "points": [
        ["code", "name", "parent", "township", "keeper_name"],
        ["SBDZ", "双柏县大庄镇救灾物资预置点", "SB", "532322102", "大庄镇民政助理员"],
    ],
    "items": [
        ["code", "name", "category", "unit", "unit_value", "shelf_life_days", "reusable"],
        ["TENT-12", "12平方米单帐篷", "TENT", "顶", "1450.00", "", "1"],
        ["RICE-10", "大米 10kg", "FOOD", "袋", "65.00", "365", "0"],
    ],
    "users": [
        ["username", "display_name", "grants"],
        ["zhang_keeper", "张保管", "keeper:ZX keeper:SB"],
        ["wang_point", "王预置", "keeper:SBDZ"],
        ["li_finance", "李会计", "finance"],
    ],
}


def cli(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"RELIEF_DATABASE_URL": url})


def write_csvs(folder: Path, tables: dict[str, list[list[str]]]) -> list[str]:
    paths = []
    for name, rows in tables.items():
        path = folder / f"{name}.csv"
        path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8-sig")
        paths.append(str(path))
    return paths


def counts(engine) -> tuple[int, ...]:
    with open_session(engine) as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (County, Depot, Item, User)
        )


def test_csv_import_goes_through_the_services_and_the_audit(engine, db_url, tmp_path) -> None:
    before = counts(engine)
    checked = cli(db_url, "import", "--check", *write_csvs(tmp_path, GOOD))
    assert checked.exit_code == 0, checked.output
    assert "检查通过" in checked.output and counts(engine) == before

    result = cli(db_url, "import", *write_csvs(tmp_path, GOOD))
    assert result.exit_code == 0, result.output
    assert "储备库 2" in result.output and "relief user password" in result.output
    assert counts(engine) == (before[0] + 2, before[1] + 3, before[2] + 2, before[3] + 3)
    with open_session(engine) as session:
        item = session.scalar(select(Item).where(Item.code == "RICE-10"))
        assert (item.shelf_life_days, item.reusable, str(item.unit_value)) == (365, False, "65.00")
        point = session.scalar(select(Depot).where(Depot.code == "SBDZ"))
        assert point.is_point and str(point.lat) == "24.66300"  # at its township
    assert cli(db_url, "check").exit_code == 0
    verified = cli(db_url, "audit", "verify")
    assert verified.exit_code == 0, verified.output

    again = cli(db_url, "import", *write_csvs(tmp_path, GOOD))  # every row now a duplicate
    assert again.exit_code == 2 and "counties：第 2 行 code 列：县市已存在" in again.output


def test_a_workbook_with_bad_rows_reports_every_one_and_writes_nothing(
    engine, db_url, tmp_path
) -> None:
    bad = {name: [list(row) for row in rows] for name, rows in GOOD.items()}
    bad["counties"][2][2] = "north"  # row 3, lat
    bad["depots"][2][2] = "999999"  # row 3, county unknown
    bad["items"][1][4] = "-5"  # row 2, unit_value
    bad["items"][2][5] = "1.5"  # row 3, shelf_life_days
    bad["users"][2][2] = "treasurer"  # row 3, unknown role
    bad["categories"][0].append("colour")  # unknown column
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in bad.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append([int(v) if name == "counties" and v.isdigit() else v for v in row])
    path = tmp_path / "prefecture.xlsx"
    workbook.save(path)
    before = counts(engine)

    result = cli(db_url, "import", str(path))
    assert result.exit_code == 2, result.output
    for expected in (
        "counties：第 3 行 lat 列",
        "depots：第 3 行 county 列",
        "items：第 2 行 unit_value 列",
        "items：第 3 行 shelf_life_days 列",
        "users：第 3 行 grants 列",
        "categories：表头 colour 列：未知的列",
        "未写入任何数据",
    ):
        assert expected in result.output, (expected, result.output)
    assert counts(engine) == before
