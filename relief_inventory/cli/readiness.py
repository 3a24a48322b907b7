"""Readiness on the command line: the scenario check, printed as one table per window;
disaster figures, coverage and rotation; and the parameters the bureau edits (standards,
road distances, population at risk), listed and set through the readiness services."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import click

from relief_inventory.auth.services import system_actor
from relief_inventory.cli import DomainAwareGroup, admin_run, current_engine, main
from relief_inventory.cli.tables import render_table
from relief_inventory.config import Settings
from relief_inventory.db import open_session
from relief_inventory.readiness import check, parameters, services, upkeep
from relief_inventory.readiness.models import LOSS_SECTORS
from relief_inventory.readiness.presets import NAMES
from relief_inventory.readiness.queries import annual_figures
from relief_inventory.readiness.standards import Basis
from relief_inventory.readiness.travel import TravelSettings
from relief_inventory.timeutil import format_local


@main.group(cls=DomainAwareGroup)
def readiness() -> None:
    """Readiness (战备): scenario checks, coverage, inspection and rotation."""


def _depots(depots: list[dict[str, Any]]) -> str:
    return "、".join(
        f"{d['depot']}({d['hours']}h{'*' if d['estimated'] else ''}) {d['measures']}"
        for d in depots
    )


def print_scenario(answer: dict[str, Any]) -> None:
    title = answer["title"] or "自定义情景"
    cut = f"；阻断：{'、'.join(answer['cut_off'])}" if answer["cut_off"] else ""
    click.echo(
        f"{title}：{answer['place_name']}（{answer['township'] or answer['county']}）转移安置 "
        f"{answer['relocated']:,} 人，保障 {answer['days']} 天，"
        f"户均 {answer['household_size']} 人{cut}"
    )
    for window in answer["windows"]:
        click.echo(f"\n{window['hours']} 小时内到达")
        rows = [
            [
                line["category_name"],
                line["measure"],
                f"{line['needed']:,}",
                line["arrived"],
                f"{line['shortfall']:,}" if line["shortfall"] else "—",
                f"{line['covered_percent']}%",
                _depots(line["depots"]),
            ]
            for line in window["lines"]
        ]
        click.echo(
            render_table(
                ["类别", "单位", "需求", "到达", "缺口", "满足", "来源（仓库 时效 数量）"],
                rows,
                ["<", "<", ">", ">", ">", ">", "<"],
            )
        )
    if answer["external"]:
        asks = "、".join(
            f"{e['category_name']} {e['quantity']:,} {e['measure']}" for e in answer["external"]
        )
        click.echo(f"\n需请求省级、中央支援：{asks}")
    else:
        click.echo("\n州内储备可在最后时限内满足全部需求")
    click.echo("* 为估算时效（直线距离×绕行系数÷车速），其余按道路里程表。本推演不预留任何库存。")


@readiness.command("scenario")
@click.option("--preset", type=click.Choice(NAMES), default=None)
@click.option("--county", default=None, help="County code, e.g. 532322.")
@click.option("--township", default=None, help="Township code, e.g. 532322102 (its county's).")
@click.option("--relocated", type=int, default=None, help="People to relocate.")
@click.option("--days", type=int, default=None, help="Days of support.")
@click.option("--cut-off", multiple=True, help="A depot code cut off by the disaster (repeat).")
@click.option("--household-size", type=int, default=None)
@click.option("--own-reserves-only", is_flag=True, help="Leave other counties' reserves out.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--file-requests", is_flag=True, help="File the plan as a draft dispatch request.")
def scenario_command(
    preset: str | None,
    county: str | None,
    township: str | None,
    relocated: int | None,
    days: int | None,
    cut_off: tuple[str, ...],
    household_size: int | None,
    own_reserves_only: bool,
    fmt: str,
    file_requests: bool,
) -> None:
    """What reaches the place in 6, 12, 24 and 72 hours, from which depots, what is missing."""
    engine = current_engine()
    travel = TravelSettings.of(Settings.from_env())
    with open_session(engine) as session:
        spec = check.parse(
            preset=preset,
            county=county,
            township=township,
            relocated=relocated,
            days=days,
            cut_off=list(cut_off),
            household_size=household_size,
            allow_other_counties=not own_reserves_only,
            session=session,
        )
        answer = check.run(session, spec, travel)
    if fmt == "json":
        click.echo(json.dumps(answer, ensure_ascii=False, default=str, indent=1))
    else:
        print_scenario(answer)
    if file_requests:
        request = admin_run(
            lambda uow: services.file_requests(uow, spec, travel), "战备情景生成调拨申请"
        )
        click.echo(f"已生成调拨申请草稿 {request.number}（待县级提交、调度审批后分配库存）")


@readiness.command("reports")
@click.option("--year", type=int, required=True, help="Year of the events, e.g. 2024.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def reports_command(year: int, fmt: str) -> None:
    """The year's disaster figures per county, from verified reports (灾情报告) only."""
    with open_session(current_engine()) as session:
        figures = annual_figures(session, year)
    if fmt == "json":
        click.echo(json.dumps(figures, ensure_ascii=False, default=str, indent=1))
        return

    def row(name: str, f: dict[str, Any]) -> list[str]:
        return [
            name,
            f"{f['reports']:,}",
            f"{f['people_affected']:,}",
            f"{f['people_relocated']:,}",
            f"{f['houses_collapsed']:,}",
            f"{f['houses_damaged']:,}",
            f"{f['direct_loss']:,.2f}",
        ]

    click.echo(f"{year} 年灾情（已核查报告）")
    click.echo(
        render_table(
            ["县市", "报告", "受灾人数", "转移安置", "倒塌房屋", "损坏房屋", "直接经济损失（元）"],
            [row(c["county_name"], c) for c in figures["counties"]],
            ["<", ">", ">", ">", ">", ">", ">"],
            footer=[row("合计", figures["total"])],
        )
    )
    total = figures["total"]
    click.echo(
        "其中："
        + "，".join(f"{label} {total[name]:,.2f} 元" for name, label in LOSS_SECTORS.items())
    )
    if figures["awaiting_verification"]:
        click.echo(f"另有 {figures['awaiting_verification']} 份报告待核查，未计入")


@readiness.command("coverage")
@click.option("--county", default=None, help="Only this county (code).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def coverage_command(county: str | None, fmt: str) -> None:
    """Per county: target stock for its people at risk, what it holds, the gap and the
    pre-positioning transfer that would close it best."""
    travel = TravelSettings.of(Settings.from_env())
    with open_session(current_engine()) as session:
        report = check.coverage_report(session, travel)
    rows = [c for c in report["counties"] if county in (None, c["county"])]
    if fmt == "json":
        click.echo(json.dumps({**report, "counties": rows}, ensure_ascii=False, default=str))
        return
    click.echo(
        f"目标：受威胁人口的 {Decimal(report['share']) * 100:.0f}% 按标准保障 {report['days']} 天"
        "（县级库现有可用库存，不含州级库）"
    )
    for entry in rows:
        click.echo(
            f"\n{entry['county_name']}（{entry['county']}）受威胁人口 "
            f"{entry['population_at_risk']:,}，{entry['short_categories']} 类不足"
        )
        click.echo(
            render_table(
                ["类别", "单位", "目标", "现有", "缺口", "覆盖", "建议预置调拨"],
                [
                    [
                        line["category_name"],
                        line["measure"],
                        f"{line['target']:,}",
                        line["held"],
                        f"{line['gap']:,}" if line["gap"] else "—",
                        f"{line['covered_percent']}%",
                        _transfer(line["transfer"]),
                    ]
                    for line in entry["lines"]
                ],
                ["<", "<", ">", ">", ">", ">", "<"],
            )
        )


def _transfer(transfer: dict[str, Any] | None) -> str:
    if transfer is None:
        return ""
    return (
        f"{transfer['from_depot']} → {transfer['item_name']} {transfer['quantity']:,}"
        f"{transfer['unit']}（{transfer['measures']}，{transfer['hours']}h）"
    )


@readiness.command("rotation")
@click.option("--depot", default=None, help="Only this depot (code).")
@click.option(
    "--draft", is_flag=True, help="Draft a rotation plan (轮换计划) per depot with lots due."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def rotation_command(depot: str | None, draft: bool, fmt: str) -> None:
    """Lots due to rotate out before they expire (or past expiry), the suggested action and
    replacement purchase; inspections due or overdue."""
    engine = current_engine()
    actor = system_actor(engine)
    with open_session(engine) as session:
        view = upkeep.overview(session, actor, depot=depot)
    if fmt == "json":
        click.echo(json.dumps(view, ensure_ascii=False, default=str))
    else:
        click.echo(f"到期轮换（{view['today']}）：{len(view['due'])} 个批次")
        click.echo(
            render_table(
                [
                    "仓库",
                    "物资",
                    "批次",
                    "储备",
                    "有效期",
                    "剩余天数",
                    "数量",
                    "建议处置",
                    "需补购",
                ],
                [
                    [
                        d["depot"],
                        d["item_name"],
                        d["lot"],
                        d["owner"],
                        str(d["expiry_date"]),
                        ("已过期" if d["expired"] else str(d["days_left"])),
                        f"{d['quantity']:,}{d['unit']}",
                        d["action_label"],
                        f"{d['replacement']:,}{d['unit']}",
                    ]
                    for d in view["due"]
                ],
                ["<", "<", "<", "<", "<", ">", ">", "<", ">"],
            )
        )
        overdue = [i for i in view["inspections"] if i["overdue_days"] or i["never"]]
        click.echo(f"\n检测维护到期或逾期：{len(overdue)} 项")
        for i in overdue:
            when = "从未检测" if i["never"] else f"上次 {i['last']}，逾期 {i['overdue_days']} 天"
            click.echo(f"  {i['depot']}  {i['category_name']}  {when}")
    if draft:
        depots = sorted({d["depot"] for d in view["due"]})
        for code in depots:
            plan = admin_run(lambda uow, c=code: upkeep.draft_plan(uow, depot=c), "编制轮换计划")
            click.echo(f"已编制轮换计划 {plan.number}（{code}）")


# -- the parameters the bureau edits -----------------------------------------------------------

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")


def _plain(value: Decimal | None) -> str:
    return "—" if value is None else format(value.normalize(), "f")


def _echo_rows(
    rows: list[dict[str, Any]], fmt: str, headers: list[str], cells: Any, align: list[str]
) -> None:
    """A parameter list as JSON or as a table, one line per row (``cells(row)``)."""
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, default=str, indent=1))
    else:
        click.echo(render_table(headers, [cells(row) for row in rows], align))


def _standard_cells(row: dict[str, Any]) -> list[str]:
    return [
        f"{row['category_name']}（{row['category']}）",
        Basis.LABELS[row["basis"]],
        f"{_plain(row['amount'])} {row['measure']}",
        _plain(row["target_per_1000"]),
        str(row["inspection_days"] or "—"),
        str(row["rotation_days"] or "—"),
        "默认" if row["is_default"] else format_local(row["updated_at"]),
    ]


STANDARD_HEADERS = ["类别", "依据", "标准", "每千人目标", "检测周期(天)", "轮换提前(天)", "设置"]


@readiness.command("standards")
@FORMAT
def standards_command(fmt: str) -> None:
    """Each category's standard per person, household or day (the default where the bureau
    set none), its coverage target per 1,000 people at risk, inspection and rotation days."""
    with open_session(current_engine()) as session:
        rows = parameters.standard_rows(session)
    _echo_rows(rows, fmt, STANDARD_HEADERS, _standard_cells, ["<", "<", ">", ">", ">", ">", "<"])


@readiness.command("set-standard")
@click.argument("category")
@click.option("--basis", type=click.Choice(Basis.ALL), required=True)
@click.option("--amount", required=True, help='Measures per person, household or day ("0.5").')
@click.option("--measure", required=True, help="The unit of the need: 顶, kg, L, 床.")
@click.option("--target-per-1000", default=None, help="Coverage target per 1,000 at risk.")
@click.option("--inspection-days", type=int, default=None, help="Inspect every N days.")
@click.option("--rotation-days", type=int, default=None, help="Rotate N days before expiry.")
def set_standard_command(category: str, **fields: Any) -> None:
    """Set a category's standard (the options not given are cleared)."""
    admin_run(lambda uow: services.set_standard(uow, category, **fields), "修改战备保障标准")
    with open_session(current_engine()) as session:
        row = next(r for r in parameters.standard_rows(session) if r["category"] == category)
    click.echo("已设置保障标准：")
    click.echo(render_table(STANDARD_HEADERS, [_standard_cells(row)]))


def _road_cells(row: dict[str, Any]) -> list[str]:
    return [
        f"{row['depot_name']}（{row['depot']}）",
        f"{row['place_name']}（{row['county'] or row['township']}）",
        _plain(row["km"]),
        _plain(row["hours"]),
        row["note"],
    ]


ROAD_HEADERS = ["仓库", "目的地", "里程(km)", "行车(h)", "备注"]


@readiness.command("roads")
@FORMAT
def roads_command(fmt: str) -> None:
    """The measured roads, depot to county seat and depot to township (a pair not listed is
    estimated from the straight line)."""
    with open_session(current_engine()) as session:
        rows = parameters.road_rows(session)
    _echo_rows(rows, fmt, ROAD_HEADERS, _road_cells, ["<", "<", ">", ">", "<"])


@readiness.command("set-road")
@click.option("--depot", required=True, help="Depot or stock point code, e.g. SB.")
@click.option("--county", default=None, help="To this county seat, e.g. 532322 …")
@click.option("--township", default=None, help="… or to this township, e.g. 532322102.")
@click.option("--km", required=True, help='Road kilometres ("36").')
@click.option("--hours", default=None, help="Driving hours (default: km at the truck speed).")
@click.option("--note", default="", help="Why, e.g. 塌方绕行.")
def set_road_command(depot: str, **fields: Any) -> None:
    """Record the road from a depot to a county seat or a township."""
    admin_run(lambda uow: services.set_road(uow, depot, **fields), "修改道路里程")
    place = fields["county"] or fields["township"]
    with open_session(current_engine()) as session:
        row = next(
            r
            for r in parameters.road_rows(session)
            if r["depot"] == depot and place in (r["county"], r["township"])
        )
    click.echo("已记录道路里程：")
    click.echo(render_table(ROAD_HEADERS, [_road_cells(row)]))


def _risk_cells(row: dict[str, Any]) -> list[str]:
    people = row["population_at_risk"]
    return [
        f"{row['county_name']}（{row['county']}）",
        "未设置" if people is None else f"{people:,}",
        format_local(row["updated_at"]) or "—",
    ]


RISK_HEADERS = ["县市", "受威胁人口", "更新时间"]


@readiness.command("population")
@FORMAT
def population_command(fmt: str) -> None:
    """Each county's population at risk (受威胁人口), the base of its coverage target."""
    with open_session(current_engine()) as session:
        rows = parameters.risk_rows(session)
    _echo_rows(rows, fmt, RISK_HEADERS, _risk_cells, ["<", ">", "<"])


@readiness.command("set-population")
@click.argument("county")
@click.argument("population", type=int)
def set_population_command(county: str, population: int) -> None:
    """Set a county's population at risk."""
    admin_run(
        lambda uow: services.set_population_at_risk(uow, county, population), "修改受威胁人口"
    )
    with open_session(current_engine()) as session:
        row = next(r for r in parameters.risk_rows(session) if r["county"] == county)
    click.echo("已设置受威胁人口：")
    click.echo(render_table(RISK_HEADERS, [_risk_cells(row)]))
