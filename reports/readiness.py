"""战备 reports: the scenario check (a table per window) and coverage per county, as PDF and
Excel from the same report model. Both read through ``readiness.check`` (reserving nothing)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor
from relief_inventory.readiness import check
from relief_inventory.timeutil import format_local
from reports.tables import INT, Column, Fact, Report, Table

WINDOW_COLUMNS = [
    Column("category", "类别"),
    Column("standard", "标准"),
    Column("measure", "单位"),
    Column("needed", "需求", INT),
    Column("arrived", "到达"),
    Column("shortfall", "缺口", INT, total=True),
    Column("percent", "满足（%）", INT),
    Column("sources", "来源（仓库 时效 数量）", wrap=True),
]
COVERAGE_COLUMNS = [
    Column("county", "县市"),
    Column("category", "类别"),
    Column("measure", "单位"),
    Column("target", "目标", INT),
    Column("held", "现有"),
    Column("gap", "缺口", INT),
    Column("percent", "覆盖（%）", INT),
    Column("transfer", "建议预置调拨", wrap=True),
]


def _sources(depots: list[dict[str, Any]]) -> str:
    return "；".join(
        f"{d['depot']} {d['hours']}h{'*' if d['estimated'] else ''} {d['measures']}" for d in depots
    )


def scenario_report(
    session: Session, actor: Actor, params: dict[str, Any], authority: str
) -> Report:
    spec = check.parse(
        session=session,
        preset=params.get("preset") or (None if params.get("county") else "shuangbai-m6"),
        county=params.get("county"),
        relocated=params.get("relocated"),
        days=params.get("days"),
    )
    check.require_may_check(actor, spec, session)
    answer = check.run(session, spec)
    tables = [
        Table(
            f"{window['hours']} 小时内到达",
            WINDOW_COLUMNS,
            [
                {
                    "category": line["category_name"],
                    "standard": line["standard"],
                    "measure": line["measure"],
                    "needed": line["needed"],
                    "arrived": line["arrived"],
                    "shortfall": line["shortfall"],
                    "percent": line["covered_percent"],
                    "sources": _sources(line["depots"]),
                }
                for line in window["lines"]
            ],
        )
        for window in answer["windows"]
    ]
    title = answer["title"] or f"{answer['place_name']}情景推演"
    return Report(
        name="scenario",
        title=f"战备情景推演：{title}",
        period=format_local(answer["computed_at"]),
        authority=authority,
        facts=[
            Fact("转移安置人数", answer["relocated"], "人"),
            Fact("保障天数", answer["days"], "天"),
            Fact("需上级支援类别", len(answer["external"]), "类"),
        ],
        tables=tables,
        notes=[
            "按实时可用库存（在库减已预留，批次可用且交付日未过期）推演，不预留任何库存。",
            "* 为估算时效：直线距离×绕行系数÷车速＋装车时间；其余按道路里程表。",
            *(
                [
                    "需请求省级、中央支援："
                    + "；".join(
                        f"{e['category_name']} {e['quantity']:,} {e['measure']}"
                        for e in answer["external"]
                    )
                ]
                if answer["external"]
                else ["州内储备可在 72 小时内满足全部需求。"]
            ),
        ],
        landscape=True,
    )


def coverage_report(
    session: Session, actor: Actor, params: dict[str, Any], authority: str
) -> Report:
    report = check.coverage_report(session)
    rows = []
    for county in report["counties"]:
        if params.get("county") not in (None, county["county"]):
            continue
        for line in county["lines"]:
            transfer = line["transfer"]
            rows.append(
                {
                    "county": county["county_name"],
                    "category": line["category_name"],
                    "measure": line["measure"],
                    "target": line["target"],
                    "held": line["held"],
                    "gap": line["gap"],
                    "percent": line["covered_percent"],
                    "transfer": ""
                    if transfer is None
                    else f"{transfer['from_depot']}调{transfer['item_name']}"
                    f"{transfer['quantity']}{transfer['unit']}（{transfer['hours']}h）",
                }
            )
    return Report(
        name="coverage",
        title="救灾物资储备覆盖情况",
        period=format_local(report["computed_at"]),
        authority=authority,
        facts=[Fact("县市", len({r["county"] for r in rows}), "个")],
        tables=[Table("按县市", COVERAGE_COLUMNS, rows, group_by="county")],
        notes=[
            f"目标：受威胁人口的 {float(report['share']) * 100:.0f}% 按标准保障 "
            f"{report['days']} 天；现有为县级库可用库存，不含州级库。"
        ],
        landscape=True,
    )
