"""资金对账: the reconciliation of ``funds.reconcile`` per source, county, kind and level,
with its tie-out result. Finance, auditors and admins only, as ``GET /funds/summary``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from relief_inventory.auth.actor import Actor
from relief_inventory.funds.queries import require_reader
from relief_inventory.funds.reconcile import Reconciliation, Row, reconcile
from reports.period import check_year
from reports.tables import INT, MONEY, Column, Fact, Report, Table

MONEY_COLUMNS = [
    Column("amount", "来源金额", MONEY, total=True),
    Column("appropriated", "已下达", MONEY, total=True),
    Column("unappropriated", "未下达", MONEY, total=True),
    Column("committed", "已审批未拨付", MONEY, total=True),
    Column("released", "已拨付", MONEY, total=True),
    Column("balance", "下达未拨付", MONEY, total=True),
    Column("beneficiaries", "惠及人数", INT, total=True),
]
GROUPINGS = (
    ("source", "按资金来源", "来源编号", "来源文件"),
    ("county", "按县市", "县市代码", "县市"),
    ("kind", "按资金类别", "类别", "名称"),
    ("level", "按资金级别", "级别", "名称"),
)


def _table(title: str, key_label: str, label: str, rows: list[Row], county: bool) -> Table:
    columns = [Column("key", key_label), Column("label", label, wrap=True)] + [
        c for c in MONEY_COLUMNS if not (county and c.key in ("amount", "unappropriated"))
    ]
    return Table(title, columns, [r.as_dict() for r in rows])


def funds_report(session: Session, actor: Actor, year: int, *, authority: str = "") -> Report:
    require_reader(actor)
    check_year(year)
    result: Reconciliation = reconcile(session, year)
    tables = [
        _table(title, key_label, label, result.groupings()[name], name == "county")
        for name, title, key_label, label in GROUPINGS
    ]
    total = result.total
    return Report(
        name="funds",
        title="救灾资金对账表",
        period=f"{year}年",
        authority=authority,
        facts=[
            Fact("资金来源", total.amount, "元", MONEY),
            Fact("已下达县市", total.appropriated, "元", MONEY),
            Fact("已审批未拨付", total.committed, "元", MONEY),
            Fact("已拨付", total.released, "元", MONEY),
            Fact("惠及人数", total.beneficiaries, "人"),
        ],
        tables=tables,
        notes=(
            ["对账结果：各分组合计与总计相符，无超下达、超拨付。"]
            if result.ok
            else ["对账发现问题：", *result.problems]
        ),
        landscape=True,
    )
