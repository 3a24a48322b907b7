"""``relief check``: every township stock point hangs below a depot it may belong to.

The services refuse any other shape (``create_point``); this proves that nothing written
around them (an import, a hand edit in the database) broke it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from relief_inventory.warehouse.models import Depot, DepotLevel, Township


def check_points(session: Session) -> list[str]:
    parent = aliased(Depot)
    problems = []
    rows = session.execute(
        select(Depot, parent, Township)
        .join(parent, parent.id == Depot.parent_id)
        .outerjoin(Township, Township.id == Depot.township_id)
        .order_by(Depot.code)
    )
    for point, above, township in rows:
        if above.parent_id is not None or above.level != DepotLevel.COUNTY:
            problems.append(f"预置点 {point.code} 的上级 {above.code} 不是县级仓库")
        if point.level != DepotLevel.COUNTY or point.county_id != above.county_id:
            problems.append(f"预置点 {point.code} 与上级仓库 {above.code} 不在同一县市")
        if township is None or township.county_id != point.county_id:
            problems.append(f"预置点 {point.code} 没有所在县市的乡镇")
        if point.active and not above.active:
            problems.append(f"预置点 {point.code} 启用而上级仓库 {above.code} 已停用")
    return problems
