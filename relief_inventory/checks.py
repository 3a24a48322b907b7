"""Every invariant ``relief check`` proves, gathered from the modules that own them."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from relief_inventory.allocation.check import check_reservations
from relief_inventory.audit.verify import check_audit
from relief_inventory.funds.check import check_funds
from relief_inventory.ops.marks import check_marks
from relief_inventory.stock.check import check_quants
from relief_inventory.warehouse.check import check_points

Check = Callable[[Session], list[str]]

CHECKS: dict[str, Check] = {
    "库存余额 = 台账合计": check_quants,
    "库存预留 = 调拨预留 + 草稿单据占用": check_reservations,
    "乡镇预置点：挂在本县县级仓库之下": check_points,
    "资金：下达 ≤ 来源，拨付 ≤ 下达，冲销一致": check_funds,
    "审计日志：哈希链完整，台账与日志一致": check_audit,
    "运维：长时间操作（演示数据写入）均已完成": check_marks,
}


def run_checks(session: Session) -> dict[str, list[str]]:
    return {name: check(session) for name, check in CHECKS.items()}
